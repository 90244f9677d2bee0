"""Training throughput of the face matcher on this machine: images per second, one row per setting.

    python -m benchmarks.train_speed .devdata/bank80.npz .devdata/teacher_distill.npz \
        --photos ../shared/data --json speed.json

Each row times `--steps` whole training steps (batch assembly, forward, loss, backward, AdamW step)
after two warm-up steps, in one process, one row after another:
- `photos`: the pair-based path the earlier matchers were trained with: JPEG decoding, Haar face finding
  and distortion on the fly in one loader process, 112 px, 64 pairs (128 images) per step (needs
  `--photos`, the shared data folder);
- `bank`: the face-bank path (`training/tasks/bank_matcher.py`) at each input size, batch size, memory
  format and with or without `torch.compile` (whose compile time is shown apart, not in the rate).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from training.config import default_config
from training.step import make_optimizer
from training.tasks import BankMatcherSetup, MatcherSetup


@dataclass
class Row:
    path: str
    input_size: int
    batch: int  # images per step
    channels_last: bool
    compiled: bool
    images_per_s: float = 0.0
    compile_s: float = 0.0


def _steps(setup, batches, optimizer, steps: int) -> float:
    """Images per second over `steps` training steps drawn from `batches` (after two warm-up steps)."""
    setup.model.train()
    images, began = 0, None
    for i, batch in enumerate(batches):
        if i == 2:
            began, images = time.perf_counter(), 0
        if i == steps + 2:
            break
        loss = setup.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        images += len(batch[0]) * (2 if isinstance(setup, MatcherSetup) else 1)
    return images / (time.perf_counter() - began)


def time_bank(setup: BankMatcherSetup, row: Row, steps: int) -> Row:
    setup.config.input_size, setup.config.batch_size = row.input_size, row.batch
    setup.config.pairs_per_epoch = (steps + 2) * row.batch // 2
    memory = torch.channels_last if row.channels_last else torch.contiguous_format
    setup.model = setup.model.to(memory_format=memory)
    optimizer = make_optimizer([setup.model], setup.config)
    batches = list(setup.train_loader(0))
    if not row.channels_last:
        batches = [(x.contiguous(), *rest) for x, *rest in batches]
    plain = setup.model
    if row.compiled:
        setup.model = torch.compile(plain)
        setup.model.embed = torch.compile(plain.embed)
        t0 = time.perf_counter()
        _steps(setup, batches[:3], optimizer, 1)
        row.compile_s = time.perf_counter() - t0
    try:
        row.images_per_s = _steps(setup, batches, optimizer, steps)
    finally:
        setup.model = plain
    return row


def time_photos(data: Path, teacher: Path, steps: int) -> Row:
    from .protocols import v1_train_identities

    config = default_config("matcher", input_size=112, batch_size=64, workers=1, teacher=str(teacher),
                            identity_loss_weight=0, val_pairs=2, frame_scale=0.7)
    lfw = data / "lfw_deepfunneled"
    names = v1_train_identities(data)
    from training.data import discover_identities

    setup = MatcherSetup(discover_identities(lfw, names), config, torch.device("cpu"), lambda m: None)
    config.pairs_per_epoch = (steps + 2) * config.batch_size
    optimizer = make_optimizer([setup.model], config)
    row = Row("photos", 112, 128, False, False)
    row.images_per_s = _steps(setup, iter(setup.train_loader(0)), optimizer, steps)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bank", type=Path, help="a face bank .npz (benchmarks/bank.py)")
    p.add_argument("teacher", type=Path, help="the teacher .npz for it (benchmarks/teacher.py --photos distill)")
    p.add_argument("--photos", type=Path, default=None,
                   help="the shared data folder: also time the pair-based path from JPEG photos")
    p.add_argument("--steps", type=int, default=8, help="timed steps per row (default 8)")
    p.add_argument("--sizes", default="64,80,96,112", help="input sizes (default 64,80,96,112)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile at the smallest size")
    p.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    sizes = [int(s) for s in args.sizes.split(",")]
    config = default_config("matcher", teacher=str(args.teacher), frame_scale=0.7, val_pairs=2)
    setup = BankMatcherSetup(args.bank, config, torch.device("cpu"), lambda m: None)
    rows = []
    if args.photos:
        rows.append(time_photos(args.photos, args.teacher, args.steps))
    for size in sorted(sizes, reverse=True):
        rows.append(time_bank(setup, Row("bank", size, 128, False, False), args.steps))
        rows.append(time_bank(setup, Row("bank", size, 128, True, False), args.steps))
    small = min(sizes)
    for batch in (64, 256):
        rows.append(time_bank(setup, Row("bank", small, batch, True, False), args.steps))
    if args.compile:
        rows.append(time_bank(setup, Row("bank", small, 128, True, True), args.steps))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"{'path':6} {'input':>5} {'batch':>5} {'memory':>13} {'compiled':>8} {'images/s':>9} {'compile s':>9}")
    for r in rows:
        memory = "channels_last" if r.channels_last else "contiguous"
        print(f"{r.path:6} {r.input_size:5d} {r.batch:5d} {memory:>13} {str(r.compiled):>8} "
              f"{r.images_per_s:9.1f} {r.compile_s:9.1f}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
