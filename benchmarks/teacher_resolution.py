"""How many pixels the matcher needs: the teacher's V1 ranking when each photo keeps only as many pixels as
the student's input gives its face (issue 17).

The student sees a 64 px crop of a frame 1/0.7 of LFW's face box (about 154 px of a deep-funnelled photo),
so a photo reaches it shrunk to about 0.42 of its size. Here each V1 photo is shrunk by SCALE and enlarged
back (bicubic) and dlib, the teacher, embeds it in the box it found on the original, so only the pixels
change. If the teacher ranks the pairs as well from the shrunk photos, a larger input is not what the
student lacks.

    python -m benchmarks.teacher_resolution ../shared/data --json resolution.json
    python -m benchmarks.teacher_resolution ../shared/data --pairs 400 --scales 1,0.42

Clean pairs only (the probes are not distorted: the question is the pixels, not the conditions). Needs the
teacher (`pip install -e ".[teacher]"`).
"""
from __future__ import annotations

import argparse
import json
import time
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from training.imaging import load_image
from training.metrics import eer, roc_auc, tar_at_far

from . import markdown, teacher
from .protocols import v1_pairs

FRAME_PX = 154  # the student's frame in a deep-funnelled photo: LFW's 108 px face box / 0.7
STUDENT_SCALE = 64 / FRAME_PX


def shrink(image: Image.Image, scale: float) -> Image.Image:
    """The photo with only `scale` of its pixels per side: shrunk, then enlarged back to its size."""
    if scale >= 1:
        return image
    w, h = image.size
    small = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BICUBIC)
    return small.resize((w, h), Image.BICUBIC)


def descriptors(path: str, scales: tuple[float, ...]) -> list[np.ndarray]:
    """The teacher's unit descriptor of the photo at each scale, all in the box found on the original."""
    image = load_image(path)
    box, _ = teacher.face_box(np.asarray(image))
    return [teacher.descriptor(np.ascontiguousarray(np.asarray(shrink(image, s))), box) for s in scales]


def summarise(labels: np.ndarray, scores: dict[float, np.ndarray]) -> list[dict]:
    """One row per scale: the face frame's pixels and the ranking figures of its pair scores."""
    rows = []
    for scale, s in scores.items():
        rate, _ = eer(labels, s)
        rows.append({"scale": scale, "frame_px": round(FRAME_PX * scale), "roc_auc": roc_auc(labels, s),
                     "tar_at_far_1pct": tar_at_far(labels, s, 0.01), "eer": rate})
    return rows


def sample(pairs: list, count: int, seed: int) -> list:
    """`count` pairs, half of each kind (all of them when count is 0 or more than there are)."""
    if not count or count >= len(pairs):
        return pairs
    rng = np.random.default_rng(seed)
    picked = []
    for same in (1, 0):
        kind = [p for p in pairs if p.same == same]
        picked += [kind[i] for i in np.sort(rng.choice(len(kind), min(len(kind), count // 2), replace=False))]
    return picked


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/ and benchmarks/)")
    p.add_argument("--scales", default=f"1,0.73,0.62,0.52,{STUDENT_SCALE:.3f},0.3",
                   help="comma-separated shares of each side kept (default: 1, then 112, 96, 80, 64 and 46 px "
                        "frames)")
    p.add_argument("--pairs", type=int, default=0, help="V1 pairs to use, half of each kind (default 0: all 1,566)")
    p.add_argument("--seed", type=int, default=0, help="seed of the pair sample (default 0)")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--json", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    scales = tuple(float(s) for s in args.scales.split(","))
    pairs = sample(v1_pairs(args.data), args.pairs, args.seed)
    paths = sorted({p.reference for p in pairs} | {p.probe for p in pairs})
    start = time.perf_counter()
    with Pool(args.processes, initializer=teacher.init_models) as pool:
        vectors = dict(zip(paths, pool.imap(partial(descriptors, scales=scales), paths, chunksize=8)))
    labels = np.array([p.same for p in pairs])
    scores = {s: np.array([float(vectors[p.reference][i] @ vectors[p.probe][i]) for p in pairs])
              for i, s in enumerate(scales)}
    rows = summarise(labels, scores)
    print(f"teacher (dlib) on {len(pairs)} clean V1 pairs ({len(paths)} photos, {time.perf_counter() - start:.0f} s); "
          f"the student's 64 px input keeps {STUDENT_SCALE:.3f}")
    print(markdown.table(["share of each side", "face frame (px)", *markdown.RANKING_HEADERS],
                         [[f"{r['scale']:.3f}", r["frame_px"], *markdown.ranking_cells(r)] for r in rows]))
    if args.json:
        args.json.write_text(json.dumps({"pairs": len(pairs), "photos": len(paths), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
