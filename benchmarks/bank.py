"""Build the face bank the matcher's CPU distillation trains from (`training/data/bank.py`).

Every photo of `benchmarks.protocols.distill_photos` (LFW outside the V1 test identities and the G1
validation photos, FACECOM Task A train outside the V1 test identities) is face-cropped as the app
crops it and kept with `--copies` distorted versions. The bank is a copy of the photos: keep it in an
ignored folder (`.devdata/`), never commit it.

    python -m benchmarks.bank ../shared/data .devdata/bank80.npz --size 80 --frame-scale 0.63 --copies 4
    python -m benchmarks.bank ../shared/data .devdata/bank80_aligned.npz --size 80 --frame-scale 0.63 \
        --copies 4 --face-detector blazeface --align

The bank stores its framing; a matcher trained from it records that framing at its own frame scale.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from training.data.bank import build_bank

from .finder_options import add_finder_options, chosen_framing
from .protocols import distill_photos


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/, facecom_taskA/)")
    p.add_argument("out", type=Path, help="output .npz file")
    p.add_argument("--size", type=int, default=80, help="side of the stored crops in pixels (default 80)")
    p.add_argument("--frame-scale", type=float, default=0.63,
                   help="face-box side over crop side (default 0.63: a margin around the 0.7 framing that "
                        "training crops from)")
    p.add_argument("--copies", type=int, default=4, help="distorted copies per photo (default 4)")
    add_finder_options(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the conditions, severities and noise")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--limit", type=int, default=0, help="only the first N photos (0: all), for a trial")
    args = p.parse_args(argv)
    framing = chosen_framing(p, args)
    photos = [(str(path), identity) for path, identity in distill_photos(args.data)]
    if args.limit:
        photos = photos[: args.limit]
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 500 == 0 or done == total:
            print(f"{done}/{total} photos, {time.perf_counter() - start:.0f} s", flush=True)

    bank, skipped = build_bank(photos, args.size, args.frame_scale, args.copies, args.seed, args.processes, progress,
                               framing=framing)
    bank.save(args.out)
    missed = (~bank.found).sum(axis=0)
    print(f"{len(bank)} photos x (1 clean + {bank.copies} distorted) at {bank.size} px in "
          f"{time.perf_counter() - start:.0f} s -> {args.out}; no face found: {missed[0]} clean, "
          f"{missed[1:].sum()} distorted; {len(skipped)} unreadable; framing {bank.framing}")
    for path, reason in skipped:
        print(f"  {path}: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
