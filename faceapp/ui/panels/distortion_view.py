"""The Verify page's distortion preview: the probe under one condition and severity, and how its score moves."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QWidget

from faceapp.core.verify import verdict
from faceapp.ui import jobs
from faceapp.ui.panels.verify_inputs import VerifyInputs
from faceapp.ui.widgets import ImageView
from faceapp.ui.workers import LatestRunner
from training.distortions import CONDITIONS, DEFAULT_SEVERITY, SEVERITIES, describe

PROBABILITY_TIP = "Match probability: the model's estimate that both photos show the same person (0 to 1)."


class DistortionView(QWidget):
    updated = Signal(object)  # jobs.DistortedView

    def __init__(self, inputs: VerifyInputs, parent: QWidget | None = None):
        super().__init__(parent)
        self.inputs = inputs
        self.pair: jobs.PairView | None = None  # the undistorted pair the preview starts from
        self.preview: jobs.DistortedView | None = None
        self.runner = LatestRunner(inputs.pool, debounce_ms=150, parent=self)
        self.runner.result.connect(self._on_preview)
        self._build(inputs.settings)
        inputs.decision.changed.connect(self._show_score)

    def _build(self, settings) -> None:
        self.condition = QComboBox()
        self.condition.addItem("none (original probe)", "")
        for condition in CONDITIONS:
            self.condition.addItem(condition, condition)
            self.condition.setItemData(self.condition.count() - 1, describe(condition), Qt.ItemDataRole.ToolTipRole)
        self.condition.setCurrentIndex(max(0, self.condition.findData(settings.get("verify/condition"))))
        self.severity = QSlider(Qt.Orientation.Horizontal, minimum=min(SEVERITIES), maximum=max(SEVERITIES))
        self.severity.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.severity.setValue(settings.get("verify/severity") or DEFAULT_SEVERITY)
        self.severity_label = QLabel()
        self.condition.currentIndexChanged.connect(lambda _: self.refresh())
        self.severity.valueChanged.connect(lambda _: self.refresh())
        self.image_view = ImageView("The distorted probe appears here", min_size=110)
        self.crop_view = ImageView("crop", min_size=72)
        self.crop_view.setMaximumSize(110, 110)
        self.score = QLabel("Pick a condition to see how the probe degrades and how the score moves.", wordWrap=True)
        self.score.setToolTip(PROBABILITY_TIP)
        controls = QGridLayout()
        controls.addWidget(QLabel("Condition:"), 0, 0)
        controls.addWidget(self.condition, 0, 1)
        controls.addWidget(QLabel("Severity:"), 1, 0)
        controls.addWidget(self.severity, 1, 1)
        controls.addWidget(self.severity_label, 1, 2)
        controls.addWidget(self.score, 2, 0, 1, 3)
        controls.setRowStretch(3, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(controls, 1)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.crop_view)
        self._show_severity()
        self.severity.setEnabled(bool(self.condition.currentData()))

    def _show_severity(self) -> None:
        self.severity_label.setText(f"{self.severity.value()} / {max(SEVERITIES)}")

    def set_pair(self, pair: jobs.PairView | None) -> None:
        """A new undistorted result (None: the slots changed): preview the chosen distortion of it."""
        self.pair = pair
        self.preview = None
        if pair is not None:
            self.refresh()

    def refresh(self) -> None:
        self._show_severity()
        condition = self.condition.currentData() or None
        settings = self.inputs.settings
        settings.set("verify/condition", condition or "")
        settings.set("verify/severity", self.severity.value())
        self.severity.setEnabled(condition is not None)
        if self.pair is None:
            return
        probe = self.inputs.probe
        if condition is None:  # the pair score above already is the undistorted answer: no model call
            self.runner.cancel()
            self.preview = None
            self.image_view.set_image(probe.view.image())
            self.crop_view.set_image(probe.crop_view.image())
            self.score.setText("No distortion: the result above is for the original probe. "
                               "Pick a condition to see how the score moves.")
            return
        self.score.setText("Scoring the distorted probe…")
        self.runner.submit(jobs.distorted_job, self.inputs.models, self.inputs.reference.image, probe.image,
                           condition, self.severity.value(), self.inputs.assume_crop(), self.pair.reference_embedding,
                           self.inputs.reference.face, probe.face)

    def _on_preview(self, view: jobs.DistortedView) -> None:
        self.preview = view
        self.image_view.set_image(view.image)
        self.crop_view.set_image(view.crop)
        self._show_score()
        self.updated.emit(view)

    def _show_score(self) -> None:
        view = self.preview
        if view is None:
            return
        what = f"{view.condition} at severity {view.severity}" if view.condition else "the original probe"
        said = verdict(view.probability, self.inputs.threshold(), self.inputs.uncertain_margin())
        self.score.setText(f"With {what}: match probability {view.probability:.3f} → {said}.\n{view.note}")

    def cancel(self) -> None:
        self.runner.cancel()
