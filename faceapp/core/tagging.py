"""Tag photos by gender, one streamed `TagResult` per image, then export them or sort files into folders.

Qt-free: the app wraps these generators in a worker; every `yield` is a progress report and a cancel
point. Bad files and missed faces never stop a run: they become results with a reason.

`TagOptions.faces` says what a photo yields: "largest" (the default) one result for its largest face,
"all" one result per face of a group photo, largest first, each with its `face_index` (0 = the largest)
and `face_box`; the results of one photo share its `index` and come one after the other. A photo
without a face gives one result (whole image, flagged) either way. Exports carry face_index and box.
"""

from __future__ import annotations

import csv
import filecmp
import glob
import json
import logging
import os
import shutil
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from faceapp import __version__
from faceapp.core.framing import decode_side, find_face, find_faces
from training.atomic import atomic_open
from training.calibration import FALLBACK_UNCERTAIN_BELOW
from training.faces import cannot_hold_a_face
from training.imaging import ImageLoadError, load_reduced

log = logging.getLogger(__name__)

UNCERTAIN = "uncertain"
ERROR = "error"
FACES = ("largest", "all")


@dataclass(frozen=True)
class TagOptions:
    recursive: bool = False
    assume_crop: bool = False  # "images are already face crops": skip detection
    uncertain_below: float = FALLBACK_UNCERTAIN_BELOW  # confidence under this level is labelled "uncertain"
    batch_size: int = 32
    thumbnail_size: int = 0  # > 0: attach a small RGB array of the face crop to each result
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))  # threads reading + finding faces
    reduced_decode: bool = True  # large JPEGs decoded at 1/2-1/8 size where crops keep full resolution
    faces: str = "largest"  # "largest": one result per photo; "all": one per face (group photos)

    def __post_init__(self):
        if self.faces not in FACES:
            raise ValueError(f"faces must be one of {', '.join(FACES)}, got {self.faces!r}")


@dataclass
class TagResult:
    """One image's (or, with `TagOptions.faces == "all"`, one face's) outcome. `error` set means it could
    not be tagged (the reason is one sentence). `face_box` (x, y, w, h), `face_keypoints` ((x, y) in
    `training.detectors.detection.KEYPOINT_NAMES` order; BlazeFace framings only) are in the photo's own
    pixels; `face_index` numbers the faces of one photo from 0, the largest; `face_finder` names what
    found the face ("haar", "blazeface"; "" for the whole image)."""

    index: int
    path: Path
    predicted: str | None = None
    confidence: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)
    faces_found: int = 0
    face_fallback: bool = False  # no face found: the whole image was classified
    face_box: tuple[int, int, int, int] | None = None
    face_index: int = 0
    face_score: float | None = None
    face_keypoints: tuple[tuple[float, float], ...] | None = None
    face_finder: str = ""
    note: str = ""
    error: str | None = None
    unfit: str = ""  # no face found, and the image is too small or too thin to show one: never a class
    thumbnail: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def label(self, uncertain_below: float) -> str:
        """The label shown to the user: the prediction, "uncertain" below the level, or "error"."""
        if self.error is not None:
            return ERROR
        if self.confidence < uncertain_below or self.unfit:
            return UNCERTAIN
        return self.predicted or UNCERTAIN


def box_tuple(box) -> tuple[int, int, int, int] | None:
    """A `FaceBox` (or any x/y/w/h object or 4-sequence) as a plain int tuple that crosses threads."""
    if box is None:
        return None
    if all(hasattr(box, k) for k in ("x", "y", "w", "h")):
        return (int(box.x), int(box.y), int(box.w), int(box.h))
    return tuple(int(v) for v in box)  # type: ignore[return-value]


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


def tag_folder(paths: Iterable, classifier, options: TagOptions | None = None) -> Iterator[TagResult]:
    """Yield one `TagResult` per path (per face with `faces="all"`): bad files at once, good ones after each
    model batch (`index`, the photo's place in `paths`, keeps the order).

    Reading, face finding, resizing to the model's input and thumbnails run on `options.workers`
    threads a bounded distance ahead of the model (PIL, OpenCV and torch release the GIL), so
    preparing batch k+1 overlaps predicting batch k.
    Large JPEGs are decoded at a reduced scale that still gives the model full-resolution crops; face
    boxes are reported in the photo's own pixels.
    """
    if options is None:
        options = TagOptions()
    batch: list[TagResult] = []
    crops: list[np.ndarray] = []
    for prepared in _prepared(paths, classifier.framing, classifier.input_size, options):
        for result, crop in prepared:  # one item per photo, or per face with options.faces == "all"
            if crop is None:
                yield result
                continue
            batch.append(result)
            crops.append(crop)
        if len(batch) >= options.batch_size:  # a photo's faces stay in one batch
            yield from _predict(batch, crops, classifier)
            batch, crops = [], []
    if batch:
        yield from _predict(batch, crops, classifier)


def _prepared(paths: Iterable, framing, input_size: int,
              options: TagOptions) -> Iterator[list[tuple[TagResult, np.ndarray | None]]]:
    """Per path in order, a list of (result, model input): one item, or one per face with `faces="all"`;
    None means it could not be prepared (result.error says why)."""
    min_side = decode_side(framing, input_size) if options.reduced_decode else None

    def work(item):
        index, path = item
        try:
            image, factor = load_reduced(path, min_side)
        except ImageLoadError as exc:
            return [(TagResult(index, Path(path), error=exc.reason), None)]
        return _prepare(index, Path(path), image, framing, input_size, options, factor)

    numbered = enumerate(paths)
    if options.workers <= 1:
        yield from map(work, numbered)
        return
    lookahead = 2 * options.batch_size + options.workers  # bounded memory: at most this many images in flight
    executor = ThreadPoolExecutor(options.workers, thread_name_prefix="faceapp-prepare")
    try:
        pending = deque(executor.submit(work, item) for item in islice(numbered, lookahead))
        while pending:
            done = pending.popleft().result()
            for item in islice(numbered, 1):
                pending.append(executor.submit(work, item))
            yield done
    finally:  # also on cancel (generator closed): drop what was queued, let running items finish
        executor.shutdown(wait=False, cancel_futures=True)


def _prepare(index: int, path: Path, image: Image.Image, framing, input_size: int, options: TagOptions,
             factor: float = 1.0) -> list[tuple[TagResult, np.ndarray | None]]:
    """Find and crop the face (or every face) and resize each for the model (thumbnails are made from that
    small copy); `factor` maps `image`'s pixels to the photo's own (it may be decoded smaller)."""
    try:
        if options.faces == "all":
            found = find_faces(image, framing, assume_crop=options.assume_crop)
        else:
            found = [find_face(image, framing, assume_crop=options.assume_crop)]
    except Exception as exc:  # noqa: BLE001 - a detector crash on one odd image must not end the run
        log.warning("face finding failed on %s", path, exc_info=True)
        result = TagResult(index, path, face_fallback=True,
                           note=f"face finding failed ({type(exc).__name__}); the whole image was used")
        return [_model_input(result, image, input_size, options)]
    return [_model_input(_face_result(index, path, image, face, number, factor), face.image, input_size, options)
            for number, face in enumerate(found)]


def _face_result(index: int, path: Path, image: Image.Image, found, number: int, factor: float) -> TagResult:
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


def _model_input(result: TagResult, crop: Image.Image, input_size: int,
                 options: TagOptions) -> tuple[TagResult, np.ndarray | None]:
    try:
        from training.transforms import model_input  # torchvision: imported by the worker, not at start-up

        resized = model_input(crop, input_size)
        if options.thumbnail_size > 0:
            result.thumbnail = face_thumbnail(crop, input_size, options.thumbnail_size, resized)
    except Exception as exc:  # noqa: BLE001 - e.g. MemoryError on an absurd aspect ratio: this file only
        log.warning("could not prepare %s for the model", result.path, exc_info=True)
        result.error = f"could not be prepared for the model ({type(exc).__name__}: {exc})"
        return result, None
    return result, resized


def _predict(batch: list[TagResult], crops: list[np.ndarray], classifier) -> Iterator[TagResult]:
    for result, prediction in zip(batch, classifier.predict(crops, batch_size=len(crops))):
        result.predicted = prediction.label
        result.confidence = float(prediction.probability)
        result.probabilities = {str(k): float(v) for k, v in prediction.probabilities.items()}
        yield result


# ---------------------------------------------------------------- summaries and export

def summarize(results: Iterable[TagResult], uncertain_below: float) -> Counter:
    """Counts per shown label, plus "total" and "no_face" (whole image used)."""
    counts: Counter = Counter()
    for result in results:
        counts[result.label(uncertain_below)] += 1
        counts["total"] += 1
        if result.ok and result.face_fallback:
            counts["no_face"] += 1
    return counts


def result_record(result: TagResult, uncertain_below: float) -> dict:
    """A plain dict of one result (JSON shape; the CSV flattens it)."""
    box = result.face_box
    return {
        "path": str(result.path),
        "label": result.label(uncertain_below),
        "predicted": result.predicted,
        "confidence": round(result.confidence, 6),
        "probabilities": {k: round(v, 6) for k, v in result.probabilities.items()},
        "faces_found": result.faces_found,
        "face_fallback": result.face_fallback,
        "face_index": result.face_index,
        "face_box": dict(zip(("x", "y", "w", "h"), box)) if box else None,
        "face_score": None if result.face_score is None else round(result.face_score, 4),
        "face_finder": result.face_finder,
        "face_keypoints": None if result.face_keypoints is None else [[round(x, 1), round(y, 1)]
                                                                        for x, y in result.face_keypoints],
        "note": result.note,
        "error": result.error,
    }


def csv_columns(classes) -> list[str]:
    """The CSV export's header for these classes (one probability column each); `faceapp-tag` writes it too."""
    return ["path", "label", "predicted", "confidence", *[f"p_{c}" for c in classes],
            "faces_found", "face_fallback", "face_index", "face_x", "face_y", "face_w", "face_h", "face_score",
            "face_finder", "note", "error"]


def csv_record(result: TagResult, uncertain_below: float, classes) -> dict:
    """`result_record` flattened to `csv_columns(classes)`: the app's export and `faceapp-tag` write the same rows."""
    record = result_record(result, uncertain_below)
    record.pop("face_keypoints")  # the JSON export's; one CSV cell per number would be 12 columns
    box = record.pop("face_box") or {}
    probabilities = record.pop("probabilities")
    record.update({f"p_{c}": probabilities.get(c, "") for c in classes})
    record.update({f"face_{k}": box.get(k, "") for k in ("x", "y", "w", "h")})
    record["predicted"] = record["predicted"] or ""
    record["error"] = record["error"] or ""
    record["face_score"] = "" if record["face_score"] is None else record["face_score"]
    return record


def export_csv(results: Iterable[TagResult], path, *, uncertain_below: float) -> Path:
    results = list(results)
    classes = sorted({c for r in results for c in r.probabilities})
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_columns(classes))
        writer.writeheader()
        for result in results:
            writer.writerow(csv_record(result, uncertain_below, classes))
    return Path(path)


def export_json(results: Iterable[TagResult], path, *, uncertain_below: float, model: dict | None = None) -> Path:
    results = list(results)
    document = {
        "app": "faceapp",
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": model or {},
        "uncertain_below": uncertain_below,
        "summary": dict(summarize(results, uncertain_below)),
        "results": [result_record(r, uncertain_below) for r in results],
    }
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
    return Path(path)


# ---------------------------------------------------------------- sorting into folders

@dataclass(frozen=True)
class SortOutcome:
    source: Path
    destination: Path | None
    action: str  # "copied" | "moved" | "skipped" | "failed"
    reason: str = ""


def unique_destination(folder: Path, name: str) -> Path:
    """Reserve a new file name in `folder` (`photo.jpg`, `photo (1).jpg`, ...) by creating it exclusively."""
    stem, suffix = os.path.splitext(name)
    for n in range(100_000):
        candidate = folder / (name if n == 0 else f"{stem} ({n}){suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            continue
    raise OSError(f"no free file name for {name} in {folder}")


def identical_copy(folder: Path, source: Path) -> Path | None:
    """A file in `folder` under the source's name (or a numbered variant of it, `photo (1).jpg`) with the
    same bytes: the photo was sorted there before."""
    stem, suffix = os.path.splitext(source.name)
    size = source.stat().st_size
    candidates = [folder / source.name, *folder.glob(f"{glob.escape(stem)} (*){glob.escape(suffix)}")]
    for candidate in candidates:
        try:
            if (candidate.is_file() and candidate.stat().st_size == size
                    and filecmp.cmp(source, candidate, shallow=False)):
                return candidate
        except OSError:
            continue
    return None


def sort_into_folders(results: Iterable[TagResult], out_dir, *, uncertain_below: float,
                      move: bool = False) -> Iterator[SortOutcome]:
    """Copy (or, only when `move`, move) each tagged file into `out_dir/<label>/`; never overwrite.

    One outcome per result. Each file is finished before the next yield, so stopping between yields
    leaves every destination complete and every source in place (or moved, for a move). A photo tagged
    face by face (`TagOptions.faces == "all"`) goes where its largest face's label says, once: its other
    faces' rows are skipped, saying so.
    """
    out_dir = Path(out_dir)
    for result in results:
        if result.face_index > 0:
            yield SortOutcome(result.path, None, "skipped", "a photo goes where its largest face's label says")
            continue
        if not result.ok:
            yield SortOutcome(result.path, None, "skipped", f"not tagged: {result.error}")
            continue
        if not result.path.is_file():
            yield SortOutcome(result.path, None, "skipped", "the file is no longer there")
            continue
        folder = out_dir / result.label(uncertain_below)
        destination = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            same = identical_copy(folder, result.path)
            if same is not None:  # sorted before: no second copy; a move leaves the original in place
                yield SortOutcome(result.path, same, "skipped", f"an identical copy is already there ({same.name})")
                continue
            destination = unique_destination(folder, result.path.name)
            if move:
                shutil.move(str(result.path), str(destination))
            else:
                shutil.copy2(result.path, destination)
            yield SortOutcome(result.path, destination, "moved" if move else "copied")
        except OSError as exc:
            log.warning("could not sort %s", result.path, exc_info=True)
            if destination is not None and result.path.exists():
                destination.unlink(missing_ok=True)  # drop the reservation / partial copy
            yield SortOutcome(result.path, None, "failed", exc.strerror or str(exc))


def write_sort_report(outcomes: Iterable[SortOutcome], path) -> Path:
    with atomic_open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "destination", "action", "reason"])
        for o in outcomes:
            writer.writerow([str(o.source), str(o.destination or ""), o.action, o.reason])
    return Path(path)
