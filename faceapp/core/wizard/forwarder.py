"""A `fit()` callback that forwards progress as plain dicts, coalescing per-batch reports (Qt-free).

It runs on the training thread. `send(kind, payload)` is called with kind "start" (the start info),
"batches" (a list of every batch info since the last send) or "epoch" (the epoch info); the end of the
run needs no message (the worker's own finished signal says it).
Batch reports are sent at most `max_rate` times a second, yet no batch is lost: they are buffered and sent
together, so the chart still gets one point per batch while the GUI's event loop gets few events.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class ProgressForwarder:
    def __init__(self, send: Callable[[str, object], None], max_rate: float = 20.0, clock=time.monotonic):
        self.send = send
        self.interval = 1.0 / max_rate
        self.clock = clock
        self._pending: list[dict] = []
        self._last_sent = -math.inf
        self.sends = 0  # how many "batches" messages went out (for tests and the benchmark)

    def on_train_start(self, info: dict) -> None:
        self.send("start", dict(info))

    def on_batch_end(self, info: dict) -> None:
        self._pending.append(dict(info))
        now = self.clock()
        if now - self._last_sent >= self.interval:
            self.flush(now)

    def on_epoch_end(self, info: dict) -> None:
        self.flush()
        self.send("epoch", dict(info))

    def on_train_end(self, result) -> None:
        self.flush()

    def on_exception(self, exc: BaseException) -> None:
        self.flush()

    def flush(self, now: float | None = None) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._last_sent = self.clock() if now is None else now
        self.sends += 1
        self.send("batches", batch)
