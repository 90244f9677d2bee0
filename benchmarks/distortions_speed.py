"""Time every distortion: milliseconds per image at 250x250 and 1000x1000, printed as a table.

    python benchmarks/distortions_speed.py                  # table only
    python benchmarks/distortions_speed.py --json out.json  # also write the numbers

Images are seeded random noise plus a gradient, so no data path is needed. Each cell is the median
over all severities and `--repeats` seeds (a median, because the first calls pay for OpenCV warm-up).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable from a checkout, not installed

from training.distortions import CONDITIONS, SEVERITIES, apply

SIDES = (250, 1000)


def _test_image(side: int) -> np.ndarray:
    rng = np.random.default_rng(side)
    ramp = np.linspace(0, 200, side, dtype=np.float32)[None, :, None]
    noise = rng.integers(0, 56, (side, side, 3)).astype(np.float32)
    return (ramp + noise).astype(np.uint8)


def time_condition(image: np.ndarray, condition: str, repeats: int) -> float:
    """Median milliseconds of one `apply` call over every severity and `repeats` seeds."""
    times = []
    for severity in SEVERITIES:
        for seed in range(repeats):
            start = time.perf_counter()
            apply(image, condition, severity, seed)
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--repeats", type=int, default=10, help="seeds per severity (default: 10)")
    args = parser.parse_args(argv)

    images = {side: _test_image(side) for side in SIDES}
    results = {c: {str(side): time_condition(images[side], c, args.repeats) for side in SIDES} for c in CONDITIONS}

    header = f"{'condition':<10}" + "".join(f"{f'{s}x{s} ms':>16}" for s in SIDES)
    print(header)
    print("-" * len(header))
    for condition, row in results.items():
        print(f"{condition:<10}" + "".join(f"{row[str(s)]:>16.2f}" for s in SIDES))

    if args.json:
        import cv2

        report = {
            "benchmark": "distortions_speed",
            "unit": "ms per image (median over severities and seeds)",
            "repeats": args.repeats,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "opencv": cv2.__version__, "cpu_threads": cv2.getNumThreads()},
            "results": results,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
