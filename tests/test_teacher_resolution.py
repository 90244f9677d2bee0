"""benchmarks/teacher_resolution.py: what the shrunk photo keeps, the table, the pair sample (dlib not needed)."""
import numpy as np
from PIL import Image

from benchmarks.teacher_resolution import STUDENT_SCALE, sample, shrink, summarise
from training.data import Pair


def test_shrink_keeps_the_size_and_loses_detail_finer_than_its_pixels():
    stripes = np.zeros((120, 120, 3), np.uint8)
    stripes[:, ::2] = 255  # one-pixel stripes: gone at 0.4 of the pixels, kept at full size
    image = Image.fromarray(stripes)
    assert shrink(image, 1.0) is image
    small = np.asarray(shrink(image, 0.4)).astype(float)
    assert small.shape == stripes.shape
    assert small[10:-10, 10:-10].std() < 0.1 * stripes.std()
    ramp = Image.fromarray(np.repeat(np.linspace(0, 255, 120, dtype=np.uint8)[None, :, None], 120, 0).repeat(3, 2))
    assert np.abs(np.asarray(shrink(ramp, 0.4)).astype(int) - np.asarray(ramp))[:, 10:-10].max() <= 3


def test_summary_ranks_each_scale_on_its_own_scores():
    labels = np.array([1] * 50 + [0] * 50)
    rng = np.random.default_rng(0)
    rows = summarise(labels, {1.0: labels + 0.1 * rng.random(100), STUDENT_SCALE: rng.random(100)})
    assert [r["frame_px"] for r in rows] == [154, 64]
    assert rows[0]["roc_auc"] == 1.0 and rows[0]["tar_at_far_1pct"] == 1.0 and rows[0]["eer"] == 0.0
    assert 0.3 < rows[1]["roc_auc"] < 0.7 and rows[1]["eer"] > 0.3


def test_sample_takes_half_of_each_kind_and_everything_by_default():
    pairs = [Pair(f"r{i}", f"p{i}", int(i < 30)) for i in range(100)]
    picked = sample(pairs, 20, seed=1)
    assert len(picked) == 20 and sum(p.same for p in picked) == 10
    assert picked == sample(pairs, 20, seed=1) and picked != sample(pairs, 20, seed=2)
    assert sample(pairs, 0, 0) is pairs and sample(pairs, 500, 0) is pairs
