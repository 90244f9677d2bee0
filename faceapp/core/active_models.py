"""The loaded, active gender classifier and face matcher, shared by the pages; loads lazily on a worker thread."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from faceapp.core.model_code import checkpoint_code, import_model_code
from faceapp.core.model_store import TASK_TITLES, TASKS, TRAIN_COMMANDS, ModelStore

log = logging.getLogger(__name__)


class NoModelError(Exception):
    """No checkpoint is active for a task; the message says how to get one."""


def no_model_message(task: str) -> str:
    return (f"No {TASK_TITLES[task].lower()} is installed yet. Import a checkpoint on the Models page "
            f"or train one: {TRAIN_COMMANDS[task]}")


class ActiveModels:
    """Caches one loaded model per task, keyed by (file, size, mtime, device); thread-safe.

    `deferred=True` (the app): the models' metadata (thresholds, classes, the device) is read later by
    `load_metadata` on the warm-up thread, since reading a checkpoint imports torch (~2 s). Until then
    `ready` is False and the pages say "Loading models…" instead of reading checkpoints on the GUI thread.
    """

    def __init__(self, store: ModelStore, device: str = "auto", *, deferred: bool = False):
        self.store = store
        self._device = device
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[tuple, object]] = {}
        self._ready = threading.Event()
        if not deferred:
            self._ready.set()

    @property
    def ready(self) -> bool:
        """Whether the pages may read the models' metadata on the GUI thread (it costs no torch import)."""
        return self._ready.is_set()

    def load_metadata(self) -> None:
        """Import torch and read every checkpoint's metadata into the store's cache, then be `ready`. For the
        warm-up thread, before the rest of the model code (torchvision, ~1.3 s more), so the pages fill in
        that much sooner. Ready even when this fails: the pages then read the files themselves and show why
        one cannot be used."""
        try:
            checkpoint_code()
            for task in TASKS:
                self.store.entries(task)  # a file that cannot be read keeps its reason, for the Models page
            self.resolved_device()  # the first CUDA query can take a second: not on the GUI thread
        except Exception:  # noqa: BLE001 - the page that needs it tries again and says why
            log.warning("reading the models' metadata failed", exc_info=True)
        finally:
            self._ready.set()

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
        import_model_code()  # not beside the warm-up thread's imports (see model_code)
        from training.inference import FaceMatcher, GenderClassifier

        device = self.resolved_device()
        log.info("loading %s model %s on %s", task, path, device)
        cls = GenderClassifier if task == "gender" else FaceMatcher
        return cls.load(path, device=device)
