"""Time per epoch, measured on a few real batches through the task's own setup, loss and optimizer (Qt-free).

Training: a few optimizer steps on the epoch's own loader, after one untimed warm-up step; starting the
loader (worker processes, first batch) is timed apart because every epoch pays it again. Validation: the
task's `evaluate` is run and stopped after a few batches through its stop flag, which the core checks
once per batch. Both are scaled to the real number of batches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from training.config import TrainConfig
from training.device import resolve_device
from training.step import TrainingStep
from training.tasks import SETUPS


@dataclass(frozen=True)
class Estimate:
    seconds_per_epoch: float
    train_batches: int
    seconds_per_batch: float
    validation_seconds: float
    device: str
    measured_batches: int


class _StopAfter:
    """A stop flag that turns on at its (n+1)-th check and notes when each check happened."""

    def __init__(self, n: int, outer=None):
        self.n, self.outer, self.times = n, outer, []

    def is_set(self) -> bool:
        self.times.append(time.perf_counter())
        return len(self.times) > self.n or bool(self.outer is not None and self.outer.is_set())

    def set(self) -> None:
        self.n = -1


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_epoch(task: str, data, config: TrainConfig, batches: int = 3, stop=None) -> Estimate:
    device = resolve_device(config.device)
    setup = SETUPS[task](data, config, device, lambda message: None)
    loader = setup.train_loader(1)
    steps = min(len(loader), config.max_batches) if config.max_batches else len(loader)
    train = TrainingStep.build(setup, config, device, steps)  # the very step `fit` takes, scaler, schedule and all
    train.train_mode()

    def step(batch) -> None:
        train(batch)
        _sync(device)

    began = time.perf_counter()
    batches_iter = (b for b in loader if b is not None)
    first = next(batches_iter, None)
    if first is None:
        raise RuntimeError("no training batch could be read, so there is nothing to measure")
    startup = time.perf_counter() - began  # starting the loader: every epoch pays it again
    step(first)  # warm-up (allocations, kernel choice): paid once per run, so not timed
    warm = time.perf_counter() - began - startup
    marks = [time.perf_counter()]
    for batch in batches_iter:
        if len(marks) > batches or (stop is not None and stop.is_set()):
            break
        step(batch)
        marks.append(time.perf_counter())
    per_batch = (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else warm
    validation = _validation_seconds(setup, config, batches, stop)
    seconds = startup + per_batch * steps + validation
    return Estimate(seconds, steps, per_batch, validation, str(device), len(marks))


def _validation_seconds(setup, config, batches: int, stop) -> float:
    total = len(getattr(setup, "val_items", None) or getattr(setup, "val_pairs", None) or [])
    eval_batches = math.ceil(total / (config.batch_size * 2))  # both tasks evaluate at twice the batch size
    if eval_batches == 0:
        return 0.0
    flag = _StopAfter(min(batches, eval_batches), stop)
    began = time.perf_counter()
    setup.evaluate(flag)
    times = flag.times
    if len(times) < 2:
        return time.perf_counter() - began
    # check k comes after batch k is loaded and batches 1..k-1 are scored
    per_batch = (times[-1] - times[0]) / (len(times) - 1)
    return (times[0] - began) + per_batch * eval_batches
