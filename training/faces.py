"""Face finding (OpenCV Haar cascade) and framing: square crops that match the training photos.

The models are trained on LFW deep-funneled style frames (250x250, face in the middle). A photo from
the app is reframed the same way: detect the main face (`prominence`), then cut a square around it whose side is
`box side / frame_scale`. `DEFAULT_FRAME_SCALE` is measured on LFW itself (see its comment), so cropping
a detected face out of an LFW frame gives back about that frame. Checkpoints store
`framing = {"detector": "haar", "frame_scale": DEFAULT_FRAME_SCALE}`.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from training.imaging import iter_images, rgb_array, to_rgb

# OpenCV ships several frontal-face Haar cascades; "alt2" (boosted trees) rejects non-faces in fewer steps
# than "default" (stumps): on 500 LFW frames its first pass below takes 2.7 ms a photo and misses 12,
# where "default" took 6.3 ms at 150 px, or 3.6 ms at 100 px with 19 misses.
CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
CASCADE_ENV = "FACEAPP_HAAR_CASCADE"

# The framing convention: on LFW deep-funneled frames (250x250, face centred), the median face box side
# is DEFAULT_FRAME_SCALE of the frame side. Measured with the "default" cascade in one full pass on 500
# frames spread over all 11,817 (quartiles 0.448 / 0.484, median centre offset (0, 0)); every checkpoint
# stores it, and a crop's side is box side / frame_scale, so crops reproduce an LFW frame. Each pass
# below scales its raw boxes by its `gain` to keep this convention; the gains are measured with
#   python -c "import glob; from training.faces import measure_frame_scale as m;
#              print(m(sorted(glob.glob('LFW_DIR/*/*.jpg'))[::23][:500], raw_pass='coarse'))"
# (and raw_pass='full'): raw medians 0.468 and 0.448 on those 500 frames and on 500 others (0.470 and
# 0.448 before boxes are rounded to whole pixels), so gains 0.464 / 0.470 and 0.464 / 0.448. With them,
# measure_frame_scale(...) gives 0.464 back on both sets (quartiles 0.452 / 0.476 and 0.444 / 0.476).
# Centre offsets are under 0.5 % of a box: no shift.
DEFAULT_FRAME_SCALE = 0.464
HAAR_TO_FRAME = DEFAULT_FRAME_SCALE  # the same number, under the name that says what it measures
_HAAR_WINDOW = 24  # the cascade's training window: nothing smaller can be detected
MIN_FACE_SIDE = _HAAR_WINDOW  # an image with a shorter side than this holds no face worth a crop


@dataclass(frozen=True)
class _Pass:
    """One detectMultiScale run: on a copy whose shorter (or longer) side is at most `side` px, for faces
    of at least `min_fraction` of the copy's shorter side, window sizes `step` apart."""

    name: str
    side: int
    shorter: bool
    min_fraction: float
    step: float
    gain: float  # raw box side x gain = a box in the DEFAULT_FRAME_SCALE convention

    def scale(self, height: int, width: int) -> float:
        return min(1.0, self.side / (min(height, width) if self.shorter else max(height, width)))


# Large faces (portraits, face photos) on a small copy: cheap, and the common case.
_COARSE = _Pass("coarse", side=100, shorter=True, min_fraction=0.30, step=1.15, gain=0.464 / 0.4700)
# Everything down to 12 % of the shorter side (smaller faces are mostly false hits, and scanning their
# scales costs ~35 % of the time) on a copy of at most 640 px: 25 ms on an LFW frame, so only on a miss.
_FULL = _Pass("full", side=640, shorter=False, min_fraction=0.12, step=1.10, gain=0.464 / 0.4480)
_PASSES = {p.name: p for p in (_COARSE, _FULL)}

_local = threading.local()  # cv2.CascadeClassifier is not documented as thread-safe: one per thread


class FaceDetectorError(RuntimeError):
    """The Haar cascade file is missing or unreadable (an installation problem, not a photo problem)."""


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle in pixel coordinates of the image it was found in."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h


@dataclass
class FaceCrop:
    """What `find_and_crop` hands to a model, plus what the app shows about how it was obtained.

    `finder` names what found `box` ("haar", "blazeface"; "" when there is no box); `score` and
    `keypoints` (BlazeFace's 6 landmarks, `training.detectors.detection.KEYPOINT_NAMES` order, image
    pixels) are None where the finder gives none; `aligned` says the crop was turned and scaled to put
    the eyes where the framing wants them (`training.framing`)."""

    image: Image.Image
    box: FaceBox | None
    faces_found: int
    fallback: bool
    note: str
    finder: str = ""
    score: float | None = None
    keypoints: tuple[tuple[float, float], ...] | None = None
    aligned: bool = False


def cascade_path() -> Path:
    """Where the Haar cascade is: env override, then OpenCV's data folder, then a PyInstaller bundle."""
    override = os.environ.get(CASCADE_ENV)
    if override:
        if not Path(override).is_file():
            raise FaceDetectorError(f"{CASCADE_ENV} points to {override}, which is not a file")
        return Path(override)
    candidates = []
    cv2_data = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if cv2_data:
        candidates.append(Path(cv2_data) / CASCADE_FILE)
    bundle = getattr(sys, "_MEIPASS", None)  # set only in a PyInstaller-frozen app
    if bundle:
        candidates.append(Path(bundle) / "cv2" / "data" / CASCADE_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates) or "nowhere (cv2.data is missing)"
    raise FaceDetectorError(f"face detector file {CASCADE_FILE} not found (looked in: {looked}); set {CASCADE_ENV}")


def _classifier() -> cv2.CascadeClassifier:
    classifier = getattr(_local, "classifier", None)
    if classifier is None:
        if not hasattr(cv2, "CascadeClassifier"):
            # OpenCV 5 moved Haar cascades out of the main wheels; the project pins opencv < 5.
            raise FaceDetectorError(f"OpenCV {cv2.__version__} has no Haar face detector; "
                                    "install opencv-python-headless<5")
        path = cascade_path()
        classifier = cv2.CascadeClassifier(str(path))
        if classifier.empty():
            raise FaceDetectorError(f"face detector file {path} could not be loaded")
        _local.classifier = classifier
    return classifier


def detect_faces(image) -> list[FaceBox]:
    """Faces in `image` (PIL or uint8 RGB/gray array), the most prominent first (`prominence`), in the image's
    own pixels.

    Coarse to fine: the `_COARSE` pass looks only for large faces on a small copy, which skips the many
    small scales that make up most of Haar's cost. Only when it finds none does the `_FULL` pass look
    again, down to small faces. A face the first pass skips for being small is smaller than the one it
    found (it could come first only by being much nearer the centre; `detect_every_face` looks for it).
    On 500 LFW frames (every 23rd, one core) this takes 3.5 ms a photo, full passes included (the
    previous "default" cascade at 150 px: 6.8 ms), finds a face in 494 (496), and its crops match the
    LFW frame better: median IoU of crop and frame 0.945 against 0.929 (10th percentile 0.835 against
    0.788). Under the 8 distortions at severity 3 it finds 1 more to 8 fewer faces of 500 than before;
    those photos fall back to the whole image, flagged, like any miss. G1 and V1 accuracy did not drop
    (`resources/models/*.md`); a 90 px first pass was 20 % faster but cost V1 about 1 point.
    """
    gray = _gray(image)
    height, width = gray.shape
    if min(height, width) < _HAAR_WINDOW:
        return []
    found = _run_pass(gray, _COARSE)
    if not len(found):
        found = _run_pass(gray, _FULL)
    return _boxes(found, height, width)


def detect_every_face(image) -> list[FaceBox]:
    """Every face in `image`, the most prominent first: both passes always run (the full one finds the smaller faces
    of a group photo that `detect_faces` skips once the coarse pass found one); a full-pass box that
    overlaps a coarse one by more than a third (IoU) is the same face and is dropped."""
    gray = _gray(image)
    height, width = gray.shape
    if min(height, width) < _HAAR_WINDOW:
        return []
    coarse = _run_pass(gray, _COARSE)
    kept = list(coarse)
    for box in _run_pass(gray, _FULL):
        if all(box_iou(box, other) <= 1 / 3 for other in kept):
            kept.append(box)
    return _boxes(np.asarray(kept, dtype=np.float64).reshape(-1, 4), height, width)


def box_iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _run_pass(gray: np.ndarray, scan: _Pass, calibrated: bool = True) -> np.ndarray:
    """Haar boxes (N x 4, float, in `gray`'s pixels) of one pass, scaled about their centres by its gain."""
    height, width = gray.shape
    scale = scan.scale(height, width)
    small = gray
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    # Equalising makes the cascade far less sensitive to dark, bright or hazy photos.
    small = cv2.equalizeHist(small)
    min_side = max(_HAAR_WINDOW, round(scan.min_fraction * min(small.shape)))
    if min(small.shape) < min_side:
        return np.zeros((0, 4))
    found = _classifier().detectMultiScale(small, scaleFactor=scan.step, minNeighbors=5, minSize=(min_side, min_side))
    found = np.asarray(found, dtype=np.float64).reshape(-1, 4) / scale
    if calibrated and len(found):
        grow = (scan.gain - 1.0) / 2 * found[:, 2:]
        found = np.concatenate([found[:, :2] - grow, found[:, 2:] * scan.gain], axis=1)
    return found


def _boxes(found: np.ndarray, height: int, width: int) -> list[FaceBox]:
    """Rounded boxes clipped to the image, the most prominent first (`prominence`)."""
    boxes = []
    for x, y, w, h in found:
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(width, round(x + w)), min(height, round(y + h))
        if x1 > x0 and y1 > y0:
            boxes.append(FaceBox(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return sorted(boxes, key=lambda b: (-prominence((b.x, b.y, b.x + b.w, b.y + b.h), width, height), b.y, b.x))


def prominence(box, width: int, height: int) -> float:
    """How much a face is the photo's subject: the box's (x0, y0, x1, y1) area inside the `width` x `height`
    image, weighed down by the distance d of its centre from the image's centre: exp(-(d / h)^2), h half the
    image's diagonal (a face in a corner weighs 0.37 of its area). The order does not change when the photo
    is resized.

    The main face, which Tag and Verify use, is the most prominent one, not simply the largest: of two faces
    of about one size the one nearer the centre is the subject, while a face must be about 1.6 times as wide
    as one in the middle to come first from a corner. (FaceNet's dataset alignment and InsightFace's
    detectors keep the face of largest area less twice its squared distance from the centre, made for
    centred portraits: in a large photo composed off-centre it prefers any small face in the middle.) On
    V1's 718 identification photos it chooses another face than the largest in 3 of the 71 holding several,
    each a bystander of the subject's size at the side."""
    diagonal = math.hypot(width, height)
    if not diagonal:
        return 0.0
    dx, dy = (box[0] + box[2] - width) / 2, (box[1] + box[3] - height) / 2
    return visible_area(box, width, height) * math.exp(-(dx * dx + dy * dy) / (diagonal / 2) ** 2)


def visible_area(box, width: int, height: int) -> float:
    """The part of a box (x0, y0, x1, y1) inside a `width` x `height` image, in square pixels."""
    w = min(box[2], width) - max(box[0], 0.0)
    h = min(box[3], height) - max(box[1], 0.0)
    return max(0.0, w) * max(0.0, h)


def photo_side_needed(input_size: int, frame_scale: float = DEFAULT_FRAME_SCALE) -> int:
    """The shorter photo side that loses nothing for face finding and cropping: the smallest face the
    full pass looks for still gets a crop of `input_size` px, and a 4:3 photo still gets the full pass's
    640 px. A larger photo may be decoded smaller (`training.imaging.load_reduced`) down to this side."""
    smallest_crop = _FULL.min_fraction / frame_scale  # crop side / shorter photo side, smallest face
    return max(int(np.ceil(input_size / smallest_crop)), _FULL.side * 3 // 4)


def crop_face(image, box: FaceBox, frame_scale: float = DEFAULT_FRAME_SCALE) -> Image.Image:
    """A square around `box` with side `max(w, h) / frame_scale`, edge-replicated where it leaves the image."""
    if not frame_scale > 0:
        raise ValueError(f"frame_scale must be positive, got {frame_scale!r}")
    if isinstance(image, Image.Image):
        image = to_rgb(image)
        width, height = image.size
    else:
        image = rgb_array(image)
        height, width = image.shape[:2]
    if height == 0 or width == 0:
        raise ValueError("cannot crop an empty image")
    side = max(1, round(max(box.w, box.h) / frame_scale))
    left = round(box.x + box.w / 2 - side / 2)
    top = round(box.y + box.h / 2 - side / 2)
    if isinstance(image, Image.Image) and left >= 0 and top >= 0 and left + side <= width and top + side <= height:
        return image.crop((left, top, left + side, top + side))  # inside the image: no array copy of the photo
    rgb = np.asarray(image)
    # The border is replicated for the part of the square outside the image: a face near the edge keeps
    # its place in the frame instead of being shifted or squeezed. Slicing plus a replicated border is
    # ~10x faster than the index clamping below, which gives the same pixels and is kept for a box that
    # lies wholly outside the image (any box gives a valid crop of the requested size).
    x0, y0, x1, y1 = max(0, left), max(0, top), min(width, left + side), min(height, top + side)
    if x1 > x0 and y1 > y0:
        inner = rgb[y0:y1, x0:x1]
        pads = (y0 - top, top + side - y1, x0 - left, left + side - x1)
        if any(pads):
            inner = cv2.copyMakeBorder(inner, *pads, cv2.BORDER_REPLICATE)
        return Image.fromarray(np.ascontiguousarray(inner))
    rows = np.clip(np.arange(top, top + side), 0, height - 1)
    cols = np.clip(np.arange(left, left + side), 0, width - 1)
    return Image.fromarray(np.ascontiguousarray(rgb[np.ix_(rows, cols)]))


def frame_scale_of(framing: dict | None) -> float:
    """The crop scale a checkpoint's `framing` asks for (the LFW-calibrated default when it names none)."""
    return float((framing or {}).get("frame_scale") or DEFAULT_FRAME_SCALE)


MAX_FACE_ASPECT = 4.0  # no photo of a face is 4 times longer than it is wide


def cannot_hold_a_face(width: int, height: int) -> str:
    """Why an image in which no face was found could not show one at all ('' when it could): smaller than
    the detector's 24 px window, or a strip. A model's answer on such an image is noise, never a finding."""
    short, long = sorted((int(width), int(height)))
    if short < _HAAR_WINDOW:
        return f"at {width}×{height} px the image is too small to hold a face"
    if long > MAX_FACE_ASPECT * short:
        return f"at {width}×{height} px the image is too thin to hold a face"
    return ""


def find_and_crop(image, frame_scale: float = DEFAULT_FRAME_SCALE, assume_crop: bool = False) -> FaceCrop:
    """Frame the main face (`prominence`) like a training photo; the whole image (flagged) when there is none.

    Never raises because of the photo (tiny, blank, odd mode); only a missing detector file raises.
    """
    whole = image if isinstance(image, Image.Image) else Image.fromarray(rgb_array(image))
    whole = to_rgb(whole)
    if assume_crop:
        return FaceCrop(whole, None, 0, False, "treated as a face crop")
    try:
        boxes = detect_faces(whole)
    except cv2.error as exc:
        return FaceCrop(whole, None, 0, True, f"face detection failed ({exc.err}); used the whole image")
    if not boxes:
        return FaceCrop(whole, None, 0, True, "no face found; used the whole image")
    note = "face found" if len(boxes) == 1 else f"{len(boxes)} faces found; used the main one"
    return FaceCrop(crop_face(whole, boxes[0], frame_scale), boxes[0], len(boxes), False, note, finder="haar")


def measure_frame_scale(paths, raw_pass: str | None = None) -> dict:
    """Median face box side / frame side over face-centred frames (how DEFAULT_FRAME_SCALE was found).

    raw_pass "coarse" or "full": that pass alone, its boxes as the cascade gives them (how each pass's
    gain was found). None: `detect_faces` as the app runs it (should give DEFAULT_FRAME_SCALE back).
    """
    if raw_pass is not None and raw_pass not in _PASSES:
        raise ValueError(f"raw_pass must be one of {sorted(_PASSES)} or None, got {raw_pass!r}")
    ratios, offsets = [], []
    count = 0
    for _path, image, _reason in iter_images(paths):
        if image is None:
            continue
        count += 1
        if raw_pass is None:
            boxes = detect_faces(image)
        else:
            gray = _gray(image)
            boxes = _boxes(_run_pass(gray, _PASSES[raw_pass], calibrated=False), *gray.shape)
        if boxes:
            box, side = boxes[0], min(image.size)
            ratios.append(max(box.w, box.h) / side)
            offsets.append(((box.x + box.w / 2 - image.width / 2) / side,
                            (box.y + box.h / 2 - image.height / 2) / side))
    if not ratios:
        return {"frame_scale": None, "images": count, "measured": 0}
    return {
        "frame_scale": round(statistics.median(ratios), 4),
        "images": count,
        "measured": len(ratios),
        "quartiles": [round(q, 4) for q in statistics.quantiles(ratios, n=4)] if len(ratios) > 1 else None,
        "median_centre_offset": [round(statistics.median(o[i] for o in offsets), 4) for i in (0, 1)],
    }


def _gray(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image).convert("L"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        return arr if arr.dtype == np.uint8 else np.clip(arr, 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb_array(arr), cv2.COLOR_RGB2GRAY)
