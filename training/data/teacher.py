"""Teacher embeddings for distilling the matcher: a file of per-photo target vectors, looked up by photo.

The file is an `.npz` with `keys` (`<identity>/<file name>`) and `embeddings` (N x D), e.g. written by
`benchmarks/teacher.py`. The key ignores the folder above the identity, so one file serves the original
photos and a packed copy of them. Read without pickle.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError


def teacher_key(path) -> str:
    """`<identity>/<file name>` of a photo path (any folder above it is ignored)."""
    parts = Path(path).parts
    return "/".join(parts[-2:])


class TeacherEmbeddings:
    """Unit-length target vectors by photo; `lookup` gives zeros for photos the teacher has not seen."""

    def __init__(self, keys: list[str], embeddings: np.ndarray):
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(keys):
            raise DataError("teacher embeddings must be one row per key")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-8)
        self.index = {str(k): i for i, k in enumerate(keys)}
        self.dim = vectors.shape[1]

    @classmethod
    def load(cls, path) -> "TeacherEmbeddings":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                keys, vectors = [str(k) for k in data["keys"]], data["embeddings"]
        except FileNotFoundError as exc:
            raise DataError(f"teacher file {path} does not exist") from exc
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path} is not a teacher file (an .npz with keys and embeddings): {exc}") from exc
        return cls(keys, vectors)

    def lookup(self, path) -> np.ndarray:
        """The photo's target vector, or zeros (no target) when unknown or `path` is None."""
        i = None if path is None else self.index.get(teacher_key(path))
        return self.vectors[i] if i is not None else np.zeros(self.dim, dtype=np.float32)

    def coverage(self, paths) -> float:
        """Share of `paths` the teacher has a vector for."""
        paths = list(paths)
        return sum(teacher_key(p) in self.index for p in paths) / max(1, len(paths))
