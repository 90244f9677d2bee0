"""Model selection: early stopping and which epoch `fit` keeps as best.pt.

Plain Python (no torch), so the app's wizard can replay the rule on a run's history at start-up.
"""

from __future__ import annotations

import math

# The validation metric each task's best.pt maximises (the tasks' `selection`; the wizard reads it too).
SELECTION = {"gender": "val_balanced_accuracy", "matcher": "val_auc"}


class EarlyStopping:
    """`triggered` after `patience` epochs without an improvement larger than `min_delta` (and the stop
    flag set, when one is given)."""

    def __init__(self, patience: int, min_delta: float, stop=None):
        self.patience, self.min_delta, self.stop = patience, min_delta, stop
        self.best = -math.inf
        self.bad_epochs = 0
        self.triggered = False

    def update(self, value: float) -> bool:
        """Record an epoch's score; True when it is a new best."""
        if value > self.best + self.min_delta:
            self.best, self.bad_epochs = value, 0
            return True
        self.bad_epochs += 1
        if self.patience > 0 and self.bad_epochs >= self.patience:
            self.triggered = True
            if self.stop is not None:
                self.stop.set()
        return False


def best_epoch(history: list[dict], selection: str, min_delta: float) -> dict | None:
    """The history row `fit` saved as best.pt: replays EarlyStopping's rule (a new best must beat the
    previous one by more than `min_delta`), so a later epoch with a smaller gain is not the best."""
    tracker, best = EarlyStopping(0, min_delta, stop=None), None
    for row in history:
        value = row.get(selection)
        if isinstance(value, (int, float)) and tracker.update(float(value)):
            best = row
    return best
