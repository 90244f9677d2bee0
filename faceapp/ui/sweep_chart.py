"""Robustness-sweep chart: match probability per distortion over severities 1..5, threshold as a line (pyqtgraph)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from training.distortions import CONDITIONS, SEVERITIES

# Eight colours that stay apart for common colour-vision deficiencies (Okabe-Ito + two darker tones).
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#555555")


class SweepChart(QWidget):
    """One curve per condition, created once; `add_point` / `clear` only call setData."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground("w")
        self.plot.setMinimumHeight(180)
        item = self.plot.addPlot(row=0, col=0)
        item.setLabel("bottom", "severity")
        item.setLabel("left", "match probability")
        item.setYRange(0.0, 1.0, padding=0.02)
        item.setXRange(min(SEVERITIES) - 0.2, max(SEVERITIES) + 0.2, padding=0)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.getAxis("bottom").setTicks([[(s, str(s)) for s in SEVERITIES]])
        # Beside the plot, not in it: a pair that does not match keeps every curve low, one that matches
        # keeps them high, so no corner of the plot stays free of curves.
        self.legend = legend = pg.LegendItem(labelTextSize="8pt")
        self.plot.addItem(legend, row=0, col=1)
        self.view_box = item.getViewBox()
        self.points: dict[str, dict[int, float]] = {c: {} for c in CONDITIONS}
        self.curves = {}
        for condition, color in zip(CONDITIONS, COLORS):
            self.curves[condition] = item.plot([], [], pen=pg.mkPen(color, width=2),
                                               symbol="o", symbolSize=6, symbolBrush=color, symbolPen=None)
            legend.addItem(self.curves[condition], condition)
        dashed = pg.mkPen("#c62828", width=1, style=pg.QtCore.Qt.PenStyle.DashLine)
        self.threshold_line = pg.InfiniteLine(pos=0.5, angle=0, pen=dashed,
                                              label="threshold", labelOpts={"position": 0.05, "color": "#c62828"})
        item.addItem(self.threshold_line)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def clear(self) -> None:
        for condition, curve in self.curves.items():
            self.points[condition] = {}
            curve.setData([], [])

    def add_point(self, condition: str, severity: int, probability: float) -> None:
        self.points.setdefault(condition, {})[severity] = probability
        xs = sorted(self.points[condition])
        if condition in self.curves:
            self.curves[condition].setData(xs, [self.points[condition][x] for x in xs])

    def set_threshold(self, threshold: float) -> None:
        self.threshold_line.setValue(threshold)

    def count(self) -> int:
        return sum(len(v) for v in self.points.values())
