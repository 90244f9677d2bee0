"""Convert between numpy/PIL images and QImage (safe to call on any thread; QImage is thread-safe data)."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QImage


def array_to_qimage(array: np.ndarray) -> QImage:
    """An owned QImage copy of an HxWx3 uint8 RGB array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = array.shape[:2]
    return QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def pil_to_qimage(image: Image.Image, max_side: int = 0) -> QImage:
    if max_side and max(image.size) > max_side:
        image = image.copy()
        image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return array_to_qimage(np.asarray(image.convert("RGB")))


def qimage_to_pil(qimage: QImage) -> Image.Image:
    """A PIL RGB image of a QImage (pasted from the clipboard), through PNG so every format works."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    qimage.save(buffer, "PNG")
    import io

    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("RGB")
