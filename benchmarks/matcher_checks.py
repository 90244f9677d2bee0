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
import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from training.distortions import CONDITIONS
from training.evaluation import pair_scores
from training.inference import FaceMatcher

from .protocols import v1_pairs

DEFAULT_MATCHER = Path(__file__).resolve().parent.parent / "resources" / "models" / "matcher.pt"
THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _standard_error(rate: float, n: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 0.25 / n) / n) if n else float("nan")  # floor: never exactly 0


def rate_agreement(rates, measured: dict) -> list[dict]:
    """For each threshold of `measured` ({threshold: {"far"/"frr": (rate, standard error, pairs)}}): the
    stored (validation) and measured (test) rates, the standard error of their difference, and whether
    they agree within 1.96 of it."""
    rows = []
    for t, found in measured.items():
        row = {"threshold": float(t)}
        for name, stored, n_stored in (("far", rates.false_match_rate(t), rates.impostor_pairs),
                                       ("frr", rates.false_non_match_rate(t), rates.genuine_pairs)):
            rate, se_measured, n = found[name]
            se = math.hypot(_standard_error(stored, n_stored), se_measured)
            row[name] = {"stored": stored, "measured": rate, "se": se, "pairs": n,
                         "agrees": abs(stored - rate) <= 1.96 * se}
        rows.append(row)
    return rows


def mixed_rates(by_condition: dict, thresholds, clean_share: float) -> dict:
    """{threshold: {"far"/"frr": (rate, standard error, pairs)}} over probe conditions mixed as the stored
    distributions mix them: `clean_share` of the probes clean, the rest spread evenly over the distortions.
    `by_condition`: {condition: (labels, scores)}."""
    distorted = [c for c in by_condition if c != "none"]
    if "none" not in by_condition or not distorted:  # one kind of probe only: the conditions share evenly
        weights = {c: 1 / len(by_condition) for c in by_condition}
    else:
        weights = {c: clean_share if c == "none" else (1 - clean_share) / len(distorted) for c in by_condition}
    out = {}
    for t in thresholds:
        row = {}
        for name, label, rejected in (("far", 0, False), ("frr", 1, True)):
            rate = variance = 0.0
            n = 0
            for c, (labels, scores) in by_condition.items():
                chosen = scores[labels == label]
                p = float(np.mean((chosen < t) if rejected else (chosen >= t))) if chosen.size else 0.0
                rate += weights[c] * p
                variance += weights[c] ** 2 * _standard_error(p, chosen.size) ** 2
                n += chosen.size
            row[name] = (rate, math.sqrt(variance), n)
        out[t] = row
    return out


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
    p.add_argument("--mixed", action="store_true",
                   help="also compare with V1 probes mixed over the 8 distortions as the stored pairs mix them")
    p.add_argument("--clean-share", type=float, default=0.2,
                   help="share of clean probes in that mix (the face bank: 1 clean view and 4 distorted copies)")
    p.add_argument("--severity", type=int, default=3, help="severity of the distorted V1 probes")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    matcher = FaceMatcher.load(args.matcher)
    pairs = v1_pairs(args.data)
    conditions = ["none"] + (list(CONDITIONS) if args.mixed else [])
    by_condition, references = {}, {}
    for condition in conditions:
        probes = [dataclasses.replace(p, condition=condition, severity=args.severity if condition != "none" else 0)
                  for p in pairs]
        labels, scores, skipped = pair_scores(matcher, probes, processes=args.processes, ref_cache=references)
        if skipped:
            raise SystemExit(f"{len(skipped)} V1 photos could not be read, e.g. {skipped[0]}")
        by_condition[condition] = (labels, scores)
    labels, scores = by_condition["none"]
    out = {"matcher": str(args.matcher), "threshold": matcher.threshold, "pairs": len(pairs)}
    if matcher.error_rates is not None:
        thresholds = sorted({round(matcher.threshold, 3), *THRESHOLDS})
        checks = {"clean": {"none": by_condition["none"]}}
        if args.mixed:
            checks["mixed"] = by_condition
        for name, chosen in checks.items():
            measured = mixed_rates(chosen, thresholds, args.clean_share)
            out[f"rate_agreement_{name}"] = rate_agreement(matcher.error_rates, measured)
            what = ("clean probes" if name == "clean" else f"probes {args.clean_share:.0%} clean, the rest spread "
                    f"over the 8 distortions at severity {args.severity}")
            print(f"\nSlider rates ({matcher.error_rates.source or 'stored validation pairs'}) against V1 test "
                  f"pairs, {what}")
            print(f"{'threshold':>9}  {'FAR stored':>10} {'V1':>7} {'agrees':>6}   "
                  f"{'FRR stored':>10} {'V1':>7} {'agrees':>6}")
            for row in out[f"rate_agreement_{name}"]:
                far, frr = row["far"], row["frr"]
                print(f"{row['threshold']:>9.3f}  {far['stored']:>10.2%} {far['measured']:>7.2%} "
                      f"{str(far['agrees']):>6}   {frr['stored']:>10.2%} {frr['measured']:>7.2%} "
                      f"{str(frr['agrees']):>6}")
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
