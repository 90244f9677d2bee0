"""The console commands run without Qt: every module under faceapp/cli, and what a real tagging and a real
verification import on the way, leave PySide6 (and the other Qt bindings) out of the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .cli_helpers import photo_folder, tiny_model

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import importlib, pkgutil, sys
import faceapp.cli
names = [m.name for m in pkgutil.walk_packages(faceapp.cli.__path__, "faceapp.cli.")]
for name in names:
    importlib.import_module(name)
from faceapp.cli import tag, verify
gender, matcher, photos, out = sys.argv[1:]
assert tag.main([photos, "-o", out, "--model", gender, "-q"]) == 1, "tagging"
assert verify.main([photos + "/face 00.jpg", photos + "/face 01.jpg", "--model", matcher]) == 0, "verification"
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6"))
if qt:
    raise SystemExit(f"the commands imported {qt[0]}")
print("ok", len(names))
"""


def test_the_commands_never_import_qt(tmp_path):
    photo_folder(tmp_path / "photos")
    gender, matcher = (tiny_model(tmp_path / f"{task}.pt", task) for task in ("gender", "matcher"))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(gender), str(matcher), str(tmp_path / "photos"),
                           str(tmp_path / "out.csv")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("ok")


def test_the_data_folder_found_without_qt_is_the_apps(tmp_path):
    """`app_data_folder` follows Qt's rules for AppDataLocation: check it against Qt itself (in a child
    process: setting the app's identity there touches no other test)."""
    script = ("from faceapp.ui.data_folder import data_path; from faceapp.cli.common import app_data_folder; "
              "print(data_path()); print(app_data_folder())")
    env = {k: v for k, v in os.environ.items() if k != "FACEAPP_DATA_DIR"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    qt, ours = done.stdout.splitlines()
    assert qt == ours
