"""Verification pairs: clean reference vs a (usually distorted) probe, 1:1 same/different."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..distortions import CONDITIONS
from .csvfiles import read_rows, resolve
from .errors import DataError
from .identity import Identity


@dataclass(frozen=True)
class Pair:
    """A pair to score. `condition` is applied to the probe on load unless `probe_is_distorted`."""

    reference: str
    probe: str
    same: int
    condition: str = "none"  # none or one of CONDITIONS
    severity: int = 0
    seed: int = 0
    probe_is_distorted: bool = False  # the probe file is a pre-made distorted copy
    ref_identity: int = -1  # indices into the identity list, for the auxiliary identity loss
    probe_identity: int = -1


def _probe(person: Identity, image: str, rng, cfg) -> tuple[str, str, int, bool]:
    """Pick how the probe is degraded: a pre-made copy, a generated distortion, or none."""
    copies = person.distorted.get(image, [])
    if copies and rng.random() < 0.5:
        path, condition = copies[rng.integers(len(copies))]
        return path, condition, 0, True
    if rng.random() < cfg["clean_probe_fraction"]:
        return image, "none", 0, False
    condition = CONDITIONS[rng.integers(len(CONDITIONS))]
    severity = int(rng.integers(cfg["min_severity"], cfg["max_severity"] + 1))
    return image, condition, severity, False


def make_pairs(people: list[Identity], n_pairs: int, seed: int, *, clean_probe_fraction: float = 0.1,
               same_photo_fraction: float = 0.2, min_severity: int = 1, max_severity: int = 5,
               with_identity: bool = False) -> list[Pair]:
    """`n_pairs` pairs, half same-person, half different-person, deterministic for `seed`."""
    if len(people) < 2:
        raise DataError("pairs need at least two identities")
    rng = np.random.default_rng(seed)
    cfg = dict(clean_probe_fraction=clean_probe_fraction, min_severity=min_severity, max_severity=max_severity)
    multi = [i for i, p in enumerate(people) if len(p.images) >= 2]
    pairs: list[Pair] = []
    for k in range(n_pairs):
        same = k % 2 == 0
        if same:
            # same photo (distorted) when asked, or when nobody has two photos
            if not multi or rng.random() < same_photo_fraction:
                a = int(rng.integers(len(people)))
                ref = probe_src = people[a].images[rng.integers(len(people[a].images))]
            else:
                a = multi[rng.integers(len(multi))]
                i, j = rng.choice(len(people[a].images), size=2, replace=False)
                ref, probe_src = people[a].images[i], people[a].images[j]
            b = a
        else:
            a, b = (int(x) for x in rng.choice(len(people), size=2, replace=False))
            ref = people[a].images[rng.integers(len(people[a].images))]
            probe_src = people[b].images[rng.integers(len(people[b].images))]
        probe, condition, severity, premade = _probe(people[b], probe_src, rng, cfg)
        if same and probe == ref and condition == "none":  # an identical copy teaches nothing
            condition = CONDITIONS[rng.integers(len(CONDITIONS))]
            severity = int(rng.integers(min_severity, max_severity + 1))
        pairs.append(Pair(ref, probe, int(same), condition, severity, int(rng.integers(2**31)), premade,
                          a if with_identity else -1, b if with_identity else -1))
    return pairs


def read_pairs_csv(path, root=None) -> list[Pair]:
    """A pairs file with columns `clean,probe,same` (paths relative to `root` or the CSV's folder).

    Optional columns `condition` and `severity` ask for a generated distortion of the probe.
    """
    rows, base = read_rows(path, root)
    need = {"clean", "probe", "same"}
    if not rows or not need <= set(rows[0]):
        raise DataError(f"{path} needs the columns clean, probe, same")
    pairs = []
    for i, row in enumerate(rows):
        ref, probe = (resolve(row[c], base) for c in ("clean", "probe"))
        condition = (row.get("condition") or "none").strip() or "none"
        severity = int(row.get("severity") or (3 if condition != "none" else 0))
        pairs.append(Pair(str(ref), str(probe), int(row["same"]), condition, severity, seed=i))
    missing = [p.reference for p in pairs if not Path(p.reference).exists()]
    if len(missing) > len(pairs) // 2:
        raise DataError(f"most paths in {path} do not exist relative to {base}; pass the folder they are relative to")
    return pairs
