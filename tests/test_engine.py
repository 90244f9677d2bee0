"""The training loop: learning, cancel, early stopping, resume, run folder contents.

Tests of the loop's own rules (early stopping, resume, the learning-rate schedule) train the tiny stand-in
networks (`tiny_networks`); those that check learning, the real networks' checkpoints or reproducibility
train the real ones."""
import csv
import threading

import pytest
import torch

from training.checkpoint import load_checkpoint
from training.config import TrainConfig
from training.engine import fit
from training.inference import FaceMatcher, GenderClassifier

from .callbacks import Recorder
from .synthetic import make_gender_folder, pattern_image


def gender_config(tmp_path, **kw):
    values = dict(task="gender", epochs=3, batch_size=8, input_size=32, lr=3e-3, patience=0, workers=0,
                  out_dir=str(tmp_path / "runs"), val_fraction=0.25, warmup_epochs=0, scheduler="none")
    values.update(kw)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def gender_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("g")
    data = make_gender_folder(tmp / "data", counts={"female": 24, "male": 60}, split=True)
    rec = Recorder()
    result = fit("gender", [data], gender_config(tmp, epochs=4), callbacks=[rec])
    return result, rec, data


def test_gender_training_learns_and_reports(gender_run):
    result, rec, _ = gender_run
    assert result.stop_reason == "completed"
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0]
    assert result.best_metrics["val_balanced_accuracy"] > 0.75  # chance is 0.5
    assert result.report["test_balanced_accuracy"] > 0.75
    assert set(result.report["test_per_class"]) == {"female", "male"}
    # one callback per batch and per epoch, in order
    assert len(rec.epochs) == 4 and [e["epoch"] for e in rec.epochs] == [1, 2, 3, 4]
    assert len(rec.batches) == sum(1 for _ in rec.batches) and rec.batches[0]["batches"] >= 1
    assert len(rec.batches) == 4 * rec.batches[0]["batches"]
    assert rec.ended == [result] and rec.started[0]["device"] == "cpu"


def test_run_folder_and_checkpoint_contents(gender_run):
    result, _, _ = gender_run
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"config.json", "metrics.csv", "best.pt", "last.pt", "train.log"} <= files
    with open(result.run_dir / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3, 4] and "val_balanced_accuracy" in rows[0]
    best = load_checkpoint(result.best_path, task="gender")
    assert best["classes"] == ["female", "male"] and best["input_size"] == 32
    assert best["config"]["batch_size"] == 8 and "test_report" in best["metrics"]
    assert "optimizer_state" not in best and "optimizer_state" in load_checkpoint(result.last_path)
    clf = GenderClassifier.load(result.best_path)
    preds = clf.predict([pattern_image(0, 999), pattern_image(1, 998)])
    assert [p.label for p in preds] == ["female", "male"]


def test_training_is_reproducible_on_cpu(tmp_path):
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    runs = [fit("gender", [data], gender_config(tmp_path, epochs=1, run_name=f"r{i}")) for i in range(2)]
    assert runs[0].history[0]["train_loss"] == runs[1].history[0]["train_loss"]


def test_cancel_stops_within_one_batch_and_keeps_best(tmp_path):
    data = make_gender_folder(tmp_path / "d", counts={"female": 16, "male": 24})
    stop = threading.Event()

    class CancelInEpochTwo(Recorder):
        def on_batch_end(self, info):
            super().on_batch_end(info)
            if info["epoch"] == 2 and info["batch"] == 1:
                stop.set()

    rec = CancelInEpochTwo()
    result = fit("gender", [data], gender_config(tmp_path, epochs=5), callbacks=[rec], stop=stop)
    assert result.stop_reason == "cancelled"
    assert [b["epoch"] for b in rec.batches].count(2) == 1  # no batch ran after the cancel
    assert len(result.history) == 1 and result.best_path.exists()
    assert load_checkpoint(result.best_path)["epoch"] == 1


def test_early_stopping_ends_the_run(tmp_path, tiny_networks):
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    # no score can beat the first by more than 1.0, so patience 2 stops after epoch 3
    result = fit("gender", [data], gender_config(tmp_path, epochs=10, patience=2, min_delta=1.0))
    assert result.stop_reason == "early_stopping" and len(result.history) == 3


def test_resume_continues_from_last_checkpoint(tmp_path, tiny_networks):
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    first = fit("gender", [data], gender_config(tmp_path, epochs=1))
    resumed = fit("gender", [data], gender_config(tmp_path, epochs=2, resume=str(first.run_dir)))
    assert resumed.run_dir == first.run_dir
    assert [row["epoch"] for row in resumed.history] == [1, 2]
    assert resumed.history[0] == first.history[0]


def test_matcher_training_learns_easy_identities(trained_matcher):
    _, result = trained_matcher
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    # 4 unseen people, 64 same + 64 different pairs: chance gives 0.5 +- 0.05. Seeds 0-5 give 0.81-0.93.
    assert result.best_metrics["val_auc"] > 0.75
    assert "none" in result.report["val_per_condition"]  # clean probes, reported beside the distorted ones
    ckpt = load_checkpoint(result.best_path, task="matcher")
    assert 0.0 < ckpt["threshold"] < 1.0 and ckpt["threshold"] == result.report["val_threshold"]
    matcher = FaceMatcher.load(result.best_path)
    assert matcher.embed([pattern_image(0, 1)]).shape == (1, 128)


def test_unreadable_training_files_are_skipped_and_reported(tmp_path):
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    (data / "male" / "broken_0001.jpg").write_bytes(b"\xff\xd8garbage")
    result = fit("gender", [data], gender_config(tmp_path, epochs=1))
    assert [p for p, _ in result.skipped] == [str(data / "male" / "broken_0001.jpg")]
    assert result.stop_reason == "completed"


def test_cuda_request_without_gpu_is_a_clear_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    data = make_gender_folder(tmp_path / "d", counts={"female": 4, "male": 4})
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        fit("gender", [data], gender_config(tmp_path, device="cuda"))


def test_weight_averaging_keeps_the_average_as_best_and_raw_weights_for_resume(tmp_path):
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    result = fit("gender", [data], gender_config(tmp_path, epochs=1, ema=0.5, batch_size=4))
    best, last = load_checkpoint(result.best_path), load_checkpoint(result.last_path)
    assert "ema" in last["extra_modules"]
    key = "fc.3.weight"
    assert not torch.equal(best["state_dict"][key], last["state_dict"][key])
    assert torch.allclose(best["state_dict"][key], last["extra_modules"]["ema"]["module." + key])


def test_plateau_schedule_cuts_the_learning_rate_when_the_score_stalls(tmp_path, monkeypatch, tiny_networks):
    from training.tasks.gender import GenderSetup

    monkeypatch.setattr(GenderSetup, "evaluate", lambda self, stop: {"val_loss": 1.0, "val_balanced_accuracy": 0.5})
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    result = fit("gender", [data], gender_config(tmp_path, epochs=5, scheduler="plateau", lr=1e-3))
    lrs = [row["lr"] for row in result.history]  # each row's lr is the one its epoch trained with
    assert lrs[:4] == pytest.approx([1e-3] * 4) and lrs[4] == pytest.approx(3e-4)


def test_a_resumed_plateau_schedule_cuts_the_learning_rate_on_time(tmp_path, monkeypatch, tiny_networks):
    from training.tasks.gender import GenderSetup

    monkeypatch.setattr(GenderSetup, "evaluate", lambda self, stop: {"val_loss": 1.0, "val_balanced_accuracy": 0.5})
    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    first = fit("gender", [data], gender_config(tmp_path, epochs=2, scheduler="plateau", lr=1e-3))
    resumed = fit("gender", [data], gender_config(tmp_path, epochs=5, scheduler="plateau", lr=1e-3,
                                                  resume=str(first.run_dir)))
    lrs = [row["lr"] for row in resumed.history]  # as without the break: 3 stalled epochs after the best
    assert lrs[:4] == pytest.approx([1e-3] * 4) and lrs[4] == pytest.approx(3e-4)


def test_best_epoch_follows_the_early_stopping_rule():
    from training.selection import best_epoch

    rows = [{"epoch": 1, "s": 0.5}, {"epoch": 2, "s": float("nan")}, {"epoch": 3, "s": 0.7},
            {"epoch": 4, "s": 0.7005}, {"epoch": 5}]
    assert best_epoch(rows, "s", 1e-3)["epoch"] == 3
    assert best_epoch(rows, "s", 0.0)["epoch"] == 4
    assert best_epoch([{"epoch": 1}], "s", 1e-3) is None


@pytest.mark.parametrize("minority_augmentation, says", [(True, "minority class 'female' gets wider crops"),
                                                          (False, "the same augmentation for every class")])
def test_the_recorded_training_data_says_which_augmentation_was_used(tmp_path, minority_augmentation, says):
    from training.tasks.gender import GenderSetup

    data = make_gender_folder(tmp_path / "d", counts={"female": 8, "male": 12})
    config = gender_config(tmp_path, minority_augmentation=minority_augmentation)
    setup = GenderSetup([data], config, torch.device("cpu"), log=lambda message: None)
    assert says in setup.description()
    assert (setup.train_set.strong_transform is not None) == minority_augmentation
