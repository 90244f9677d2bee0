"""Find bundled resources (icons, default models) in a source checkout, a pip install or a PyInstaller bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_OVERRIDE = "FACEAPP_RESOURCES"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # faceapp/: its icons and .desktop file live there


def resource_roots() -> list[Path]:
    """Candidate `resources/` folders, most specific first."""
    roots: list[Path] = []
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        roots.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if bundle:
        roots.append(Path(bundle) / "resources")
    package_dir = PACKAGE_DIR
    roots.append(package_dir / "resources")  # a wheel that ships resources inside the package
    roots.append(package_dir.parent / "resources")  # the source checkout (repo root)
    roots.append(Path(sys.prefix) / "share" / "faceapp" / "resources")  # data-files of a pip install
    roots.append(package_dir)  # package data (icons/, the .desktop file): in every layout, frozen included
    return roots


def resource_path(*parts: str) -> Path:
    """The first existing `<root>/<parts>`; if none exists, the path under the checkout root."""
    roots = resource_roots()
    for root in roots:
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    fallback = [r for r in roots if r.name == "resources" and r.parent == PACKAGE_DIR.parent]
    return (fallback[0] if fallback else roots[-1]).joinpath(*parts)
