"""Start-up: the QApplication, where data and settings live, logging, the model store, and the main window."""

from __future__ import annotations

import gc
import logging
import sys
import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from faceapp import APP_NAME, __version__
from faceapp.core.logs import install_excepthook, setup_logging
from faceapp.core.resources import resource_path
from faceapp.core.uptime import seconds_since_process_start
from faceapp.ui import qt_compat  # noqa: F401 - guards against PySide6 6.12.0's refcount bug before any Qt call
from faceapp.ui.data_folder import data_dir, set_app_identity
from faceapp.ui.settings import Settings

log = logging.getLogger(__name__)


GIL_SWITCH_INTERVAL_S = 0.002  # default 0.005: the GUI thread waits less for the GIL while workers run Python


def ensure_app(argv: list[str] | None = None) -> QApplication:
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
    app = QApplication.instance()
    if app is None:
        set_app_identity()
        app = QApplication(list(argv or [APP_NAME]))
    app.setApplicationVersion(__version__)
    icon = resource_path("icons", "faceapp.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


WARM_UP_DELAY_MS = 300  # after the first paint, while the user looks at the window


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (torch, Qt wrappers, the window) out of the cyclic GC's reach.

    A full collection scans every tracked object; with torch imported that took ~200 ms on the GUI
    thread mid-run. Frozen objects are still freed by reference counting; only cycle scans skip them.
    No collection first: after start-up one finds nothing to free (0 objects) and holds the GIL ~160 ms.
    """
    gc.freeze()


def warm_up() -> None:
    """Import the model code the pages do not need to fill in (torchvision alone is ~1.3 s, mostly
    torch._dynamo pulled in by torchvision.ops), then freeze start-up objects. Runs on a background thread
    once the window is up, after the models' metadata, which is why the window comes up that much sooner; a
    job started before it is done waits for the imports on its own worker thread. The GUI thread needs none
    of them until the wizard is opened, which waits for the warm-up (docs/ARCHITECTURE.md, "Start-up")."""
    try:
        from faceapp.core.model_code import import_model_code

        import_model_code()
    except Exception:  # noqa: BLE001 - a broken install shows up, with its reason, when a job needs the module
        log.warning("warming up the model code failed", exc_info=True)
    finally:
        freeze_startup_objects()


def _seconds_since_start() -> float:
    return seconds_since_process_start() or float("nan")


class WarmUpSignals(QObject):
    """What the warm-up thread tells the GUI thread (queued: the slots run on the GUI thread)."""

    models_ready = Signal()  # the models' metadata is read: the pages can fill in
    done = Signal()  # the model code is imported too: the wizard can open without waiting


def start_warm_up(models=None, on_models_ready=None, on_done=None) -> threading.Thread:
    """On a daemon thread: `models.load_metadata()` (torch, ~2 s) then `on_models_ready()`, `warm_up` then
    `on_done()`, the callbacks on the GUI thread. Quitting the app waits for the thread so torch is never
    torn down mid-import."""
    signals = WarmUpSignals()
    for signal, slot in ((signals.models_ready, on_models_ready), (signals.done, on_done)):
        if slot is not None:
            signal.connect(slot, Qt.ConnectionType.QueuedConnection)

    def run() -> None:
        if models is not None:
            models.load_metadata()
            log.info("models ready %.2f s after process start", _seconds_since_start())
            signals.models_ready.emit()
        warm_up()
        log.info("warm-up done %.2f s after process start", _seconds_since_start())
        signals.done.emit()

    thread = threading.Thread(target=run, name="faceapp-warm-up", daemon=True)  # `run` keeps `signals` alive
    thread.start()
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(lambda: thread.join(timeout=30))
    return thread


def create_window(data_folder=None):
    """Build the window with its model store, settings and log (the caller shows it)."""
    # Imported here, not at the top: `ensure_app` is light, so the splash shows before the window's modules.
    from faceapp.core.active_models import ActiveModels
    from faceapp.core.model_store import ModelStore
    from faceapp.ui.main_window import MainWindow

    folder = data_dir(data_folder)
    log_path = setup_logging(folder / "logs")
    settings = Settings()
    # Deferred: the pages read no checkpoint (torch) until the warm-up has read their metadata.
    models = ActiveModels(ModelStore(folder / "models"), device=settings.get("device"), deferred=True)
    window = MainWindow(models, settings, log_path, data_folder=folder)
    install_excepthook(window.show_status)
    log.info("%s %s started; data folder %s", APP_NAME, __version__, folder)
    # The models' metadata, the rest of the model code and gc.freeze() follow once the window is up, on a
    # background thread; the pages that said "Loading models…" fill in after the metadata.
    QTimer.singleShot(WARM_UP_DELAY_MS, lambda: start_warm_up(models, window.models_ready, window.warm_up_done))
    return window
