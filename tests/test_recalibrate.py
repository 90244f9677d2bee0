"""benchmarks.recalibrate rebuilds a matcher's own validation pairs and re-picks its threshold."""
import pytest

from benchmarks.recalibrate import main, recalibrate
from training.checkpoint import load_checkpoint, save_checkpoint
from training.inference import FaceMatcher


@pytest.fixture(scope="module")
def trained(trained_matcher):
    return trained_matcher


def test_recalibration_rebuilds_the_same_validation_pairs(trained):
    data, result = trained
    ckpt = load_checkpoint(result.best_path, task="matcher")
    lines = []
    out = recalibrate(ckpt, [str(data)], log=lines.append)
    # the same code on the same pairs: the same scores, so the same threshold and AUC (training picked its
    # threshold on the calibrated logits a * z + c in float64; the checkpoint's rescaled head computes them in
    # float32, which can move the pick between two scores a rounding error apart, never the accuracy)
    assert out["threshold"] == pytest.approx(ckpt["threshold"], abs=1e-3)
    assert out["metrics"]["val_accuracy"] == ckpt["metrics"]["val_accuracy"]
    assert out["metrics"]["val_auc"] == pytest.approx(result.best_metrics["val_auc"], abs=1e-9)
    assert out["metrics"]["before_recalibration"]["val_threshold"] == ckpt["metrics"]["val_threshold"]
    assert "128 validation pairs" in lines[-1]


def test_recalibration_follows_a_change_in_how_faces_are_scored(trained, tmp_path):
    data, result = trained
    ckpt = load_checkpoint(result.best_path, task="matcher")
    shift = 0.75  # as if the head's bias had changed: every score moves, so the best threshold moves too
    ckpt["state_dict"] = dict(ckpt["state_dict"], **{"head.bias": ckpt["state_dict"]["head.bias"] + shift})
    path = tmp_path / "shifted.pt"
    save_checkpoint(path, ckpt)
    assert main([str(path), str(data), "-o", str(tmp_path / "out.pt")]) == 0
    recalibrated = FaceMatcher.load(tmp_path / "out.pt")
    assert recalibrated.threshold > ckpt["threshold"] + 0.01
    assert recalibrated.meta["metrics"]["before_recalibration"]["val_threshold"] == pytest.approx(ckpt["threshold"])
