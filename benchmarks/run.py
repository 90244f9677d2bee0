"""Benchmark checkpoints on the fixed protocols G1, V1 and V1-same-photo, and time inference.

    python -m benchmarks.run ../shared/data --json results.json
    python -m benchmarks.run ../shared/data --gender my_gender.pt --protocols g1
    python -m benchmarks.run ../shared/data --protocols g1,v1 --conditions none --framing blazeface

Prints one table per protocol (every condition at one severity) and writes all figures as JSON.
Images go through the app's pipeline: the probe is degraded first, then the face is found and
cropped with the checkpoint's framing (whole image when no face is found), then the model runs.
--framing swaps the finder at the checkpoint's own frame scale (`training.framing`), to see what the
finder alone changes for a model trained on other crops.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from training.distortions import CONDITIONS
from training.distortions import apply as distort
from training.evaluation import evaluate_gender, evaluate_pairs
from training.framing import NAMES as FRAMING_NAMES
from training.framing import Framing, as_framing
from training.inference import FaceMatcher, GenderClassifier

from .protocols import g1_val, v1_pairs
from .stress import STRESS

DEFAULTS = Path(__file__).resolve().parent.parent / "resources" / "models"
ALL_CONDITIONS = ("none",) + CONDITIONS


FRAMINGS = ("checkpoint", *FRAMING_NAMES)


def framing_override(model, mode: str) -> None:
    """Replace a loaded model's framing by `mode` at its own frame scale ("checkpoint": keep it)."""
    if model is None or mode == "checkpoint":
        return
    scale = as_framing(model.framing).frame_scale
    model.framing = Framing.named(mode, scale).to_dict()


def seeded_distorter(condition: str, severity: int):
    """A seeded per-image distortion: the n-th image of the protocol list gets seed n."""
    if condition == "none":
        return None
    counter = iter(range(10**9))
    if condition in STRESS:
        return lambda image: STRESS[condition](image, seed=next(counter))
    return lambda image: distort(image, condition, severity, seed=next(counter))


def run_g1(model: GenderClassifier, data: Path, conditions, severity: int, quiet: bool) -> dict:
    items = g1_val(data)
    out = {}
    for condition in conditions:
        with tqdm(total=len(items), desc=f"G1 {condition}", disable=quiet, leave=False) as bar:
            m = evaluate_gender(model, items, transform=seeded_distorter(condition, severity), progress=bar.update)
        recall = {name: s["recall"] for name, s in m["per_class"].items()}
        out[condition] = {"accuracy": m["accuracy"], "balanced_accuracy": m["balanced_accuracy"],
                          "recall": recall, "per_class": m["per_class"], "confusion_matrix": m["confusion_matrix"],
                          "n_images": m["n_images"], "calibration": m["calibration"]}
    if "none" in out and model.temperature != 1.0:  # the same images with the raw (uncalibrated) confidences
        calibrated, model.temperature = model.temperature, 1.0
        try:
            out["none"]["calibration_uncalibrated"] = evaluate_gender(model, items)["calibration"]
        finally:
            model.temperature = calibrated
    return out


def run_v1(model: FaceMatcher, data: Path, conditions, severity: int, same_photo: bool, quiet: bool,
           processes: int) -> dict:
    base = v1_pairs(data, same_photo=same_photo)
    out, references = {}, {}  # reference embeddings are the same under every probe condition
    for condition in conditions:
        look = STRESS.get(condition)  # a stress look changes the clean probe; a protocol condition distorts it
        distortion = "none" if look else condition
        pairs = [dataclasses.replace(p, condition=distortion, severity=severity if distortion != "none" else 0)
                 for p in base]
        name = "V1-same-photo" if same_photo else "V1"
        with tqdm(total=len(pairs), desc=f"{name} {condition}", disable=quiet, leave=False) as bar:
            m = evaluate_pairs(model, pairs, progress=bar.update, processes=processes, ref_cache=references,
                               probe_look=look)
        out[condition] = {k: m[k] for k in ("accuracy", "roc_auc", "tar_at_far_1pct", "eer", "threshold",
                                            "tar", "far", "n_pairs")}
    return out


def time_model(fn, images, batch: int, repeats: int = 3) -> float:
    """Images per second of `fn(list_of_images)` at a batch size (best of `repeats` passes)."""
    best = float("inf")
    chunk = (images * (batch // len(images) + 1))[:batch]
    fn(chunk)  # warm-up
    n = max(1, 64 // batch)
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(chunk)
        best = min(best, (time.perf_counter() - t0) / (n * batch))
    return 1.0 / best


def run_speed(gender, matcher, size: int) -> dict:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(8)]
    out = {"torch_threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine()}
    for name, fn in (("gender", gender and (lambda x: gender.predict(x, batch_size=len(x)))),
                     ("matcher", matcher and (lambda x: matcher.embed(x, batch_size=len(x))))):
        if fn:
            out[name] = {f"batch_{b}": time_model(fn, images, b) for b in (1, 32)}
    return out


def print_tables(results: dict) -> None:
    if "G1" in results:
        print("\nG1 gender (FACECOM val, 317 male / 105 female)")
        print(f"{'condition':<10} {'accuracy':>8} {'bal.acc':>8} {'female R':>9} {'male R':>7} {'ECE':>6} "
              f"{'flagged':>7} {'caught':>6}")
        for c, m in results["G1"].items():
            r, cal = m["recall"], m.get("calibration") or {}
            print(f"{c:<10} {m['accuracy']:>8.4f} {m['balanced_accuracy']:>8.4f} {r.get('female', float('nan')):>9.4f}"
                  f" {r.get('male', float('nan')):>7.4f} {cal.get('ece', float('nan')):>6.4f}"
                  f" {cal.get('images_flagged', float('nan')):>7.1%} {cal.get('errors_caught', float('nan')):>6.1%}")
        raw = results["G1"].get("none", {}).get("calibration_uncalibrated")
        if raw:
            print(f"clean, uncalibrated confidences (temperature 1): ECE {raw['ece']:.4f}")
    for name in ("V1", "V1-same-photo"):
        if name in results:
            rows = results[name]
            thr = next(iter(rows.values()))["threshold"]
            print(f"\n{name} verification (1,566 pairs; threshold {thr:.3f} stored in the checkpoint)")
            print(f"{'condition':<10} {'accuracy':>8} {'ROC AUC':>8} {'TAR@1%':>7}")
            for c, m in rows.items():
                print(f"{c:<10} {m['accuracy']:>8.4f} {m['roc_auc']:>8.4f} {m['tar_at_far_1pct']:>7.4f}")
            distorted = [m["accuracy"] for c, m in rows.items() if c != "none" and c not in STRESS]
            if distorted:
                print(f"{'mean of distorted':<18} {np.mean(distorted):.4f}  (the protocol's conditions only)")
    if "speed" in results:
        s = results["speed"]
        print(f"\ninference speed, images/s on {s['torch_threads']} CPU threads (preprocessing included)")
        for name in ("gender", "matcher"):
            if name in s:
                print(f"{name:<8} batch 1: {s[name]['batch_1']:7.1f}   batch 32: {s[name]['batch_32']:7.1f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path,
                   help="the shared data folder (holds benchmarks/, facecom_taskA/, lfw_deepfunneled/)")
    p.add_argument("--gender", type=Path, default=DEFAULTS / "gender.pt", help="gender checkpoint (default: bundled)")
    p.add_argument("--matcher", type=Path, default=DEFAULTS / "matcher.pt",
                   help="matcher checkpoint (default: bundled)")
    p.add_argument("--protocols", default="g1,v1,v1same,speed", help="comma-separated: g1, v1, v1same, speed")
    p.add_argument("--conditions", default="all", help="comma-separated conditions or 'all' (none + the 8)")
    p.add_argument("--stress", action="store_true",
                   help=f"also run G1 and V1 on {' and '.join(STRESS)} photos (V1: the probe only). "
                        "Beyond the protocol: looks a model should shrug off; "
                        "a collapse of one class's recall there is a learned shortcut")
    p.add_argument("--severity", type=int, default=3, help="distortion severity 1-5 (3: typical CCTV/phone)")
    p.add_argument("--processes", type=int, default=2, help="processes preparing distorted probes")
    p.add_argument("--framing", choices=FRAMINGS, default="checkpoint",
                   help="crop with the checkpoint's framing (default) or with this finder at the checkpoint's "
                        "frame scale: haar, blazeface (box), blazeface-aligned (eyes)")
    p.add_argument("--json", type=Path, default=None, help="write every figure to this JSON file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    protocols = set(args.protocols.split(","))
    conditions = ALL_CONDITIONS if args.conditions == "all" else tuple(args.conditions.split(","))
    gender = GenderClassifier.load(args.gender) if protocols & {"g1", "speed"} else None
    matcher = FaceMatcher.load(args.matcher) if protocols & {"v1", "v1same", "speed"} else None
    framing_override(gender, args.framing)
    framing_override(matcher, args.framing)
    results: dict = {"severity": args.severity, "gender_checkpoint": str(args.gender),
                     "matcher_checkpoint": str(args.matcher), "torch": torch.__version__,
                     "framing": {name: model.framing for name, model in (("gender", gender), ("matcher", matcher))
                                 if model is not None}}
    stressed = conditions + (tuple(STRESS) if args.stress else ())  # G1 and V1; V1-same-photo keeps the protocol's
    t0 = time.perf_counter()
    if "g1" in protocols:
        results["G1"] = run_g1(gender, args.data, stressed, args.severity, args.quiet)
    if "v1" in protocols:
        results["V1"] = run_v1(matcher, args.data, stressed, args.severity, False, args.quiet, args.processes)
    if "v1same" in protocols:
        results["V1-same-photo"] = run_v1(matcher, args.data, conditions, args.severity, True, args.quiet,
                                          args.processes)
    if "speed" in protocols:
        results["speed"] = run_speed(gender, matcher, 250)
    results["seconds"] = time.perf_counter() - t0
    print_tables(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
