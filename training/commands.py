"""The non-training subcommands of the CLI: evaluate, distort, info, export, export-onnx."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tqdm import tqdm

from .atomic import atomic_open
from .checkpoint import checkpoint_summary, load_checkpoint
from .distortions import CONDITIONS
from .distortions import apply as distort_image
from .imaging import load_image
from .metrics import per_class_table


def _write_json(path, payload) -> None:
    if path:
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(payload, indent=2, default=str))


def evaluate(args) -> int:
    from .data import load_gender_sources, make_pairs, read_pairs_csv
    from .evaluation import evaluate_gender, evaluate_pairs
    from .inference import FaceMatcher, GenderClassifier
    from .tasks.matcher import load_identity_sources

    task = load_checkpoint(args.checkpoint)["task"]
    data = Path(args.data)
    if task == "gender":
        model = GenderClassifier.load(args.checkpoint, device=args.device)
        loaded = load_gender_sources([data], csv_root=Path(args.root) if args.root else None)
        items = loaded.test or loaded.train  # ROOT/{train,val}: score val; ROOT/<class>: score all
        with tqdm(total=len(items), desc="images", disable=args.quiet) as bar:
            m = evaluate_gender(model, items, args.batch_size, progress=bar.update)
        print(per_class_table(m["per_class"]))
        calibration = m["calibration"]
        print(f"accuracy {m['accuracy']:.4f}  balanced accuracy {m['balanced_accuracy']:.4f}  "
              f"({m['n_images']} images, {len(m['skipped'])} unreadable)")
        print(f"confidence: expected calibration error {calibration['ece']:.4f} (temperature "
              f"{model.temperature:.3f}); uncertain below {calibration['uncertain_below']:.0%} flags "
              f"{calibration['images_flagged']:.1%} of the images and {calibration['errors_caught']:.1%} of the errors")
        _write_json(args.json, m)
        return 0
    model = FaceMatcher.load(args.checkpoint, device=args.device)
    if data.suffix.lower() == ".csv":
        base = read_pairs_csv(data, args.root)
    else:
        base = make_pairs(load_identity_sources([data]), args.pairs, seed=0, clean_probe_fraction=1.0,
                          same_photo_fraction=0.0)
    conditions = list(CONDITIONS) + ["none"] if args.conditions == "all" else args.conditions.split(",")
    results, references = {}, {}  # reference embeddings do not change with the probe's condition
    print(f"{'condition':<10} {'accuracy':>8} {'AUC':>6} {'TAR@1%':>7}  (threshold {model.threshold:.3f})")
    for condition in conditions:
        pairs = [dataclasses.replace(p, condition=condition, severity=args.severity if condition != "none" else 0,
                                     probe_is_distorted=False) for p in base]
        with tqdm(total=len(pairs), desc=condition, disable=args.quiet, leave=False) as bar:
            m = evaluate_pairs(model, pairs, batch_size=args.batch_size, progress=bar.update, ref_cache=references)
        results[condition] = m
        print(f"{condition:<10} {m['accuracy']:>8.4f} {m['roc_auc']:>6.3f} {m['tar_at_far_1pct']:>7.3f}")
    _write_json(args.json, results)
    return 0


def distort(args) -> int:
    image = load_image(args.image)
    out = Path(args.output)
    if args.condition == "all":
        out.mkdir(parents=True, exist_ok=True)
        for condition in CONDITIONS:
            target = out / f"{Path(args.image).stem}_{condition}_s{args.severity}.png"
            distort_image(image, condition, args.severity, args.seed).save(target)
            print(target)
    else:
        distort_image(image, args.condition, args.severity, args.seed).save(out)
        print(out)
    return 0


def info(args) -> int:
    print(json.dumps(checkpoint_summary(load_checkpoint(args.checkpoint)), indent=2, default=str))
    return 0


def export(args) -> int:
    """A compact copy for shipping: weights (fp16 with --half) and metadata, no optimizer state."""
    from .checkpoint import RESUME_KEYS, save_checkpoint

    ckpt = load_checkpoint(args.checkpoint)
    drop = {*RESUME_KEYS, "format", "format_version", "versions"}
    out = {k: v for k, v in ckpt.items() if k not in drop}
    if args.half:
        out["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in out["state_dict"].items()}
        out["half"] = True
    note = ""
    if args.false_match_rate is not None:
        out["threshold"], out["threshold_rule"] = threshold_at_false_match_rate(ckpt, args.false_match_rate)
        note = f"; threshold {out['threshold']:.4f} (was {ckpt['threshold']:.4f})"
    save_checkpoint(args.output, out)
    size = Path(args.output).stat().st_size / 2**20
    print(f"wrote {args.output} ({size:.1f} MiB{', fp16' if args.half else ''}{note})")
    return 0


def threshold_at_false_match_rate(ckpt: dict, rate: float) -> tuple[float, dict]:
    """(threshold, the rule that chose it) where a matcher's stored validation score distributions accept `rate`
    of strangers."""
    from .error_rates import ScoreHistograms

    rates = ScoreHistograms.from_dict(ckpt.get("score_histograms"))
    if rates is None or not 0 < rate < 1:
        raise SystemExit("--false-match-rate needs a matcher with stored score distributions "
                         "(benchmarks.score_rates) and a rate between 0 and 1")
    threshold = rates.threshold_for_false_match_rate(rate)
    earlier = ckpt.get("threshold_rule") or {}  # re-set before: training's own pick is kept there
    return threshold, {"false_match_rate": rates.false_match_rate(threshold),
                       "false_non_match_rate": rates.false_non_match_rate(threshold),
                       "most_accurate_on_validation_pairs": float(earlier.get("most_accurate_on_validation_pairs",
                                                                              ckpt["threshold"]))}


def export_onnx(args) -> int:
    """The checkpoint as one self-contained .onnx file (`training.onnx_export`), checked on ONNX Runtime
    against torch when onnxruntime is installed."""
    from .onnx_export import export_onnx as write_onnx
    from .onnx_export import require_onnx, runtime_difference

    require_onnx()  # before loading anything: the one-line install hint, not a traceback
    path = write_onnx(args.checkpoint, args.output)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    difference = runtime_difference(args.checkpoint, path)
    if difference is None:
        print("install onnxruntime to check the export against torch")
    else:
        print(f"ONNX Runtime matches torch within {difference:.1e} on 3 random inputs")
    return 0
