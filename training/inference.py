"""What the app calls: GenderClassifier and FaceMatcher, loaded from checkpoints, run on face crops."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from training.calibration import valid_level, valid_temperature
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.device import empty_cache, is_out_of_memory, resolve_device
from training.error_rates import ScoreHistograms
from training.faces import DEFAULT_FRAME_SCALE
from training.transforms import batch_tensor

DEFAULT_FRAMING = {"detector": "haar", "frame_scale": DEFAULT_FRAME_SCALE}  # LFW-style photos


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float
    probabilities: dict[str, float]


def _meta(ckpt: dict) -> dict:
    """Everything in a checkpoint but the tensors (safe to show or pass across threads)."""
    return {k: v for k, v in ckpt.items() if k not in ("state_dict", "optimizer_state")}


class _Runner:
    """Shared by both classes: a model in eval mode on a device, plus the checkpoint's preprocessing."""

    def __init__(self, model: nn.Module, meta: dict, device="cpu"):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.meta = dict(meta)
        self.classes = list(meta["classes"])
        self.input_size = int(meta["input_size"])
        self.framing = dict(meta.get("framing") or DEFAULT_FRAMING)
        self._mean = meta["normalization"]["mean"]
        self._std = meta["normalization"]["std"]

    def _batched(self, images: Sequence, batch_size: int, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """fn over images in batches on the device, CPU results concatenated; halves the batch on GPU OOM."""
        outputs, start, size = [], 0, max(1, int(batch_size))
        with torch.inference_mode():
            while start < len(images):
                chunk = images[start:start + size]
                try:
                    x = batch_tensor(chunk, self.input_size, self._mean, self._std).to(self.device)
                    outputs.append(fn(x).float().cpu())
                except Exception as exc:
                    if not is_out_of_memory(exc):
                        raise
                    empty_cache(self.device)
                    if size == 1:
                        raise MemoryError(
                            f"not enough {self.device.type.upper()} memory to run the model on even one image; "
                            "close other GPU programs or use the CPU"
                        ) from exc
                    size //= 2
                    continue
                start += len(chunk)
        return torch.cat(outputs) if outputs else None


class GenderClassifier(_Runner):
    """Gender of face crops. images: PIL RGB images or uint8 HxWx3 arrays, already cropped to the face framing.

    Probabilities are calibrated with the checkpoint's `temperature` (fitted on held-out validation images
    after training; 1 for checkpoints without one), so "90 %" means right about 9 times in 10."""

    def __init__(self, model: nn.Module, meta: dict, device="cpu"):
        super().__init__(model, meta, device)
        self.temperature = valid_temperature(meta.get("temperature"))
        # The validation-chosen "uncertain below" level (None for checkpoints without one).
        self.uncertain_below = valid_level(meta.get("uncertain_below"))

    @classmethod
    def load(cls, path, device="cpu") -> "GenderClassifier":
        ckpt = load_checkpoint(path, task="gender")
        return cls(model_from_checkpoint(ckpt), _meta(ckpt), device)

    def predict(self, images: Sequence, batch_size: int = 32) -> list[Prediction]:
        probs = self._batched(list(images), batch_size,
                              partial(self.model.probabilities, temperature=self.temperature))
        if probs is None:
            return []
        results = []
        for row in probs.tolist():
            best = int(np.argmax(row))
            results.append(
                Prediction(self.classes[best], float(row[best]), {c: float(p) for c, p in zip(self.classes, row)})
            )
        return results


class FaceMatcher(_Runner):
    """Same-person scores for face crops: embed once, score many; probabilities >= threshold mean a match."""

    def __init__(self, model: nn.Module, meta: dict, device="cpu"):
        super().__init__(model, meta, device)
        self.threshold = float(meta.get("threshold", 0.5))
        self.embedding_dim = int(meta.get("embedding_dim", model.embedding_dim))
        # Validation score distributions: error rates at any threshold (None for checkpoints without them).
        self.error_rates = ScoreHistograms.from_dict(meta.get("score_histograms"))

    @classmethod
    def load(cls, path, device="cpu") -> "FaceMatcher":
        ckpt = load_checkpoint(path, task="matcher")
        return cls(model_from_checkpoint(ckpt), _meta(ckpt), device)

    def embed(self, images: Sequence, batch_size: int = 32) -> np.ndarray:
        """(N, D) float32 unit-length embeddings, each the mean of the image's and its mirror's."""
        out = self._batched(list(images), batch_size, partial(self.model.embed, flip=True))
        return np.zeros((0, self.embedding_dim), np.float32) if out is None else out.numpy().astype(np.float32)

    @staticmethod
    def template(embeddings) -> np.ndarray:
        """One (D,) unit-length embedding for several photos of one person: the mean of theirs, re-normalised.
        Against the V1 test identities with all their photos, ranking by the probe's score with each template
        put the right person first for 23.4 % of clean probes, against 17.3 % by each person's best single
        photo, and for more under each of the 8 distortions, without favouring people with many photos
        (`python -m benchmarks.identify --all-photos`)."""
        embeddings = np.asarray(embeddings, np.float32)
        mean = embeddings.reshape(-1, embeddings.shape[-1]).mean(0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0 else mean

    def score_embeddings(self, e1, e2) -> np.ndarray:
        """Match probabilities (N,) for rows of e1 and e2 ((N, D) or (D,), broadcast like numpy)."""
        a = torch.as_tensor(np.atleast_2d(np.asarray(e1, np.float32)))
        b = torch.as_tensor(np.atleast_2d(np.asarray(e2, np.float32)))
        a, b = torch.broadcast_tensors(a, b)
        with torch.inference_mode():
            logits = self.model.score_embeddings(a.to(self.device), b.to(self.device))
        return torch.sigmoid(logits.float()).cpu().numpy()

    def score_pairs(self, images_a: Sequence, images_b: Sequence, batch_size: int = 32) -> np.ndarray:
        """Match probabilities (N,) for image pairs (images_a[i], images_b[i])."""
        if len(images_a) != len(images_b):
            raise ValueError(f"need as many first images as second ones ({len(images_a)} vs {len(images_b)})")
        if len(images_a) == 0:
            return np.zeros(0, np.float32)
        return self.score_embeddings(self.embed(images_a, batch_size), self.embed(images_b, batch_size))

    def score(self, a, b) -> float:
        """Match probability of one pair of images."""
        return float(self.score_pairs([a], [b])[0])
