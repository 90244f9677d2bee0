"""Verify page: score a pair, re-decide at any threshold, preview and sweep distortions, search a gallery."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.active_models import no_model_message
from faceapp.core.verify import MATCH, UNCERTAIN, SweepPoint, decide, verdict
from faceapp.ui import jobs
from faceapp.ui.image_slot import ImageSlot
from faceapp.ui.panels.gallery_view import GalleryView
from faceapp.ui.rate_plot import RatePlot
from faceapp.ui.widgets import MUTED, ImageView, Notice
from faceapp.ui.workers import GeneratorWorker, LatestRunner, WorkerError, WorkerPool
from training.distortions import CONDITIONS, DEFAULT_SEVERITY, SEVERITIES, describe
from training.error_rates import ScoreHistograms, one_in

log = logging.getLogger(__name__)
THRESHOLD_TIP = ("Threshold: a pair whose match probability is at or above it counts as the same person. "
                 "It starts at the value stored with the model; lower it to accept more (and more false) matches. "
                 "Moving it re-decides instantly without running the model again.")
MARGIN_TIP = ("Scores closer to the threshold than this are called UNCERTAIN rather than MATCH or NO MATCH: "
              "too close to call. 0 turns the band off.")
DECISION_COLORS = {MATCH: "#2e7d32", UNCERTAIN: "#b26a00"}  # NO MATCH: red
PROBABILITY_TIP = "Match probability: the model's estimate that both photos show the same person (0 to 1)."


class VerifyPanel(QWidget):
    status = Signal(str)
    busy_changed = Signal(bool)
    open_models = Signal()
    scored = Signal(float)  # a new pair probability arrived
    preview_updated = Signal(object)  # jobs.DistortedView
    sweep_done = Signal(str)  # "finished" | "cancelled" | "errored"

    def __init__(self, models, settings, pool: WorkerPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings, self.pool = models, settings, pool
        self.pair: jobs.PairView | None = None
        self.preview: jobs.DistortedView | None = None
        self.sweep_points: list[SweepPoint] = []
        self.sweep_worker: GeneratorWorker | None = None
        self._threshold_model = None
        self.pair_runner = LatestRunner(pool, debounce_ms=0, parent=self)
        self.pair_runner.result.connect(self._on_pair)
        self.pair_runner.errored.connect(self._on_error)
        self.preview_runner = LatestRunner(pool, debounce_ms=150, parent=self)
        self.preview_runner.result.connect(self._on_preview)
        self.preview_runner.errored.connect(self._on_error)
        for runner in (self.pair_runner, self.preview_runner):
            runner.busy_changed.connect(lambda _: self._emit_busy())
        self._build()
        self.refresh_models()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.notice = Notice()
        self.notice.link.connect(lambda _: self.open_models.emit())
        self.reference = ImageSlot("reference", "Reference (clean photo)", self.pool, self.settings)
        self.probe = ImageSlot("probe", "Probe (photo to check)", self.pool, self.settings)
        for slot in (self.reference, self.probe):
            slot.changed.connect(self._slot_changed)
            slot.failed.connect(self.status)

        self.decision = QLabel("—")
        self.decision.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.decision.setStyleSheet(f"font-size: 22pt; font-weight: bold; color: {MUTED};")
        self.probability = QLabel("Fill both slots to compare.")
        self.probability.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.probability.setWordWrap(True)
        self.probability.setToolTip(PROBABILITY_TIP)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=1000, singleStep=5, pageStep=50)
        self.slider.setToolTip(THRESHOLD_TIP)
        self.slider.valueChanged.connect(self._threshold_changed)
        self.threshold_label = QLabel()
        self.threshold_label.setToolTip(THRESHOLD_TIP)
        self.model_threshold_label = QLabel()
        self.model_threshold_label.setStyleSheet(f"color: {MUTED};")
        self.error_rates: ScoreHistograms | None = None  # the active matcher's validation score distributions
        self.rates_label = QLabel(wordWrap=True)
        self.rates_label.setToolTip("Measured on the matcher's own validation pairs (people it was not trained on), "
                                    "stored with the model; photos unlike those may fare differently.")
        self.rate_plot = RatePlot()  # the same rates at every threshold, the slider's marked
        self.rate_plot.hide()  # until a matcher with stored rates is known
        self.margin = QDoubleSpinBox(minimum=0.0, maximum=0.25, singleStep=0.01, decimals=2, prefix="± ")
        self.margin.setValue(self.settings.get("verify/uncertain_margin"))
        self.margin.setToolTip(MARGIN_TIP)
        self.margin.valueChanged.connect(self._margin_changed)
        self.crop_box = QCheckBox("Images are already face crops")
        self.crop_box.setChecked(self.settings.get("verify/assume_crop"))
        self.crop_box.toggled.connect(self._crop_toggled)
        self.compare_button = QPushButton("Compare", clicked=self.compare)
        paste = QShortcut(QKeySequence.StandardKey.Paste, self, activated=self.paste)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        result = QGroupBox("Result")
        grid = QVBoxLayout(result)
        grid.addWidget(self.decision)
        grid.addWidget(self.probability)
        grid.addSpacing(8)
        grid.addWidget(self.threshold_label)
        grid.addWidget(self.slider)
        grid.addWidget(self.model_threshold_label)
        grid.addWidget(self.rates_label)
        grid.addWidget(self.rate_plot)
        margin_row = QHBoxLayout()
        margin_label = QLabel("Uncertain within")
        margin_label.setToolTip(MARGIN_TIP)
        margin_row.addWidget(margin_label)
        margin_row.addWidget(self.margin)
        margin_row.addStretch(1)
        grid.addLayout(margin_row)
        hint = QLabel("MATCH when the match probability is at or above the threshold plus the margin, NO MATCH "
                      "below it minus the margin, UNCERTAIN between. Hover over the slider for what moving it means.")
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {MUTED}; font-size: 9pt;")
        grid.addSpacing(6)
        grid.addWidget(hint)
        grid.addStretch(1)
        grid.addWidget(self.crop_box)
        grid.addWidget(self.compare_button)
        result.setMinimumWidth(230)

        top = QHBoxLayout()
        top.addWidget(self.reference, 1)
        top.addWidget(self.probe, 1)
        top.addWidget(result)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_distortion(), "Distortion preview")
        self.sweep_page = self._build_sweep()
        self.tabs.addTab(self.sweep_page, "Robustness sweep")
        self.tabs.currentChanged.connect(self._tab_shown)
        self.gallery = GalleryView(self)
        self.probe.changed.connect(self.gallery.probe_changed)
        self.gallery.status.connect(self.status)
        self.gallery.job_done.connect(lambda _: self._emit_busy())
        self.tabs.addTab(self.gallery, "Gallery (1:N)")

        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(top, 3)
        layout.addWidget(self.tabs, 2)

    def _build_distortion(self) -> QWidget:
        page = QWidget()
        self.condition = QComboBox()
        self.condition.addItem("none (original probe)", "")
        for condition in CONDITIONS:
            self.condition.addItem(condition, condition)
            self.condition.setItemData(self.condition.count() - 1, describe(condition), Qt.ItemDataRole.ToolTipRole)
        saved = self.settings.get("verify/condition")
        self.condition.setCurrentIndex(max(0, self.condition.findData(saved)))
        self.severity = QSlider(Qt.Orientation.Horizontal, minimum=min(SEVERITIES), maximum=max(SEVERITIES))
        self.severity.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.severity.setValue(self.settings.get("verify/severity") or DEFAULT_SEVERITY)
        self.severity_label = QLabel()
        self.condition.currentIndexChanged.connect(lambda _: self._distortion_changed())
        self.severity.valueChanged.connect(lambda _: self._distortion_changed())
        self.distorted_view = ImageView("The distorted probe appears here", min_size=110)
        self.distorted_crop = ImageView("crop", min_size=72)
        self.distorted_crop.setMaximumSize(110, 110)
        self.distorted_score = QLabel("Pick a condition to see how the probe degrades and how the score moves.")
        self.distorted_score.setWordWrap(True)
        self.distorted_score.setToolTip(PROBABILITY_TIP)
        controls = QGridLayout()
        controls.addWidget(QLabel("Condition:"), 0, 0)
        controls.addWidget(self.condition, 0, 1)
        controls.addWidget(QLabel("Severity:"), 1, 0)
        controls.addWidget(self.severity, 1, 1)
        controls.addWidget(self.severity_label, 1, 2)
        controls.addWidget(self.distorted_score, 2, 0, 1, 3)
        controls.setRowStretch(3, 1)
        layout = QHBoxLayout(page)
        layout.addLayout(controls, 1)
        layout.addWidget(self.distorted_view, 1)
        layout.addWidget(self.distorted_crop)
        self._show_severity()
        self.severity.setEnabled(bool(self.condition.currentData()))
        return page

    def _build_sweep(self) -> QWidget:
        page = QWidget()
        self.sweep_button = QPushButton("Run sweep", clicked=self.run_sweep)
        self.sweep_cancel = QPushButton("Cancel", clicked=self.cancel_sweep, enabled=False)
        self.sweep_label = QLabel(f"Scores the pair under all {len(CONDITIONS)} conditions × {len(SEVERITIES)} "
                                  "severities; the dashed line is the threshold.")
        self.sweep_label.setWordWrap(True)
        self._chart = None  # built when the tab is first shown or a sweep runs
        row = QHBoxLayout()
        row.addWidget(self.sweep_button)
        row.addWidget(self.sweep_cancel)
        row.addWidget(self.sweep_label, 1)
        layout = QVBoxLayout(page)
        layout.addLayout(row)
        layout.addStretch(1)  # the chart's place
        return page

    def _tab_shown(self) -> None:
        if self.tabs.currentWidget() is self.sweep_page:
            self.chart  # noqa: B018 - built now, so the tab shows its axes

    @property
    def chart(self):
        """The sweep chart, built on first use: it imports pyqtgraph (~0.4 s), which the window's first paint
        does not wait for."""
        if self._chart is None:
            from faceapp.ui.sweep_chart import SweepChart

            self._chart = SweepChart()
            self._chart.set_threshold(self.threshold())
            layout = self.sweep_page.layout()
            layout.takeAt(layout.count() - 1)  # the stretch that kept its place
            layout.addWidget(self._chart, 1)
        return self._chart

    # ---------------------------------------------------------------- state
    def threshold(self) -> float:
        return self.slider.value() / 1000.0

    def uncertain_margin(self) -> float:
        return self.margin.value()

    def assume_crop(self) -> bool:
        return self.crop_box.isChecked()

    @property
    def busy(self) -> bool:
        return self.pair_runner.busy or self.preview_runner.busy or self.sweep_worker is not None \
            or self.gallery.worker is not None

    def _emit_busy(self) -> None:
        self.busy_changed.emit(self.busy)

    def refresh_models(self) -> None:
        has_model = self.models.available("matcher")
        self.notice.show_message(None if has_model else
                                 f"{no_model_message('matcher')} <a href='models'>Open the Models page</a>")
        self._sync_threshold()
        reason = "" if has_model else "No face matcher is installed: see the Models page."
        if not reason and not self.models.ready:
            reason = "Loading the face matcher…"
        if not reason and (self.reference.image is None or self.probe.image is None):
            reason = "Fill both slots first (drop, Open… or Paste)."
        self.compare_button.setEnabled(not reason)
        self.compare_button.setToolTip(reason or "Score the pair (Ctrl+Return).")
        self.sweep_button.setEnabled(not reason and self.sweep_worker is None)
        self.sweep_button.setToolTip(reason or "Score the pair under every condition and severity.")
        gallery_reason = "" if has_model else reason
        if not gallery_reason and self.probe.image is None:
            gallery_reason = "Put a photo in the probe slot first."
        self.gallery.refresh(gallery_reason)

    def _sync_threshold(self) -> None:
        """Start the slider at the active matcher's stored threshold (or the user's saved one for that model)."""
        self.slider.setEnabled(self.models.ready)
        if not self.models.ready:  # the threshold is in the checkpoint, read once the warm-up has imported torch
            self.threshold_label.setText("Threshold: —")
            self.model_threshold_label.setText("Model threshold: loading…")
            return
        path = self.models.path("matcher")
        stored, created = 0.5, ""
        self.error_rates = None
        if path is not None:
            try:
                summary = self.models.store.summary(path, "matcher")  # cached by path, size and mtime
                stored = float(summary.get("threshold") or 0.5)
                created = str(summary.get("created") or "")
                self.error_rates = ScoreHistograms.from_dict(summary.get("score_histograms"))
            except Exception:  # noqa: BLE001 - a bad file is reported on the Models page
                log.warning("cannot read the matcher threshold", exc_info=True)
        self.rate_plot.set_rates(self.error_rates)
        self.rate_plot.setVisible(self.error_rates is not None)
        # A saved threshold belongs to one model, not to a path: an update can put a different matcher at
        # the same path (the bundled default), and the old model's threshold means nothing for it.
        key = f"{path}|{created}|{stored:.6f}" if path is not None else ""
        if key == self._threshold_model:
            return
        self._threshold_model = key
        saved = self.settings.get("verify/threshold")
        use_saved = saved >= 0 and self.settings.get("verify/threshold_model") == key
        self.model_threshold_label.setText(f"Model threshold: {stored:.3f}")
        self.slider.setValue(round(1000 * (saved if use_saved else stored)))
        self._threshold_changed(self.slider.value())

    # ---------------------------------------------------------------- scoring
    def _slot_changed(self) -> None:
        self.pair = None
        self.preview = None
        self.sweep_points = []
        if self._chart is not None:
            self._chart.clear()
        self.refresh_models()
        self._show_decision()
        if self.compare_button.isEnabled():
            self.compare()

    def _crop_toggled(self, checked: bool) -> None:
        self.settings.set("verify/assume_crop", checked)
        if self.compare_button.isEnabled():
            self.compare()

    def compare(self) -> None:
        if not self.compare_button.isEnabled():
            return
        self.probability.setText("Scoring…")
        self.pair_runner.submit(jobs.pair_job, self.models, self.reference.image, self.probe.image, self.assume_crop())

    def _on_pair(self, pair: jobs.PairView) -> None:
        self.pair = pair
        self.reference.set_crop(pair.reference_crop, pair.reference_note)
        self.probe.set_crop(pair.probe_crop, pair.probe_note)
        self._show_decision()
        self.scored.emit(pair.probability)
        self._distortion_changed()

    def _on_error(self, error: WorkerError) -> None:
        self.probability.setText(error.message)
        self.status.emit(error.message)

    def _threshold_changed(self, value: int) -> None:
        threshold = value / 1000.0
        self.threshold_label.setText(f"Threshold: {threshold:.3f}")
        self.rates_label.setText(rates_text(self.error_rates, threshold))
        self.rate_plot.set_threshold(threshold)
        if self._chart is not None:
            self._chart.set_threshold(threshold)
        if self._threshold_model is not None:
            self.settings.set("verify/threshold", threshold)
            self.settings.set("verify/threshold_model", self._threshold_model)
        self._show_decision()
        self._show_preview_score()
        self.gallery.redecide()

    def _margin_changed(self, value: float) -> None:
        self.settings.set("verify/uncertain_margin", float(value))
        self._show_decision()
        self._show_preview_score()
        self.gallery.redecide()

    def decision_text(self) -> str:
        if self.pair is None:
            return ""
        return verdict(self.pair.probability, self.threshold(), self.uncertain_margin(), self.pair.unfit)

    def _show_decision(self) -> None:
        """Re-decide from the stored probability: no model call."""
        if self.pair is None:
            self.decision.setText("—")
            self.decision.setStyleSheet(f"font-size: 22pt; font-weight: bold; color: {MUTED};")
            if self.reference.image is None or self.probe.image is None:
                self.probability.setText("Fill both slots to compare.")
            return
        text = self.decision_text()
        color = DECISION_COLORS.get(text, "#c62828")
        self.decision.setText(text)
        self.decision.setStyleSheet(f"font-size: 22pt; font-weight: bold; color: {color};")
        why = ""
        if self.pair.unfit:
            why = f": {self.pair.unfit}"
        elif text == UNCERTAIN:
            why = f", within ±{self.uncertain_margin():.2f} of the threshold: too close to call"
        self.probability.setText(f"Match probability {self.pair.probability:.3f}{why}")

    # ---------------------------------------------------------------- distortion preview
    def _show_severity(self) -> None:
        self.severity_label.setText(f"{self.severity.value()} / {max(SEVERITIES)}")

    def _distortion_changed(self) -> None:
        self._show_severity()
        condition = self.condition.currentData() or None
        self.settings.set("verify/condition", condition or "")
        self.settings.set("verify/severity", self.severity.value())
        self.severity.setEnabled(condition is not None)
        if self.pair is None:
            return
        if condition is None:  # the pair score above already is the undistorted answer: no model call
            self.preview_runner.cancel()
            self.preview = None
            self.distorted_view.set_image(self.probe.view.image())
            self.distorted_crop.set_image(self.probe.crop_view.image())
            self.distorted_score.setText("No distortion: the result above is for the original probe. "
                                         "Pick a condition to see how the score moves.")
            return
        self.distorted_score.setText("Scoring the distorted probe…")
        self.preview_runner.submit(jobs.distorted_job, self.models, self.reference.image, self.probe.image,
                                   condition, self.severity.value(), self.assume_crop(), self.pair.reference_embedding)

    def _on_preview(self, view: jobs.DistortedView) -> None:
        self.preview = view
        self.distorted_view.set_image(view.image)
        self.distorted_crop.set_image(view.crop)
        self._show_preview_score()
        self.preview_updated.emit(view)

    def _show_preview_score(self) -> None:
        view = self.preview
        if view is None:
            return
        what = f"{view.condition} at severity {view.severity}" if view.condition else "the original probe"
        said = verdict(view.probability, self.threshold(), self.uncertain_margin())
        self.distorted_score.setText(f"With {what}: match probability {view.probability:.3f} → {said}.\n{view.note}")

    # ---------------------------------------------------------------- sweep
    def run_sweep(self) -> None:
        if self.sweep_worker is not None or not self.sweep_button.isEnabled():
            return
        self.chart.clear()
        self.sweep_points = []
        worker = GeneratorWorker(jobs.sweep_job, self.models, self.reference.image, self.probe.image,
                                 self.assume_crop())
        worker.signals.yielded.connect(self._on_sweep_point)
        worker.signals.finished.connect(lambda _: self._sweep_ended("finished"))
        worker.signals.cancelled.connect(lambda: self._sweep_ended("cancelled"))
        worker.signals.errored.connect(lambda error: (self._on_error(error), self._sweep_ended("errored")))
        self.sweep_worker = worker
        self.sweep_cancel.setEnabled(True)
        self.refresh_models()
        self.sweep_label.setText("Sweeping…")
        self.tabs.setCurrentIndex(1)
        self._emit_busy()
        self.pool.start(worker)

    def cancel_sweep(self) -> None:
        if self.sweep_worker is not None:
            self.sweep_worker.cancel()

    def _on_sweep_point(self, point: SweepPoint) -> None:
        self.sweep_points.append(point)
        self.chart.add_point(point.condition, point.severity, point.probability)
        total = len(CONDITIONS) * len(SEVERITIES)
        self.sweep_label.setText(f"Sweeping… {len(self.sweep_points)} / {total}")

    def _sweep_ended(self, outcome: str) -> None:
        self.sweep_worker = None
        self.sweep_cancel.setEnabled(False)
        self.refresh_models()
        threshold = self.threshold()
        matches = sum(decide(p.probability, threshold) for p in self.sweep_points)
        worst = min(self.sweep_points, key=lambda p: p.probability, default=None)
        head = {"finished": "Done", "cancelled": "Cancelled", "errored": "Stopped"}[outcome]
        tail = f" Lowest: {worst.condition} {worst.severity} ({worst.probability:.3f})." if worst else ""
        self.sweep_label.setText(f"{head}: {matches} of {len(self.sweep_points)} distorted probes still match "
                                 f"at threshold {threshold:.3f}.{tail}")
        self._emit_busy()
        self.sweep_done.emit(outcome)

    # ---------------------------------------------------------------- window actions
    def start(self) -> None:
        self.compare()

    def cancel(self) -> None:
        self.cancel_sweep()
        self.gallery.cancel()
        self.preview_runner.cancel()

    def copy_result(self) -> None:
        """Ctrl+C: the gallery's ranked list when that tab shows results, else the pair's score."""
        if self.tabs.currentWidget() is self.gallery and self.gallery.matches:
            QGuiApplication.clipboard().setText(self.gallery.result_text(self.probe.source))
            self.status.emit(f"Copied the {len(self.gallery.matches):,} gallery matches.")
            return
        if self.pair is None:
            self.status.emit("Nothing to copy yet: fill both slots.")
            return
        text = (f"{self.reference.source}\t{self.probe.source}\t{self.pair.probability:.4f}\t"
                f"{self.decision_text()}\tthreshold {self.threshold():.3f}")
        QGuiApplication.clipboard().setText(text)
        self.status.emit("Copied the result.")

    def paste(self) -> None:
        """Ctrl+V on this page: into the first empty slot (reference first), else replace the probe."""
        (self.reference if self.reference.image is None else self.probe).paste()

    def open_images(self, paths: list[str]) -> None:
        """Dropped on the window: first image to the empty slot (reference first), a second to the probe."""
        slots = [s for s in (self.reference, self.probe) if s.image is None] or [self.probe]
        for slot, path in zip(slots + [self.probe], paths[:2]):
            slot.load_path(path)


def rates_text(rates: ScoreHistograms | None, threshold: float) -> str:
    """What the threshold costs, in errors on the matcher's validation pairs."""
    if rates is None:
        return "This matcher stores no validation score distributions: its error rates are unknown."
    far, frr = rates.false_match_rate(threshold), rates.false_non_match_rate(threshold)
    return (f"On validation pairs: strangers accepted {one_in(far)} ({100 * far:.2f} %), "
            f"same person rejected {100 * frr:.1f} %.")
