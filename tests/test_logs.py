"""faceapp.core.logs: the log file and the hook for uncaught exceptions."""

import logging
import sys

from faceapp.core.logs import install_excepthook, setup_logging


def test_an_uncaught_exception_is_logged_reported_and_printed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    handlers = list(logging.getLogger().handlers)
    try:
        log_file = setup_logging(tmp_path / "logs")
        reported = []
        install_excepthook(reported.append)
        try:
            raise FileNotFoundError(2, "No such file or directory", "/photos/gone.jpg")
        except FileNotFoundError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert "uncaught exception" in log_file.read_text() and "gone.jpg" in log_file.read_text()
        assert len(reported) == 1 and "gone.jpg" in reported[0] and "Traceback" not in reported[0]
        err = capsys.readouterr().err
        assert "Traceback" in err and "FileNotFoundError" in err  # a developer at a terminal sees it too
        monkeypatch.setattr(sys, "stderr", None)  # a frozen windowed app: no console, still no crash
        try:
            raise ValueError("no console")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        assert len(reported) == 2
    finally:
        for handler in set(logging.getLogger().handlers) - set(handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()
