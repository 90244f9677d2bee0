"""Run generators and callables off the GUI thread: cancellable generator workers and a latest-request-wins runner.

A worker's generator runs on a pool thread; every `yield` is sent to the GUI thread through the
`yielded` signal and is a cancel point. Exactly one of `finished` / `errored` / `cancelled` follows,
then `ended`. Signal objects live on the GUI thread, so connected slots always run there.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, QThreadPool, QTimer, Signal

from faceapp.core.messages import user_message
from faceapp.ui import qt_compat  # noqa: F401 - guards against PySide6 6.12.0's refcount bug before any Qt call

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerError:
    """What went wrong, as plain data: a sentence for the UI and the trace for the log."""

    message: str
    trace: str
    exception: BaseException | None = None


BACKGROUND_NICE = 5  # Linux nice value of worker threads; the GUI thread keeps its own (normally 0)


def background_priority() -> None:
    """Let the calling (worker) thread yield the CPU to the GUI thread whenever both want it.

    While tagging, the model's threads and the preparation threads keep every core busy; at equal
    priority the GUI thread's longest wait for a core was 18-69 ms per run (QTimer probe while tagging
    500 photos, 2-core VM, 28 runs), with this 13-38 ms (24 runs), at the same throughput. On Linux a
    thread's nice value is its own and the threads it starts inherit it (OpenMP's, the preparation
    pool's, DataLoader processes), so it is set on the pool thread before the job runs. Elsewhere Qt's
    low thread priority is the nearest equivalent. Never raises.
    """
    try:
        if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
            tid = threading.get_native_id()
            if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        else:
            thread, low = QThread.currentThread(), QThread.Priority.LowPriority
            if thread is not None and thread.priority().value > low.value:
                thread.setPriority(low)
    except (OSError, RuntimeError):  # e.g. a sandbox that forbids it: run at normal priority
        log.debug("could not lower the worker thread's priority", exc_info=True)


class WorkerSignals(QObject):
    started = Signal()
    yielded = Signal(object)
    finished = Signal(object)  # the generator's return value
    errored = Signal(object)  # WorkerError
    cancelled = Signal()
    ended = Signal()  # always last


class GeneratorWorker:
    """Iterate `func(*args, **kwargs)` (a generator, or a plain callable whose result is `finished`).

    Not a QRunnable: the pool runs the bound `run` method through Qt's own auto-deleted runnable, so
    Python garbage collection can never free a runnable that Qt is still finishing.
    """

    def __init__(self, func: Callable, *args, **kwargs):
        self.signals = WorkerSignals()
        self._func, self._args, self._kwargs = func, args, kwargs
        self._cancel = threading.Event()
        self._done = threading.Event()

    # GUI thread ----------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    # pool thread ---------------------------------------------------------
    def run(self) -> None:
        signals = self.signals
        background_priority()
        try:
            signals.started.emit()
            result = self._iterate()
            if self._cancel.is_set():
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)
        except BaseException as exc:  # report everything, never kill the pool thread
            log.error("worker %s failed", getattr(self._func, "__name__", self._func), exc_info=True)
            signals.errored.emit(WorkerError(user_message(exc), traceback.format_exc(), exc))
        finally:
            self._done.set()
            signals.ended.emit()

    def _iterate(self):
        if self._cancel.is_set():
            return None
        output = self._func(*self._args, **self._kwargs)
        if not isinstance(output, Iterator):
            return output
        try:
            while True:
                if self._cancel.is_set():
                    return None
                try:
                    item = next(output)
                except StopIteration as stop:
                    return stop.value
                self.signals.yielded.emit(item)
        finally:
            output.close()


class WorkerPool(QObject):
    """Starts workers on its own thread pool and keeps them alive until they end; stops them all on close."""

    def __init__(self, max_threads: int = 4, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._active: set[GeneratorWorker] = set()

    def start(self, worker: GeneratorWorker) -> GeneratorWorker:
        self._active.add(worker)
        worker.signals.ended.connect(lambda w=worker: self._active.discard(w))
        self.pool.start(worker.run)
        return worker

    def run(self, func: Callable, *args, **kwargs) -> GeneratorWorker:
        return self.start(GeneratorWorker(func, *args, **kwargs))

    @property
    def active(self) -> int:
        return len(self._active)

    def cancel_all(self) -> None:
        for worker in list(self._active):
            worker.cancel()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Ask every worker to stop and wait up to `timeout_ms`; True when all stopped in time."""
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)


class LatestRunner(QObject):
    """Runs one callable at a time; a newer request replaces a pending one and stale results are dropped.

    `submit` is debounced by `debounce_ms`, so dragging a slider starts one job when the hand rests.
    """

    result = Signal(object)
    errored = Signal(object)  # WorkerError
    busy_changed = Signal(bool)

    def __init__(self, pool: WorkerPool, debounce_ms: int = 150, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = pool
        self._generation = 0
        self._pending: tuple | None = None
        self._running: GeneratorWorker | None = None
        self._debounce_ms = debounce_ms
        self._timer = QTimer(self, singleShot=True, interval=debounce_ms)
        self._timer.timeout.connect(self._start_pending)

    @property
    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    def submit(self, func: Callable, *args, delay_ms: int | None = None, **kwargs) -> int:
        """Run `func(*args, **kwargs)` after `delay_ms` (default: the runner's debounce) without a newer submit."""
        self._generation += 1
        self._pending = (self._generation, func, args, kwargs)
        if self._running is not None:
            self._running.cancel()  # it still ends; its result is stale and dropped
        self._timer.start(self._debounce_ms if delay_ms is None else delay_ms)
        self.busy_changed.emit(True)
        return self._generation

    def cancel(self) -> None:
        self._generation += 1
        self._pending = None
        self._timer.stop()
        if self._running is not None:
            self._running.cancel()
        else:
            self.busy_changed.emit(False)

    def _start_pending(self) -> None:
        if self._running is not None or self._pending is None:
            return  # the running job's `ended` starts the pending one
        generation, func, args, kwargs = self._pending
        self._pending = None
        worker = GeneratorWorker(func, *args, **kwargs)
        worker.signals.finished.connect(lambda value, g=generation: self._deliver(g, value))
        worker.signals.errored.connect(lambda error, g=generation: self._fail(g, error))
        worker.signals.ended.connect(self._ended)
        self._running = worker
        self._pool.start(worker)  # WorkerPool.start keeps it alive

    def _deliver(self, generation: int, value) -> None:
        if generation == self._generation:
            self.result.emit(value)

    def _fail(self, generation: int, error: WorkerError) -> None:
        if generation == self._generation:
            self.errored.emit(error)

    def _ended(self) -> None:
        self._running = None
        if self._pending is not None and not self._timer.isActive():
            self._start_pending()
        if not self.busy:
            self.busy_changed.emit(False)
