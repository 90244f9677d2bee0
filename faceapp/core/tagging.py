"""Tag photos by gender, one streamed `TagResult` per image, then export them or sort files into folders.

Qt-free: the app wraps these generators in a worker; every `yield` is a progress report and a cancel
point. Bad files and missed faces never stop a run: they become results with a reason.

`TagOptions.faces` says what a photo yields: "main" (the default) one result for its main face,
"all" one result per face of a group photo, the main one first, each with its `face_index` (0 = the main one)
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
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from faceapp import __version__
from faceapp.core.tag_preparation import prepared_batches
from faceapp.core.tag_result import ERROR, FACES, FORMER_FACES, UNCERTAIN, TagOptions, TagResult
from training.atomic import atomic_open

log = logging.getLogger(__name__)

__all__ = ["ERROR", "FACES", "FORMER_FACES", "UNCERTAIN", "SortOutcome", "TagOptions", "TagResult", "csv_columns",
           "csv_record", "export_csv", "export_json", "result_record", "sort_into_folders", "summarize", "tag_folder",
           "write_sort_report"]


def tag_folder(paths: Iterable, classifier, options: TagOptions | None = None) -> Iterator[TagResult]:
    """Yield one `TagResult` per path (per face with `faces="all"`): bad files at once, good ones after each
    model batch (`index`, the photo's place in `paths`, keeps the order).

    Each batch of photos is read, face-found, cropped, resized to the model's input and thumbnailed on
    background threads (`faceapp.core.tag_preparation`) while the model runs on the batch before, so
    preparing batch k+1 overlaps predicting batch k. Large JPEGs are decoded at a reduced scale that
    still gives the model full-resolution crops; face boxes are reported in the photo's own pixels.
    """
    if options is None:
        options = TagOptions()
    batch: list[TagResult] = []
    crops: list[np.ndarray] = []
    for prepared in prepared_batches(paths, classifier.framing, classifier.input_size, options):
        for photo in prepared:
            for result, crop in photo:  # one item per photo, or per face with options.faces == "all"
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
    face by face (`TagOptions.faces == "all"`) goes where its main face's label says, once: its other
    faces' rows are skipped, saying so.
    """
    out_dir = Path(out_dir)
    for result in results:
        if result.face_index > 0:
            yield SortOutcome(result.path, None, "skipped", "a photo goes where its main face's label says")
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
