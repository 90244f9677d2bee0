"""The Verify page's robustness sweep: the pair scored under every condition and severity, drawn as it comes."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from faceapp.core.verify import SweepPoint, decide
from faceapp.ui import jobs
from faceapp.ui.panels.verify_inputs import VerifyInputs
from faceapp.ui.workers import GeneratorWorker, WorkerError
from training.distortions import CONDITIONS, SEVERITIES

OUTCOME_HEADS = {"finished": "Done", "cancelled": "Cancelled", "errored": "Stopped"}


class SweepView(QWidget):
    started = Signal()
    done = Signal(str)  # "finished" | "cancelled" | "errored"
    errored = Signal(object)  # WorkerError

    def __init__(self, inputs: VerifyInputs, parent: QWidget | None = None):
        super().__init__(parent)
        self.inputs = inputs
        self.points: list[SweepPoint] = []
        self.worker: GeneratorWorker | None = None
        self._chart = None  # built when the tab is first shown or a sweep runs
        self.button = QPushButton("Run sweep", clicked=self.run)
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel, enabled=False)
        self.label = QLabel(f"Scores the pair under all {len(CONDITIONS)} conditions × {len(SEVERITIES)} "
                            "severities; the dashed line is the threshold.", wordWrap=True)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addStretch(1)  # the chart's place
        inputs.decision.changed.connect(self._threshold_moved)

    @property
    def chart(self):
        """The sweep chart, built on first use: it imports pyqtgraph (~0.4 s), which the window's first paint
        does not wait for."""
        if self._chart is None:
            from faceapp.ui.sweep_chart import SweepChart

            self._chart = SweepChart()
            self._chart.set_threshold(self.inputs.threshold())
            layout = self.layout()
            layout.takeAt(layout.count() - 1)  # the stretch that kept its place
            layout.addWidget(self._chart, 1)
        return self._chart

    def refresh(self, reason: str) -> None:
        """`reason` is why a sweep cannot start now ("" when it can)."""
        self.button.setEnabled(not reason and self.worker is None)
        self.button.setToolTip(reason or "Score the pair under every condition and severity.")

    def clear(self) -> None:
        self.points = []
        if self._chart is not None:
            self._chart.clear()

    def _threshold_moved(self) -> None:
        if self._chart is not None:
            self._chart.set_threshold(self.inputs.threshold())

    def run(self) -> None:
        if self.worker is not None or not self.button.isEnabled():
            return
        self.chart.clear()
        self.points = []
        inputs = self.inputs
        worker = GeneratorWorker(jobs.sweep_job, inputs.models, inputs.reference.image, inputs.probe.image,
                                 inputs.assume_crop(), inputs.reference.face, inputs.probe.face)
        worker.signals.yielded.connect(self._on_point)
        worker.signals.finished.connect(lambda _: self._ended("finished"))
        worker.signals.cancelled.connect(lambda: self._ended("cancelled"))
        worker.signals.errored.connect(self._errored)
        self.worker = worker
        self.cancel_button.setEnabled(True)
        self.button.setEnabled(False)
        self.label.setText("Sweeping…")
        self.started.emit()
        inputs.pool.start(worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_point(self, point: SweepPoint) -> None:
        self.points.append(point)
        self.chart.add_point(point.condition, point.severity, point.probability)
        self.label.setText(f"Sweeping… {len(self.points)} / {len(CONDITIONS) * len(SEVERITIES)}")

    def _errored(self, error: WorkerError) -> None:
        self.errored.emit(error)
        self._ended("errored")

    def _ended(self, outcome: str) -> None:
        self.worker = None
        self.cancel_button.setEnabled(False)
        threshold = self.inputs.threshold()
        matches = sum(decide(p.probability, threshold) for p in self.points)
        worst = min(self.points, key=lambda p: p.probability, default=None)
        tail = f" Lowest: {worst.condition} {worst.severity} ({worst.probability:.3f})." if worst else ""
        self.label.setText(f"{OUTCOME_HEADS[outcome]}: {matches} of {len(self.points)} distorted probes still match "
                           f"at threshold {threshold:.3f}.{tail}")
        self.done.emit(outcome)
