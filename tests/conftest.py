"""Fixtures shared by the whole suite."""
import os

# Processes the tests start (the app's self-test, CLI runs, import checks) inherit this: see `one_thread`.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


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
