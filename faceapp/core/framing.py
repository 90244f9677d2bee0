"""Crop photos the way the active model saw faces in training (checkpoint `framing` -> `training.framing`).

The checkpoint's framing block picks the finder (Haar, or BlazeFace with or without eye alignment) and
the scale; every function here takes that block (a dict, as `classifier.framing` / `matcher.framing`
hold it; None means Haar at the LFW default) and never raises because of a photo.

For the pages: `find_face` gives the main face (what Tag and Verify use by default; `find_main_faces`
does it for a model batch of photos at once, cheaper with BlazeFace); `find_faces`
gives every face of a group photo, the main one first, each a `training.faces.FaceCrop` with its `box`
(x, y, w, h in the image's pixels), `finder`, `score` and `keypoints` (BlazeFace only; None for Haar),
the crop to hand to the model, and `faces_found`; a photo without a face gives one whole-image item
with `fallback` set. A face picker shows the boxes and hands the chosen item's `image` to the model.
"""

from __future__ import annotations

from PIL import Image

from training import faces
from training.framing import as_framing


def find_face(image: Image.Image, framing: dict | None, assume_crop: bool = False):
    """The face crop the model should see (`training.faces.FaceCrop`); never raises for "no face"."""
    return as_framing(framing).find_and_crop(image, assume_crop=assume_crop)


def find_main_faces(images: list, framing: dict | None, assume_crop: bool = False) -> list:
    """`find_face` of each image, the same crops; BlazeFace framings run the network once for all of them."""
    return as_framing(framing).find_and_crop_many(images, assume_crop=assume_crop)


def find_every_faces(images: list, framing: dict | None, assume_crop: bool = False) -> list[list]:
    """`find_faces` of each image, the same crops; BlazeFace framings run each pass once for all of them."""
    return as_framing(framing).every_face_many(images, assume_crop=assume_crop)


def finds_in_batches(framing: dict | None) -> bool:
    """Whether `find_main_faces` / `find_every_faces` on many photos cost less than photo by photo (BlazeFace)."""
    return as_framing(framing).finds_in_batches


def find_faces(image: Image.Image, framing: dict | None, assume_crop: bool = False) -> list:
    """Every face of the photo, the main one first, each framed for the model (`FaceCrop`s); at least one
    item: the whole image, flagged (`fallback`), when there is no face."""
    return as_framing(framing).every_face(image, assume_crop=assume_crop)


def crop_box(image: Image.Image, box: tuple[int, int, int, int] | None, framing: dict | None,
             keypoints=None, finder: str = "") -> Image.Image:
    """Re-crop a known face box (used to rebuild thumbnails without re-running detection); with the
    result's `keypoints` an aligned framing gives exactly the model's crop, without them the box's square."""
    if box is None:
        return image
    return as_framing(framing).crop(image, faces.FaceBox(*box), finder=finder, keypoints=keypoints)


def decode_side(framing: dict | None, crop_size: int) -> int:
    """How small a large photo may be decoded (`training.imaging.load_reduced`, shorter side) and still
    give `crop_size`-px face crops under this framing, with face finding at its usual resolution."""
    return as_framing(framing).decode_side(crop_size)


def box_tuple(box) -> tuple[int, int, int, int] | None:
    """A `FaceBox` (or any x/y/w/h object or 4-sequence) as a plain int tuple that crosses threads."""
    if box is None:
        return None
    if all(hasattr(box, k) for k in ("x", "y", "w", "h")):
        return (int(box.x), int(box.y), int(box.w), int(box.h))
    return tuple(int(v) for v in box)  # type: ignore[return-value]
