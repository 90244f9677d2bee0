"""FaceApp desktop app: tag photo folders by gender and verify degraded faces (PySide6 adapter of `training`)."""

from __future__ import annotations

from training import __version__  # the one place the version is written (pyproject reads it too)

APP_NAME = "FaceApp"
ORG_NAME = "FaceApp"

__all__ = ["APP_NAME", "ORG_NAME", "__version__"]
