"""What the training loop needs from a task, and the helpers both tasks share."""
from __future__ import annotations

import os
import sys

import torch
from torch.utils.data import DataLoader

from .. import distributed
from ..data.datasets import skip_none_collate
from ..faces import DEFAULT_FRAME_SCALE
from ..framing import Framing


def worker_count(requested: int) -> int:
    """DataLoader processes: none in a frozen app (no interpreter to spawn), else up to 8 spare cores
    (of this process's share of the machine, when torchrun started several)."""
    if getattr(sys, "frozen", False):
        return 0
    if requested >= 0:
        return requested
    return max(0, min(8, (os.cpu_count() or 1) // distributed.local_world_size() - 1))


def make_loader(dataset, batch_size: int, workers: int, seed: int, *, shuffle=False, sampler=None,
                drop_last=False, pin_memory=False) -> DataLoader:
    generator = torch.Generator().manual_seed(distributed.rank_seed(seed))  # shuffles and workers of each rank's own
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle if sampler is None else False,
                      sampler=sampler, num_workers=workers, collate_fn=skip_none_collate,
                      drop_last=drop_last, generator=generator, pin_memory=pin_memory,
                      persistent_workers=False)


class TaskSetup:
    """A task's model, data and losses. Subclasses fill in everything marked below."""

    task = ""
    selection = ""  # the validation metric the best checkpoint maximises
    classes: list[str] = []

    def __init__(self, data, config, device, log):
        self.config = config
        self.device = device
        self.log = log
        self.workers = worker_count(config.workers)
        self.frame_scale = config.frame_scale or DEFAULT_FRAME_SCALE
        # stored in checkpoints as the framing block; a face-bank setup replaces it with the bank's own
        self.framing = Framing.chosen(config.face_detector, self.frame_scale, config.align_faces)
        self.pin = device.type == "cuda"
        self.model = None
        self.skipped: list[tuple[str, str]] = []  # unreadable files found up front

    def extra_modules(self) -> dict[str, torch.nn.Module]:
        """Trainable modules beyond the model (saved in last.pt for resume, never shipped)."""
        return {}

    def train_loader(self, epoch: int):
        raise NotImplementedError

    def loss(self, batch) -> torch.Tensor:
        raise NotImplementedError

    def evaluate(self, stop) -> dict:
        """Validation metrics (plain floats), including `val_loss` and `self.selection`."""
        raise NotImplementedError

    def checkpoint_meta(self, metrics: dict) -> dict:
        """Task-specific checkpoint fields (classes, threshold...)."""
        raise NotImplementedError

    def final_report(self, stop) -> dict:
        """Metrics of the best model on held-out data, if the task has any."""
        return {}

    def description(self) -> str:
        return ""
