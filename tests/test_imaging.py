"""Tests for training.imaging: every pixel mode, EXIF orientation, broken files, folder listing."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from training import imaging
from training.imaging import (
    FolderError,
    ImageLoadError,
    iter_images,
    list_images,
    load_image,
    load_reduced,
    to_rgb,
)


def _gradient(width=64, height=48):
    x = np.linspace(0, 255, width, dtype=np.float64)
    return np.tile(x, (height, 1))


def _save(img, path, **kwargs):
    img.save(path, **kwargs)
    return path


def _assert_rgb(img, size):
    assert isinstance(img, Image.Image)
    assert img.mode == "RGB"
    assert img.size == size


def test_rgb_jpeg(tmp_path):
    src = Image.fromarray(np.full((40, 60, 3), (200, 30, 30), np.uint8))
    img = load_image(_save(src, tmp_path / "a.jpg", quality=95))
    _assert_rgb(img, (60, 40))
    r, g, b = np.asarray(img).reshape(-1, 3).mean(axis=0)
    assert r > 180 and g < 60 and b < 60


@pytest.mark.parametrize("mode", ["L", "1", "P", "LA", "PA", "I", "RGBA"])
def test_modes_become_rgb(tmp_path, mode):
    base = Image.fromarray(_gradient().astype(np.uint8), "L")
    src = base.convert(mode) if mode != "PA" else base.convert("RGBA").convert("PA")
    path = tmp_path / ("m.tif" if mode in ("I", "PA") else "m.png")
    try:
        src.save(path)
    except (OSError, KeyError, ValueError):
        pytest.skip(f"PIL cannot write mode {mode} to {path.suffix}")
    _assert_rgb(load_image(path), (64, 48))


def test_grayscale_keeps_values(tmp_path):
    src = Image.fromarray(_gradient().astype(np.uint8), "L")
    arr = np.asarray(load_image(_save(src, tmp_path / "g.png")))
    assert np.array_equal(arr[..., 0], np.asarray(src))
    assert np.array_equal(arr[..., 0], arr[..., 2])


def test_palette_with_transparency_goes_on_white(tmp_path):
    src = Image.new("P", (10, 10), 0)
    src.putpalette([0, 0, 0] * 256)
    src.info["transparency"] = 0
    arr = np.asarray(load_image(_save(src, tmp_path / "p.png", transparency=0)))
    assert (arr == 255).all()


def test_rgba_alpha_composited_on_white(tmp_path):
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[:, :10] = (0, 0, 255, 255)  # opaque blue
    rgba[:, 10:] = (0, 0, 0, 0)  # fully transparent black -> white
    arr = np.asarray(load_image(_save(Image.fromarray(rgba, "RGBA"), tmp_path / "t.png")))
    assert tuple(arr[5, 2]) == (0, 0, 255)
    assert tuple(arr[5, 15]) == (255, 255, 255)


def test_cmyk_jpeg(tmp_path):
    src = Image.new("CMYK", (30, 20), (0, 255, 255, 0))  # pure red in CMYK
    img = load_image(_save(src, tmp_path / "c.jpg", quality=95))
    _assert_rgb(img, (30, 20))
    r, g, b = np.asarray(img).reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    values = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (8, 1))
    src = Image.fromarray(values)
    assert src.mode == "I;16"
    arr = np.asarray(load_image(_save(src, tmp_path / "deep.png")))[..., 0]
    assert arr.min() == 0 and arr.max() == 255
    assert len(np.unique(arr)) > 200  # a real gradient, not a clipped white image
    assert abs(int(arr[0, 128]) - 128) <= 2


def test_float_tiff(tmp_path):
    values = np.tile(np.linspace(0.0, 1.0, 100, dtype=np.float32), (10, 1))
    path = tmp_path / "f.tif"
    try:
        Image.fromarray(values, "F").save(path)
    except OSError:
        pytest.skip("PIL cannot write float TIFF here")
    arr = np.asarray(load_image(path))[..., 0]
    assert arr.min() == 0 and arr.max() == 255


def test_to_rgb_in_memory_modes():
    assert to_rgb(Image.new("RGB", (3, 3))).mode == "RGB"
    assert to_rgb(Image.new("L", (3, 3), 7)).getpixel((0, 0)) == (7, 7, 7)
    assert to_rgb(Image.new("LA", (3, 3), (0, 0))).getpixel((1, 1)) == (255, 255, 255)
    wide = to_rgb(Image.fromarray(np.array([[0, 1000, 70000]], np.int32)))
    assert wide.getpixel((0, 0))[0] == 0 and wide.getpixel((2, 0))[0] == 255


def test_exif_orientation_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red, right half blue (as stored)
    arr[:, 20:] = (0, 0, 255)
    src = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img = load_image(_save(src, tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95))
    _assert_rgb(img, (20, 40))  # width and height swapped
    top, bottom = np.asarray(img)[2, 10], np.asarray(img)[-3, 10]
    assert top[0] > 200 and top[2] < 60  # stored left (red) is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def _quadrants(width, height):
    """Red top-left, green top-right, blue bottom-left, white bottom-right: survives any scaling."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[: height // 2, : width // 2] = (255, 0, 0)
    arr[: height // 2, width // 2:] = (0, 255, 0)
    arr[height // 2:, : width // 2] = (0, 0, 255)
    arr[height // 2:, width // 2:] = 255
    return Image.fromarray(arr)


@pytest.mark.parametrize("min_side, size, factor", [(None, (1600, 1200), 1.0), (150, (200, 150), 8.0),
                                                     (300, (400, 300), 4.0), (700, (1600, 1200), 1.0)])
def test_large_jpeg_is_decoded_reduced_but_never_below_min_side(tmp_path, min_side, size, factor):
    path = _save(_quadrants(1600, 1200), tmp_path / "big.jpg", quality=92)
    img, got = load_reduced(path, min_side)
    _assert_rgb(img, size)
    assert got == factor
    arr = np.asarray(img, np.int16)
    h, w = arr.shape[:2]
    for (y, x), colour in {(h // 4, w // 4): (255, 0, 0), (h // 4, 3 * w // 4): (0, 255, 0),
                           (3 * h // 4, w // 4): (0, 0, 255), (3 * h // 4, 3 * w // 4): (255, 255, 255)}.items():
        assert np.abs(arr[y, x] - colour).max() < 40


def test_reduced_decoding_keeps_exif_orientation_and_skips_other_formats(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(_quadrants(1600, 1200), tmp_path / "rot.jpg", exif=exif.tobytes(), quality=92)
    img, factor = load_reduced(path, 150)
    _assert_rgb(img, (150, 200))  # upright, an eighth of the photo
    assert factor == 8.0
    assert np.asarray(img)[10, -10, 0] > 200  # stored top-left (red) is now top-right
    png = _save(_quadrants(1600, 1200), tmp_path / "big.png")
    img, factor = load_reduced(png, 150)
    _assert_rgb(img, (1600, 1200))
    assert factor == 1.0


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (200, 200, 3), np.uint8)).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert info.value.reason == "file is truncated"
    assert info.value.path == path
    assert str(info.value) == f"{path}: file is truncated"


def test_random_bytes_named_jpg(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(os.urandom(2000))
    with pytest.raises(ImageLoadError, match="not an image file"):
        load_image(path)


def test_empty_file_says_so(tmp_path):
    path = tmp_path / "failed_download.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert info.value.reason == "file is empty (0 bytes)"


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "nope.png")
    assert info.value.reason == "file not found"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads everything")
def test_permission_denied(tmp_path):
    path = _save(Image.new("RGB", (4, 4)), tmp_path / "locked.png")
    path.chmod(0)
    with pytest.raises(ImageLoadError, match="permission denied"):
        load_image(path)


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height; decoding would need gigabytes."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_refused_before_decoding(tmp_path, monkeypatch):
    # Even with PIL's own guard switched off by someone else, our limit still holds.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    path = _png_header_only(tmp_path / "bomb.png", 40000, 40000)
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert "too large" in info.value.reason and "40000x40000" in info.value.reason
    with pytest.raises(ImageLoadError, match="too large"):
        load_reduced(path, 100)


def test_decompression_bomb_with_pil_guard_lower_than_ours(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    path = _png_header_only(tmp_path / "bomb.png", 3000, 3000)
    with pytest.raises(ImageLoadError, match=r"too large \(9 MP"):
        load_image(path)


def test_a_strip_is_refused_on_its_header_and_a_panorama_is_not(tmp_path):
    path = _png_header_only(tmp_path / "line.png", 5, 10_000_000)  # resized to 112 px wide: 75 GB
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert info.value.reason == "image is 5x10000000 px, a strip rather than a photo (sides more than 100:1)"
    assert load_image(_save(Image.new("RGB", (2000, 20)), tmp_path / "banner.png")).size == (2000, 20)  # 100:1
    with pytest.raises(ImageLoadError, match="strip"):
        load_image(_save(Image.new("RGB", (1, 101)), tmp_path / "spacer.png"))


def test_permission_error_becomes_a_reason(tmp_path, monkeypatch):
    # Runs as root too (where chmod 0 does not stop reads): simulate what the OS would raise.
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imaging.Image, "open", refuse)
    with pytest.raises(ImageLoadError) as info:
        load_image(tmp_path / "any.jpg")
    assert info.value.reason == "permission denied"


def test_max_pixels_is_our_own_limit(tmp_path, monkeypatch):
    path = _save(Image.new("RGB", (100, 100)), tmp_path / "small.png")
    monkeypatch.setattr(imaging, "MAX_PIXELS", 5000)
    with pytest.raises(ImageLoadError, match=r"too large \(100x100 px"):
        load_image(path)


def test_loaded_image_does_not_hold_the_file(tmp_path):
    path = _save(Image.new("RGB", (8, 8), (1, 2, 3)), tmp_path / "x.png")
    img = load_image(path)
    path.unlink()  # the pixels are in memory already
    assert img.getpixel((0, 0)) == (1, 2, 3)


def _touch_images(folder, names):
    for name in names:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")


def test_list_images_filters_sorts_and_skips_hidden(tmp_path):
    _touch_images(tmp_path, ["b.JPG", "a.png", "C.webp", "notes.txt", ".hidden.jpg", "d.TIFF", "sub/e.jpg"])
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["a.png", "b.JPG", "C.webp", "d.TIFF"]


def test_list_images_recursive(tmp_path):
    _touch_images(tmp_path, ["z.jpg", "sub/e.jpg", "sub/deeper/f.gif", ".git/g.jpg", "sub/.h.png"])
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path, recursive=True)]
    assert found == ["sub/deeper/f.gif", "sub/e.jpg", "z.jpg"]


def test_list_images_empty_folder(tmp_path):
    assert list_images(tmp_path) == []


def test_list_images_folder_errors(tmp_path):
    with pytest.raises(FolderError, match="folder not found"):
        list_images(tmp_path / "missing")
    file_path = tmp_path / "f.jpg"
    file_path.write_bytes(b"x")
    with pytest.raises(FolderError, match="not a folder"):
        list_images(file_path)


def test_iter_images_goes_past_bad_files(tmp_path):
    good = _save(Image.new("RGB", (5, 5)), tmp_path / "1.png")
    bad = tmp_path / "2.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    also_good = _save(Image.new("L", (6, 6)), tmp_path / "3.png")
    results = list(iter_images([good, bad, tmp_path / "missing.png", also_good]))
    assert [r[0].name for r in results] == ["1.png", "2.jpg", "missing.png", "3.png"]
    assert results[0][1].size == (5, 5) and results[0][2] is None
    assert results[1][1] is None and "not an image" in results[1][2]
    assert results[2][2] == "file not found"
    assert results[3][1].mode == "RGB"


def test_hidden_files_and_folders_are_skipped_and_counted(tmp_path):
    from PIL import Image

    from training.imaging import scan_images

    for name in ("a.jpg", ".hidden.jpg", ".notes.txt", ".cache/b.jpg", "sub/c.png", "sub/.d.png"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(path) if name.endswith(("jpg", "png")) else path.write_text("x")
    flat = scan_images(tmp_path)
    assert [p.name for p in flat.paths] == ["a.jpg"] and (flat.hidden_files, flat.hidden_folders) == (1, 0)
    deep = scan_images(tmp_path, recursive=True)
    assert [p.name for p in deep.paths] == ["a.jpg", "c.png"] and (deep.hidden_files, deep.hidden_folders) == (2, 1)
    assert deep.skipped_text() == "2 hidden files and 1 hidden folder skipped"
    assert list_images(tmp_path, recursive=True) == deep.paths
