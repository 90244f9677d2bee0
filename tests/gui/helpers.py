"""Helpers for the app tests: tiny untrained checkpoints, drawn face photos, a model-call counter."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def save_tiny(path, task: str, seed: int = 0, threshold: float = 0.5, metrics: dict | None = None):
    import torch

    from training.checkpoint import make_checkpoint, save_checkpoint
    from training.models import build_model

    torch.manual_seed(seed)
    model = build_model(task)
    classes = ["female", "male"] if task == "gender" else ["different", "same"]
    ckpt = make_checkpoint(
        model, task=task, classes=classes, input_size=32,
        normalization={"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        framing={"detector": "haar", "frame_scale": 0.4328}, threshold=threshold,
        metrics=metrics or {"val_accuracy": 0.5}, config={"task": task, "epochs": 1}, history=[{"epoch": 1}], epoch=1,
        extra={"train_data": "tiny test model (untrained)"},
    )
    save_checkpoint(path, ckpt)
    return path


def with_plain_conv_features(matcher):
    """`matcher` (a loaded FaceMatcher) with a seeded plain conv as its backbone, in place: an untrained
    MobileNetV2 maps every image to about the same point, and some tests need images that embed apart."""
    import torch

    torch.manual_seed(0)
    matcher.model.features = torch.nn.Sequential(torch.nn.Conv2d(3, 1280, 5, padding=2), torch.nn.ReLU()).eval()
    return matcher


def face_image(seed: int, size=(96, 112), gray: bool = False) -> Image.Image:
    """A cartoon face on a random background: enough structure for the models, no detector needed."""
    rng = np.random.default_rng(seed)
    bg = tuple(int(v) for v in rng.integers(0, 255, 3))
    image = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(image)
    w, h = size
    skin = tuple(int(v) for v in rng.integers(120, 240, 3))
    draw.ellipse([w * 0.2, h * 0.15, w * 0.8, h * 0.85], fill=skin)
    for ex in (0.38, 0.62):
        draw.ellipse([w * ex - 4, h * 0.4 - 3, w * ex + 4, h * 0.4 + 3], fill=(30, 30, 30))
    draw.line([w * 0.4, h * 0.68, w * 0.6, h * 0.68], fill=(120, 20, 20), width=3)
    return image.convert("L") if gray else image


class Counting:
    """Wraps a loaded model and counts its model calls (predict / embed)."""

    def __init__(self, inner, gate=None, free_calls: int = 1):
        self.inner, self.gate, self.free_calls = inner, gate, free_calls
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _count(self):
        self.calls += 1
        if self.gate is not None and self.calls > self.free_calls:
            assert self.gate.wait(120), "the test never opened the gate"  # a ceiling, not a budget

    def predict(self, images, batch_size=32):
        self._count()
        return self.inner.predict(images, batch_size=batch_size)

    def embed(self, images, batch_size=32):
        self._count()
        return self.inner.embed(images, batch_size=batch_size)
