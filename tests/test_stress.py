"""The benchmark's stress looks (benchmarks.stress): what they change, and that they leave the photo alone."""

import numpy as np
from PIL import Image

from benchmarks.stress import GRAY_FILL, STRESS, grayscale, occluded


def _photo(height=80, width=120):
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_grayscale_gives_three_equal_channels_of_the_same_size():
    photo = _photo()
    out = np.asarray(grayscale(photo))
    assert out.shape == (80, 120, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert not (np.asarray(photo)[..., 0] == np.asarray(photo)[..., 1]).all()


def test_occluded_puts_one_seeded_grey_square_in_the_middle_and_keeps_the_input():
    photo = _photo()
    before = np.asarray(photo).copy()
    out = np.asarray(occluded(photo, seed=7))
    assert np.array_equal(np.asarray(photo), before)  # a copy is changed, never the photo
    changed = (out != before).any(axis=2)
    rows, cols = np.nonzero(changed)
    side = 80 // 4
    assert rows.max() - rows.min() < side and cols.max() - cols.min() < side
    assert (out[changed] == GRAY_FILL).all()
    assert rows.min() >= 0.2 * 80 and rows.max() < 0.8 * 80 and cols.min() >= 0.2 * 120 and cols.max() < 0.8 * 120
    assert np.array_equal(np.asarray(occluded(photo, seed=7)), out)
    assert not np.array_equal(np.asarray(occluded(photo, seed=8)), out)


def test_stress_looks_are_named_for_the_benchmark_command_line():
    assert set(STRESS) == {"grayscale", "occluded"}
    tiny = _photo(5, 5)
    for look in STRESS.values():
        assert look(tiny, seed=1).size == (5, 5)


def test_the_v1_table_averages_the_protocols_conditions_without_the_stress_rows(capsys):
    from benchmarks.run import print_tables

    row = {"roc_auc": 0.9, "tar_at_far_1pct": 0.5, "threshold": 0.4}
    rows = {"none": {**row, "accuracy": 0.9}, "blurred": {**row, "accuracy": 0.8}, "jpeg": {**row, "accuracy": 0.7},
            "grayscale": {**row, "accuracy": 0.1}, "occluded": {**row, "accuracy": 0.2}}
    print_tables({"V1": rows})
    out = capsys.readouterr().out
    assert "grayscale" in out and "occluded" in out
    assert "mean of distorted  0.7500" in out
