"""Crop photos the way the active model saw faces in training (checkpoint `framing` -> `training.faces`)."""

from __future__ import annotations

from PIL import Image

from training import faces


def find_face(image: Image.Image, framing: dict | None, assume_crop: bool = False):
    """The face crop the model should see (`training.faces.FaceCrop`); never raises for "no face"."""
    return faces.find_and_crop(image, faces.frame_scale_of(framing), assume_crop=assume_crop)


def crop_box(image: Image.Image, box: tuple[int, int, int, int] | None, framing: dict | None) -> Image.Image:
    """Re-crop a known face box (used to rebuild thumbnails without re-running detection)."""
    if box is None:
        return image
    return faces.crop_face(image, faces.FaceBox(*box), faces.frame_scale_of(framing))


def decode_side(framing: dict | None, crop_size: int) -> int:
    """How small a large photo may be decoded (`training.imaging.load_reduced`, shorter side) and still
    give `crop_size`-px face crops under this framing, with face finding at its usual resolution."""
    return faces.photo_side_needed(crop_size, faces.frame_scale_of(framing))
