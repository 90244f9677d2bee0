"""The two networks and `build_model`, which picks one for a task and sets up its start weights and freezing."""

from __future__ import annotations

from torch import nn

from .gender import GenderNet
from .matcher import MatcherNet
from .weights import (
    IMAGENET_WEIGHTS,
    StartWeightsError,
    WeightsUnavailableError,
    imagenet_cache_path,
    resolve_start_weights,
)

ARCHS = {"gender": "resnet18", "matcher": "mobilenet_v2"}

__all__ = [
    "ARCHS", "IMAGENET_WEIGHTS", "GenderNet", "MatcherNet", "StartWeightsError", "WeightsUnavailableError",
    "build_model", "imagenet_cache_path", "resolve_start_weights",
]


def build_model(
    task: str,
    *,
    start="none",
    dropout: float = 0.3,
    embedding_dim: int = 128,
    num_classes: int = 2,
    freeze_backbone: bool | None = None,
) -> nn.Module:
    """A GenderNet ("gender") or MatcherNet ("matcher") started from `start` ("imagenet", "none" or a path).

    freeze_backbone=None freezes the backbone exactly when start is "imagenet". A frozen backbone has
    requires_grad off and keeps its BatchNorm layers in eval mode even under model.train().
    """
    if task not in ARCHS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(ARCHS)}")
    weights = resolve_start_weights(ARCHS[task], start)
    if task == "gender":
        model = GenderNet(num_classes=num_classes, dropout=dropout)
    else:
        model = MatcherNet(embedding_dim=embedding_dim, dropout=dropout)
    if weights is not None:
        model.load_backbone(weights, source=str(start))
    if freeze_backbone is None:
        freeze_backbone = str(start).strip().lower() == "imagenet"
    model.start_weights = "none" if weights is None else str(start)  # recorded in checkpoints
    return model.freeze_backbone(bool(freeze_backbone))
