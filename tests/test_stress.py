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
