"""The command line end to end: help, train both tasks, evaluate, info, export, distort, clear errors."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.checkpoint import load_checkpoint, save_checkpoint
from training.cli import main

from .synthetic import make_gender_folder, make_identity_folder, pattern_image

FAST = ["--input-size", "32", "--epochs", "1", "--batch-size", "8", "--workers", "0", "--warmup-epochs", "0", "-q"]


def test_help_lists_every_command_and_defaults():
    out = subprocess.run([sys.executable, "-m", "training", "--help"], capture_output=True, text=True, check=True)
    for command in ("train-gender", "train-matcher", "evaluate", "distort", "info", "export"):
        assert command in out.stdout
    sub = subprocess.run([sys.executable, "-m", "training", "train-gender", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--patience" in sub and "(default: 5)" in sub and "--start" in sub


def _train(capsys, args):
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_train_evaluate_info_export_gender(tmp_path, capsys):
    data = make_gender_folder(tmp_path / "g", counts={"female": 8, "male": 10}, split=True)
    summary = _train(capsys, ["-q", "train-gender", str(data), "--out-dir", str(tmp_path / "runs"), *FAST[:-1]])
    best = summary["best"]
    assert summary["stop_reason"] == "completed" and load_checkpoint(best)["task"] == "gender"
    report = tmp_path / "eval.json"
    assert main(["-q", "evaluate", best, str(data), "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "balanced accuracy" in out and "gap (points)" in out and "expected calibration error" in out
    written = json.loads(report.read_text())
    assert set(written["per_class"]) == {"female", "male"} and 0 <= written["calibration"]["ece"] <= 1
    assert main(["info", best]) == 0
    assert json.loads(capsys.readouterr().out)["arch"] == "resnet18"
    trained = tmp_path / "trained.pt"
    save_checkpoint(trained, dict(load_checkpoint(best), created="2026-01-02T03:04:05+00:00"))
    small = tmp_path / "small.pt"
    assert main(["export", str(trained), str(small), "--half"]) == 0
    ckpt = load_checkpoint(small)
    assert "optimizer_state" not in ckpt and ckpt["classes"] == ["female", "male"]
    assert ckpt["temperature"] == load_checkpoint(best)["temperature"]  # the calibration ships with the model
    assert ckpt["created"] == "2026-01-02T03:04:05+00:00"  # the same trained model, not a new one


def test_train_and_evaluate_matcher_under_conditions(tmp_path, capsys):
    data = make_identity_folder(tmp_path / "ids", people=6, photos=3)
    summary = _train(capsys, ["-q", "train-matcher", str(data), "--out-dir", str(tmp_path / "runs"),
                              "--pairs-per-epoch", "32", "--val-pairs", "16", *FAST[:-1]])
    assert main(["-q", "evaluate", summary["best"], str(data), "--pairs", "20",
                 "--conditions", "none,blurred"]) == 0
    out = capsys.readouterr().out
    assert "none" in out and "blurred" in out and "threshold" in out


def test_distort_writes_every_condition(tmp_path, capsys):
    src = tmp_path / "face.png"
    pattern_image(0, 1, 64).save(src)
    assert main(["distort", str(src), "-o", str(tmp_path / "out"), "--severity", "4"]) == 0
    assert len(list((tmp_path / "out").glob("face_*_s4.png"))) == 8
    assert main(["distort", str(src), "-o", str(tmp_path / "fog.png"), "--condition", "foggy"]) == 0
    assert (tmp_path / "fog.png").exists()


@pytest.mark.parametrize("args, message", [
    (["train-gender", "/no/such/folder"], "neither a folder nor a CSV"),
    (["info", "/no/such/model.pt"], "does not exist"),
    (["train-gender", "{data}", "--device", "cuda"], "CUDA"),
])
def test_errors_are_one_clear_line(tmp_path, capsys, args, message):
    data = make_gender_folder(tmp_path / "g", counts={"female": 3, "male": 3})
    import torch
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main([a.replace("{data}", str(data)) for a in args] + ["--out-dir", str(tmp_path)]
                if args[0] == "train-gender" else args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_imagenet_start_offline_fails_fast_with_instructions(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    data = make_gender_folder(tmp_path / "g", counts={"female": 3, "male": 3})
    assert main(["train-gender", str(data), "--start", "imagenet", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "resnet18" in err.lower() or "imagenet" in err.lower()
    assert str(tmp_path / "torch") in err


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_the_core_makes_openmp_wait_passively_unless_the_user_chose(preset, expected):
    import os

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    code = "import os, training; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == expected


@pytest.fixture
def blocker(tmp_path):
    """A plain file where a folder is expected: writing under it fails for every user, root included."""
    path = tmp_path / "not_a_folder"
    path.write_text("x")
    return path


@pytest.mark.parametrize("command, message", [
    (["evaluate", "{model}", "{data}", "--json", "{blocker}/m.json"], "for the JSON file does not exist"),
    (["evaluate", "{model}", "{data}", "--json", "{tmp}"], "is a folder; give a file name for the JSON file"),
    (["export", "{model}", "{blocker}/out.pt"], "for the exported checkpoint does not exist"),
    (["distort", "{image}", "-o", "{blocker}/x.png", "--condition", "foggy"], "for the distorted image does not exist"),
    (["distort", "{image}", "-o", "{blocker}/out"], "cannot make the output folder"),
    (["train-gender", "{data}", "--out-dir", "{blocker}/runs"], "cannot make the run folder"),
    (["train-gender", "{data}", "--out-dir", "{blocker}"], "is a file, not a folder"),
])
def test_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys, blocker, command, message):
    data = make_gender_folder(tmp_path / "g", counts={"female": 3, "male": 3})
    model = tmp_path / "model.pt"
    model.write_bytes(b"the output check comes first, so this is never read")
    image = tmp_path / "face.png"
    pattern_image(0, 1, 32).save(image)
    values = {"{model}": model, "{data}": data, "{blocker}": blocker, "{tmp}": tmp_path, "{image}": image}
    args = list(command)
    for key, value in values.items():
        args = [a.replace(key, str(value)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err and err.count("\n") == 1


def test_a_write_that_fails_after_the_checks_is_one_line_too(tmp_path, capsys, monkeypatch):
    src = tmp_path / "face.png"
    pattern_image(0, 1, 32).save(src)

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "fog.png"))

    monkeypatch.setattr("PIL.Image.Image.save", disk_full)
    assert main(["distort", str(src), "-o", str(tmp_path / "fog.png"), "--condition", "foggy"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot write {tmp_path / 'fog.png'} (No space left on device)\n"


def test_export_of_a_last_checkpoint_drops_every_resume_only_key(tmp_path, capsys):
    from training.checkpoint import RESUME_KEYS

    data = make_gender_folder(tmp_path / "g", counts={"female": 6, "male": 6})
    summary = _train(capsys, ["-q", "train-gender", str(data), "--out-dir", str(tmp_path / "runs"),
                              "--scheduler", "plateau", *FAST[:-1]])
    last = Path(summary["run_dir"]) / "last.pt"
    assert {"optimizer_state", "plateau_state", "best_metrics", "early_best"} <= set(load_checkpoint(last))
    assert main(["export", str(last), str(tmp_path / "ship.pt")]) == 0
    shipped = load_checkpoint(tmp_path / "ship.pt")
    assert not set(RESUME_KEYS) & set(shipped) and shipped["task"] == "gender"


def test_export_can_store_the_threshold_at_a_false_match_rate(tmp_path, capsys):
    import numpy as np

    from training.error_rates import ScoreHistograms
    from training.inference import FaceMatcher

    from .cli_helpers import tiny_model

    # strangers score 0 .. 0.7 evenly: a tenth of them at or above 0.63
    rates = ScoreHistograms.from_scores(genuine=np.linspace(0.55, 1.0, 200), impostor=np.linspace(0.0, 0.7, 2000))
    model = tiny_model(tmp_path / "matcher.pt", "matcher", score_histograms=rates.to_dict(), threshold=0.5)
    assert main(["export", str(model), str(tmp_path / "ship.pt"), "--false-match-rate", "0.1"]) == 0
    assert "threshold 0.6300 (was 0.5000)" in capsys.readouterr().out
    shipped = FaceMatcher.load(tmp_path / "ship.pt")
    assert shipped.threshold == pytest.approx(0.63, abs=0.005)
    rule = load_checkpoint(tmp_path / "ship.pt")["threshold_rule"]
    assert rule["false_match_rate"] == pytest.approx(0.1, abs=0.005)
    assert rule["most_accurate_on_validation_pairs"] == 0.5
    assert main(["export", str(tmp_path / "ship.pt"), str(tmp_path / "again.pt")]) == 0  # plain export keeps it
    assert load_checkpoint(tmp_path / "again.pt")["threshold"] == shipped.threshold
    assert main(["export", str(tmp_path / "ship.pt"), str(tmp_path / "twice.pt"), "--false-match-rate", "0.2"]) == 0
    twice = load_checkpoint(tmp_path / "twice.pt")  # re-set again: training's own pick is still the one named
    assert twice["threshold"] < shipped.threshold
    assert twice["threshold_rule"]["most_accurate_on_validation_pairs"] == 0.5

    gender = tiny_model(tmp_path / "gender.pt", "gender")
    with pytest.raises(SystemExit, match="stored score distributions"):
        main(["export", str(gender), str(tmp_path / "g.pt"), "--false-match-rate", "0.1"])
