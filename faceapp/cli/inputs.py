"""What `faceapp-tag` reads: the image files of a folder or of a file list, one at a time, and which shard
each belongs to.

Listing is lazy (one folder's entries in memory at a time, a list file read line by line), so an archive
of millions of files starts tagging at once and memory does not grow with its size. Every file carries a
key, its path relative to the folder (or as written in the list), that does not depend on where the
archive is mounted: shards are chosen from it, so N machines split one archive the same way.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from training.imaging import IMAGE_EXTENSIONS, ImageScan

LIST_PATH_COLUMN = "path"


class InputError(Exception):
    """An input that cannot be listed (missing, unreadable, a malformed list); one sentence."""


@dataclass(frozen=True)
class InputFile:
    path: str  # absolute: the output's `path` column, and what --resume matches
    key: str  # relative to the folder (posix separators) or as written in the list: what --shard hashes


@dataclass
class Listing:
    """What a listing passed over, for the summary; filled in while it is iterated."""

    hidden: ImageScan = field(default_factory=lambda: ImageScan([]))
    unreadable_folders: int = 0

    def skipped_text(self) -> str:
        parts = [self.hidden.skipped_text()]
        if self.unreadable_folders:
            n = self.unreadable_folders
            parts.append(f"{n:,} sub-folder{'s' * (n != 1)} could not be read")
        return "; ".join(p for p in parts if p)


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same on every machine and Python run (the built-in `hash` of a str is
    salted per process, so two machines would disagree on shards)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "big")


def parse_shard(text: str) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N (counted from 0, like Slurm array and Kubernetes job indexes)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"shard {text!r} is not of the form i/N, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r} is out of range: i counts from 0, so 0/{max(count, 1)} … "
                         f"{max(count, 1) - 1}/{max(count, 1)}")
    return index, count


def in_shard(key: str, shard: tuple[int, int]) -> bool:
    index, count = shard
    return count == 1 or stable_hash(key) % count == index


def list_inputs(source, recursive: bool, listing: Listing) -> Iterator[InputFile]:
    """The files to tag: a folder's image files (sub-folders too when `recursive`), or the entries of a list
    file (every entry, image extension or not: the list is the user's choice, and a wrong file gets an
    error row that says why)."""
    source = Path(source)
    if source.is_dir():
        return _walk(source, recursive, listing)
    if source.is_file():
        return _read_list(source)
    raise InputError(f"{source} is neither a folder nor a file list (not found)")


def _walk(root: Path, recursive: bool, listing: Listing) -> Iterator[InputFile]:
    """Depth first, each folder's entries in case-insensitive order, so a run lists files in the same
    order every time; hidden files and folders (".name") are skipped and counted, as the app does."""
    top = os.path.abspath(root)
    entries = _entries(top)
    if entries is None:
        raise InputError(f"{root}: the folder cannot be read")
    return _walk_entries(top, "", entries, recursive, listing)


def _walk_entries(folder: str, prefix: str, entries: list[os.DirEntry], recursive: bool,
                  listing: Listing) -> Iterator[InputFile]:
    for entry in entries:
        try:
            if entry.name.startswith("."):
                _count_hidden(entry, recursive, listing.hidden)
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                yield InputFile(entry.path, prefix + entry.name)
            elif recursive and entry.is_dir(follow_symlinks=False):
                below = _entries(entry.path)
                if below is None:
                    listing.unreadable_folders += 1
                    continue
                yield from _walk_entries(entry.path, f"{prefix}{entry.name}/", below, recursive, listing)
        except OSError:  # a dangling link or an entry that vanished: the rest of the tree still counts
            continue


def _entries(folder: str) -> list[os.DirEntry] | None:
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda e: (e.name.casefold(), e.name))
    except OSError:
        return None


def _count_hidden(entry: os.DirEntry, recursive: bool, hidden: ImageScan) -> None:
    if entry.is_file():
        hidden.hidden_files += os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS
    elif recursive and entry.is_dir(follow_symlinks=False):
        hidden.hidden_folders += 1


def _read_list(path: Path) -> Iterator[InputFile]:
    """Entries of a list file: a .csv with a `path` column (faceapp-tag's own output works), or without
    one its first column; any other file, one path per line. Relative entries are relative to the list's
    folder, so a list travels with the archive it describes."""
    base = path.resolve().parent
    try:
        handle = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")
    except OSError as exc:
        raise InputError(f"{path}: the list cannot be read ({exc.strerror or exc})") from exc
    return _list_entries(handle, base, path.suffix.lower() == ".csv")


def _list_entries(handle, base: Path, is_csv: bool) -> Iterator[InputFile]:
    try:
        with handle:
            yield from _entries_of(handle, base, is_csv)
    except (csv.Error, OSError) as exc:
        raise InputError(f"{handle.name}: the list cannot be read ({exc})") from exc


def _entries_of(handle, base: Path, is_csv: bool) -> Iterator[InputFile]:
    rows = csv.reader(handle) if is_csv else ([line.rstrip("\r\n")] for line in handle)
    column = 0
    for number, row in enumerate(rows):
        cells = [cell.strip().lower() for cell in row]
        if number == 0 and is_csv and LIST_PATH_COLUMN in cells:  # a header row
            column = cells.index(LIST_PATH_COLUMN)
            continue
        entry = row[column] if len(row) > column else ""
        if entry.strip():
            yield InputFile(os.path.normpath(os.path.join(base, entry)), entry)
