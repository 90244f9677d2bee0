"""Fixtures for the app tests: isolated QSettings and model folder, tiny checkpoints, generated photos."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PIL import Image, ImageDraw


def _save_tiny(path, task: str, seed: int = 0):
    import torch

    from training.checkpoint import make_checkpoint, save_checkpoint
    from training.models import build_model

    torch.manual_seed(seed)
    model = build_model(task)
    classes = ["female", "male"] if task == "gender" else ["different", "same"]
    ckpt = make_checkpoint(
        model, task=task, classes=classes, input_size=32,
        normalization={"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
        framing={"detector": "haar", "frame_scale": 0.4328}, threshold=0.5,
        metrics={"val_accuracy": 0.5}, config={"task": task, "epochs": 1}, history=[{"epoch": 1}], epoch=1,
        extra={"train_data": "tiny test model (untrained)"},
    )
    save_checkpoint(path, ckpt)
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """{"gender": path, "matcher": path} of untrained checkpoints at input size 32."""
    folder = tmp_path_factory.mktemp("tiny_models")
    return {task: _save_tiny(folder / f"{task}.pt", task) for task in ("gender", "matcher")}


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


@pytest.fixture
def photo_folder(tmp_path):
    """8 good photos (one grayscale PNG), one corrupt JPEG and one non-image with an image extension."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(7):
        face_image(i).save(folder / f"person_{i:02d}.jpg", quality=90)
    face_image(99, gray=True).save(folder / "gray_face.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (folder / "notes.png").write_text("hello")
    return folder


@pytest.fixture
def app_env(tmp_path, monkeypatch, qapp):
    """Point QSettings at a temporary INI file and the app data folder at tmp; return the data folder."""
    from PySide6.QtCore import QCoreApplication, QSettings

    data_dir = tmp_path / "appdata"
    data_dir.mkdir()
    settings_dir = tmp_path / "settings"
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir))
    QCoreApplication.setOrganizationName("FaceAppTests")
    QCoreApplication.setApplicationName(f"FaceAppTest-{tmp_path.name}")
    monkeypatch.setenv("FACEAPP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FACEAPP_RESOURCES", str(tmp_path / "no_resources"))  # no bundled models
    return data_dir


@pytest.fixture
def model_store(app_env):
    from faceapp.model_store import ModelStore

    return ModelStore(app_env / "models", bundled_dir=app_env / "bundled")


@pytest.fixture
def installed_store(model_store, tiny_models):
    for task in ("gender", "matcher"):
        model_store.import_checkpoint(tiny_models[task], task=task)
    return model_store


@pytest.fixture
def make_window(qtbot, app_env):
    """Build a MainWindow over a given ModelStore (models on the CPU); closed (workers stopped) at teardown."""
    from faceapp.active_models import ActiveModels
    from faceapp.main_window import MainWindow
    from faceapp.settings import Settings

    def make(store):
        window = MainWindow(ActiveModels(store, device="cpu"), Settings(), log_path=None)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


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
            assert self.gate.wait(30), "the test never opened the gate"

    def predict(self, images, batch_size=32):
        self._count()
        return self.inner.predict(images, batch_size=batch_size)

    def embed(self, images, batch_size=32):
        self._count()
        return self.inner.embed(images, batch_size=batch_size)


@pytest.fixture
def counting():
    return Counting
