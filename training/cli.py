"""Command line: `python -m training {train-gender,train-matcher,evaluate,distort,export,export-onnx,info}`."""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .config import TrainConfig, default_config

HELP = {
    "epochs": "maximum number of epochs",
    "batch_size": "images (gender) or pairs (matcher) per batch",
    "lr": "peak learning rate of Adam (AdamW)",
    "weight_decay": "decoupled weight decay",
    "scheduler": "learning-rate schedule: cosine (with warm-up), plateau (cut on a flat validation score) or none",
    "warmup_epochs": "epochs of linear learning-rate warm-up",
    "input_size": "side of the square network input in pixels (224 is the classic size; 96-128 trains fast on a CPU)",
    "start": "start weights: 'imagenet' (needs torchvision's cached file; this tells you where when it is missing), "
             "'none' (from scratch) or the path of a local weights file",
    "freeze_backbone": "freeze the backbone (default: frozen exactly when starting from ImageNet)",
    "dropout": "dropout before the last layer",
    "patience": "early stopping: epochs without improvement before stopping (0 disables)",
    "min_delta": "early stopping: smallest improvement that counts",
    "val_fraction": "share of the training data held out for model selection (split by person)",
    "seed": "random seed; runs on the CPU are reproducible",
    "device": "auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps",
    "amp": "mixed precision on CUDA",
    "workers": "data-loading processes (-1: one per spare core, up to 8)",
    "label_smoothing": "label smoothing of the cross-entropy loss",
    "ema": "evaluate and keep an exponential moving average of the weights with this decay per batch "
           "(e.g. 0.998; steadier from-scratch training); 0 turns it off",
    "max_batches": "cap on training batches per epoch, for quick trials (0: no cap)",
    "out_dir": "folder that receives the run folder",
    "run_name": "name of the run folder (default: task and time)",
    "resume": "continue a run: its folder or its last.pt",
    "time_limit": "minutes the run may take; it stops before an epoch that would end later (0: no limit)",
    "snapshot_every": "keep a copy of the evaluated weights every N epochs in snapshots/ (to measure a "
                      "learning curve afterwards); 0 keeps none",
    "compile": "torch.compile the training forward pass (training from a face bank; on a 2-core CPU about "
               "20 %% more images/s after about 100 s of compiling)",
    "distort_prob": "share of training photos degraded with a random condition and severity",
    "minority_augmentation": "wider crops and rotations for the minority class (colour changes, grayscale and "
                            "erasing are the same for every class, so none of them becomes a class cue)",
    "embedding_dim": "length of the face embedding",
    "pairs_per_epoch": "pairs generated afresh for each epoch (half same person, half different)",
    "val_pairs": "fixed validation pairs used for model selection and the threshold",
    "same_photo_fraction": "share of same-person pairs whose probe is the reference photo itself, distorted",
    "clean_probe_fraction": "share of probes left undistorted",
    "min_severity": "lowest distortion severity used for probes (1-5)",
    "max_severity": "highest distortion severity used for probes (1-5)",
    "identity_loss_weight": "weight of the auxiliary identity (cosine-margin) loss; 0 disables",
    "teacher": "an .npz of teacher embeddings per training photo (benchmarks/teacher.py writes one from dlib): "
               "the student's embedding of each (distorted) photo learns the teacher's embedding of the clean "
               "photo. Training only; the model never needs the teacher afterwards",
    "distill_weight": "weight of the distillation loss (1 - cosine to the teacher's embedding); used with --teacher",
    "relational_weight": "training from a face bank: weight of the relational loss (the batch's pairwise "
                         "similarities against the teacher's)",
    "balance_groups": "training from a face bank: a CSV with an 'identity' column and a group column "
                      "(FILE.csv:COLUMN; default column 'group', else 'gender'), e.g. LFW's gender list: each "
                      "epoch draws the photos of every group equally often (people not in the list keep their "
                      "share); empty: every photo once an epoch",
    "neighbour_batches": "training from a face bank: build each batch from groups of N faces, a drawn face and "
                         "N-1 of its 16 nearest training faces by the teacher's embedding (the same person's other "
                         "photos, look-alikes), so the losses that compare faces within a batch see hard pairs; "
                         "0 or 1: every face drawn independently",
    "ranking_weight": "training from a face bank: weight of the ranking term: each view's softmax over its cosines "
                      "to every training face's teacher vector, against the teacher's own (KL), so the student "
                      "puts the same known faces first as the teacher does (what 1:N search reads); 0 disables",
    "ranking_temperature": "training from a face bank: the ranking term's softmax temperature (lower: only the "
                           "nearest few faces count)",
    "tied_head": "one weight shared by every embedding dimension in the pair head (|e1 - e2| -> Linear), set "
                 "to the start's mean and kept shared: the score then ranks faces by the embeddings' L1 distance, "
                 "which 1:N search reads better than per-dimension weights fitted on pairs",
    "crop_faces": "find the face in each photo and crop it the way the app will (turn off for ready-made crops)",
    "frame_scale": "face-box side over image side in the training photos (0: the LFW-style default)",
    "face_detector": "face finder, written into the checkpoint's framing so the app and the benchmarks crop "
                     "alike: haar (the cascade) or blazeface (a CNN with landmarks; Haar when it finds nothing)",
    "align_faces": "with --face-detector blazeface: turn and scale each crop so the eyes land on fixed places "
                   "(a similarity transform from the eye keypoints) instead of cropping around the box",
}
GENDER_ONLY = {"minority_augmentation", "distort_prob"}
MATCHER_ONLY = {"embedding_dim", "pairs_per_epoch", "val_pairs", "same_photo_fraction", "clean_probe_fraction",
                "min_severity", "max_severity", "identity_loss_weight", "teacher", "distill_weight",
                "relational_weight", "balance_groups", "neighbour_batches", "ranking_weight",
                "ranking_temperature", "tied_head"}


def _add_config_options(parser: argparse.ArgumentParser, task: str) -> None:
    defaults = default_config(task)
    skip = {"task", "extra"} | (MATCHER_ONLY if task == "gender" else GENDER_ONLY)
    for f in dataclasses.fields(TrainConfig):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        if f.name in ("freeze_backbone", "amp", "minority_augmentation", "crop_faces", "compile",
                      "align_faces", "tied_head"):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value, help=HELP[f.name])
        else:
            kind = type(value) if value is not None else str
            parser.add_argument(flag, type=kind, default=value, help=HELP[f.name])


def _config_from(args, task: str) -> TrainConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}
    return default_config(task, **values)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m training", formatter_class=fmt,
                                     description="Train, evaluate and inspect FaceApp's gender model and face matcher.")
    parser.add_argument("--version", action="version", version=f"faceapp-training {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only the summary")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("train-gender", formatter_class=fmt, help="train the gender classifier (ResNet18)",
                       description="Train the gender classifier on class folders and/or path,label CSV files. "
                                   "A folder ROOT/{train,val}/<class>/ uses val/ as the held-out test set.")
    g.add_argument("sources", nargs="+", help="folders ROOT/<class>/* or ROOT/{train,val}/<class>/*, CSV files")
    g.add_argument("--csv-root", default=None, help="folder the CSV paths are relative to (default: the CSV's)")
    _add_config_options(g, "gender")

    m = sub.add_parser("train-matcher", formatter_class=fmt, help="train the face matcher (MobileNetV2)",
                       description="Train the face matcher on identity folders ROOT/<person>/*.jpg (optional "
                                   "distortion/ subfolders). A .txt source lists the identities to use.")
    m.add_argument("sources", nargs="+",
                   help="identity folders and optional .txt identity lists, or face bank .npz files "
                        "(benchmarks/bank.py, and more faces of benchmarks/mixes.py, crops alike; trained by dense "
                        "distillation, needs --teacher)")
    _add_config_options(m, "matcher")

    e = sub.add_parser("evaluate", formatter_class=fmt, help="score a checkpoint on a folder, CSV or pairs file",
                       description="Gender: a class folder or path,label CSV. Matcher: a clean,probe,same CSV or "
                                   "an identity folder (pairs are generated).")
    e.add_argument("checkpoint", help="a FaceApp .pt checkpoint")
    e.add_argument("data", help="folder, CSV of path,label (gender) or clean,probe,same (matcher)")
    e.add_argument("--root", default=None, help="folder the CSV paths are relative to (default: the CSV's)")
    e.add_argument("--conditions", default="none",
                   help="matcher: comma-separated probe conditions to test ('all' for every one)")
    e.add_argument("--severity", type=int, default=3, help="matcher: distortion severity 1-5")
    e.add_argument("--pairs", type=int, default=1000, help="matcher on a folder: pairs to generate")
    e.add_argument("--batch-size", type=int, default=64, help="images per forward pass")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    e.add_argument("--json", default=None, help="also write the metrics to this JSON file")

    d = sub.add_parser("distort", formatter_class=fmt, help="write distorted copies of an image to eyeball them")
    d.add_argument("image", help="input image")
    d.add_argument("-o", "--output", required=True,
                   help="output file (one condition) or folder (with --condition all: one file per condition)")
    d.add_argument("--condition", default="all", help="one of the conditions, or 'all'")
    d.add_argument("--severity", type=int, default=3, help="1 (barely visible) to 5 (severe)")
    d.add_argument("--seed", type=int, default=0, help="random seed of the distortion")

    x = sub.add_parser("export", formatter_class=fmt, help="write a compact copy of a checkpoint for shipping",
                       description="Drops optimizer state; --half stores the weights as fp16 (half the size).")
    x.add_argument("checkpoint", help="a FaceApp .pt checkpoint")
    x.add_argument("output", help="the file to write")
    x.add_argument("--half", action="store_true", help="store float weights as fp16")
    x.add_argument("--false-match-rate", type=float, metavar="RATE",
                   help="matcher: store the threshold at which its stored validation score distributions accept "
                        "this share of strangers (e.g. the shipped default's, so a new model accepts no more of "
                        "them) instead of the most accurate one on its validation pairs")

    o = sub.add_parser("export-onnx", formatter_class=fmt,
                       help="write a checkpoint as an ONNX model for other runtimes and languages",
                       description="Gender: images -> calibrated class probabilities; matcher: images -> unit "
                                   "embeddings (the mirror view is averaged inside the graph). Input size, "
                                   "normalisation, framing, classes and decision levels go into the model's "
                                   "metadata. Needs the onnx extra: pip install 'faceapp[onnx]'.")
    o.add_argument("checkpoint", help="a FaceApp .pt checkpoint")
    o.add_argument("output", help="the .onnx file to write")

    i = sub.add_parser("info", formatter_class=fmt, help="print a checkpoint's metadata")
    i.add_argument("checkpoint", help="a FaceApp .pt checkpoint")
    return parser


def _check_paths(args) -> None:
    """Before any work (and before torch is imported): inputs exist, outputs can be written."""
    from .outputs import OutputError, check_output_file, check_output_folder

    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint and not Path(checkpoint).exists():
        raise OutputError(f"{checkpoint} does not exist")
    if args.command == "evaluate" and args.json:
        check_output_file(args.json, "JSON file")
    elif args.command == "export":
        check_output_file(args.output, "exported checkpoint")
    elif args.command == "export-onnx":
        check_output_file(args.output, "ONNX model")
    elif args.command == "distort":
        if args.condition == "all":
            check_output_folder(args.output)
        else:
            check_output_file(args.output, "distorted image")
    elif args.command in ("train-gender", "train-matcher") and not args.resume:
        check_output_folder(args.out_dir, "run folder")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    from .outputs import OutputError

    try:
        _check_paths(args)
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .checkpoint import CheckpointError
    from .data import DataError
    from .imaging import ImageLoadError
    from .models import StartWeightsError

    try:
        if args.command in ("train-gender", "train-matcher"):
            return _train(args)
        from . import commands

        return getattr(commands, args.command.replace("-", "_"))(args)
    except (DataError, CheckpointError, StartWeightsError, ImageLoadError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a write that failed after the checks: the disk filled up, a share went away
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error: cannot write{where} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _train(args) -> int:
    from .engine import StopFlag, fit
    from .progress import TqdmProgress

    task = "gender" if args.command == "train-gender" else "matcher"
    config = _config_from(args, task)
    sources = list(args.sources)
    data = sources
    if task == "gender" and args.csv_root:
        from .data import load_gender_sources

        data = load_gender_sources(sources, csv_root=Path(args.csv_root))
    stop = StopFlag()
    try:
        result = fit(task, data, config, callbacks=[TqdmProgress(disable=args.quiet)], stop=stop)
    except KeyboardInterrupt:
        stop.set()
        raise
    from .distributed import is_main

    if not is_main():
        return 0  # under torchrun: rank 0 prints the one summary
    summary = {"run_dir": str(result.run_dir), "best": str(result.best_path), "stop_reason": result.stop_reason,
               "best_metrics": {k: v for k, v in result.best_metrics.items() if isinstance(v, (int, float))}}
    print(json.dumps(summary, indent=2))
    return 0
