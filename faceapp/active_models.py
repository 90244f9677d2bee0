"""The loaded, active gender classifier and face matcher, shared by the pages; loads lazily on a worker thread."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .model_store import TASK_TITLES, TRAIN_COMMANDS, ModelStore

log = logging.getLogger(__name__)


class NoModelError(Exception):
    """No checkpoint is active for a task; the message says how to get one."""


def no_model_message(task: str) -> str:
    return (f"No {TASK_TITLES[task].lower()} is installed yet. Import a checkpoint on the Models page "
            f"or train one: {TRAIN_COMMANDS[task]}")


class ActiveModels:
    """Caches one loaded model per task, keyed by (file, size, mtime, device); thread-safe."""

    def __init__(self, store: ModelStore, device: str = "auto"):
        self.store = store
        self._device = device
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple, object]] = {}

    @property
    def device(self) -> str:
        return self._device

    def set_device(self, name: str) -> None:
        with self._lock:
            if name != self._device:
                self._device = name
                self._loaded.clear()

    def resolved_device(self) -> str:
        from training.device import resolve_device

        return str(resolve_device(self._device))

    def path(self, task: str) -> Path | None:
        return self.store.active_path(task)

    def available(self, task: str) -> bool:
        return self.path(task) is not None

    def invalidate(self) -> None:
        with self._lock:
            self._loaded.clear()

    def get(self, task: str):
        """The loaded model for `task` (GenderClassifier or FaceMatcher); raises NoModelError or CheckpointError."""
        path = self.path(task)
        if path is None:
            raise NoModelError(no_model_message(task))
        stat = path.stat()
        with self._lock:  # held while loading so two workers never load the same file twice
            key = (str(path), stat.st_size, stat.st_mtime_ns, self._device)
            cached = self._loaded.get(task)
            if cached and cached[0] == key:
                return cached[1]
            model = self._load(task, path)
            self._loaded[task] = (key, model)
            return model

    def gender(self):
        return self.get("gender")

    def matcher(self):
        return self.get("matcher")

    def _load(self, task: str, path: Path):
        from .model_code import import_model_code

        import_model_code()  # not beside the warm-up thread's imports (see model_code)
        from training.inference import FaceMatcher, GenderClassifier

        device = self.resolved_device()
        log.info("loading %s model %s on %s", task, path, device)
        cls = GenderClassifier if task == "gender" else FaceMatcher
        return cls.load(path, device=device)
