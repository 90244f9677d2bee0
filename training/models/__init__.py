"""The two networks and `build_model`, which picks one for a task and sets up its start weights and freezing.

Importing this package does not import torchvision (1.3 s, most of it torch._dynamo pulled in by
torchvision.ops): reading a checkpoint's metadata needs only `ARCHS`, so the app's window comes up
without it. The networks and weight helpers load on first use, e.g. `from training.models import GenderNet`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

ARCHS = {"gender": "resnet18", "matcher": "mobilenet_v2"}

_LAZY = {"GenderNet", "MatcherNet", "IMAGENET_WEIGHTS", "StartWeightsError", "WeightsUnavailableError",
         "imagenet_cache_path", "resolve_start_weights"}

__all__ = ["ARCHS", "build_model", *sorted(_LAZY)]


def __getattr__(name: str):
    # Plain `from .x import y` statements (not importlib), so PyInstaller still sees the dependencies.
    if name == "GenderNet":
        from .gender import GenderNet as value
    elif name == "MatcherNet":
        from .matcher import MatcherNet as value
    elif name in _LAZY:
        from . import weights

        value = getattr(weights, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


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
    from .weights import resolve_start_weights

    weights = resolve_start_weights(ARCHS[task], start)
    if task == "gender":
        from .gender import GenderNet

        model = GenderNet(num_classes=num_classes, dropout=dropout)
    else:
        from .matcher import MatcherNet

        model = MatcherNet(embedding_dim=embedding_dim, dropout=dropout)
    if weights is not None:
        model.load_backbone(weights, source=str(start))
    if freeze_backbone is None:
        freeze_backbone = str(start).strip().lower() == "imagenet"
    model.start_weights = "none" if weights is None else str(start)  # recorded in checkpoints
    return model.freeze_backbone(bool(freeze_backbone))
