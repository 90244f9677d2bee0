"""training.framing: the checkpoint's framing block picks the finder (Haar, BlazeFace) and the crop (box square
or eye alignment); fallbacks Haar then whole image; every face of a group photo. Faces are drawn (no photos);
the tests that need BlazeFace's shipped weights skip without them."""

import math
import pickle

import numpy as np
import pytest
from PIL import Image

from training import faces
from training import framing as framing_module
from training.data.datasets import face_cropper
from training.detectors.blazeface import BOX_CENTRE_DROP, BOX_TO_FRAME
from training.detectors.detection import Detection
from training.faces import DEFAULT_FRAME_SCALE, FaceBox
from training.framing import (
    LFW_EYES,
    Framing,
    FramingError,
    default_eyes,
    find_and_crop_framed,
    find_every_face,
)

from .test_blazeface import _drawn_face, _shipped_weights

BACKGROUND = (70, 90, 120)


def _face_photo(angle: float = 0.0) -> Image.Image:
    canvas = np.full((240, 360, 3), BACKGROUND, np.uint8)
    canvas[30:230, 100:300] = _drawn_face(200, BACKGROUND)
    image = Image.fromarray(canvas)
    return image.rotate(angle, center=(200, 132), resample=Image.Resampling.BILINEAR, fillcolor=BACKGROUND) \
        if angle else image


def _group_photo() -> Image.Image:
    canvas = np.full((300, 640, 3), BACKGROUND, np.uint8)
    canvas[40:280, 30:270] = _drawn_face(240, BACKGROUND)  # the larger face, left
    canvas[90:250, 400:560] = _drawn_face(160, BACKGROUND)
    return Image.fromarray(canvas)


class StubDetector:
    """BlazeFace's place: gives the detections it was made with, and records the mode asked for."""

    def __init__(self, found):
        self.found, self.modes, self.batches = found, [], []

    def detect(self, image, small_faces=None):
        self.modes.append(small_faces)
        return list(self.found(image) if callable(self.found) else self.found)

    def detect_many(self, images, small_faces=None):
        self.batches.append(len(images))
        return [self.detect(image, small_faces) for image in images]


@pytest.fixture
def stub(monkeypatch):
    def install(found):
        detector = StubDetector(found)
        monkeypatch.setattr(framing_module, "blazeface_detector", lambda: detector)
        return detector
    return install


# -- the block


@pytest.mark.parametrize("block", [None, {}, {"frame_scale": 0.464}, {"detector": "haar"},
                                   {"detector": "haar", "frame_scale": None}])
def test_old_and_partial_blocks_mean_haar_at_the_default(block):
    framing = Framing.from_dict(block)
    assert framing == Framing("haar", DEFAULT_FRAME_SCALE) and not framing.aligned
    assert framing.to_dict() == {"detector": "haar", "frame_scale": DEFAULT_FRAME_SCALE}


def test_blocks_round_trip_as_plain_types():
    aligned = Framing.blazeface(0.7)
    block = aligned.to_dict()
    eyes = [list(e) for e in default_eyes(0.7)]
    assert block == {"detector": "blazeface", "frame_scale": 0.7, "align": {"eyes": eyes}}
    assert Framing.from_dict(block) == aligned
    assert Framing.from_dict(pickle.loads(pickle.dumps(block))) == aligned
    assert Framing.blazeface(align=False).to_dict() == {"detector": "blazeface", "frame_scale": DEFAULT_FRAME_SCALE}


@pytest.mark.parametrize("block, words", [
    ({"detector": "mtcnn"}, "mtcnn"),
    ({"detector": "haar", "frame_scale": -1}, "positive"),
    ({"detector": "haar", "frame_scale": 0.5, "align": {"eyes": [[0.4, 0.4], [0.6, 0.4]]}}, "blazeface"),
    ({"detector": "blazeface", "align": {"eyes": [[0.6, 0.4], [0.4, 0.4]]}}, "right eye"),
    ({"detector": "blazeface", "align": {"eyes": [[0.4]]}}, "two [x, y] pairs"),
    ({"detector": "blazeface", "align": [0.4, 0.6]}, "align must be"),
])
def test_bad_blocks_are_refused_with_a_reason(block, words):
    with pytest.raises(FramingError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Framing.from_dict(block)


def test_default_eyes_are_lfw_eyes_spread_with_the_scale():
    assert default_eyes(DEFAULT_FRAME_SCALE) == LFW_EYES
    (xr, yr), (xl, yl) = default_eyes(0.7)
    assert yr == yl and math.isclose(xr + xl, 1.0)
    assert math.isclose(xl - xr, (LFW_EYES[1][0] - LFW_EYES[0][0]) * 0.7 / DEFAULT_FRAME_SCALE, abs_tol=2e-4)
    assert Framing.blazeface(0.63).at_scale(0.7).eyes == pytest.approx(np.array(default_eyes(0.7)), abs=2e-4)
    assert Framing("haar", 0.63).at_scale(0.7) == Framing("haar", 0.7)


# -- Haar: as before


def test_haar_framing_is_find_and_crop_exactly():
    photo = _face_photo()
    for block in (None, {"frame_scale": 0.7}, {"detector": "haar", "frame_scale": 0.5}):
        new = find_and_crop_framed(photo, block)
        old = faces.find_and_crop(photo, faces.frame_scale_of(block))
        assert new.box == old.box and new.note == old.note and new.finder == "haar"
        assert np.array_equal(np.asarray(new.image), np.asarray(old.image))
    blank = find_and_crop_framed(Image.new("RGB", (90, 60), "gray"), None)
    assert blank.fallback and blank.box is None and blank.image.size == (90, 60)


def test_face_cropper_takes_a_block_or_a_bare_scale_and_pickles():
    photo = _face_photo()
    by_scale, by_block = face_cropper(True, 0.6), face_cropper(True, {"detector": "haar", "frame_scale": 0.6})
    assert np.array_equal(np.asarray(by_scale(photo)), np.asarray(by_block(photo)))
    assert pickle.loads(pickle.dumps(face_cropper(True, Framing.blazeface(0.7)))).args == \
        (Framing.blazeface(0.7).to_dict(),)
    assert face_cropper(False, 0.6) is None


# -- BlazeFace: box squares, alignment, fallbacks (stub detector: no weights needed)


def _detection(box, eyes, score=0.97):
    (xr, yr), (xl, yl) = eyes
    points = ((xr, yr), (xl, yl), ((xr + xl) / 2, yr + 20), ((xr + xl) / 2, yr + 40), (xr - 20, yr), (xl + 20, yl))
    return Detection(tuple(float(v) for v in box), score, tuple((float(x), float(y)) for x, y in points))


def test_blazeface_box_square_is_scaled_to_the_haar_convention(stub):
    stub([_detection((150, 100, 250, 210), ((180, 140), (222, 140)))])
    crop = find_and_crop_framed(_face_photo(), {"detector": "blazeface", "frame_scale": 0.5})
    assert crop.finder == "blazeface" and crop.score == pytest.approx(0.97) and not crop.aligned
    assert crop.box == FaceBox(150, 100, 100, 110) and len(crop.keypoints) == 6 and not crop.fallback
    # side: the BlazeFace box made a Haar box (x 0.464 / 0.423), then over frame_scale
    assert crop.image.size == (round(110 / (0.5 * BOX_TO_FRAME / DEFAULT_FRAME_SCALE)),) * 2
    # ...around the box raised by BOX_CENTRE_DROP of its side (where Haar's box would be centred)
    raised = FaceBox(150, round(100 - BOX_CENTRE_DROP * 110), 100, 110)
    expected = faces.crop_face(_face_photo(), raised, 0.5 * BOX_TO_FRAME / DEFAULT_FRAME_SCALE)
    assert np.array_equal(np.asarray(crop.image), np.asarray(expected))


def test_alignment_puts_the_eyes_at_the_asked_places():
    """Two dots where the eyes are, on a tilted line: after alignment they sit on the targets."""
    image = np.zeros((300, 400, 3), np.uint8)
    eyes = ((150.0, 160.0), (210.0, 125.0))  # 69.5 px apart, 30 degrees up to the right
    for x, y in eyes:
        image[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    framing = Framing("blazeface", 0.6, ((0.35, 0.4), (0.65, 0.4)))
    crop = np.asarray(framing.align(Image.fromarray(image), eyes))
    side = crop.shape[0]
    assert crop.shape == (side, side, 3) and side == round(math.dist(*eyes) / 0.3)
    bright = np.argwhere(crop[..., 0] > 128)
    left, right = bright[bright[:, 1] < side / 2], bright[bright[:, 1] >= side / 2]
    assert np.allclose(left.mean(0), (0.4 * side, 0.35 * side), atol=1.0)  # (row, column)
    assert np.allclose(right.mean(0), (0.4 * side, 0.65 * side), atol=1.0)


def test_eyes_that_do_not_fit_the_box_give_the_box_square(stub):
    stub([_detection((100, 60, 300, 260), ((195, 150), (205, 150)))])  # eyes 10 px apart in a 200 px face
    crop = find_and_crop_framed(_face_photo(), Framing.blazeface())
    assert not crop.aligned and "cropped by the box" in crop.note
    assert crop.image.size == (round(200 / (DEFAULT_FRAME_SCALE * BOX_TO_FRAME / DEFAULT_FRAME_SCALE)),) * 2


def test_nothing_from_blazeface_falls_back_to_haar_then_the_whole_image(stub, monkeypatch):
    detector = stub([])
    photo = _face_photo()
    monkeypatch.setattr(faces, "detect_faces", lambda image: [FaceBox(140, 80, 120, 120)])
    crop = find_and_crop_framed(photo, Framing.blazeface(0.6))
    assert crop.finder == "haar" and crop.box == FaceBox(140, 80, 120, 120) and not crop.aligned
    assert crop.image.size == (200, 200) and "Haar" in crop.note and not crop.fallback
    assert detector.modes == [None]  # the main face: the detector's own small-face rule ("auto")
    monkeypatch.setattr(faces, "detect_faces", lambda image: [])
    crop = find_and_crop_framed(photo, Framing.blazeface(0.6))
    assert crop.fallback and crop.box is None and crop.image.size == photo.size and crop.finder == ""
    assert find_and_crop_framed(photo, Framing.blazeface(), assume_crop=True).note == "treated as a face crop"


def test_many_photos_are_framed_as_one_at_a_time_with_one_network_batch(stub, monkeypatch):
    """find_and_crop_many: each photo's crop is find_and_crop's, a photo with no face falls back on its own,
    a photo too small for a face is not shown to the network, and the network runs once for all."""
    face = _detection((150, 100, 250, 210), ((180, 140), (222, 140)))
    photo, blank, tiny = _face_photo(), Image.new("RGB", (400, 300), "gray"), Image.new("RGB", (5, 5), "white")
    detector = stub(lambda image: [] if image.size != photo.size else [face])
    monkeypatch.setattr(faces, "detect_faces", lambda image: [])
    framing = Framing.blazeface(0.6)
    many = framing.find_and_crop_many([photo, blank, tiny, photo])
    assert detector.batches == [3]  # one network batch; the 5 px image never reaches it
    alone = [framing.find_and_crop(image) for image in (photo, blank, tiny, photo)]
    for a, b in zip(many, alone):
        assert (a.box, a.note, a.fallback, a.finder, a.aligned) == (b.box, b.note, b.fallback, b.finder, b.aligned)
        assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert many[0].aligned and many[1].fallback and many[2].fallback and framing.finds_in_batches
    trusted = framing.find_and_crop_many([photo, blank], assume_crop=True)
    assert [c.note for c in trusted] == ["treated as a face crop"] * 2
    assert not Framing.from_dict(None).finds_in_batches
    assert framing.find_and_crop_many([]) == []


@pytest.mark.parametrize("size", [(1, 1), (3, 200), (23, 23), (640, 2)])
def test_blazeface_framing_never_raises_on_odd_images(size):
    _shipped_weights()
    crop = find_and_crop_framed(Image.new("RGB", size, "white"), Framing.blazeface())
    assert crop.fallback and crop.image.size == size
    assert find_every_face(Image.new("L", size), Framing.blazeface())[0].fallback


# -- every face


def test_every_face_gives_each_face_main_one_first(stub):
    big = _detection((30, 40, 270, 280), ((100, 140), (200, 140)))
    small = _detection((400, 90, 560, 250), ((450, 150), (510, 150)), score=0.95)
    detector = stub([big, small])
    found = find_every_face(_group_photo(), Framing.blazeface())
    assert [c.box.x for c in found] == [30, 400] and [c.faces_found for c in found] == [2, 2]
    assert [c.note for c in found] == ["face 1 of 2", "face 2 of 2"] and all(c.aligned for c in found)
    assert detector.modes == ["always"]  # small faces of a group photo too
    assert found[0].image.size[0] > found[1].image.size[0]


def test_every_face_with_haar_and_without_any_face(monkeypatch):
    monkeypatch.setattr(faces, "detect_every_face", lambda image: [FaceBox(10, 10, 100, 100), FaceBox(200, 20, 50, 50)])
    found = find_every_face(_group_photo(), {"detector": "haar", "frame_scale": 0.5})
    assert [c.image.size for c in found] == [(200, 200), (100, 100)] and [c.finder for c in found] == ["haar"] * 2
    monkeypatch.setattr(faces, "detect_every_face", lambda image: [])
    (only,) = find_every_face(_group_photo(), None)
    assert only.fallback and only.box is None


def test_haar_every_face_runs_both_passes_and_merges_them(monkeypatch):
    passes = {"coarse": np.array([[100.0, 50, 120, 120]]),
              "full": np.array([[104.0, 52, 115, 115], [400, 100, 60, 60]])}  # one face again, one new
    monkeypatch.setattr(faces, "_run_pass", lambda gray, scan, calibrated=True: passes[scan.name])
    boxes = faces.detect_every_face(np.zeros((300, 640), np.uint8))
    assert boxes == [FaceBox(100, 50, 120, 120), FaceBox(400, 100, 60, 60)]


# -- with the shipped weights: the drawn faces


def test_shipped_blazeface_aligns_a_tilted_face():
    _shipped_weights()
    framing = Framing.blazeface()
    crop = find_and_crop_framed(_face_photo(angle=20), framing)
    assert crop.finder == "blazeface" and crop.aligned and crop.keypoints is not None
    again = framing_module.blazeface_detector().detect(crop.image)
    assert again, "the aligned crop still shows a face"
    side = crop.image.size[0]
    (xr, yr), (xl, yl) = (np.array(again[0].keypoint(k)) / side for k in ("right_eye", "left_eye"))
    assert abs(yr - yl) < 0.03  # level
    assert abs(xr - LFW_EYES[0][0]) < 0.04 and abs(xl - LFW_EYES[1][0]) < 0.04


def test_shipped_blazeface_finds_both_faces_of_a_group_photo():
    _shipped_weights()
    found = find_every_face(_group_photo(), Framing.blazeface(align=False))
    assert len(found) == 2 and found[0].box.x < 300 < found[1].box.x  # the larger (left) first
    assert all(c.finder == "blazeface" and c.score > 0.9 for c in found)
    main = find_and_crop_framed(_group_photo(), Framing.blazeface(align=False))
    assert main.note == "2 faces found; used the main one"
    assert abs(main.box.x - found[0].box.x) < 10 and abs(main.box.w - found[0].box.w) < 10  # both passes


# -- tagging every face (faceapp.core: Qt-free)


class BrightnessClassifier:
    """A stand-in gender model: bright crops are "female"."""

    classes = ["female", "male"]
    input_size = 64

    def __init__(self, framing):
        self.framing = framing

    def predict(self, images, batch_size=32):
        from training.inference import Prediction

        out = []
        for image in images:
            p = float(np.asarray(image).mean()) / 255.0
            out.append(Prediction("female" if p >= 0.5 else "male", max(p, 1 - p), {"female": p, "male": 1 - p}))
        return out


def test_tagging_all_faces_gives_a_row_per_face_with_its_index_and_box(stub, tmp_path):
    import csv
    import json

    from faceapp.core.framing import crop_box
    from faceapp.core.tagging import TagOptions, export_csv, export_json, tag_folder

    pair = [_detection((30, 40, 270, 280), ((100, 140), (200, 140))),
            _detection((400, 90, 560, 250), ((450, 150), (510, 150)), score=0.95)]
    stub(lambda image: pair if image.size == (640, 300) else [])
    group, blank = tmp_path / "group.png", tmp_path / "blank.png"
    _group_photo().save(group)
    Image.new("RGB", (100, 80), "gray").save(blank)
    model = BrightnessClassifier(Framing.blazeface().to_dict())
    options = TagOptions(faces="all", workers=1, thumbnail_size=16)
    results = list(tag_folder([group, blank], model, options))
    assert [(r.path.name, r.index, r.face_index) for r in results] == [("group.png", 0, 0), ("group.png", 0, 1),
                                                                       ("blank.png", 1, 0)]
    first, second, none = results
    assert first.face_box == (30, 40, 240, 240) and second.face_box == (400, 90, 160, 160)
    assert first.faces_found == second.faces_found == 2 and first.face_finder == "blazeface"
    assert first.face_score == pytest.approx(0.97) and len(first.face_keypoints) == 6
    assert none.face_fallback and none.face_box is None and none.face_finder == "" and none.predicted
    # the thumbnail's re-crop from what the result reports is the model's aligned crop
    found = find_every_face(_group_photo(), model.framing)
    again = crop_box(_group_photo(), first.face_box, model.framing, keypoints=first.face_keypoints)
    assert np.array_equal(np.asarray(again), np.asarray(found[0].image))
    # exports carry the index and the box
    export_csv(results, tmp_path / "out.csv", uncertain_below=0.6)
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["face_index"], r["face_x"], r["face_w"], r["face_finder"]) for r in rows] == [
        ("0", "30", "240", "blazeface"), ("1", "400", "160", "blazeface"), ("0", "", "", "")]
    document = json.loads(export_json(results, tmp_path / "out.json", uncertain_below=0.6).read_text())
    assert [r["face_index"] for r in document["results"]] == [0, 1, 0]
    assert document["results"][1]["face_box"] == {"x": 400, "y": 90, "w": 160, "h": 160}
    assert len(document["results"][0]["face_keypoints"]) == 6 and document["results"][2]["face_keypoints"] is None
    # the default stays one row per photo: its main face
    main = list(tag_folder([group, blank], model, TagOptions(workers=1)))
    assert [(r.index, r.face_index, r.face_box) for r in main] == [(0, 0, (30, 40, 240, 240)), (1, 0, None)]


def test_tag_options_refuse_an_unknown_faces_mode():
    from faceapp.core.tagging import TagOptions

    with pytest.raises(ValueError, match="main, all"):
        TagOptions(faces="some")
    assert TagOptions(faces="largest").faces == "main"  # the former name of one face per photo still reads


# -- training asks for the framing


def test_a_config_asking_for_aligned_blazeface_crops_writes_that_framing(tmp_path, tiny_networks, monkeypatch):
    """--face-detector blazeface --align-faces: the training crops go through that framing and the checkpoint's
    framing block says so, for the app and the benchmarks to crop alike."""
    from training.checkpoint import load_checkpoint
    from training.cli import _config_from, build_parser
    from training.config import TrainConfig
    from training.engine import fit

    from .synthetic import make_gender_folder

    calls = []
    no_faces = StubDetector(lambda image: calls.append(image.size) or [])
    monkeypatch.setattr(framing_module, "blazeface_detector", lambda: no_faces)
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    args = build_parser().parse_args(["train-gender", str(data), "--face-detector", "blazeface", "--align-faces",
                                      "--frame-scale", "0.5"])
    config = _config_from(args, "gender")
    assert (config.face_detector, config.align_faces, config.frame_scale) == ("blazeface", True, 0.5)
    config = TrainConfig(task="gender", epochs=1, batch_size=8, input_size=32, workers=0, patience=0,
                         out_dir=str(tmp_path / "runs"), val_fraction=0.25, warmup_epochs=0, scheduler="none",
                         face_detector="blazeface", align_faces=True, frame_scale=0.5)
    result = fit("gender", [data], config)
    assert calls  # the training photos were searched with BlazeFace
    assert load_checkpoint(result.best_path)["framing"] == Framing.blazeface(0.5).to_dict()
    with pytest.raises(ValueError, match="blazeface"):
        TrainConfig(align_faces=True)
    with pytest.raises(ValueError, match="unknown face detector"):
        TrainConfig(face_detector="dlib")


def _frame_in_child(_):
    return Framing.blazeface().find_and_crop(_face_photo()).finder


def test_blazeface_framing_works_in_processes_forked_after_torch_ran_on_threads():
    """The benchmarks crop probes in forked processes after the parent ran its model on OpenMP threads; a
    torch op on more than one thread in such a child waits forever for the parent's threads."""
    import multiprocessing

    import torch

    _shipped_weights()
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        torch.ones(1 << 20).mul_(2).sum()  # parallel work in the parent: OpenMP's team exists
        with multiprocessing.get_context("fork").Pool(2) as pool:
            assert pool.map_async(_frame_in_child, range(2)).get(timeout=60) == ["blazeface"] * 2
    finally:
        torch.set_num_threads(threads)


def test_a_framing_chosen_by_finder_name_and_alignment():
    from training.framing import NAMES, FramingError

    assert Framing.chosen("haar", 0.5) == Framing("haar", 0.5)
    assert Framing.chosen("blazeface", 0.5) == Framing("blazeface", 0.5)
    assert Framing.chosen("blazeface", 0.5, align=True) == Framing.blazeface(0.5, align=True)
    with pytest.raises(FramingError, match="eye keypoints"):
        Framing.chosen("haar", 0.5, align=True)
    assert [Framing.named(name, 0.7).to_dict() for name in NAMES] == [
        {"detector": "haar", "frame_scale": 0.7}, {"detector": "blazeface", "frame_scale": 0.7},
        Framing.blazeface(0.7).to_dict()]
