"""Tests for training.detectors (BlazeFace): anchors, decoding, weighted NMS, letterbox geometry, the network's
shapes, and the whole chain from raw output to image pixels. Only the last tests need the shipped weights
(resources/models/blazeface/); they skip without them. Nothing here reads ../shared."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from training.detectors.blazeface import BlazeFaceDetector, BlazeFaceWeightsError, weights_path
from training.detectors.blazeface_net import BlazeFaceNet, load_network, same_padding
from training.detectors.detection import KEYPOINT_NAMES, Detection, detections_from_arrays
from training.detectors.letterbox import View, letterbox_view, render
from training.detectors.ssd import decode, iou, make_anchors, scores_of, weighted_nms
from training.faces import FaceBox, prominence, visible_area


def _shipped_weights():
    try:
        return weights_path()
    except BlazeFaceWeightsError:
        pytest.skip("the BlazeFace weights are not in this checkout (resources/models/blazeface)")


# -- anchors


def test_front_anchors_count_order_and_centres():
    anchors = make_anchors(128)
    assert anchors.shape == (896, 2)  # 16*16*2 + 8*8*6
    assert anchors.dtype == np.float32
    # 16x16 grid (stride 8) first, two anchors per cell, cells row by row (x fastest).
    assert anchors[0].tolist() == [4.0, 4.0] and anchors[1].tolist() == [4.0, 4.0]
    assert anchors[2].tolist() == [12.0, 4.0]
    assert anchors[32].tolist() == [4.0, 12.0]  # second row
    # Then the 8x8 grid (stride 16), six per cell.
    assert anchors[512:518].tolist() == [[8.0, 8.0]] * 6
    assert anchors[518].tolist() == [24.0, 8.0]
    assert anchors[-1].tolist() == [120.0, 120.0]


def test_anchors_scale_with_the_canvas():
    assert make_anchors(256).shape == (32 * 32 * 2 + 16 * 16 * 6, 2)
    assert make_anchors(256)[:2048].max() == 252.0


# -- decoding and scores


def test_decode_hand_made_output():
    anchors = np.array([[20.0, 30.0], [100.0, 50.0]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    raw[0, :4] = [2.0, -3.0, 10.0, 12.0]  # centre offset, then width and height
    raw[0, 4:16] = np.arange(12, dtype=np.float32)  # keypoint offsets (x, y) x 6
    boxes, points = decode(raw, anchors)
    assert boxes.shape == (2, 4) and points.shape == (2, 6, 2)
    np.testing.assert_allclose(boxes[0], [22 - 5, 27 - 6, 22 + 5, 27 + 6])
    np.testing.assert_allclose(points[0], anchors[0] + np.arange(12).reshape(6, 2))
    np.testing.assert_allclose(boxes[1], [100, 50, 100, 50])  # zero output: a point box on the anchor


def test_scores_are_clipped_sigmoids():
    scores = scores_of(np.array([-1e6, -2.0, 0.0, 2.0, 1e6]))
    assert np.all(np.diff(scores) >= 0) and np.isfinite(scores).all()  # -1e6 is clipped to -100: no overflow
    assert scores[2] == pytest.approx(0.5)
    assert scores[0] < 1e-30 and scores[-1] == pytest.approx(1.0)


# -- NMS


def test_iou():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]], np.float32)
    np.testing.assert_allclose(iou(boxes[0], boxes), [1.0, 50 / 150, 0.0, 0.0])


def test_weighted_nms_merges_overlaps_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    points = np.stack([np.full((6, 2), v, np.float32) for v in (0.0, 3.0, 55.0)])
    scores = np.array([0.6, 0.9, 0.8], np.float32)
    kept_boxes, kept_points, kept_scores = weighted_nms(boxes, points, scores, 0.3)
    assert kept_scores.tolist() == pytest.approx([0.9, 0.8])  # best first; a cluster keeps its best score
    w = np.array([0.9, 0.6]) / 1.5
    np.testing.assert_allclose(kept_boxes[0], w[0] * boxes[1] + w[1] * boxes[0], rtol=1e-6)
    np.testing.assert_allclose(kept_points[0], np.full((6, 2), w[0] * 3.0), rtol=1e-6)
    np.testing.assert_allclose(kept_boxes[1], boxes[2])


def test_weighted_nms_keeps_separate_faces_and_handles_empty():
    boxes = np.array([[0, 0, 10, 10], [8, 0, 18, 10]], np.float32)  # IoU 2/18: two faces
    kept = weighted_nms(boxes, np.zeros((2, 6, 2), np.float32), np.array([0.9, 0.8], np.float32), 0.3)
    assert len(kept[2]) == 2
    empty = weighted_nms(np.zeros((0, 4), np.float32), np.zeros((0, 6, 2), np.float32), np.zeros(0, np.float32))
    assert [a.shape for a in empty] == [(0, 4), (0, 6, 2), (0,)]


# -- letterbox geometry


def test_letterbox_view_round_trip():
    view = letterbox_view(300, 100, 128)
    assert (view.left, view.top, view.size) == (0.0, -100.0, 300.0)
    points = np.array([[0.0, 0.0], [300.0, 100.0], [123.4, 56.7]])
    np.testing.assert_allclose(view.to_image(view.to_input(points)), points, atol=1e-4)
    # The image's corners land inside the square, vertically centred.
    np.testing.assert_allclose(view.to_input(points[:2]), [[0, 128 / 3], [128, 2 * 128 / 3]], atol=1e-4)


def _coords_image(width, height):
    """Each pixel encodes its own position (R = x, G = y), so a rendered view can be checked exactly."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs, ys, np.full_like(xs, 200)], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("view", [View(10, 20, 64, 128), View(0, 0, 200, 100)])
def test_render_shows_the_region_it_maps_back_to(view):
    rgb = _coords_image(220, 240)
    out = render(rgb, view).astype(np.float32)
    assert out.shape == (view.side, view.side, 3)
    for i, j in [(5, 7), (60, 30), (90, 95)]:
        x, y = view.to_image(np.array([j + 0.5, i + 0.5]))  # this input pixel's centre, in the image
        assert out[i, j, 0] == pytest.approx(x - 0.5, abs=1.5)
        assert out[i, j, 1] == pytest.approx(y - 0.5, abs=1.5)


def test_render_letterbox_pads_black():
    rgb = np.full((50, 200, 3), 255, np.uint8)
    out = render(rgb, letterbox_view(200, 50, 128))
    assert out[:40].max() == 0 and out[-40:].max() == 0  # 128 * 75/200 = 48 rows of padding each side
    assert out[60:68].min() == 255


# -- the network


def test_same_padding_is_tf_same():
    assert same_padding(128, 5, 2) == (1, 2)
    assert same_padding(64, 3, 2) == (0, 1)
    assert same_padding(64, 3, 1) == (1, 1)


def test_network_output_shapes_match_the_anchors():
    net = BlazeFaceNet().eval()
    with torch.inference_mode():
        for side in (128, 256):
            scores, raw = net(torch.zeros(2, 3, side, side))
            assert scores.shape == (2, len(make_anchors(side)))
            assert raw.shape == (2, len(make_anchors(side)), 16)


@pytest.fixture
def random_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "random.pth"
    torch.save(BlazeFaceNet().state_dict(), path)
    return path


def test_detector_maps_a_raw_detection_back_to_image_pixels(random_weights, monkeypatch):
    """One confident anchor, hand-made: its box and keypoints come back in the photo's pixels."""
    detector = BlazeFaceDetector(random_weights, small_faces="never")
    anchors = make_anchors(128)

    def fake_network(batch):
        logits = np.full((1, len(anchors)), -20.0, np.float32)
        raw = np.zeros((1, len(anchors), 16), np.float32)
        logits[0, 600] = 5.0
        raw[0, 600, :4] = [3.0, -2.0, 40.0, 40.0]
        raw[0, 600, 4:] = np.tile([-10.0, -8.0], 6)
        return logits, raw

    monkeypatch.setattr(detector, "run_network", fake_network)
    found = detector.detect(np.zeros((150, 300, 3), np.uint8))  # letterboxed: 300 px -> 128, 75 px padding above
    assert len(found) == 1
    scale = 300 / 128
    cx, cy = anchors[600] + [3.0, -2.0]
    expected = [(cx - 20) * scale, (cy - 20) * scale - 75, (cx + 20) * scale, (cy + 20) * scale - 75]
    np.testing.assert_allclose(found[0].box, expected, rtol=1e-5)
    np.testing.assert_allclose(found[0].keypoints[0], [(anchors[600][0] - 10) * scale,
                                                       (anchors[600][1] - 8) * scale - 75], rtol=1e-5)
    assert found[0].score == pytest.approx(1 / (1 + np.exp(-5.0)))


def test_detector_rejects_bad_settings_and_missing_weights(random_weights, tmp_path):
    with pytest.raises(ValueError):
        BlazeFaceDetector(random_weights, small_faces="sometimes")
    with pytest.raises(ValueError):
        BlazeFaceDetector(random_weights, fine_side=200)
    with pytest.raises(BlazeFaceWeightsError):
        BlazeFaceDetector(tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"backbone1.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(BlazeFaceWeightsError):
        BlazeFaceDetector(bad)
    text = tmp_path / "text.pth"
    text.write_text("not weights")
    with pytest.raises(BlazeFaceWeightsError):
        BlazeFaceDetector(text)


def test_weights_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("FACEAPP_BLAZEFACE_WEIGHTS", str(tmp_path / "nowhere.pth"))
    with pytest.raises(BlazeFaceWeightsError):
        weights_path()


# -- detections


def test_detection_helpers():
    det = Detection((10.4, 20.6, 50.0, 70.0), 0.9, tuple((float(i), float(i)) for i in range(6)))
    assert det.width == pytest.approx(39.6) and det.centre == pytest.approx((30.2, 45.3))
    assert det.keypoint("nose_tip") == (2.0, 2.0) and KEYPOINT_NAMES[0] == "right_eye"
    assert det.face_box(40, 100) == FaceBox(10, 21, 30, 49)  # rounded, clipped to the image


def _order(boxes, width=250, height=250) -> list[tuple]:
    boxes = np.array(boxes, np.float32)
    found = detections_from_arrays(boxes, np.zeros((len(boxes), 6, 2), np.float32),
                                   np.full(len(boxes), 0.9, np.float32), width, height)
    return [tuple(round(v) for v in d.box) for d in found]


def test_the_subject_comes_first_not_a_bystander_of_its_size_at_the_side():
    # Elizabeth_Smart_0002 in V1: a bystander 110 px wide 83 px from the centre, the subject 107 px wide at 21 px
    subject, bystander = (90, 80, 197, 187), (-10, 120, 100, 230)
    assert _order([bystander, subject]) == [subject, bystander]
    ten = [tuple(10 * v for v in box) for box in (bystander, subject)]  # the same photo ten times the size
    assert _order(ten, 2500, 2500) == [ten[1], ten[0]]


def test_a_much_larger_face_beats_a_small_one_in_the_middle():
    big, small = (20, 40, 140, 160), (110, 110, 140, 140)  # 120 px, 45 px from the centre; 30 px at the centre
    assert _order([small, big]) == [big, small]
    # a subject composed off-centre (a third of the way across a 4,000 x 3,000 photo), a small face in the middle
    subject, middle = (1133, 800, 1533, 1200), (1925, 1425, 2075, 1575)
    assert _order([middle, subject], 4000, 3000) == [subject, middle]


def test_only_the_part_of_a_face_inside_the_photo_counts():
    boxes = [(0, 0, 30, 30), (-40, 0, 20, 30)]  # the second is the widest, but only 20 x 30 of it is inside
    assert _order(boxes, 100, 100)[0] == (0, 0, 30, 30)
    assert visible_area((-40, 0, 20, 30), 100, 100) == 600
    assert prominence((-40, 0, 20, 30), 100, 100) == pytest.approx(600 * math.exp(-(60 ** 2 + 35 ** 2) / 50 ** 2 / 2))
    assert prominence((40, 40, 60, 60), 100, 100) == 400  # centred: its area


# -- the shipped weights


def _drawn_face(side: int = 200, background=(70, 90, 120)) -> np.ndarray:
    """A flat cartoon face (hair, skin oval, eyes with pupils, brows, nose line, mouth), slightly blurred."""
    import cv2

    img = np.zeros((side, side, 3), np.uint8)
    img[:] = background
    c, s = side // 2, side / 200
    aa = cv2.LINE_AA
    cv2.ellipse(img, (c, int(c + 5 * s)), (int(55 * s), int(72 * s)), 0, 0, 360, (60, 40, 30), -1, aa)
    cv2.ellipse(img, (c, int(c + 15 * s)), (int(48 * s), int(62 * s)), 0, 0, 360, (200, 160, 130), -1, aa)
    for dx in (-20, 20):
        cv2.ellipse(img, (int(c + dx * s), int(c + 2 * s)), (int(9 * s), int(5 * s)), 0, 0, 360, (250, 250, 250),
                    -1, aa)
        cv2.circle(img, (int(c + dx * s), int(c + 2 * s)), int(4 * s), (40, 30, 20), -1, aa)
        cv2.line(img, (int(c + (dx - 10) * s), int(c - 10 * s)), (int(c + (dx + 10) * s), int(c - 12 * s)),
                 (60, 40, 30), max(1, int(3 * s)), aa)
    cv2.line(img, (c, int(c + 5 * s)), (int(c - 4 * s), int(c + 25 * s)), (150, 110, 90), max(1, int(2 * s)), aa)
    cv2.ellipse(img, (c, int(c + 42 * s)), (int(14 * s), int(5 * s)), 0, 0, 360, (150, 60, 60), -1, aa)
    return cv2.GaussianBlur(img, (0, 0), s)


def test_shipped_weights_load_as_plain_tensors():
    state = torch.load(_shipped_weights(), map_location="cpu", weights_only=True)
    assert len(state) == 74 and sum(v.numel() for v in state.values()) == 101_390
    load_network(_shipped_weights())  # strict: every key and shape fits the network


@pytest.mark.parametrize("background", [(70, 90, 120), (200, 200, 200), (30, 30, 30)])
def test_shipped_weights_find_a_drawn_face_with_landmarks(background):
    """The drawn face scored 0.995-0.998 on these backgrounds at 128-300 px when this test was written."""
    _shipped_weights()
    detector = BlazeFaceDetector()
    canvas = np.full((240, 360, 3), background, np.uint8)
    canvas[30:230, 100:300] = _drawn_face(200, background)  # face centre (200, 130)
    found = detector.detect(Image.fromarray(canvas))
    assert len(found) == 1
    face = found[0]
    assert face.score > 0.9
    assert abs(face.centre[0] - 200) < 15 and abs(face.centre[1] - 140) < 20
    right_eye, left_eye = face.keypoint("right_eye"), face.keypoint("left_eye")
    assert right_eye[0] < 200 < left_eye[0]  # the subject's right eye is on the image's left
    assert abs(right_eye[1] - 132) < 10 and abs(left_eye[1] - 132) < 10
    assert face.keypoint("mouth")[1] > face.keypoint("nose_tip")[1] > right_eye[1]


def test_shipped_weights_find_nothing_in_a_blank_image():
    _shipped_weights()
    detector = BlazeFaceDetector()
    assert detector.detect(np.full((300, 400, 3), 128, np.uint8)) == []
    assert detector.detect(np.zeros((0, 10, 3), np.uint8)) == []
    assert detector.detect(np.full((5, 7), 255, np.uint8)) == []  # gray, tiny


def test_detecting_many_images_at_once_finds_what_one_at_a_time_finds():
    """One network batch for several photos of different sizes (a face, a blank, an empty and a group
    needing the fine pass) gives each photo the faces `detect` gives it alone."""
    _shipped_weights()
    detector = BlazeFaceDetector()
    face = np.full((240, 360, 3), (70, 90, 120), np.uint8)
    face[30:230, 100:300] = _drawn_face(200, (70, 90, 120))
    group = np.full((600, 800, 3), (200, 200, 200), np.uint8)  # small faces: only the fine pass sees them
    for x in (60, 330, 600):
        group[200:320, x:x + 120] = _drawn_face(120, (200, 200, 200))
    images = [face, np.full((300, 400, 3), 128, np.uint8), np.zeros((0, 10, 3), np.uint8), group,
              Image.fromarray(face[:, ::-1].copy())]
    alone = [detector.detect(image) for image in images]
    together = detector.detect_many(images)
    assert [len(found) for found in together] == [len(found) for found in alone]
    assert len(alone[0]) == 1 and alone[1] == alone[2] == [] and len(alone[4]) == 1
    for many, one in zip(together, alone):
        for a, b in zip(many, one):
            np.testing.assert_allclose(a.box, b.box, atol=1e-3)
            np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)
            assert a.score == pytest.approx(b.score, abs=1e-4)
    assert detector.detect_many([]) == []
