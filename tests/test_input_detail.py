"""benchmarks/input_detail.py: the held-out photos of a run's split, and the pair figures per kept detail."""
import numpy as np
from PIL import Image

from benchmarks.input_detail import detail_rows, held_out_photos
from training.data.split import pair_split


def test_held_out_photos_are_the_split_s_validation_people_with_a_photo():
    identities = np.array([f"p{i // 3}" for i in range(60)] + [f"solo{i}" for i in range(10)])
    keys = np.array([f"{person}/{i}.jpg" for i, person in enumerate(identities)])
    missing = str(keys[0])
    paths = {str(k): f"/photos/{k}" for k in keys if k != missing}
    _, val = pair_split(identities, 0.25, seed=4)
    assert "p0" in val  # the photo left without a file is a held-out one
    photos = held_out_photos(keys, identities, paths, 0.25, seed=4)
    people = {person for _, person in photos}
    assert people == set(val) and len(val) >= 3  # p0 keeps two photos when its first has none
    assert not any(person.startswith("solo") for person in people)  # one-photo people always train
    assert all(path == f"/photos/{path.split('/photos/')[1]}" for path, _ in photos)
    assert f"/photos/{missing}" not in [path for path, _ in photos]  # a key without a photo is left out
    assert len(photos) == int(np.isin(identities, val).sum()) - int(identities[0] in val)


class _FineDetailMatcher:
    """A stand-in whose embedding is (fine detail, brightness): it tells the people apart by detail alone."""
    threshold = 0.5

    @staticmethod
    def embed(images):
        rows = []
        for image in images:
            a = np.asarray(image, np.float32)
            rows.append([np.abs(np.diff(a, axis=1)).mean() / 25.5, a.mean() / 255])
        return np.array(rows, np.float32)

    @staticmethod
    def score_embeddings(e1, e2):
        return -np.linalg.norm(e1 - e2, axis=1)


def test_detail_rows_rank_pairs_with_and_without_the_fine_detail():
    faces, people = [], []
    for level in (80, 120, 160):
        stripes = np.full((40, 40, 3), level, np.uint8)
        stripes[:, ::2] = level + 60  # person "striped": one-pixel stripes around a brightness of level + 30
        faces += [Image.fromarray(stripes), Image.fromarray(np.full((40, 40, 3), level + 30, np.uint8))]
        people += ["striped", "plain"]
    rows = detail_rows(_FineDetailMatcher(), faces, people, [0, 8])
    assert [r["detail_px"] for r in rows] == [0, 8]
    assert all(r["pairs"] == 15 and r["genuine_pairs"] == 6 for r in rows)
    assert rows[0]["roc_auc"] == 1.0  # the stripes tell the people apart
    assert rows[1]["roc_auc"] < 0.6  # at 8 px a side the stripes are gone: about chance


def test_the_printed_table_is_markdown_with_the_ranking_figures():
    from benchmarks import markdown

    row = {"detail_px": 72, "roc_auc": 0.94391, "tar_at_far_1pct": 0.3935, "eer": 0.1321}
    text = markdown.table(["detail (px a side)", *markdown.RANKING_HEADERS], [[72, *markdown.ranking_cells(row)]])
    assert text.splitlines() == ["| detail (px a side) | AUC | TAR @ FAR 1 % | EER |", "| --- | --- | --- | --- |",
                                 "| 72 | 0.9439 | 39.4% | 13.2% |"]
