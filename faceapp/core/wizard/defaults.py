"""Suggested settings per task and device, and whether ImageNet start weights are on this computer (Qt-free)."""

from __future__ import annotations

from training.config import TrainConfig, default_config
from training.models import ARCHS

# A CPU trains ResNet18 / MobileNetV2 at 96 px several times faster than at 128 px and loses little for faces.
_CPU = {"gender": dict(input_size=96, batch_size=32, epochs=8),
        "matcher": dict(input_size=96, batch_size=32, epochs=10, pairs_per_epoch=2000, val_pairs=600)}
_GPU = {"gender": dict(input_size=128, batch_size=64, epochs=15),
        "matcher": dict(input_size=112, batch_size=64, epochs=20)}


def imagenet_available(task: str) -> bool:
    # torchvision's weights API names the file; the app imports torchvision after its window is up.
    from training.models import imagenet_cache_path

    return imagenet_cache_path(ARCHS[task]).is_file()


def imagenet_problem(task: str) -> str | None:
    """None when the ImageNet start weights are cached; else the core's sentence on where to put them."""
    from training.models import WeightsUnavailableError, resolve_start_weights

    if imagenet_available(task):
        return None
    try:
        resolve_start_weights(ARCHS[task], "imagenet")
    except WeightsUnavailableError as exc:
        return str(exc)
    return None


def suggested_config(task: str, device_type: str) -> TrainConfig:
    """The core's defaults, sized for the device, starting from ImageNet when its weights are here, with
    faces found by BlazeFace and aligned on the eyes, as the bundled models were trained (issue 18)."""
    sizes = _CPU if device_type == "cpu" else _GPU
    start = "imagenet" if imagenet_available(task) else "none"
    return default_config(task, start=start, face_detector="blazeface", align_faces=True, **sizes[task])
