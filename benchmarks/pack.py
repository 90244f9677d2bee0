"""Pack the protocol training data into small face crops, for a training run on another machine.

The crops are made exactly as the app makes them (Haar face box at LFW framing by default, or BlazeFace
with `--face-detector blazeface [--align]`; whole image when no face is found), resized to `--size` px and
saved as JPEG. Output (never committed; keep it in an ignored folder): `lfw/<identity>/*.jpg` (V1 training
identities), `facecom/train/<class>/*.jpg`, `gender_extra.csv` (G1's LFW extra list, pointing into `lfw/`)
and `framing.json`. Train on it with `--no-crop-faces` and the same framing options
(`--face-detector blazeface --align-faces`), which the checkpoint then records.
"""
from __future__ import annotations

import argparse
import csv
import json
from multiprocessing import Pool
from pathlib import Path

from training.faces import DEFAULT_FRAME_SCALE
from training.framing import find_and_crop_framed
from training.imaging import ImageLoadError, load_image

from .finder_options import add_finder_options, chosen_framing
from .protocols import v1_train_photos


def _crop_one(job) -> str | None:
    src, dst, size, quality, framing = job
    try:
        crop = find_and_crop_framed(load_image(src), framing).image.resize((size, size), resample=3)  # bicubic
    except ImageLoadError as exc:
        return f"{src}: {exc.reason}"
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    crop.save(dst, quality=quality)
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/, facecom_taskA/)")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--size", type=int, default=112, help="side of the saved crops in pixels")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality")
    p.add_argument("--frame-scale", type=float, default=DEFAULT_FRAME_SCALE,
                   help="face-box side over crop side (larger: a tighter crop); train with the same --frame-scale")
    add_finder_options(p)
    p.add_argument("--processes", type=int, default=2, help="worker processes")
    args = p.parse_args(argv)
    framing = chosen_framing(p, args).to_dict()
    jobs = []
    for src in v1_train_photos(args.data):
        jobs.append((src, args.out / "lfw" / src.parent.name / src.name, args.size, args.quality, framing))
    for src in sorted((args.data / "facecom_taskA" / "train").glob("*/*")):
        jobs.append((src, args.out / "facecom" / "train" / src.parent.name / (src.stem + ".jpg"),
                     args.size, args.quality, framing))
    with Pool(args.processes) as pool:
        errors = [e for e in pool.imap(_crop_one, jobs, chunksize=64) if e]
    with open(args.data / "benchmarks" / "gender_train_extra.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(args.out / "gender_extra.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "identity"])
        for r in rows:
            writer.writerow([r["path"].replace("lfw_deepfunneled/", "lfw/"), r["gender"], r["identity"]])
    (args.out / "framing.json").write_text(json.dumps(framing), encoding="utf-8")
    print(f"packed {len(jobs) - len(errors)} images into {args.out} ({framing}); {len(errors)} unreadable")
    for e in errors:
        print("  ", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
