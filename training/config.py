"""One configuration object for both training tasks, with per-task defaults."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

TASKS = ("gender", "matcher")


@dataclass
class TrainConfig:
    """Every knob of a training run. Plain types only, so it goes into checkpoints as a dict."""

    task: str = "gender"
    epochs: int = 15
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    scheduler: str = "cosine"  # cosine | plateau | none
    warmup_epochs: int = 1
    input_size: int = 128
    start: str = "none"  # imagenet | none | path to a weights file
    freeze_backbone: bool | None = None  # None: frozen exactly when start == "imagenet"
    dropout: float = 0.3
    patience: int = 5  # epochs without improvement before early stopping; 0 disables
    min_delta: float = 1e-3
    val_fraction: float = 0.15  # carved from the training data, by identity where known
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = True  # mixed precision, used on CUDA only
    workers: int = -1  # DataLoader worker processes; -1 picks from the CPU count (0 when frozen)
    label_smoothing: float = 0.0
    ema: float = 0.0  # decay of an exponential moving average of the weights (e.g. 0.998); 0: off
    max_batches: int = 0  # cap on training batches per epoch (0: no cap); for quick trials
    out_dir: str = "runs"
    run_name: str = ""
    resume: str = ""  # a run folder or its last.pt
    time_limit: float = 0.0  # minutes; stop before an epoch that would end past it (0: no limit)
    snapshot_every: int = 0  # keep a copy of the evaluated weights every N epochs (learning curves); 0: none
    compile: bool = False  # torch.compile the training forward pass (face-bank training)
    # gender
    minority_augmentation: bool = True
    distort_prob: float = 0.3  # share of training photos degraded with a random condition (robustness)
    # matcher
    embedding_dim: int = 128
    pairs_per_epoch: int = 4000
    val_pairs: int = 1000
    same_photo_fraction: float = 0.2  # share of positive pairs whose probe is the reference itself, distorted
    clean_probe_fraction: float = 0.1  # share of probes left undistorted
    min_severity: int = 1
    max_severity: int = 5
    identity_loss_weight: float = 0.5  # auxiliary cosine-margin identity loss on the embedding; 0 disables
    teacher: str = ""  # .npz of teacher embeddings per photo (training only); "" trains without a teacher
    distill_weight: float = 4.0  # weight of the cosine distillation loss towards the teacher (with `teacher`)
    relational_weight: float = 1.0  # face-bank training: batch similarity matrix against the teacher's
    balance_groups: str = ""  # face-bank training: CSV of identity -> group (FILE[:COLUMN]); groups drawn equally
    neighbour_batches: int = 0  # face-bank training: batches of groups of N, a face and N-1 of its nearest (teacher)
    ranking_weight: float = 0.0  # face-bank training: each view's ranking of the training faces against the teacher's
    ranking_temperature: float = 0.05  # softmax temperature of that ranking (cosines / temperature)
    tied_head: bool = False  # one shared weight in the pair head: the score falls with the embeddings' L1 distance
    # face framing of the training photos (see training/faces.py); stored in checkpoints
    frame_scale: float = 0.0  # 0: the detector's default for LFW-style photos
    crop_faces: bool = True  # find the face in each photo and crop it as the app will; off for ready crops
    face_detector: str = "haar"  # haar | blazeface: the finder written into the checkpoint's framing block
    align_faces: bool = False  # blazeface only: turn and scale each crop to put the eyes at fixed places
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.input_size < 32:
            raise ValueError("epochs and batch size must be at least 1 and the input size at least 32 px")
        if not 0.0 < self.val_fraction < 0.9:
            raise ValueError("val_fraction must be between 0 and 0.9")
        if not 1 <= self.min_severity <= self.max_severity <= 5:
            raise ValueError("severities must satisfy 1 <= min_severity <= max_severity <= 5")
        if self.neighbour_batches < 0:
            raise ValueError("neighbour_batches is a group size (2 or more; 0 or 1: faces drawn independently)")
        if self.ranking_weight < 0 or self.ranking_temperature <= 0:
            raise ValueError("ranking_weight must be 0 or more and ranking_temperature above 0")
        if self.face_detector not in ("haar", "blazeface"):
            raise ValueError(f"unknown face detector {self.face_detector!r}; choose haar or blazeface")
        if self.align_faces and self.face_detector != "blazeface":
            raise ValueError("aligning faces needs the eye keypoints of face_detector 'blazeface'")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def save_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")


def default_config(task: str, **overrides) -> TrainConfig:
    """Sensible defaults per task; overrides win."""
    base: dict = {"task": task}
    if task == "matcher":
        base.update(epochs=20, batch_size=64, lr=1e-3, input_size=112, patience=6)
    base.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig(**base)
