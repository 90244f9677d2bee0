"""Reading the project's CSV lists: rows as dicts, and paths relative to a root or the CSV's folder."""
from __future__ import annotations

import csv
from pathlib import Path

from .errors import DataError


def read_rows(csv_path, root=None) -> tuple[list[dict], Path]:
    """(rows, base folder for relative paths); a clear DataError when the file cannot be read."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise DataError(f"cannot read {csv_path}: {exc.strerror or exc}") from exc
    return rows, Path(root) if root else csv_path.parent


def resolve(path_text: str, base: Path) -> Path:
    path = Path(path_text)
    return path if path.is_absolute() else base / path
