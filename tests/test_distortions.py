"""Tests for training.distortions: purity, determinism, size/type, severity order, bad arguments."""

import numpy as np
import pytest
from PIL import Image

from training.distortions import (
    CONDITIONS,
    DEFAULT_SEVERITY,
    SEVERITIES,
    apply,
    describe,
    random_distortion,
)

RANDOM_CONDITIONS = ("noisy", "rainy", "foggy")


@pytest.fixture(scope="module")
def scene():
    """A 96x128 picture with smooth areas and edges, so every degradation has something to change."""
    ys, xs = np.mgrid[0:96, 0:128]
    arr = np.stack([xs * 2, ys * 2, 255 - xs], axis=-1).astype(np.float64)
    arr[30:70, 40:90] = (40, 160, 220)
    arr[::8] *= 0.5  # stripes: fine detail for blur, resize and JPEG to destroy
    return np.clip(arr, 0, 255).astype(np.uint8)


def _diff(a, b):
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_numpy_in_numpy_out(scene, condition, severity):
    before = scene.copy()
    out = apply(scene, condition, severity, seed=7)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == scene.shape
    assert np.array_equal(scene, before), "input was modified"
    assert np.array_equal(out, apply(scene, condition, severity, seed=7)), "not deterministic"
    assert _diff(out, scene) > 0.5


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("severity", [1, 3, 5])
def test_pil_in_pil_out(scene, condition, severity):
    img = Image.fromarray(scene)
    before = img.copy()
    out = apply(img, condition, severity, seed=3)
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == img.size
    assert np.array_equal(np.asarray(img), np.asarray(before))
    assert np.array_equal(np.asarray(out), np.asarray(apply(img, condition, severity, seed=3)))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_severity_five_is_stronger_than_one(scene, condition):
    mild = np.mean([_diff(apply(scene, condition, 1, seed=s), scene) for s in range(3)])
    severe = np.mean([_diff(apply(scene, condition, 5, seed=s), scene) for s in range(3)])
    assert severe > mild


@pytest.mark.parametrize("condition", RANDOM_CONDITIONS)
def test_seeds_differ(scene, condition):
    assert not np.array_equal(apply(scene, condition, 3, seed=0), apply(scene, condition, 3, seed=1))


def test_default_severity_is_three(scene):
    assert DEFAULT_SEVERITY == 3
    assert np.array_equal(apply(scene, "noisy"), apply(scene, "noisy", 3, 0))


@pytest.mark.parametrize("condition", CONDITIONS)
@pytest.mark.parametrize("shape", [(8, 8, 3), (1, 1, 3), (40, 300, 3), (301, 17, 3)])
def test_tiny_and_odd_shapes(condition, shape):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    for severity in SEVERITIES:
        out = apply(arr, condition, severity, seed=severity)
        assert out.shape == shape and out.dtype == np.uint8


def test_non_rgb_pil_is_converted():
    out = apply(Image.new("L", (20, 10), 128), "blurred", 2)
    assert out.mode == "RGB" and out.size == (20, 10)


@pytest.mark.parametrize("bad", ["snowy", "", None, "Blurred"])
def test_unknown_condition(scene, bad):
    with pytest.raises(ValueError, match="unknown condition"):
        apply(scene, bad)


@pytest.mark.parametrize("bad", [0, 6, -1, 2.5, True, "3"])
def test_bad_severity(scene, bad):
    with pytest.raises(ValueError, match="severity"):
        apply(scene, "noisy", bad)


@pytest.mark.parametrize("bad", [np.zeros((5, 5), np.uint8), np.zeros((5, 5, 3), np.float32),
                                 np.zeros((5, 5, 4), np.uint8), [1, 2]])
def test_bad_image(bad):
    with pytest.raises(ValueError, match="image must be"):
        apply(bad, "noisy")


def test_random_distortion_is_reproducible(scene):
    first = random_distortion(scene, np.random.default_rng(42))
    second = random_distortion(scene, np.random.default_rng(42))
    assert first[1] in CONDITIONS and first[2] in SEVERITIES
    assert first[1:] == second[1:] and np.array_equal(first[0], second[0])


def test_random_distortion_respects_choices(scene):
    rng = np.random.default_rng(0)
    seen = {random_distortion(scene, rng, conditions=("jpeg", "rainy"), severities=(2,))[1:] for _ in range(20)}
    assert seen == {("jpeg", 2), ("rainy", 2)}


def test_describe():
    for condition in CONDITIONS:
        text = describe(condition)
        assert text.endswith(".") and len(text) > 20
    with pytest.raises(ValueError):
        describe("snowy")
