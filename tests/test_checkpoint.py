"""Checkpoint round trips and every way a checkpoint file can be wrong."""

import collections
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from training.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    checkpoint_summary,
    load_checkpoint,
    make_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from training.models import build_model
from training.transforms import IMAGENET_MEAN, IMAGENET_STD

SIZE = 32
CLASSES = {"gender": ["female", "male"], "matcher": ["different", "same"]}


pytestmark = pytest.mark.usefixtures("one_thread")


class Custom:
    pass


class SneakyDict(collections.OrderedDict):
    pass


def _ckpt(task, model=None, **kw):
    model = model or build_model(task)
    args = dict(
        task=task, classes=CLASSES[task], input_size=SIZE,
        normalization={"mean": IMAGENET_MEAN, "std": IMAGENET_STD}, framing={"face_fraction": 0.45},
        threshold=0.5, metrics={"val_accuracy": np.float64(0.75)}, config={"epochs": 2, "out": Path("runs")},
        history=[{"epoch": 1, "loss": 0.5}], epoch=1,
    )
    args.update(kw)
    return make_checkpoint(model, **args)


def _outputs(model, task):
    torch.manual_seed(1)
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.inference_mode():
        return model(x) if task == "gender" else model(x, x.flip(0))


@pytest.mark.parametrize("task", ["gender", "matcher"])
def test_round_trip_weights_only(tmp_path, task):
    model = build_model(task).eval()
    path = save_checkpoint(tmp_path / f"{task}.pt", _ckpt(task, model))
    raw = torch.load(path, weights_only=True)  # the file is readable without trusting it
    assert raw["format"] == FORMAT and raw["format_version"] == FORMAT_VERSION
    assert set(raw["versions"]) >= {"torch", "torchvision", "python", "faceapp"}
    ckpt = load_checkpoint(path, task=task)
    assert ckpt["metrics"]["val_accuracy"] == 0.75 and ckpt["config"]["out"] == "runs"
    restored = model_from_checkpoint(ckpt)
    assert not restored.training
    assert torch.equal(_outputs(model, task), _outputs(restored, task))


@pytest.mark.parametrize("task", ["gender", "matcher"])
def test_half_storage_round_trip(tmp_path, task):
    model = build_model(task).eval()
    path = save_checkpoint(tmp_path / "half.pt", _ckpt(task, model, half=True))
    raw = torch.load(path, weights_only=True)
    assert {v.dtype for v in raw["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    ckpt = load_checkpoint(path)
    assert {v.dtype for v in ckpt["state_dict"].values() if v.is_floating_point()} == {torch.float32}
    restored = model_from_checkpoint(ckpt)
    assert torch.allclose(_outputs(model, task), _outputs(restored, task), atol=0.05, rtol=0.05)
    assert path.stat().st_size < 0.6 * save_checkpoint(tmp_path / "full.pt", _ckpt(task, model)).stat().st_size


def test_atomic_write_leaves_no_temp_files(tmp_path, monkeypatch):
    ckpt = _ckpt("gender")
    path = save_checkpoint(tmp_path / "run" / "best.pt", ckpt)
    save_checkpoint(path, ckpt)  # overwrite in place
    assert sorted(os.listdir(path.parent)) == ["best.pt"]
    good = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, ckpt)
    assert sorted(os.listdir(path.parent)) == ["best.pt"] and path.read_bytes() == good


def test_non_plain_values_rejected_with_key_path(tmp_path):
    with pytest.raises(TypeError, match=r"\['config'\]\['callback'\]"):
        save_checkpoint(tmp_path / "x.pt", {"config": {"callback": Custom()}})
    with pytest.raises(TypeError, match=r"\['history'\]\[1\]"):
        save_checkpoint(tmp_path / "x.pt", {"history": [1.0, np.float32(2.0)]})
    assert not list(tmp_path.iterdir())


def test_extra_keys_and_optimizer_state_survive(tmp_path):
    model = build_model("gender")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, SIZE, SIZE)).sum().backward()
    optimizer.step()
    extra = {"optimizer_state": optimizer.state_dict(), "train_data": "2 folders", "device": "cpu"}
    path = save_checkpoint(tmp_path / "last.pt", _ckpt("gender", model, extra=extra))
    ckpt = load_checkpoint(path, task="gender")
    torch.optim.AdamW(model.parameters(), lr=1e-3).load_state_dict(ckpt["optimizer_state"])
    with pytest.raises(ValueError, match="standard checkpoint key"):
        _ckpt("gender", model, extra={"classes": ["x"]})


def test_summary_is_plain(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _ckpt("matcher", extra={"train_data": "lfw", "device": "cuda"}))
    summary = checkpoint_summary(load_checkpoint(path))
    json.dumps(summary)
    assert summary["task"] == "matcher" and summary["arch"] == "mobilenet_v2" and summary["threshold"] == 0.5
    assert summary["embedding_dim"] == 128 and summary["device"] == "cuda" and summary["created"]


def _write(path, obj):
    torch.save(obj, path)
    return path


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)
    (tmp_path / "random.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="random.pt is not a PyTorch file"):
        load_checkpoint(tmp_path / "random.pt")
    good = save_checkpoint(tmp_path / "good.pt", _ckpt("gender")).read_bytes()
    for cut in (len(good) // 2, len(good) - 10, 100):
        (tmp_path / "truncated.pt").write_bytes(good[:cut])
        with pytest.raises(CheckpointError, match=r"truncated.pt is truncated \(an incomplete copy or download\)"):
            load_checkpoint(tmp_path / "truncated.pt")


def test_a_damaged_pickle_inside_a_complete_archive_is_corrupt(tmp_path):
    import zipfile

    good = save_checkpoint(tmp_path / "good.pt", _ckpt("gender"))
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "damaged.pt", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl"):
                data = data[: len(data) // 2]  # the pickle stream ends before STOP
            dst.writestr(info, data)
    with pytest.raises(CheckpointError, match="damaged.pt is corrupt"):
        load_checkpoint(tmp_path / "damaged.pt")


class RunsCode:
    """What a malicious checkpoint holds: unpickling it would call a function of the attacker's choice."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


@pytest.mark.parametrize("payload", [Custom(), SneakyDict(a=1), RunsCode()])
def test_arbitrary_objects_refused(tmp_path, payload):
    path = _write(tmp_path / "evil.pt", {"format": FORMAT, "format_version": 1, "x": payload})
    with pytest.raises(CheckpointError, match="refused: it contains Python objects, which FaceApp never loads"):
        load_checkpoint(path)


def test_foreign_newer_wrong_task_incomplete(tmp_path):
    with pytest.raises(CheckpointError, match="not a FaceApp checkpoint"):
        load_checkpoint(_write(tmp_path / "sd.pt", build_model("gender").state_dict()))
    ckpt = torch.load(save_checkpoint(tmp_path / "g.pt", _ckpt("gender")), weights_only=True)
    with pytest.raises(CheckpointError, match="newer FaceApp"):
        load_checkpoint(_write(tmp_path / "future.pt", {**ckpt, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(CheckpointError, match="is a gender checkpoint, not a matcher model"):
        load_checkpoint(tmp_path / "g.pt", task="matcher")
    del ckpt["input_size"]
    with pytest.raises(CheckpointError, match="missing required keys: input_size"):
        load_checkpoint(_write(tmp_path / "incomplete.pt", ckpt))


def test_weights_that_do_not_fit(tmp_path):
    ckpt = _ckpt("gender", classes=["a", "b", "c"], model=build_model("gender"))  # 2-class weights
    with pytest.raises(CheckpointError, match="weights do not fit resnet18"):
        model_from_checkpoint(load_checkpoint(save_checkpoint(tmp_path / "bad.pt", ckpt)))
    ckpt = _ckpt("matcher")
    ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items() if not k.startswith("head.")}
    with pytest.raises(CheckpointError, match="2 missing"):
        model_from_checkpoint(load_checkpoint(save_checkpoint(tmp_path / "nohead.pt", ckpt)))


def test_make_checkpoint_checks_task_against_model():
    with pytest.raises(ValueError, match="mobilenet_v2"):
        _ckpt("matcher", model=build_model("gender"))
