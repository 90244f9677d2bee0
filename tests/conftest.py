"""Fixtures shared by the whole suite."""
import os

# Processes the tests start (the app's self-test, CLI runs, import checks) inherit this: see `one_thread`.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Every test runs torch on one intra-op thread. Tiny tensors run faster on one, and a busy machine
    cannot oversubscribe it: with two threads on two cores that another process also uses, OpenMP's
    threads wait for each other at every layer, and a small matcher training took 142 s instead of 15 s
    (the suite's training tests once hit the 300 s timeout that way). Modules that name this fixture keep
    working; it is on for all of them anyway."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def trained_matcher(tmp_path_factory):
    """(identity folder, FitResult) of a small matcher trained on generated identities, for the tests that
    need one: that training learns, and that recalibration rebuilds its validation pairs. 32 px photos
    (the input size: no resizing), 2 x 32 steps of 4 pairs, 128 validation pairs: about 10 seconds on a busy
    CPU. Fewer steps are not enough: BatchNorm's running statistics, which validation uses, need about 30
    steps to settle (before that every validation pair scores the same: AUC 0.5, whatever was learnt). With
    half the steps and pairs the best validation AUC of seeds 0-5 was 0.79-0.98 on one CPU and 0.74-0.94 on
    another (an AVX-512 EPYC: other kernels, another trajectory); with these, 0.81-0.93 on the second."""
    from training.config import default_config
    from training.engine import fit

    from .synthetic import make_identity_folder

    tmp = tmp_path_factory.mktemp("matcher")
    data = make_identity_folder(tmp / "ids", people=12, photos=4, size=32)
    config = default_config("matcher", epochs=2, batch_size=4, input_size=32, workers=0, pairs_per_epoch=128,
                            val_pairs=128, out_dir=str(tmp / "runs"), warmup_epochs=0, lr=2e-3,
                            scheduler="none", val_fraction=0.3, max_severity=1, clean_probe_fraction=0.5)
    return data, fit("matcher", [data], config)


@pytest.fixture
def tiny_networks(monkeypatch):
    """Training builds the tiny stand-in networks (tests/tiny_networks.py) instead of ResNet-18/MobileNetV2."""
    from training.tasks import gender, matcher

    from .tiny_networks import build_tiny_model

    monkeypatch.setattr(gender, "build_model", build_tiny_model)
    monkeypatch.setattr(matcher, "build_model", build_tiny_model)
