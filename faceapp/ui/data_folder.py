"""Where the app keeps its data: the app's identity (organisation and name, from which QSettings and
QStandardPaths derive their folders) and the data folder itself. `faceapp.cli.common.app_data_folder` follows
the same rules without Qt (a test holds the two together)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QStandardPaths

from faceapp import APP_NAME, ORG_NAME

DATA_DIR_ENV = "FACEAPP_DATA_DIR"


def set_app_identity() -> None:
    """Organisation and app name, from which QSettings and QStandardPaths derive where things live."""
    if not QCoreApplication.organizationName():
        QCoreApplication.setOrganizationName(ORG_NAME)
    if not QCoreApplication.applicationName() or QCoreApplication.instance() is None:
        QCoreApplication.setApplicationName(APP_NAME)


def data_path(override=None) -> Path:
    """The app data folder (not created): an explicit path, $FACEAPP_DATA_DIR, or the AppDataLocation."""
    chosen = override or os.environ.get(DATA_DIR_ENV)
    if not chosen:
        set_app_identity()
        chosen = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(chosen)


def data_dir(override=None) -> Path:
    """`data_path`, created if missing."""
    path = data_path(override)
    path.mkdir(parents=True, exist_ok=True)
    return path
