"""The seam: the training core and the app's logic modules never import Qt."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QT_FREE_APP_MODULES = ("faceapp", "faceapp.tagging", "faceapp.verify", "faceapp.model_store",
                       "faceapp.active_models", "faceapp.resources", "faceapp.framing")

SCRIPT = """
import importlib, pkgutil, sys
import training
names = [m.name for m in pkgutil.walk_packages(training.__path__, "training.") if not m.name.endswith("__main__")]
for name in ["training", *names, *sys.argv[1:]]:
    importlib.import_module(name)
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6"))
    if qt:
        raise SystemExit(f"{name} imported {qt[0]}")
print("ok", len(names))
"""


def test_core_and_app_logic_do_not_import_qt():
    done = subprocess.run([sys.executable, "-c", SCRIPT, *QT_FREE_APP_MODULES], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok")
