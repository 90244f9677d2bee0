"""`faceapp-verify A B` and `faceapp-verify --gallery DIR PROBE`: the Verify page's decisions, for scripts.

A pair prints its match score and MATCH / NO MATCH / UNCERTAIN at the matcher's threshold (or
--threshold) with the uncertain margin around it; a gallery prints its best identities and the decision
at the threshold for the gallery's size (`training.error_rates.gallery_threshold`), as the Gallery view
does. Scoring is `faceapp.core.verify`'s, the app's own. --json prints one JSON object instead.

Exit status: 0 a decision was printed, 1 a photo could not be read (a gallery's unreadable photos are
listed; the others still count), 2 bad arguments or model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faceapp.cli.common import INTERRUPTED, OK, SOME_FAILED, USAGE, CommandError, add_model_options, load_model, say

PROG = "faceapp-verify"


class UnreadablePhotoError(Exception):
    """A photo given on the command line that cannot be read: exit status 1."""


def build_parser() -> argparse.ArgumentParser:
    from faceapp.core.verify import DEFAULT_MARGIN

    parser = argparse.ArgumentParser(
        prog=PROG, description="Compare two face photos (A B), or find a probe in a gallery (--gallery DIR PROBE). "
                               "Exit status: 0 decided, 1 a photo could not be read, 2 bad arguments or model.")
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="A B, or with --gallery the probe")
    parser.add_argument("--gallery", type=Path, metavar="DIR",
                        help="one sub-folder per person (loose photos are their own identity)")
    parser.add_argument("--top", type=int, default=5, metavar="K", help="identities to list with --gallery")
    parser.add_argument("--threshold", type=_probability,
                        help="match threshold for one pair (default: the matcher's own); a gallery raises it "
                             "for its size")
    parser.add_argument("--margin", type=_probability, default=DEFAULT_MARGIN,
                        help="scores this close to the threshold are UNCERTAIN (default %(default)s)")
    parser.add_argument("--assume-crop", action="store_true", help="the photos are face crops: skip face finding")
    parser.add_argument("--face-a", type=_face_number, default=1, metavar="N",
                        help="which face of the first photo (A, or the gallery's probe) to compare when it shows "
                             "several: 1 is the main face (default: by size and nearness to the centre), the output "
                             "lists how many were found")
    parser.add_argument("--face-b", type=_face_number, default=1, metavar="N", help="the same for the second photo")
    parser.add_argument("--batch-size", type=int, default=32, help="gallery photos per model call")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_model_options(parser, "matcher")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.photos) != (1 if args.gallery else 2):
        parser.error("give two photos (A B), or --gallery DIR and one probe photo")
    try:
        return gallery(args) if args.gallery else pair(args)
    except CommandError as exc:
        say(PROG, f"error: {exc}")
        return USAGE
    except UnreadablePhotoError as exc:
        say(PROG, str(exc))
        return SOME_FAILED
    except KeyboardInterrupt:
        say(PROG, "interrupted")
        return INTERRUPTED


# ---------------------------------------------------------------- A B

def pair(args: argparse.Namespace) -> int:
    from faceapp.core.verify import score_pair, verdict

    first, second = (_photo(p) for p in args.photos)
    matcher, described = load_model("matcher", args)
    faces = [_face_box(matcher, image, path, number, args.assume_crop)
             for image, path, number in zip((first, second), args.photos, (args.face_a, args.face_b))]
    score = score_pair(matcher, first, second, assume_crop=args.assume_crop, reference_face=faces[0],
                       probe_face=faces[1])
    threshold = matcher.threshold if args.threshold is None else args.threshold
    unfit = "; ".join(f"{path.name}: {part.unfit}" for path, part in zip(args.photos, (score.reference, score.probe))
                      if part.unfit)
    decision = verdict(score.probability, threshold, args.margin, unfit)
    parts = {"a": _part(args.photos[0], score.reference), "b": _part(args.photos[1], score.probe)}
    if args.json:
        _print_json(score=round(score.probability, 6), decision=decision, threshold=threshold, margin=args.margin,
                    model=described, unfit=unfit or None, **parts)
        return OK
    print(f"{score.probability:.4f} {decision}")
    print(f"threshold {threshold:.3f}, uncertain within ±{args.margin:.3f}; matcher {described}")
    for key, part in parts.items():
        print(f"{key.upper()} {part['path']}: {part['note']}")
    return OK


# ---------------------------------------------------------------- --gallery DIR PROBE

def gallery(args: argparse.Namespace) -> int:
    from faceapp.core.verify import GalleryMatch, gallery_search, gallery_verdict
    from training.error_rates import gallery_threshold

    identities = _identities(args.gallery)
    probe = _photo(args.photos[0])
    matcher, described = load_model("matcher", args)
    face = _face_box(matcher, probe, args.photos[0], args.face_a, args.assume_crop)
    matches, unreadable = [], []
    for item in gallery_search(matcher, probe, identities, assume_crop=args.assume_crop, batch_size=args.batch_size,
                               probe_face=face):
        if isinstance(item, GalleryMatch):
            matches.append(item)
        else:
            unreadable.extend(item.files)
    matches.sort(key=lambda m: -m.probability)
    base = matcher.threshold if args.threshold is None else args.threshold
    threshold = gallery_threshold(matcher.error_rates, base, len(identities))
    decision = gallery_verdict([m.probability for m in matches], threshold, args.margin)
    best = matches[0].identity if decision == "MATCH" else None
    ranking = [{"rank": rank, "identity": m.identity, "score": round(m.probability, 6), "closest": str(m.best_path),
                "images": m.images} for rank, m in enumerate(matches[:max(args.top, 0)], 1)]
    if args.json:
        _print_json(decision=decision, identity=best, threshold=threshold, threshold_one_pair=base, margin=args.margin,
                    identities=len(identities), model=described, ranking=ranking,
                    unreadable=[{"path": str(p), "reason": r} for p, r in unreadable])
    else:
        _print_ranking(ranking, decision, best, threshold, base, len(identities), args.margin, described)
    for path, reason in unreadable:
        say(PROG, f"{path}: {reason}")
    return SOME_FAILED if unreadable else OK


def _print_ranking(ranking, decision, best, threshold, base, size, margin, described) -> None:
    for row in ranking:
        photos = f"{row['images']} photo{'s' * (row['images'] != 1)}"
        print(f"{row['rank']:>3}  {row['score']:.4f}  {row['identity']}  ({photos}; closest {row['closest']})")
    said = f"{decision} {best}" if best else decision
    raised = f", raised from {base:.3f} for {size:,} identities" if threshold > base else ""
    print(f"{said} (threshold {threshold:.3f}{raised}; uncertain within ±{margin:.3f}; matcher {described})")


# ---------------------------------------------------------------- pieces

def _photo(path: Path):
    from training.imaging import ImageLoadError, load_image

    try:
        return load_image(path)
    except ImageLoadError as exc:
        raise UnreadablePhotoError(f"{path}: {exc.reason}") from exc


def _identities(folder: Path) -> dict:
    from faceapp.core.verify import gallery_identities
    from training.imaging import FolderError

    try:
        identities = gallery_identities(folder)
    except FolderError as exc:
        raise CommandError(f"{folder}: {exc.reason}") from exc
    if not identities:
        raise CommandError(f"{folder} holds no photos: one sub-folder per person, or loose photos")
    return identities


def _part(path: Path, part) -> dict:
    """What face finding said about one photo, for the output (every face's box when there are several)."""
    note = part.note or ("no face found; used the whole image" if part.fallback else "face found")
    found = {"path": str(path), "faces_found": part.faces_found, "face_fallback": part.fallback, "note": note,
             "face_box": list(part.box) if part.box else None}
    if len(part.faces) > 1:
        found["faces"] = [list(box) for box in part.faces]
    return found


def _face_box(matcher, image, path: Path, number: int, assume_crop: bool):
    """The box of face `number` (1: the main one) of a photo; None for the main one, so nothing is searched twice."""
    if number == 1:
        return None
    from faceapp.core.verify import face_boxes

    boxes = face_boxes(image, matcher.framing, assume_crop)
    if number > len(boxes):
        raise CommandError(f"{path}: face {number} asked for, but {len(boxes)} face{'s' * (len(boxes) != 1)} found")
    return boxes[number - 1]


def _face_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a face number (1 is the main face)")
    return int(text)


def _print_json(**document) -> None:
    print(json.dumps(document))


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
