"""Two checks of a matcher on the clean V1 test pairs (scored once), beyond the protocol's table:

1. **Do the slider's error rates hold?** The Verify slider shows false-match and false-non-match rates
   read from score distributions stored in the checkpoint (validation pairs of training identities).
   Here the same rates are measured on the V1 test pairs (people never seen in training) at several
   thresholds, each with the sampling error of both estimates; "agrees" means the two differ by less
   than 1.96 standard errors of the difference.
2. **Is it as good for women as for men?** Accuracy at the stored threshold by the gender of the pair
   (LFW's manually checked gender list, `lfw_meta/lfw_deepfunneled_labels.csv`): same-person pairs of
   women and of men (how often each is wrongly rejected) and different-person pairs of two women, two
   men, or a woman and a man (how often each is wrongly accepted).

    python -m benchmarks.matcher_checks ../shared/data --json checks.json
    python -m benchmarks.matcher_checks ../shared/data --matcher my_matcher.pt
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np

from training.evaluation import pair_scores
from training.inference import FaceMatcher

from .protocols import v1_pairs

DEFAULT_MATCHER = Path(__file__).resolve().parent.parent / "resources" / "models" / "matcher.pt"
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _standard_error(rate: float, n: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 0.25 / n) / n) if n else float("nan")  # floor: never exactly 0


def rate_agreement(rates, labels: np.ndarray, scores: np.ndarray, thresholds) -> list[dict]:
    """For each threshold: the stored (validation) and measured (test) false-match and false-non-match
    rates, the standard error of their difference, and whether they agree within 1.96 of it."""
    genuine, impostor = scores[labels == 1], scores[labels == 0]
    rows = []
    for t in thresholds:
        row = {"threshold": float(t)}
        for name, stored, measured, n_stored, n_measured in (
                ("far", rates.false_match_rate(t), float(np.mean(impostor >= t)), rates.impostor_pairs, impostor.size),
                ("frr", rates.false_non_match_rate(t), float(np.mean(genuine < t)), rates.genuine_pairs, genuine.size)):
            se = math.hypot(_standard_error(stored, n_stored), _standard_error(measured, n_measured))
            row[name] = {"stored": stored, "measured": measured, "se": se,
                         "agrees": abs(stored - measured) <= 1.96 * se}
        rows.append(row)
    return rows


def genders(data: Path) -> dict[str, str]:
    """{LFW identity: 'female' | 'male'} from the shared gender list."""
    with open(data / "lfw_meta" / "lfw_deepfunneled_labels.csv", newline="", encoding="utf-8") as fh:
        return {row["identity"]: row["gender"] for row in csv.DictReader(fh)}


def pair_group(pair, gender_of: dict[str, str]) -> str:
    """'same: female', 'different: female-male', ... from the identities' folder names."""
    a, b = (gender_of.get(Path(p).parent.name, "unknown") for p in (pair.reference, pair.probe))
    return f"same: {a}" if pair.same else "different: " + "-".join(sorted((a, b)))


def by_pair_gender(pairs, labels: np.ndarray, scores: np.ndarray, threshold: float, gender_of) -> dict:
    """{group: {pairs, accuracy}} at the threshold; accuracy is 1 − FRR for same-person groups and
    1 − FAR for different-person ones."""
    groups = np.array([pair_group(p, gender_of) for p in pairs])
    correct = (scores >= threshold) == (labels == 1)
    return {g: {"pairs": int((groups == g).sum()), "accuracy": float(correct[groups == g].mean())}
            for g in sorted(set(groups.tolist()))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.matcher_checks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (benchmarks/, lfw_deepfunneled/, lfw_meta/)")
    p.add_argument("--matcher", type=Path, default=DEFAULT_MATCHER, help="matcher checkpoint (default: bundled)")
    p.add_argument("--processes", type=int, default=2, help="processes preparing probes")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    matcher = FaceMatcher.load(args.matcher)
    pairs = v1_pairs(args.data)
    labels, scores, skipped = pair_scores(matcher, pairs, processes=args.processes)
    if skipped:
        raise SystemExit(f"{len(skipped)} V1 photos could not be read, e.g. {skipped[0]}")
    out = {"matcher": str(args.matcher), "threshold": matcher.threshold, "pairs": len(pairs)}
    if matcher.error_rates is not None:
        thresholds = sorted({round(matcher.threshold, 3), *THRESHOLDS})
        out["rate_agreement"] = rate_agreement(matcher.error_rates, labels, scores, thresholds)
        print(f"Slider rates (stored: {matcher.error_rates.impostor_pairs:,} impostor / "
              f"{matcher.error_rates.genuine_pairs:,} genuine validation pairs) against V1 clean test pairs "
              f"({int((labels == 0).sum())} / {int((labels == 1).sum())})")
        print(f"{'threshold':>9}  {'FAR stored':>10} {'V1':>7} {'agrees':>6}   {'FRR stored':>10} {'V1':>7} {'agrees':>6}")
        for row in out["rate_agreement"]:
            far, frr = row["far"], row["frr"]
            print(f"{row['threshold']:>9.3f}  {far['stored']:>10.2%} {far['measured']:>7.2%} {str(far['agrees']):>6}"
                  f"   {frr['stored']:>10.2%} {frr['measured']:>7.2%} {str(frr['agrees']):>6}")
    else:
        print("this matcher stores no validation score distributions: no slider rates to check")
    out["by_pair_gender"] = by_pair_gender(pairs, labels, scores, matcher.threshold, genders(args.data))
    print(f"\nAccuracy by the gender of the pair, clean, threshold {matcher.threshold:.3f}")
    for group, row in out["by_pair_gender"].items():
        print(f"{group:<28} {row['pairs']:>5} pairs  {row['accuracy']:.2%}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
