"""Identity folders (`ROOT/<identity>/*.jpg`, optional `distortion/` copies) for the face matcher."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..distortions import CONDITIONS
from ..imaging import list_images
from .errors import DataError


@dataclass
class Identity:
    """One person: clean photos, and for each clean photo any pre-made distorted copies."""

    name: str
    images: list[str]
    distorted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # clean path -> [(path, condition)]


def _match_distorted(clean: list[Path], folder: Path) -> dict[str, list[tuple[str, str]]]:
    """FACECOM Task B names distorted copies `<clean stem>_<condition>.<ext>`."""
    stems = {p.stem: str(p) for p in clean}
    out: dict[str, list[tuple[str, str]]] = {}
    for path in list_images(folder):
        stem = path.stem
        for condition in CONDITIONS:
            suffix = "_" + condition
            if stem.lower().endswith(suffix) and stem[: -len(suffix)] in stems:
                out.setdefault(stems[stem[: -len(suffix)]], []).append((str(path), condition))
                break
    return out


def discover_identities(root, names: set[str] | None = None) -> list[Identity]:
    """Every subfolder of `root` with at least one image is an identity (sorted by name).

    `names` restricts to a list of identities (e.g. a protocol's training list).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    people = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if names is not None and folder.name not in names:
            continue
        clean = list_images(folder)
        if not clean:
            continue
        distorted = _match_distorted(clean, folder / "distortion") if (folder / "distortion").is_dir() else {}
        people.append(Identity(folder.name, [str(p) for p in clean], distorted))
    return people


def read_identity_list(path) -> set[str]:
    """One identity name per line; blank lines and `#` comments ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read the identity list {path}: {exc.strerror or exc}") from exc
    return {s.strip() for s in lines if s.strip() and not s.startswith("#")}


def check_identities(people: list[Identity], root) -> None:
    """Refuse data a matcher cannot learn from, with the reason."""
    if not people:
        raise DataError(f"{root} has no identity folders with images (expected ROOT/<person>/*.jpg)")
    if len(people) < 2:
        raise DataError("the matcher needs at least two identities (different people) to learn from")
    if not any(len(p.images) >= 2 or p.distorted for p in people):
        raise DataError("no identity has two images (or a distortion/ copy), so there is no same-person pair")


def split_identities(people: list[Identity], fraction: float, seed: int) -> tuple[list[Identity], list[Identity]]:
    """Identity-level split: nobody appears on both sides; val gets people with 2+ images first."""
    import random

    rng = random.Random(seed)
    multi = [p for p in people if len(p.images) >= 2 or p.distorted]
    single = [p for p in people if not (len(p.images) >= 2 or p.distorted)]
    rng.shuffle(multi)
    rng.shuffle(single)
    n_multi = max(1, round(fraction * len(multi))) if len(multi) >= 2 else 0
    n_single = round(fraction * len(single))
    val = multi[:n_multi] + single[:n_single]
    train = multi[n_multi:] + single[n_single:]
    if len(val) < 2:  # validation pairs need two people
        extra = [p for p in train if p not in multi[:1]][: 2 - len(val)]
        val += extra
        train = [p for p in train if p not in extra]
    key = lambda p: p.name  # noqa: E731
    return sorted(train, key=key), sorted(val, key=key)
