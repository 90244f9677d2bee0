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

    def probabilities(self, x: torch.Tensor, flip: bool = True) -> torch.Tensor:
        """Class probabilities (N, C), averaged with the mirrored image when `flip` (a cheap, steady gain:
        faces are left-right symmetric, so the two views disagree only where the model is unsure)."""
        probs = torch.softmax(self(x).float(), dim=1)
        if flip:
            probs = (probs + torch.softmax(self(torch.flip(x, dims=[3])).float(), dim=1)) / 2
        return probs
