"""FaceApp checkpoint files: build, save atomically, load safely (weights_only) and turn back into models."""

from __future__ import annotations

import dataclasses
import platform
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path, PurePath

import numpy as np
import torch
from torch import nn

import training
from training.atomic import atomic_open
from training.checkpoint_diagnosis import why_unreadable
from training.models import ARCHS, build_model

FORMAT = "faceapp-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("task", "arch", "state_dict", "classes", "input_size", "normalization")
REQUIRED_BY_TASK = {"gender": (), "matcher": ("threshold", "embedding_dim")}
_PLAIN_SCALARS = (str, int, float, bool, type(None))
# What only resuming needs (`last.pt`): the training loop's state, never shipped in an exported model.
RESUME_KEYS = ("optimizer_state", "scheduler_state", "plateau_state", "extra_modules", "best_metrics",
               "early_best", "early_bad_epochs")


class CheckpointError(Exception):
    """A checkpoint file that cannot be used; the message is one sentence naming what is wrong."""


# ---- building and saving ----


def _unwrap(model: nn.Module) -> nn.Module:
    model = getattr(model, "_orig_mod", model)  # torch.compile
    return getattr(model, "module", model)  # DataParallel / DistributedDataParallel


def _to_plain(value):
    """Best-effort conversion of metrics/config values to plain types (numpy scalars, arrays, paths, dataclasses)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(_to_plain(v) for v in value)
    if isinstance(value, (list, tuple)):  # also namedtuples, torch.Size
        return [_to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PurePath):
        return str(value)
    return value


def make_checkpoint(
    model: nn.Module,
    *,
    task: str,
    classes,
    input_size: int,
    normalization: dict,
    framing: dict,
    threshold: float,
    metrics: dict,
    config: dict,
    history: list,
    epoch: int,
    extra: dict | None = None,
    half: bool = False,
    embedding_dim: int | None = None,
) -> dict:
    """The checkpoint dict for model (tensors copied to CPU; half=True stores float tensors as fp16).

    extra adds keys such as "optimizer_state" (for resume), "train_data" or "device"; it may not
    replace a standard key. embedding_dim (matcher) is taken from the model; if given it must agree.
    Numpy scalars/arrays, paths and dataclasses in metrics/config/history/extra become plain values.
    """
    model = _unwrap(model)
    if task not in ARCHS or getattr(model, "arch", None) != ARCHS[task]:
        raise ValueError(f"a {task} checkpoint needs a {ARCHS.get(task, '?')} model, got {type(model).__name__}")
    state = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu", copy=True)
        state[key] = tensor.half() if half and tensor.is_floating_point() else tensor
    ckpt = {
        "task": task,
        "arch": ARCHS[task],
        "state_dict": state,
        "half": bool(half),
        "classes": [str(c) for c in classes],
        "input_size": int(input_size),
        "normalization": {k: [float(v) for v in normalization[k]] for k in ("mean", "std")},
        "framing": _to_plain(dict(framing)),
        "threshold": float(threshold),
        "dropout": float(getattr(model, "dropout", 0.0)),
        "metrics": _to_plain(metrics),
        "config": _to_plain(config),
        "history": _to_plain(list(history)),
        "epoch": int(epoch),
        "start_weights": getattr(model, "start_weights", None),
    }
    if task == "matcher":
        if embedding_dim is not None and int(embedding_dim) != model.embedding_dim:
            raise ValueError(f"embedding_dim {embedding_dim} does not match the model's {model.embedding_dim}")
        ckpt["embedding_dim"] = int(model.embedding_dim)
    for key, value in (extra or {}).items():
        if key in ckpt:
            raise ValueError(f"extra key {key!r} would replace a standard checkpoint key")
        ckpt[key] = _to_plain(value)
    return ckpt


def _check_plain(value, where: str) -> None:
    if isinstance(value, torch.Tensor) and type(value) in (torch.Tensor, nn.Parameter):
        return
    if type(value) in _PLAIN_SCALARS:
        return
    if type(value) in (dict, OrderedDict):  # module/optimizer state_dicts are OrderedDicts
        for key, item in value.items():
            if type(key) not in (str, int):
                where_text = where or "top level"
                raise TypeError(f"checkpoint key {key!r} at {where_text} is a {type(key).__name__}; use str keys")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(
        f"checkpoint value at {where or 'top level'} is a {type(value).__module__}.{type(value).__qualname__}; "
        "checkpoints hold only dict/list/tuple/str/int/float/bool/None/Tensor (convert it, e.g. str(path), x.item())"
    )


def _versions() -> dict:
    import torchvision  # only when saving: reading a checkpoint never needs it

    return {
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "python": platform.python_version(),
        "faceapp": training.__version__,
    }


def save_checkpoint(path, ckpt: dict) -> Path:
    """Validate ckpt (plain types only), stamp format/version/created/versions and write it atomically.
    `created` (when the model was made) is kept if the dict has one: an export or a re-picked threshold
    is the same trained model.

    Written with `training.atomic.atomic_open`, so a crash never leaves a half-written checkpoint under
    the real name.
    """
    if type(ckpt) is not dict:
        raise TypeError(f"a checkpoint is a dict, got {type(ckpt).__name__}")
    _check_plain(ckpt, "")
    out = dict(ckpt)
    out.update(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        created=ckpt.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        versions=_versions(),
    )
    path = Path(path)
    with atomic_open(path, "wb") as f:
        handle = _KeepsWriteError(f)
        try:
            torch.save(out, handle)
        except RuntimeError as exc:  # torch reports a failed write as "unexpected pos 1024 vs 918"
            if handle.error is None:
                raise
            raise OSError(handle.error.errno, handle.error.strerror or str(handle.error), str(path)) from exc
    return path


class _KeepsWriteError:
    """A file handle that keeps the OSError its `write` raised (disk full, permission lost, a share gone):
    torch.save turns it into a RuntimeError that names a byte position, not the reason."""

    def __init__(self, handle):
        self._handle, self.error = handle, None

    def write(self, data):
        try:
            return self._handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name):
        return getattr(self._handle, name)


# ---- loading ----


def _read(path: Path, map_location):
    if not path.exists():
        raise CheckpointError(f"{path} does not exist.")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except MemoryError:
        raise
    except PermissionError as exc:
        raise CheckpointError(f"{path} cannot be read ({exc.strerror or exc}).") from exc
    except Exception as exc:  # refused, truncated, damaged, not torch: the file's structure says which
        raise CheckpointError(f"{path} {why_unreadable(path)}.") from exc


def load_checkpoint(path, task: str | None = None, map_location="cpu") -> dict:
    """Read and validate a FaceApp checkpoint with torch.load(weights_only=True); fp16 weights come back float32.

    Raises CheckpointError (one sentence) for a missing, unreadable, unsafe, foreign, newer,
    wrong-task or incomplete file.
    """
    path = Path(path)
    ckpt = _read(path, map_location)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a FaceApp checkpoint.")
    version = ckpt.get("format_version")
    if type(version) is not int:
        raise CheckpointError(f"{path} has no valid checkpoint format version.")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer FaceApp (checkpoint format {version}; this version reads up to "
            f"{FORMAT_VERSION}), so update FaceApp to load it."
        )
    found_task = ckpt.get("task")
    if found_task not in ARCHS:
        raise CheckpointError(f"{path} is for an unknown task {found_task!r}.")
    if task is not None and found_task != task:
        raise CheckpointError(f"{path} is a {found_task} checkpoint, not a {task} model.")
    missing = [k for k in REQUIRED_KEYS + REQUIRED_BY_TASK[found_task] if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} is missing required keys: {', '.join(missing)}.")
    state = ckpt["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} has a state_dict that is not a dict of tensors.")
    if ckpt.get("half"):
        ckpt["state_dict"] = {k: v.float() if v.dtype == torch.float16 else v for k, v in state.items()}
        ckpt["half"] = False
    return ckpt


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """The network described by a loaded checkpoint, weights loaded strictly, on the CPU, in eval mode."""
    task, arch = ckpt["task"], ckpt["arch"]
    if ARCHS.get(task) != arch:
        raise CheckpointError(f"this {task} checkpoint names arch {arch!r}, which FaceApp does not build for {task}.")
    model = build_model(
        task,
        start="none",
        dropout=float(ckpt.get("dropout", 0.3)),
        embedding_dim=int(ckpt.get("embedding_dim", 128)),
        num_classes=len(ckpt["classes"]),
        freeze_backbone=False,
    )
    own, state = model.state_dict(), ckpt["state_dict"]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    misfit = [k for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or misfit:
        example = (misfit or missing or unexpected)[0]
        raise CheckpointError(
            f"the weights do not fit {arch} ({len(missing)} missing, {len(unexpected)} unexpected and "
            f"{len(misfit)} of the wrong size, e.g. {example})."
        )
    model.load_state_dict(state, strict=True)
    model.start_weights = ckpt.get("start_weights")
    return model.eval()


def checkpoint_summary(ckpt: dict) -> dict:
    """Plain facts about a loaded checkpoint for the app's Models page (no tensors)."""
    config = ckpt.get("config") or {}
    history = ckpt.get("history") or []
    return {
        "task": ckpt.get("task"),
        "arch": ckpt.get("arch"),
        "classes": list(ckpt.get("classes", [])),
        "input_size": ckpt.get("input_size"),
        "threshold": ckpt.get("threshold"),
        "threshold_rule": ckpt.get("threshold_rule"),  # matcher: how an export re-set it (`export --false-match-rate`)
        "score_histograms": ckpt.get("score_histograms"),  # matcher: validation score distributions
        "temperature": ckpt.get("temperature"),  # gender: calibration fitted on validation images
        "uncertain_below": ckpt.get("uncertain_below"),  # gender: the validation-chosen uncertain level
        "embedding_dim": ckpt.get("embedding_dim"),
        "framing": ckpt.get("framing"),
        "metrics": ckpt.get("metrics") or {},
        "created": ckpt.get("created"),
        "epoch": ckpt.get("epoch"),
        "epochs_trained": len(history),
        "train_data": ckpt.get("train_data"),
        "device": ckpt.get("device", config.get("device") if isinstance(config, dict) else None),
        "start_weights": ckpt.get("start_weights"),
        "versions": ckpt.get("versions") or {},
        "format_version": ckpt.get("format_version"),
        "parameters": int(sum(v.numel() for k, v in ckpt.get("state_dict", {}).items()
                              if v.is_floating_point() and ".running_" not in k)),
    }
