"""The Verify page's decision rule: the threshold slider (starting at the active matcher's stored threshold),
the error rates it costs, and the uncertainty band. The pair result, the distortion preview, the sweep and the
gallery all decide with it and re-decide when it emits `changed`."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from faceapp.ui.rate_plot import RatePlot
from faceapp.ui.widgets import MUTED
from training.error_rates import ScoreHistograms, one_in

log = logging.getLogger(__name__)
THRESHOLD_TIP = ("Threshold: a pair whose match probability is at or above it counts as the same person. "
                 "It starts at the value stored with the model; lower it to accept more (and more false) matches. "
                 "Moving it re-decides instantly without running the model again.")
MARGIN_TIP = ("Scores closer to the threshold than this are called UNCERTAIN rather than MATCH or NO MATCH: "
              "too close to call. 0 turns the band off.")
HINT = ("MATCH when the match probability is at or above the threshold plus the margin, NO MATCH below it minus "
        "the margin, UNCERTAIN between. Hover over the slider for what moving it means.")


class DecisionControls(QWidget):
    """Threshold slider, its labels and FAR/FRR plot, and the "uncertain within" margin."""

    changed = Signal()  # the threshold or the margin moved: re-decide (no model call)

    def __init__(self, settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.error_rates: ScoreHistograms | None = None  # the active matcher's validation score distributions
        self._threshold_model = None  # which model the slider was last set for (its saved threshold's key)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=1000, singleStep=5, pageStep=50)
        self.slider.setToolTip(THRESHOLD_TIP)
        self.slider.valueChanged.connect(self._threshold_changed)
        self.threshold_label = QLabel(toolTip=THRESHOLD_TIP)
        self.model_threshold_label = QLabel()
        self.model_threshold_label.setStyleSheet(f"color: {MUTED};")
        self.rates_label = QLabel(wordWrap=True)
        self.rates_label.setToolTip("Measured on the matcher's own validation pairs (people it was not trained on), "
                                    "stored with the model; photos unlike those may fare differently.")
        self.rate_plot = RatePlot()  # the same rates at every threshold, the slider's marked
        self.rate_plot.hide()  # until a matcher with stored rates is known
        self.margin = QDoubleSpinBox(minimum=0.0, maximum=0.25, singleStep=0.01, decimals=2, prefix="± ")
        self.margin.setValue(self.settings.get("verify/uncertain_margin"))
        self.margin.setToolTip(MARGIN_TIP)
        self.margin.valueChanged.connect(self._margin_changed)
        self._lay_out()

    def _lay_out(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.threshold_label, self.slider, self.model_threshold_label, self.rates_label,
                       self.rate_plot):
            layout.addWidget(widget)
        margin_row = QHBoxLayout()
        margin_row.addWidget(QLabel("Uncertain within", toolTip=MARGIN_TIP))
        margin_row.addWidget(self.margin)
        margin_row.addStretch(1)
        layout.addLayout(margin_row)
        hint = QLabel(HINT, wordWrap=True)
        hint.setStyleSheet(f"color: {MUTED}; font-size: 9pt;")
        layout.addSpacing(6)
        layout.addWidget(hint)

    def threshold(self) -> float:
        return self.slider.value() / 1000.0

    def uncertain_margin(self) -> float:
        return self.margin.value()

    def sync_with_model(self, models) -> None:
        """Start the slider at the active matcher's stored threshold (or the user's saved one for that model)."""
        self.slider.setEnabled(models.ready)
        if not models.ready:  # the threshold is in the checkpoint, read once the warm-up has imported torch
            self.threshold_label.setText("Threshold: —")
            self.model_threshold_label.setText("Model threshold: loading…")
            return
        path = models.path("matcher")
        stored, created = 0.5, ""
        self.error_rates = None
        if path is not None:
            try:
                summary = models.store.summary(path, "matcher")  # cached by path, size and mtime
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

    def _threshold_changed(self, value: int) -> None:
        threshold = value / 1000.0
        self.threshold_label.setText(f"Threshold: {threshold:.3f}")
        self.rates_label.setText(rates_text(self.error_rates, threshold))
        self.rate_plot.set_threshold(threshold)
        if self._threshold_model is not None:
            self.settings.set("verify/threshold", threshold)
            self.settings.set("verify/threshold_model", self._threshold_model)
        self.changed.emit()

    def _margin_changed(self, value: float) -> None:
        self.settings.set("verify/uncertain_margin", float(value))
        self.changed.emit()


def rates_text(rates: ScoreHistograms | None, threshold: float) -> str:
    """What the threshold costs, in errors on the matcher's validation pairs."""
    if rates is None:
        return "This matcher stores no validation score distributions: its error rates are unknown."
    far, frr = rates.false_match_rate(threshold), rates.false_non_match_rate(threshold)
    return (f"On validation pairs: strangers accepted {one_in(far)} ({100 * far:.2f} %), "
            f"same person rejected {100 * frr:.1f} %.")
