"""Write files atomically, the one way the whole project does it: a temporary sibling created with the
usual permissions (0666 less the umask, as `open` gives; `mkstemp` would give 0600), written, fsynced,
then `os.replace`d over the real name and the folder fsynced. A reader never sees half a file, and a
failure at any point (disk full, permission lost, cancel) leaves the previous file as it was."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path


def _fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def atomic_open(path, mode: str = "w", **kwargs):
    """Open a temporary sibling of `path` for writing (text "w" or binary "wb"); it replaces `path` only
    if the block succeeds, and is removed otherwise."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
