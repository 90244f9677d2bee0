"""Tagging speed on camera-sized photos: JPEGs decoded at full size against reduced decoding (the app's way).

    python -m benchmarks.camera_decode ../shared/data --count 200 --json camera.json

Builds `--count` 4000x3000 JPEGs in a temporary folder (deleted afterwards), each an LFW frame enlarged
to 1500 px and pasted on a plain background, so the face is ~23 % of the shorter side and face finding
needs its full pass. Then runs the headless `tag_folder` twice per round, once forced to decode at full
size and once as the app does (`training.imaging.load_reduced`), and prints images/s, faces found and
how many labels agree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from faceapp.core.tagging import TagOptions, tag_folder
from training.imaging import list_images
from training.inference import GenderClassifier

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "resources" / "models" / "gender.pt"


def make_photos(lfw: Path, folder: Path, count: int) -> list[Path]:
    frames = list_images(lfw, recursive=True)
    step = max(1, len(frames) // count)
    paths = []
    for i, frame in enumerate(frames[::step][:count]):
        face = Image.open(frame).convert("RGB").resize((1500, 1500), Image.Resampling.BICUBIC)
        photo = Image.new("RGB", (4000, 3000), (90 + i % 50, 110, 130))
        photo.paste(face, (1250 + (i % 7) * 100, 700 + (i % 5) * 60))
        paths.append(folder / f"photo_{i:04d}.jpg")
        photo.save(paths[-1], quality=90)
    return paths


def tag(paths, classifier, full_size: bool) -> dict:
    start = time.perf_counter()
    results = list(tag_folder(paths, classifier, TagOptions(thumbnail_size=48, reduced_decode=not full_size)))
    seconds = time.perf_counter() - start
    return {"images_per_s": len(results) / seconds, "faces_found": sum(r.ok and not r.face_fallback for r in results),
            "labels": [r.predicted for r in results]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.camera_decode", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/)")
    parser.add_argument("--count", type=int, default=200, help="photos to build (default 200)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="gender checkpoint (default: bundled)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of (full, reduced), medians reported")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    classifier = GenderClassifier.load(args.model)
    with tempfile.TemporaryDirectory(prefix="faceapp-camera-") as tmp:
        paths = make_photos(args.data / "lfw_deepfunneled", Path(tmp), args.count)
        tag(paths[:8], classifier, False)  # warm-up
        rounds = [(tag(paths, classifier, True), tag(paths, classifier, False)) for _ in range(args.repeat)]
    full, reduced = rounds[-1]
    report = {
        "photos": len(paths), "size": "4000x3000 JPEG q90", "model": str(args.model),
        "full_decode_images_per_s": round(statistics.median(f["images_per_s"] for f, _ in rounds), 1),
        "reduced_decode_images_per_s": round(statistics.median(r["images_per_s"] for _, r in rounds), 1),
        "faces_found_full": full["faces_found"], "faces_found_reduced": reduced["faces_found"],
        "same_label": sum(a == b for a, b in zip(full["labels"], reduced["labels"])),
    }
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
