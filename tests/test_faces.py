"""Tests for training.faces: crop geometry, fallbacks, odd inputs, detector lookup (no real faces needed)."""

import threading

import numpy as np
import pytest
from PIL import Image

from training import faces
from training.faces import (
    DEFAULT_FRAME_SCALE,
    HAAR_TO_FRAME,
    FaceBox,
    FaceCrop,
    FaceDetectorError,
    crop_face,
    detect_faces,
    find_and_crop,
)


def _coords_image(width, height):
    """Each pixel encodes its own position (R = x, G = y), so crops can be located exactly."""
    ys, xs = np.mgrid[0:height, 0:width]
    return Image.fromarray(np.stack([xs % 256, ys % 256, np.full_like(xs, 77)], axis=-1).astype(np.uint8))


def test_frame_scale_is_the_measured_ratio():
    assert HAAR_TO_FRAME == DEFAULT_FRAME_SCALE
    assert 0.3 < DEFAULT_FRAME_SCALE < 0.6  # a Haar box is a bit under half an LFW frame


def test_facebox_area_and_frozen():
    box = FaceBox(1, 2, 30, 40)
    assert box.area == 1200
    with pytest.raises(AttributeError):
        box.x = 5


def test_crop_is_square_centred_and_sized_by_frame_scale():
    img = _coords_image(200, 200)
    box = FaceBox(80, 70, 40, 40)
    crop = crop_face(img, box, frame_scale=0.5)
    assert crop.size == (80, 80)  # side = 40 / 0.5
    arr = np.asarray(crop)
    # Box centre (100, 90) sits at the crop centre; top-left of the crop is (60, 50).
    assert tuple(arr[0, 0, :2]) == (60, 50)
    assert tuple(arr[40, 40, :2]) == (100, 90)


def test_crop_uses_longer_box_side():
    crop = crop_face(_coords_image(300, 300), FaceBox(100, 100, 30, 60), frame_scale=0.5)
    assert crop.size == (120, 120)


def test_default_frame_scale_reproduces_an_lfw_frame():
    # A 250 px frame whose face box has the measured median size gives the frame back.
    img = _coords_image(250, 250)
    side = round(250 * DEFAULT_FRAME_SCALE)
    box = FaceBox(125 - side // 2, 125 - side // 2, side, side)
    crop = crop_face(img, box)
    assert abs(crop.size[0] - 250) <= 2 and crop.size[0] == crop.size[1]
    assert np.abs(np.asarray(crop.resize((250, 250)), np.int16) - np.asarray(img, np.int16)).mean() < 3


def test_crop_at_corner_is_padded_with_edges():
    img = _coords_image(100, 80)
    crop = crop_face(img, FaceBox(0, 0, 20, 20), frame_scale=0.25)
    assert crop.size == (80, 80)
    arr = np.asarray(crop)
    # The square starts at (-30, -30): everything left/above the image repeats its first column/row.
    assert tuple(arr[0, 0, :2]) == (0, 0)
    assert tuple(arr[30, 30, :2]) == (0, 0)
    assert tuple(arr[30, 40, :2]) == (10, 0)
    assert tuple(arr[40, 30, :2]) == (0, 10)
    assert tuple(arr[79, 79, :2]) == (49, 49)


def test_crop_larger_than_image_keeps_size():
    crop = crop_face(_coords_image(30, 20), FaceBox(5, 5, 10, 10), frame_scale=0.1)
    assert crop.size == (100, 100) and crop.mode == "RGB"


def test_box_outside_the_image_still_gives_a_crop():
    crop = crop_face(_coords_image(50, 40), FaceBox(200, 300, 4, 4), frame_scale=0.5)
    assert crop.size == (8, 8)
    assert (np.asarray(crop)[..., :2] == (49, 39)).all()


@pytest.mark.parametrize("kind", ["pil", "array", "gray"])
def test_crop_everywhere_equals_edge_clamped_indexing(kind):
    # Inside, across an edge or corner, larger than the image, or wholly outside: the fast paths (a PIL
    # crop, a slice plus replicated border) give exactly the pixels of clamping each source index.
    rgb = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    source = {"pil": Image.fromarray(rgb), "array": rgb, "gray": Image.fromarray(rgb).convert("L")}[kind]
    expected_source = np.asarray(source.convert("RGB")) if kind == "gray" else rgb
    for x in range(-40, 90, 13):
        for y in range(-40, 70, 11):
            for w, h in ((2, 3), (20, 23), (45, 40)):
                box = FaceBox(x, y, w, h)
                side = round(max(w, h) / 0.464)
                left, top = round(x + w / 2 - side / 2), round(y + h / 2 - side / 2)
                rows = np.clip(np.arange(top, top + side), 0, 49)
                cols = np.clip(np.arange(left, left + side), 0, 69)
                crop = crop_face(source, box)
                assert crop.mode == "RGB"
                np.testing.assert_array_equal(np.asarray(crop), expected_source[np.ix_(rows, cols)], err_msg=str(box))


def test_crop_accepts_arrays_and_rejects_bad_scale():
    arr = np.asarray(_coords_image(50, 50))
    assert crop_face(arr, FaceBox(10, 10, 20, 20), 0.5).size == (40, 40)
    with pytest.raises(ValueError, match="frame_scale"):
        crop_face(arr, FaceBox(10, 10, 20, 20), 0)


def test_flat_image_falls_back_to_whole_image():
    img = Image.new("RGB", (320, 240), (128, 128, 128))
    found = find_and_crop(img)
    assert isinstance(found, FaceCrop)
    assert found.fallback and found.box is None and found.faces_found == 0
    assert found.note == "no face found; used the whole image"
    assert found.image.size == (320, 240) and found.image.mode == "RGB"


def test_assume_crop_skips_detection(monkeypatch):
    def boom(_image):
        raise AssertionError("detection must not run")

    monkeypatch.setattr(faces, "detect_faces", boom)
    found = find_and_crop(Image.new("L", (60, 50)), assume_crop=True)
    assert found.note == "treated as a face crop"
    assert not found.fallback and found.box is None and found.image.mode == "RGB" and found.image.size == (60, 50)


def test_main_face_is_cropped(monkeypatch):
    boxes = [FaceBox(100, 100, 50, 50), FaceBox(10, 10, 20, 20)]
    monkeypatch.setattr(faces, "detect_faces", lambda _image: boxes)
    found = find_and_crop(_coords_image(300, 300), frame_scale=0.5)
    assert found.box == boxes[0] and found.faces_found == 2 and not found.fallback
    assert found.image.size == (100, 100)
    assert found.note == "2 faces found; used the main one"


@pytest.mark.parametrize("size", [(8, 8), (1, 1), (23, 300), (3, 1000)])
def test_tiny_or_thin_images_do_not_throw(size):
    img = Image.new("RGB", size, (10, 200, 30))
    assert detect_faces(img) == []
    found = find_and_crop(img)
    assert found.fallback and found.image.size == size


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_odd_modes_do_not_throw(mode):
    found = find_and_crop(Image.new(mode, (64, 64)))
    assert found.image.mode == "RGB" and found.fallback


def test_array_inputs():
    assert detect_faces(np.zeros((100, 100), np.uint8)) == []
    assert detect_faces(np.zeros((100, 100, 3), np.uint8)) == []
    assert find_and_crop(np.zeros((90, 120, 3), np.uint8)).image.size == (120, 90)


class FakeCascade:
    """Records the size of each image the detector scans; answers with the boxes queued for each pass."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.shapes, self.min_sizes = [], []

    def detectMultiScale(self, image, **kw):  # noqa: N802 - OpenCV's method name
        self.shapes.append(image.shape)
        self.min_sizes.append(kw["minSize"][0])
        return self.answers.pop(0) if self.answers else ()


def _centre_and_side(box):
    return (box.x + box.w / 2, box.y + box.h / 2), max(box.w, box.h)


def test_a_face_found_by_the_coarse_pass_ends_the_search(monkeypatch):
    fake = FakeCascade([(20, 30, 40, 40)])
    monkeypatch.setattr(faces, "_classifier", lambda: fake)
    boxes = detect_faces(np.zeros((3000, 4000, 3), np.uint8))
    assert fake.shapes == [(100, 133)]  # one pass, on a copy with a 100 px shorter side...
    assert fake.min_sizes == [30]  # ...for faces of 30 % of that side and more
    # Back in the photo's own pixels (x 30), scaled about its centre by the pass's calibrated gain.
    (cx, cy), side = _centre_and_side(boxes[0])
    assert len(boxes) == 1 and abs(cx - 40 * 30) <= 1 and abs(cy - 50 * 30) <= 1
    assert abs(side - 40 * 30 * faces._COARSE.gain) <= 1 and 0.95 < faces._COARSE.gain < 1.0


def test_the_full_pass_runs_only_when_the_coarse_pass_finds_nothing(monkeypatch):
    fake = FakeCascade((), [(64, 48, 32, 32)])
    monkeypatch.setattr(faces, "_classifier", lambda: fake)
    boxes = detect_faces(np.zeros((3000, 4000, 3), np.uint8))
    assert fake.shapes == [(100, 133), (480, 640)]  # then at most 640 px on the longer side...
    assert fake.min_sizes == [30, 58]  # ...down to 12 % of the shorter side
    (cx, cy), side = _centre_and_side(boxes[0])
    assert len(boxes) == 1 and abs(cx - 500) <= 1 and abs(cy - 400) <= 1
    assert abs(side - 200 * faces._FULL.gain) <= 1 and 1.0 < faces._FULL.gain < 1.05


def test_a_small_photo_gets_a_coarse_copy_then_its_own_size(monkeypatch):
    fake = FakeCascade()
    monkeypatch.setattr(faces, "_classifier", lambda: fake)
    assert detect_faces(np.zeros((120, 140), np.uint8)) == []
    assert fake.shapes == [(100, 117), (120, 140)] and fake.min_sizes == [30, 24]


def test_calibrated_boxes_stay_inside_the_photo(monkeypatch):
    fake = FakeCascade((), [(0, 0, 100, 100)])  # a box filling the photo, grown by the full pass's gain
    monkeypatch.setattr(faces, "_classifier", lambda: fake)
    assert detect_faces(np.zeros((100, 100), np.uint8)) == [FaceBox(0, 0, 100, 100)]


def test_raw_pass_measurement_is_checked():
    with pytest.raises(ValueError, match="raw_pass"):
        faces.measure_frame_scale([], raw_pass="medium")


def test_detection_in_threads():
    errors = []

    def run():
        try:
            detect_faces(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8))
        except Exception as exc:  # noqa: BLE001 - collected and reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors


def test_cascade_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv(faces.CASCADE_ENV, str(tmp_path / "missing.xml"))
    with pytest.raises(FaceDetectorError, match=faces.CASCADE_ENV):
        faces.cascade_path()
    real = tmp_path / "cascade.xml"
    real.write_text("<opencv_storage/>")
    monkeypatch.setenv(faces.CASCADE_ENV, str(real))
    assert faces.cascade_path() == real


def test_cascade_found_in_pyinstaller_bundle(monkeypatch, tmp_path):
    bundled = tmp_path / "cv2" / "data" / faces.CASCADE_FILE
    bundled.parent.mkdir(parents=True)
    bundled.write_text("<opencv_storage/>")
    monkeypatch.delenv(faces.CASCADE_ENV, raising=False)
    monkeypatch.setattr(faces.cv2, "data", None, raising=False)
    monkeypatch.setattr(faces.sys, "_MEIPASS", str(tmp_path), raising=False)
    assert faces.cascade_path() == bundled


def test_missing_cascade_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(faces.CASCADE_ENV, raising=False)
    monkeypatch.setattr(faces.cv2, "data", None, raising=False)
    monkeypatch.delattr(faces.sys, "_MEIPASS", raising=False)
    with pytest.raises(FaceDetectorError, match="not found"):
        faces.cascade_path()
