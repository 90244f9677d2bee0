"""Gallery search: identities scored by template; embeddings remembered between searches while still right."""
import os

import numpy as np
import pytest

from faceapp.core.embedding_cache import EmbeddingCache
from faceapp.core.verify import gallery_identities, gallery_search
from training.inference import FaceMatcher

from .gui.helpers import face_image, save_tiny, with_plain_conv_features


class Embeds:
    """A matcher that counts the photos it embeds."""

    def __init__(self, inner):
        self.inner, self.embedded = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed(self, images, batch_size=32):
        self.embedded += len(images)
        return self.inner.embed(images, batch_size=batch_size)


def _matcher(path) -> Embeds:
    """The tiny matcher, with photos that score differently."""
    return Embeds(with_plain_conv_features(FaceMatcher.load(path)))


@pytest.fixture(scope="module")
def matcher_file(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("m") / "matcher.pt", "matcher")


@pytest.fixture
def gallery(tmp_path):
    for person in range(3):
        (tmp_path / f"person_{person}").mkdir()
        for k in range(2):
            face_image(10 * person + k).save(tmp_path / f"person_{person}" / f"{k}.png")
    return tmp_path


def _search(matcher, gallery, cache, assume_crop=False):
    return {m.identity: (round(m.probability, 6), m.best_path.name)
            for m in gallery_search(matcher, face_image(99), gallery_identities(gallery), assume_crop, cache=cache)}


def test_identities_are_scored_by_template_and_show_their_closest_photo(matcher_file, gallery):
    from training.imaging import load_image

    matcher = _matcher(matcher_file)
    found = {m.identity: m for m in gallery_search(matcher, face_image(99), gallery_identities(gallery), True)}
    probe = matcher.embed([face_image(99)])[0]  # "already face crops": photos are embedded whole
    gaps = []
    for person in range(3):
        photos = sorted((gallery / f"person_{person}").iterdir())
        embeddings = matcher.embed([load_image(p) for p in photos])
        singles = matcher.score_embeddings(probe, embeddings)
        match = found[f"person_{person}"]
        template_score = float(matcher.score_embeddings(probe, matcher.template(embeddings))[0])
        assert match.probability == pytest.approx(template_score, abs=1e-5)
        assert match.best_path == photos[int(np.argmax(singles))] and match.images == 2
        gaps.append(abs(match.probability - float(singles.max())))
    assert max(gaps) > 1e-3  # the template's score is not just the closest photo's


def test_a_second_search_embeds_only_the_probe(matcher_file, gallery):
    matcher, cache = _matcher(matcher_file), EmbeddingCache()
    first = _search(matcher, gallery, cache)
    assert matcher.embedded == 1 + 6 and len(cache) == 6
    matcher.embedded = 0
    assert _search(matcher, gallery, cache) == first
    assert matcher.embedded == 1
    matcher.embedded = 0
    assert _search(matcher, gallery, None) == first  # the same answers without a cache
    assert matcher.embedded == 7


def test_a_changed_photo_is_embedded_again(matcher_file, gallery):
    matcher, cache = _matcher(matcher_file), EmbeddingCache()
    _search(matcher, gallery, cache)
    changed = gallery / "person_1" / "0.png"
    before = _search(matcher, gallery, None)
    face_image(99).save(changed)  # now a copy of the probe
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    matcher.embedded = 0
    result = _search(matcher, gallery, cache)
    assert matcher.embedded == 1 + 1
    assert result == _search(matcher, gallery, None) and result["person_1"] != before["person_1"]


def test_another_matcher_or_crop_setting_starts_afresh(matcher_file, gallery):
    cache = EmbeddingCache()
    first = _matcher(matcher_file)
    _search(first, gallery, cache)
    second = _matcher(matcher_file)  # e.g. the same file reloaded on another device
    _search(second, gallery, cache)
    assert second.embedded == 7
    second.embedded = 0
    _search(second, gallery, cache, assume_crop=True)
    assert second.embedded == 7


def test_the_least_recently_used_photos_go_first(tmp_path):
    cache = EmbeddingCache(limit=2)
    files = []
    for name in "abc":
        (tmp_path / name).write_bytes(name.encode())
        files.append(tmp_path / name)
    for path in files[:2]:
        key, known = cache.lookup(path)
        assert known is None
        cache.put(key, np.ones(4))
    cache.lookup(files[0])  # a is used again, so b is now the oldest
    cache.put(cache.lookup(files[2])[0], np.zeros(4))
    assert cache.lookup(files[0])[1] is not None and cache.lookup(files[1])[1] is None
    assert cache.lookup(tmp_path / "missing") == (None, None)
