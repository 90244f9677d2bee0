"""Face finding (OpenCV Haar cascade) and framing: square crops that match the training photos.

The models are trained on LFW deep-funneled style frames (250x250, face in the middle). A photo from
the app is reframed the same way: detect the largest face, then cut a square around it whose side is
`box side / frame_scale`. `DEFAULT_FRAME_SCALE` is measured on LFW itself (see its comment), so cropping
a detected face out of an LFW frame gives back about that frame. Checkpoints store
`framing = {"detector": "haar", "frame_scale": DEFAULT_FRAME_SCALE}`.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from training.imaging import iter_images, to_rgb

CASCADE_FILE = "haarcascade_frontalface_default.xml"
CASCADE_ENV = "FACEAPP_HAAR_CASCADE"

# Median (Haar box side / 250) over LFW deep-funneled frames, measured with this module's own detector:
#   python -c "import glob; from training.faces import measure_frame_scale;
#              print(measure_frame_scale(sorted(glob.glob('LFW_DIR/*/*.jpg'))[:200]))"
# first 200 frames: median 0.464 (quartiles 0.440 / 0.488), a face in 199 of 200, median box centre
# offset (0.0, 0.0); 500 frames spread over all 11,817: median 0.464 (quartiles 0.448 / 0.484).
# So a Haar box is ~46 % of an LFW frame side, centred: the crop needs no vertical shift.
DEFAULT_FRAME_SCALE = 0.464
HAAR_TO_FRAME = DEFAULT_FRAME_SCALE  # the same number, under the name that says what it measures

_DETECT_MAX_SIDE = 640  # detection on a downscaled copy: Haar cost grows with the pixel count
_COARSE_SIDE = 150  # the first, cheap pass runs on a copy with this shorter side (see detect_faces)
_COARSE_MIN_FRACTION = 0.30  # ...and looks only for faces at least this share of that side
_COARSE_SCALE_STEP = 1.15  # ...trying window sizes this factor apart
_MIN_FACE_FRACTION = 0.12  # smaller faces are mostly false hits, and scanning their scales costs ~35 % of the time
_HAAR_WINDOW = 24  # the cascade's training window: nothing smaller can be detected

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
    """What `find_and_crop` hands to a model, plus what the app shows about how it was obtained."""

    image: Image.Image
    box: FaceBox | None
    faces_found: int
    fallback: bool
    note: str


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
            raise FaceDetectorError(f"OpenCV {cv2.__version__} has no Haar face detector; install opencv-python-headless<5")
        path = cascade_path()
        classifier = cv2.CascadeClassifier(str(path))
        if classifier.empty():
            raise FaceDetectorError(f"face detector file {path} could not be loaded")
        _local.classifier = classifier
    return classifier


def detect_faces(image) -> list[FaceBox]:
    """Faces in `image` (PIL or uint8 RGB/gray array), largest first, in the image's own pixels.

    Coarse to fine: a first pass on a copy whose shorter side is `_COARSE_SIDE` px looks only for large
    faces (at least `_COARSE_MIN_FRACTION` of that side: portraits, face photos), which skips the many
    small scales that make up most of Haar's cost. Only when it finds none does a full pass
    (`_DETECT_MAX_SIDE`) look again, down to `_MIN_FACE_FRACTION`. Any face the first pass skips for
    being small is smaller than the one it found, so "largest face" holds.
    On 500 LFW frames (every 23rd, one core) this takes 4.0 ms a photo against 15.2 ms for one full
    pass (step 1.1, down to 12 %), finds a face in 496 (full pass: 495), and puts the median box at
    0.464 of the frame side like the full pass (quartiles 0.448-0.488 and 0.448-0.484). A step of 1.1
    in the first pass took 5.2 ms (median 0.460); 1.2 took 3.4 ms (median 0.468).
    """
    gray = _gray(image)
    height, width = gray.shape
    if min(height, width) < _HAAR_WINDOW:
        return []
    coarse = min(1.0, _COARSE_SIDE / min(height, width))
    fine = min(1.0, _DETECT_MAX_SIDE / max(height, width))
    found = _detect_at(gray, coarse, _COARSE_MIN_FRACTION, _COARSE_SCALE_STEP)
    if not len(found):
        found = _detect_at(gray, fine, _MIN_FACE_FRACTION)
    boxes = []
    for x, y, w, h in found:
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(width, round(x + w)), min(height, round(y + h))
        if x1 > x0 and y1 > y0:
            boxes.append(FaceBox(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return sorted(boxes, key=lambda b: (-b.area, b.y, b.x))


def _detect_at(gray: np.ndarray, scale: float, min_fraction: float, step: float = 1.1) -> np.ndarray:
    """Haar boxes (N x 4, float, in `gray`'s pixels) of faces at least `min_fraction` of the shorter
    side, found on a copy resized by `scale` (<= 1), trying window sizes `step` apart."""
    height, width = gray.shape
    small = gray
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    # Equalising makes the cascade far less sensitive to dark, bright or hazy photos.
    small = cv2.equalizeHist(small)
    min_side = max(_HAAR_WINDOW, round(min_fraction * min(small.shape)))
    if min(small.shape) < min_side:
        return np.zeros((0, 4))
    found = _classifier().detectMultiScale(small, scaleFactor=step, minNeighbors=5, minSize=(min_side, min_side))
    return np.asarray(found, dtype=np.float64).reshape(-1, 4) / scale


def crop_face(image, box: FaceBox, frame_scale: float = DEFAULT_FRAME_SCALE) -> Image.Image:
    """A square around `box` with side `max(w, h) / frame_scale`, edge-replicated where it leaves the image."""
    if not frame_scale > 0:
        raise ValueError(f"frame_scale must be positive, got {frame_scale!r}")
    if isinstance(image, Image.Image):
        image = to_rgb(image)
        width, height = image.size
    else:
        image = _rgb_array(image)
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


def find_and_crop(image, frame_scale: float = DEFAULT_FRAME_SCALE, assume_crop: bool = False) -> FaceCrop:
    """Frame the largest face like a training photo; the whole image (flagged) when there is none.

    Never raises because of the photo (tiny, blank, odd mode); only a missing detector file raises.
    """
    whole = image if isinstance(image, Image.Image) else Image.fromarray(_rgb_array(image))
    whole = to_rgb(whole)
    if assume_crop:
        return FaceCrop(whole, None, 0, False, "treated as a face crop")
    try:
        boxes = detect_faces(whole)
    except cv2.error as exc:
        return FaceCrop(whole, None, 0, True, f"face detection failed ({exc.err}); used the whole image")
    if not boxes:
        return FaceCrop(whole, None, 0, True, "no face found; used the whole image")
    note = "face found" if len(boxes) == 1 else f"{len(boxes)} faces found; used the largest"
    return FaceCrop(crop_face(whole, boxes[0], frame_scale), boxes[0], len(boxes), False, note)


def measure_frame_scale(paths) -> dict:
    """Median Haar box side / frame side over face-centred frames (how DEFAULT_FRAME_SCALE was found)."""
    ratios, offsets = [], []
    count = 0
    for _path, image, _reason in iter_images(paths):
        if image is None:
            continue
        count += 1
        boxes = detect_faces(image)
        if boxes:
            box, side = boxes[0], min(image.size)
            ratios.append(max(box.w, box.h) / side)
            offsets.append(((box.x + box.w / 2 - image.width / 2) / side, (box.y + box.h / 2 - image.height / 2) / side))
    if not ratios:
        return {"frame_scale": None, "images": count, "measured": 0}
    return {
        "frame_scale": round(statistics.median(ratios), 4),
        "images": count,
        "measured": len(ratios),
        "quartiles": [round(q, 4) for q in statistics.quantiles(ratios, n=4)] if len(ratios) > 1 else None,
        "median_centre_offset": [round(statistics.median(o[i] for o in offsets), 4) for i in (0, 1)],
    }


def _rgb_array(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be a PIL image or an HxW / HxWx3 array, got shape {arr.shape}")
    return arr


def _gray(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image).convert("L"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        return arr if arr.dtype == np.uint8 else np.clip(arr, 0, 255).astype(np.uint8)
    return cv2.cvtColor(_rgb_array(arr), cv2.COLOR_RGB2GRAY)
