"""1:N identification on the V1 test identities (beyond the protocol): what the app's gallery search can do.

    python -m benchmarks.identify ../shared/data --json identify.json
    python -m benchmarks.identify ../shared/data --matcher my_matcher.pt --conditions none,blurred
    python -m benchmarks.identify ../shared/data --all-photos

Gallery: the first photo (by name) of each of the 359 V1 test identities, none seen in training.
Probes: each identity's second photo, distorted per condition (seed = its row), cropped like the app.
Each probe is ranked against galleries of several sizes (its own identity plus random strangers), as
the Gallery tab ranks identity folders, at the matcher's stored (1:1) threshold:
- rank 1 / rank 5: its own identity is first / among the first five;
- rank 1 / rank 5 expected: the same averaged exactly over every draw of strangers (one draw's figure moves
  by about a point from draw to draw at 100 identities, more than a campaign stage gains);
- match right / wrong: the tab says MATCH (exactly one identity reaches the threshold) for its own
  identity / for a stranger;
- open-set false match: a probe whose person is not in the gallery gets a MATCH;
- strangers above: identities other than its own at or above the threshold, per probe;
- *_sized: the same at the threshold the Gallery tab uses for that gallery size (false-match rate / N
  from the matcher's stored impostor scores; equal to the 1:1 threshold without them).
With --all-photos, each identity keeps all its photos but the probe (1 to 235 of them), and identities
are scored both by their best photo and by their template (`FaceMatcher.template`, the app's rule).
"""
from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path

import numpy as np

from training.data import read_identity_list
from training.distortions import CONDITIONS
from training.error_rates import gallery_threshold
from training.evaluation import model_cropper
from training.imaging import load_image
from training.inference import FaceMatcher

from .run import seeded_distorter

DEFAULT_MATCHER = Path(__file__).resolve().parent.parent / "resources" / "models" / "matcher.pt"


def v1_test_identities(data: Path) -> list[tuple[str, list[Path]]]:
    """(name, photos sorted by name) of each V1 test identity with two or more photos; the second is its probe."""
    lfw = data / "lfw_deepfunneled"
    named = ((name, sorted((lfw / name).glob("*.jpg")))
             for name in sorted(read_identity_list(data / "benchmarks" / "verify_test_identities.txt")))
    return [(name, photos) for name, photos in named if len(photos) >= 2]


def gallery_and_probes(data: Path) -> tuple[list[str], list[Path], list[Path]]:
    """(identities, gallery photos, probe photos): the first and second photo of each identity with two or more."""
    identities = v1_test_identities(data)
    return [n for n, _ in identities], [p[0] for _, p in identities], [p[1] for _, p in identities]


def embed(matcher: FaceMatcher, paths: list[Path], condition: str = "none", severity: int = 3) -> np.ndarray:
    crop = model_cropper(matcher) or (lambda image: image)
    look = seeded_distorter(condition, severity) or (lambda image: image)  # the n-th photo gets seed n
    return matcher.embed([crop(look(load_image(path))) for path in paths])


def rank_metrics(own: np.ndarray, strangers: np.ndarray, threshold: float) -> dict:
    """own[i]: probe i's score with its own identity; strangers[i]: its scores with the other gallery identities.

    The Gallery tab says MATCH only when exactly one identity reaches the threshold (and it is then the
    best); with several above it, the best is a "best candidate" and no one is matched.
    """
    rank = (strangers > own[:, None]).sum(1)  # identities above its own (ties favour the probe)
    above = (strangers >= threshold).sum(1)
    own_above = own >= threshold
    return {
        "gallery": strangers.shape[1] + 1,
        "rank1": float((rank == 0).mean()),
        "rank5": float((rank < 5).mean()),
        "match_right": float((own_above & (above == 0)).mean()),
        "match_wrong": float((~own_above & (above == 1)).mean()),
        "strangers_above_mean": float(above.mean()),
    }


def expected_rank_share(own: np.ndarray, scores: np.ndarray, size: int, within: int) -> float:
    """Share of probes whose own identity ranks within the first `within` of a gallery of `size` (its own identity
    plus size - 1 strangers drawn uniformly without replacement), averaged exactly over every draw.

    own[i]: probe i's score with its own identity; scores[i]: its scores with every identity, its own included.
    With k of the m strangers above its own score, a draw of d holds x of them with the hypergeometric
    probability C(k, x) C(m - k, d - x) / C(m, d); the probe ranks within `within` when x < within.
    """
    m = scores.shape[1] - 1
    d = min(size, m + 1) - 1
    above = (scores > own[:, None]).sum(1)  # its own score is not above itself; ties favour the probe
    draws = comb(m, d)
    def share(k: int) -> float:
        return sum(comb(k, x) * comb(m - k, d - x) for x in range(min(within, d + 1))) / draws

    return float(np.mean([share(int(k)) for k in above]))


def open_set_false_match(strangers: np.ndarray, threshold: float) -> float:
    """Share of probes whose person is not in the gallery (rows: scores with strangers only) that get a MATCH."""
    return float(((strangers >= threshold).sum(1) == 1).mean())


def run(matcher: FaceMatcher, data: Path, conditions, sizes, severity: int = 3, seed: int = 0) -> dict:
    """{condition: {gallery size: metrics}}; a smaller gallery is the probe's own identity plus strangers
    drawn at random (seeded) for each probe."""
    names, gallery, probes = gallery_and_probes(data)
    if len(names) < 2:
        raise SystemExit(f"fewer than two V1 test identities with two photos under {data}")
    gallery_emb = embed(matcher, gallery)
    picks = _stranger_picks(len(names), sizes, seed)
    out = {}
    for condition in conditions:
        probe_emb = embed(matcher, probes, condition, severity)
        scores = np.stack([matcher.score_embeddings(p, gallery_emb) for p in probe_emb])
        out[condition] = _by_size(scores, picks, matcher.threshold, matcher.error_rates)
    return out


def run_all_photos(matcher: FaceMatcher, data: Path, conditions, sizes, severity: int = 3, seed: int = 0,
                   largest: int = 10) -> dict:
    """Galleries of every photo of each identity but its probe (the second photo): each identity scored by
    its best single photo ("best_photo") or by its template ("template", what the app does).
    {condition: {rule: {"sizes": {gallery size: metrics}, "wrong_first_largest": share}}}, the share being
    that of wrong first answers in the full gallery that name one of the `largest` identities with the
    most photos."""
    identities = v1_test_identities(data)
    probes = [own[1] for _, own in identities]
    photos = [photo for _, own in identities for photo in own[:1] + own[2:]]
    owner = np.repeat(np.arange(len(identities)), [len(own) - 1 for _, own in identities])
    n = len(identities)
    if n < 2:
        raise SystemExit(f"fewer than two V1 test identities with two photos under {data}")
    photo_emb = embed(matcher, photos)
    templates = np.stack([matcher.template(photo_emb[owner == k]) for k in range(n)])
    picks = _stranger_picks(n, sizes, seed)
    big = set(np.argsort(-np.bincount(owner, minlength=n), kind="stable")[:largest].tolist())
    out = {}
    for condition in conditions:
        probe_emb = embed(matcher, probes, condition, severity)
        singles = np.stack([matcher.score_embeddings(p, photo_emb) for p in probe_emb])  # probes x photos
        rules = {"best_photo": np.stack([singles[:, owner == k].max(1) for k in range(n)], 1),
                 "template": np.stack([matcher.score_embeddings(p, templates) for p in probe_emb])}
        out[condition] = {}
        for rule, scores in rules.items():
            wrong = [int(k) for i, k in enumerate(scores.argmax(1)) if k != i]
            out[condition][rule] = {"sizes": _by_size(scores, picks, matcher.threshold, matcher.error_rates),
                                    "wrong_first_largest": float(np.mean([k in big for k in wrong])) if wrong else 0.0}
    return {"identities": n, "photos": len(photos), "largest": largest, "results": out}


def _stranger_picks(n: int, sizes, seed: int) -> dict:
    """{size: (n, size) random strangers per probe (seeded)}: identity indices other than the probe's own."""
    rng = np.random.default_rng(seed)
    others = np.array([[j for j in range(n) if j != i] for i in range(n)])  # (n, n-1)
    return {size: np.stack([rng.permutation(row)[:size] for row in others]) for size in sizes}


def _by_size(scores: np.ndarray, picks: dict, threshold: float, rates=None) -> dict:
    """{gallery size: metrics} from probes x identities scores (identity i is probe i's own), at the 1:1
    threshold and, as `*_sized`, at the threshold the Gallery tab uses for that size (`gallery_threshold`,
    from the matcher's stored impostor scores)."""
    n = len(scores)
    own = scores[np.arange(n), np.arange(n)]
    rows = {}
    for size, pick in picks.items():
        strangers = np.take_along_axis(scores, pick, axis=1)  # up to n-1 strangers per probe
        row = rank_metrics(own, strangers[:, :size - 1], threshold)
        row["rank1_expected"] = expected_rank_share(own, scores, size, 1)
        row["rank5_expected"] = expected_rank_share(own, scores, size, 5)
        row["open_set_false_match"] = open_set_false_match(strangers[:, :size], threshold)
        sized = gallery_threshold(rates, threshold, min(size, n))
        at_size = rank_metrics(own, strangers[:, :size - 1], sized)
        row.update(sized_threshold=sized, match_right_sized=at_size["match_right"],
                   match_wrong_sized=at_size["match_wrong"],
                   open_set_false_match_sized=open_set_false_match(strangers[:, :size], sized))
        rows[min(size, n)] = row
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.identify", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (lfw_deepfunneled/, benchmarks/)")
    parser.add_argument("--matcher", type=Path, default=DEFAULT_MATCHER, help="matcher checkpoint (default: bundled)")
    parser.add_argument("--conditions", default="none," + ",".join(CONDITIONS),
                        help="comma-separated probe conditions (default: none and all 8 distortions)")
    parser.add_argument("--sizes", default="2,5,20,100,359",
                        help="gallery sizes, each the probe's identity plus random strangers (default 2,5,20,100,359)")
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--all-photos", action="store_true",
                        help="galleries of every photo of each identity but the probe: identities scored by "
                             "their best photo and by their template, side by side")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    matcher = FaceMatcher.load(args.matcher)
    sizes = sorted({max(2, int(s)) for s in args.sizes.split(",") if s.strip()})
    columns = ("rank1", "rank5", "rank1_expected", "rank5_expected", "match_right", "match_wrong",
               "open_set_false_match", "strangers_above_mean", "sized_threshold",
               "match_right_sized", "match_wrong_sized", "open_set_false_match_sized")
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    if args.all_photos:
        found = run_all_photos(matcher, args.data, conditions, sizes, args.severity)
        print(f"1:N on V1 test identities with all their photos ({found['photos']:,} photos of "
              f"{found['identities']} identities; probe: the second photo), threshold {matcher.threshold:.3f}")
        print(f"{'condition':<10} {'rule':<10} {'gallery':>7} " + " ".join(f"{c:>20}" for c in columns))
        for condition, rules in found["results"].items():
            for rule, result in rules.items():
                for size, row in result["sizes"].items():
                    print(f"{condition:<10} {rule:<10} {size:>7} " + " ".join(f"{row[c]:>20.3f}" for c in columns))
        for condition, rules in found["results"].items():
            shares = ", ".join(f"{rule} {100 * r['wrong_first_largest']:.0f} %" for rule, r in rules.items())
            print(f"{condition}: wrong first answers (full gallery) naming one of the {found['largest']} identities "
                  f"with the most photos: {shares}")
        if args.json:
            args.json.write_text(json.dumps({"matcher": str(args.matcher), "threshold": matcher.threshold,
                                             "severity": args.severity, "all_photos": found}, indent=1))
        return 0
    results = run(matcher, args.data, conditions, sizes, args.severity)
    print(f"1:N on V1 test identities (probe: the second photo), threshold {matcher.threshold:.3f}")
    print(f"{'condition':<10} {'gallery':>7} " + " ".join(f"{c:>20}" for c in columns))
    for condition, rows in results.items():
        for size, row in rows.items():
            print(f"{condition:<10} {size:>7} " + " ".join(f"{row[c]:>20.3f}" for c in columns))
    if args.json:
        args.json.write_text(json.dumps({"matcher": str(args.matcher), "threshold": matcher.threshold,
                                         "severity": args.severity, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
