"""faceapp.ui.qt_compat: PySide6 6.12.0 on Python < 3.12 drops a reference to None per void-method call and
to True per emit; a long session must not run them down to zero (the interpreter aborts when it does)."""

import subprocess
import sys

import pytest

CALLS = 300_000  # far more references than a fresh interpreter holds to None or True

LOOPS = {
    "void methods": "o = QObject()\nfor _ in range(CALLS): o.setObjectName('x')",
    "emit": "class P(QObject):\n    s = Signal()\np = P()\nfor _ in range(CALLS): p.s.emit()",
}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_a_long_session_of_qt_calls_does_not_free_none_or_true(loop):
    code = (f"import faceapp.ui.qt_compat\nfrom PySide6.QtCore import QObject, Signal\nCALLS = {CALLS}\n"
            f"{LOOPS[loop]}\nprint('survived')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-500:]
