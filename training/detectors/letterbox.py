"""Square network inputs cut from images of any size, and the way back to the image's own pixels.

A detector with a fixed square input sees an image through a `View`: a square region of the image
(which may reach outside it: letterboxing) resized to `side` px. Points found in the input map back with
`View.to_image`. The whole image letterboxed to 128 px and to a bigger canvas for small faces are both
views, so every pass of a detector maps its boxes back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class View:
    """The square image region [left, left + size) x [top, top + size) shown at `side` x `side` px."""

    left: float
    top: float
    size: float
    side: int

    @property
    def scale(self) -> float:
        """Input pixels per image pixel."""
        return self.side / self.size

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Input-pixel (x, y) pairs (any leading shape, last axis 2) -> image pixels."""
        return np.asarray(points, dtype=np.float32) / self.scale + np.array([self.left, self.top], np.float32)

    def to_input(self, points: np.ndarray) -> np.ndarray:
        """Image-pixel (x, y) pairs -> input pixels (the inverse of `to_image`)."""
        return (np.asarray(points, dtype=np.float32) - np.array([self.left, self.top], np.float32)) * self.scale


def letterbox_view(width: int, height: int, side: int) -> View:
    """The whole image, centred in a square of its longer side (the rest is padding), shown at `side` px."""
    size = max(width, height)
    return View((width - size) / 2, (height - size) / 2, float(size), side)


def render(rgb: np.ndarray, view: View) -> np.ndarray:
    """The view's `side` x `side` x 3 uint8 input: the region resized, black outside the image.

    Shrinking uses area averaging (anything coarser aliases the fine texture that tells a face from
    noise); enlarging uses bilinear. The affine warp does crop, pad and resize in one pass.
    """
    if view.scale < 1.0:
        return _shrink(rgb, view)
    scale = view.scale
    # Pixel i of the input has its centre at i + 0.5, which is image point (i + 0.5) / scale + left.
    shift_x = -view.left * scale + 0.5 * scale - 0.5
    shift_y = -view.top * scale + 0.5 * scale - 0.5
    matrix = np.array([[scale, 0, shift_x], [0, scale, shift_y]], dtype=np.float64)
    return cv2.warpAffine(rgb, matrix, (view.side, view.side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def _shrink(rgb: np.ndarray, view: View) -> np.ndarray:
    """Shrinking: crop the part of the region inside the image, area-resize it, paste it on black."""
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(round(view.left))), max(0, int(round(view.top)))
    x1 = min(width, int(round(view.left + view.size)))
    y1 = min(height, int(round(view.top + view.size)))
    out = np.zeros((view.side, view.side, 3), np.uint8)
    if x1 <= x0 or y1 <= y0:
        return out
    ox0, oy0 = view.to_input(np.array([x0, y0]))
    ox1, oy1 = view.to_input(np.array([x1, y1]))
    ox0, oy0 = int(round(ox0)), int(round(oy0))
    ox1, oy1 = min(view.side, int(round(ox1))), min(view.side, int(round(oy1)))
    if ox1 > ox0 and oy1 > oy0:
        out[oy0:oy1, ox0:ox1] = cv2.resize(rgb[y0:y1, x0:x1], (ox1 - ox0, oy1 - oy0), interpolation=cv2.INTER_AREA)
    return out
