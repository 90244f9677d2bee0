"""Worker threads: model work must leave the CPU to the GUI thread when both want it."""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from faceapp.ui.workers import BACKGROUND_NICE, GeneratorWorker, WorkerPool


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _nice_here_and_in_a_started_thread() -> tuple[int, int]:
    with ThreadPoolExecutor(1) as executor:  # as tag_folder's preparation threads are started
        return _nice(), executor.submit(_nice).result()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="nice values are per thread on Linux only")
def test_workers_and_the_threads_they_start_run_below_the_gui_threads_priority(qtbot):
    gui_before = _nice()
    pool = WorkerPool(max_threads=1)
    worker = GeneratorWorker(_nice_here_and_in_a_started_thread)
    with qtbot.waitSignal(worker.signals.finished, timeout=60_000) as finished:  # a ceiling
        pool.start(worker)
    own, started = finished.args[0]
    assert own >= BACKGROUND_NICE
    assert started == own  # inherited: OpenMP's and the preparation pool's threads run as low
    assert _nice() == gui_before  # the GUI thread keeps its priority
    assert pool.shutdown(60_000)  # a ceiling: it returns as soon as the thread is done
