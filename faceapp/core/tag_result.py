"""What tagging is asked to do (`TagOptions`) and what it gives for each photo or face (`TagResult`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.calibration import FALLBACK_UNCERTAIN_BELOW

UNCERTAIN = "uncertain"
ERROR = "error"
FACES = ("main", "all")
FORMER_FACES = {"largest": "main"}  # the option's values before the main face was the most prominent one


@dataclass(frozen=True)
class TagOptions:
    recursive: bool = False
    assume_crop: bool = False  # "images are already face crops": skip detection
    uncertain_below: float = FALLBACK_UNCERTAIN_BELOW  # confidence under this level is labelled "uncertain"
    batch_size: int = 32
    thumbnail_size: int = 0  # > 0: attach a small RGB array of the face crop to each result
    workers: int = field(default_factory=lambda: min(8, os.cpu_count() or 1))  # threads reading + finding faces
    reduced_decode: bool = True  # large JPEGs decoded at 1/2-1/8 size where crops keep full resolution
    faces: str = "main"  # "main": one result per photo (its main face); "all": one per face (group photos)

    def __post_init__(self):
        object.__setattr__(self, "faces", FORMER_FACES.get(self.faces, self.faces))
        if self.faces not in FACES:
            raise ValueError(f"faces must be one of {', '.join(FACES)}, got {self.faces!r}")


@dataclass
class TagResult:
    """One image's (or, with `TagOptions.faces == "all"`, one face's) outcome. `error` set means it could
    not be tagged (the reason is one sentence). `face_box` (x, y, w, h), `face_keypoints` ((x, y) in
    `training.detectors.detection.KEYPOINT_NAMES` order; BlazeFace framings only) are in the photo's own
    pixels; `face_index` numbers the faces of one photo from 0, the main one; `face_finder` names what
    found the face ("haar", "blazeface"; "" for the whole image)."""

    index: int
    path: Path
    predicted: str | None = None
    confidence: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)
    faces_found: int = 0
    face_fallback: bool = False  # no face found: the whole image was classified
    face_box: tuple[int, int, int, int] | None = None
    face_index: int = 0
    face_score: float | None = None
    face_keypoints: tuple[tuple[float, float], ...] | None = None
    face_finder: str = ""
    note: str = ""
    error: str | None = None
    unfit: str = ""  # no face found, and the image is too small or too thin to show one: never a class
    thumbnail: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def label(self, uncertain_below: float) -> str:
        """The label shown to the user: the prediction, "uncertain" below the level, or "error"."""
        if self.error is not None:
            return ERROR
        if self.confidence < uncertain_below or self.unfit:
            return UNCERTAIN
        return self.predicted or UNCERTAIN
