"""Work around a PySide6 6.12.0 reference-count bug: on Python < 3.12 `SignalInstance.emit()` returns `True` without
owning a reference, so every emit from Python drops one reference to `True` and a long job (one emit per image)
crashes the interpreter with "bool_dealloc: deallocating True or False".

`install()` measures whether this PySide6 has the bug and, only then, wraps `emit` to restore the missing
reference. Harmless where the bug is absent (nothing is patched) and on Python >= 3.12 (`True` is immortal).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBES = 16
_installed = False


class _Probe(QObject):
    ping = Signal()


def emit_drops_references() -> bool:
    if sys.version_info >= (3, 12):
        return False  # bools are immortal: a missing reference cannot free them
    probe = _Probe()
    result = probe.ping.emit()
    if not isinstance(result, bool):
        return False
    before = sys.getrefcount(result)
    for _ in range(_PROBES):
        probe.ping.emit()
    lost = before - sys.getrefcount(result)
    if lost > 0:  # give back what the probe itself took
        for _ in range(lost):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))
    return lost >= _PROBES


def install() -> bool:
    """Patch `SignalInstance.emit` when (and only when) it drops references; True when patched."""
    global _installed
    if _installed or not emit_drops_references():
        return _installed
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            incref(result)
        return result

    SignalInstance.emit = emit
    _installed = True
    return True


install()
