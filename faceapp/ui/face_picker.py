"""Which face of a group photo: the faces found, drawn on the photo's preview with their numbers, and a
menu to pick one (a click on a face in the preview picks it too). Used by the Verify page's photo slots."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QWidget

Box = tuple[int, int, int, int]  # x, y, w, h in the photo's pixels
CHOSEN, OTHER = QColor("#2e7d32"), QColor("#f9a825")


def draw_faces(preview: QImage, boxes: tuple[Box, ...], chosen: int, photo_width: int) -> QImage:
    """A copy of `preview` with each box outlined and numbered (the chosen one green, the others amber)."""
    image = preview.convertToFormat(QImage.Format.Format_RGB32)
    scale = image.width() / max(1, photo_width)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(11, round(image.height() / 22)))
    painter.setFont(font)
    for i, (x, y, w, h) in enumerate(boxes):
        color = CHOSEN if i == chosen else OTHER
        painter.setPen(QPen(color, 3 if i == chosen else 2))
        rect = QRectF(x * scale, y * scale, w * scale, h * scale)
        painter.drawRect(rect)
        label = QRectF(rect.left(), rect.top() - font.pixelSize() - 4, font.pixelSize() * 1.6, font.pixelSize() + 4)
        if label.top() < 0:
            label.moveTop(rect.top())
        painter.fillRect(label, color)
        painter.setPen(Qt.GlobalColor.black)
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, str(i + 1))
    painter.end()
    return image


def face_at(boxes: tuple[Box, ...], x: float, y: float) -> int | None:
    """The index of the smallest box holding the point (photo pixels), or None."""
    holding = [i for i, (bx, by, bw, bh) in enumerate(boxes) if bx <= x <= bx + bw and by <= y <= by + bh]
    return min(holding, key=lambda i: boxes[i][2] * boxes[i][3]) if holding else None


class FaceMenu(QComboBox):
    """"Face 1 (main)", "Face 2", …: shown only when a photo holds more than one face."""

    picked = Signal(int)  # the user chose another face (not emitted by `show_faces`)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip("This photo shows several faces: pick the one to compare (or click it in the photo). "
                        "The numbers are drawn on the photo, 1 being the main face (by size and nearness to "
                        "the centre).")
        self.setVisible(False)
        self.activated.connect(self.picked)

    def show_faces(self, count: int, chosen: int) -> None:
        self.blockSignals(True)
        self.clear()
        self.addItems([f"Face {i + 1}{' (main)' if i == 0 else ''}" for i in range(count)])
        self.setCurrentIndex(chosen if 0 <= chosen < count else 0)
        self.blockSignals(False)
        self.setVisible(count > 1)
