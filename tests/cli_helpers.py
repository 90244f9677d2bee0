"""Tiny models and photo folders for the console-command tests (tests/test_cli_*.py): generated, no real data."""

from __future__ import annotations

from pathlib import Path

from tests.gui.helpers import face_image, save_tiny


def tiny_model(path: Path, task: str, **meta) -> Path:
    """An untrained checkpoint at input size 32 (`save_tiny`), with extra metadata keys (e.g. the gender
    model's `uncertain_below`, the matcher's `score_histograms`) written into it."""
    save_tiny(path, task)
    if meta:
        from training.checkpoint import load_checkpoint, save_checkpoint

        checkpoint = load_checkpoint(path, task=task)
        checkpoint.update(meta)
        save_checkpoint(path, checkpoint)
    return path


def photo_folder(root: Path, top: int = 5, nested: int = 3, broken: bool = True) -> dict[str, list[Path]]:
    """ROOT with `top` drawn faces, `nested` more in ROOT/sub/deeper, a hidden file, and (with `broken`) a
    non-image .jpg and an empty .png at the top. Returns {"good": [...], "broken": [...]} (the top level
    and below it alike; the hidden file in neither)."""
    good, bad = [], []
    deeper = root / "sub" / "deeper"
    deeper.mkdir(parents=True)
    for i in range(top):
        good.append(root / f"face {i:02d}.jpg")
        face_image(i).save(good[-1])
    for i in range(nested):
        good.append(deeper / f"nested{i}.png")
        face_image(100 + i).save(good[-1])
    face_image(50).save(root / ".hidden.jpg")
    (root / "notes.txt").write_text("not a photo")
    if broken:
        bad = [root / "broken.jpg", root / "empty.png"]
        bad[0].write_bytes(b"this is not a JPEG")
        bad[1].write_bytes(b"")
    return {"good": good, "broken": bad}
