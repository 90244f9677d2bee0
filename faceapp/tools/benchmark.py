"""Tagging throughput benchmark (not a test): end-to-end images/s vs model-only forward, and the longest GUI stall.

    python -m faceapp.tools.benchmark --data ../shared/data/lfw_deepfunneled --limit 1000 --repeat 5

Reports three rates at the same batch size: the model's forward pass on ready tensors, the headless
pipeline (`tag_folder`: read, find face, crop, thumbnail, predict), and the full app (TagPanel in a
window, rows streaming into the table) with a QTimer probe measuring the longest event-loop stall.
CPU ms per image (process time, all threads) are reported beside the rates: on a shared VM, wall-clock
rates of back-to-back rounds can differ by a third, while CPU time is what the pipeline adds.
The preparation alone (read, find the face, crop, resize, thumbnail; no model) is also timed on one
thread each round: while the model keeps every core busy, the pipeline cannot cost less than that CPU
time over the model's, so `overhead_floor_pct` is a lower bound for `app_overhead_vs_model_pct` that
no scheduling can beat (only cheaper preparation, or a model that leaves cores idle).
Without --model it uses the active gender model, else an untrained one (throughput does not depend on
the weights; the labels are then meaningless).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "lfw_deepfunneled"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m faceapp.tools.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of photos (searched recursively)")
    parser.add_argument("--limit", type=int, default=2000, help="number of photos (default 2000)")
    parser.add_argument("--model", type=Path, help="gender checkpoint (default: active model, else untrained)")
    parser.add_argument("--input-size", type=int, default=128, help="input size of the untrained stand-in model")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=0, help="preparation threads (0: the app's default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--assume-crop", action="store_true", help="skip face detection (images are face crops)")
    from training.framing import NAMES as FRAMING_NAMES  # here, not at the top: it loads OpenCV

    parser.add_argument("--framing", choices=("checkpoint", *FRAMING_NAMES),
                        default="checkpoint",
                        help="face finder: the model's own framing (default), or this one at the model's frame "
                             "scale (a copy of the checkpoint with its framing block replaced)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of (headless, app, model alone); each round's model rate is the mean of the "
                             "model runs just before and after it, so machine drift hits all three alike; "
                             "medians and quartiles over rounds are reported (default 3)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    return parser.parse_args(argv)


def _stand_in_model(folder: Path, input_size: int) -> Path:
    from training.checkpoint import make_checkpoint, save_checkpoint
    from training.models import build_model

    ckpt = make_checkpoint(build_model("gender"), task="gender", classes=["female", "male"], input_size=input_size,
                           normalization={"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
                           framing={"detector": "haar"}, threshold=0.5, metrics={}, config={}, history=[], epoch=0,
                           extra={"train_data": "untrained stand-in for the benchmark"})
    return save_checkpoint(folder / "gender.pt", ckpt)


def _with_framing(source: Path, mode: str, folder: Path) -> Path:
    """A copy of the checkpoint whose framing block is `mode` at the checkpoint's own frame scale."""
    from training.checkpoint import load_checkpoint, save_checkpoint
    from training.framing import Framing, as_framing

    checkpoint = load_checkpoint(source, task="gender")
    scale = as_framing(checkpoint.get("framing")).frame_scale
    checkpoint["framing"] = Framing.named(mode, scale).to_dict()
    folder.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(folder / Path(source).name, checkpoint)


def model_only_rate(classifier, crops, batch_size: int, images: int) -> tuple[float, float]:
    """Images/s of the model as `predict` runs it (mirror-averaged probabilities), on tensors already on
    the device: what the model alone costs. Also the process's CPU ms per image (all threads)."""
    import torch

    from training.transforms import batch_tensor

    batch = batch_tensor(crops[:batch_size], classifier.input_size, classifier._mean, classifier._std)
    batch = batch.to(classifier.device)
    sync = torch.cuda.synchronize if classifier.device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for _ in range(3):
            classifier.model.probabilities(batch)
        sync()
        start, cpu, done = time.perf_counter(), time.process_time(), 0
        while done < images:
            classifier.model.probabilities(batch).cpu()
            done += len(batch)
        sync()
    return done / (time.perf_counter() - start), 1000 * (time.process_time() - cpu) / done


def headless_rate(classifier, paths, options) -> float:
    from faceapp.core.tagging import tag_folder

    start = time.perf_counter()
    count = sum(1 for _ in tag_folder(paths, classifier, options))
    return count / (time.perf_counter() - start)


def preparation_cpu_ms(classifier, paths, options) -> float:
    """CPU ms per image of the pipeline's preparation alone, on one thread, without the model."""
    from dataclasses import replace

    from faceapp.core.tag_preparation import prepared_batches

    cpu = time.process_time()
    for _ in prepared_batches(paths, classifier.framing, classifier.input_size, replace(options, workers=1)):
        pass
    return 1000 * (time.process_time() - cpu) / len(paths)


def gui_rate(store, device: str, folder: Path, total: int, options):
    """Tag `folder` in the real TagPanel; return (images/s, CPU ms per image, longest event-loop stall in ms,
    stalls over 50 ms)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from faceapp.core.active_models import ActiveModels
    from faceapp.ui.app import ensure_app, freeze_startup_objects
    from faceapp.ui.main_window import MainWindow
    from faceapp.ui.settings import Settings

    ensure_app()
    models = ActiveModels(store, device=device)
    models.gender()  # load outside the timed part, as a warm app would have it
    window = MainWindow(models, Settings(), None)
    window.show()
    freeze_startup_objects()  # as create_window() does in the app
    panel = window.tag_panel
    panel.options = lambda: options  # exactly what the headless run used
    panel.set_folder(folder)
    QApplication.processEvents()  # first paint of the window: not part of tagging
    clock, gaps = QElapsedTimer(), []
    probe = QTimer(interval=5)

    def tick():
        gaps.append(clock.restart() - probe.interval())

    probe.timeout.connect(tick)
    loop = QEventLoop()
    panel.job_done.connect(lambda *_: loop.quit())
    start, cpu = time.perf_counter(), time.process_time()
    clock.start()
    probe.start()
    panel.start()
    loop.exec()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    probe.stop()
    rows = panel.model.rowCount()
    window.close()
    assert rows == total, f"the table holds {rows} rows, expected {total}"
    return total / elapsed, 1000 * cpu / total, float(max(gaps, default=0)), sum(gap > 50 for gap in gaps)


def _quartiles(values: list[float]) -> list[float] | None:
    """First and third quartiles (None for fewer than two values)."""
    if len(values) < 2:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4)
    return [round(q1, 1), round(q3, 1)]


def main(argv=None) -> int:
    args = parse_args(argv)
    from faceapp.core.active_models import ActiveModels
    from faceapp.core.framing import find_face
    from faceapp.core.model_store import ModelStore
    from faceapp.core.tagging import TagOptions
    from faceapp.ui.data_folder import data_path
    from training.imaging import list_images, load_image

    paths = list_images(args.data, recursive=True)[: args.limit]
    if not paths:
        print(f"no images under {args.data}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = ModelStore(tmp / "models", bundled_dir=tmp / "none")
        source = args.model or ActiveModels(ModelStore(data_path() / "models")).path("gender")  # not created
        checkpoint = source or _stand_in_model(tmp, args.input_size)
        if args.framing != "checkpoint":
            checkpoint = _with_framing(checkpoint, args.framing, tmp / "reframed")
        store.import_checkpoint(checkpoint, task="gender")
        models = ActiveModels(store, device=args.device)
        classifier = models.gender()
        options = TagOptions(batch_size=args.batch_size, thumbnail_size=48, assume_crop=args.assume_crop,
                             **({"workers": args.workers} if args.workers else {}))
        for path in paths:  # warm the file cache so no measurement pays for cold reads
            path.read_bytes()
        crops = [find_face(load_image(p), classifier.framing).image for p in paths[: args.batch_size]]
        headless_rate(classifier, paths[: 2 * args.batch_size], options)  # warm-up: threads, cascade, kernels
        from faceapp.ui.app import freeze_startup_objects

        freeze_startup_objects()  # the app does this at start-up; keeps GC pauses out of every measurement
        linked = tmp / "photos"
        linked.mkdir()
        for i, path in enumerate(paths):
            os.symlink(path.resolve(), linked / f"{i:06d}{path.suffix.lower()}")  # a relative --data path would dangle
        rounds = []
        before = model_only_rate(classifier, crops, args.batch_size, len(paths))
        for _ in range(max(1, args.repeat)):
            headless = headless_rate(classifier, paths, options)
            app_rate, app_cpu, stall, long_stalls = gui_rate(store, args.device, linked, len(paths), options)
            prep_cpu = preparation_cpu_ms(classifier, paths, options)
            after = model_only_rate(classifier, crops, args.batch_size, len(paths))
            # The model alone is measured just before and just after the pipeline runs and averaged: the
            # VM's speed drifts over seconds, and bracketing cancels its linear part.
            model_rate, model_cpu = ((b + a) / 2 for b, a in zip(before, after))
            before = after
            rounds.append({"model_only": round(model_rate, 1), "headless": round(headless, 1),
                           "app": round(app_rate, 1),
                           "overhead_pct": round(100 * (model_rate / app_rate - 1), 1),
                           "model_cpu_ms": round(model_cpu, 2), "app_cpu_ms": round(app_cpu, 2),
                           "cpu_overhead_pct": round(100 * (app_cpu / model_cpu - 1), 1),
                           "prep_cpu_ms": round(prep_cpu, 2),
                           "overhead_floor_pct": round(100 * prep_cpu / model_cpu, 1),
                           "stall_ms": round(stall, 1), "stalls_over_50ms": long_stalls})
    median = lambda key: round(statistics.median(r[key] for r in rounds), 2)  # noqa: E731
    report = {
        "images": len(paths), "data": str(args.data), "batch_size": args.batch_size,
        "device": str(classifier.device), "input_size": classifier.input_size, "workers": options.workers,
        "face_detection": not options.assume_crop, "framing": classifier.framing,
        "model": str(source or "untrained stand-in"),
        "rounds": len(rounds),
        "model_only_images_per_s": median("model_only"),
        "headless_pipeline_images_per_s": median("headless"),
        "app_end_to_end_images_per_s": median("app"),
        "app_overhead_vs_model_pct": median("overhead_pct"),
        "app_overhead_quartiles_pct": _quartiles([r["overhead_pct"] for r in rounds]),
        "overhead_pct_per_round": [r["overhead_pct"] for r in rounds],
        "model_only_cpu_ms_per_image": median("model_cpu_ms"),
        "app_cpu_ms_per_image": median("app_cpu_ms"),
        "app_cpu_overhead_pct": median("cpu_overhead_pct"),
        "preparation_cpu_ms_per_image": median("prep_cpu_ms"),
        "overhead_floor_pct": median("overhead_floor_pct"),
        "longest_event_loop_stall_ms": max(r["stall_ms"] for r in rounds),
        "stalls_over_50ms": sum(r["stalls_over_50ms"] for r in rounds),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }
    width = max(len(k) for k in report)
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps({**report, "per_round": rounds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
