"""Face verification without Qt: score a pair, re-score a distorted probe, sweep distortions, search a gallery.

The decision is `probability >= threshold`, computed outside the model so a threshold change never
needs a new model call.

Which face of a group photo: `score_pair` finds every face of both photos (`FacePart.faces`, the main
one first) and compares the main ones unless given `reference_face` / `probe_face`, a box (x, y, w, h) the user
picked among them. The distortion preview, the sweep and the gallery search take the same box for the
probe and, in a distorted copy where faces are found again, use the face that overlaps it most.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from faceapp.core.embedding_cache import EmbeddingCache
from faceapp.core.framing import box_tuple, decode_side, find_face, find_faces, find_main_faces
from training import distortions
from training.faces import box_iou, cannot_hold_a_face
from training.imaging import iter_images, list_images

Box = tuple[int, int, int, int]  # x, y, w, h in the photo's pixels


@dataclass
class FacePart:
    """The crop the matcher compared, plus what face finding said about it."""

    crop: Image.Image
    faces_found: int
    fallback: bool
    box: Box | None
    note: str
    unfit: str = ""  # why no face can be in this image (too small or too thin), when none was found
    faces: tuple[Box, ...] = ()  # every face found, the main one first (score_pair only)


@dataclass
class PairScore:
    probability: float
    reference: FacePart
    probe: FacePart
    reference_embedding: np.ndarray  # reused to re-score distorted probes without embedding it again


@dataclass
class DistortedScore:
    condition: str | None
    severity: int
    probability: float
    image: Image.Image  # the distorted probe
    probe: FacePart


@dataclass(frozen=True)
class SweepPoint:
    condition: str
    severity: int
    probability: float
    fallback: bool


@dataclass(frozen=True)
class GalleryMatch:
    """One identity's result: `probability` scores the probe against the identity's template (the mean of
    its photos' embeddings, `FaceMatcher.template`); `best_path` is its single photo closest to the probe."""

    identity: str
    probability: float
    best_path: Path
    images: int


@dataclass(frozen=True)
class GalleryUnreadable:
    """An identity's photos that could not be read, each with its reason (yielded beside its match, if any)."""

    identity: str
    files: tuple[tuple[Path, str], ...]


MATCH, NO_MATCH, UNCERTAIN = "MATCH", "NO MATCH", "UNCERTAIN"
DEFAULT_MARGIN = 0.05  # scores this close to the threshold are too close to call


def decide(probability: float, threshold: float) -> bool:
    return probability >= threshold


def verdict(probability: float, threshold: float, margin: float = DEFAULT_MARGIN, unfit: str = "") -> str:
    """MATCH at or above threshold + margin, NO MATCH below threshold - margin, UNCERTAIN between them
    (too close to call) or when a photo cannot show a face at all (`unfit`)."""
    if unfit:
        return UNCERTAIN
    if probability >= threshold + margin:
        return MATCH
    return NO_MATCH if probability < threshold - margin else UNCERTAIN


def gallery_verdict(probabilities, threshold: float, margin: float = DEFAULT_MARGIN) -> str:
    """A gallery search's decision, the Gallery view's rule: MATCH only when exactly one identity comes
    within `margin` of the threshold and clears it by the margin; UNCERTAIN when that one is too close to
    call, or when several come that close (a stranger's look-alikes: compare them by eye); NO MATCH when
    none does."""
    near = [p for p in probabilities if decide(p, threshold - margin)]
    if len(near) != 1:
        return UNCERTAIN if near else NO_MATCH
    return verdict(near[0], threshold, margin)


def face_part(image: Image.Image, framing, assume_crop: bool = False, face: Box | None = None,
              every: bool = False) -> FacePart:
    """The crop the matcher compares: the main face (exactly what the benchmarks and tagging crop), or
    with `face` the found face that overlaps that box most (`pick_face`). `every` (or `face`) also finds
    every face, small ones too, and lists them in `faces` for a face picker."""
    if face is None:
        part = _part(image, find_face(image, framing, assume_crop=assume_crop), ())
        if every:
            part.faces = face_boxes(image, framing, assume_crop)
        return part
    found = find_faces(image, framing, assume_crop=assume_crop)
    boxes = _boxes(found)
    chosen = pick_face(boxes, face)
    part = _part(image, found[chosen] if boxes else found[0], boxes)
    if len(boxes) > 1:
        part.note = f"face {chosen + 1} of {len(boxes)}" + (" (the main one)" if chosen == 0 else "")
    return part


def face_boxes(image: Image.Image, framing, assume_crop: bool = False) -> tuple[Box, ...]:
    """Every face's box (x, y, w, h), the main one first: what a face is picked from."""
    return _boxes(find_faces(image, framing, assume_crop=assume_crop))


def _boxes(found) -> tuple[Box, ...]:
    return tuple(box_tuple(f.box) for f in found if f.box is not None)


def _part(image: Image.Image, found, boxes: tuple) -> FacePart:
    unfit = cannot_hold_a_face(*image.size) if found.box is None else ""
    note = f"{found.note}; {unfit}" if unfit else found.note or ""
    return FacePart(found.image, int(found.faces_found), bool(found.fallback), box_tuple(found.box), note, unfit,
                    boxes)


def pick_face(boxes: tuple[Box, ...], wanted: Box) -> int:
    """The index of the box that overlaps `wanted` most (intersection over union); with no overlap at all,
    the one whose centre is nearest. 0 when there are no boxes."""
    if not boxes:
        return 0

    def distance(box: Box) -> float:
        dx = box[0] + box[2] / 2 - wanted[0] - wanted[2] / 2
        dy = box[1] + box[3] / 2 - wanted[1] - wanted[3] / 2
        return dx * dx + dy * dy

    best = max(range(len(boxes)), key=lambda i: box_iou(boxes[i], wanted))
    return best if box_iou(boxes[best], wanted) > 0 else min(range(len(boxes)), key=lambda i: distance(boxes[i]))


def _score(matcher, reference: np.ndarray, probes: np.ndarray) -> np.ndarray:
    references = np.repeat(np.asarray(reference).reshape(1, -1), len(probes), axis=0)
    return np.asarray(matcher.score_embeddings(references, probes), dtype=float).reshape(-1)


def score_pair(matcher, reference: Image.Image, probe: Image.Image, assume_crop: bool = False,
               reference_face: Box | None = None, probe_face: Box | None = None) -> PairScore:
    """Score the main faces, or the faces picked by box; both parts list every face found (`faces`)."""
    ref_part = face_part(reference, matcher.framing, assume_crop, reference_face, every=True)
    probe_part = face_part(probe, matcher.framing, assume_crop, probe_face, every=True)
    embeddings = matcher.embed([ref_part.crop, probe_part.crop])
    probability = float(_score(matcher, embeddings[0], embeddings[1:2])[0])
    return PairScore(probability, ref_part, probe_part, np.asarray(embeddings[0]))


def reference_embedding(matcher, reference: Image.Image, assume_crop: bool = False,
                        face: Box | None = None) -> np.ndarray:
    return np.asarray(matcher.embed([face_part(reference, matcher.framing, assume_crop, face).crop]))[0]


def score_distorted(matcher, reference_emb: np.ndarray, probe: Image.Image, condition: str | None,
                    severity: int = distortions.DEFAULT_SEVERITY, seed: int = 0,
                    assume_crop: bool = False, probe_face: Box | None = None) -> DistortedScore:
    """Distort the whole probe photo (as a camera would), then find the face again and score it."""
    distorted = probe if not condition else distortions.apply(probe, condition, severity=severity, seed=seed)
    part = face_part(distorted, matcher.framing, assume_crop, probe_face)
    probability = float(_score(matcher, reference_emb, matcher.embed([part.crop]))[0])
    return DistortedScore(condition, severity, probability, distorted, part)


def sweep(matcher, reference: Image.Image, probe: Image.Image, conditions=None, severities=None,
          seed: int = 0, assume_crop: bool = False, reference_face: Box | None = None,
          probe_face: Box | None = None) -> Iterator[SweepPoint]:
    """Score the pair under every condition x severity; one model call per condition."""
    conditions = tuple(conditions or distortions.CONDITIONS)
    severities = tuple(severities or distortions.SEVERITIES)
    ref_emb = reference_embedding(matcher, reference, assume_crop, reference_face)
    for condition in conditions:
        parts = [face_part(distortions.apply(probe, condition, severity=s, seed=seed), matcher.framing, assume_crop,
                           probe_face) for s in severities]
        scores = _score(matcher, ref_emb, matcher.embed([p.crop for p in parts]))
        for severity, part, probability in zip(severities, parts, scores):
            yield SweepPoint(condition, severity, float(probability), part.fallback)


def gallery_identities(root) -> dict[str, list[Path]]:
    """Identity name -> image files: one sub-folder per identity (with every photo below it, however
    deep); loose files are their own identity."""
    root = Path(root)
    gallery: dict[str, list[Path]] = {}
    for path in list_images(root, recursive=True):
        rel = path.relative_to(root)
        identity = rel.parts[0] if len(rel.parts) > 1 else path.stem
        gallery.setdefault(identity, []).append(path)
    return gallery


def gallery_search(matcher, probe: Image.Image, gallery: dict[str, list[Path]], assume_crop: bool = False,
                   batch_size: int = 32, cache: EmbeddingCache | None = None, probe_face: Box | None = None
                   ) -> Iterator[GalleryMatch | GalleryUnreadable]:
    """Yield a `GalleryMatch` per identity, then, if some of its files could not be read, a
    `GalleryUnreadable` that lists them; an identity with no readable photo gets only that. Identities
    are scored by template, not by their best photo: that ranks better and does not favour people with
    many photos. With a `cache`, photos embedded by an earlier search (same file, matcher and crop
    setting) are not read or embedded again."""
    probe_emb = reference_embedding(matcher, probe, assume_crop, probe_face)
    min_side = decode_side(matcher.framing, matcher.input_size)  # camera JPEGs: decode smaller
    if cache is not None:
        cache.bind(matcher, assume_crop)
    for identity, paths in gallery.items():
        known: dict[Path, np.ndarray] = {}
        todo: list[tuple[Path, tuple | None]] = []
        unreadable: list[tuple[Path, str]] = []
        for path in paths:
            key, embedding = cache.lookup(path) if cache is not None else (None, None)
            if embedding is None:
                todo.append((path, key))
            else:
                known[path] = embedding
        for start in range(0, len(todo), batch_size):
            chunk = dict(todo[start:start + batch_size])
            loaded = []
            for path, image, reason in iter_images(list(chunk), min_side):
                if image is None:
                    unreadable.append((path, reason))
                else:
                    loaded.append((path, image))
            if not loaded:
                continue
            faces = find_main_faces([img for _, img in loaded], matcher.framing, assume_crop)  # one batch
            embeddings = matcher.embed([face.image for face in faces])
            for (path, _), embedding in zip(loaded, embeddings):
                known[path] = embedding
                if cache is not None:
                    cache.put(chunk[path], embedding)
        found = [p for p in paths if p in known]  # in the gallery's order, cached or not: the same ties
        if found:
            embeddings = np.stack([known[p] for p in found])
            closest = int(np.argmax(_score(matcher, probe_emb, embeddings)))
            score = float(_score(matcher, probe_emb, matcher.template(embeddings))[0])
            yield GalleryMatch(identity, score, found[closest], len(paths))
        if unreadable:
            yield GalleryUnreadable(identity, tuple(unreadable))
