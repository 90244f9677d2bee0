"""The wizard's Qt-free pieces: batch coalescing, folder checks and run folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faceapp.core.wizard.datacheck import check_folder
from faceapp.core.wizard.forwarder import ProgressForwarder
from faceapp.core.wizard.runs import (
    SELECTION,
    list_runs,
    read_run,
    write_metrics_csv,
    write_run_source,
)
from tests.synthetic import make_gender_folder, make_identity_folder
from training.data import DataError

ROOT = Path(__file__).resolve().parents[2]

class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_forwarder_sends_every_batch_but_at_most_20_times_a_second():
    sent, clock = [], Clock()
    forwarder = ProgressForwarder(lambda kind, payload: sent.append((kind, payload)), max_rate=20, clock=clock)
    forwarder.on_train_start({"batches": 1000})
    for epoch in (1, 2):
        for batch in range(1, 1001):
            clock.now += 0.001  # 1000 batches a second
            forwarder.on_batch_end({"epoch": epoch, "batch": batch, "batches": 1000, "loss": 1.0,
                                    "smoothed_loss": 1.0, "lr": 0.1})
        forwarder.on_epoch_end({"epoch": epoch})
    forwarder.on_train_end(None)
    batches = [p for kind, p in sent if kind == "batches"]
    delivered = [(b["epoch"], b["batch"]) for chunk in batches for b in chunk]
    assert delivered == [(e, b) for e in (1, 2) for b in range(1, 1001)]  # every point, in order
    assert len(batches) <= 2 * (20 + 1) + 2  # ~20 sends per simulated second, plus an epoch-end flush each
    kinds = [kind for kind, _ in sent]
    assert kinds[0] == "start" and kinds.count("epoch") == 2
    assert kinds[kinds.index("epoch") - 1] == "batches"  # an epoch's batches arrive before its epoch point


def test_forwarder_sends_slow_batches_at_once():
    sent, clock = [], Clock()
    forwarder = ProgressForwarder(lambda kind, payload: sent.append(payload), clock=clock)
    for batch in (1, 2, 3):
        clock.now += 1.0
        forwarder.on_batch_end({"batch": batch})
    assert [[b["batch"] for b in chunk] for chunk in sent] == [[1], [2], [3]]


def test_gender_check_counts_split_and_imbalance(tmp_path):
    folder = make_gender_folder(tmp_path / "g", {"female": 6, "male": 24})
    report = check_folder("gender", folder, val_fraction=0.25, seed=0)
    rows = dict(report.rows)
    assert rows["Training images"] == "6 female · 24 male"
    assert "no val/ folder" in rows["Held-out test set"] and "whole people" in rows["Validation split"]
    assert report.warnings[0].startswith("Imbalanced: 4.0 'male' images per 'female' image")
    assert {caption for _, caption in report.samples} == {"female", "male"}


def test_matcher_check_without_distortion_folders_previews_generated_probes(tmp_path):
    report = check_folder("matcher", make_identity_folder(tmp_path / "p", people=5, photos=2))
    assert dict(report.rows)["Identities"] == "5 people, 5 with two or more photos"
    assert "generated on the fly" in report.notes[0]
    assert len(report.probes) == 4 and not any(premade for *_, premade in report.probes)


def test_check_reports_unreadable_files_and_still_passes(tmp_path):
    folder = make_gender_folder(tmp_path / "g", {"female": 4, "male": 4})
    (folder / "male" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    report = check_folder("gender", folder)
    assert [Path(p).name for p, _ in report.unreadable] == ["broken.jpg"]
    with pytest.raises(DataError, match="exactly two classes"):
        check_folder("gender", make_gender_folder(tmp_path / "one", {"female": 3}))


def _fake_run(folder: Path, task: str, rows: list[dict], finished: str | None) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"task": task, "epochs": 5}), encoding="utf-8")
    write_metrics_csv(folder / "metrics.csv", rows)
    (folder / "train.log").write_text("epoch 1: ...\n" + (f"x finished ({finished}); best\n" if finished else ""),
                                      encoding="utf-8")
    (folder / "best.pt").write_bytes(b"")
    return folder


def test_runs_are_listed_with_their_best_epoch_and_status(tmp_path):
    _fake_run(tmp_path / "a", "gender", [{"epoch": 1, "val_balanced_accuracy": 0.5},
                                         {"epoch": 2, "val_balanced_accuracy": 1.0}], "early_stopping")
    _fake_run(tmp_path / "b", "matcher", [{"epoch": 1, "val_auc": 0.7}], None)
    write_run_source(tmp_path / "b", "matcher", ["/data/people"])
    (tmp_path / "not-a-run").mkdir()
    runs = {r.name: r for r in list_runs(tmp_path)}
    assert set(runs) == {"a", "b"}
    a, b = runs["a"], runs["b"]
    assert a.best["epoch"] == 2 and a.best["val_balanced_accuracy"] == 1.0  # "1" in the CSV is read as 1.0
    assert a.stop_reason == "early_stopping" and a.epochs_done == 2 and a.epochs_planned == 5
    assert b.stop_reason == "unfinished" and b.data == ["/data/people"] and b.score_name == "AUC"
    assert read_run(tmp_path / "not-a-run") is None


def test_selection_matches_the_core():
    from training.tasks import SETUPS

    assert SELECTION == {task: setup.selection for task, setup in SETUPS.items()}


def test_a_run_s_best_epoch_is_the_one_the_engine_saved(tmp_path):
    # epoch 3 scores highest, but beats epoch 2 by less than min_delta: best.pt holds epoch 2
    _fake_run(tmp_path / "a", "matcher", [{"epoch": 1, "val_auc": 0.8}, {"epoch": 2, "val_auc": 0.9},
                                          {"epoch": 3, "val_auc": 0.9005}], "completed")
    run = read_run(tmp_path / "a")
    assert run.min_delta == 1e-3 and run.best["epoch"] == 2


@pytest.mark.parametrize("new, active, verdict, recommended", [
    (0.50, 0.96, "chance", False),  # a 1-epoch run that calls everyone the same
    (0.90, 0.96, "worse", False),
    (0.955, 0.96, "similar", True),
    (0.98, 0.96, "better", True),
    (0.98, None, "unknown", True),  # no active model, or one without a stored score
    (None, 0.96, "unknown", True),
])
def test_a_new_model_is_judged_against_the_active_one(new, active, verdict, recommended):
    from faceapp.core.wizard.adoption import Adoption

    adoption = Adoption("balanced accuracy", new, active, "gender.pt")
    assert adoption.verdict == verdict and adoption.recommended == recommended
    assert bool(adoption.warning()) == (not recommended)


def test_the_comparison_reads_both_scores_from_the_run_and_the_active_checkpoint(tmp_path):
    from faceapp.core.wizard.adoption import compare_with_active

    _fake_run(tmp_path / "a", "gender", [{"epoch": 1, "val_balanced_accuracy": 0.5}], "completed")
    adoption = compare_with_active(read_run(tmp_path / "a"), {"metrics": {"val_balanced_accuracy": 0.962}},
                                   "the bundled model")
    assert (adoption.new, adoption.active, adoption.verdict) == (0.5, 0.962, "chance")
    assert adoption.comparison() == ("Validation balanced accuracy: this run 0.500; the active model, the bundled "
                                     "model, 0.962 (each on its own run's validation data).")
    assert compare_with_active(read_run(tmp_path / "a"), None, "").comparison() == \
        "Validation balanced accuracy: this run 0.500."


def test_only_a_run_folder_of_the_runs_folder_is_deleted(tmp_path):
    from faceapp.core.wizard.runs import delete_run, run_size

    run = _fake_run(tmp_path / "runs" / "a", "gender", [{"epoch": 1, "val_balanced_accuracy": 0.7}], "completed")
    (run / "best.pt").write_bytes(b"x" * 1000)
    assert run_size(run) >= 1000
    photos = tmp_path / "runs" / "my photos"
    photos.mkdir()
    (photos / "me.jpg").write_bytes(b"jpeg")
    for wrong in (photos, tmp_path / "runs", run / ".." / ".." / "runs" / "a" / "..", tmp_path / "elsewhere"):
        with pytest.raises(ValueError, match="is not a training run"):
            delete_run(wrong, tmp_path / "runs")
    assert (photos / "me.jpg").exists()
    delete_run(run, tmp_path / "runs")
    assert not run.exists() and (photos / "me.jpg").exists()
