"""Fixtures shared by the whole suite."""
import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors run faster on one intra-op thread, and a busy machine cannot oversubscribe it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
