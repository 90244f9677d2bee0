"""A checkpoint's `framing` block as an object: which finder looks for faces, and how a found face becomes
the square crop the model sees. Training, the benchmarks and the app all crop through here, so a model
sees in use the crops it was trained on.

Two finders (the block's "detector"):

- "haar" (every checkpoint before issue 18, and any block without a detector): exactly
  `training.faces.find_and_crop(image, frame_scale)`: the main Haar box (`prominence`), a square of side
  `box / frame_scale` around it.
- "blazeface": BlazeFace (`training.detectors`) finds the faces. With "align", the crop is a similarity
  transform (rotation, uniform scale, translation) fixed by the two eye keypoints that puts the eyes at
  `align["eyes"]` of the output square (fractions of its side; the subject's right eye, on the image's
  left, first). Without "align", the square around the box, at the same frame_scale convention as Haar:
  the box is first made a Haar box (raised by BOX_CENTRE_DROP of its side, scaled by HAAR_TO_FRAME /
  BOX_TO_FRAME, all measured on LFW frames), so frame_scale 0.464 reproduces an LFW frame whichever
  finder found the face.
  If BlazeFace finds nothing, the Haar cascade looks (its box cropped at frame_scale); if that finds
  nothing either, the whole image is used, flagged, as before. Never raises because of a photo.

`frame_scale` keeps one meaning for every finder: a Haar-convention box over the crop side (0.464: an
LFW frame; the matcher's 0.7 is tighter). An aligned framing's eyes go with its frame_scale
(`default_eyes`): `at_scale` moves both together, which is how a face bank cropped looser than the
model's framing is centre-cropped back to it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from training import faces
from training.faces import DEFAULT_FRAME_SCALE, HAAR_TO_FRAME, FaceBox, FaceCrop
from training.imaging import rgb_array, to_rgb

HAAR = "haar"
BLAZEFACE = "blazeface"
DETECTORS = (HAAR, BLAZEFACE)
# The finders by name, as the benchmarks' --framing and the wizard offer them: each finder, and BlazeFace
# aligned on the eyes (`finder_name`, `finder_choice`).
ALIGNED = "-aligned"
NAMES = (HAAR, BLAZEFACE, f"{BLAZEFACE}{ALIGNED}")


def finder_name(detector: str, align: bool) -> str:
    """The name in NAMES of a finder and alignment choice (TrainConfig's face_detector and align_faces)."""
    return f"{detector}{ALIGNED}" if align else detector


def finder_choice(name: str) -> tuple[str, bool]:
    """(detector, align) of a name in NAMES: the inverse of `finder_name`."""
    return name.removesuffix(ALIGNED), name.endswith(ALIGNED)

# Where BlazeFace puts the eyes in an LFW deep-funneled frame: the medians over 300 clean V1 probe frames
# (`python -m benchmarks.detectors DATA --sections framing`) are (0.414, 0.459) and (0.590, 0.453); made
# level and symmetric about the frame's centre line, as an alignment target should be. These are the eyes
# of a crop at frame_scale HAAR_TO_FRAME (an LFW frame); other scales spread them about the centre.
LFW_EYES = ((0.412, 0.456), (0.588, 0.456))
# Eye distance over the BlazeFace box side on those frames (0.176 / 0.423). An aligned crop is refused
# (the box crop is used) when a face's eyes are less than half or more than twice that apart: a face in
# profile, or keypoints that went wrong, would otherwise blow the crop up or shrink it to the eyes.
EYES_TO_BOX = 0.416
EYES_RANGE = (0.5, 2.0)


class FramingError(ValueError):
    """A framing block this version cannot follow (unknown detector, bad numbers): a checkpoint problem."""


def default_eyes(frame_scale: float = DEFAULT_FRAME_SCALE) -> tuple[tuple[float, float], tuple[float, float]]:
    """The eye positions of an aligned crop at `frame_scale` (LFW_EYES spread by frame_scale / 0.464)."""
    k = frame_scale / HAAR_TO_FRAME
    return tuple((round(0.5 + (x - 0.5) * k, 4), round(0.5 + (y - 0.5) * k, 4)) for x, y in LFW_EYES)


@dataclass(frozen=True)
class Framing:
    """How faces are found and cropped; `from_dict` reads a checkpoint's block, `to_dict` writes one."""

    detector: str = HAAR
    frame_scale: float = DEFAULT_FRAME_SCALE
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None  # aligned when set (blazeface only)

    def __post_init__(self):
        if self.detector not in DETECTORS:
            raise FramingError(f"the framing names face finder {self.detector!r}; this version knows "
                               f"{', '.join(DETECTORS)}")
        if not (isinstance(self.frame_scale, (int, float)) and math.isfinite(self.frame_scale)
                and self.frame_scale > 0):
            raise FramingError(f"the framing's frame_scale must be a positive number, got {self.frame_scale!r}")
        if self.eyes is not None:
            if self.detector != BLAZEFACE:
                raise FramingError("only the blazeface finder gives the eye keypoints an aligned framing needs")
            try:
                (xr, yr), (xl, yl) = self.eyes
                values = [float(v) for v in (xr, yr, xl, yl)]
            except (TypeError, ValueError):
                raise FramingError(f"align eyes must be two [x, y] pairs, got {self.eyes!r}") from None
            if not all(math.isfinite(v) for v in values) or not values[0] < values[2]:
                raise FramingError("align eyes must be finite, the subject's right eye (the image's left) "
                                   f"first and left of the other, got {self.eyes!r}")
            object.__setattr__(self, "eyes", ((values[0], values[1]), (values[2], values[3])))
        object.__setattr__(self, "frame_scale", float(self.frame_scale))

    # ------------------------------------------------------------ reading and writing the block

    @classmethod
    def from_dict(cls, framing: dict | None) -> "Framing":
        """The framing a checkpoint's block asks for; no block, or one without a detector or frame_scale
        (old checkpoints), means Haar at the LFW-calibrated default."""
        block = dict(framing or {})
        align = block.get("align")
        eyes = None
        if align:
            if not isinstance(align, dict) or "eyes" not in align:
                raise FramingError(f"the framing's align must be {{'eyes': [[x, y], [x, y]]}}, got {align!r}")
            eyes = align["eyes"]
        return cls(str(block.get("detector") or HAAR), float(block.get("frame_scale") or DEFAULT_FRAME_SCALE),
                   eyes)

    @classmethod
    def blazeface(cls, frame_scale: float = DEFAULT_FRAME_SCALE, align: bool = True) -> "Framing":
        """BlazeFace framing at `frame_scale`, aligned to `default_eyes(frame_scale)` unless `align` is off."""
        return cls(BLAZEFACE, frame_scale, default_eyes(frame_scale) if align else None)

    @classmethod
    def chosen(cls, detector: str, frame_scale: float = DEFAULT_FRAME_SCALE, align: bool = False) -> "Framing":
        """The framing a user picks by finder and alignment (training options, the benchmarks' options)."""
        if detector == BLAZEFACE:
            return cls.blazeface(frame_scale, align=align)
        if align:
            raise FramingError("aligning faces needs the eye keypoints of the blazeface finder")
        return cls(detector, frame_scale)

    @classmethod
    def named(cls, name: str, frame_scale: float = DEFAULT_FRAME_SCALE) -> "Framing":
        """One of NAMES ("haar", "blazeface", "blazeface-aligned") at `frame_scale`."""
        detector, align = finder_choice(name)
        return cls.chosen(detector, frame_scale, align=align)

    def to_dict(self) -> dict:
        block = {"detector": self.detector, "frame_scale": self.frame_scale}
        if self.eyes is not None:
            block["align"] = {"eyes": [list(self.eyes[0]), list(self.eyes[1])]}
        return block

    @property
    def aligned(self) -> bool:
        return self.eyes is not None

    def at_scale(self, frame_scale: float) -> "Framing":
        """The same framing, looser or tighter: eyes move about the centre with the scale."""
        if self.eyes is None:
            return Framing(self.detector, frame_scale)
        k = frame_scale / self.frame_scale
        eyes = tuple((round(0.5 + (x - 0.5) * k, 4), round(0.5 + (y - 0.5) * k, 4)) for x, y in self.eyes)
        return Framing(self.detector, frame_scale, eyes)

    def describe(self) -> str:
        if self.detector == HAAR:
            return f"Haar face box at frame scale {self.frame_scale:g}"
        how = "eyes aligned" if self.aligned else "face box"
        return f"BlazeFace, {how}, frame scale {self.frame_scale:g}"

    # ------------------------------------------------------------ finding and cropping

    def find_and_crop(self, image, assume_crop: bool = False) -> FaceCrop:
        """The main face (`training.faces.prominence`) framed for the model; the whole image, flagged, when no
        face is found."""
        return self.find_and_crop_many([image], assume_crop)[0]

    @property
    def finds_in_batches(self) -> bool:
        """Whether `find_and_crop_many` is cheaper than `find_and_crop` image by image (BlazeFace: one
        network batch), so a caller with many photos should hand them over together."""
        return self.detector == BLAZEFACE

    def find_and_crop_many(self, images, assume_crop: bool = False) -> list[FaceCrop]:
        """`find_and_crop` of each image, the same crops; BlazeFace runs its network once for all of them."""
        if self.detector == HAAR:
            return [faces.find_and_crop(image, self.frame_scale, assume_crop=assume_crop) for image in images]
        wholes = [_whole(image) for image in images]
        if assume_crop:
            return [FaceCrop(whole, None, 0, False, "treated as a face crop") for whole in wholes]
        out = []
        for whole, found in zip(wholes, _blazeface_faces_many(wholes, "auto")):
            if found:
                note = "face found" if len(found) == 1 else f"{len(found)} faces found; used the main one"
                out.append(self._from_detection(whole, found[0], len(found), note))
            else:
                out.append(self._haar_fallback(whole, every=False)[0])
        return out

    def every_face(self, image, assume_crop: bool = False) -> list[FaceCrop]:
        """Every face, the main one first, each framed for the model (`faces_found` is the count on each);
        a one-item list with the whole image, flagged, when there is none. BlazeFace runs both passes
        (small faces of a group photo too); the Haar cascade runs both of its passes."""
        return self.every_face_many([image], assume_crop)[0]

    def every_face_many(self, images, assume_crop: bool = False) -> list[list[FaceCrop]]:
        """`every_face` of each image, the same crops; BlazeFace runs each of its passes once for all of them."""
        wholes = [_whole(image) for image in images]
        if assume_crop:
            return [[FaceCrop(whole, None, 0, False, "treated as a face crop")] for whole in wholes]
        if self.detector == HAAR:
            return [self._haar_every_face(whole) for whole in wholes]
        out = []
        for whole, found in zip(wholes, _blazeface_faces_many(wholes, "always")):
            if found:
                out.append([self._from_detection(whole, d, len(found), _nth(i, len(found)))
                            for i, d in enumerate(found)])
            else:
                out.append(self._haar_fallback(whole, every=True))
        return out

    def _haar_every_face(self, whole: Image.Image) -> list[FaceCrop]:
        try:
            boxes = faces.detect_every_face(whole)
        except cv2.error as exc:
            return [FaceCrop(whole, None, 0, True, f"face detection failed ({exc.err}); used the whole image")]
        if not boxes:
            return [FaceCrop(whole, None, 0, True, "no face found; used the whole image")]
        return [FaceCrop(faces.crop_face(whole, b, self.frame_scale), b, len(boxes), False, _nth(i, len(boxes)),
                         finder=HAAR) for i, b in enumerate(boxes)]

    def crop(self, image, box: FaceBox, finder: str = "", keypoints=None) -> Image.Image:
        """Re-crop a face found before (e.g. a thumbnail from the box a result reports): aligned when the
        framing is and the keypoints are given, else the square around the box at this framing's scale,
        BlazeFace boxes (`finder` "blazeface", or the framing's finder when not given) scaled to Haar's."""
        finder = finder or self.detector
        if self.aligned and keypoints is not None:
            aligned = self.align(image, keypoints, (box.x, box.y, box.x + box.w, box.y + box.h))
            if aligned is not None:
                return aligned
        if finder == BLAZEFACE:
            box = _centred(box.x, box.y, box.x + box.w, box.y + box.h)
        return faces.crop_face(image, box, self.box_scale(finder))

    def box_scale(self, finder: str) -> float:
        """The `crop_face` scale for a box from `finder`: frame_scale for Haar's calibrated boxes,
        smaller for BlazeFace's tighter ones (same crop for the same face)."""
        from training.detectors.blazeface import BOX_TO_FRAME

        return self.frame_scale * BOX_TO_FRAME / HAAR_TO_FRAME if finder == BLAZEFACE else self.frame_scale

    def align(self, image, keypoints, box=None) -> Image.Image | None:
        """The square crop that puts the eye keypoints at `eyes` (side: the eye distance over the target's,
        so the face keeps its pixels), border replicated; None when the eyes look unusable for `box`."""
        if self.eyes is None:
            raise FramingError("this framing is not aligned (no align eyes)")
        (xr, yr), (xl, yl) = keypoints[0], keypoints[1]
        (tr_x, tr_y), (tl_x, tl_y) = self.eyes
        source = complex(xl - xr, yl - yr)
        target = complex(tl_x - tr_x, tl_y - tr_y)
        if abs(source) < 1.0 or abs(target) <= 0:
            return None
        if box is not None:
            side = max(box[2] - box[0], box[3] - box[1])
            ratio = abs(source) / (EYES_TO_BOX * side) if side > 0 else 0.0
            if not EYES_RANGE[0] <= ratio <= EYES_RANGE[1]:
                return None
        out = max(1, round(abs(source) / abs(target)))
        rotate = target * out / source  # maps source vectors to output ones: rotation, scale about 1
        shift = complex(tr_x * out, tr_y * out) - rotate * complex(xr, yr)
        matrix = np.array([[rotate.real, -rotate.imag, shift.real],
                           [rotate.imag, rotate.real, shift.imag]], dtype=np.float64)
        rgb = rgb_array(image) if not isinstance(image, Image.Image) else np.asarray(to_rgb(image))
        warped = cv2.warpAffine(rgb, matrix, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return Image.fromarray(warped)

    def decode_side(self, crop_size: int) -> int:
        """How small a large photo may be decoded (shorter side) and still give `crop_size`-px crops."""
        return faces.photo_side_needed(crop_size, self.frame_scale)

    def _from_detection(self, whole: Image.Image, detection, count: int, note: str) -> FaceCrop:
        box = detection.face_box(*whole.size)  # clipped to the photo, for reports
        crop = self.align(whole, detection.keypoints, detection.box) if self.aligned else None
        if self.aligned and crop is None:
            note += "; eyes unusable for alignment, cropped by the box"
        aligned = crop is not None
        if crop is None:
            # unclipped, so a face at the edge keeps its place in the crop
            crop = faces.crop_face(whole, _centred(*detection.box), self.box_scale(BLAZEFACE))
        return FaceCrop(crop, box, count, False, note, finder=BLAZEFACE, score=float(detection.score),
                        keypoints=tuple(detection.keypoints), aligned=aligned)

    def _haar_fallback(self, whole: Image.Image, every: bool) -> list[FaceCrop]:
        """BlazeFace found nothing: the Haar cascade's faces at this framing's scale, else the whole image."""
        try:
            boxes = faces.detect_every_face(whole) if every else faces.detect_faces(whole)
        except cv2.error as exc:
            return [FaceCrop(whole, None, 0, True, f"face detection failed ({exc.err}); used the whole image")]
        if not boxes:
            return [FaceCrop(whole, None, 0, True, "no face found; used the whole image")]
        shown = boxes if every else boxes[:1]
        crops = []
        for i, box in enumerate(shown):
            what = _nth(i, len(boxes)) if every else ("face found" if len(boxes) == 1
                                                      else f"{len(boxes)} faces found; used the main one")
            crops.append(FaceCrop(faces.crop_face(whole, box, self.frame_scale), box, len(boxes), False,
                                  f"{what} by the Haar cascade (BlazeFace found none); not aligned", finder=HAAR))
        return crops


def _blazeface_faces_many(wholes: list[Image.Image], small_faces: str) -> list[list]:
    """BlazeFace's faces of each image with a box inside it, the network run once for all; none in an
    image too small to hold a face (it finds faces in a blown-up 1 px image; the Haar cascade's 24 px
    window is the rule elsewhere)."""
    fit = [i for i, whole in enumerate(wholes) if min(whole.size) >= faces.MIN_FACE_SIDE]
    found: list[list] = [[] for _ in wholes]
    if fit:
        many = blazeface_detector().detect_many([wholes[i] for i in fit],
                                                small_faces=None if small_faces == "auto" else small_faces)
        for i, detections in zip(fit, many):
            width, height = wholes[i].size
            found[i] = [d for d in detections if d.face_box(width, height).area > 0]
    return found


def _centred(x0: float, y0: float, x1: float, y1: float) -> FaceBox:
    """A BlazeFace box raised to where Haar's calibrated box is centred (`BOX_CENTRE_DROP`), rounded."""
    from training.detectors.blazeface import BOX_CENTRE_DROP

    side = max(x1 - x0, y1 - y0)
    lift = BOX_CENTRE_DROP * side
    return FaceBox(round(x0), round(y0 - lift), max(1, round(x1 - x0)), max(1, round(y1 - y0)))


def _nth(i: int, count: int) -> str:
    return "face found" if count == 1 else f"face {i + 1} of {count}"


def _whole(image) -> Image.Image:
    whole = image if isinstance(image, Image.Image) else Image.fromarray(rgb_array(image))
    return to_rgb(whole)


_detector = None
_detector_lock = threading.Lock()


def blazeface_detector():
    """The process's one BlazeFace detector (its `detect` is thread-safe), loaded on first use."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                from training.detectors.blazeface import BlazeFaceDetector

                _detector = BlazeFaceDetector()
    return _detector


def as_framing(framing) -> Framing:
    """A `Framing` from a checkpoint block, a Framing, or None (Haar at the default scale)."""
    return framing if isinstance(framing, Framing) else Framing.from_dict(framing)


def find_and_crop_framed(image, framing, assume_crop: bool = False) -> FaceCrop:
    """The main face cropped as the framing block (dict, Framing or None) says; never raises for a photo."""
    return as_framing(framing).find_and_crop(image, assume_crop=assume_crop)


def find_every_face(image, framing, assume_crop: bool = False) -> list[FaceCrop]:
    """Every face of a photo (group photos), the main one first, each cropped as the framing says; at least
    one item (the whole image, flagged, when there is no face)."""
    return as_framing(framing).every_face(image, assume_crop=assume_crop)
