"""How a backbone starts: its initial weights (ImageNet cache, a local file or none) and whether it is frozen."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision.models import MobileNet_V2_Weights, ResNet18_Weights

IMAGENET_WEIGHTS = {
    "resnet18": ResNet18_Weights.IMAGENET1K_V1,
    "mobilenet_v2": MobileNet_V2_Weights.IMAGENET1K_V2,
}


class StartWeightsError(RuntimeError):
    """Start weights that cannot be used: a missing or unreadable file, or weights that do not fit the arch."""


class WeightsUnavailableError(StartWeightsError):
    """ImageNet weights were asked for but are not in the local torch hub cache (FaceApp never downloads)."""


def imagenet_cache_path(arch: str) -> Path:
    """Where torchvision keeps the ImageNet weights file of arch (honours TORCH_HOME)."""
    url = IMAGENET_WEIGHTS[arch].url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def resolve_start_weights(arch: str, start) -> dict[str, torch.Tensor] | None:
    """Backbone state_dict to start from: start is "imagenet", "none" (returns None) or a weights file path.

    A path may hold a plain torchvision state_dict, a {"state_dict"/"model": ...} wrapper, or a FaceApp
    checkpoint. Never downloads: missing ImageNet weights raise WeightsUnavailableError at once,
    because a download attempt on an offline machine hangs instead of failing.
    """
    if arch not in IMAGENET_WEIGHTS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {', '.join(IMAGENET_WEIGHTS)}")
    text = "" if start is None else str(start).strip()
    if text.lower() in ("", "none"):
        return None
    if text.lower() == "imagenet":
        path = imagenet_cache_path(arch)
        if not path.is_file():
            raise WeightsUnavailableError(
                f"ImageNet weights for {arch} are not on this computer and FaceApp does not download them: "
                f"download {IMAGENET_WEIGHTS[arch].url} and save it as {path}, "
                f"or pass the path of a weights file as the start, or start from 'none'."
            )
        return _load_state_dict(path)
    return _load_state_dict(Path(text).expanduser())


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise StartWeightsError(
            f"start weights file {path} does not exist; pass 'imagenet', 'none' or the path of a weights file."
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, not a torch file, or holds arbitrary objects
        raise StartWeightsError(f"{path} could not be read as PyTorch weights ({type(exc).__name__}).") from exc
    for key in ("state_dict", "model"):  # FaceApp checkpoints and torchvision reference-script files
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        raise StartWeightsError(f"{path} does not hold a state_dict of weight tensors.")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _is_head_key(key: str, head_prefixes: tuple[str, ...]) -> bool:
    return key.startswith(head_prefixes)


class BackboneMixin:
    """Backbone/head split for a network: loading start weights, freezing, and BN handling when frozen.

    A subclass sets `arch`, `head_prefixes` (state_dict key prefixes of the head) and implements
    `backbone_modules()`.
    """

    arch: str = ""
    head_prefixes: tuple[str, ...] = ()
    backbone_frozen: bool = False

    def backbone_modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def backbone_parameters(self) -> list[nn.Parameter]:
        return [p for m in self.backbone_modules() for p in m.parameters()]

    def head_parameters(self) -> list[nn.Parameter]:
        backbone = {id(p) for p in self.backbone_parameters()}
        return [p for p in self.parameters() if id(p) not in backbone]

    def freeze_backbone(self, frozen: bool = True):
        """Stop (or restart) training the backbone; the head always trains.

        After unfreezing, add backbone_parameters() to the optimizer (e.g. a new param group).
        """
        self.backbone_frozen = bool(frozen)
        for p in self.backbone_parameters():
            p.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode: bool = True):
        """Like nn.Module.train, but the BatchNorm layers of a frozen backbone stay in eval mode.

        Why: with requires_grad off, BN weights are fixed, yet in train mode BN would still normalise
        with the statistics of each (small, face-only) batch and overwrite the pretrained running
        mean/var. The frozen backbone would then drift and its features would no longer match what the
        head trained on at eval time. In eval mode it is an exact, fixed feature extractor.
        """
        super().train(mode)
        if mode and self.backbone_frozen:
            for module in self.backbone_modules():
                for m in module.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()
        return self

    def load_backbone(self, state_dict: dict[str, torch.Tensor], source: str = "the start weights") -> bool:
        """Load the backbone from state_dict (strictly); the head too when the file holds one that fits.

        Extra keys (an ImageNet classifier) are ignored. Returns True when the head was loaded as well.
        """
        own = self.state_dict()
        state_dict = {k.removeprefix("module."): v for k, v in state_dict.items()}
        backbone_keys = [
            k for k in own
            if not _is_head_key(k, self.head_prefixes) and not k.endswith("num_batches_tracked")
        ]
        missing = [k for k in backbone_keys if k not in state_dict]
        misfit = [k for k in backbone_keys if k in state_dict and state_dict[k].shape != own[k].shape]
        if missing or misfit:
            example = (missing or misfit)[0]
            raise StartWeightsError(
                f"the weights in {source} do not fit {self.arch}: {len(missing)} backbone tensors missing and "
                f"{len(misfit)} of the wrong size (e.g. {example})."
            )
        head_keys = [k for k in own if _is_head_key(k, self.head_prefixes)]
        head_fits = all(k in state_dict and state_dict[k].shape == own[k].shape for k in head_keys)
        take = [k for k in own if k in state_dict and (k in backbone_keys or head_fits)]
        merged = dict(own)
        merged.update({k: state_dict[k].to(own[k].dtype) for k in take})
        self.load_state_dict(merged, strict=True)
        return head_fits
