"""Nearest faces by the teacher's embedding, and batch groups drawn from them (training/data/neighbours.py)."""
import math

import pytest
import torch

from training.data.neighbours import teacher_neighbours, with_neighbours


def _on_a_circle(angles_in_degrees):
    angles = torch.tensor(angles_in_degrees, dtype=torch.float32) * math.pi / 180
    return torch.stack([angles.cos(), angles.sin()], dim=1)


def test_neighbours_are_the_nearest_other_rows_nearest_first_and_never_the_row_itself():
    targets = _on_a_circle([0, 10, 30, 70, 180, 185, 405])  # row 6 is at 45 degrees
    rows = torch.tensor([0, 1, 2, 3, 4, 6])  # row 5 (at 185 degrees) is not a training face
    near = teacher_neighbours(targets, rows, 2, chunk=4)  # chunks of 4 rows: the same answer as one block
    assert near.tolist() == [[1, 2], [0, 2], [6, 1], [6, 2], [3, 6], [2, 3]]
    assert torch.equal(near, teacher_neighbours(targets, rows, 2))
    assert teacher_neighbours(targets, rows, 99).shape == (6, 5)  # at most every other row
    with pytest.raises(ValueError, match="at least two"):
        teacher_neighbours(targets, rows[:1], 1)


def test_each_group_is_its_drawn_face_then_distinct_neighbours_from_its_own_list():
    table = torch.full((10, 4), -1, dtype=torch.long)
    table[2] = torch.tensor([5, 6, 7, 8])
    table[3] = torch.tensor([9, 1, 0, 4])
    groups = with_neighbours(torch.tensor([2, 3]), table, 3, torch.Generator().manual_seed(0)).view(2, 3)
    assert groups[:, 0].tolist() == [2, 3]
    for group in groups:
        drawn, rest = int(group[0]), group[1:].tolist()
        assert len(set(rest)) == 2 and set(rest) <= set(table[drawn].tolist())
    draws = {tuple(with_neighbours(torch.tensor([2]), table, 2, torch.Generator().manual_seed(s)).tolist())
             for s in range(40)}
    assert draws == {(2, 5), (2, 6), (2, 7), (2, 8)}  # every neighbour in the list gets drawn
