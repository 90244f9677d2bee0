"""The Tag page's options: the folder box (folder, sub-folders, face crops, Start/Cancel) and the
"Uncertain below" level, set from the active gender model."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from training.calibration import FALLBACK_UNCERTAIN_BELOW, valid_level

log = logging.getLogger(__name__)
DEFAULT_CLASSES = ["female", "male"]  # until the gender model is read
UNCERTAIN_TIP = ("Predictions whose confidence is below this level are shown (and exported, and sorted) as "
                 "'uncertain' instead of a gender. Raise it to be stricter.")


def level_tip(summary: dict | None) -> str:
    """The tooltip of "Uncertain below": what the active model suggests, and what that costs on its data."""
    level = valid_level((summary or {}).get("uncertain_below"))
    if level is None:
        return UNCERTAIN_TIP + f"\nThis model suggests no level; {FALLBACK_UNCERTAIN_BELOW:.0%} is the default."
    metrics = (summary or {}).get("metrics") or {}
    caught, flagged = metrics.get("val_uncertain_caught"), metrics.get("val_uncertain_flagged")
    cost = (f": on its validation photos it flags {flagged:.0%} of them and catches {caught:.0%} of its mistakes"
            if isinstance(caught, float) and isinstance(flagged, float) else "")
    return UNCERTAIN_TIP + f"\nThe model suggests {level:.0%}{cost}."


def percent_box(value: float, minimum: float = 0.0) -> QDoubleSpinBox:
    box = QDoubleSpinBox(decimals=0, minimum=minimum, maximum=100.0, singleStep=5.0, suffix=" %")
    box.setValue(value)
    return box


class TagFolderBox(QWidget):
    """Two rows: the folder with Browse…; the tagging options with Start and Cancel (the page wires those)."""

    folder_changed = Signal(str)

    def __init__(self, settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.folder_edit = QLineEdit(placeholderText="Choose a folder of photos, or drop one onto the window")
        self.folder_edit.textChanged.connect(self.folder_changed)
        browse = QPushButton("Browse…", clicked=self.choose_folder)
        self.recursive = QCheckBox("Include sub-folders")
        self.assume_crop = QCheckBox("Images are already face crops")
        self.assume_crop.setToolTip("Skip face detection and classify each whole image (for pre-cropped faces).")
        self.every_face = QCheckBox("Every face")
        self.every_face.setToolTip("Tag each face of a group photo on a row of its own (its box goes into the "
                                   "exports). Off: the main face of each photo only (by size and nearness to "
                                   "the centre). Sorting into folders always files a photo by its main face.")
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.folder_edit.setMinimumWidth(240)  # a path stays readable on a small screen
        top = QHBoxLayout()
        for w in (QLabel("Folder:"), self.folder_edit, browse):
            top.addWidget(w, 1 if w is self.folder_edit else 0)
        options = QHBoxLayout()  # below the folder: the path keeps the whole width
        for w in (self.recursive, self.assume_crop, self.every_face):
            options.addWidget(w)
        options.addStretch(1)
        options.addWidget(self.start_button)
        options.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(options)

    def folder(self) -> str:
        return self.folder_edit.text().strip()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of photos", self.folder_edit.text())
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder) -> None:
        self.folder_edit.setText(str(folder))
        self.settings.set("tag/last_folder", str(folder))

    def restore(self) -> None:
        s = self.settings
        self.folder_edit.setText(s.get("tag/last_folder"))
        self.recursive.setChecked(s.get("tag/recursive"))
        self.assume_crop.setChecked(s.get("tag/assume_crop"))
        self.every_face.setChecked(s.get("tag/every_face"))

    def save(self) -> None:
        s = self.settings
        s.set("tag/last_folder", self.folder_edit.text())
        s.set("tag/recursive", self.recursive.isChecked())
        s.set("tag/assume_crop", self.assume_crop.isChecked())
        s.set("tag/every_face", self.every_face.isChecked())


class UncertainLevelBox(QWidget):
    """"Uncertain below:" and its box, set to the active gender model's suggested level or to the level the
    user saved for that very model."""

    changed = Signal(float)  # the level as a fraction

    def __init__(self, models, settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings = models, settings
        self._model_key = None  # which gender model the level was last set for
        self.box = percent_box(60.0, minimum=50.0)
        self.box.setToolTip(UNCERTAIN_TIP)
        self.box.valueChanged.connect(lambda value: self.changed.emit(value / 100.0))
        self.label = QLabel("Uncertain below:")
        self.label.setToolTip(UNCERTAIN_TIP)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.box)

    def value(self) -> float:
        return self.box.value() / 100.0

    def sync(self) -> list[str] | None:
        """Set the level for the active gender model (chosen on its validation photos when it was trained, or
        the user's own for it); return the model's class names, or None while the models are still loading."""
        if not self.models.ready:  # the level is in the checkpoint, read once the warm-up has imported torch
            return None
        path = self.models.path("gender")
        summary = None
        if path is not None:
            try:
                summary = self.models.store.summary(path, "gender")  # cached by path, size and mtime
            except Exception:  # noqa: BLE001 - a bad file is reported on the Models page
                log.warning("cannot read the gender model's uncertain level", exc_info=True)
        classes = list((summary or {}).get("classes") or DEFAULT_CLASSES)
        suggested = valid_level((summary or {}).get("uncertain_below")) or FALLBACK_UNCERTAIN_BELOW
        # A saved level belongs to one model, not to a path (a retrained model can land at the same path).
        key = f"{path}|{(summary or {}).get('created') or ''}|{suggested:.4f}" if path is not None else ""
        if key == self._model_key:
            return classes
        self._model_key = key
        saved = self.settings.get("tag/uncertain_below")
        use_saved = saved >= 0 and self.settings.get("tag/uncertain_model") == key
        self.box.setValue(100.0 * (saved if use_saved else suggested))
        self.box.setToolTip(level_tip(summary))
        self.label.setToolTip(self.box.toolTip())
        return classes

    def save(self) -> None:
        if self._model_key is not None:
            self.settings.set("tag/uncertain_below", self.value())
            self.settings.set("tag/uncertain_model", self._model_key)
