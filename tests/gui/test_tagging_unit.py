"""Qt-free tagging: streaming results, bad files, the uncertain band, CSV/JSON export, sorting into folders."""

import csv
import hashlib
import json
import os

import numpy as np
import pytest

from faceapp.core import tag_preparation
from faceapp.core.tagging import (
    ERROR,
    UNCERTAIN,
    TagOptions,
    TagResult,
    export_csv,
    export_json,
    sort_into_folders,
    summarize,
    tag_folder,
    write_sort_report,
)
from training.faces import FaceBox, FaceCrop
from training.imaging import list_images
from training.inference import Prediction


class FakeClassifier:
    """Brightness decides: bright crops are "female"; counts model calls."""

    classes = ["female", "male"]
    framing = {"frame_scale": 0.4328}
    input_size = 64

    def __init__(self):
        self.calls = 0

    def predict(self, images, batch_size=32):
        self.calls += 1
        out = []
        for image in images:
            p = float(np.asarray(image).mean()) / 255.0
            label = "female" if p >= 0.5 else "male"
            out.append(Prediction(label, max(p, 1 - p), {"female": p, "male": 1 - p}))
        return out


def _digest(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_tag_folder_yields_one_result_per_file_and_reports_bad_files(photo_folder):
    paths = list_images(photo_folder)
    classifier = FakeClassifier()
    results = list(tag_folder(paths, classifier, TagOptions(batch_size=3, thumbnail_size=24)))
    assert sorted(r.path.name for r in results) == sorted(p.name for p in paths)
    bad = {r.path.name: r.error for r in results if not r.ok}
    assert set(bad) == {"broken.jpg", "notes.png"}
    assert all(isinstance(reason, str) and reason for reason in bad.values())
    good = [r for r in results if r.ok]
    assert len(good) == 8 and classifier.calls == 3  # batches of 3, 3, 2
    gray = next(r for r in good if r.path.name == "gray_face.png")
    assert gray.predicted in ("female", "male") and gray.thumbnail.shape[2] == 3
    assert all(max(r.thumbnail.shape[:2]) <= 24 for r in good)


def test_an_image_that_cannot_be_prepared_is_reported_and_the_run_goes_on(photo_folder, monkeypatch):
    from training import transforms

    real = transforms.model_input

    def model_input(image, size):
        if image.size == (37, 41):  # stands in for a photo whose resize runs out of memory
            raise MemoryError("out of memory")
        return real(image, size)

    from PIL import Image

    Image.new("RGB", (37, 41), (200, 200, 200)).save(photo_folder / "sliver.png")
    monkeypatch.setattr(transforms, "model_input", model_input)  # tagging imports it on its worker threads
    results = list(tag_folder(list_images(photo_folder), FakeClassifier(), TagOptions(batch_size=3, workers=2)))
    bad = {r.path.name: r.error for r in results if not r.ok}
    assert bad.keys() == {"broken.jpg", "notes.png", "sliver.png"}
    assert bad["sliver.png"].startswith("could not be prepared for the model (MemoryError")
    assert sum(r.ok for r in results) == 8  # every other photo was still tagged


def test_a_camera_jpeg_is_decoded_smaller_unless_reduced_decoding_is_off(tmp_path, monkeypatch):
    from PIL import Image

    photo = tmp_path / "camera.jpg"
    Image.new("RGB", (4000, 3000), (128, 128, 128)).save(photo, quality=80)
    real, decoded = tag_preparation.load_reduced, {}

    def spy(path, min_side):
        image, factor = real(path, min_side)
        decoded[min_side] = image.size
        return image, factor

    monkeypatch.setattr(tag_preparation, "load_reduced", spy)  # what the preparation thread reads
    for reduced in (True, False):
        (result,) = tag_folder([photo], FakeClassifier(), TagOptions(workers=1, reduced_decode=reduced))
        assert result.ok
    smallest = tag_preparation.decode_side(FakeClassifier.framing, FakeClassifier.input_size)
    assert decoded == {smallest: (1000, 750), None: (4000, 3000)}


def test_uncertain_band_and_summary():
    result = TagResult(0, os.path, predicted="male", confidence=0.7, probabilities={"male": 0.7, "female": 0.3})
    assert result.label(0.6) == "male"
    assert result.label(0.8) == UNCERTAIN
    assert TagResult(1, os.path, error="file is truncated").label(0.6) == ERROR
    counts = summarize([result, TagResult(1, os.path, error="x")], 0.8)
    assert counts[UNCERTAIN] == 1 and counts[ERROR] == 1 and counts["total"] == 2


@pytest.fixture
def tagged(photo_folder):
    return list(tag_folder(list_images(photo_folder), FakeClassifier()))


def test_export_csv_and_json_hold_paths_labels_probabilities_and_boxes(tagged, tmp_path):
    csv_path = export_csv(tagged, tmp_path / "out" / "tags.csv", uncertain_below=0.5)
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) == len(tagged)
    by_name = {os.path.basename(r["path"]): r for r in rows}
    assert by_name["broken.jpg"]["label"] == ERROR and by_name["broken.jpg"]["error"]
    for result in tagged:
        row = by_name[result.path.name]
        assert row["path"] == str(result.path)
        if result.ok:
            assert row["label"] == result.predicted
            assert float(row["p_female"]) == pytest.approx(result.probabilities["female"], abs=1e-5)
            assert row["face_fallback"] in ("True", "False")
            if result.face_box:
                assert int(row["face_w"]) == result.face_box[2]
    doc = json.loads(export_json(tagged, tmp_path / "tags.json", uncertain_below=0.5, model={"arch": "x"})
                     .read_text(encoding="utf-8"))
    assert doc["summary"]["total"] == len(tagged) and doc["model"] == {"arch": "x"}
    record = next(r for r in doc["results"] if r["path"].endswith("person_00.jpg"))
    assert set(record["probabilities"]) == {"female", "male"}
    assert "face_box" in record and "faces_found" in record
    assert not list(tmp_path.glob("**/*.tmp"))  # atomic writes leave no temporary files


def test_sort_copies_into_label_folders_without_touching_originals(tagged, photo_folder, tmp_path):
    before = _digest(photo_folder)
    out = tmp_path / "sorted"
    taken = next(r for r in tagged if r.ok)
    occupied = out / taken.label(0.5) / taken.path.name
    occupied.parent.mkdir(parents=True)
    occupied.write_bytes(b"already here")
    outcomes = list(sort_into_folders(tagged, out, uncertain_below=0.5))
    assert _digest(photo_folder) == before  # originals untouched: same bytes, same mtimes
    copied = [o for o in outcomes if o.action == "copied"]
    assert len(copied) == 8 and {o.action for o in outcomes} == {"copied", "skipped"}
    for o in copied:
        assert o.destination.parent.name in ("female", "male")
        assert o.destination.read_bytes() == o.source.read_bytes()
    assert occupied.read_bytes() == b"already here"  # never overwritten
    renamed = next(o for o in copied if o.source == taken.path)
    assert renamed.destination.name == f"{taken.path.stem} (1){taken.path.suffix}"
    report = write_sort_report(outcomes, out / "report.csv")
    assert len(list(csv.reader(report.open()))) == len(outcomes) + 1


def test_sort_moves_only_when_asked_and_stops_cleanly(tagged, photo_folder, tmp_path):
    generator = sort_into_folders(tagged, tmp_path / "moved", uncertain_below=0.5, move=True)
    first = [next(generator) for _ in range(4)]
    generator.close()  # cancel between files
    moved = [o for o in first if o.action == "moved"]
    for o in moved:
        assert not o.source.exists() and o.destination.is_file()
    remaining = {p.name for p in photo_folder.iterdir()}
    assert len(remaining) == 10 - len(moved)


def test_threaded_preparation_matches_serial(photo_folder):
    paths = list_images(photo_folder)
    serial = list(tag_folder(paths, FakeClassifier(), TagOptions(workers=1, batch_size=4)))
    threaded = list(tag_folder(paths * 3, FakeClassifier(), TagOptions(workers=3, batch_size=4)))
    threaded.sort(key=lambda r: r.index)  # bad files come out at once, good ones per batch
    serial.sort(key=lambda r: r.index)
    assert [r.index for r in threaded] == list(range(len(paths) * 3))
    assert [(r.path, r.predicted, r.error) for r in threaded[:len(paths)]] == \
        [(r.path, r.predicted, r.error) for r in serial]
    generator = tag_folder(paths * 20, FakeClassifier(), TagOptions(workers=3, batch_size=2))
    next(generator)
    generator.close()  # cancelling mid-way returns at once and leaves no work queued


def test_large_jpegs_are_decoded_smaller_and_boxes_reported_in_photo_pixels(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("RGB", (4000, 3000), (200, 180, 160)).save(tmp_path / "camera.jpg", quality=90)
    Image.new("RGB", (400, 300), (200, 180, 160)).save(tmp_path / "small.png")
    seen = []

    def fake_find_face(image, framing, assume_crop=False):
        seen.append(image.size)
        box = FaceBox(image.width // 4, image.height // 4, image.width // 2, image.width // 2)
        return FaceCrop(image.crop((0, 0, 64, 64)), box, 1, False, "face found")

    monkeypatch.setattr(tag_preparation, "find_face", fake_find_face)
    results = {r.path.name: r for r in tag_folder(list_images(tmp_path), FakeClassifier(), TagOptions(workers=1))}
    # The 12 MP JPEG is decoded at a quarter (shorter side 750 >= the 480 px face finding needs)...
    assert seen == [(1000, 750), (400, 300)]
    # ...and its face box is reported in the photo's own pixels; the PNG is read at full size.
    assert results["camera.jpg"].face_box == (1000, 748, 2000, 2000)
    assert results["small.png"].face_box == (100, 75, 200, 200)


def test_face_thumbnail_shows_what_the_model_saw():
    from PIL import Image

    rng = np.random.default_rng(4)
    crop = Image.fromarray(np.kron(rng.integers(0, 256, (10, 10, 3)), np.ones((25, 25, 1))).astype(np.uint8))
    thumb = tag_preparation.face_thumbnail(crop, 112, 48)
    assert thumb.shape == (48, 48, 3) and thumb.dtype == np.uint8 and thumb.flags["C_CONTIGUOUS"]
    reference = np.asarray(crop.resize((48, 48), Image.Resampling.BOX), dtype=np.float64)
    assert np.abs(thumb - reference).mean() < 6  # the same picture, shrunk from the 112 px model input
    large = tag_preparation.face_thumbnail(crop, 112, 160)  # larger than the model input: from the crop itself
    assert large.shape == (160, 160, 3)


def test_an_image_too_small_or_thin_to_show_a_face_is_never_given_a_class(tmp_path):
    from PIL import Image

    Image.new("RGB", (4, 4), (250, 250, 250)).save(tmp_path / "tiny.png")  # bright: "female" at 98 %
    Image.new("RGB", (2000, 50), (250, 250, 250)).save(tmp_path / "strip.png")
    Image.new("RGB", (80, 80), (250, 250, 250)).save(tmp_path / "blank.png")  # no face, but could hold one
    results = {r.path.name: r for r in tag_folder(list_images(tmp_path), FakeClassifier(), TagOptions())}
    for name, why in (("tiny.png", "at 4×4 px the image is too small"), ("strip.png", "at 2000×50 px the image is "
                                                                                     "too thin")):
        result = results[name]
        assert result.confidence > 0.9 and result.label(0.6) == UNCERTAIN  # the model's answer is kept, not shown
        assert why in result.unfit and why in result.note
    assert results["blank.png"].label(0.6) == "female" and not results["blank.png"].unfit
    out = tmp_path / "sorted"
    list(sort_into_folders(list(results.values()), out, uncertain_below=0.6))
    assert sorted(p.name for p in (out / UNCERTAIN).iterdir()) == ["strip.png", "tiny.png"]


def test_verify_calls_a_pair_uncertain_near_the_threshold_or_when_a_photo_cannot_show_a_face():
    from faceapp.core.verify import MATCH, NO_MATCH, verdict
    from faceapp.core.verify import UNCERTAIN as UNSURE

    assert verdict(0.70, 0.5) == MATCH and verdict(0.30, 0.5) == NO_MATCH
    assert verdict(0.53, 0.5) == UNSURE and verdict(0.46, 0.5) == UNSURE and verdict(0.55, 0.5) == MATCH
    assert verdict(0.51, 0.5, margin=0.0) == MATCH and verdict(0.49, 0.5, margin=0.0) == NO_MATCH
    assert verdict(0.99, 0.5, unfit="at 4×4 px the image is too small to hold a face") == UNSURE


def test_a_verify_photo_too_small_to_show_a_face_says_so():
    from PIL import Image

    from faceapp.core.verify import face_part

    part = face_part(Image.new("RGB", (5, 5)), {"frame_scale": 0.7})
    assert part.fallback and part.unfit == "at 5×5 px the image is too small to hold a face"
    assert part.unfit in part.note
    assert face_part(Image.new("RGB", (120, 120)), {"frame_scale": 0.7}).unfit == ""


def test_sorting_the_same_results_twice_makes_no_duplicate_copies(tagged, photo_folder, tmp_path):
    out = tmp_path / "sorted"
    first = list(sort_into_folders(tagged, out, uncertain_below=0.5))
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    again = list(sort_into_folders(tagged, out, uncertain_below=0.5))
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == files  # no 'name (1).jpg'
    copied = {o.source: o.destination for o in first if o.action == "copied"}
    skipped = {o.source: o for o in again if o.source in copied}
    assert all(o.action == "skipped" and o.destination == copied[src] and "identical copy" in o.reason
               for src, o in skipped.items())
    # A different photo under a name already taken still gets its own copy.
    taken = next(iter(copied))
    other = tmp_path / "other" / taken.name
    other.parent.mkdir()
    other.write_bytes(b"another photo with the same name")
    label = copied[taken].parent.name
    renamed = list(sort_into_folders([TagResult(0, other, predicted=label, confidence=0.99)], out,
                                     uncertain_below=0.5))
    assert renamed[0].action == "copied" and renamed[0].destination.name.endswith(f" (1){taken.suffix}")


def test_a_move_onto_an_identical_copy_leaves_the_original_in_place(tagged, photo_folder, tmp_path):
    out = tmp_path / "sorted"
    list(sort_into_folders(tagged, out, uncertain_below=0.5))  # copies first
    before = _digest(photo_folder)
    outcomes = list(sort_into_folders(tagged, out, uncertain_below=0.5, move=True))
    assert {o.action for o in outcomes} == {"skipped"} and _digest(photo_folder) == before


class BatchDetector:
    """BlazeFace's place: a face box in the middle of every image (and a small one in a corner when every face
    is asked for); records the size of each network batch.
    `fail_batches`: a batch of several images raises (photo-by-photo finding must take over)."""

    def __init__(self, fail_batches=False):
        self.batches, self.fail_batches = [], fail_batches

    def detect(self, image, small_faces=None):
        return self.detect_many([image], small_faces)[0]

    def detect_many(self, images, small_faces=None):
        from training.detectors.detection import Detection

        self.batches.append(len(images))
        if self.fail_batches and len(images) > 1:
            raise RuntimeError("out of memory")
        def face(image, x, y, side):  # a square face at (x, y) of `side`, as fractions of the image
            w, h = image.size
            box = (w * x, h * y, w * (x + side), h * (y + side))
            eyes = ((w * (x + 0.3 * side), h * (y + 0.3 * side)), (w * (x + 0.7 * side), h * (y + 0.3 * side)))
            rest = [(w * (x + side / 2), h * (y + side * k)) for k in (0.5, 0.7, 0.5, 0.5)]
            return Detection(box, 0.99, (*eyes, *rest))

        every = small_faces == "always"  # every face: a small second face the fine pass finds
        return [[face(image, 0.25, 0.25, 0.5)] + ([face(image, 0.8, 0.05, 0.15)] if every else []) for image in images]


@pytest.mark.parametrize("faces", ["main", "all"])
@pytest.mark.parametrize("workers", [1, 3])
@pytest.mark.parametrize("fail_batches", [False, True])
def test_blazeface_finds_the_faces_of_a_model_batch_in_one_network_batch(photo_folder, monkeypatch, workers,
                                                                         fail_batches, faces):
    """A BlazeFace framing: one detector batch per batch of readable photos, the same results as photo by
    photo, for the main face and for every face; a failing batch is found again photo by photo."""
    from faceapp.core import tag_preparation
    from training import framing as framing_module

    detector = BatchDetector(fail_batches)
    monkeypatch.setattr(framing_module, "blazeface_detector", lambda: detector)
    classifier = FakeClassifier()
    classifier.framing = {"detector": "blazeface", "frame_scale": 0.5, "align": {"eyes": [[0.4, 0.4], [0.6, 0.4]]}}
    paths = list_images(photo_folder)  # 10 files, 2 of them unreadable
    options = TagOptions(workers=workers, batch_size=4, thumbnail_size=16, faces=faces)
    batched = sorted(tag_folder(paths, classifier, options), key=lambda r: r.index)
    readable = [sum(1 for p in paths[i:i + 4] if p.name not in ("broken.jpg", "notes.png")) for i in (0, 4, 8)]
    if fail_batches:  # the batch, then each of its photos alone
        assert detector.batches == [size for n in readable for size in ([n] + [1] * n if n > 1 else [1])]
    else:
        assert detector.batches == readable
    detector.batches.clear()
    monkeypatch.setattr(tag_preparation, "finds_in_batches", lambda framing: False)  # photo by photo
    alone = sorted(tag_folder(paths, classifier, options), key=lambda r: r.index)
    assert set(detector.batches) == {1}
    assert [(r.path, r.predicted, r.error, r.face_box, r.face_finder, r.note, r.face_index) for r in batched] == \
        [(r.path, r.predicted, r.error, r.face_box, r.face_finder, r.note, r.face_index) for r in alone]
    assert sum(r.ok for r in batched) == (16 if faces == "all" else 8)  # a group of two in "all"
    assert all(r.face_finder == "blazeface" for r in batched if r.ok)
