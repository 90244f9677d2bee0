"""Work around PySide6 6.12.0's reference-count bug on Python < 3.12.

There, a method that returns None (every void Qt method: `setText`, `setForeground`, ...) and
`SignalInstance.emit()` (which returns True) hand back an object without owning a reference, so each call
drops one reference to None or True. Over a session the interpreter then dies with "none_dealloc:
deallocating None" (or "bool_dealloc"): tagging dropped ~0.6 references a photo, and re-deciding a
1,000-identity gallery on one slider step 2,000 (two calls a row), against ~130,000 that None holds in the app.

pyproject excludes 6.12.0 on those Pythons. For an environment that has it anyway, `install()` measures
the leak and, only then, makes None, True and False immortal, as Python 3.12 does for all three: their
reference counts get 2**40 added, which no session can use up. Nothing changes where the bug is absent.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_PROBES = 16
IMMORTAL = 1 << 40
_installed = False


class _Probe(QObject):
    ping = Signal()


def _lost_per_call(obj, call) -> float:
    call()
    before = sys.getrefcount(obj)
    for _ in range(_PROBES):
        call()
    return (before - sys.getrefcount(obj)) / _PROBES


def drops_references() -> bool:
    """True when void methods lose references to None or emit() to True (the 6.12.0 bug)."""
    if sys.version_info >= (3, 12):
        return False  # None, True and False are immortal: a missing reference cannot free them
    probe = _Probe()
    return _lost_per_call(None, lambda: probe.setObjectName("probe")) >= 1 \
        or _lost_per_call(True, probe.ping.emit) >= 1


def _immortalize(obj) -> bool:
    """Add IMMORTAL to `obj`'s reference count, where the count is the object's first field (CPython's
    layout in every build without Py_TRACE_REFS); checked against sys.getrefcount before writing."""
    count = ctypes.c_ssize_t.from_address(id(obj))
    if count.value != sys.getrefcount(obj) - 1:  # getrefcount holds one reference of its own
        return False
    count.value += IMMORTAL
    return True


def install() -> bool:
    """Make None, True and False immortal when (and only when) this PySide6 drops references to them."""
    global _installed
    if not _installed and drops_references():
        _installed = all([_immortalize(None), _immortalize(True), _immortalize(False)])
    return _installed


install()
