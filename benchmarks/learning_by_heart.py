"""Does the matcher learn its faces by heart? Its cosine to the teacher on faces it trained on against faces it
has not seen (issue 17).

    python -m benchmarks.learning_by_heart .devdata/runs/s6/best.pt .devdata/bank80_aligned.npz \\
        .devdata/mixes/part-00{00..39}.npz --unseen .devdata/mixes/part-0040.npz

BANKS are the run's face banks, in its order (the photos first, then e.g. the synthetic faces of
benchmarks/mixes.py); UNSEEN are banks of one-photo faces made after the run, with their targets in the teacher
file (by default the run's own). The run's split is rebuilt from the checkpoint's settings (one-photo faces never
move it), and the student (the checkpoint) embeds the clean crop of each face with its mirror view, as validation
does. Rows: training photos (as many as the held-out photos, the run's own `train_teacher_cos` sample), the
held-out photos (`val_teacher_cos`), faces of the later banks it trained on (a sample as large) and the unseen
faces. A student that generalises scores unseen faces as it scores the faces it trained on.
"""
from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import numpy as np
import torch

from training.config import TrainConfig
from training.data.bank import bank_header
from training.tasks.bank_matcher import BankMatcherSetup

from . import markdown


def face_groups(setup: BankMatcherSetup, sizes: list[int], trained_banks: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Rows of each kind of face: `sizes` are the banks' photo counts in order, the first `trained_banks` of
    them the run's own."""
    offsets = np.cumsum([0, *sizes])
    train = setup.train_rows.numpy()
    added = train[(train >= offsets[1]) & (train < offsets[trained_banks])]
    count = len(setup.val_rows)
    rng = np.random.default_rng(seed)
    return {"training photos": np.asarray(setup.fit_rows),
            "held-out photos": np.asarray(setup.val_rows),
            "added faces trained on": np.sort(rng.choice(added, min(count, len(added)), replace=False)),
            "unseen faces": np.arange(offsets[trained_banks], offsets[-1])}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", type=Path, help="a matcher checkpoint trained on face banks (best.pt, last.pt)")
    p.add_argument("banks", type=Path, nargs="+", help="the run's face banks, in the run's order")
    p.add_argument("--unseen", type=Path, nargs="*", default=[], help="banks of faces made after the run")
    p.add_argument("--teacher", type=Path, help="teacher file with every bank's targets (default: the run's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample of added faces (default 0)")
    p.add_argument("--json", type=Path, help="also write the table here")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    settings = dict(torch.load(args.checkpoint, map_location="cpu", weights_only=True)["config"])
    settings.update(start=str(args.checkpoint), compile=False, device="cpu")
    if args.teacher:
        settings["teacher"] = str(args.teacher)
    banks = [*args.banks, *args.unseen]
    setup = BankMatcherSetup([str(b) for b in banks], TrainConfig.from_dict(settings), torch.device("cpu"),
                             lambda message: None)
    groups = face_groups(setup, [len(bank_header(b)["identities"]) for b in banks], len(args.banks), args.seed)
    never = threading.Event()
    rows = [{"faces": name, "count": len(r), "teacher_cosine": setup.teacher_cosine(r, never)}
            for name, r in groups.items()]
    print(f"{args.checkpoint}: the student's cosine to the teacher (clean crops, mirror view)")
    print(markdown.table(["faces", "count", "teacher cosine"],
                         [[r["faces"], r["count"], f"{r['teacher_cosine']:.3f}"] for r in rows]))
    if args.json:
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
