"""The learning-rate schedule: one LambdaLR per run whose factor is warm-up × (cosine or constant) × the
plateau cuts so far. One scheduler owns the optimizer's learning rate; the plateau rule only changes a
number that the factor reads (two torch schedulers on one optimizer would overwrite each other)."""
from __future__ import annotations

import math


class PlateauCut:
    """Multiply the learning rate by `factor` once the selection score (higher is better) has not
    improved by a relative `threshold` for more than `patience` epochs (torch's ReduceLROnPlateau rule,
    mode "max"). Its state is plain numbers, kept in last.pt so a resumed run cuts on time."""

    def __init__(self, factor: float = 0.3, patience: int = 2, threshold: float = 1e-4):
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.scale, self.best, self.bad_epochs = 1.0, -math.inf, 0

    def step(self, score: float) -> bool:
        """Record an epoch's score; True when this epoch cut the learning rate."""
        if score > self.best * (1 + self.threshold):
            self.best, self.bad_epochs = score, 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs <= self.patience:
            return False
        self.scale *= self.factor
        self.bad_epochs = 0
        return True

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.scale = float(state.get("scale", 1.0))
        self.best = float(state.get("best", -math.inf))
        self.bad_epochs = int(state.get("bad_epochs", state.get("num_bad_epochs", 0)))


def lr_factor(scheduler: str, warmup_epochs: int, epochs: int, steps_per_epoch: int, plateau: PlateauCut | None):
    """The LambdaLR factor at each optimizer step: linear warm-up, then cosine decay to 2 % ("cosine") or
    constant, times the plateau cuts so far."""
    warm = warmup_epochs * steps_per_epoch
    total = max(1, epochs * steps_per_epoch)

    def factor(step: int) -> float:
        cut = plateau.scale if plateau is not None else 1.0
        if step < warm:
            return cut * (step + 1) / warm
        if scheduler != "cosine":
            return cut
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return cut * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))

    return factor


def apply_now(scheduler) -> None:
    """Set the optimizer's learning rates to the factor at the current step (after a plateau cut, so the
    next batch already trains with the cut rate)."""
    factor = scheduler.lr_lambdas[0](scheduler.last_epoch)
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = base * factor
