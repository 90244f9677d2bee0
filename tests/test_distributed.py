"""Training in several processes (torchrun, DistributedDataParallel): two ranks on the CPU with gloo.

The end-to-end tests launch the real command, `python -m torch.distributed.run ... -m training
train-gender`, for a fresh run (held against a single-process run on the same data) and for a resume of
it. The rest checks, in this process, that every task's epoch is split
into disjoint shares of the one draw a single process makes.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from training import distributed
from training.checkpoint import load_checkpoint
from training.config import TrainConfig, default_config
from training.engine import fit
from training.tasks import GenderSetup, MatcherSetup

from .synthetic import make_gender_folder, make_identity_folder

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available()),
                                reason="this PyTorch has no torch.distributed with gloo")

ROOT = Path(__file__).resolve().parents[1]
# 24 training images (8 female, 20 male in train/ less 4 held out): 6 batches of 4 in one process,
# 3 per rank in two, so both see all 24 each epoch.
COUNTS = {"female": 8, "male": 20}
OPTIONS = ["--input-size", "32", "--batch-size", "4", "--workers", "0", "--warmup-epochs", "0",
           "--scheduler", "none", "--device", "cpu", "--no-crop-faces"]


def _launch(*args) -> tuple[subprocess.Popen, float]:
    """`torchrun --standalone --nproc_per_node 2 -m training -q ...`, started (and when)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "training", "-q", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True), time.perf_counter()


def _finished(launch: tuple[subprocess.Popen, float]) -> tuple[dict, float]:
    """(rank 0's printed summary, seconds since the start) of a launch, once it has ended well."""
    process, began = launch
    try:
        out, err = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and the ranks it started
        process.kill()
        raise
    assert process.returncode == 0, out[-3000:] + err[-3000:]
    return json.loads(out), time.perf_counter() - began  # one summary: only rank 0 prints


def _torchrun(*args) -> tuple[dict, float]:
    return _finished(_launch(*args))


def _metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _shapes(ckpt: dict) -> dict:
    return {k: tuple(v.shape) for k, v in ckpt["state_dict"].items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(data, a single-process run, rank 0's summary of a fresh two-rank run, the folder it wrote into),
    both two epochs on the same 24 training images."""
    tmp = tmp_path_factory.mktemp("ddp")
    data = make_gender_folder(tmp / "data", counts=COUNTS, split=True, size=32)
    launch = _launch("train-gender", str(data), "--out-dir", str(tmp / "runs"), "--epochs", "2", *OPTIONS)
    # meanwhile (torchrun spends most of its time starting), the single process
    single = fit("gender", [data], TrainConfig(task="gender", epochs=2, input_size=32, batch_size=4, workers=0,
                                               warmup_epochs=0, scheduler="none", device="cpu", crop_faces=False,
                                               out_dir=str(tmp / "single")))
    summary, seconds = _finished(launch)
    print(f"two ranks, two epochs: {seconds:.1f} s")
    return data, single, summary, tmp / "runs"


def test_two_ranks_write_one_run_like_a_single_process(runs):
    _, single, summary, out = runs
    folders = list(out.iterdir())
    assert len(folders) == 1 and summary["run_dir"] == str(folders[0])  # rank 0 alone made it
    run = folders[0]
    assert {p.name for p in run.iterdir()} == {p.name for p in single.run_dir.iterdir()}
    log = (run / "train.log").read_text(encoding="utf-8")
    assert log.count("distributed: 2 processes (gloo)") == 1 and log.count("finished (completed)") == 1

    rows, expected = _metrics(run), _metrics(single.run_dir)
    assert [r["epoch"] for r in rows] == ["1", "2"] and list(rows[0]) == list(expected[0])
    # Each rank trained on 12 of the epoch's 24 draws; together they saw what one process sees.
    assert [r["train_samples"] for r in rows] == [r["train_samples"] for r in expected] == ["24", "24"]

    for name in ("best.pt", "last.pt"):
        ours, theirs = load_checkpoint(run / name), load_checkpoint(single.run_dir / name)
        assert set(ours) == set(theirs) and _shapes(ours) == _shapes(theirs)
        assert set(ours["metrics"]) == set(theirs["metrics"])


def test_two_ranks_resume_a_run_from_its_last_checkpoint(runs):
    data, _, summary, out = runs
    resumed, seconds = _torchrun("train-gender", str(data), "--resume", summary["run_dir"], "--epochs", "3",
                                 *OPTIONS)
    print(f"two ranks, resuming for a third epoch: {seconds:.1f} s")
    run = Path(summary["run_dir"])
    assert resumed["run_dir"] == str(run) and len(list(out.iterdir())) == 1
    assert [r["epoch"] for r in _metrics(run)] == ["1", "2", "3"]
    log = (run / "train.log").read_text(encoding="utf-8")
    assert log.count("resumed from epoch 2") == 1  # logged by rank 0 alone
    last = load_checkpoint(run / "last.pt")
    assert last["epoch"] == 3 and [h["epoch"] for h in last["history"]] == [1, 2, 3]


@pytest.fixture
def two_ranks(monkeypatch):
    """Pretend to be rank r of 2 (call the returned function with r) without starting any process."""
    def become(r: int) -> None:
        monkeypatch.setattr(distributed, "world_size", lambda: 2)
        monkeypatch.setattr(distributed, "rank", lambda: r)
    return become


def _quiet(message):
    pass


def test_the_gender_ranks_split_one_balanced_draw(tmp_path, two_ranks):
    data = make_gender_folder(tmp_path / "data", counts=COUNTS, size=32)
    config = TrainConfig(task="gender", input_size=32, batch_size=4, workers=0, crop_faces=False)
    setup = GenderSetup([data], config, torch.device("cpu"), _quiet)
    whole = list(setup.train_loader(3).sampler)
    shares = []
    for r in (0, 1):
        two_ranks(r)
        loader = setup.train_loader(3)
        shares.append(list(loader.sampler))
        assert len(loader) == len(whole) // 2 // 4
    assert shares[0] + shares[1] == whole[: len(whole) // 2 * 2]  # the single process's draw, split in two


def test_the_matcher_ranks_split_one_list_of_pairs(tmp_path, two_ranks):
    data = make_identity_folder(tmp_path / "ids", people=6, photos=3, size=32)
    config = default_config("matcher", input_size=32, batch_size=4, workers=0, pairs_per_epoch=20, val_pairs=8,
                            crop_faces=False)
    setup = MatcherSetup([data], config, torch.device("cpu"), _quiet)
    whole = setup.train_loader(2).dataset.pairs
    shares = []
    for r in (0, 1):
        two_ranks(r)
        shares.append(setup.train_loader(2).dataset.pairs)
    assert shares[0] + shares[1] == whole and len(shares[0]) == len(shares[1]) == 10
    assert {p.same for p in shares[1]} == {0, 1}  # contiguous shares keep same and different pairs mixed


def test_one_process_takes_the_path_it_always_took():
    assert not distributed.launched() and not distributed.is_distributed()
    assert distributed.rank() == 0 and distributed.world_size() == 1 and distributed.rank_seed(7) == 7
    items = list(range(5))
    assert distributed.shard(items) is items and distributed.lockstep(items, None) is items
    assert distributed.on_main(lambda: 3) == 3 and distributed.sum_over_ranks(1.5, 2) == (1.5, 2)

    class Setup:
        def loss(self, batch):
            return batch

    setup = Setup()
    assert distributed.wrap_loss(setup, {}, torch.device("cpu")) == setup.loss
