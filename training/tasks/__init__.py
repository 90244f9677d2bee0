"""Task plugins for the one training loop: each builds its model, data loaders, loss and evaluation."""
from .bank_matcher import BankMatcherSetup, is_bank
from .base import TaskSetup
from .gender import GenderSetup
from .matcher import MatcherSetup, MatcherTask


class MatcherSetups:
    """The matcher's two setups under one task name: a face bank file trains by dense distillation,
    identity folders by pairs. Both select on the same metric and write the same kind of checkpoint."""

    task, selection, classes = MatcherTask.task, MatcherTask.selection, MatcherTask.classes

    def __call__(self, data, config, device, log) -> TaskSetup:
        setup = BankMatcherSetup if is_bank(data) else MatcherSetup
        return setup(data, config, device, log)


SETUPS = {"gender": GenderSetup, "matcher": MatcherSetups()}

__all__ = ["SETUPS", "TaskSetup", "GenderSetup", "MatcherSetup", "BankMatcherSetup", "is_bank"]
