"""Does the matcher rank held-out people better with the detail the app gives it, or with only the detail
it trained on? (issue 17)

    python -m benchmarks.input_detail .devdata/runs/s6b/best.pt .devdata/bank80_aligned.npz ../shared/data

A campaign matcher trains on a face bank's crops (72 px of an 80 px bank) enlarged to its input (96 px at
s6b); the app crops the face from the photo itself, with as many pixels as the photo has. This embeds the
run's held-out validation photos (its split, rebuilt from the checkpoint's settings and the bank's
identities), each cropped from its photo as the app crops it, then shrunk to DETAIL px a side and enlarged
back (0: as the app gives it), and scores every pair of them (same person or not). Clean photos, no test
identity, nothing trained: if the app's sharper crops rank better, a bank with more pixels may pay.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from training.data.split import pair_split
from training.data.teacher import teacher_key
from training.evaluation import model_cropper
from training.imaging import load_image
from training.inference import FaceMatcher
from training.metrics import verification_metrics

from . import markdown
from .protocols import distill_photos
from .teacher_resolution import shrink


def held_out_photos(keys, identities, paths: dict[str, str], fraction: float, seed: int) -> list[tuple[str, str]]:
    """(photo path, identity) of the validation people of a run with this split (`pair_split`), for the bank
    rows whose key (`teacher_key`) has a photo in `paths`."""
    identities = np.asarray(identities)
    _, val = pair_split(identities, fraction, seed)
    rows = np.flatnonzero(np.isin(identities, val))
    return [(paths[str(keys[r])], str(identities[r])) for r in rows if str(keys[r]) in paths]


def detail_rows(matcher, faces: list, identities, details) -> list[dict]:
    """Per detail (px a side; 0: the faces as they are), the figures of every pair of `faces`."""
    identities = np.asarray(identities)
    first, second = np.triu_indices(len(faces), 1)
    labels = (identities[first] == identities[second]).astype(int)
    rows = []
    for detail in details:
        views = faces if detail == 0 else [shrink(face, detail / face.width) for face in faces]
        embeddings = matcher.embed(views)
        scores = matcher.score_embeddings(embeddings[first], embeddings[second])
        m = verification_metrics(labels, scores, matcher.threshold)
        rows.append({"detail_px": detail, "genuine_pairs": int(labels.sum()), "pairs": len(labels),
                     **{k: m[k] for k in ("roc_auc", "tar_at_far_1pct", "eer")}})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a matcher trained on a face bank (best.pt, last.pt, or its export)")
    p.add_argument("bank", type=Path, help="the run's first face bank (its photos), for the split and the keys")
    p.add_argument("data", type=Path, help="the shared data folder the bank was built from")
    p.add_argument("--details", default="0,72,64", help="comma-separated px a side kept (0: the app's crop as it "
                                                        "is; default 0,72,64)")
    p.add_argument("--json", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    config = torch.load(args.checkpoint, map_location="cpu", weights_only=True).get("config") or {}
    with np.load(args.bank, allow_pickle=False) as bank:
        keys, identities = bank["keys"], bank["identities"]
    paths = {teacher_key(src): str(src) for src, _ in distill_photos(args.data)}
    photos = held_out_photos(keys, identities, paths, float(config.get("val_fraction", 0.05)),
                             int(config.get("seed", 0)))
    matcher = FaceMatcher.load(args.checkpoint)
    crop = model_cropper(matcher)
    faces = [crop(load_image(path)) for path, _ in photos]
    details = [int(d) for d in args.details.split(",")]
    rows = detail_rows(matcher, faces, [person for _, person in photos], details)
    print(f"{args.checkpoint}: {len(photos)} held-out photos of {len({p for _, p in photos})} people, every pair, "
          f"clean, through the app's crop ({matcher.input_size} px input)")
    print(markdown.table(["detail (px a side)", *markdown.RANKING_HEADERS],
                         [[r["detail_px"] or "as the app crops", *markdown.ranking_cells(r)] for r in rows]))
    if args.json:
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "photos": len(photos), "rows": rows},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
