"""The user's model folder: list, import, activate and remove checkpoints; fall back to the bundled defaults.

Layout under the folder given (the Qt layer passes QStandardPaths' app data folder + "models"):
`gender/*.pt`, `matcher/*.pt` and `active.json` ({"gender": "<file name>", "matcher": ...}).
Every file is validated with `training.checkpoint.load_checkpoint` before it is copied in, so a wrong,
corrupt or incompatible file raises `CheckpointError` (one sentence) and changes nothing.
Listing and choosing files needs no torch; reading one imports `training.checkpoint` (torch, ~2 s) then,
through `model_code.checkpoint_code`, so the window that builds a store comes up without it.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from faceapp.core.model_code import checkpoint_code
from faceapp.core.resources import resource_path
from training.atomic import atomic_open
from training.config import TASKS

log = logging.getLogger(__name__)

TASK_TITLES = {"gender": "Gender model", "matcher": "Face matcher"}
TRAIN_COMMANDS = {"gender": "python -m training train-gender --help",
                  "matcher": "python -m training train-matcher --help"}
ACTIVE_FILE = "active.json"


class ModelStoreError(Exception):
    """A model operation the user asked for that cannot be done; the message is one sentence."""


@dataclass(frozen=True)
class ModelEntry:
    task: str
    path: Path
    source: str  # "user" | "bundled"
    active: bool
    summary: dict | None  # checkpoint_summary(), or None when unreadable
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name if self.source == "user" else f"{self.path.name} (bundled)"


class ModelStore:
    def __init__(self, user_dir, bundled_dir=None):
        self.user_dir = Path(user_dir)
        self.bundled_dir = Path(bundled_dir) if bundled_dir is not None else resource_path("models")
        self._summaries: dict[tuple, dict | Exception] = {}  # a summary, or the CheckpointError reading it raised
        self._lock = threading.Lock()

    # ------------------------------------------------------------ queries
    def task_dir(self, task: str) -> Path:
        _check_task(task)
        return self.user_dir / task

    def bundled_path(self, task: str) -> Path | None:
        _check_task(task)
        path = self.bundled_dir / f"{task}.pt"
        return path if path.is_file() else None

    def user_paths(self, task: str) -> list[Path]:
        folder = self.task_dir(task)
        return sorted(folder.glob("*.pt"), key=lambda p: p.name.casefold()) if folder.is_dir() else []

    def active_path(self, task: str) -> Path | None:
        """The chosen user model; else the bundled default; else the newest user model; else None."""
        chosen = self._read_active().get(task)
        if chosen:
            path = self.task_dir(task) / chosen
            if path.is_file():
                return path
            if chosen == "bundled" and self.bundled_path(task):
                return self.bundled_path(task)
        bundled = self.bundled_path(task)
        if bundled is not None:
            return bundled
        user = self.user_paths(task)
        return max(user, key=lambda p: p.stat().st_mtime) if user else None

    def entries(self, task: str) -> list[ModelEntry]:
        active = self.active_path(task)
        paths = [(p, "user") for p in self.user_paths(task)]
        bundled = self.bundled_path(task)
        if bundled is not None:
            paths.append((bundled, "bundled"))
        entries = []
        for path, source in paths:
            summary, error = self._summary_or_error(path, task)
            entries.append(ModelEntry(task, path, source, path == active, summary, error))
        return entries

    def summary(self, path, task: str | None = None) -> dict:
        """`checkpoint_summary` of a file, cached by (path, size, mtime); raises CheckpointError."""
        path = Path(path)
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._summaries.get(key)
        if cached is None:
            checkpoint = checkpoint_code()
            try:
                cached = checkpoint.checkpoint_summary(checkpoint.load_checkpoint(path, task=task))
            except checkpoint.CheckpointError as exc:
                cached = exc
            with self._lock:
                self._summaries[key] = cached
        if isinstance(cached, Exception):
            raise cached
        return cached

    # ------------------------------------------------------------ changes
    def import_checkpoint(self, source, task: str | None = None, activate: bool = True,
                          name: str | None = None) -> ModelEntry:
        """Validate `source`, copy it into the store under a free name (from `name`, else the file's own
        stem), and (by default) activate it."""
        source = Path(source)
        if not source.is_file():
            raise ModelStoreError(f"{source.name} is not a file.")
        checkpoint = checkpoint_code().load_checkpoint(source, task=task)  # CheckpointError: nothing was changed
        task = str(checkpoint.get("task"))
        _check_task(task)
        folder = self.task_dir(task)
        folder.mkdir(parents=True, exist_ok=True)
        target = _free_name(folder, name or source.stem, ".pt")
        tmp = folder / f".{target.name}.importing"
        try:
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("imported %s model %s -> %s", task, source, target)
        if activate:
            self.activate(task, target)
        return next(e for e in self.entries(task) if e.path == target)

    def activate(self, task: str, path) -> None:
        path = Path(path)
        if path == self.bundled_path(task):
            name = "bundled"
        elif path.parent == self.task_dir(task) and path.is_file():
            name = path.name
        else:
            raise ModelStoreError(f"{path.name} is not a {task} model in the model folder.")
        self.summary(path, task)  # refuse to activate a file that does not load
        active = self._read_active()
        active[task] = name
        self._write_active(active)

    def remove(self, task: str, path) -> None:
        path = Path(path)
        if path == self.bundled_path(task):
            raise ModelStoreError("The bundled default model cannot be removed.")
        if path.parent != self.task_dir(task) or not path.is_file():
            raise ModelStoreError(f"{path.name} is not a {task} model in the model folder.")
        path.unlink()
        active = self._read_active()
        if active.get(task) == path.name:
            del active[task]
            self._write_active(active)
        log.info("removed %s model %s", task, path)

    # ------------------------------------------------------------ internals
    def _summary_or_error(self, path: Path, task: str):
        try:
            return self.summary(path, task), None
        except (checkpoint_code().CheckpointError, OSError) as exc:
            return None, str(exc)

    def _read_active(self) -> dict:
        try:
            data = json.loads((self.user_dir / ACTIVE_FILE).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_active(self, data: dict) -> None:
        with atomic_open(self.user_dir / ACTIVE_FILE, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1)


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ModelStoreError(f"Unknown model task {task!r}; expected one of {', '.join(TASKS)}.")


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidate, n = folder / f"{stem}{suffix}", 1
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}{suffix}", n + 1
    return candidate
