"""Verify page: score a pair and decide at any threshold; the distortion preview, the robustness sweep and the
gallery search are views beside it (`distortion_view`, `sweep_view`, `gallery_view`) that share its inputs."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from faceapp.core.active_models import no_model_message
from faceapp.core.verify import MATCH, UNCERTAIN, verdict
from faceapp.ui import jobs
from faceapp.ui.image_slot import ImageSlot
from faceapp.ui.panels.decision_controls import DecisionControls
from faceapp.ui.panels.distortion_view import PROBABILITY_TIP, DistortionView
from faceapp.ui.panels.gallery_view import GalleryView
from faceapp.ui.panels.sweep_view import SweepView
from faceapp.ui.panels.verify_inputs import VerifyInputs
from faceapp.ui.widgets import MUTED, Notice
from faceapp.ui.workers import LatestRunner, WorkerError, WorkerPool

DECISION_COLORS = {MATCH: "#2e7d32", UNCERTAIN: "#b26a00"}  # NO MATCH: red
DECISION_STYLE = "font-size: 22pt; font-weight: bold; color: {};"


class VerifyPanel(QWidget):
    status = Signal(str)
    busy_changed = Signal(bool)
    open_models = Signal()
    scored = Signal(float)  # a new pair probability arrived

    def __init__(self, models, settings, pool: WorkerPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings, self.pool = models, settings, pool
        self.pair: jobs.PairView | None = None
        self._compare_when_ready = False  # both slots filled while the matcher was loading: score it once ready
        self.pair_runner = LatestRunner(pool, debounce_ms=0, parent=self)
        self.pair_runner.result.connect(self._on_pair)
        self.pair_runner.errored.connect(self._on_error)
        self.pair_runner.busy_changed.connect(lambda _: self._emit_busy())
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
            slot.face_chosen.connect(self._face_chosen)
            slot.failed.connect(self.status)
        self.decision_controls = DecisionControls(self.settings)
        self.decision_controls.changed.connect(self._show_decision)
        self.crop_box = QCheckBox("Images are already face crops")
        self.crop_box.setChecked(self.settings.get("verify/assume_crop"))
        self.crop_box.toggled.connect(self._crop_toggled)
        self.compare_button = QPushButton("Compare", clicked=self.compare)
        paste = QShortcut(QKeySequence.StandardKey.Paste, self, activated=self.paste)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        top = QHBoxLayout()
        top.addWidget(self.reference, 1)
        top.addWidget(self.probe, 1)
        top.addWidget(self._build_result())
        inputs = VerifyInputs(self.models, self.settings, self.pool, self.reference, self.probe,
                              self.decision_controls, self.crop_box.isChecked)
        self.tabs = QTabWidget()
        self.distortion = DistortionView(inputs)
        self.distortion.runner.errored.connect(self._on_error)
        self.distortion.runner.busy_changed.connect(lambda _: self._emit_busy())
        self.tabs.addTab(self.distortion, "Distortion preview")
        self.sweep = SweepView(inputs)
        self.sweep.started.connect(self._sweep_started)
        self.sweep.errored.connect(self._on_error)
        self.sweep.done.connect(lambda _: self._job_ended())
        self.tabs.addTab(self.sweep, "Robustness sweep")
        self.gallery = GalleryView(inputs)
        self.gallery.status.connect(self.status)
        self.gallery.started.connect(self._emit_busy)
        self.gallery.job_done.connect(lambda _: self._job_ended())
        self.tabs.addTab(self.gallery, "Gallery (1:N)")
        self.tabs.currentChanged.connect(self._tab_shown)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(top, 3)
        layout.addWidget(self.tabs, 2)

    def _build_result(self) -> QGroupBox:
        self.decision = QLabel("—", alignment=Qt.AlignmentFlag.AlignCenter)
        self.decision.setStyleSheet(DECISION_STYLE.format(MUTED))
        self.probability = QLabel("Fill both slots to compare.", alignment=Qt.AlignmentFlag.AlignCenter,
                                  wordWrap=True, toolTip=PROBABILITY_TIP)
        result = QGroupBox("Result")
        grid = QVBoxLayout(result)
        grid.addWidget(self.decision)
        grid.addWidget(self.probability)
        grid.addSpacing(8)
        grid.addWidget(self.decision_controls)
        grid.addStretch(1)
        grid.addWidget(self.crop_box)
        grid.addWidget(self.compare_button)
        result.setMinimumWidth(230)
        return result

    def _tab_shown(self) -> None:
        if self.tabs.currentWidget() is self.sweep:
            self.sweep.chart  # noqa: B018 - built now, so the tab shows its axes

    # ---------------------------------------------------------------- state
    def threshold(self) -> float:
        return self.decision_controls.threshold()

    def uncertain_margin(self) -> float:
        return self.decision_controls.uncertain_margin()

    def assume_crop(self) -> bool:
        return self.crop_box.isChecked()

    @property
    def busy(self) -> bool:
        return self.pair_runner.busy or self.distortion.runner.busy or self.sweep.worker is not None \
            or self.gallery.worker is not None

    def _emit_busy(self) -> None:
        self.busy_changed.emit(self.busy)

    def _job_ended(self) -> None:
        self.refresh_models()
        self._emit_busy()

    def refresh_models(self) -> None:
        has_model = self.models.available("matcher")
        self.notice.show_message(None if has_model else
                                 f"{no_model_message('matcher')} <a href='models'>Open the Models page</a>")
        self.decision_controls.sync_with_model(self.models)
        reason = "" if has_model else "No face matcher is installed: see the Models page."
        if not reason and not self.models.ready:
            reason = "Loading the face matcher…"
        if not reason and (self.reference.image is None or self.probe.image is None):
            reason = "Fill both slots first (drop, Open… or Paste)."
        self.compare_button.setEnabled(not reason)
        self.compare_button.setToolTip(reason or "Score the pair (Ctrl+Return).")
        if self._compare_when_ready and not reason:
            self.compare()
        self.sweep.refresh(reason)
        gallery_reason = "" if has_model else reason
        if not gallery_reason and self.probe.image is None:
            gallery_reason = "Put a photo in the probe slot first."
        self.gallery.refresh(gallery_reason)

    # ---------------------------------------------------------------- scoring
    def _slot_changed(self) -> None:
        self.pair = None
        self.distortion.set_pair(None)
        self.sweep.clear()
        self.refresh_models()
        self._show_decision()
        if self.compare_button.isEnabled():
            self.compare()
        else:
            self._compare_when_ready = self.reference.image is not None and self.probe.image is not None

    def _face_chosen(self) -> None:
        """Another face of a group photo: what was scored for the old one no longer holds."""
        self.distortion.set_pair(None)
        self.sweep.clear()
        self.compare()

    def _crop_toggled(self, checked: bool) -> None:
        self.settings.set("verify/assume_crop", checked)
        if self.compare_button.isEnabled():
            self.compare()

    def compare(self) -> None:
        if not self.compare_button.isEnabled():
            return
        self._compare_when_ready = False
        self.probability.setText("Scoring…")
        self.pair_runner.submit(jobs.pair_job, self.models, self.reference.image, self.probe.image, self.assume_crop(),
                                self.reference.face, self.probe.face)

    def _on_pair(self, pair: jobs.PairView) -> None:
        self.pair = pair
        self.reference.set_crop(pair.reference_crop, pair.reference_note)
        self.probe.set_crop(pair.probe_crop, pair.probe_note)
        self.reference.set_faces(pair.reference_faces, pair.reference_box)
        self.probe.set_faces(pair.probe_faces, pair.probe_box)
        self._show_decision()
        self.scored.emit(pair.probability)
        self.distortion.set_pair(pair)

    def _on_error(self, error: WorkerError) -> None:
        self.probability.setText(error.message)
        self.status.emit(error.message)

    def _sweep_started(self) -> None:
        self.tabs.setCurrentWidget(self.sweep)
        self.refresh_models()
        self._emit_busy()

    def decision_text(self) -> str:
        if self.pair is None:
            return ""
        return verdict(self.pair.probability, self.threshold(), self.uncertain_margin(), self.pair.unfit)

    def _show_decision(self) -> None:
        """Re-decide from the stored probability: no model call."""
        if self.pair is None:
            self.decision.setText("—")
            self.decision.setStyleSheet(DECISION_STYLE.format(MUTED))
            if self.reference.image is None or self.probe.image is None:
                self.probability.setText("Fill both slots to compare.")
            elif not self.compare_button.isEnabled():  # e.g. the matcher still loading
                self.probability.setText(self.compare_button.toolTip())
            return
        text = self.decision_text()
        self.decision.setText(text)
        self.decision.setStyleSheet(DECISION_STYLE.format(DECISION_COLORS.get(text, "#c62828")))
        why = ""
        if self.pair.unfit:
            why = f": {self.pair.unfit}"
        elif text == UNCERTAIN:
            why = f", within ±{self.uncertain_margin():.2f} of the threshold: too close to call"
        self.probability.setText(f"Match probability {self.pair.probability:.3f}{why}")

    # ---------------------------------------------------------------- window actions
    def start(self) -> None:
        self.compare()

    def cancel(self) -> None:
        self.sweep.cancel()
        self.gallery.cancel()
        self.distortion.cancel()

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
