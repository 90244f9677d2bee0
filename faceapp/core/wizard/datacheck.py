"""Checks a training folder for the Data page and summarises it (Qt-free).

`check_folder(task, folder)` returns a `DataReport` (rows to show, notes, unreadable files, sample images,
matcher probe previews) or raises `DataError` with the one sentence that blocks the wizard: the core's own
checks (one class only, no identity with two images...) re-run after dropping unreadable files, since the
training loop skips those too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from training.data import (
    DataError,
    Identity,
    check_identities,
    group_split,
    load_gender_sources,
    split_identities,
)
from training.data.datasets import scan_images
from training.distortions import CONDITIONS
from training.distortions import apply as distort
from training.imaging import load_image

IMBALANCE_RATIO = 1.5  # from here on the Data page explains the remedies
SAMPLES = 8
PREVIEW_CONDITIONS = ("blurred", "foggy", "lowlight", "rainy", "noisy", "sunny")


@dataclass
class DataReport:
    task: str
    folder: str
    rows: list[tuple[str, str]]  # (label, value) facts about the data
    notes: list[str] = field(default_factory=list)  # facts about how the training will use the data
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): skipped by training
    samples: list[tuple[str, str]] = field(default_factory=list)  # (path, caption)
    probes: list[tuple[str, str, int, bool]] = field(default_factory=list)  # (path, condition, severity, premade)
    warnings: list[str] = field(default_factory=list)  # what the user should know before training on it


def check_folder(task: str, folder, val_fraction: float = 0.15, seed: int = 0) -> DataReport:
    folder = Path(folder)
    if not str(folder).strip() or not folder.exists():
        raise DataError(f"{folder} does not exist; choose a folder")
    if not folder.is_dir():
        raise DataError(f"{folder.name} is a file; choose the folder that holds the "
                        f"{'class' if task == 'gender' else 'person'} folders")
    return _check_gender(folder, val_fraction, seed) if task == "gender" else _check_matcher(folder, val_fraction, seed)


def _spread(items: list, n: int) -> list:
    """`n` items evenly spaced through the list (deterministic, not just the first few)."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{n:,} {c}" for c, n in counts.items())


def _check_gender(folder: Path, val_fraction: float, seed: int) -> DataReport:
    data = load_gender_sources([folder])
    bad = dict(scan_images([i.path for i in data.train + data.test]))
    train = [i for i in data.train if i.path not in bad]
    test = [i for i in data.test if i.path not in bad]
    counts = {c: sum(i.label == c for i in train) for c in data.classes}
    for c, n in counts.items():
        if n < 2:
            lost = sum(i.label == c and i.path in bad for i in data.train)
            raise DataError(f"class '{c}' has only {n} readable image{'s' if n != 1 else ''} ({lost} unreadable); "
                            "each class needs at least 2")
    _, val_idx = group_split([i.label for i in train], [i.group for i in train], val_fraction, seed)
    val_counts = {c: sum(train[k].label == c for k in val_idx) for c in data.classes}
    rows = [("Classes", ", ".join(data.classes)), ("Training images", _counts(counts)),
            ("Validation split", f"{len(val_idx):,} images, {len(val_idx) / len(train):.0%} of them (target "
                                 f"{val_fraction:.0%}; whole people, so nobody is on both sides): "
                                 f"{_counts(val_counts)}")]
    if test:
        test_counts = {c: sum(i.label == c for i in test) for c in data.classes}
        rows.append(("Held-out test set", f"val/ folder: {_counts(test_counts)}"))
    else:
        rows.append(("Held-out test set", "none (no val/ folder); the results use the validation split"))
    minority, majority = min(counts, key=counts.get), max(counts, key=counts.get)
    ratio = counts[majority] / counts[minority]
    notes, warnings = [], []
    if ratio >= IMBALANCE_RATIO:
        warnings = [f"Imbalanced: {ratio:.1f} '{majority}' images per '{minority}' image. Training corrects it with "
                 f"weighted sampling and class weights in the loss (each makes up half of the gap), and "
                 f"wider crops and rotations of '{minority}' photos."]
    else:
        notes = [f"The classes are balanced enough (ratio {ratio:.1f} : 1)."]
    samples = [(i.path, i.label) for c in data.classes for i in _spread([i for i in train if i.label == c],
                                                                         SAMPLES // len(data.classes))]
    return DataReport("gender", str(folder), rows, notes, sorted(bad.items()), samples, warnings=warnings)


def _readable(people: list[Identity], bad: set[str]) -> list[Identity]:
    out = []
    for p in people:
        images = [i for i in p.images if i not in bad]
        distorted = {k: [(d, c) for d, c in v if d not in bad] for k, v in p.distorted.items() if k not in bad}
        if images:
            out.append(Identity(p.name, images, {k: v for k, v in distorted.items() if v}))
    return out


def _check_matcher(folder: Path, val_fraction: float, seed: int) -> DataReport:
    from training.tasks.matcher import load_identity_sources

    people = load_identity_sources([folder])
    paths = [i for p in people for i in p.images] + [d for p in people for v in p.distorted.values() for d, _ in v]
    bad = dict(scan_images(paths))
    people = _readable(people, set(bad))
    check_identities(people, folder)
    images = sum(len(p.images) for p in people)
    multi = sum(len(p.images) >= 2 for p in people)
    premade = sum(len(v) for p in people for v in p.distorted.values())
    train, val = split_identities(people, val_fraction, seed)
    rows = [("Identities", f"{len(people):,} people, {multi:,} with two or more photos"),
            ("Images", f"{images:,} clean photos" + (f" + {premade:,} distorted copies" if premade else "")),
            ("Validation split", f"{len(val):,} identities held out ({sum(len(p.images) for p in val):,} photos); "
                                 f"{len(train):,} for training")]
    if premade:
        notes = [f"distortion/ folders found: half of the probes use the {premade:,} pre-made copies, the rest get "
                 "generated distortions."]
    else:
        notes = [f"No distortion/ folders: probes get distortions generated on the fly ({len(CONDITIONS)} "
                 "conditions, severity 1-5). Examples below."]
    shown = _spread(people, SAMPLES)
    samples = [(p.images[0], p.name) for p in shown]
    probes = [(p.images[0], PREVIEW_CONDITIONS[k % len(PREVIEW_CONDITIONS)], 3, False) for k, p in enumerate(shown[:4])]
    probes += [(copies[0][0], copies[0][1], 0, True) for p in people for copies in list(p.distorted.values())[:1]][:2]
    return DataReport("matcher", str(folder), rows, notes, sorted(bad.items()), samples, probes)


def thumbnail(path, side: int) -> Image.Image:
    image = load_image(path)
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return image


def probe_preview(path, condition: str, severity: int, premade: bool, side: int) -> tuple[Image.Image, str]:
    """A probe as training will see it (a generated distortion or a pre-made copy) and its caption."""
    image = load_image(path)
    if premade:
        return _small(image, side), f"{condition} (file)"
    return _small(distort(image, condition, severity, seed=0), side), f"{condition} {severity}"


def _small(image: Image.Image, side: int) -> Image.Image:
    image.thumbnail((side, side), Image.Resampling.BILINEAR)
    return image
