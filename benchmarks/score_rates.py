"""Store a bank-trained matcher's validation score distributions in a copy of its checkpoint.

    python -m benchmarks.score_rates .devdata/runs/s1/best.pt .devdata/bank80.npz -o with_rates.pt

Runs that finish write them themselves (`BankMatcherSetup.final_report`); this adds them to a checkpoint
made before that, with the same held-out photos (the run's stored seed and validation fraction) and the
same pairs: each clean held-out photo against every other one, clean and distorted.
"""
from __future__ import annotations

import argparse
import threading
from pathlib import Path

import torch

from training.checkpoint import load_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.tasks import BankMatcherSetup


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a matcher trained from a face bank")
    p.add_argument("bank", type=Path, help="the face bank it was trained on")
    p.add_argument("-o", "--output", type=Path, required=True, help="the checkpoint to write")
    args = p.parse_args(argv)
    ckpt = load_checkpoint(args.checkpoint, task="matcher")
    config = TrainConfig.from_dict({**ckpt["config"], "compile": False, "start": "none"})
    setup = BankMatcherSetup(args.bank, config, torch.device("cpu"), print)
    setup.model.load_state_dict(ckpt["state_dict"])
    rates = setup.score_histograms(threading.Event())
    ckpt["score_histograms"] = rates.to_dict()
    save_checkpoint(args.output, ckpt)
    t = float(ckpt["threshold"])
    print(f"{rates.source}; at the stored threshold {t:.3f}: false match rate {rates.false_match_rate(t):.4f}, "
          f"false non-match rate {rates.false_non_match_rate(t):.4f} -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
