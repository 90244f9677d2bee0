"""Render the app icon `faceapp/icons/faceapp.svg` to the PNG and ICO files the app and the build use.

    python packaging/make_icons.py

Writes `faceapp/icons/faceapp.png` (256 px: window icon, Linux .desktop icon, macOS bundle icon) and
`faceapp/icons/faceapp.ico` (16-256 px, each size rendered from the SVG, not scaled down: Windows exe
icon). Uses QtSvg (in PySide6-Essentials) and Pillow; needs no display. Run it after editing the SVG
and commit the outputs: the build does not render icons.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "faceapp" / "icons"
SVG = ICON_DIR / "faceapp.svg"
PNG_SIZE = 256
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(svg: Path, size: int):
    """The SVG drawn on a transparent `size` x `size` canvas, as a Pillow RGBA image."""
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not an SVG that QtSvg can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGBA")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter wants one
    png = ICON_DIR / "faceapp.png"
    render(SVG, PNG_SIZE).save(png, optimize=True)
    images = [render(SVG, size) for size in ICO_SIZES]
    ico = ICON_DIR / "faceapp.ico"
    images[-1].save(ico, sizes=[(s, s) for s in ICO_SIZES], append_images=images[:-1])
    print(f"wrote {png} ({PNG_SIZE} px) and {ico} ({', '.join(map(str, ICO_SIZES))} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
