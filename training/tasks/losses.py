"""Training-only losses of the matcher: they shape the embedding and never ship with the model."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CosineMarginHead(nn.Module):
    """CosFace-style identity classifier on unit embeddings: it pulls each person's photos together.

    Used only while training (it never ships); with pair BCE alone a from-scratch embedding learns slowly.
    """

    def __init__(self, embedding_dim: int, identities: int, scale: float = 30.0, margin: float = 0.35):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(identities, embedding_dim) * 0.01)
        self.scale, self.margin = scale, margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        keep = labels >= 0
        if not keep.any():
            return embeddings.sum() * 0.0
        cos = F.linear(F.normalize(embeddings[keep].float(), dim=1), F.normalize(self.weight, dim=1))
        onehot = F.one_hot(labels[keep], cos.shape[1]).to(cos.dtype)
        return F.cross_entropy(self.scale * (cos - self.margin * onehot), labels[keep])


def distillation_loss(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean (1 - cosine) between unit embeddings and the teacher's unit targets; zero targets are skipped."""
    keep = targets.abs().sum(dim=1) > 0
    if not keep.any():
        return embeddings.sum() * 0.0
    return (1 - (embeddings[keep].float() * targets[keep].float()).sum(dim=1)).mean()


def relational_loss(embeddings: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the batch's pairwise cosine similarities and the teacher's
    (off the diagonal, rows with a teacher target only): verification reads similarities, not vectors."""
    keep = targets.abs().sum(dim=1) > 0
    if keep.sum() < 2:
        return embeddings.sum() * 0.0
    e = F.normalize(embeddings[keep].float(), dim=1)
    t = F.normalize(targets[keep].float(), dim=1)
    off = ~torch.eye(len(e), dtype=torch.bool, device=e.device)
    return ((e @ e.T - t @ t.T)[off] ** 2).mean()


def ranking_loss(embeddings: torch.Tensor, targets: torch.Tensor, anchors: torch.Tensor,
                 temperature: float = 0.05, same: float = 0.9999) -> torch.Tensor:
    """KL divergence from the teacher's ranking of the anchors (unit teacher vectors of known faces) to the
    student's: for each view, softmax over its cosines to the anchors at `temperature`, the teacher's from its
    target, the student's from its embedding. 1:N identification reads which known face comes first, which the
    batch's few random faces (the relational term) rarely test. A view's own face (an anchor at cosine
    `same` or more to its target) is left out, so the term is about the others; rows without a target too."""
    keep = targets.abs().sum(dim=1) > 0
    if not keep.any():
        return embeddings.sum() * 0.0
    e = F.normalize(embeddings[keep].float(), dim=1)
    t = F.normalize(targets[keep].float(), dim=1)
    anchors = anchors.to(e.dtype)
    teacher = t @ anchors.T
    own = teacher >= same
    teacher = (teacher / temperature).masked_fill(own, float("-inf"))
    student = (e @ anchors.T / temperature).masked_fill(own, float("-inf"))
    p = F.softmax(teacher, dim=1)
    log_ratio = (F.log_softmax(teacher, dim=1) - F.log_softmax(student, dim=1)).masked_fill(own, 0.0)
    return (p * log_ratio).sum(dim=1).mean()
