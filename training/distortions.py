"""Image degradations (blur, fog, low light, noise, rain, low resolution, sun glare, JPEG) at 5 severities.

Severity scale, the same for every condition:
  1  barely visible: a careful look at the original side by side shows it.
  3  typical degraded CCTV or phone footage: obviously worse, the face is still clear.
  5  severe: a human who knows the person could maybe still recognise them.

`apply` is pure (the input is never modified), deterministic for a given seed, and keeps the size and
the type (PIL RGB in, PIL RGB out; numpy uint8 HxWx3 in, numpy uint8 HxWx3 out). Sizes (blur radii,
streak lengths, glare radius) are relative to the image, defined for a 250 px image (the LFW frame)
and scaled, so a 250 px and a 1000 px picture of the same scene look alike after the same call.
Everything is numpy + OpenCV on float32: a few milliseconds for a 250x250 image.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

CONDITIONS = ("blurred", "foggy", "lowlight", "noisy", "rainy", "resized", "sunny", "jpeg")
SEVERITIES = (1, 2, 3, 4, 5)
DEFAULT_SEVERITY = 3

_REFERENCE_SIDE = 250.0  # parameters below are tuned for this image side (an LFW frame)

_DESCRIPTIONS = {
    "blurred": "Out of focus or moving camera: Gaussian blur, sometimes mixed with motion blur.",
    "foggy": "Fog or haze: an uneven bright grey veil that lowers contrast.",
    "lowlight": "Dark scene: underexposed, noisy and slightly blue, like a night camera.",
    "noisy": "Sensor noise: grain, colour speckles and a few dead or hot pixels.",
    "rainy": "Rain: slanted bright streaks over a slightly darker, softer picture.",
    "resized": "Low resolution: shrunk to a few dozen pixels and blown back up.",
    "sunny": "Harsh sun: overexposed, washed-out colours and a lens glare spot.",
    "jpeg": "Heavy compression: JPEG blocks and colour bleeding at low quality.",
}


def describe(condition: str) -> str:
    """One sentence describing `condition`, for tooltips."""
    _check_condition(condition)
    return _DESCRIPTIONS[condition]


def apply(image, condition: str, severity: int = DEFAULT_SEVERITY, seed: int = 0):
    """Return a degraded copy of `image` (PIL RGB or uint8 HxWx3 array) of the same size and type."""
    _check_condition(condition)
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or severity not in SEVERITIES:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    as_pil = isinstance(image, Image.Image)
    rgb = _as_array(image)
    # Each condition draws from its own stream so seed N for "rainy" is unrelated to seed N for "noisy".
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, CONDITIONS.index(condition)])
    out = _APPLY[condition](rgb, int(severity) - 1, rng, _scale(rgb))
    return Image.fromarray(out) if as_pil else out


def random_distortion(image, rng: np.random.Generator, conditions=CONDITIONS, severities=SEVERITIES):
    """Apply a random condition at a random severity; returns `(image, condition, severity)`."""
    if not conditions or not severities:
        raise ValueError("conditions and severities must not be empty")
    condition = str(conditions[int(rng.integers(len(conditions)))])
    severity = int(severities[int(rng.integers(len(severities)))])
    seed = int(rng.integers(2**31))
    return apply(image, condition, severity, seed), condition, severity


# -- conditions. Each takes (rgb uint8 array, level 0..4, rng, scale) and returns a new uint8 array.


def _blurred(rgb, level, rng, scale):
    sigma = (0.7, 1.3, 2.0, 3.0, 4.2)[level] * scale
    out = cv2.GaussianBlur(rgb, (0, 0), sigma)
    # Half the time part of the blur is a camera/subject shake, which smears along one direction.
    if rng.random() < 0.5:
        length = (3, 5, 8, 12, 16)[level] * scale
        shaken = cv2.filter2D(rgb, -1, _line_kernel(length, rng.uniform(0, 180)))
        out = cv2.addWeighted(out, 0.5, shaken, 0.5, 0)
    return out


def _foggy(rgb, level, rng, scale):
    height, width = rgb.shape[:2]
    density = (0.18, 0.32, 0.45, 0.58, 0.70)[level]
    # Fog is thicker in some places than others: a smooth seeded map from a coarse random grid.
    patches = cv2.resize(rng.random((4, 4), dtype=np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    alpha = np.clip(density * (0.75 + 0.5 * patches), 0.0, 0.9)[..., None]
    haze = np.float32(rng.uniform(205, 230)) + np.array([0, 2, 6], np.float32)  # bright, slightly cool
    # Scattering also softens detail; mild and only at the stronger levels.
    base = cv2.GaussianBlur(rgb, (0, 0), 0.4 * level * scale) if level >= 2 else rgb
    return _to_uint8(base.astype(np.float32) * (1.0 - alpha) + haze * alpha)


def _lowlight(rgb, level, rng, scale):
    gamma = (1.3, 1.6, 1.9, 2.2, 2.5)[level]
    gain = (0.8, 0.62, 0.48, 0.36, 0.27)[level]
    # A lookup table applies gamma and gain to uint8 values without per-pixel pow().
    lut = (255.0 * gain * (np.arange(256, dtype=np.float32) / 255.0) ** gamma).astype(np.float32)
    out = lut[rgb]
    cast = np.sqrt(level + 1.0)  # night cameras drift blue, more so the darker the scene
    out *= np.array([0.94, 0.98, 1.06], np.float32) ** np.float32(cast)
    sigma = (1.5, 2.5, 3.5, 4.5, 5.5)[level]  # amplified sensor noise shows once the signal is low
    out += rng.standard_normal(out.shape[:2], dtype=np.float32)[..., None] * sigma
    return _to_uint8(out)


def _noisy(rgb, level, rng, scale):
    height, width = rgb.shape[:2]
    sigma = (5.0, 10.0, 16.0, 24.0, 34.0)[level]
    out = rgb.astype(np.float32)
    # Mostly luminance grain plus weaker independent colour speckle, as in real sensor noise.
    out += rng.standard_normal((height, width, 1), dtype=np.float32) * sigma
    out += rng.standard_normal((height, width, 3), dtype=np.float32) * (0.4 * sigma)
    out = _to_uint8(out)
    fraction = (0.001, 0.002, 0.004, 0.007, 0.012)[level]  # dead and hot pixels
    count = int(round(fraction * height * width))
    if count:
        ys, xs = rng.integers(0, height, count), rng.integers(0, width, count)
        out[ys, xs] = np.where(rng.random(count) < 0.5, 0, 255)[:, None].astype(np.uint8)
    return out


def _rainy(rgb, level, rng, scale):
    height, width = rgb.shape[:2]
    angle = np.deg2rad(rng.uniform(-20, 20))  # one wind direction for the whole picture
    length = max(2.0, (8, 11, 14, 18, 22)[level] * scale)
    count = int((40, 80, 130, 200, 280)[level] * height * width / _REFERENCE_SIDE**2)
    streaks = np.zeros((height, width), np.float32)
    if count:
        starts = rng.uniform((-length, -length), (width, height), (count, 2))
        lengths = length * rng.uniform(0.6, 1.4, (count, 1))
        direction = np.array([np.sin(angle), np.cos(angle)])
        ends = starts + lengths * direction
        lines = np.stack([starts, ends], axis=1).round().astype(np.int32)
        thickness = max(1, int(round(scale)))
        # Three brightness groups give depth without a Python loop per drop.
        for group, brightness in enumerate((0.45, 0.7, 1.0)):
            if len(lines[group::3]):
                cv2.polylines(streaks, list(lines[group::3]), False, brightness, thickness, cv2.LINE_AA)
        # Drops move during the exposure: smear the streaks along their own direction.
        streaks = cv2.filter2D(streaks, -1, _line_kernel(max(2.0, 0.5 * length), 90 - np.rad2deg(angle)))
    strength = (0.35, 0.45, 0.55, 0.65, 0.75)[level]
    alpha = np.clip(streaks * strength, 0.0, 1.0)[..., None]
    darkened = cv2.GaussianBlur(rgb, (0, 0), (0.4, 0.6, 0.8, 1.0, 1.3)[level] * scale).astype(np.float32)
    darkened *= (0.95, 0.9, 0.85, 0.8, 0.75)[level]
    return _to_uint8(darkened * (1.0 - alpha) + 220.0 * alpha)


def _resized(rgb, level, rng, scale):
    height, width = rgb.shape[:2]
    factor = (1 / 1.6, 1 / 2.5, 1 / 4, 1 / 6, 1 / 8)[level]  # 250 px -> 156, 100, 62, 42, 31 px
    small = cv2.resize(rgb, (max(1, round(width * factor)), max(1, round(height * factor))),
                       interpolation=cv2.INTER_AREA)
    # Cheap viewers and CCTV exports upscale with nearest or bilinear; vary it so models see both.
    upscale = cv2.INTER_NEAREST if rng.random() < 0.5 else cv2.INTER_LINEAR
    return cv2.resize(small, (width, height), interpolation=upscale)


def _sunny(rgb, level, rng, scale):
    height, width = rgb.shape[:2]
    out = rgb.astype(np.float32)
    gray = out.mean(axis=2, keepdims=True)
    out += (gray - out) * (0.1, 0.2, 0.3, 0.4, 0.5)[level]  # washed-out colours
    out = out * (1.1, 1.22, 1.35, 1.5, 1.65)[level] + (5, 10, 18, 26, 34)[level]  # overexposure
    # A glare blob, usually in the upper part of the frame where the sun is.
    cx, cy = rng.uniform(0, width), rng.uniform(0, 0.6 * height)
    radius = (0.25, 0.32, 0.4, 0.48, 0.56)[level] * max(height, width)
    ys, xs = np.ogrid[:height, :width]
    dist2 = ((xs - cx) ** 2 + (ys - cy) ** 2).astype(np.float32) / np.float32(radius**2)
    flare = np.exp(-2.0 * dist2, dtype=np.float32)[..., None] * (0.25, 0.4, 0.55, 0.7, 0.85)[level]
    glare_colour = np.array([255, 250, 225], np.float32)  # warm white
    return _to_uint8(out + (glare_colour - out) * flare)


def _jpeg(rgb, level, rng, scale):
    quality = (50, 30, 18, 12, 8)[level]
    # OpenCV encodes BGR; swapping keeps chroma subsampling acting on the real colour channels.
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])


_APPLY = {
    "blurred": _blurred,
    "foggy": _foggy,
    "lowlight": _lowlight,
    "noisy": _noisy,
    "rainy": _rainy,
    "resized": _resized,
    "sunny": _sunny,
    "jpeg": _jpeg,
}


# -- helpers


def _check_condition(condition) -> None:
    if not isinstance(condition, str) or condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; expected one of: {', '.join(CONDITIONS)}")


def _as_array(image) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError("image must be a PIL image or a numpy uint8 array of shape (height, width, 3)")


def _scale(rgb: np.ndarray) -> float:
    # The longer side decides: a 250x180 crop and a 250x250 frame of the same face get the same blur.
    return max(rgb.shape[:2]) / _REFERENCE_SIDE


def _line_kernel(length: float, angle_degrees: float) -> np.ndarray:
    """A normalised straight-line kernel, for motion blur along `angle_degrees`."""
    size = max(3, int(round(length)) | 1)
    kernel = np.zeros((size, size), np.float32)
    centre, half = size // 2, (size - 1) / 2
    dx, dy = half * np.cos(np.deg2rad(angle_degrees)), half * np.sin(np.deg2rad(angle_degrees))
    p1 = (int(round(centre - dx)), int(round(centre - dy)))
    p2 = (int(round(centre + dx)), int(round(centre + dy)))
    cv2.line(kernel, p1, p2, 1.0, 1, cv2.LINE_AA)
    return kernel / kernel.sum()


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)
