"""The build recipe without building: build.spec's files, excludes and options; icons; the .desktop file."""

from __future__ import annotations

import ast
import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from training.faces import CASCADE_FILE  # the file the app loads; the bundle must hold this one

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
ICONS = ROOT / "faceapp" / "icons"


class _Recorder:
    """Stands in for PyInstaller's Analysis/PYZ/EXE/COLLECT/BUNDLE: remembers what the spec passed."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.pure = self.scripts = self.binaries = self.datas = []


def run_spec(root: Path = ROOT) -> dict:
    names = {name: type(name, (_Recorder,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace = {"SPECPATH": str(root), "__file__": str(SPEC), **names}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)  # our own build recipe
    return namespace


@pytest.fixture(scope="module")
def spec() -> dict:
    if not all((ROOT / "resources" / "models" / name).is_file() for name in ("gender.pt", "matcher.pt")):
        pytest.skip("the default models are not in this checkout (resources/models)")
    return run_spec()


def test_spec_bundles_models_icons_desktop_file_and_cascade(spec):
    datas = spec["a"].kwargs["datas"]
    for source, _ in datas:
        assert Path(source).is_file(), source
    placed = {(Path(source).name, folder) for source, folder in datas}
    for wanted in [("gender.pt", "resources/models"), ("matcher.pt", "resources/models"),
                   ("faceapp.png", "faceapp/icons"), ("faceapp.ico", "faceapp/icons"),
                   ("faceapp.desktop", "faceapp"), (CASCADE_FILE, "cv2/data")]:
        assert wanted in placed


def test_spec_is_one_folder_windowed_and_lists_our_modules(spec):
    exe, coll = spec["exe"].kwargs, spec["coll"]
    assert exe["exclude_binaries"] is True and exe["console"] is False and exe["name"] == "faceapp"
    assert exe["icon"] is None or Path(exe["icon"]).is_file()
    assert any(Path(source).name.startswith("_C") for source, _ in spec["a"].kwargs["binaries"])  # torchvision ops
    assert coll.kwargs["name"] == "FaceApp"
    hidden = spec["a"].kwargs["hiddenimports"]
    assert {"faceapp.tools.selftest", "faceapp.__main__", "training.inference", "training.faces"} <= set(hidden)
    entry = Path(spec["a"].args[0][0])
    assert "freeze_support()" in entry.read_text()


def test_spec_excludes_unused_qt_modules_and_big_packages(spec):
    excludes = set(spec["a"].kwargs["excludes"])
    assert {"PySide6.QtWebEngineCore", "PySide6.Qt3DCore", "PySide6.QtQuick", "PySide6.QtQml",
            "PySide6.QtMultimedia", "tkinter", "matplotlib", "IPython", "tensorboard", "triton"} <= excludes
    needed = {"PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets", "torch", "cv2",
              "PySide6.QtSvg", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets"}  # the last three: pyqtgraph
    assert not needed & excludes


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_nothing_the_app_imports_is_excluded(spec):
    """A new import of an excluded module (say QtCharts in the wizard) must update build.spec too."""
    excludes = set(spec["QT_EXCLUDES"]) | set(spec["PACKAGE_EXCLUDES"])
    used = _imports("faceapp") | _imports("training")
    clashes = sorted(name for name in used if name in excludes or name.split(".")[0] in excludes)
    assert not clashes, f"build.spec excludes modules the app imports: {clashes}"


def test_spec_refuses_to_build_without_default_models(tmp_path):
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "__init__.py").write_text('__version__ = "9.9"\n')
    with pytest.raises(SystemExit, match="default models"):
        run_spec(tmp_path)


def test_icons_exist_at_the_sizes_the_platforms_use():
    assert ET.parse(ICONS / "faceapp.svg").getroot().tag.endswith("svg")
    with Image.open(ICONS / "faceapp.png") as png:
        assert png.size == (256, 256) and png.mode == "RGBA"
        assert png.getpixel((0, 0))[3] == 0 and png.getpixel((128, 128))[3] == 255  # rounded corners, solid face
    with Image.open(ICONS / "faceapp.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.ico.sizes())


def test_app_finds_its_icon_and_desktop_file():
    from faceapp.core.resources import resource_path

    assert resource_path("icons", "faceapp.png") == ICONS / "faceapp.png"
    assert resource_path("faceapp.desktop").is_file()


def test_desktop_file_is_a_launchable_application_entry():
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(ROOT / "faceapp" / "faceapp.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "FaceApp"
    assert entry["Exec"].split()[0] == "faceapp" and entry["Icon"] == "faceapp"
    assert entry["Terminal"] == "false" and entry["Categories"].endswith(";")


def test_the_version_is_written_in_one_place(spec):
    """training/__init__.py holds it; pyproject (dynamic), faceapp and the frozen build all read it."""
    import faceapp
    import training

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "training.__version__"' in pyproject
    assert "\nversion =" not in pyproject.split("[project.optional-dependencies]")[0]
    assert faceapp.__version__ == training.__version__ == spec["VERSION"]
