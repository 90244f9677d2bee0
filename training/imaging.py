"""The one image loader of the project: files (or in-memory images) to upright 8-bit RGB PIL images.

Every module that reads a picture goes through `load_image`, so EXIF orientation, odd pixel modes,
decompression bombs and broken files are handled once, the same way, with one clear sentence per
failure (`ImageLoadError.reason`) that the app can show and the CLI can log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")

# Our own limit, checked on the header before any pixel is decoded. We do not touch PIL's global
# Image.MAX_IMAGE_PIXELS: other code in the process may rely on it (or have disabled it).
MAX_PIXELS = 100_000_000
# Longer side / shorter side above this is a strip (a web spacer, a scanned line), not a photo; refused
# on the header too: resizing its shorter side to a model's input would blow the longer one up to
# gigabytes (a 10 x 10,000,000 px file: 37 GB at 112 px; at this limit, 4 MB). Panoramas stay far below.
MAX_ASPECT = 100

_WHITE = (255, 255, 255)


class ImageLoadError(Exception):
    """An image file that cannot be used; `reason` is one sentence meant for the user."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class FolderError(Exception):
    """A folder that cannot be listed (missing, not a folder, unreadable)."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def load_image(path) -> Image.Image:
    """Read `path` as an upright RGB image, fully decoded, with the file already closed."""
    return load_reduced(path, None)[0]


def load_reduced(path, min_side: int | None) -> tuple[Image.Image, float]:
    """`load_image`, but a JPEG may be decoded at 1/2, 1/4 or 1/8 of its size while its shorter side
    stays at least `min_side` px (None: never). The JPEG decoder scales while decoding, so a 12 MP
    camera photo takes ~10 ms instead of ~60 ms. Returns the image and `full / decoded` size, the factor
    that maps its pixel coordinates back to the full-size photo (1.0 when decoded at full size).
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            # Image.open only parsed the header: refuse bombs before decoding a single pixel.
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageLoadError(path, _too_large(width, height))
            if max(width, height) > MAX_ASPECT * min(width, height):
                raise ImageLoadError(path, f"image is {width}x{height} px, a strip rather than a photo "
                                           f"(sides more than {MAX_ASPECT}:1)")
            if min_side and img.format == "JPEG" and min(width, height) >= 2 * min_side:
                ratio = min(width, height) / min_side
                # draft() picks the strongest reduction whose result still covers the size asked for.
                img.draft(img.mode, (int(np.ceil(width / ratio)), int(np.ceil(height / ratio))))
            img.load()
            factor = width / img.size[0]
            # The pixels are loaded, so the image outlives the file that the `with` block closes.
            return to_rgb(_exif_upright(img)), factor
    except ImageLoadError:
        raise
    except Exception as exc:  # every decoder failure becomes one readable sentence
        raise ImageLoadError(path, _reason_for(exc, path)) from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB; transparency is composited on white.

    Returns `img` itself when it already is RGB. Used by `load_image` and for images that never
    were files (pasted from the clipboard, drawn in tests).
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P" and "transparency" in img.info:
        mode, img = "RGBA", img.convert("RGBA")
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode.startswith("I") or mode.startswith("F"):
        # PIL's own convert() clips 16-bit and float values at 255 (a white picture); scale instead.
        gray = _scale_to_uint8(np.asarray(img), mode)
        return Image.fromarray(gray, "L").convert("RGB")
    return img.convert("RGB")


@dataclass
class ImageScan:
    """What `scan_images` found: the image files, and the hidden ones it left out (to say so)."""

    paths: list[Path]
    hidden_files: int = 0  # image files whose name starts with "."
    hidden_folders: int = 0  # sub-folders whose name starts with "." (not looked into)

    def skipped_text(self) -> str:
        """'3 hidden files and 1 hidden folder skipped' (empty when nothing was)."""
        parts = [f"{n:,} hidden {word}{'s' * (n != 1)}" for n, word in
                 ((self.hidden_files, "file"), (self.hidden_folders, "folder")) if n]
        return f"{' and '.join(parts)} skipped" if parts else ""


def rgb_array(image) -> np.ndarray:
    """uint8 H x W x 3 RGB from a PIL image or a gray / RGB / RGBA array (what the face finders take)."""
    if isinstance(image, Image.Image):
        return np.asarray(to_rgb(image))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be a PIL image or an HxW / HxWx3 array, got shape {arr.shape}")
    return arr


def list_images(folder, recursive: bool = False) -> list[Path]:
    """Image files in `folder` (by extension, any case), sorted, hidden files and folders skipped.

    An empty result is not an error: the caller decides what "no images" means for it.
    """
    return scan_images(folder, recursive).paths


def scan_images(folder, recursive: bool = False) -> ImageScan:
    """`list_images`, with a count of the hidden image files and folders it skipped."""
    folder = Path(folder)
    if not folder.exists():
        raise FolderError(folder, "folder not found")
    if not folder.is_dir():
        raise FolderError(folder, "not a folder")
    try:
        top = list(os.scandir(folder))
    except PermissionError as exc:
        raise FolderError(folder, "permission denied: the folder cannot be read") from exc
    except OSError as exc:
        raise FolderError(folder, f"the folder cannot be read ({exc.strerror or exc})") from exc

    found: list[Path] = []
    scan = ImageScan(found)
    pending = [top]
    while pending:
        for entry in pending.pop():
            if entry.name.startswith("."):
                _count_hidden(entry, scan, recursive)
                continue
            try:
                if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
                    found.append(Path(entry.path))
                elif recursive and entry.is_dir(follow_symlinks=False):
                    pending.append(list(os.scandir(entry.path)))
            except OSError:
                # An unreadable sub-folder or a dangling link must not hide the rest of the tree.
                continue
    # Case-insensitive order reads naturally in the app; the raw path breaks ties deterministically.
    found.sort(key=lambda p: (str(p.relative_to(folder)).casefold(), str(p)))
    return scan


def _count_hidden(entry: os.DirEntry, scan: ImageScan, recursive: bool) -> None:
    try:
        if entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            scan.hidden_files += 1
        elif recursive and entry.is_dir(follow_symlinks=False) and entry.name not in (".", ".."):
            scan.hidden_folders += 1
    except OSError:
        pass


def iter_images(paths: Iterable, min_side: int | None = None) -> Iterator[tuple[Path, Image.Image | None, str | None]]:
    """Yield `(path, image, None)` or `(path, None, reason)` per path; never stops on a bad file.
    `min_side`: large JPEGs may be decoded smaller, as in `load_reduced`."""
    for path in paths:
        try:
            yield Path(path), load_reduced(path, min_side)[0], None
        except ImageLoadError as exc:
            yield Path(path), None, exc.reason


def _exif_upright(img: Image.Image) -> Image.Image:
    """Turn a loaded image upright in place. In place because the image is ours alone: the copy that
    `exif_transpose` returns otherwise doubled the cost of reading a 250 px JPEG (0.33 of 0.65 ms)."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # noqa: BLE001 - broken EXIF should not cost us the picture itself
        pass
    return img


def _scale_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    values = values.astype(np.float64)
    if mode.startswith("I;16"):
        low, high = 0.0, 65535.0  # 16-bit files use the full unsigned range by definition
    else:
        # Mode "I" (32-bit int) and "F" carry no declared range; guess the common ones and fall
        # back to stretching what is there, so the result is never a flat white or black image.
        vmin = float(np.nanmin(values)) if values.size else 0.0
        vmax = float(np.nanmax(values)) if values.size else 0.0
        if mode.startswith("F") and vmin >= 0.0 and vmax <= 1.0:
            low, high = 0.0, 1.0
        elif vmin >= 0.0 and vmax <= 255.0:
            low, high = 0.0, 255.0
        elif vmin >= 0.0 and vmax <= 65535.0:
            low, high = 0.0, 65535.0
        else:
            low, high = vmin, max(vmax, vmin + 1e-12)
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _too_large(width: int, height: int) -> str:
    return f"image is too large ({width}x{height} px, limit {MAX_PIXELS // 1_000_000} MP)"


def _reason_for(exc: Exception, path: Path) -> str:
    """One sentence for the user; the original exception stays chained for the log."""
    if isinstance(exc, Image.DecompressionBombError):
        # PIL's own guard (when set lower than ours) fired inside Image.open, before our check.
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(pixels[1]) / 1e6:.0f} MP, " if pixels else ""
        return f"image is too large ({size}limit {MAX_PIXELS // 1_000_000} MP)"
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not an image file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, UnidentifiedImageError):
        if _is_empty(path):  # a failed download or copy: say so rather than "not an image"
            return "file is empty (0 bytes)"
        return "not an image file (or an unsupported format)"
    if isinstance(exc, MemoryError):
        return "not enough memory to decode the image"
    message = str(exc)
    if "truncated" in message.lower() or isinstance(exc, EOFError):
        return "file is truncated"
    if isinstance(exc, (OSError, SyntaxError, ValueError)):
        return f"image data is corrupt or unsupported ({message or type(exc).__name__})"
    return f"image could not be read ({type(exc).__name__}: {message})"


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
