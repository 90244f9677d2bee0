"""Training calibrates the matcher's pair head on its validation pairs (`MatcherTask.calibrate_head`)."""
import numpy as np
import pytest
import torch

from training.config import default_config


def _config(tmp_path, **overrides):
    return default_config("matcher", epochs=2, batch_size=4, input_size=32, workers=0, pairs_per_epoch=128,
                          val_pairs=128, out_dir=str(tmp_path / "runs"), warmup_epochs=0, lr=2e-3,
                          scheduler="none", val_fraction=0.3, max_severity=1, clean_probe_fraction=0.5,
                          start="none", **overrides)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from training.tasks.matcher import MatcherSetup

    from .synthetic import make_identity_folder

    tmp = tmp_path_factory.mktemp("calibrate")
    data = make_identity_folder(tmp / "ids", people=6, photos=3, size=32)
    lines = []
    made = MatcherSetup([str(data)], _config(tmp), torch.device("cpu"), lines.append)
    made.logged = lines
    return made


def _head(model):
    return model.head.weight.detach().clone(), model.head.bias.detach().clone()


def _labels_for(logits, scale, offset, seed=0):
    p = 1 / (1 + np.exp(-(scale * logits + offset)))
    return (np.random.default_rng(seed).random(logits.size) < p).astype(int)


def test_the_head_takes_the_fitted_scale_and_offset(setup):
    z = np.random.default_rng(1).normal(0, 2, 6000)
    labels = _labels_for(z, 2.0, -1.0)
    e1, e2 = torch.randn(5, 128), torch.randn(5, 128)
    before_logits = setup.model.score_embeddings(e1, e2).detach()
    weight, bias = _head(setup.model)
    calibrated, info = setup.calibrate_head(labels, z)
    try:
        fitted = info["val_calibration"]
        assert fitted["scale"] == pytest.approx(2.0, abs=0.15) and fitted["offset"] == pytest.approx(-1.0, abs=0.15)
        assert fitted["loss_after"] < fitted["loss_before"]
        assert np.allclose(calibrated, fitted["scale"] * z + fitted["offset"])
        # the network itself now scores every pair as a * z + c
        after_logits = setup.model.score_embeddings(e1, e2).detach()
        assert torch.allclose(after_logits, fitted["scale"] * before_logits + fitted["offset"], atol=1e-4)
        assert "pair head calibrated on 6000 validation pairs" in setup.logged[-1]
    finally:
        with torch.no_grad():
            setup.model.head.weight.copy_(weight)
            setup.model.head.bias.copy_(bias)


@pytest.mark.parametrize("case, message", [("backwards", "backwards"), ("flat", "hardly differ")])
def test_scores_that_cannot_be_calibrated_leave_the_head_as_it_was(setup, case, message):
    z = np.random.default_rng(2).normal(0, 2, 4000)
    labels = _labels_for(z, -1.5 if case == "backwards" else 1.5, 0.0)
    if case == "flat":  # a model that has learnt almost nothing: its logits differ by 1e-5
        z = 3.0 + 1e-5 * z
    weight, bias = _head(setup.model)
    calibrated, info = setup.calibrate_head(labels, z)
    assert info == {} and calibrated is z
    assert torch.equal(setup.model.head.weight, weight) and torch.equal(setup.model.head.bias, bias)
    assert message in setup.logged[-1]


def test_best_checkpoint_holds_the_calibrated_head_and_its_threshold(tmp_path, monkeypatch):
    """The report's calibration reaches best.pt: its head scores the validation pairs so that the stored
    threshold is again the most accurate one (benchmarks.recalibrate re-scores them from the checkpoint).
    The tiny test network's logits are too flat to calibrate for real, so the fit is fixed at (2, -1)."""
    from benchmarks.recalibrate import recalibrate
    from training.checkpoint import load_checkpoint
    from training.engine import fit
    from training.tasks import matcher

    from .synthetic import make_identity_folder

    monkeypatch.setattr(matcher, "fit_platt", lambda logits, labels: (2.0, -1.0))
    data = make_identity_folder(tmp_path / "ids", people=12, photos=4, size=32)
    result = fit("matcher", [data], _config(tmp_path))
    best = load_checkpoint(result.best_path, task="matcher")
    assert best["metrics"]["val_calibration"]["scale"] == 2.0
    again = recalibrate(best, [str(data)], log=lambda line: None)
    assert again["threshold"] == pytest.approx(best["threshold"], abs=1e-3)
    assert again["metrics"]["val_accuracy"] == best["metrics"]["val_accuracy"]


@pytest.mark.parametrize("calibrated", [True, False])
def test_the_results_page_says_whether_the_probabilities_were_calibrated(trained_matcher, tmp_path, calibrated):
    from faceapp.core.wizard.results import load_results
    from training.checkpoint import load_checkpoint, save_checkpoint

    _, result = trained_matcher
    ckpt = load_checkpoint(result.best_path, task="matcher")
    ckpt["metrics"].pop("val_calibration", None)
    if calibrated:
        ckpt["metrics"]["val_calibration"] = {"scale": 1.5, "offset": 0.2, "loss_before": 0.6, "loss_after": 0.5}
    save_checkpoint(tmp_path / "best.pt", ckpt)
    source = load_results(tmp_path / "best.pt").source
    assert source.startswith("validation pairs") and ("probabilities calibrated" in source) == calibrated
