"""Generated images and folder layouts for tests (no real photos in the test suite)."""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def pattern_image(kind: int, seed: int, size: int = 48) -> Image.Image:
    """An easy-to-learn pattern: `kind` picks the colour and where the bright block sits; noise varies."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
    colour = [(220, 40, 40), (40, 40, 220), (40, 200, 40), (200, 200, 40), (200, 40, 200), (40, 200, 200)][kind % 6]
    half = size // 2
    if kind % 2 == 0:
        img[:, :half] = np.clip(img[:, :half] + np.array(colour, dtype=np.uint8) // 2 + 60, 0, 255)
    else:
        img[half:, :] = np.clip(img[half:, :] + np.array(colour, dtype=np.uint8) // 2 + 60, 0, 255)
    return Image.fromarray(img)


def make_gender_folder(root: Path, counts=None, split=False, size: int = 48) -> Path:
    """ROOT/<class>/*.png (or ROOT/{train,val}/<class>/ with split=True); file names carry a person id."""
    counts = counts or {"female": 12, "male": 30}
    parts = ["train", "val"] if split else [""]
    for part in parts:
        for k, (label, n) in enumerate(sorted(counts.items())):
            folder = root / part / label
            folder.mkdir(parents=True, exist_ok=True)
            n_here = n if part != "val" else max(2, n // 3)
            for i in range(n_here):
                person = f"{label}{part}{i // 2}"  # two photos per person
                image = pattern_image(k, zlib.crc32(f"{part}/{label}/{i}".encode()), size)
                image.save(folder / f"{person}_{i % 2 + 1:04d}.png")
    return root


def make_identity_folder(root: Path, people: int = 8, photos: int = 3, size: int = 48, distortion_dir=False) -> Path:
    """ROOT/<person>/*.png; each person has a distinct pattern; optional FACECOM-style distortion/ copies."""
    from training.distortions import apply

    for p in range(people):
        folder = root / f"Person_{p:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(photos):
            img = pattern_image(p, p * 100 + i, size)
            img.save(folder / f"Person_{p:02d}_{i + 1:04d}.png")
            if distortion_dir:
                (folder / "distortion").mkdir(exist_ok=True)
                apply(img, "blurred", 3, seed=i).save(folder / "distortion" / f"Person_{p:02d}_{i + 1:04d}_blurred.png")
    return root
