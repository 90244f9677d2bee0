"""Calibrate a gender checkpoint trained before calibration existed, on its own validation split.

Training now fits the temperature and the "uncertain below" level on the validation split at the end of
every run (`training.tasks.gender.GenderSetup.calibrate`). This rebuilds the very same split from the
configuration stored in the checkpoint (same data, fraction and seed: pass the same training data, in
the same order), runs that step with the checkpoint's weights, and writes a copy with the temperature,
the level and the validation calibration figures. Never sees the test (G1) images.

    python -m benchmarks.calibrate_gender resources/models/gender.pt .devdata/pack/facecom \\
        .devdata/pack/gender_extra.csv -o gender_calibrated.pt
"""
from __future__ import annotations

import argparse
import dataclasses
import threading

import torch

from training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from training.config import TrainConfig
from training.data import load_gender_sources
from training.tasks.gender import GenderSetup


def calibrate(ckpt: dict, data: list[str], log=print) -> dict:
    """A copy of `ckpt` with the temperature and uncertain level fitted on its validation split."""
    stored = TrainConfig.from_dict(ckpt.get("config") or {})
    config = dataclasses.replace(stored, start="none", workers=0)  # the split needs no start weights
    setup = GenderSetup(load_gender_sources(data), config, torch.device("cpu"), log)
    if setup.classes != list(ckpt["classes"]):
        raise SystemExit(f"the data's classes {setup.classes} are not the checkpoint's {ckpt['classes']}")
    setup.model = model_from_checkpoint(ckpt).float()
    report = setup.calibrate(threading.Event())
    if not report:
        raise SystemExit("no validation image could be read: is DATA what the checkpoint was trained on?")
    out = dict(ckpt)
    out.update(report.pop("checkpoint_fields"))
    out["metrics"] = dict(ckpt.get("metrics") or {}, **report)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="a FaceApp gender checkpoint")
    p.add_argument("data", nargs="+", help="the training data it was trained on (folders / CSV lists, same order)")
    p.add_argument("-o", "--output", required=True, help="where to write the calibrated copy")
    args = p.parse_args(argv)
    save_checkpoint(args.output, calibrate(load_checkpoint(args.checkpoint, task="gender"), args.data))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
