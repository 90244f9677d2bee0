"""The exported ONNX models against torch on real faces: largest difference, and CPU images/s.

    python -m benchmarks.onnx_check ../shared/data --json onnx.json
    python -m benchmarks.onnx_check ../shared/data --gender my_gender.pt --matcher my_matcher.pt

Exports both checkpoints (default: the bundled ones) into a temporary folder with
`training.onnx_export`, takes `--count` photos of the V1 test identities (evenly spread, fixed order),
crops each as the app does (`find_and_crop_framed` with the checkpoint's framing) and preprocesses it
with `batch_tensor`. Then it compares:

* gender: ONNX Runtime's probabilities with `GenderClassifier.predict`'s (largest absolute difference,
  labels that agree);
* matcher: ONNX Runtime's embeddings with `FaceMatcher.embed`'s, and the match probabilities of
  neighbouring faces from the metadata's score head with `FaceMatcher.score_embeddings`'s;
* the README's preprocessing for a service (PIL and numpy, `service_preprocess`) against the app's;
* speed: the same graph (mirror view included) on the same preprocessed tensors, torch (inference
  mode) against ONNX Runtime's CPU provider, both on `--threads` threads, at each `--batches` size;
  images/s is the median of `--repeat` passes over the faces, the two runtimes' passes taken in turn.
  Preprocessing is left out of both.

Needs `pip install '.[onnx]'`. The machine's load average is recorded: on a shared machine other work
(a low-priority training run, say) takes CPU from both runtimes alike, but it makes the figures noisier.
One thread is the default because on a busy machine more threads than free cores make torch's OpenMP
threads wait for each other at every layer: on 2 cores under load, torch ran the matcher at 48 images/s
on one thread and at 4-16 on two.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.protocols import v1_test_names
from training.checkpoint import load_checkpoint
from training.framing import find_and_crop_framed
from training.imaging import load_image
from training.inference import FaceMatcher, GenderClassifier
from training.onnx_export import INPUT_NAME, export_onnx, graph_module, match_probabilities, read_metadata
from training.transforms import batch_tensor

MODELS = Path(__file__).resolve().parents[1] / "resources" / "models"


def face_photos(data: Path, count: int) -> list[Path]:
    """`count` photos of the V1 test identities, evenly spread over them in a fixed order."""
    lfw = data / "lfw_deepfunneled"
    photos = [p for name in sorted(v1_test_names(data)) for p in sorted((lfw / name).glob("*.jpg"))]
    step = max(1, len(photos) // count)
    return photos[::step][:count]


def crops(photos: list[Path], framing: dict) -> list:
    """The face crops the app would hand the model (the whole photo, flagged, where none is found)."""
    return [find_and_crop_framed(load_image(p), framing).image for p in photos]


def _normalization(model) -> tuple:
    return model.meta["normalization"]["mean"], model.meta["normalization"]["std"]


def service_preprocess(face, size: int, mean, std) -> np.ndarray:
    """README's preprocessing for a service without torch (PIL and numpy): shorter side to `size`
    (bilinear, truncating the longer side as torchvision does), centre crop, [0, 1], normalise. Measured
    here against the app's `batch_tensor`, so the README's snippet is known to give the app's numbers."""
    w, h = face.size
    scale = size / min(w, h)
    face = face.convert("RGB").resize((max(size, int(w * scale)), max(size, int(h * scale))), Image.BILINEAR)
    left, top = round((face.width - size) / 2), round((face.height - size) / 2)
    x = np.asarray(face.crop((left, top, left + size, top + size)), np.float32) / 255
    return ((x - np.float32(mean)) / np.float32(std)).transpose(2, 0, 1)


def session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _rate(run, images: np.ndarray, batch: int) -> float:
    """images/s of one pass of `run` over all of `images` in batches of `batch`."""
    start = time.perf_counter()
    for i in range(0, len(images), batch):
        run(images[i:i + batch])
    return len(images) / (time.perf_counter() - start)


def paired_rates(runs: dict, images: np.ndarray, batch: int, repeat: int) -> dict:
    """Median images/s of each runtime, their passes taken in turn (one warm-up batch each first), so a
    load that comes and goes on a shared machine falls on both alike; the ratio is the median of the
    per-round ratios."""
    for run in runs.values():
        run(images[:batch])
    rounds = [{name: _rate(run, images, batch) for name, run in runs.items()} for _ in range(repeat)]
    figures = {name: statistics.median(r[name] for r in rounds) for name in runs}
    figures["ratio"] = statistics.median(r["onnxruntime"] / r["torch"] for r in rounds)
    return figures


def speed(checkpoint: Path, onnx_path: Path, images: np.ndarray, batches, threads: int, repeat: int) -> dict:
    graph, ort = graph_module(load_checkpoint(checkpoint)), session(onnx_path, threads)

    def torch_run(x):
        with torch.inference_mode():
            return graph(torch.from_numpy(x))

    def ort_run(x):
        return ort.run(None, {INPUT_NAME: x})

    return {batch: paired_rates({"torch": torch_run, "onnxruntime": ort_run}, images, batch, repeat)
            for batch in batches}


def _service_batch(faces, model) -> np.ndarray:
    return np.stack([service_preprocess(face, model.input_size, *_normalization(model)) for face in faces])


def check_gender(checkpoint: Path, onnx_path: Path, photos, threads: int) -> tuple[dict, np.ndarray]:
    classifier = GenderClassifier.load(checkpoint)
    faces = crops(photos, classifier.framing)
    expected = np.array([[p.probabilities[c] for c in classifier.classes] for p in classifier.predict(faces)])
    images = batch_tensor(faces, classifier.input_size, *_normalization(classifier)).numpy()
    ort = session(onnx_path, threads)
    got = ort.run(None, {INPUT_NAME: images})[0]
    service = ort.run(None, {INPUT_NAME: _service_batch(faces, classifier)})[0]
    return {"max_abs_diff_probabilities": float(np.abs(got - expected).max()),
            "same_label": int((got.argmax(1) == expected.argmax(1)).sum()), "faces": len(faces),
            "service_preprocessing_max_abs_diff": float(np.abs(service - expected).max()),
            "service_preprocessing_same_label": int((service.argmax(1) == expected.argmax(1)).sum())}, images


def check_matcher(checkpoint: Path, onnx_path: Path, photos, threads: int) -> tuple[dict, np.ndarray]:
    matcher = FaceMatcher.load(checkpoint)
    faces = crops(photos, matcher.framing)
    expected = matcher.embed(faces)
    images = batch_tensor(faces, matcher.input_size, *_normalization(matcher)).numpy()
    ort = session(onnx_path, threads)
    got = ort.run(None, {INPUT_NAME: images})[0]
    service = ort.run(None, {INPUT_NAME: _service_batch(faces, matcher)})[0]
    meta = read_metadata(onnx_path)
    ort_scores = match_probabilities(got[:-1], got[1:], meta["score_head"])
    torch_scores = matcher.score_embeddings(expected[:-1], expected[1:])
    decisions = (ort_scores >= meta["threshold"]) == (torch_scores >= matcher.threshold)
    return {"max_abs_diff_embeddings": float(np.abs(got - expected).max()),
            "max_abs_diff_match_probability": float(np.abs(ort_scores - torch_scores).max()),
            "same_decision": int(decisions.sum()), "pairs": len(decisions), "faces": len(faces),
            "service_preprocessing_max_abs_diff": float(np.abs(service - expected).max())}, images


def _export(checkpoint: Path, folder: Path) -> tuple[Path, float]:
    start = time.perf_counter()
    path = export_onnx(checkpoint, folder / f"{checkpoint.stem}.onnx")
    return path, time.perf_counter() - start


def run(args) -> dict:
    import onnxruntime

    torch.set_num_threads(args.threads)
    photos = face_photos(args.data, args.count)
    report = {"photos": len(photos), "threads": args.threads, "load_average_before": os.getloadavg(),
              "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
              "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "models": {}}
    with tempfile.TemporaryDirectory(prefix="faceapp-onnx-") as tmp:
        for task, checkpoint, check in (("gender", args.gender, check_gender),
                                        ("matcher", args.matcher, check_matcher)):
            onnx_path, export_s = _export(checkpoint, Path(tmp))
            figures, images = check(checkpoint, onnx_path, photos, args.threads)
            figures.update(checkpoint=str(checkpoint), export_s=round(export_s, 1),
                           onnx_mib=round(onnx_path.stat().st_size / 2**20, 1),
                           speed=speed(checkpoint, onnx_path, images, args.batches, args.threads, args.repeat))
            report["models"][task] = figures
    report["load_average_after"] = os.getloadavg()
    return report


def print_table(report: dict) -> None:
    print(f"{report['photos']} LFW faces (V1 test identities), {report['threads']} threads, "
          f"load average {report['load_average_before'][0]:.1f} before / {report['load_average_after'][0]:.1f} after")
    for task, m in report["models"].items():
        diffs = ", ".join(f"{k.removeprefix('max_abs_diff_')} {v:.1e}" for k, v in m.items() if k.startswith("max_abs"))
        agree = (f"same label {m['same_label']}/{m['faces']}" if task == "gender"
                 else f"same decision {m['same_decision']}/{m['pairs']} pairs")
        print(f"\n{task} ({m['checkpoint']}; exported in {m['export_s']} s, {m['onnx_mib']} MiB)")
        print(f"  max abs difference: {diffs}; {agree}")
        print(f"  with README's PIL preprocessing instead of batch_tensor: max abs difference "
              f"{m['service_preprocessing_max_abs_diff']:.1e}"
              + (f", same label {m['service_preprocessing_same_label']}/{m['faces']}" if task == "gender" else ""))
        print(f"  {'batch':>5} {'torch img/s':>12} {'ORT img/s':>10} {'ORT/torch':>9}")
        for batch, s in m["speed"].items():
            print(f"  {batch:>5} {s['torch']:>12.1f} {s['onnxruntime']:>10.1f} {s['ratio']:>9.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.onnx_check", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/ and benchmarks/)")
    parser.add_argument("--gender", type=Path, default=MODELS / "gender.pt", help="gender checkpoint")
    parser.add_argument("--matcher", type=Path, default=MODELS / "matcher.pt", help="matcher checkpoint")
    parser.add_argument("--count", type=int, default=100, help="faces to compare (default 100)")
    parser.add_argument("--batches", default="1,32", help="batch sizes to time (default 1,32)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch and ONNX Runtime alike (default 1: see the module's note)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per figure; the median is reported")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.batches = [int(b) for b in args.batches.split(",")]
    report = run(args)
    print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
