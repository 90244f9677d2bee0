"""Haar vs BlazeFace, side by side on the same photos: face recall, CPU time, small faces, false faces.

    python -m benchmarks.detectors ../shared/data --json detectors.json
    python -m benchmarks.detectors ../shared/data --probes 300 --g1 0 --severities 1,3,5 --sections recall

Sections (`--sections`, all by default):

* recall: on V1 probe photos (`--probes` rows of verify_test_pairs.csv's 'probe' column, a seeded
  sample; 0 = every row) and G1 photos (FACECOM Task A val, `--g1` of them evenly spread; 0 = all),
  clean and under each distortion (training.distortions, the pair's or photo's own seed) at each of
  `--severities`: the share of photos where a face was found (any face: what decides between a crop
  and the whole-image fallback) and where the largest face is centred (within a quarter of the shorter
  side of the photo's centre: these photos are face-centred frames, so an off-centre largest face is
  a bystander or a false face). CPU ms per photo is each finder's thread CPU time (one thread each).
* groups: `--groups` generated group photos, 1024x768, 4 LFW faces pasted (feathered ellipses) at
  box sides of 6-30 % of the photo's height on a background of LFW frame corners. Recall per face size,
  and detections that match no pasted face (the background holds real face fragments, so these are an
  upper bound on false faces). The photos exist only in memory.
* false: false faces per image on `--non-faces` images without a face: five generated kinds at 640x480
  (noise, smooth noise, stripes and checks, random shapes, gradients; large enough for the fine pass
  of 256 and 384 px) and the four 64 px corners of `--non-faces` / 4 LFW frames,
  which lie outside the face box (the background of a news photo; a bystander's face can be there).
* framing: on clean V1 probe frames, the median largest-box side / frame side of each finder (Haar's
  is calibrated to 0.464, the LFW framing convention) and BlazeFace's median landmarks, for a later
  framing step.
* threshold: how BlazeFace's score threshold trades recall for false faces, measured where the other
  sections do not look (`--probes` photos of the V1 *training* identities, clean and distorted; other
  generated images and those photos' corners): how `MIN_SCORE` was chosen.

Haar is `training.faces.detect_faces`, as the app runs it; BlazeFace is `BlazeFaceDetector` with the
shipped weights (`small_faces="auto"`: the fine pass only when the coarse pass finds nothing). The group
and false-face sections add the ways to find every face: "blazeface-every" (`small_faces="always"`),
"blazeface-every-384" (the same on a 384 px fine canvas) and "blazeface-tiles" (the coarse pass plus
128 px passes on overlapping tiles of half the longer side, instead of the fine pass).

The machine's load average is recorded: CPU times are thread times, which other processes inflate less
than wall time, but a busy machine still slows both finders (caches, memory bandwidth); compare the
two, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout, not installed

from training.detectors.blazeface import FINE_SIDE, MIN_SCORE, BlazeFaceDetector
from training.detectors.detection import detections_from_arrays
from training.detectors.ssd import weighted_nms
from training.distortions import CONDITIONS, apply
from training.faces import detect_faces

SECTIONS = ("recall", "groups", "false", "framing", "threshold")
GROUP_SIZE = (1024, 768)
GROUP_FACE_SIZES = (0.06, 0.08, 0.10, 0.13, 0.17, 0.22, 0.30)  # box side / photo height
CENTRED = 0.25  # the largest face's centre within this share of the shorter side of the photo's centre


@dataclass(frozen=True)
class Face:
    """A finder's face, reduced to what the measures compare: centre and box side, in image pixels."""

    x: float
    y: float
    side: float


@dataclass(frozen=True)
class Photo:
    path: Path
    seed: int


class Finder:
    """A named face finder with a CPU-time meter: call it on an RGB array, get faces largest first."""

    def __init__(self, name: str, find):
        self.name = name
        self._find = find
        self.cpu_seconds = 0.0
        self.calls = 0

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        start = time.thread_time()
        faces = self._find(rgb)
        self.cpu_seconds += time.thread_time() - start
        self.calls += 1
        return faces

    def take_ms(self) -> float:
        """Mean CPU ms per call since the last take, and reset the meter."""
        ms = 1000.0 * self.cpu_seconds / max(1, self.calls)
        self.cpu_seconds, self.calls = 0.0, 0
        return ms


def make_finders(fine_side: int, min_score: float = MIN_SCORE, every: bool = False) -> list[Finder]:
    """Haar as the app runs it and BlazeFace; with `every`, also BlazeFace's ways to find every face: its
    fine pass (small_faces="always"), the same on a 384 px canvas, and overlapping tiles instead."""
    def haar(rgb):
        return [Face(b.x + b.w / 2, b.y + b.h / 2, max(b.w, b.h)) for b in detect_faces(rgb)]

    def blaze(detector):
        return lambda rgb: [Face(*d.centre, max(d.width, d.height)) for d in detector.detect(rgb)]

    settings = {"fine_side": fine_side, "min_score": min_score}
    finders = [Finder("haar", haar), Finder("blazeface", blaze(BlazeFaceDetector(**settings)))]
    if every:
        finders.append(Finder("blazeface-every", blaze(BlazeFaceDetector(small_faces="always", **settings))))
        if fine_side != 384:
            wide = BlazeFaceDetector(small_faces="always", fine_side=384, min_score=min_score)
            finders.append(Finder("blazeface-every-384", blaze(wide)))
        finders.append(Finder("blazeface-tiles", tiled(BlazeFaceDetector(**settings))))
    return finders


def tile_starts(length: int, tile: float, overlap: float = 0.5) -> list[float]:
    """Where tiles of `tile` px start along a side of `length` px: from edge to edge, evenly, neighbours
    overlapping by at least `overlap` of a tile (half a tile: every face up to half a tile wide lies
    wholly inside one); one tile, centred, on a side no longer than a tile."""
    if length <= tile:
        return [(length - tile) / 2]
    count = int(np.ceil((length - tile) / (tile * (1 - overlap)))) + 1
    return [float(v) for v in np.linspace(0, length - tile, count)]


def tiled(detector: BlazeFaceDetector):
    """The tiling alternative to the fine pass: the coarse pass, plus 128 px passes on square tiles of
    half the longer side (3x2 on a 4:3 photo), merged by weighted NMS. Kept here to measure the choice."""
    def find(rgb: np.ndarray) -> list[Face]:
        height, width = rgb.shape[:2]
        found = [(d, 0.0, 0.0) for d in detector.detect_at(rgb, 128)]
        tile = max(width, height) / 2
        for top in tile_starts(height, tile):
            for left in tile_starts(width, tile):
                x0, y0 = max(0, round(left)), max(0, round(top))
                crop = rgb[y0:round(top + tile), x0:round(left + tile)]
                found += [(d, x0, y0) for d in detector.detect_at(crop, 128)]
        if not found:
            return []
        boxes = np.array([[d.box[0] + x, d.box[1] + y, d.box[2] + x, d.box[3] + y] for d, x, y in found], np.float32)
        points = np.array([np.array(d.keypoints) + (x, y) for d, x, y in found], np.float32)
        scores = np.array([d.score for d, _x, _y in found], np.float32)
        merged = detections_from_arrays(*weighted_nms(boxes, points, scores, detector.iou_threshold), width, height)
        return [Face(*d.centre, max(d.width, d.height)) for d in merged]

    return find


# -- photo lists


def v1_probe_photos(data: Path, count: int, seed: int = 0) -> list[Photo]:
    """A seeded sample of `count` rows (0 = all) of the V1 pairs' probe column, with each row's seed."""
    with open(data / "benchmarks" / "verify_test_pairs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    photos = [Photo(data / r["probe"], 1000 + i) for i, r in enumerate(rows)]  # benchmarks.protocols' seeds
    if 0 < count < len(photos):
        keep = np.sort(np.random.default_rng(seed).choice(len(photos), count, replace=False))
        photos = [photos[i] for i in keep]
    return photos


def g1_photos(data: Path, count: int) -> list[Photo]:
    """`count` FACECOM Task A val photos (0 = all), evenly spread over the sorted list."""
    paths = sorted((data / "facecom_taskA" / "val").glob("*/*.jpg"))
    if 0 < count < len(paths):
        paths = [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]
    return [Photo(p, i) for i, p in enumerate(paths)]


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# -- recall under distortions


def variants(severities) -> list[tuple[str, int]]:
    return [("clean", 0)] + [(c, s) for c in CONDITIONS for s in severities]


def centred(faces: list[Face], width: int, height: int) -> bool:
    if not faces:
        return False
    return max(abs(faces[0].x - width / 2), abs(faces[0].y - height / 2)) <= CENTRED * min(width, height)


def recall(photos: list[Photo], finders: list[Finder], severities) -> dict:
    """{variant: {finder: {found, centred, photos, cpu_ms}}} over every photo and variant."""
    counts = {f"{c}/{s}": {f.name: [0, 0] for f in finders} for c, s in variants(severities)}
    cpu = {key: {f.name: 0.0 for f in finders} for key in counts}
    for photo in photos:
        clean = load_rgb(photo.path)
        height, width = clean.shape[:2]
        for condition, severity in variants(severities):
            key = f"{condition}/{severity}"
            image = clean if condition == "clean" else apply(clean, condition, severity, photo.seed)
            for finder in finders:
                faces = finder(image)
                cpu[key][finder.name] += finder.take_ms()
                counts[key][finder.name][0] += bool(faces)
                counts[key][finder.name][1] += centred(faces, width, height)
    n = max(1, len(photos))
    return {key: {name: {"found": 100.0 * c[0] / n, "centred": 100.0 * c[1] / n, "photos": len(photos),
                         "cpu_ms": cpu[key][name] / n} for name, c in row.items()} for key, row in counts.items()}


# -- group photos


def _ellipse_mask(side: int) -> np.ndarray:
    """A feathered ellipse (1 inside, 0 outside) so a pasted face has no square edge to detect."""
    ys, xs = np.mgrid[0:side, 0:side]
    r = np.hypot((xs - side / 2) / (side * 0.42), (ys - side / 2) / (side * 0.48))
    return np.clip((1 - r) * 4, 0, 1)[..., None].astype(np.float32)


def _corner_background(lfw: list[Path], rng: np.random.Generator, size) -> np.ndarray:
    """A 4x3 mosaic of LFW frames' 64 px top corners, enlarged: cluttered, photo-like, no whole face."""
    corners = []
    for _ in range(12):
        corner = load_rgb(lfw[rng.integers(len(lfw))])[:64, :64]
        corners.append(corner[:, ::-1] if rng.random() < 0.5 else corner)
    mosaic = np.concatenate([np.concatenate(corners[r * 4:r * 4 + 4], 1) for r in range(3)], 0)
    return cv2.resize(mosaic, size, interpolation=cv2.INTER_CUBIC).astype(np.float32)


def group_photo(lfw: list[Path], rng: np.random.Generator, faces: int = 4):
    """(RGB array, [Face]) of one generated group photo: LFW faces pasted into cells of a 4x3 grid."""
    width, height = GROUP_SIZE
    canvas = _corner_background(lfw, rng, GROUP_SIZE)
    cells = [(x, y) for y in range(3) for x in range(4)]
    truth = []
    for index in rng.permutation(len(cells))[:faces]:
        cx, cy = cells[index]
        face = float(rng.choice(GROUP_FACE_SIZES)) * height
        # An LFW frame's central 188 px hold its face box (0.464 x 250 = 116 px) at 62 % of the patch.
        side = int(round(face / 0.62))
        patch = cv2.resize(load_rgb(lfw[rng.integers(len(lfw))])[31:219, 31:219], (side, side),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        left = int(np.clip(cx * width / 4 + width / 8 - side / 2 + rng.integers(-20, 21), 0, width - side))
        top = int(np.clip(cy * height / 3 + height / 6 - side / 2 + rng.integers(-20, 21), 0, height - side))
        mask = _ellipse_mask(side)
        region = canvas[top:top + side, left:left + side]
        canvas[top:top + side, left:left + side] = region * (1 - mask) + patch * mask
        truth.append(Face(left + side / 2, top + side / 2, face))
    return canvas.astype(np.uint8), truth


def matches(found: Face, face: Face) -> bool:
    """A found face is a pasted one when its centre is inside that box and its size within a factor 2."""
    return abs(found.x - face.x) < face.side / 2 and abs(found.y - face.y) < face.side / 2 \
        and 0.5 < found.side / face.side < 2.0


def groups(data: Path, finders: list[Finder], count: int, seed: int = 0) -> dict:
    """Per finder: recall per face size (share of the photo's height), unmatched detections, CPU ms."""
    lfw = sorted((data / "lfw_deepfunneled").glob("*/*.jpg"))[5::97]
    rng = np.random.default_rng(seed)
    hits = {f.name: {size: [0, 0] for size in GROUP_FACE_SIZES} for f in finders}
    extra = {f.name: 0 for f in finders}
    for _ in range(count):
        image, truth = group_photo(lfw, rng)
        for finder in finders:
            found = finder(image)
            extra[finder.name] += sum(not any(matches(f, t) for t in truth) for f in found)
            for face in truth:
                size = min(GROUP_FACE_SIZES, key=lambda s: abs(s * GROUP_SIZE[1] - face.side))
                hits[finder.name][size][0] += any(matches(f, face) for f in found)
                hits[finder.name][size][1] += 1
    return {f.name: {"recall": {f"{s:.2f}": 100.0 * h / max(1, n) for s, (h, n) in hits[f.name].items()},
                     "faces": {f"{s:.2f}": n for s, (_h, n) in hits[f.name].items()},
                     "unmatched_per_photo": extra[f.name] / max(1, count), "cpu_ms": f.take_ms(),
                     "photos": count} for f in finders}


# -- images without a face


def texture(kind: str, rng: np.random.Generator, size=(640, 480)) -> np.ndarray:
    """One generated image without a face, of a `kind` in NON_FACE_KINDS."""
    width, height = size
    if kind == "noise":
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    if kind == "smooth":
        small = rng.integers(0, 256, (height // 16 + 1, width // 16 + 1, 3)).astype(np.uint8)
        return cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "stripes":
        period, angle = rng.uniform(6, 60), rng.uniform(0, np.pi)
        wave = np.sin((xs * np.cos(angle) + ys * np.sin(angle)) * 2 * np.pi / period)
        if rng.random() < 0.5:
            wave = wave * np.sin((-xs * np.sin(angle) + ys * np.cos(angle)) * 2 * np.pi / period)
        colour = rng.uniform(0, 255, 3)
        return np.clip(127 + wave[..., None] * (colour - 127), 0, 255).astype(np.uint8)
    if kind == "gradient":
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xs * rng.uniform(-1, 1) + ys * rng.uniform(-1, 1))
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        return (a + t[..., None] * (b - a)).astype(np.uint8)
    if kind == "shapes":
        image = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
        for _ in range(rng.integers(5, 25)):
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(4, width // 3)), int(rng.integers(4, height // 3)))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        return cv2.GaussianBlur(image, (0, 0), 1.0)
    raise ValueError(f"unknown kind {kind!r}")


NON_FACE_KINDS = ("noise", "smooth", "stripes", "shapes", "gradient")


def false_faces(data: Path, finders: list[Finder], count: int, seed: int = 0) -> dict:
    """Per image kind and finder: faces per image, share of images with one or more, CPU ms."""
    rng = np.random.default_rng(seed)
    sets = {kind: [texture(kind, rng) for _ in range(count // len(NON_FACE_KINDS))] for kind in NON_FACE_KINDS}
    lfw = sorted((data / "lfw_deepfunneled").glob("*/*.jpg"))[11::151][: max(1, count // 4)]
    corners = []
    for path in lfw:
        rgb = load_rgb(path)
        corners += [rgb[:64, :64], rgb[:64, -64:], rgb[-64:, :64], rgb[-64:, -64:]]
    sets["lfw_corners"] = corners
    out = {}
    for kind, images in sets.items():
        out[kind] = {}
        for finder in finders:
            found = [len(finder(image)) for image in images]
            out[kind][finder.name] = {"faces_per_image": float(np.mean(found)), "images": len(images),
                                      "with_faces": 100.0 * float(np.mean([n > 0 for n in found])),
                                      "cpu_ms": finder.take_ms()}
    return out


# -- the score threshold, chosen on photos and images the other sections do not use

THRESHOLDS = (0.5, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)


def _pass_scores(detector: BlazeFaceDetector, rgb: np.ndarray) -> tuple[list[float], list[float] | None]:
    """Scores of the coarse pass's faces and of the fine pass's (None where the fine pass would not run)."""
    coarse = [d.score for d in detector.detect_at(rgb, 128)]
    fits = max(rgb.shape[:2]) >= detector.fine_side
    return coarse, ([d.score for d in detector.detect_at(rgb, detector.fine_side)] if fits else None)


def _faces_at(scores: tuple[list[float], list[float] | None], threshold: float) -> int:
    """How many faces `detect` ("auto") would return at `threshold`: the coarse pass's, else the fine's."""
    coarse = sum(s >= threshold for s in scores[0])
    return coarse if coarse or scores[1] is None else sum(s >= threshold for s in scores[1])


def threshold_study(data: Path, count: int, severities, non_faces: int, fine_side: int) -> dict:
    """Recall and false faces per image of BlazeFace ("auto") at each of THRESHOLDS.

    Faces: `count` photos of the V1 *training* identities (not the V1 test or G1 photos the recall
    section reports), clean and distorted. Non-faces: generated images with another seed than the
    false-face section's, and corners of those training photos.
    """
    from benchmarks.protocols import v1_train_photos

    detector = BlazeFaceDetector(min_score=min(THRESHOLDS), fine_side=fine_side)
    paths = v1_train_photos(data)
    paths = [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]
    faces = []
    for i, path in enumerate(paths):
        clean = load_rgb(path)
        for condition, severity in variants(severities):
            image = clean if condition == "clean" else apply(clean, condition, severity, i)
            faces.append(_pass_scores(detector, image))
    rng = np.random.default_rng(1)
    empty = [_pass_scores(detector, texture(kind, rng, (640, 480)))
             for kind in NON_FACE_KINDS for _ in range(non_faces // len(NON_FACE_KINDS))]
    for path in paths[: max(1, non_faces // 4)]:
        rgb = load_rgb(path)
        empty += [_pass_scores(detector, c) for c in (rgb[:64, :64], rgb[:64, -64:], rgb[-64:, :64], rgb[-64:, -64:])]
    return {f"{t:.2f}": {"recall": 100.0 * float(np.mean([_faces_at(f, t) > 0 for f in faces])),
                         "false_faces_per_image": float(np.mean([_faces_at(e, t) for e in empty])),
                         "face_images": len(faces), "non_face_images": len(empty)} for t in THRESHOLDS}


# -- framing


def framing(photos: list[Photo], detector: BlazeFaceDetector) -> dict:
    """Median largest-box side / frame side of each finder on clean face-centred frames, and landmarks."""
    ratios = {"haar": [], "blazeface": []}
    points = []
    for photo in photos:
        rgb = load_rgb(photo.path)
        side = min(rgb.shape[:2])
        haar = detect_faces(rgb)
        if haar:
            ratios["haar"].append(max(haar[0].w, haar[0].h) / side)
        found = detector.detect(rgb)
        if found:
            ratios["blazeface"].append(max(found[0].width, found[0].height) / side)
            points.append(np.array(found[0].keypoints) / side)
    out = {name: {"median": statistics.median(r), "quartiles": statistics.quantiles(r, n=4), "photos": len(r)}
           for name, r in ratios.items() if len(r) > 1}
    if points:
        out["blazeface_keypoints_median"] = np.median(np.array(points), 0).round(4).tolist()
    return out


# -- report


def print_recall(title: str, table: dict) -> None:
    names = list(next(iter(table.values())))
    print(f"\n{title}: face found % (largest face centred %), CPU ms per photo")
    print(f"{'condition':<14}" + "".join(f"{n:>28}" for n in names))
    for key, row in table.items():
        cells = "".join(f"{row[n]['found']:>9.1f} ({row[n]['centred']:5.1f}) {row[n]['cpu_ms']:6.1f} ms" for n in names)
        print(f"{key:<14}{cells}")


def print_groups(table: dict) -> None:
    print("\nGroup photos: recall % by face box side / photo height; unmatched detections per photo; CPU ms")
    sizes = list(next(iter(table.values()))["recall"])
    print(f"{'finder':<20}" + "".join(f"{s:>7}" for s in sizes) + f"{'unmatched':>11}{'ms':>8}")
    for name, row in table.items():
        print(f"{name:<20}" + "".join(f"{row['recall'][s]:>7.0f}" for s in sizes)
              + f"{row['unmatched_per_photo']:>11.2f}{row['cpu_ms']:>8.1f}")


def print_false(table: dict) -> None:
    print("\nImages without a face: false faces per image (images with any, %), CPU ms")
    names = list(next(iter(table.values())))
    print(f"{'images':<14}{'n':>5}" + "".join(f"{n:>27}" for n in names))
    for kind, row in table.items():
        n = row[names[0]]["images"]
        print(f"{kind:<14}{n:>5}" + "".join(
            f"{row[x]['faces_per_image']:>8.3f} ({row[x]['with_faces']:5.1f}) {row[x]['cpu_ms']:6.1f} ms"
            for x in names))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (holds benchmarks/, lfw_deepfunneled/)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of {SECTIONS}")
    parser.add_argument("--probes", type=int, default=300, help="V1 probe rows to use (0 = all 1,566)")
    parser.add_argument("--g1", type=int, default=0, help="G1 val photos to use (0 = all 422)")
    parser.add_argument("--severities", default="1,3,5", help="distortion severities (default 1,3,5)")
    parser.add_argument("--groups", type=int, default=40, help="generated group photos (default 40)")
    parser.add_argument("--non-faces", type=int, default=200, help="generated images without a face (default 200)")
    parser.add_argument("--fine-side", type=int, default=FINE_SIDE,
                        help=f"BlazeFace fine pass side (default {FINE_SIDE})")
    parser.add_argument("--min-score", type=float, default=MIN_SCORE, help=f"BlazeFace threshold (default {MIN_SCORE})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    severities = [int(s) for s in args.severities.split(",") if s]

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    report = {"benchmark": "detectors", "args": {k: str(v) for k, v in vars(args).items()},
              "load_average_start": os.getloadavg()}
    if "recall" in sections:
        finders = make_finders(args.fine_side, args.min_score)
        report["v1_probes"] = recall(v1_probe_photos(args.data, args.probes), finders, severities)
        print_recall(f"V1 probes ({args.probes or 'all'} rows)", report["v1_probes"])
        report["g1"] = recall(g1_photos(args.data, args.g1), finders, severities)
        print_recall(f"G1 val photos ({args.g1 or 'all'})", report["g1"])
    if "groups" in sections:
        report["groups"] = groups(args.data, make_finders(args.fine_side, args.min_score, every=True), args.groups)
        print_groups(report["groups"])
    if "false" in sections:
        report["false_faces"] = false_faces(args.data, make_finders(args.fine_side, args.min_score, every=True),
                                            args.non_faces)
        print_false(report["false_faces"])
    if "framing" in sections:
        detector = BlazeFaceDetector(fine_side=args.fine_side, min_score=args.min_score)
        report["framing"] = framing(v1_probe_photos(args.data, args.probes), detector)
        print("\nFraming (largest box side / frame side on clean V1 probe frames):",
              json.dumps(report["framing"], indent=1))
    if "threshold" in sections:
        report["threshold"] = threshold_study(args.data, args.probes, severities, args.non_faces, args.fine_side)
        print("\nBlazeFace score threshold on V1 training photos (clean and distorted) and non-face images")
        print(f"{'threshold':>10}{'recall %':>10}{'false/image':>13}")
        for t, row in report["threshold"].items():
            print(f"{t:>10}{row['recall']:>10.2f}{row['false_faces_per_image']:>13.3f}")
    report["load_average_end"] = os.getloadavg()
    report["machine"] = {"python": platform.python_version(), "torch": torch.__version__, "opencv": cv2.__version__,
                         "cpus": os.cpu_count(), "threads": 1}
    print(f"\nload average: start {report['load_average_start']}, end {report['load_average_end']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
