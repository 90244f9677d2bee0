"""GenderNet: a ResNet-18 with a small dropout head that outputs gender logits."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from .weights import BackboneMixin


class GenderNet(BackboneMixin, ResNet):
    """torchvision resnet18 whose `fc` is Linear(512→256) → ReLU → Dropout(p) → Linear(256→num_classes).

    It subclasses ResNet, so its backbone keys are exactly torchvision's (`conv1.weight`, `layer1...`)
    and torchvision/ImageNet state_dicts load into it; the head is everything under `fc.`.
    `weights` is an optional backbone state_dict (see `resolve_start_weights`).
    """

    arch = "resnet18"
    head_prefixes = ("fc.",)

    def __init__(self, num_classes: int = 2, dropout: float = 0.3, weights=None):
        super().__init__(BasicBlock, [2, 2, 2, 2])
        self.num_classes = int(num_classes)
        self.dropout = float(dropout)
        self.fc = nn.Sequential(
            nn.Linear(512, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(self.dropout),
            nn.Linear(256, self.num_classes),
        )
        self.backbone_frozen = False
        if weights is not None:
            self.load_backbone(weights)

    def backbone_modules(self) -> list[nn.Module]:
        return [module for name, module in self.named_children() if name != "fc"]

    def view_logits(self, x: torch.Tensor, flip: bool = True) -> torch.Tensor:
        """Logits (V, N, C) of the image and, when `flip`, its mirror (V = 2): what calibration fits."""
        views = [self(x).float()]
        if flip:
            views.append(self(torch.flip(x, dims=[3])).float())
        return torch.stack(views)

    def probabilities(self, x: torch.Tensor, flip: bool = True, temperature: float = 1.0) -> torch.Tensor:
        """Class probabilities (N, C), averaged with the mirrored image when `flip` (a cheap, steady gain:
        faces are left-right symmetric, so the two views disagree only where the model is unsure). Logits
        are divided by `temperature` first (`training.calibration`; 1 = as trained)."""
        return torch.softmax(self.view_logits(x, flip) / temperature, dim=2).mean(0)
