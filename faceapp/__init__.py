"""FaceApp desktop app: tag photo folders by gender and verify degraded faces (PySide6 adapter of `training`)."""

from __future__ import annotations

try:  # the installed distribution knows its version; a source checkout falls back to the constant
    from importlib.metadata import version as _dist_version

    __version__ = _dist_version("faceapp")
except Exception:  # noqa: BLE001 - PackageNotFoundError or a broken metadata install
    __version__ = "0.1.0"

APP_NAME = "FaceApp"
ORG_NAME = "FaceApp"
