"""Store a bank-trained matcher's validation score distributions in a copy of its checkpoint.

    python -m benchmarks.score_rates .devdata/runs/s1/best.pt .devdata/bank80.npz -o with_rates.pt

Runs that finish write them themselves (`BankMatcherSetup.final_report`); this adds them to a checkpoint
made before that, with the same held-out photos (the run's stored seed and validation fraction) and the
same pairs: each clean held-out photo against every other one, clean and distorted.

The head can be refitted first, on the run's validation pairs: --tie-head ties it (`MatcherNet.tie_head`: one
weight for every embedding dimension, the mean of its weights, so the score ranks faces by the embeddings' L1
distance); --calibrate fits a scale and an offset of its logits (`MatcherTask.calibrate_head`, which training
does itself at the end of a run), so a match probability of p is right about p of the time on those pairs (half
of them the same person) and the threshold lands near the middle of the scale, where the app's uncertainty band
(0.05 either side) fits. Then the copy holds the new head, the distributions of its scores, its validation
metrics and the threshold most accurate on the validation pairs.
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
    p.add_argument("--tie-head", action="store_true",
                   help="tie the pair head first (one weight, the mean of its weights) and re-pick the threshold")
    p.add_argument("--calibrate", action="store_true",
                   help="fit a scale and offset of the pair head's logits on the validation pairs (Platt scaling) "
                        "and re-pick the threshold")
    args = p.parse_args(argv)
    ckpt = load_checkpoint(args.checkpoint, task="matcher")
    config = TrainConfig.from_dict({**ckpt["config"], "compile": False, "start": "none"})
    setup = BankMatcherSetup(args.bank, config, torch.device("cpu"), print)
    setup.model.load_state_dict(ckpt["state_dict"])
    if args.tie_head or args.calibrate:
        refit_head(ckpt, setup, tie=args.tie_head, calibrate=args.calibrate)
    rates = setup.score_histograms(threading.Event())
    ckpt["score_histograms"] = rates.to_dict()
    save_checkpoint(args.output, ckpt)
    t = float(ckpt["threshold"])
    print(f"{rates.source}; at the stored threshold {t:.3f}: false match rate {rates.false_match_rate(t):.4f}, "
          f"false non-match rate {rates.false_non_match_rate(t):.4f} -> {args.output}")
    return 0


def refit_head(ckpt: dict, setup: BankMatcherSetup, tie: bool, calibrate: bool) -> None:
    """Tie and/or calibrate the loaded model's pair head; write it, its validation metrics and its threshold
    into `ckpt`."""
    before = float(ckpt["threshold"])
    stop = threading.Event()
    done = []
    if tie:
        setup.model.tie_head()
        done.append(f"tied at {setup.model.head.weight[0, 0].item():.4f}")
    if calibrate:
        _, calibration = setup.calibrate_head(*setup.pair_logits(stop))
        if not calibration:
            raise SystemExit("cannot calibrate the pair head (the reason is above)")
        done.append("calibrated (logits x {scale:.3f} {offset:+.3f})".format(**calibration["val_calibration"]))
    metrics = {k: float(v) for k, v in setup.evaluate(stop).items()}
    ckpt["state_dict"] = {k: v.to(ckpt["state_dict"][k].dtype) for k, v in setup.model.state_dict().items()}
    ckpt["metrics"] = {**ckpt.get("metrics", {}), **metrics}
    ckpt["threshold"] = float(metrics["val_threshold"])
    ckpt.pop("threshold_rule", None)  # an export's re-set threshold named the old head's scores
    ckpt["config"] = {**ckpt["config"], "tied_head": bool(tie or ckpt["config"].get("tied_head"))}
    print(f"pair head {' and '.join(done)}: validation AUC {metrics['val_auc']:.4f}, "
          f"rank 1 {metrics['val_rank1']:.1%}; threshold {ckpt['threshold']:.3f} (was {before:.3f})")


if __name__ == "__main__":
    raise SystemExit(main())
