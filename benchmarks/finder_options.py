"""The face-finder options of the scripts that crop photos for training (`bank`, `pack`): `--face-detector` and
`--align`, turned into the `training.framing.Framing` the crops are made with (and a model trained on them records)."""
from __future__ import annotations

import argparse

from training.framing import DETECTORS, HAAR, Framing


def add_finder_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--face-detector", choices=DETECTORS, default=HAAR,
                        help="face finder (default haar; blazeface falls back to Haar when it finds nothing)")
    parser.add_argument("--align", action="store_true",
                        help="with --face-detector blazeface: turn and scale each crop so the eyes land on fixed "
                             "places (training.framing.default_eyes at the frame scale)")


def chosen_framing(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Framing:
    """The options' framing at `args.frame_scale`; --align without BlazeFace is a usage error."""
    if args.align and args.face_detector != "blazeface":
        parser.error("--align needs --face-detector blazeface (the eye keypoints)")
    return Framing.chosen(args.face_detector, args.frame_scale, args.align)
