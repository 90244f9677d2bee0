"""Worker-side job functions: call the Qt-free core and turn pixels into QImages before they cross threads.

Each function runs on a pool thread (never touches widgets) and returns or yields plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QImage

from faceapp.core import verify
from faceapp.core.framing import crop_box, decode_side
from faceapp.core.tag_preparation import face_thumbnail
from faceapp.core.tagging import TagOptions, TagResult, sort_into_folders, tag_folder
from faceapp.ui.qimage import array_to_qimage, pil_to_qimage
from training.imaging import load_image, load_reduced, scan_images

PREVIEW_SIDE = 360


@dataclass(frozen=True)
class JobStarted:
    total: int
    skipped: str = ""  # what the listing left out ("2 hidden files skipped"), said at the end


# ---------------------------------------------------------------- tagging

def tag_job(folder, models, options: TagOptions):
    """List the folder, load the model, then yield `JobStarted` and one (TagResult, QImage|None) per image."""
    scan = scan_images(folder, recursive=options.recursive)
    paths = scan.paths
    yield JobStarted(len(paths), scan.skipped_text())
    classifier = models.gender()
    for result in tag_folder(paths, classifier, options):
        thumbnail = array_to_qimage(result.thumbnail) if result.thumbnail is not None else None
        result.thumbnail = None  # the table keeps no pixels; the bounded cache holds the QImage
        yield result, thumbnail


def thumbnail_job(row: int, result: TagResult, models, size: int):
    """Rebuild one evicted thumbnail from the file and its stored face box (in the photo's own pixels;
    a large JPEG is decoded smaller, as when it was tagged, and the box scaled to match)."""
    try:
        classifier = models.gender()
        framing, input_size = classifier.framing, classifier.input_size
        image, factor = load_reduced(result.path, decode_side(framing, max(size, input_size)))
        box = result.face_box and tuple(round(v / factor) for v in result.face_box)
        keypoints = result.face_keypoints and tuple((x / factor, y / factor) for x, y in result.face_keypoints)
        crop = crop_box(image, box, framing, keypoints=keypoints, finder=result.face_finder)
        return row, array_to_qimage(face_thumbnail(crop, input_size, size))
    except Exception:  # noqa: BLE001 - a thumbnail is decoration; the row keeps its data
        return row, None


def sort_job(results: list[TagResult], out_dir, uncertain_below: float, move: bool):
    yield JobStarted(len(results))
    yield from sort_into_folders(results, out_dir, uncertain_below=uncertain_below, move=move)


# ---------------------------------------------------------------- verification

@dataclass
class LoadedImage:
    slot: str
    image: object  # PIL RGB image, kept for scoring
    preview: QImage
    source: str


def load_job(slot: str, path) -> LoadedImage:
    image = load_image(path)
    return LoadedImage(slot, image, pil_to_qimage(image, PREVIEW_SIDE), str(path))


@dataclass
class PairView:
    probability: float
    threshold: float
    reference_crop: QImage
    probe_crop: QImage
    reference_note: str
    probe_note: str
    reference_embedding: object  # numpy vector
    unfit: str = ""  # "reference: <why>" / "probe: <why>": a photo that cannot show a face, so no verdict
    reference_faces: tuple = ()  # every face found in each photo, the main one first, and the one compared
    probe_faces: tuple = ()
    reference_box: tuple | None = None
    probe_box: tuple | None = None


def _note(part: verify.FacePart) -> str:
    """The core's note as a sentence ("Face found.", "No face found; used the whole image.")."""
    note = part.note or ("no face found; used the whole image" if part.fallback else "face found")
    return note[:1].upper() + note[1:].rstrip(".") + "."


def pair_job(models, reference, probe, assume_crop: bool, reference_face=None, probe_face=None) -> PairView:
    matcher = models.matcher()
    score = verify.score_pair(matcher, reference, probe, assume_crop=assume_crop, reference_face=reference_face,
                              probe_face=probe_face)
    unfit = "; ".join(f"the {side} photo: {part.unfit}" for side, part in
                      (("reference", score.reference), ("probe", score.probe)) if part.unfit)
    return PairView(score.probability, float(matcher.threshold),
                    pil_to_qimage(score.reference.crop, 200), pil_to_qimage(score.probe.crop, 200),
                    _note(score.reference), _note(score.probe), score.reference_embedding, unfit,
                    score.reference.faces, score.probe.faces, score.reference.box, score.probe.box)


@dataclass
class DistortedView:
    condition: str | None
    severity: int
    probability: float
    image: QImage
    crop: QImage
    note: str


def distorted_job(models, reference, probe, condition, severity: int, assume_crop: bool,
                  ref_emb=None, reference_face=None, probe_face=None) -> DistortedView:
    matcher = models.matcher()
    if ref_emb is None:
        ref_emb = verify.reference_embedding(matcher, reference, assume_crop, reference_face)
    result = verify.score_distorted(matcher, ref_emb, probe, condition, severity, assume_crop=assume_crop,
                                    probe_face=probe_face)
    return DistortedView(condition, severity, result.probability, pil_to_qimage(result.image, PREVIEW_SIDE),
                         pil_to_qimage(result.probe.crop, 200), _note(result.probe))


def sweep_job(models, reference, probe, assume_crop: bool, reference_face=None, probe_face=None):
    yield from verify.sweep(models.matcher(), reference, probe, assume_crop=assume_crop,
                            reference_face=reference_face, probe_face=probe_face)


def gallery_job(models, probe, folder, assume_crop: bool, cache=None, probe_face=None):
    gallery = verify.gallery_identities(folder)
    yield JobStarted(len(gallery))
    yield from verify.gallery_search(models.matcher(), probe, gallery, assume_crop=assume_crop, cache=cache,
                                     probe_face=probe_face)
