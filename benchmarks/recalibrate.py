"""Re-pick a matcher checkpoint's threshold on its own validation pairs, the way training picks it.

Training chooses the threshold on validation pairs of held-out training identities. When the way the app
embeds a face changes (as when the mirror view was added), a checkpoint's stored threshold no longer fits
the scores. This rebuilds the very same validation pairs from the configuration stored in the checkpoint
(same identities, fraction and seed: pass the same training data), scores them with the current code, and
writes a copy with the new threshold and validation metrics. The old figures are kept under
`metrics["before_recalibration"]`. Never needs the test identities.

    python -m benchmarks.recalibrate resources/models/matcher.pt .devdata/pack/lfw -o matcher_recal.pt
"""
from __future__ import annotations

import argparse
import dataclasses
import threading

import torch

from training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.tasks.matcher import MatcherSetup

_VAL_KEYS = ("val_loss", "val_accuracy", "val_auc", "val_tar_at_far_1pct", "val_eer", "val_threshold")


def recalibrate(ckpt: dict, data: list[str], log=print) -> dict:
    """A copy of `ckpt` whose threshold and validation metrics are re-measured on its validation pairs."""
    stored = TrainConfig.from_dict(ckpt.get("config") or {})
    # the pairs depend on the data, val_fraction, seed and pair options only: no start weights, no teacher
    config = dataclasses.replace(stored, start="none", teacher="", identity_loss_weight=0.0)
    setup = MatcherSetup(data, config, torch.device("cpu"), log)
    setup.model = model_from_checkpoint(ckpt)
    metrics = setup.evaluate(threading.Event())
    if setup.last_scores is None:
        raise SystemExit("none of the validation pairs could be read: is DATA what the checkpoint was trained on?")
    metrics.update(setup.report_on(*setup.last_scores))  # the same scores: the pairs are scored once
    out = dict(ckpt)
    before = {k: ckpt.get("metrics", {}).get(k) for k in _VAL_KEYS + ("val_per_condition",)}
    out["metrics"] = dict(ckpt.get("metrics") or {}, **metrics, before_recalibration=before)
    out["threshold"] = float(metrics["val_threshold"])
    log(f"{len(setup.val_pairs)} validation pairs: threshold {ckpt.get('threshold'):.3f} -> {out['threshold']:.3f}, "
        f"AUC {before['val_auc']:.4f} -> {metrics['val_auc']:.4f}, "
        f"accuracy {before['val_accuracy']:.4f} -> {metrics['val_accuracy']:.4f}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a FaceApp matcher checkpoint")
    p.add_argument("data", nargs="+", help="the training data it was trained on (identity folders / .txt lists)")
    p.add_argument("-o", "--output", required=True, help="where to write the recalibrated copy")
    args = p.parse_args(argv)
    save_checkpoint(args.output, recalibrate(load_checkpoint(args.checkpoint, task="matcher"), args.data))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
