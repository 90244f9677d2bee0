"""`faceapp --self-test` against tiny generated checkpoints: the one-line summary, and failures with a reason."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from faceapp.tools import selftest
from tests.gui.helpers import save_tiny

ROOT = Path(__file__).resolve().parent.parent
OK_LINE = re.compile(r"self-test ok: gender model gender\.pt \(user, resnet18\), matcher matcher\.pt "
                     r"\(user, mobilenet_v2, threshold 0\.50\), device \S+, 4 images tagged \((\d+ (fe)?male(, )?)+; "
                     r"faces found in [0-4]\), pair score [01]\.\d\d, window modules ok, [\d.]+ s")


@pytest.fixture(scope="module")
def data_folder(tmp_path_factory) -> Path:
    """An app data folder whose model store holds (and activates) tiny untrained models."""
    from faceapp.core.model_store import ModelStore

    root = tmp_path_factory.mktemp("selftest")
    store = ModelStore(root / "data" / "models", bundled_dir=root / "no_bundled")
    for task in ("gender", "matcher"):
        store.import_checkpoint(save_tiny(root / f"{task}.pt", task), task=task)
    return root / "data"


def self_test_cli(data: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               FACEAPP_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "faceapp", "--self-test"], check=False, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)


def test_self_test_prints_one_line_and_exits_0(data_folder, tmp_path):
    done = self_test_cli(data_folder, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and OK_LINE.fullmatch(lines[0]), done.stdout


def test_corrupt_model_fails_with_the_reason(data_folder, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(data_folder, data)
    active = data / "models" / "gender" / "gender.pt"
    active.write_bytes(active.read_bytes()[:5000])  # truncated mid-file
    done = self_test_cli(data, tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("self-test FAILED: the gender model (user) cannot be loaded: "), done.stdout
    assert "gender.pt" in done.stdout and "truncated" in done.stdout


def test_missing_model_fails_with_where_it_looked(tmp_path):
    out = io.StringIO()
    assert selftest.run_self_test(tmp_path / "empty", bundled_dir=tmp_path / "none", stream=out) == 1
    assert out.getvalue().startswith("self-test FAILED: no gender model is installed (model folder ")
    assert str(tmp_path / "none") in out.getvalue()


def test_wrong_task_in_the_gender_slot_fails(data_folder, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(data_folder, data)
    shutil.copyfile(data / "models" / "matcher" / "matcher.pt", data / "models" / "gender" / "gender.pt")
    out = io.StringIO()
    assert selftest.run_self_test(data, bundled_dir=tmp_path / "none", device="cpu", stream=out) == 1
    assert out.getvalue().startswith("self-test FAILED: the gender model (user) cannot be loaded:")


def test_bundled_default_models_pass(tmp_path):
    from faceapp.core.resources import resource_path

    if not resource_path("models", "gender.pt").is_file() or not resource_path("models", "matcher.pt").is_file():
        pytest.skip("no bundled default models in this checkout")
    out = io.StringIO()
    assert selftest.run_self_test(tmp_path / "fresh", device="cpu", stream=out) == 0, out.getvalue()
    assert "gender model gender.pt (bundled" in out.getvalue() and "faces found in 4" in out.getvalue()


def test_data_folder_is_the_apps(tmp_path, monkeypatch):
    from faceapp.ui.data_folder import data_dir

    monkeypatch.setenv("FACEAPP_DATA_DIR", str(tmp_path / "from_env"))
    assert selftest.data_folder() == data_dir()
    assert selftest.data_folder(tmp_path / "given") == data_dir(tmp_path / "given")


def test_first_show_hook_reports_the_time_and_closes_the_window(qtbot, monkeypatch, capsys):
    from PySide6.QtWidgets import QLabel

    monkeypatch.setenv(selftest.EXIT_AFTER_SHOW_ENV, "0")
    window = QLabel("hello")
    qtbot.addWidget(window)
    selftest.exit_after_first_show(window)
    window.show()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)  # a ceiling
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"first window: [\d.]+ s after process start \(epoch [\d.]+\)", line), line


def test_first_show_hook_is_off_by_default(qtbot, monkeypatch):
    from PySide6.QtWidgets import QLabel

    monkeypatch.delenv(selftest.EXIT_AFTER_SHOW_ENV, raising=False)
    window = QLabel("hello")
    qtbot.addWidget(window)
    selftest.exit_after_first_show(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)  # a few event-loop turns: nothing may close it
    assert window.isVisible()
