"""What a landmark face detector returns: a box, a confidence and keypoints, in the image's own pixels.

Kept apart from any one detector so that alignment, every-face tagging and the benchmarks can take
detections from whichever finder a checkpoint's framing names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.faces import FaceBox, prominence

# BlazeFace's order. "Right" is the subject's right: the right eye is the one on the image's left.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True)
class Detection:
    """One face. `box` is (x0, y0, x1, y1) and `keypoints` are (x, y) pairs in KEYPOINT_NAMES order, all
    floats in full-image pixels (sub-pixel, not clipped: a face at the edge may reach outside); `score` is
    the detector's confidence in [0, 1]."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def keypoint(self, name: str) -> tuple[float, float]:
        """One landmark by name (see KEYPOINT_NAMES)."""
        return self.keypoints[KEYPOINT_NAMES.index(name)]

    def face_box(self, width: int, height: int) -> FaceBox:
        """The box rounded and clipped to a `width` x `height` image, as training.faces crops it."""
        x0, y0 = max(0, round(self.box[0])), max(0, round(self.box[1]))
        x1, y1 = min(width, round(self.box[2])), min(height, round(self.box[3]))
        return FaceBox(int(x0), int(y0), int(max(0, x1 - x0)), int(max(0, y1 - y0)))


def detections_from_arrays(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                           width: int, height: int) -> list[Detection]:
    """Detections from (N x 4, N x K x 2, N) arrays in image pixels, the most prominent first as Haar's are
    (`training.faces.prominence`: the area inside the image, weighed down by the distance from its centre).

    The area counts only the part inside the image: a bystander cut by the frame's edge has a box that
    reaches outside, and its full size would put it before the face in the middle of the photo."""
    found = [Detection(tuple(float(v) for v in b), float(s), tuple((float(x), float(y)) for x, y in k))
             for b, k, s in zip(boxes, keypoints, scores)]
    return sorted(found, key=lambda d: (-prominence(d.box, width, height), d.box[1], d.box[0]))
