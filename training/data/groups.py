"""Groups of people (e.g. gender) for balanced sampling: a CSV of identity -> group, and per-photo weights that
draw every group equally often while people outside the list keep their natural share."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from .errors import DataError

UNKNOWN = ""
DEFAULT_COLUMNS = ("group", "gender")


def read_groups(spec: str) -> dict[str, str]:
    """`FILE.csv[:COLUMN]` -> {identity: group}; the column defaults to 'group', else 'gender'."""
    path, column = spec, ""
    if not Path(spec).is_file() and ":" in spec:  # FILE.csv:COLUMN (a Windows drive's colon is in a file that exists)
        path, _, column = spec.rpartition(":")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            column = column or next((c for c in DEFAULT_COLUMNS if c in fields), "")
            if "identity" not in fields or column not in fields:
                raise DataError(f"{path}: the group list needs an 'identity' column and a group column "
                                f"({column or ' or '.join(DEFAULT_COLUMNS)}); it has {', '.join(fields) or 'none'}")
            groups = {row["identity"]: row[column].strip() for row in reader if row[column].strip()}
    except OSError as exc:
        raise DataError(f"{path}: the group list cannot be read ({exc.strerror or exc})") from exc
    if not groups:
        raise DataError(f"{path}: the group list names no group")
    return groups


def balanced_weights(identities, groups: dict[str, str]) -> tuple[np.ndarray, dict]:
    """Sampling weights (summing to 1) for photos of `identities` (one name per photo): the photos of listed
    people share the listed people's natural share equally between the groups, each photo alike within its
    group; unlisted people's photos keep theirs. Also {group: (share before, share after)}."""
    names = np.asarray(identities)
    group = np.array([groups.get(str(name), UNKNOWN) for name in names])
    counts = Counter(group.tolist())
    listed = [g for g in counts if g != UNKNOWN]
    if len(listed) < 2:
        raise DataError(f"balancing needs at least two groups among the training people; found {listed or 'none'}")
    n, listed_share = len(names), 1 - counts.get(UNKNOWN, 0) / len(names)
    per_group = {g: listed_share / len(listed) for g in listed}
    per_group[UNKNOWN] = counts.get(UNKNOWN, 0) / n
    weights = np.array([per_group[g] / counts[g] for g in group])
    report = {g or "not listed": (counts[g] / n, per_group[g]) for g in sorted(counts)}
    return weights / weights.sum(), report
