"""Photos made ready for the gender model, a model batch at a time: read, find the face (or every face),
crop it as the model's framing says, resize it to the model's input, and make the table's thumbnail.

`prepared_batches` takes the photos in batches of `TagOptions.batch_size`, in order, and prepares each
batch on a background thread while the caller runs the model on the one before (PIL, OpenCV and torch
release the GIL). The per-photo steps run on `TagOptions.workers` threads. With a BlazeFace framing the
face finding of a batch is one network batch per pass between the reading and the cropping
(`training.framing.Framing.find_and_crop_many`, `every_face_many`): about half the detector's CPU a photo.
Every failure stays with its photo: a result with a reason, never an exception out of the generator.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from faceapp.core.framing import (
    box_tuple,
    decode_side,
    find_every_faces,
    find_face,
    find_faces,
    find_main_faces,
    finds_in_batches,
)
from faceapp.core.tag_result import TagOptions, TagResult
from training.faces import cannot_hold_a_face
from training.imaging import ImageLoadError, load_reduced

log = logging.getLogger(__name__)

Prepared = tuple[TagResult, "np.ndarray | None"]  # the result so far, and the model input (None: not tagged)
BATCHES_AHEAD = 2  # batches prepared (or queued) ahead of the model: bounded memory


def prepared_batches(paths: Iterable, framing, input_size: int, options: TagOptions) -> Iterator[list[list[Prepared]]]:
    """Per batch of `options.batch_size` paths, in order, a list with one entry per path: a list of
    (result, model input) pairs, one item or one per face with `faces="all"`. An input of None means the
    photo could not be prepared (`result.error` says why)."""
    preparer = _Preparer(framing, input_size, options)
    numbered = enumerate(paths)
    batches = iter(lambda: list(islice(numbered, options.batch_size)), [])
    if options.workers <= 1:
        for batch in batches:
            yield preparer.batch(batch, map)
        return
    pool = ThreadPoolExecutor(options.workers, thread_name_prefix="faceapp-prepare")
    ahead = ThreadPoolExecutor(1, thread_name_prefix="faceapp-prepare-batch")  # never a pool thread: no deadlock
    try:
        pending = deque(ahead.submit(preparer.batch, b, pool.map) for b in islice(batches, BATCHES_AHEAD))
        while pending:
            done = pending.popleft().result()
            for batch in islice(batches, 1):
                pending.append(ahead.submit(preparer.batch, batch, pool.map))
            yield done
    finally:  # also on cancel (generator closed): drop what was queued, let the running batch finish
        ahead.shutdown(wait=False, cancel_futures=True)
        pool.shutdown(wait=False, cancel_futures=True)


class _Preparer:
    """The steps for one batch of numbered paths; `mapper` runs a per-photo step over the batch (the
    worker pool's `map`, or the built-in one on the caller's thread)."""

    def __init__(self, framing, input_size: int, options: TagOptions):
        self.framing, self.input_size, self.options = framing, input_size, options
        self.min_side = decode_side(framing, input_size) if options.reduced_decode else None
        self.batched_finding = not options.assume_crop and finds_in_batches(framing)

    def batch(self, numbered: list[tuple[int, object]], mapper: Callable) -> list[list[Prepared]]:
        if not self.batched_finding:
            return list(mapper(self.photo, numbered))
        read = list(mapper(self.read, numbered))
        images = [(index, path, image, factor) for index, path, image, factor in read if image is not None]
        found = self.find_batch([image for _, _, image, _ in images])
        framed = iter(mapper(self.frame, images, found))
        return [[(TagResult(index, path, error=factor), None)] if image is None else next(framed)
                for index, path, image, factor in read]

    def photo(self, item: tuple[int, object]) -> list[Prepared]:
        """Every step of one photo (face finding included)."""
        read = index, path, image, reason = self.read(item)
        if image is None:
            return [(TagResult(index, path, error=reason), None)]
        return self.frame(read, self.find_one(image))

    def read(self, item: tuple[int, object]) -> tuple[int, Path, Image.Image | None, float | str]:
        """(index, path, image, factor from its pixels to the photo's), or image None and the reason."""
        index, path = item
        try:
            image, factor = load_reduced(path, self.min_side)
        except ImageLoadError as exc:
            return index, Path(path), None, exc.reason
        return index, Path(path), image, factor

    def find_batch(self, images: list[Image.Image]) -> list:
        """Each image's faces (a list: the main one, or every face), found in one batch; photo by photo
        when the batch fails, so only a photo that fails alone gets the whole-image answer."""
        try:
            if self.options.faces == "all":
                return find_every_faces(images, self.framing)
            return [[face] for face in find_main_faces(images, self.framing)]
        except Exception:  # noqa: BLE001 - retried photo by photo below, each with its own outcome
            log.warning("face finding failed on a batch of %d photos; finding them one by one", len(images),
                        exc_info=True)
        return [self.find_one(image) for image in images]

    def find_one(self, image: Image.Image):
        """One photo's faces (the main one, or every face), or the exception finding them raised: a detector
        crash on one odd image must not end the run."""
        assume_crop = self.options.assume_crop
        try:
            if self.options.faces == "all":
                return find_faces(image, self.framing, assume_crop=assume_crop)
            return [find_face(image, self.framing, assume_crop=assume_crop)]
        except Exception as exc:  # noqa: BLE001 - this photo only
            return exc

    def frame(self, image_item: tuple[int, Path, Image.Image, float], faces) -> list[Prepared]:
        """The found faces (or the exception that finding them raised) as model inputs."""
        index, path, image, factor = image_item
        if isinstance(faces, Exception):
            return [self.finding_failed(index, path, image, faces)]
        return [self.model_input(face_result(index, path, image, face, number, factor), face.image)
                for number, face in enumerate(faces)]

    def finding_failed(self, index: int, path: Path, image: Image.Image, exc: Exception) -> Prepared:
        log.warning("face finding failed on %s", path, exc_info=exc)
        result = TagResult(index, path, face_fallback=True,
                           note=f"face finding failed ({type(exc).__name__}); the whole image was used")
        return self.model_input(result, image)

    def model_input(self, result: TagResult, crop: Image.Image) -> Prepared:
        """The crop resized for the model (and its thumbnail); an error result when that fails."""
        try:
            from training.transforms import model_input  # torchvision: imported by the worker, not at start-up

            resized = model_input(crop, self.input_size)
            if self.options.thumbnail_size > 0:
                result.thumbnail = face_thumbnail(crop, self.input_size, self.options.thumbnail_size, resized)
        except Exception as exc:  # noqa: BLE001 - e.g. MemoryError on an absurd aspect ratio: this file only
            log.warning("could not prepare %s for the model", result.path, exc_info=True)
            result.error = f"could not be prepared for the model ({type(exc).__name__}: {exc})"
            return result, None
        return result, resized


def face_result(index: int, path: Path, image: Image.Image, found, number: int, factor: float) -> TagResult:
    """The result fields of one found face (`training.faces.FaceCrop`), in the photo's own pixels."""
    result = TagResult(index, path, faces_found=int(found.faces_found), face_fallback=bool(found.fallback),
                       face_index=number, note=found.note or "", face_finder=found.finder or "")
    box = box_tuple(found.box)
    result.face_box = box if box is None or factor == 1.0 else tuple(round(v * factor) for v in box)
    if found.score is not None:
        result.face_score = float(found.score)
    if found.keypoints is not None:
        result.face_keypoints = tuple((float(x) * factor, float(y) * factor) for x, y in found.keypoints)
    if found.box is None:
        width, height = (round(v * factor) for v in image.size)
        result.unfit = cannot_hold_a_face(width, height)
        result.note = f"{result.note}; {result.unfit}" if result.unfit else result.note
    return result


def make_thumbnail(image: Image.Image, size: int) -> np.ndarray:
    thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR)
    return np.ascontiguousarray(np.asarray(thumb.convert("RGB"), dtype=np.uint8))


def face_thumbnail(crop: Image.Image, input_size: int, size: int, resized: np.ndarray | None = None) -> np.ndarray:
    """The table's thumbnail of a face crop: what the model saw (`resized`, its input; computed when not
    given) shrunk by area averaging, whenever that copy is large enough. About a tenth of the work of
    shrinking the full-size crop with PIL."""
    if size >= input_size:
        return make_thumbnail(crop, size)
    if resized is None:
        from training.transforms import model_input  # torchvision: imported by the worker, not at start-up

        resized = model_input(crop, input_size)
    return cv2.resize(resized, (size, size), interpolation=cv2.INTER_AREA)
