"""Logging to a rotating file in the app data folder; uncaught exceptions are logged, not fatal."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

from faceapp.core.messages import user_message

FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir, level: int = logging.INFO) -> Path:
    """Send the root logger to `<log_dir>/faceapp.log` (1 MB x 3 files); return the file's path."""
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "faceapp.log"
    root = logging.getLogger()
    if not any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    return path


def install_excepthook(report) -> None:
    """Log uncaught exceptions with their trace and pass one sentence to `report(message)`; the trace
    also goes to stderr when there is one (started from a terminal; a frozen windowed app has none)."""
    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        logging.getLogger("faceapp").error("uncaught exception", exc_info=(exc_type, exc, tb))
        if sys.stderr is not None:
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        try:
            report(user_message(exc))
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            pass

    sys.excepthook = hook
