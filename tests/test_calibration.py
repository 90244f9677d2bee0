"""Temperature scaling, calibration error and the data-chosen uncertain level (training.calibration),
and their path through training, the checkpoint and the app-facing classifier."""
from __future__ import annotations

import math

import numpy as np
import pytest

from training.calibration import (
    calibration_report,
    choose_uncertain_level,
    expected_calibration_error,
    fit_platt,
    fit_temperature,
    flag_rates,
    negative_log_likelihood,
    probabilities,
    reliability_bins,
)


def overconfident_logits(n=4000, scale=3.0, seed=0):
    """Two-class logits whose softmax is too sure: the true model is logistic in `z`, the logits are z·scale."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    logits = np.stack([np.zeros(n), z * scale], axis=1)
    return logits[None], labels


def test_fitted_temperature_undoes_a_known_overconfidence():
    logits, labels = overconfident_logits(scale=3.0)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    assert negative_log_likelihood(logits, labels, t) < negative_log_likelihood(logits, labels, 1.0)
    report = calibration_report(logits, labels, t)
    assert report["after"]["ece"] < 0.03 < report["before"]["ece"]
    assert report["after"]["accuracy"] == report["before"]["accuracy"]  # scaling never changes a decision


@pytest.mark.parametrize("scale, offset", [(0.5, -4.0), (3.0, 2.0), (1.0, 9.0)])
def test_platt_scaling_undoes_a_known_scale_and_offset_from_any_start(scale, offset):
    rng = np.random.default_rng(2)
    z = rng.normal(0, 2.0, 5000)
    labels = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(int)  # the true model is logistic in z
    logits = (z - offset) / scale  # a head that is off by both: sigmoid(scale * logit + offset) is the truth
    a, c = fit_platt(logits, labels)
    assert a == pytest.approx(scale, rel=0.1) and c == pytest.approx(offset, abs=0.15 * max(1.0, abs(offset)))
    assert fit_platt(logits, np.ones_like(labels)) == (1.0, 0.0)
    with pytest.raises(ValueError, match="backwards"):
        fit_platt(-logits, labels)


def test_an_underconfident_model_gets_a_temperature_below_one():
    logits, labels = overconfident_logits(scale=0.4, seed=1)
    assert fit_temperature(logits, labels) == pytest.approx(0.4, rel=0.15)


def test_probabilities_average_the_views_after_scaling():
    views = np.array([[[2.0, 0.0]], [[0.0, 0.0]]])
    p = probabilities(views, temperature=2.0)
    expected = (1 / (1 + math.exp(-1.0)) + 0.5) / 2
    assert p[0, 0] == pytest.approx(expected)
    assert p.sum() == pytest.approx(1.0)


def test_reliability_bins_and_ece_by_hand():
    conf = [0.55, 0.58, 0.95, 0.97]
    correct = [True, False, True, True]
    bins = reliability_bins(conf, correct, bins=10)
    assert [(b["low"], b["count"]) for b in bins] == [(0.5, 2), (0.9, 2)]
    assert bins[0]["accuracy"] == 0.5 and bins[0]["confidence"] == pytest.approx(0.565)
    # 0.5·|0.5 − 0.565| + 0.5·|1 − 0.96|
    assert expected_calibration_error(conf, correct, bins=10) == pytest.approx(0.5 * 0.065 + 0.5 * 0.04)
    assert math.isnan(expected_calibration_error([], []))


def test_uncertain_level_separates_wrong_answers_from_right_ones():
    # right answers all sure (≥ 0.8), wrong ones unsure (< 0.7): any level in (0.7, 0.8] catches every
    # error and flags no right answer; the lowest such level on the grid is chosen
    conf = [0.62, 0.66, 0.69, 0.81, 0.85, 0.9, 0.95, 0.99]
    correct = [False, False, False, True, True, True, True, True]
    level = choose_uncertain_level(conf, correct)
    assert level == pytest.approx(0.70)
    assert flag_rates(conf, correct, level) == (1.0, 3 / 8)
    assert choose_uncertain_level([0.9, 0.8], [True, True]) == 0.5  # nothing to catch: the floor


def test_training_stores_a_temperature_the_classifier_applies(tmp_path):
    from training.checkpoint import load_checkpoint
    from training.config import TrainConfig
    from training.engine import fit
    from training.inference import GenderClassifier

    from .synthetic import make_gender_folder, pattern_image

    data = make_gender_folder(tmp_path / "data", counts={"female": 16, "male": 24}, split=True)
    config = TrainConfig(task="gender", epochs=2, batch_size=8, input_size=32, lr=3e-3, patience=0, workers=0,
                         start="none", out_dir=str(tmp_path / "runs"), run_name="cal", label_smoothing=0.2)
    result = fit("gender", [data], config)
    best = load_checkpoint(result.best_path, task="gender")
    t = best["temperature"]
    assert isinstance(t, float) and 0.05 < t < 20
    assert 0.5 <= best["uncertain_below"] < 1
    metrics = best["metrics"]
    assert metrics["val_ece"] <= metrics["val_ece_uncalibrated"] + 1e-9  # fitted on the very same images
    assert {"before", "after", "temperature"} <= set(metrics["val_calibration"])
    assert "test_ece" in metrics and "test_calibration" in metrics  # the held-out val/ folder, scored calibrated

    classifier = GenderClassifier.load(result.best_path)
    assert classifier.temperature == t and classifier.uncertain_below == best["uncertain_below"]
    image = pattern_image(1, seed=3, size=32)
    calibrated = classifier.predict([image])[0].probability
    classifier.temperature = 1.0
    raw = classifier.predict([image])[0].probability
    # a temperature above 1 moves every confidence towards 0.5, one below 1 away from it
    assert (0.5 <= calibrated <= raw) if t > 1 else (calibrated >= raw)
    assert calibrated != pytest.approx(raw, abs=1e-6) or t == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("value, expected", [(None, 1.0), (-1.0, 1.0), (float("inf"), 1.0), ("2", 1.0), (2.5, 2.5)])
def test_malformed_temperatures_fall_back_to_one(value, expected):
    from training.calibration import valid_temperature

    assert valid_temperature(value) == expected


def test_an_early_stopped_run_still_gets_its_final_report_and_calibration(tmp_path, monkeypatch):
    from training.checkpoint import load_checkpoint
    from training.config import TrainConfig
    from training.engine import fit
    from training.tasks.gender import GenderSetup

    from .synthetic import make_gender_folder

    scores = iter([0.6, 0.5, 0.5, 0.5, 0.5])  # best at epoch 1, then flat: patience 1 stops after epoch 2
    real = GenderSetup.evaluate
    monkeypatch.setattr(GenderSetup, "evaluate",
                        lambda self, stop: {**real(self, stop), "val_balanced_accuracy": next(scores)})
    data = make_gender_folder(tmp_path / "data", counts={"female": 8, "male": 12}, split=True)
    config = TrainConfig(task="gender", epochs=5, batch_size=8, input_size=32, patience=1, workers=0,
                         start="none", out_dir=str(tmp_path / "runs"), run_name="early")
    result = fit("gender", [data], config)
    assert result.stop_reason == "early_stopping" and len(result.history) == 2
    best = load_checkpoint(result.best_path, task="gender")
    assert "temperature" in best and "test_report" in best["metrics"]  # the early stop is not a Cancel
