"""Validation splits carved from training data, by group (person) so no one is on both sides."""
from __future__ import annotations

import random
from collections import defaultdict

import numpy as np


def group_split(labels: list[str], groups: list[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, val): whole groups go to val until each label has about `fraction` of its items.

    Stratified per label (a group counts under its most frequent label), deterministic for a seed.
    """
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    group_label: dict[str, str] = {}
    for g, idx in by_group.items():
        names = [labels[i] for i in idx]
        group_label[g] = max(sorted(set(names)), key=names.count)
    rng = random.Random(seed)
    val: list[int] = []
    for label in sorted(set(labels)):
        members = sorted(g for g, lab in group_label.items() if lab == label)
        rng.shuffle(members)
        target = max(1, round(fraction * sum(len(by_group[g]) for g in members)))
        taken, chosen = 0, []
        for g in members:
            if taken >= target or len(chosen) == len(members) - 1:
                break  # enough, or only one group left: training needs every class
            size = len(by_group[g])
            if taken and taken + size > 1.2 * target:
                continue  # a person with many photos would overshoot the share: try a smaller group
            chosen.append(g)
            taken += size
        val += [i for g in chosen for i in by_group[g]]
    val_set = set(val)
    train = [i for i in range(len(labels)) if i not in val_set]
    return train, sorted(val_set)


def pair_split(identities, fraction: float, seed: int):
    """(train, val) identity names of a face bank's photos (one name per photo): validation takes about
    `fraction` of the people with two or more photos (they make pairs), drawn with `seed`; people with one
    photo always train, so adding such people (e.g. synthetic faces) leaves the validation people as they were."""
    names, index = np.unique(np.asarray(identities), return_inverse=True)
    counts = np.bincount(index, minlength=len(names))
    multi = np.flatnonzero(counts >= 2)
    rng = np.random.default_rng(seed)
    val = np.sort(rng.permutation(multi)[: max(2, round(fraction * len(multi)))])
    return names[np.setdiff1d(np.arange(len(names)), val)], names[val]
