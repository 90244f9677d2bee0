"""A small FAR/FRR plot for the Verify slider: what each threshold costs in errors, on a log scale.

Drawn with QPainter (no plotting library: it is on the first page the user may open, and it is tiny).
Both curves come from the matcher's stored validation score distributions
(`training.error_rates.ScoreHistograms.curves`); the current threshold is a vertical line with the two
rates marked where it crosses them.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from training.error_rates import ScoreHistograms

FAR_COLOR, FRR_COLOR, LINE_COLOR = QColor("#D55E00"), QColor("#0072B2"), QColor("#555555")
LOWEST = 1e-3  # the plot's floor: 0.1 %; rates under it (0 included) sit on the bottom edge
DECADES = (1e-3, 1e-2, 1e-1, 1.0)
STEP = 5  # plot every 5th of the 1,001 thresholds: 201 points, smooth at this size


class RatePlot(QWidget):
    """False-match rate (strangers accepted) and false-non-match rate (same person rejected) against the
    threshold, with the slider's threshold marked. Hidden by its owner when the matcher has no rates."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(220)
        self._curves = None
        self.threshold = 0.5
        self.setToolTip("Error rates at every threshold, on the matcher's own validation pairs: orange, strangers "
                        "accepted (false-match rate); blue, the same person rejected (false-non-match rate). "
                        "Log scale; the grey line is the slider's threshold.")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 146)

    def set_rates(self, rates: ScoreHistograms | None) -> None:
        self._curves = rates.curves() if rates is not None else None
        self.update()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = float(threshold)
        self.update()

    def rates_at(self, threshold: float) -> tuple[float, float] | None:
        """(false-match rate, false-non-match rate) the plot marks at `threshold`, or None without rates."""
        if self._curves is None:
            return None
        k = min(max(int(round(threshold * 1000)), 0), 1000)
        return float(self._curves[1][k]), float(self._curves[2][k])

    # ------------------------------------------------------------ drawing
    def _frame(self) -> QRectF:
        return QRectF(40, 6, max(10, self.width() - 48), max(10, self.height() - 42))

    @staticmethod
    def _y(frame: QRectF, rate: float) -> float:
        """Log scale from 100 % (top) down to 0.1 % (bottom)."""
        low = math.log10(LOWEST)
        value = (math.log10(max(rate, LOWEST)) - low) / -low
        return frame.bottom() - value * frame.height()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = self._frame()
        small = QFont(self.font())
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        painter.setFont(small)
        text = self.palette().color(self.foregroundRole())
        painter.setPen(QPen(QColor(text.red(), text.green(), text.blue(), 60), 1))
        for decade in DECADES:
            y = self._y(frame, decade)
            painter.drawLine(QPointF(frame.left(), y), QPointF(frame.right(), y))
        painter.setPen(text)
        for decade in DECADES:
            label = f"{decade:.0%}" if decade >= 0.01 else f"{decade:.1%}"
            painter.drawText(QRectF(0, self._y(frame, decade) - 7, frame.left() - 4, 14),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for x in (0.0, 0.5, 1.0):
            painter.drawText(QRectF(frame.left() + x * frame.width() - 20, frame.bottom() + 2, 40, 14),
                             Qt.AlignmentFlag.AlignHCenter, f"{x:g}")
        self._legend(painter, frame, text)
        if self._curves is None:
            painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, "no stored error rates")
            return
        thresholds, far, frr = self._curves
        for rates, color in ((far, FAR_COLOR), (frr, FRR_COLOR)):
            path = QPainterPath()
            for i in range(0, len(thresholds), STEP):
                point = QPointF(frame.left() + thresholds[i] * frame.width(), self._y(frame, rates[i]))
                path.moveTo(point) if i == 0 else path.lineTo(point)
            painter.setPen(QPen(color, 2))
            painter.drawPath(path)
        x = frame.left() + min(max(self.threshold, 0.0), 1.0) * frame.width()
        painter.setPen(QPen(LINE_COLOR, 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x, frame.top()), QPointF(x, frame.bottom()))
        at = self.rates_at(self.threshold)
        for rate, color in zip(at, (FAR_COLOR, FRR_COLOR)):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawEllipse(QPointF(x, self._y(frame, rate)), 3.5, 3.5)

    @staticmethod
    def _legend(painter: QPainter, frame: QRectF, text: QColor) -> None:
        """One line under the axis: which colour is which rate."""
        x, y = frame.left(), frame.bottom() + 24
        for label, color in (("strangers accepted", FAR_COLOR), ("same person rejected", FRR_COLOR)):
            painter.setPen(QPen(color, 2))
            painter.drawLine(QPointF(x, y + 6), QPointF(x + 14, y + 6))
            painter.setPen(text)
            width = painter.fontMetrics().horizontalAdvance(label)
            painter.drawText(QRectF(x + 18, y, width + 4, 14), Qt.AlignmentFlag.AlignVCenter, label)
            x += 18 + width + 16
