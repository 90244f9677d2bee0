"""The seam, by structure: `training/`, `faceapp/core/` and `faceapp/cli/` never import Qt, and imports run one
way (training <- core <- cli / ui <- tools). Every module of those packages is walked; no list of names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt")
# package -> the packages of this repository it must never import (at module level or inside a function)
FORBIDDEN = {
    "training": ("faceapp", *QT),
    "faceapp/core": ("faceapp.ui", "faceapp.tools", "faceapp.cli", *QT),
    "faceapp/cli": ("faceapp.ui", "faceapp.tools", *QT),
    "faceapp/ui": ("faceapp.tools", "faceapp.cli"),
}


def imported_names(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    else:
        package = package.removesuffix(".__init__")
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.append((node.lineno, base))
            names += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return names


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, name in imported_names(path):
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_imports_run_one_way(folder):
    assert (ROOT / folder).is_dir()
    assert violations(folder, FORBIDDEN[folder]) == []


def test_the_walk_sees_lazy_and_relative_imports(tmp_path, monkeypatch):
    """The checker itself: an import inside a function, and a relative one, are both found."""
    package = tmp_path / "faceapp" / "core"
    package.mkdir(parents=True)
    (package / "bad.py").write_text("def f():\n    from ..ui import widgets\n    import PySide6.QtCore\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("faceapp/core", FORBIDDEN["faceapp/core"]) == [
        "faceapp/core/bad.py:2 imports faceapp.ui", "faceapp/core/bad.py:2 imports faceapp.ui.widgets",
        "faceapp/core/bad.py:3 imports PySide6.QtCore"]


SCRIPT = """
import importlib, pkgutil, sys
names = []
for package in ("training", "faceapp", "faceapp.core", "faceapp.cli"):
    module = importlib.import_module(package)
    names.append(package)
    if package != "faceapp":  # the top package's sub-packages are walked one by one
        names += [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")
                  if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6"))
    if qt:
        raise SystemExit(f"{name} imported {qt[0]}")
print("ok", len(names))
"""


def test_importing_every_qt_free_module_loads_no_qt():
    """What the imports pull in at run time (a dependency of a dependency) leaves Qt out too."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    files = [p for folder in ("training", "faceapp/core", "faceapp/cli") for p in (ROOT / folder).rglob("*.py")
             if p.name != "__main__.py"]
    assert int(done.stdout.split()[-1]) == len(files) + 1  # every file walked, and faceapp/__init__.py
