"""Stand-ins for the two networks with their interfaces and checkpoint fields, on a few hundred weights.

For tests of what the training loop does (cancel, resume, schedules, early stopping, faults), which does
not depend on the network's size: a fit of a few batches takes a fraction of a second, and its
checkpoints are kilobytes instead of the 180 MB a ResNet-18 epoch writes (best.pt and last.pt with the
optimizer's state). Tests that check learning or the real networks keep them.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn


def _body() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 4, 5, stride=4), nn.BatchNorm2d(4), nn.ReLU())


def build_tiny_model(task: str, *, start="none", dropout: float = 0.3, embedding_dim: int = 128,
                     num_classes: int = 2, freeze_backbone=None) -> nn.Module:
    """`training.models.build_model`'s signature; the network is tiny (start weights are not supported)."""
    from training.models.gender import GenderNet
    from training.models.matcher import MatcherNet

    class TinyGender(GenderNet):  # logits, mirrored views and probabilities come from GenderNet
        def __init__(self):
            nn.Module.__init__(self)
            self.num_classes, self.dropout, self.backbone_frozen = num_classes, dropout, False
            self.body, self.fc = _body(), nn.Linear(4, num_classes)

        def forward(self, x):
            return self.fc(F.adaptive_avg_pool2d(self.body(x), 1).flatten(1))

    class TinyMatcher(MatcherNet):  # embeddings, pair scores and mirrored views come from MatcherNet
        def __init__(self):
            nn.Module.__init__(self)
            self.embedding_dim, self.dropout, self.backbone_frozen = embedding_dim, dropout, False
            self.features, self.embedding = _body(), nn.Linear(4, embedding_dim)
            self.head = nn.Linear(embedding_dim, 1)

    if str(start).lower() != "none":
        raise ValueError("the tiny stand-in networks start from random weights only")
    model = TinyGender() if task == "gender" else TinyMatcher()
    model.start_weights = "none"
    return model
