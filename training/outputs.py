"""Check where a command will write before it does any work, so a long run never ends in a traceback.

Each check writes and removes a probe file where the output will go: the only test that answers the
same for every user, every file system (read-only mounts, full disks, network shares) and root.
"""
from __future__ import annotations

import tempfile
from pathlib import Path


class OutputError(Exception):
    """An output location that cannot be written; the message is one sentence for the user."""


def _probe(folder: Path, what: str) -> None:
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write the {what} into {folder} ({exc.strerror or exc})") from exc


def check_output_file(path, what: str = "output file") -> Path:
    """`path` can be written: its folder exists and takes files, and it is not itself a folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name for the {what}")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"the folder {folder} for the {what} does not exist")
    _probe(folder, what)
    return path


def check_output_folder(path, what: str = "output folder") -> Path:
    """`path` exists as a folder that takes files, made (with its parents) if it was missing."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(f"{path} is a file, not a folder, so it cannot hold the {what}") from exc
    except OSError as exc:
        raise OutputError(f"cannot make the {what} {path} ({exc.strerror or exc})") from exc
    _probe(path, what)
    return path
