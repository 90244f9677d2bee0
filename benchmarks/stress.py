"""Looks beyond the protocol's 8 distortions that a model should shrug off.

A model can learn a shortcut from its training recipe instead of the face: when only the minority class
was augmented with grayscale and erased patches, the gender model called most grayscale or partly
covered men "female". `python -m benchmarks.run DATA --stress` adds these rows to G1 (whole photo) and
V1 (the probe only), so such a shortcut shows up as one class's recall collapsing, and a matcher that
never saw black-and-white photos as a drop in V1.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

GRAY_FILL = (124, 116, 104)  # the ImageNet mean colour: what an erased patch looks like to the model


def grayscale(image: Image.Image, seed: int = 0) -> Image.Image:
    """A black-and-white photo (three equal channels)."""
    return image.convert("L").convert("RGB")


def occluded(image: Image.Image, seed: int = 0) -> Image.Image:
    """A flat grey square (a quarter of the shorter side) at a seeded place in the central 60 % of the
    photo, where the face is in protocol images: a hand, a sticker, a mask."""
    rgb = np.array(image.convert("RGB"))
    height, width = rgb.shape[:2]
    side = max(1, min(height, width) // 4)
    rng = np.random.default_rng(seed)
    y = int(rng.integers(int(0.2 * height), max(int(0.2 * height) + 1, int(0.8 * height) - side + 1)))
    x = int(rng.integers(int(0.2 * width), max(int(0.2 * width) + 1, int(0.8 * width) - side + 1)))
    rgb[y:y + side, x:x + side] = GRAY_FILL
    return Image.fromarray(rgb)


STRESS = {"grayscale": grayscale, "occluded": occluded}
