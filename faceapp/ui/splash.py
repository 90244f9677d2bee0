"""The start-up splash: on screen a quarter of a second after launch, while torch and the window load (napari
and Orange show one for the same reason). Only `faceapp` / `python -m faceapp` show it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QLabel

from faceapp import APP_NAME, __version__
from faceapp.core.resources import resource_path

WIDTH, HEIGHT = 440, 170


def splash_pixmap() -> QPixmap:
    """The app icon, name, version, what it does and "Starting…", on white with a thin frame."""
    pixmap = QPixmap(WIDTH, HEIGHT)
    pixmap.fill(QColor("white"))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#b0b0b0"))
    painter.drawRect(0, 0, WIDTH - 1, HEIGHT - 1)
    icon = QPixmap(str(resource_path("icons", "faceapp.png")))
    if not icon.isNull():
        icon = icon.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap(28, (HEIGHT - icon.height()) // 2 - 8, icon)
    title = QFont(painter.font())
    title.setPointSize(22)
    title.setBold(True)
    painter.setFont(title)
    painter.setPen(QColor("#202020"))
    painter.drawText(QRect(148, 36, WIDTH - 160, 40), Qt.AlignmentFlag.AlignLeft, APP_NAME)
    body = QFont(painter.font())
    body.setPointSize(10)
    body.setBold(False)
    painter.setFont(body)
    painter.setPen(QColor("#606060"))
    painter.drawText(QRect(148, 80, WIDTH - 160, 60), Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                     f"Version {__version__}\nTag photos by gender, verify faces, train your own models")
    painter.setPen(QColor("#909090"))
    painter.drawText(QRect(0, HEIGHT - 30, WIDTH - 14, 22), Qt.AlignmentFlag.AlignRight, "Starting…")
    painter.end()
    return pixmap


def show_splash(app: QApplication) -> QLabel:
    """Show the splash, centred, and paint it now (the event loop is not running yet); close it when the
    window is up. A frameless label rather than QSplashScreen, whose show() waited 1 s for an expose
    event here (offscreen and Xvfb); the label paints at once."""
    splash = QLabel()
    splash.setPixmap(splash_pixmap())
    splash.setWindowFlags(Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint
                          | Qt.WindowType.WindowStaysOnTopHint)
    splash.setWindowTitle(APP_NAME)
    splash.resize(WIDTH, HEIGHT)
    screen = app.primaryScreen()
    if screen is not None:
        splash.move(screen.availableGeometry().center() - QPoint(WIDTH // 2, HEIGHT // 2))
    splash.show()
    app.processEvents()
    return splash
