"""Runs `training.engine.fit` on a worker thread and turns its callbacks into queued Qt signals.

The only Qt adapter of the training loop: `ProgressForwarder` (Qt-free) coalesces batch reports on the
training thread and hands them to `_relay`, a signal of this GUI-thread object, so every slot runs on the
GUI thread. Cancel sets the same stop flag early stopping uses; `fit` checks it before every batch.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from faceapp.core.messages import user_message
from faceapp.core.wizard.forwarder import ProgressForwarder
from faceapp.core.wizard.runs import write_run_source
from faceapp.ui.workers import GeneratorWorker, WorkerPool
from training.data import DataError
from training.device import is_out_of_memory

log = logging.getLogger(__name__)
CORE_ERRORS = ("DataError", "StartWeightsError", "WeightsUnavailableError", "CheckpointError", "ImageLoadError",
               "FloatingPointError", "ValueError", "RuntimeError")


def error_sentence(exc: BaseException | None, fallback: str = "") -> str:
    """The core's own sentence for errors a user can fix (as the CLI prints them); else the app's wording."""
    if exc is None:
        return fallback
    if is_out_of_memory(exc):
        return "The GPU ran out of memory; lower the batch size or the input size, or train on the CPU."
    if isinstance(exc, DataError) or type(exc).__name__ in CORE_ERRORS:
        text = str(exc).strip()
        return text[:1].upper() + text[1:] if text else type(exc).__name__
    return user_message(exc)


class _LogRelay(logging.Handler):
    """Sends the training loggers' lines (what train.log gets) to the log pane."""

    def __init__(self, send):
        super().__init__(logging.INFO)
        self.send = send
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.send("log", self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break training
            self.handleError(record)


def run_fit(task: str, data: list[str], config, callbacks, stop, send):
    """Worker side: `fit` with the log relayed and the data sources noted in the run folder."""
    from training.engine import fit

    logger = logging.getLogger("training")
    relay, level = _LogRelay(send), logger.level
    logger.addHandler(relay)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)

    class NoteSources:
        def on_train_start(self, info):
            write_run_source(info["run_dir"], task, data)

    try:
        return fit(task, data, config, callbacks=[NoteSources(), *callbacks], stop=stop)
    finally:
        logger.removeHandler(relay)
        logger.setLevel(level)


class TrainingRun(QObject):
    """One training run at a time: `start`, `cancel`, and signals that always arrive on the GUI thread."""

    started = Signal(dict)  # on_train_start info
    batches = Signal(list)  # batch infos, in order, coalesced
    epoch = Signal(dict)  # on_epoch_end info
    log_line = Signal(str)
    finished = Signal(object)  # FitResult
    failed = Signal(str, str)  # one sentence, the trace
    ended = Signal()  # after finished or failed
    _relay = Signal(str, object)

    def __init__(self, pool: WorkerPool, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool
        self.stop = threading.Event()
        self.worker: GeneratorWorker | None = None
        self.cancel_requested = False
        self._relay.connect(self._dispatch)

    @property
    def running(self) -> bool:
        return self.worker is not None and not self.worker.is_done

    def start(self, task: str, data: list[str], config, extra_callbacks=()) -> None:
        if self.running:
            raise RuntimeError("a training run is already going")
        self.stop = threading.Event()
        self.cancel_requested = False
        forwarder = ProgressForwarder(self._relay.emit)
        worker = GeneratorWorker(run_fit, task, list(data), config, [forwarder, *extra_callbacks], self.stop,
                                 self._relay.emit)
        worker.signals.finished.connect(self.finished)
        worker.signals.errored.connect(lambda e: self.failed.emit(error_sentence(e.exception, e.message), e.trace))
        worker.signals.ended.connect(self.ended)
        self.worker = worker
        self.pool.start(worker)

    def cancel(self) -> None:
        """Stop within a batch; `fit` keeps the best checkpoint of the completed epochs."""
        if self.running:
            self.cancel_requested = True
            self.stop.set()

    def wait(self, timeout_s: float) -> bool:
        return self.worker is None or self.worker.wait(timeout_s)

    def _dispatch(self, kind: str, payload) -> None:
        signal = {"start": self.started, "batches": self.batches, "epoch": self.epoch, "log": self.log_line}[kind]
        signal.emit(payload)
