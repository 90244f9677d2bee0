"""Why a checkpoint file could not be read safely, found from its structure and never by running it.

`torch.load(weights_only=True)` refuses a file for several reasons with messages that change between
torch releases. The app needs to tell the user which one it was: a truncated copy, a damaged file, a
file that is not a PyTorch file at all, or a complete file that names Python objects (whose unpickling
could run code). This module reads the archive and walks the pickle's opcodes (`pickletools`, which
executes nothing) to tell them apart.
"""
from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path

_ZIP_MAGIC = b"PK\x03\x04"
_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
# What a weights-only checkpoint names: tensor rebuilding, storages, dtypes, OrderedDict.
_SAFE_MODULES = ("torch", "collections", "builtins", "_codecs")
REFUSED = "refused: it contains Python objects, which FaceApp never loads"


def pickle_globals(data: bytes) -> list[str] | None:
    """`module.name` of every global the pickle refers to, or None when the stream is damaged or cut."""
    strings: list[str] = []
    found: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name in _STRINGS:
                strings.append(str(arg))
            elif op.name == "GLOBAL":
                found.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            elif op.name == "STOP":
                return found
    except Exception:  # noqa: BLE001 - any parse failure means the same: a damaged stream
        return None
    return None


def _main_pickle(path: Path) -> bytes | str:
    """The pickle that holds the checkpoint dict, or the sentence that says why there is none."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != _ZIP_MAGIC:
        if head[:1] == b"\x80":  # the legacy (pre-1.6) format starts with a pickle
            return path.read_bytes()
        return "is not a PyTorch file"
    if not zipfile.is_zipfile(path):
        return "is truncated (an incomplete copy or download)"
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n == "data.pkl" or n.endswith("/data.pkl")), None)
            if name is None:
                return "is not a PyTorch file"
            return archive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError):
        return "is corrupt"


def why_unreadable(path) -> str:
    """One phrase to follow the file's name: why the weights-only reader refused it."""
    try:
        data = _main_pickle(Path(path))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if isinstance(data, str):
        return data
    names = pickle_globals(data)
    if names is None:
        return "is corrupt"
    unsafe = [n for n in names if n.split(".", 1)[0] not in _SAFE_MODULES]
    # A complete pickle the weights-only reader refused: what it names is the reason.
    return REFUSED + (f" ({unsafe[0]})" if unsafe else "")
