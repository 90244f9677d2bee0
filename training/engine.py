"""The one training loop for both tasks: `fit(task, data, config, callbacks, stop)`.

Callbacks are plain objects with any of `on_train_start(info)`, `on_batch_end(info)`,
`on_epoch_end(info)`, `on_train_end(result)`, `on_exception(exc)`; `info` is a plain dict. The `stop`
flag (anything with `is_set()`/`set()`) is checked before every batch; Cancel sets it, and the loop ends
cleanly with the best checkpoint kept. Early stopping ends the loop without it, so the final report (the
held-out test set, the gender model's calibration) still runs after an early stop.

Started by torchrun, the same loop runs in every process (training/distributed.py): each trains on its
share of the epoch through DistributedDataParallel, rank 0 alone validates, writes the run folder and
calls the callbacks, and every decision to stop is agreed so that all processes leave together.
"""
from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import distributed
from .checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from .config import TrainConfig
from .device import resolve_device
from .run_dir import RunDir
from .schedule import apply_now
from .selection import EarlyStopping
from .step import TrainingStep
from .tasks import SETUPS
from .transforms import IMAGENET_MEAN, IMAGENET_STD

StopFlag = threading.Event


@dataclass
class FitResult:
    run_dir: Path
    best_path: Path | None
    last_path: Path | None
    best_metrics: dict
    history: list[dict]
    stop_reason: str  # completed | early_stopping | cancelled | time_limit
    report: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)  # (path, reason) of unreadable files


def _emit(callbacks, hook: str, payload) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(payload)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _steps_per_epoch(setup, config) -> int:
    loader = setup.train_loader(0)
    n = len(loader)
    return distributed.min_over_ranks(min(n, config.max_batches) if config.max_batches else n)


def _quiet(message: str) -> None:
    """The log of ranks other than 0: rank 0 tells the story once."""


def fit(task: str, data, config: TrainConfig | None = None, callbacks=(), stop=None) -> FitResult:
    """Train `task` ("gender" | "matcher") on `data` (sources or a prepared data object)."""
    config = config or TrainConfig(task=task)
    if config.task != task:
        config = TrainConfig.from_dict({**config.to_dict(), "task": task})
    stop = stop if stop is not None else StopFlag()
    callbacks = list(callbacks) if distributed.is_main() else []
    try:
        result = _fit(task, data, config, callbacks, stop)
    except BaseException as exc:
        _emit(callbacks, "on_exception", exc)
        raise
    distributed.finish()
    return result


def _open_run(config, resume) -> RunDir | None:
    """The run folder, opened by rank 0 only (None elsewhere: the other ranks write nothing)."""
    if not distributed.is_main():
        return None
    return RunDir.for_resume(config.resume) if resume else RunDir.create(config.out_dir, config.task,
                                                                          config.run_name)


def _fit(task, data, config, callbacks, stop) -> FitResult:
    device = distributed.start(resolve_device(config.device))
    seed_everything(distributed.rank_seed(config.seed))
    resume = load_checkpoint(RunDir.last_of(config.resume), task=task) if config.resume else None
    main, run = distributed.is_main(), _open_run(config, resume)
    run_path = Path(distributed.on_main(lambda: str(run.path)))
    log = run.log if main else _quiet
    setup = SETUPS[task](data, config, device, log)
    model = setup.model.to(device)
    steps = _steps_per_epoch(setup, config)
    step = TrainingStep.build(setup, config, device, steps)
    early = EarlyStopping(config.patience, config.min_delta)  # ends the loop itself: `stop` means Cancel
    history: list[dict] = []
    start_epoch, best_metrics = 1, {}
    if resume:
        start_epoch, history, best_metrics = _restore(resume, step, early)
        log(f"resumed from epoch {start_epoch - 1} of {run_path}")
    if main:
        config.save_json(run.path / "config.json")
    meta = dict(task=task, input_size=config.input_size,
                normalization={"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
                framing=setup.framing.to_dict())
    info = {"task": task, "device": str(device), "amp": step.use_amp, "epochs": config.epochs,
            "batches": steps, "run_dir": str(run_path), "description": setup.description(),
            "skipped": list(setup.skipped), "start_epoch": start_epoch}
    log(setup.description())
    if distributed.is_distributed():
        log(distributed.describe(config.batch_size))
    _emit(callbacks, "on_train_start", info)
    best_path = run_path / "best.pt" if best_metrics else None
    began, timed_out = time.perf_counter(), False
    for epoch in range(start_epoch, config.epochs + 1):
        if stop.is_set() or early.triggered:
            break
        if distributed.on_main(lambda epoch=epoch: _past_limit(config, began, epoch, start_epoch)):  # rank 0's clock
            timed_out = True
            log(f"stopping before epoch {epoch}: it would end past the {config.time_limit:g}-minute limit")
            break
        t0 = time.perf_counter()
        train_loss, seen = _train_epoch(setup, step, epoch, steps, callbacks, stop)
        if stop.is_set():
            break  # cancelled mid-epoch: keep the last complete epoch's checkpoints
        raw = _swap_in_average(model, step.ema) if main else None  # evaluate (and keep) the averaged weights
        metrics, cancelled = distributed.on_main(lambda: (setup.evaluate(stop), stop.is_set()))
        if cancelled:
            stop.set()  # on every rank
        if stop.is_set():
            break
        row = {"epoch": epoch, "train_loss": train_loss, **metrics, "lr": step.lr,
               "epoch_seconds": time.perf_counter() - t0, "train_samples": seen}
        history.append(row)
        improved = early.update(metrics[setup.selection])
        if step.plateau is not None and step.plateau.step(metrics[setup.selection]):
            apply_now(step.scheduler)  # the schedule's factor includes the cut; the next batch trains with it
        if improved:
            best_metrics, best_path = dict(row), run_path / "best.pt"
        if not main:
            continue  # rank 0 writes the checkpoints and the log, and calls the callbacks
        ckpt_args = dict(meta, **setup.checkpoint_meta(metrics), config=config.to_dict(), history=history,
                         epoch=epoch)
        if improved:
            save_checkpoint(best_path, make_checkpoint(
                model, metrics=best_metrics, extra={"train_data": setup.description(), "device": str(device)},
                **ckpt_args))
        if config.snapshot_every and epoch % config.snapshot_every == 0:  # the evaluated (averaged) weights
            save_checkpoint(run.path / "snapshots" / f"epoch_{epoch:04d}.pt",
                            make_checkpoint(model, metrics=row, **ckpt_args))
        if raw is not None:
            model.load_state_dict(raw)  # last.pt holds the raw weights, to resume training from
        state = {"optimizer_state": step.optimizer.state_dict(), "scheduler_state": step.scheduler.state_dict(),
                 "best_metrics": best_metrics, "early_best": early.best, "early_bad_epochs": early.bad_epochs,
                 "extra_modules": {k: m.state_dict() for k, m in step.saved_modules.items() if k != "model"},
                 "train_data": setup.description(), "device": str(device)}
        if step.plateau is not None:  # its best score, bad epochs and cuts, so a resumed run cuts on time
            state["plateau_state"] = step.plateau.state_dict()
        save_checkpoint(run.path / "last.pt", make_checkpoint(model, metrics=row, extra=state, **ckpt_args))
        run.append_metrics(row)
        log(_epoch_line(row, setup.selection, improved))
        _emit(callbacks, "on_epoch_end", {**row, "best": improved, "selection": setup.selection,
                                          "best_value": early.best, "epochs": config.epochs})
    reason = ("early_stopping" if early.triggered else "cancelled" if stop.is_set()
              else "time_limit" if timed_out else "completed")
    report = _final_report(setup, best_path, task, stop, log) if reason != "cancelled" and main else {}
    result = FitResult(run_path, best_path, run_path / "last.pt" if history else None, best_metrics, history,
                       reason, report, list(setup.skipped))
    log(f"finished ({reason}); best {setup.selection} = {best_metrics.get(setup.selection, float('nan')):.4f}")
    _emit(callbacks, "on_train_end", result)
    return result


def _past_limit(config, began: float, epoch: int, start_epoch: int) -> bool:
    """Whether the next epoch would end past the time limit, at the mean pace of the epochs so far."""
    return bool(config.time_limit and epoch > start_epoch and (time.perf_counter() - began) / (
        epoch - start_epoch) * (epoch - start_epoch + 1) > config.time_limit * 60)


def _swap_in_average(model, ema):
    """Load the averaged weights into `model`; returns the raw weights to put back (None without EMA)."""
    if ema is None:
        return None
    raw = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(ema.module.state_dict())
    return raw


def _train_epoch(setup, step: TrainingStep, epoch, steps, callbacks, stop) -> tuple[float, int]:
    step.train_mode()
    total, count, seen = 0.0, 0, 0
    smoothed = None
    for batch_index, batch in enumerate(distributed.lockstep(setup.train_loader(epoch), stop), start=1):
        if stop.is_set() or batch_index > steps:
            break
        if batch is None:
            continue
        value = step(batch)
        if not math.isfinite(value):
            raise FloatingPointError(f"the training loss became {value} in epoch {epoch}; try a lower learning rate")
        total, count, seen = total + value, count + 1, seen + len(batch[0])
        smoothed = value if smoothed is None else 0.9 * smoothed + 0.1 * value
        _emit(callbacks, "on_batch_end", {"epoch": epoch, "batch": batch_index, "batches": steps, "loss": value,
                                          "smoothed_loss": smoothed, "lr": step.lr})
    total, count, seen = distributed.sum_over_ranks(total, count, seen)  # the epoch over every rank
    return total / max(count, 1), int(seen)


def _restore(ckpt, step: TrainingStep, early):
    modules = step.saved_modules
    modules["model"].load_state_dict(ckpt["state_dict"])
    for name, state in ckpt.get("extra_modules", {}).items():
        if name in modules:
            modules[name].load_state_dict(state)
    step.optimizer.load_state_dict(ckpt["optimizer_state"])
    step.scheduler.load_state_dict(ckpt["scheduler_state"])
    if step.plateau is not None and ckpt.get("plateau_state"):
        step.plateau.load_state_dict(ckpt["plateau_state"])
    early.best, early.bad_epochs = ckpt.get("early_best", -math.inf), ckpt.get("early_bad_epochs", 0)
    return int(ckpt["epoch"]) + 1, list(ckpt.get("history", [])), dict(ckpt.get("best_metrics", {}))


def _final_report(setup, best_path, task, stop, log) -> dict:
    """Score the best model on held-out data and store the report in best.pt."""
    if best_path is None:
        return {}
    best = load_checkpoint(best_path, task=task)
    setup.model.load_state_dict(best["state_dict"])
    report = setup.final_report(stop)
    # Keys of their own, not metrics: the matcher's score distributions, the gender model's calibration.
    fields = report.pop("checkpoint_fields", {})
    best.update(fields)
    if report or fields:
        # the weights the report describes: the matcher's report calibrates its pair head in place
        best["state_dict"] = {k: v.detach().to("cpu", copy=True).to(best["state_dict"][k].dtype)
                              for k, v in setup.model.state_dict().items()}
        best["metrics"] = {**best["metrics"], **report}
        if "val_threshold" in report:
            best["threshold"] = float(report["val_threshold"])
        save_checkpoint(best_path, best)
        if "test_report" in report:
            log("held-out test set:\n" + report["test_report"])
    return report


def _epoch_line(row: dict, selection: str, improved: bool) -> str:
    shown = ", ".join(f"{k}={v:.4f}" for k, v in row.items()
                      if isinstance(v, float) and k not in ("epoch_seconds",))
    return f"epoch {row['epoch']}: {shown} ({row['epoch_seconds']:.1f}s){' *best*' if improved else ''}"
