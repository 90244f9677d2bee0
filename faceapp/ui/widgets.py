"""Small reusable widgets: an aspect-keeping image view, a notice banner, a progress line with ETA."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from faceapp.ui import qt_compat  # noqa: F401 - guards against PySide6 6.12.0's refcount bug before any Qt call

MUTED = "#6b6b6b"  # secondary text: readable on light and grey backgrounds


class ImageView(QLabel):
    """Shows a QImage scaled to fit, keeping its aspect ratio; a placeholder text when empty."""

    clicked_at = Signal(float, float)  # a left click on the picture, as fractions of its width and height

    def __init__(self, placeholder: str = "", min_size: int = 120, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = placeholder
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(min_size, min_size)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setWordWrap(True)
        self.setText(placeholder)
        self.setStyleSheet(f"color: {MUTED};")

    def set_image(self, image: QImage | None) -> None:
        self._image = image if image is not None and not image.isNull() else None
        self._rescale()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        """A left click on the picture emits `clicked_at(x, y)`, as fractions of the picture's width and height."""
        shown = self.pixmap()
        if event.button() == Qt.MouseButton.LeftButton and self._image is not None and not shown.isNull():
            area = self.contentsRect()
            left = area.left() + (area.width() - shown.width()) / 2
            top = area.top() + (area.height() - shown.height()) / 2
            x, y = (event.position().x() - left) / shown.width(), (event.position().y() - top) / shown.height()
            if 0 <= x <= 1 and 0 <= y <= 1:
                self.clicked_at.emit(x, y)
        super().mousePressEvent(event)

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(220, 220)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._image is None:
            self.setPixmap(QPixmap())
            self.setText(self._placeholder)
            return
        size = self.contentsRect().size()
        pixmap = QPixmap.fromImage(self._image)  # pixmaps are made here, on the GUI thread
        self.setPixmap(pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation))


class Notice(QLabel):
    """A soft banner for "why is this disabled" messages; links are emitted, not opened."""

    link = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.setStyleSheet("QLabel { background: #fff4e0; border: 1px solid #e0b060; border-radius: 4px;"
                           " padding: 6px; color: #5a3d00; }")
        self.linkActivated.connect(self.link)
        self.hide()

    def show_message(self, html: str | None) -> None:
        self.setText(html or "")
        self.setVisible(bool(html))


class ProgressLine(QWidget):
    """Progress bar plus "n / total · rate · ETA" text, updated by the owner."""

    def __init__(self, unit: str = "images", parent: QWidget | None = None):
        super().__init__(parent)
        self.unit = unit
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(14)
        self.text = QLabel("Ready.")
        self.text.setMinimumWidth(320)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.text)
        self._start = 0.0

    def begin(self, total: int | None = None) -> None:
        self._start = time.monotonic()
        self.bar.setRange(0, total or 0)  # 0..0: busy indicator until the total is known
        self.bar.setValue(0)
        self.text.setText("Starting…")

    def update_progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.text.setText(progress_text(done, total, self.unit, self._start))

    def end(self, message: str) -> None:
        if self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
        self.text.setText(message)


def progress_text(done: int, total: int, unit: str, started: float) -> str:
    """"n / total unit · rate/s · time left", `started` being the job's `time.monotonic()` start."""
    rate = done / max(time.monotonic() - started, 1e-6)
    eta = (total - done) / rate if rate > 0 else 0
    return f"{done:,} / {total:,} {unit} · {rate:.1f}/s · {format_eta(eta) if done else '…'} left"


def format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
