"""Each training face's nearest faces by the teacher's embedding, for batches that hold look-alikes.

Drawn independently, a batch of 64 faces from thousands of people almost never holds two photos of one
person or two people the teacher finds alike, so the losses that compare faces within a batch see easy
pairs only; the errors that decide TAR at a low false-match rate and 1:N identification are the hard
ones. Grouping each drawn face with some of its nearest faces (by cosine of the teacher's targets) puts
the same person's other photos, look-alikes and blends of the same person into the batch.
"""
from __future__ import annotations

import torch


def teacher_neighbours(targets: torch.Tensor, rows: torch.Tensor, count: int, chunk: int = 1024) -> torch.Tensor:
    """(len(rows), count): for each of `rows`, the `count` other rows of `rows` whose targets (unit
    vectors, one per bank row) are nearest its own by cosine, nearest first. Row indices, not positions."""
    count = min(int(count), len(rows) - 1)
    if count < 1:
        raise ValueError("neighbours need at least two faces")
    vectors = targets[rows].float()
    out = torch.empty(len(rows), count, dtype=torch.long)
    for start in range(0, len(rows), chunk):
        sims = vectors[start:start + chunk] @ vectors.T
        own = torch.arange(start, min(start + chunk, len(rows)))
        sims[own - start, own] = float("-inf")  # a face is not its own neighbour
        out[start:start + chunk] = sims.topk(count, dim=1).indices
    return rows[out]


def with_neighbours(seeds: torch.Tensor, neighbours: torch.Tensor, group: int, gen: torch.Generator) -> torch.Tensor:
    """`seeds` (bank rows) each followed by `group - 1` of its neighbours drawn at random without repeats
    (`neighbours`: one row of candidates per bank row, as `teacher_neighbours` gives for the rows it
    was asked about): len(seeds) * group rows, in groups."""
    candidates = neighbours[seeds]
    picks = torch.rand(candidates.shape, generator=gen).argsort(dim=1)[:, : group - 1]
    return torch.cat([seeds.view(-1, 1), candidates.gather(1, picks)], dim=1).flatten()
