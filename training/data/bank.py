"""A face bank: photos face-cropped once and packed as uint8 arrays, with distorted copies made ahead.

Training the matcher on the CPU is bound by the network, not the data, only when a training step costs
no decoding, face finding or distortion. A bank does all three once: each photo is read, framed as the
app frames it (the framing's finder and, for BlazeFace, optional eye alignment; `frame_scale`), resized
to `size` px and kept with `copies` distorted versions (the whole photo distorted with a condition and
severity, then face-found again, as the app and the benchmarks see a degraded probe). Training then
slices arrays in memory, centre-cropping to its own frame scale (`framing.at_scale`).

File: one uncompressed `.npz`, read without pickle:
  clean       (N, S, S, 3) uint8        the clean crops
  distorted   (N, K, S, S, 3) uint8     K distorted crops per photo
  conditions  (N, K) int8               index into `training.distortions.CONDITIONS`
  severities  (N, K) int8               1..5
  found       (N, K + 1) bool           whether a face was found (clean first), else the whole image
  keys        (N,) str                  `<folder>/<file name>` (the teacher file's key)
  identities  (N,) str                  who is on the photo (validation pairs are split by identity)
  size, frame_scale, seed               scalars
  framing     () str                    the framing block as JSON (`training.framing`); banks written
                                        before it have none and were cropped with Haar at frame_scale
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from ..atomic import atomic_open
from ..distortions import CONDITIONS, apply
from ..framing import Framing, as_framing
from ..imaging import ImageLoadError, load_image
from .errors import DataError
from .teacher import teacher_key

ARRAYS = ("clean", "distorted", "conditions", "severities", "found", "keys", "identities")


@dataclass
class FaceBank:
    clean: np.ndarray
    distorted: np.ndarray
    conditions: np.ndarray
    severities: np.ndarray
    found: np.ndarray
    keys: np.ndarray
    identities: np.ndarray
    size: int
    frame_scale: float
    seed: int = 0
    framing: dict | None = None  # the crops' framing block at frame_scale; None: Haar (older banks)

    def __post_init__(self):
        self.framing = as_framing(self.framing or {"detector": "haar"}).at_scale(self.frame_scale).to_dict()

    def __len__(self) -> int:
        return len(self.clean)

    @property
    def copies(self) -> int:
        return self.distorted.shape[1]

    @classmethod
    def load(cls, path) -> "FaceBank":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in ARRAYS}
                scalars = dict(size=int(data["size"]), frame_scale=float(data["frame_scale"]),
                               seed=int(data["seed"]))
                if "framing" in data.files:
                    scalars["framing"] = json.loads(str(data["framing"]))
        except FileNotFoundError as exc:
            raise DataError(f"face bank {path} does not exist") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path} is not a face bank (an .npz written by build_bank): {exc}") from exc
        bank = cls(**arrays, **scalars)
        bank.check()
        return bank

    def check(self) -> None:
        n, s = len(self.clean), self.size
        if self.clean.shape != (n, s, s, 3) or self.distorted.shape[0] != n or self.distorted.shape[2:] != (s, s, 3):
            raise DataError(f"face bank arrays disagree: clean {self.clean.shape}, distorted {self.distorted.shape}")
        if not (len(self.keys) == len(self.identities) == n):
            raise DataError("face bank keys and identities must have one row per photo")

    def save(self, path) -> Path:
        """Write atomically (a temporary sibling, then rename): a reader never sees half a bank."""
        self.check()
        path = Path(path)
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **{name: getattr(self, name) for name in ARRAYS},
                     size=self.size, frame_scale=self.frame_scale, seed=self.seed,
                     framing=np.array(json.dumps(self.framing)))
        return path

    @classmethod
    def concatenate(cls, banks: Sequence["FaceBank"]) -> "FaceBank":
        """One bank of several with the same crops (size, framing, copies), rows in order; keys stay unique."""
        first = banks[0]
        for bank in banks[1:]:
            if (bank.size, bank.copies, bank.framing) != (first.size, first.copies, first.framing):
                raise DataError(f"face banks differ: {bank.size} px, {bank.copies} copies, {bank.framing} against "
                                f"{first.size} px, {first.copies} copies, {first.framing}; build them alike")
        if len(banks) == 1:
            return first
        joined = FaceBank(*(np.concatenate([getattr(b, name) for b in banks]) for name in ARRAYS), size=first.size,
                          frame_scale=first.frame_scale, seed=first.seed, framing=first.framing)
        if len(np.unique(joined.keys)) < len(joined):
            raise DataError("the face banks share photos (the same key in two of them)")
        return joined

    def subset(self, rows) -> "FaceBank":
        rows = np.asarray(rows)
        return FaceBank(*(getattr(self, name)[rows] for name in ARRAYS), size=self.size,
                        frame_scale=self.frame_scale, seed=self.seed, framing=self.framing)


def bank_header(path) -> dict:
    """A bank's size, frame_scale, framing block, copies and identities, without reading its crops."""
    import zipfile

    try:
        with np.load(Path(path), allow_pickle=False) as data:
            header = dict(size=int(data["size"]), frame_scale=float(data["frame_scale"]),
                          identities=data["identities"])
            framing = json.loads(str(data["framing"])) if "framing" in data.files else {"detector": "haar"}
        with zipfile.ZipFile(path) as archive, archive.open("distorted.npy") as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape = read(fh)[0]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} is not a face bank (an .npz written by build_bank): {exc}") from exc
    header["framing"] = as_framing(framing).at_scale(header["frame_scale"]).to_dict()
    header["copies"] = int(shape[1])
    return header


@dataclass(frozen=True)
class BankJob:
    index: int
    path: str
    size: int
    frame_scale: float
    copies: int
    seed: int
    framing: dict


def _crop(image: Image.Image, job: BankJob) -> tuple[np.ndarray, bool]:
    face = as_framing(job.framing).find_and_crop(image)
    crop = face.image.resize((job.size, job.size), resample=Image.Resampling.BICUBIC)
    return np.asarray(crop, dtype=np.uint8), face.box is not None


def _bank_row(job: BankJob):
    """(clean, distorted, conditions, severities, found) of one photo, or the reason it cannot be read."""
    try:
        image = load_image(job.path)
    except ImageLoadError as exc:
        return exc.reason
    return bank_row(image, job, np.random.default_rng([job.seed, job.index]))


def bank_row(image: Image.Image, job: BankJob, rng: np.random.Generator):
    """(clean, distorted, conditions, severities, found) of an image in memory (`job.path` is not read)."""
    conditions = rng.choice(len(CONDITIONS), size=job.copies, replace=job.copies > len(CONDITIONS))
    severities = rng.integers(1, 6, size=job.copies)
    clean, found0 = _crop(image, job)
    distorted, found = [], [found0]
    for condition, severity in zip(conditions, severities):
        degraded = apply(image, CONDITIONS[condition], int(severity), seed=int(rng.integers(2**31)))
        crop, ok = _crop(degraded, job)
        distorted.append(crop)
        found.append(ok)
    return clean, np.stack(distorted), conditions.astype(np.int8), severities.astype(np.int8), np.array(found)


def build_bank(photos: Sequence[tuple[str, str]], size: int, frame_scale: float, copies: int, seed: int = 0,
               processes: int = 2, progress: Callable[[int, int], None] | None = None, framing=None
               ) -> tuple[FaceBank, list[tuple[str, str]]]:
    """Bank of `photos` ((path, identity) pairs); returns it and the (path, reason) of unreadable ones.

    `framing`: a framing block or `Framing` naming the finder and alignment (None: Haar); the crops are
    made at `frame_scale` (an aligned framing's eyes move with it, `Framing.at_scale`)."""
    if copies < 1 or size < 16:
        raise ValueError("a bank needs at least one distorted copy per photo and crops of 16 px or more")
    block = as_framing(framing or Framing()).at_scale(frame_scale).to_dict()
    jobs = [BankJob(i, str(path), size, frame_scale, copies, seed, block) for i, (path, _) in enumerate(photos)]
    rows, kept, skipped = [], [], []
    with Pool(processes, initializer=_one_thread) as pool:
        for done, (job, row) in enumerate(zip(jobs, pool.imap(_bank_row, jobs, chunksize=8)), 1):
            if isinstance(row, str):
                skipped.append((job.path, row))
            else:
                rows.append(row)
                kept.append(job.index)
            if progress is not None:
                progress(done, len(jobs))
    if not rows:
        raise DataError("no photo could be read, so the bank would be empty")
    clean, distorted, conditions, severities, found = (np.stack(parts) for parts in zip(*rows))
    keys = np.array([teacher_key(photos[i][0]) for i in kept])
    identities = np.array([str(photos[i][1]) for i in kept])
    bank = FaceBank(clean, distorted, conditions, severities, found, keys, identities, size, frame_scale, seed,
                    framing=block)
    return bank, skipped


def _one_thread() -> None:
    """Worker processes share the cores: BlazeFace's torch passes run on one thread each."""
    import torch

    torch.set_num_threads(1)
