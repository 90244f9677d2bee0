"""Fixtures for the app tests: isolated QSettings and model folder, tiny checkpoints, generated photos."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from .helpers import Counting, face_image, save_tiny


@pytest.fixture(autouse=True)
def collect_closed_windows():
    """After each test (pytest-qt has closed its widgets and their workers have stopped), free the cyclic
    garbage they leave, so it is not collected on the GUI thread in the middle of the next test while
    that test's workers run. A full suite once died there: a segfault during such a collection."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def no_unanswered_dialogs(monkeypatch):
    """A modal question that no test answers waits forever offscreen (a full run once hung on one): here it
    fails at once, naming the dialog. A test that expects a question patches it itself, which wins."""
    from PySide6.QtWidgets import QMessageBox

    def unexpected(parent, title, text, *args, **kwargs):
        raise AssertionError(f"unexpected modal dialog {title!r}: {text}")

    for name in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, unexpected)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """{"gender": path, "matcher": path} of untrained checkpoints at input size 32."""
    folder = tmp_path_factory.mktemp("tiny_models")
    return {task: save_tiny(folder / f"{task}.pt", task) for task in ("gender", "matcher")}


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
    from faceapp.core.model_store import ModelStore

    return ModelStore(app_env / "models", bundled_dir=app_env / "bundled")


@pytest.fixture
def installed_store(model_store, tiny_models):
    for task in ("gender", "matcher"):
        model_store.import_checkpoint(tiny_models[task], task=task)
    return model_store


@pytest.fixture
def make_window(qtbot, app_env):
    """Build a MainWindow over a given ModelStore (models on the CPU); closed (workers stopped) at teardown."""
    from faceapp.core.active_models import ActiveModels
    from faceapp.ui.main_window import MainWindow
    from faceapp.ui.settings import Settings

    def make(store):
        window = MainWindow(ActiveModels(store, device="cpu"), Settings(), log_path=None)
        qtbot.addWidget(window)
        window.show()
        return window

    return make


@pytest.fixture
def counting():
    return Counting
