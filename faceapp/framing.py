"""Crop photos the way the active model saw faces in training (checkpoint `framing` -> `training.faces`)."""

from __future__ import annotations

import inspect
from functools import lru_cache

from PIL import Image

from training import faces

# Keys a checkpoint's framing dict may carry, in order of preference; each is a keyword of
# `find_and_crop`/`crop_face` in some version of the core.
_FRAMING_KEYS = ("frame_scale", "face_fraction")


@lru_cache(maxsize=None)
def _accepted(func) -> frozenset[str]:
    return frozenset(inspect.signature(func).parameters)


def _kwargs(func, framing: dict | None) -> dict:
    framing = framing or {}
    accepted = _accepted(func)
    for key in _FRAMING_KEYS:
        if key in accepted and framing.get(key):
            return {key: float(framing[key])}
    return {}  # the core's default framing


def find_face(image: Image.Image, framing: dict | None, assume_crop: bool = False):
    """The face crop the model should see (`training.faces.FaceCrop`); never raises for "no face"."""
    return faces.find_and_crop(image, assume_crop=assume_crop, **_kwargs(faces.find_and_crop, framing))


def crop_box(image: Image.Image, box: tuple[int, int, int, int] | None, framing: dict | None) -> Image.Image:
    """Re-crop a known face box (used to rebuild thumbnails without re-running detection)."""
    if box is None:
        return image
    return faces.crop_face(image, faces.FaceBox(*box), **_kwargs(faces.crop_face, framing))
