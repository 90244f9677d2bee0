"""Gallery embeddings kept between searches, so a second probe against the same gallery is quick.

An entry is valid for one file as it was (path, size, modification time), one matcher object and one
"already face crops" setting: another matcher (a new model, or the same one on another device) or
another setting empties the cache. Memory only, never written to disk; 512 bytes per photo.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np

DEFAULT_LIMIT = 200_000  # photos (about 100 MB of embeddings); the least recently used go first


class EmbeddingCache:
    def __init__(self, limit: int = DEFAULT_LIMIT):
        self.limit = int(limit)
        self._entries: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._matcher = None  # weakref.ref to the matcher the entries belong to
        self._assume_crop: bool | None = None
        self._lock = threading.Lock()  # searches run on worker threads; the GUI thread reads len()

    def __len__(self) -> int:
        return len(self._entries)

    def bind(self, matcher, assume_crop: bool) -> None:
        """Use the cache for `matcher` and this crop setting; entries made for anything else are dropped."""
        with self._lock:
            if self._matcher is None or self._matcher() is not matcher or self._assume_crop != assume_crop:
                self._entries.clear()
                self._matcher = weakref.ref(matcher)
                self._assume_crop = assume_crop

    def lookup(self, path) -> tuple[tuple | None, np.ndarray | None]:
        """(the file's key as it is now, its embedding if known). Embed the file after this call and pass
        the key to `put`: a file changed in between is then stored under its old key, never wrongly."""
        key = _file_key(path)
        with self._lock:
            embedding = self._entries.get(key) if key else None
            if embedding is not None:
                self._entries.move_to_end(key)
        return key, embedding

    def put(self, key: tuple | None, embedding: np.ndarray) -> None:
        if key is None:
            return
        with self._lock:
            self._entries[key] = np.asarray(embedding, np.float32)
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)


def _file_key(path) -> tuple | None:
    """(path, size, mtime) of the file now, or None if it cannot be read: a changed file is a new entry."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return str(Path(path)), st.st_size, st.st_mtime_ns
