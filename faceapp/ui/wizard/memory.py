"""The wizard's choices, remembered in QSettings for the next run: task, folder and settings per task."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

# Settings a user picks on the Settings page; the rest of TrainConfig keeps the core's defaults.
REMEMBERED = ("epochs", "batch_size", "lr", "input_size", "start", "freeze_backbone", "patience", "device", "seed",
              "crop_faces", "max_batches", "pairs_per_epoch", "val_pairs")


class WizardMemory:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings()

    def _get(self, key: str, default: str = "") -> str:
        value = self.q.value(f"wizard/{key}", default)
        return value if isinstance(value, str) else default

    def task(self) -> str:
        task = self._get("task", "gender")
        return task if task in ("gender", "matcher") else "gender"

    def set_task(self, task: str) -> None:
        self.q.setValue("wizard/task", task)

    def folder(self, task: str) -> str:
        return self._get(f"{task}/folder")

    def set_folder(self, task: str, folder: str) -> None:
        self.q.setValue(f"wizard/{task}/folder", str(folder))

    def out_dir(self, default: str) -> str:
        return self._get("out_dir") or default

    def set_out_dir(self, folder: str) -> None:
        self.q.setValue("wizard/out_dir", str(folder))

    def settings(self, task: str) -> dict:
        try:
            values = json.loads(self._get(f"{task}/settings", "{}"))
        except ValueError:
            return {}
        return {k: v for k, v in values.items() if k in REMEMBERED} if isinstance(values, dict) else {}

    def set_settings(self, task: str, config) -> None:
        values = {k: getattr(config, k) for k in REMEMBERED}
        self.q.setValue(f"wizard/{task}/settings", json.dumps(values))

    def sync(self) -> None:
        self.q.sync()
