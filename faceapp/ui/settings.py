"""Typed access to the app's QSettings (UI state and options only; models live in the model folder)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

DEFAULTS = {
    "device": "auto",
    "tag/recursive": False,
    "tag/assume_crop": False,
    "tag/every_face": False,  # one row per face of a group photo, not the main face only
    "tag/uncertain_below": -1.0,  # < 0: the gender model's own validation-chosen level
    "tag/uncertain_model": "",  # which gender model the saved level belongs to
    "tag/last_folder": "",
    "tag/last_output": "",
    "verify/assume_crop": False,
    "verify/last_folder": "",
    "verify/gallery_folder": "",
    "verify/threshold": -1.0,  # < 0: use the model's stored threshold
    "verify/threshold_model": "",  # which matcher the saved threshold belongs to
    "verify/uncertain_margin": 0.05,  # scores within this of the threshold are "UNCERTAIN"
    "verify/condition": "",
    "verify/severity": 3,
    "models/last_folder": "",
    "window/page": 0,
}


class Settings:
    """Thin wrapper: `get(key)` returns the default's type; unknown keys are refused (typos show up early)."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings()

    def get(self, key: str):
        default = DEFAULTS[key]
        value = self.q.value(key, default)
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        if key not in DEFAULTS:
            raise KeyError(key)
        self.q.setValue(key, value)

    def geometry(self, name: str) -> QByteArray | None:
        value = self.q.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, name: str, data: QByteArray) -> None:
        self.q.setValue(f"window/{name}", data)

    def sync(self) -> None:
        self.q.sync()
