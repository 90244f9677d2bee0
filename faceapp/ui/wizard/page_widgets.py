"""Small widgets the wizard pages share: a strip of captioned thumbnails and an error banner."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget, QWizardPage

from faceapp.ui.widgets import MUTED

ERROR_STYLE = ("QLabel { background: #fdecea; border: 1px solid #e57373; border-radius: 4px; padding: 6px;"
               " color: #8e1c1c; }")


def announce_complete(page: QWizardPage) -> None:
    """`page.completeChanged`, with the keyboard focus left where it was.

    QWizard hides its page area while it updates its buttons, so the field being typed in lost the focus
    at each emission, to the main window's sidebar, whose type-ahead then switched pages."""
    focused = QApplication.focusWidget()
    page.completeChanged.emit()
    if focused is not None and QApplication.focusWidget() is not focused and focused.isVisible() \
            and focused.isEnabled():
        focused.setFocus(Qt.FocusReason.OtherFocusReason)


class ErrorLabel(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(ERROR_STYLE)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_message(self, text: str | None) -> None:
        self.setText(text or "")
        self.setVisible(bool(text))


class ThumbStrip(QWidget):
    """A row of fixed-size thumbnails with a caption under each."""

    def __init__(self, side: int = 88, parent: QWidget | None = None):
        super().__init__(parent)
        self.side = side
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(8)
        self.row.addStretch(1)
        self.count = 0

    def set_images(self, images: list[tuple[QImage, str]]) -> None:
        while self.row.count() > 1:
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for i, (image, caption) in enumerate(images):
            self.row.insertWidget(i, self._cell(image, caption))
        self.count = len(images)
        self.setVisible(bool(images))

    def _cell(self, image: QImage, caption: str) -> QWidget:
        cell = QWidget()
        layout = QVBoxLayout(cell)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        picture = QLabel()
        picture.setFixedSize(self.side, self.side)
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setPixmap(QPixmap.fromImage(image).scaled(self.side, self.side, Qt.AspectRatioMode.KeepAspectRatio,
                                                          Qt.TransformationMode.SmoothTransformation))
        text = QLabel(caption)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setMaximumWidth(self.side)
        text.setStyleSheet(f"color: {MUTED}; font-size: 9pt;")
        metrics = text.fontMetrics()
        text.setText(metrics.elidedText(caption, Qt.TextElideMode.ElideMiddle, self.side))
        text.setToolTip(caption)
        layout.addWidget(picture)
        layout.addWidget(text)
        return cell
