"""The output of `faceapp-tag`: one CSV row or JSON line per image, each written whole and flushed at once,
and, for --resume, what an earlier (perhaps killed) run already wrote.

Why it survives a kill: every row is one `write` call on an unbuffered file, so a killed run leaves only
whole rows and at most one unfinished last one. Resuming drops that unfinished row (it cuts the file back
to the end of the last complete one) and skips the files the complete rows name: none is lost, none is
written twice. The paths already done are kept as sorted 64-bit hashes, 8 bytes a file, so resuming an
output of millions of rows stays small in memory.
"""

from __future__ import annotations

import csv
import io
import json
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceapp.cli.inputs import stable_hash
from faceapp.core.tagging import TagResult, csv_columns, csv_record, result_record

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


class ResultsFileError(Exception):
    """An output file that cannot be written or resumed; one sentence."""


def output_format(path) -> str:
    """'csv' or 'jsonl', from the file name's ending."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ResultsFileError(f"{Path(path).name}: the output must end in .csv or .jsonl (JSON Lines)")
    return fmt


class DoneSet:
    """Paths already in the output, as sorted 64-bit hashes (two paths sharing a hash: about 1 in 10^7
    for a million files, and the only cost is that one file is not tagged again)."""

    def __init__(self, hashes=()):
        self._hashes = np.unique(np.frombuffer(array("Q", hashes), dtype=np.uint64))

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, path: str) -> bool:
        if not len(self._hashes):
            return False
        value = np.uint64(stable_hash(path))
        at = int(np.searchsorted(self._hashes, value))
        return at < len(self._hashes) and self._hashes[at] == value


@dataclass
class PastRun:
    """What an earlier run left in the output."""

    done: DoneSet
    rows: int = 0
    errors: int = 0  # rows of files that could not be tagged
    end: int = 0  # bytes of whole rows (header included); anything after them is cut off
    dropped: bool = False  # the file ended with an unfinished row (a kill mid-write)


def read_past_run(path, fmt: str, columns: list[str]) -> PastRun:
    """The complete rows of an existing output. Only an unfinished last row is dropped; anything else that
    is not this command's output for these columns (another model's classes, a damaged or foreign file)
    raises ResultsFileError and is left as it is."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            past = _read_csv(handle, columns, size) if fmt == "csv" else _read_jsonl(handle)
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be read to resume ({exc.strerror or exc})") from exc
    past.dropped = size > past.end
    return past


def _read_csv(handle, columns: list[str], size: int) -> PastRun:
    hashes, past = array("Q"), PastRun(DoneSet())
    path_at, error_at = columns.index("path"), columns.index("error")
    rows = _whole_csv_rows(handle, size)
    first = next(rows, None)
    if first is None:
        return past  # empty, or not even the header was finished: start the file again
    header, past.end = first
    if header != columns:
        raise ResultsFileError(f"{_name(handle)} has other columns than this model writes ({', '.join(header[:6])}…); "
                               "resume it with the model that wrote it, or write a new file")
    for row, end in rows:
        if len(row) != len(columns):
            raise _damaged(handle, f"byte {past.end:,}")
        hashes.append(stable_hash(row[path_at]))
        past.rows, past.errors, past.end = past.rows + 1, past.errors + bool(row[error_at]), end
    past.done = DoneSet(hashes)
    return past


def _whole_csv_rows(handle, size: int) -> Iterator[tuple[list[str], int]]:
    """(record, byte offset after it) for each complete CSV record, in order; stops before an unfinished
    last one (its line has no newline yet, or a quoted field never closes before the end of the file)."""
    state = {"offset": 0, "whole": True}

    def lines():
        for raw in handle:
            state["offset"] += len(raw)
            state["whole"] = raw.endswith(b"\n")
            yield raw.decode("utf-8", "surrogateescape")

    try:
        for record in csv.reader(lines(), strict=True):
            if not state["whole"]:
                return
            yield record, state["offset"]
    except csv.Error:
        if state["offset"] < size:  # not a row cut off by a kill: a damaged or foreign file
            raise _damaged(handle, f"byte {state['offset']:,}") from None


def _read_jsonl(handle) -> PastRun:
    hashes, past = array("Q"), PastRun(DoneSet())
    for number, raw in enumerate(handle, 1):
        if not raw.endswith(b"\n"):
            break  # the unfinished last row
        record = _json_record(raw)
        if record is None:
            raise _damaged(handle, f"line {number:,}")
        hashes.append(stable_hash(record["path"]))
        past.rows, past.errors, past.end = past.rows + 1, past.errors + bool(record.get("error")), past.end + len(raw)
    past.done = DoneSet(hashes)
    return past


def _json_record(raw: bytes) -> dict | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("path"), str) else None


def _damaged(handle, where: str) -> ResultsFileError:
    return ResultsFileError(f"{_name(handle)} is not a whole faceapp-tag output (damaged at {where}), so "
                            "--resume leaves it as it is; write to a new file")


def _name(handle) -> str:
    return Path(handle.name).name


class ResultsWriter:
    """Appends one whole row per result to the output and flushes it (an unbuffered file: one `write`
    call a row), so whatever stops the process leaves only complete rows behind, plus at most one
    unfinished one that --resume drops."""

    def __init__(self, path, fmt: str, classes, uncertain_below: float, past: PastRun | None, overwrite: bool):
        self.fmt, self.classes, self.uncertain_below = fmt, list(classes), uncertain_below
        self.columns = csv_columns(self.classes)
        self._buffer = io.StringIO()
        self._csv = csv.writer(self._buffer, lineterminator="\n")
        self._file = _open(path, past, overwrite)
        if fmt == "csv" and (past is None or past.end == 0):
            self._write_line(self._csv_line(self.columns))

    def write(self, result: TagResult) -> None:
        self._write_line(self._line(result))

    def write_all(self, results) -> None:
        """Several rows (the faces of one photo) in one `write` call."""
        self._write_line("".join(self._line(result) for result in results))

    def _line(self, result: TagResult) -> str:
        if self.fmt == "csv":
            record = csv_record(result, self.uncertain_below, self.classes)
            return self._csv_line([record[c] for c in self.columns])
        return _json_line(result_record(result, self.uncertain_below))

    def close(self) -> None:
        os.fsync(self._file.fileno())  # the rows survive a power cut too, once the command has ended
        self._file.close()

    def _csv_line(self, values) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._csv.writerow(values)
        return self._buffer.getvalue()

    def _write_line(self, line: str) -> None:
        data = memoryview(line.encode("utf-8", "surrogateescape"))
        try:
            while data:  # a regular file takes it whole; the loop covers a short write (a full disk says so)
                data = data[self._file.write(data):]
        except OSError as exc:  # the disk is full, the share went away: the rows before this one are whole
            raise ResultsFileError(f"{self._file.name}: cannot be written ({exc.strerror or exc})") from exc


def _json_line(record: dict) -> str:
    """One JSON object on one line (JSON escapes newlines in strings); non-ASCII kept readable unless a
    path holds bytes that are not UTF-8, which only \\u escapes carry through."""
    line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(record)
    return line + "\n"


def _open(path, past: PastRun | None, overwrite: bool):
    """The output, positioned after the last whole row of `past` (resuming), empty (`overwrite`), or new."""
    try:
        if past is not None and os.path.exists(path):
            handle = open(path, "r+b", buffering=0)
            handle.truncate(past.end)
            handle.seek(past.end)
            return handle
        return open(path, "wb" if overwrite else "xb", buffering=0)
    except FileExistsError:
        raise ResultsFileError(f"{path} already exists: add --resume to continue it, or --overwrite to "
                               "start it again") from None
    except OSError as exc:
        raise ResultsFileError(f"{path}: cannot be written ({exc.strerror or exc})") from exc
