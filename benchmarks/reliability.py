"""Reliability diagram of a gender model on G1, before and after calibration, from `benchmarks.run`'s JSON.

Each bar is a confidence bin: its height is how often the model was right for the images in it; the
diagonal is where a perfectly calibrated model's bars would end. Drawn with Pillow (no plotting library).

    python -m benchmarks.run ../shared/data --protocols g1 --json g1.json
    python -m benchmarks.reliability g1.json -o resources/models/gender_reliability.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE, MARGIN = 300, 44
BAR, GAP_COLOR, LINE = (0, 114, 178), (213, 94, 0), (120, 120, 120)


def _panel(draw: ImageDraw.ImageDraw, left: int, calibration: dict, title: str, font) -> None:
    top, side = MARGIN, SIZE
    draw.rectangle([left, top, left + side, top + side], outline=(0, 0, 0))
    for k in range(1, 10):
        y = top + side - side * k / 10
        draw.line([left, y, left + side, y], fill=(235, 235, 235))
    draw.line([left, top + side, left + side, top], fill=LINE, width=1)  # perfect calibration
    for row in calibration["bins"]:
        x0, x1 = left + side * row["low"] + 1, left + side * row["high"] - 1
        accuracy_y = top + side - side * row["accuracy"]
        confidence_y = top + side - side * row["confidence"]
        draw.rectangle([x0, accuracy_y, x1, top + side], fill=BAR)
        draw.rectangle([x0, min(accuracy_y, confidence_y), x1, max(accuracy_y, confidence_y)], outline=GAP_COLOR)
        draw.text((x0 + 1, top + side + 3), f"{row['count']}", fill=(90, 90, 90), font=font)
    draw.text((left, top - 30), title, fill=(0, 0, 0), font=font)
    draw.text((left, top - 16), f"expected calibration error {calibration['ece']:.3f}", fill=(0, 0, 0), font=font)
    for k in (0, 5, 10):
        draw.text((left - 26, top + side - side * k / 10 - 6), f"{k / 10:.1f}", fill=(0, 0, 0), font=font)
        draw.text((left + side * k / 10 - 8, top + side + 16), f"{k / 10:.1f}", fill=(0, 0, 0), font=font)


def draw(before: dict, after: dict, temperature: float, out: Path) -> Path:
    font = ImageFont.load_default()
    width = 2 * SIZE + 3 * MARGIN + 20
    image = Image.new("RGB", (width, SIZE + 2 * MARGIN + 30), "white")
    d = ImageDraw.Draw(image)
    _panel(d, MARGIN, before, "G1 clean, as trained (temperature 1)", font)
    _panel(d, 2 * MARGIN + SIZE + 20, after, f"G1 clean, calibrated (temperature {temperature:.2f})", font)
    d.text((MARGIN, SIZE + MARGIN + 32), "x: confidence shown; y: share right (bars; orange: gap to the confidence); "
           "numbers: images per bin", fill=(60, 60, 60), font=font)
    image.save(out)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path, help="benchmarks.run --json output with G1 (a calibrated gender model)")
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG to write")
    p.add_argument("--temperature", type=float, default=None, help="shown in the title (default: read the model)")
    args = p.parse_args(argv)
    clean = json.loads(args.results.read_text(encoding="utf-8"))["G1"]["none"]
    if "calibration_uncalibrated" not in clean:
        raise SystemExit("the results hold no uncalibrated figures: was the gender model calibrated?")
    temperature = args.temperature
    if temperature is None:
        from training.checkpoint import load_checkpoint

        results = json.loads(args.results.read_text(encoding="utf-8"))
        temperature = float(load_checkpoint(results["gender_checkpoint"]).get("temperature") or 1.0)
    print(draw(clean["calibration_uncalibrated"], clean["calibration"], temperature, args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
