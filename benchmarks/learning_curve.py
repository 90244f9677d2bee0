"""The matcher campaign's learning curve: validation AUC and V1 clean figures against images seen and hours.

    python -m benchmarks.learning_curve ../shared/data .devdata/runs/s1 .devdata/runs/s2 --json curve.json

For every snapshot (`--snapshot-every`) and the best checkpoint of each run folder, in order: the
training images seen and the training hours on this machine up to that epoch (summed over the runs
before it), the run's own validation AUC, and V1 on clean probes (1,566 pairs: accuracy at the
snapshot's stored threshold, ROC AUC, TAR at FAR 1 %). The V1 photos are face-cropped once per framing
(stages may differ: s1 and s2 Haar boxes, s3 on eye-aligned BlazeFace crops), each snapshot's own, and
embedded by each snapshot with the mirror view.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from training.checkpoint import load_checkpoint
from training.framing import as_framing
from training.imaging import ImageLoadError, load_image
from training.inference import FaceMatcher
from training.metrics import verification_metrics

from .protocols import v1_pairs


def snapshots(runs: list[Path]) -> list[tuple[Path, Path]]:
    """(run folder, checkpoint) for every snapshot and best.pt of `runs`, runs in the order given."""
    out = []
    for run in runs:
        found = sorted((run / "snapshots").glob("epoch_*.pt"))
        out += [(run, path) for path in found]
        if (run / "best.pt").is_file():
            out.append((run, run / "best.pt"))
    return out


def _history(run: Path) -> list[dict]:
    """The run's epochs so far (last.pt has them all; best.pt those up to the best)."""
    for name in ("last.pt", "best.pt"):
        if (run / name).is_file():
            return list(load_checkpoint(run / name, task="matcher").get("history", []))
    return []


def v1_crops(data: Path, framing: dict) -> tuple[list, list, np.ndarray]:
    """Face crops of every V1 reference and clean probe at `framing`, and the pairs' labels."""
    pairs = v1_pairs(data)
    framing = as_framing(framing)
    cache: dict[str, object] = {}

    def crop(path: str):
        if path not in cache:
            try:
                cache[path] = framing.find_and_crop(load_image(path)).image
            except ImageLoadError:
                cache[path] = None
        return cache[path]

    kept = [p for p in pairs if crop(p.reference) is not None and crop(p.probe) is not None]
    return [crop(p.reference) for p in kept], [crop(p.probe) for p in kept], np.array([p.same for p in kept])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (benchmarks/, lfw_deepfunneled/)")
    p.add_argument("runs", type=Path, nargs="+", help="run folders of the campaign's stages, in order")
    p.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    points = snapshots(args.runs)
    if not points:
        raise SystemExit("no snapshot or best.pt in those run folders")
    offsets, histories, images, seconds = {}, {}, 0, 0.0
    for run in args.runs:  # what the stages before each run cost
        offsets[run] = (images, seconds)
        full = histories[run] = _history(run)
        images += sum(int(h.get("train_samples", 0)) for h in full)
        seconds += sum(float(h.get("epoch_seconds", 0)) for h in full)
    crops: dict[str, tuple] = {}  # V1 crops per framing: the stages may find and crop faces differently
    rows = []
    for run, path in points:
        matcher = FaceMatcher.load(path)
        ckpt = matcher.meta  # the checkpoint but its weights
        epoch = int(ckpt.get("epoch", 0))
        upto = [h for h in histories[run] if int(h["epoch"]) <= epoch]
        framing = as_framing(ckpt.get("framing")).to_dict()
        key = json.dumps(framing, sort_keys=True)
        if key not in crops:
            crops[key] = v1_crops(args.data, framing)
        refs, probes, labels = crops[key]
        scores = matcher.score_embeddings(matcher.embed(refs, 64), matcher.embed(probes, 64))
        m = verification_metrics(labels, scores, matcher.threshold)
        rows.append({"run": run.name, "checkpoint": path.name, "epoch": epoch,
                     "images_seen": offsets[run][0] + sum(int(h.get("train_samples", 0)) for h in upto),
                     "hours": (offsets[run][1] + sum(float(h.get("epoch_seconds", 0)) for h in upto)) / 3600,
                     "val_auc": float(ckpt.get("metrics", {}).get("val_auc", float("nan"))),
                     "v1_clean_accuracy": m["accuracy"], "v1_clean_auc": m["roc_auc"],
                     "v1_clean_tar_at_far_1pct": m["tar_at_far_1pct"], "threshold": matcher.threshold})
    print(f"{'run':<8} {'checkpoint':<15} {'epoch':>5} {'images':>10} {'hours':>6} {'val AUC':>8} "
          f"{'V1 acc':>7} {'V1 AUC':>7} {'TAR@1%':>7}")
    for r in rows:
        print(f"{r['run']:<8} {r['checkpoint']:<15} {r['epoch']:5d} {r['images_seen']:10,d} {r['hours']:6.2f} "
              f"{r['val_auc']:8.4f} {100 * r['v1_clean_accuracy']:6.2f}% {r['v1_clean_auc']:7.4f} "
              f"{100 * r['v1_clean_tar_at_far_1pct']:6.1f}%")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
