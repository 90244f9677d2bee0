"""Wizard page 3: the training settings (remembered per task), start weights, and a measured time per epoch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from faceapp.core.devices import available_devices
from faceapp.core.wizard.defaults import imagenet_problem, suggested_config
from faceapp.ui.widgets import MUTED, Notice, format_eta
from faceapp.ui.wizard.bridge import error_sentence
from faceapp.ui.wizard.page_widgets import ErrorLabel, announce_complete
from faceapp.ui.wizard.wizard_jobs import estimate_job
from faceapp.ui.workers import LatestRunner

FIELD_WIDTH = 160
STARTS = [("ImageNet weights (recommended)", "imagenet"), ("From scratch", "none"), ("From a weights file…", "file")]
# How faces are found and framed, for training and, through the checkpoint, for the app (training.framing.NAMES).
FINDERS = [("BlazeFace, eyes aligned (as the bundled models)", "blazeface-aligned"),
           ("BlazeFace, face box", "blazeface"), ("Haar cascade (models from before 2026-12)", "haar")]


def _spin(low: int, high: int, step: int = 1, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    box.setMaximumWidth(FIELD_WIDTH)
    return box


def _row(*widgets) -> QWidget:
    holder = QWidget()
    row = QHBoxLayout(holder)
    row.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        row.addWidget(w, 1 if isinstance(w, QLineEdit) else 0)
    if not any(isinstance(w, QLineEdit) for w in widgets):
        row.addStretch(1)
    return holder


class SettingsPage(QWizardPage):
    estimated = Signal(object)  # the measured Estimate of an epoch with these settings

    def __init__(self, pool, session, parent=None):
        super().__init__(parent)
        self.session = session  # WizardSession
        self.setTitle("Settings")
        self.setButtonText(QWizard.WizardButton.NextButton, "Start training")
        self.last_estimate = None
        self._loading = False
        self._build_fields()
        self._build_layout()
        self._connect_fields()
        self.runner = LatestRunner(pool, debounce_ms=0, parent=self)
        self.runner.result.connect(self._estimated)
        self.runner.errored.connect(lambda e: self.estimate_label.setText(error_sentence(e.exception, e.message)))
        self.runner.busy_changed.connect(lambda busy: self.estimate_button.setEnabled(not busy))

    def _build_fields(self) -> None:
        self.epochs, self.batch_size = _spin(1, 1000), _spin(1, 4096)
        self.input_size, self.patience = _spin(32, 512, 16), _spin(0, 100, special="off")
        self.seed, self.max_batches = _spin(0, 2**31 - 1), _spin(0, 10**7, special="all")
        self.max_batches.setToolTip("A cap for quick trials; 'all' trains on every image each epoch")
        self.pairs_per_epoch, self.val_pairs = _spin(16, 10**7, 500), _spin(16, 10**6, 100)
        self.lr = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=1.0, singleStep=0.0001)
        self.lr.setMaximumWidth(FIELD_WIDTH)
        self.start = QComboBox()
        for label, value in STARTS:
            self.start.addItem(label, value)
        self.start_file = QLineEdit(placeholderText="weights file (.pt / .pth)")
        self.start_browse = QPushButton("Browse…", clicked=self._choose_weights)
        self.file_row = _row(self.start_file, self.start_browse)
        self.freeze = QCheckBox("train only the head (faster; best with ImageNet weights)")
        self.crop = QCheckBox("find and crop each face the way the app does (off for ready-made face crops)")
        self.finder = QComboBox()
        for label, value in FINDERS:
            self.finder.addItem(label, value)
        self.finder.setMaximumWidth(3 * FIELD_WIDTH)
        self.finder.setToolTip("How faces are found and framed. The model remembers it, and the app finds faces "
                               "the same way when it uses the model; a weights file to start from works best "
                               "with its own.")
        self.device = QComboBox()
        for label, value in available_devices():
            self.device.addItem(label, value)
        self.device.setMaximumWidth(3 * FIELD_WIDTH)
        self.out_dir = QLineEdit()

    def _build_layout(self) -> None:
        defaults = QPushButton("Suggested settings", clicked=self.suggest)
        defaults.setToolTip("Sensible values for this task on the chosen device")
        out_browse = QPushButton("Browse…", clicked=self._choose_out_dir)
        self.form = QFormLayout()
        for label, widget in (("Epochs", self.epochs), ("Batch size", self.batch_size), ("Learning rate", self.lr),
                              ("Input size (px)", self.input_size), ("Start from", _row(self.start, defaults)),
                              ("Weights file", self.file_row),
                              ("Freeze backbone", self.freeze), ("Early stopping patience", self.patience),
                              ("Device", self.device), ("Seed", self.seed), ("Faces", self.crop),
                              ("Face finder", self.finder),
                              ("Batches per epoch", self.max_batches), ("Pairs per epoch", self.pairs_per_epoch),
                              ("Validation pairs", self.val_pairs), ("Save runs in", _row(self.out_dir, out_browse))):
            self.form.addRow(label, widget)
        self.weights_note, self.error = Notice(), ErrorLabel()
        self.resume_note = QLabel()
        self.resume_note.setWordWrap(True)
        self.estimate_button = QPushButton("Measure time per epoch", clicked=self.measure)
        self.estimate_label = QLabel("Runs a few real batches with these settings.")
        self.estimate_label.setStyleSheet(f"color: {MUTED};")
        self.estimate_label.setWordWrap(True)
        estimate = QHBoxLayout()
        estimate.addWidget(self.estimate_button)
        estimate.addWidget(self.estimate_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.resume_note)
        layout.addLayout(self.form)
        layout.addWidget(self.weights_note)
        layout.addWidget(self.error)
        layout.addLayout(estimate)
        layout.addStretch(1)

    def _connect_fields(self) -> None:
        self.start.currentIndexChanged.connect(self._start_changed)
        for box in (self.epochs, self.batch_size, self.input_size, self.patience, self.seed, self.max_batches,
                    self.pairs_per_epoch, self.val_pairs, self.lr):
            box.valueChanged.connect(self._changed)
        for edit in (self.start_file, self.out_dir):
            edit.textChanged.connect(self._changed)
        for check in (self.freeze, self.crop):
            check.toggled.connect(self._changed)
        self.device.currentIndexChanged.connect(self._changed)
        self.finder.currentIndexChanged.connect(self._changed)

    # ------------------------------------------------------------ wizard hooks
    def initializePage(self) -> None:  # noqa: N802
        session = self.session
        task, resume = session.state.task, session.state.resume
        self.setSubTitle(f"Training the {'gender classifier' if task == 'gender' else 'face matcher'} on "
                         f"{session.state.folder}.")
        for row in (self.pairs_per_epoch, self.val_pairs):
            self.form.setRowVisible(row, task == "matcher")
        self.resume_note.setText(f"Resuming <b>{resume.name}</b> after epoch {resume.epochs_done}: the settings are "
                                 "the run's own; raise the epochs to train longer." if resume else "")
        self.resume_note.setVisible(resume is not None)
        self.out_dir.setText(session.out_dir())
        self.fill(session.base_config())
        self.estimate_label.setText("Runs a few real batches with these settings.")

    def isComplete(self) -> bool:  # noqa: N802
        return self.problem() is None

    def validatePage(self) -> bool:  # noqa: N802
        state, memory = self.session.state, self.session.memory
        state.config = self.config()
        memory.set_settings(state.task, state.config)
        memory.set_out_dir(self.out_dir.text().strip())
        return True

    # ------------------------------------------------------------ fields <-> config
    def fill(self, config) -> None:
        from training.framing import finder_name  # OpenCV: loaded when the page is shown, not at start-up

        self._loading = True
        for name in ("epochs", "batch_size", "input_size", "patience", "seed", "max_batches", "pairs_per_epoch",
                     "val_pairs"):
            getattr(self, name).setValue(int(getattr(config, name)))
        self.lr.setValue(config.lr)
        start = str(config.start)
        kind = start if start in ("imagenet", "none") else "file"
        self.start.setCurrentIndex(self.start.findData(kind))
        self.start_file.setText(start if kind == "file" else "")
        self.freeze.setChecked(kind == "imagenet" if config.freeze_backbone is None else bool(config.freeze_backbone))
        self.crop.setChecked(bool(config.crop_faces))
        self.finder.setCurrentIndex(max(0, self.finder.findData(finder_name(config.face_detector,
                                                                            config.align_faces))))
        self.device.setCurrentIndex(max(0, self.device.findData(config.device)))
        self._loading = False
        self._start_changed()

    def config(self):
        """The TrainConfig these fields describe (raises ValueError for an impossible combination)."""
        from training.config import TrainConfig
        from training.framing import finder_choice

        session = self.session
        kind = self.start.currentData()
        detector, align = finder_choice(self.finder.currentData())
        values = {name: getattr(self, name).value() for name in (
            "epochs", "batch_size", "input_size", "patience", "seed", "max_batches", "pairs_per_epoch", "val_pairs")}
        values.update(lr=self.lr.value(), start=self.start_file.text().strip() if kind == "file" else kind,
                      freeze_backbone=self.freeze.isChecked(), crop_faces=self.crop.isChecked(),
                      device=self.device.currentData(), out_dir=self.out_dir.text().strip() or session.out_dir(),
                      face_detector=detector, align_faces=align)
        base = session.base_config().to_dict()
        if session.state.resume is not None:
            values["resume"] = str(session.state.resume.path)
        return TrainConfig.from_dict({**base, **values, **session.overrides})

    def problem(self) -> str | None:
        """Why training cannot start with these settings, or None."""
        if self.wizard() is None:  # not in the wizard yet
            return None
        kind, task = self.start.currentData(), self.session.state.task
        if kind == "imagenet" and imagenet_problem(task):
            return "ImageNet weights are not available on this computer (see above); start from scratch or a file."
        if kind == "file" and not Path(self.start_file.text().strip()).is_file():
            return "Choose the weights file to start from."
        resume = self.session.state.resume
        if resume is not None and self.epochs.value() <= resume.epochs_done:
            return f"The run already has {resume.epochs_done} epochs; set more epochs to continue it."
        try:
            self.config()
        except ValueError as exc:
            return str(exc)[:1].upper() + str(exc)[1:] + "."
        return None

    # ------------------------------------------------------------ reactions
    def _start_changed(self) -> None:
        kind = self.start.currentData()
        self.form.setRowVisible(self.file_row, kind == "file")
        if not self._loading:
            self.freeze.setChecked(kind == "imagenet")
        problem = imagenet_problem(self.session.state.task) if self.wizard() and kind == "imagenet" else None
        self.weights_note.show_message(f"<b>No ImageNet weights here.</b> {problem}" if problem else None)
        self._changed()

    def _changed(self, *_) -> None:
        if self._loading:
            return
        self.error.show_message(self.problem())
        announce_complete(self)

    def suggest(self) -> None:
        from training.device import resolve_device

        try:
            device_type = resolve_device(self.device.currentData()).type
        except (RuntimeError, ValueError):
            device_type = "cpu"
        config = suggested_config(self.session.state.task, device_type)
        config.device = self.device.currentData()
        self.fill(config)

    def measure(self) -> None:
        problem = self.problem()
        if problem:
            self.estimate_label.setText(problem)
            return
        self.estimate_label.setText("Measuring a few real batches…")
        state = self.session.state
        self.runner.submit(estimate_job, state.task, [state.folder], self.config())

    def _estimated(self, estimate) -> None:
        self.last_estimate = estimate
        self.estimated.emit(estimate)
        self.estimate_label.setText(
            f"≈ {format_eta(estimate.seconds_per_epoch)} per epoch on {estimate.device}: {estimate.train_batches:,} "
            f"batches × {estimate.seconds_per_batch:.2f} s + validation {format_eta(estimate.validation_seconds)} "
            f"(measured on {estimate.measured_batches} real batches).")

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Start weights", self.start_file.text(),
                                              "Weights (*.pt *.pth);;All files (*)")
        if path:
            self.start_file.setText(path)

    def _choose_out_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save runs in", self.out_dir.text())
        if folder:
            self.out_dir.setText(folder)
