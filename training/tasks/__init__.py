"""Task plugins for the one training loop: each builds its model, data loaders, loss and evaluation."""
from .bank_matcher import BankMatcherSetup, is_bank
from .base import TaskSetup
from .gender import GenderSetup
from .matcher import MatcherSetup


def matcher_setup(data, config, device, log) -> TaskSetup:
    """The matcher's setup for `data`: a face bank file trains by dense distillation, folders by pairs."""
    setup = BankMatcherSetup if is_bank(data) else MatcherSetup
    return setup(data, config, device, log)


SETUPS = {"gender": GenderSetup, "matcher": matcher_setup}

__all__ = ["SETUPS", "TaskSetup", "GenderSetup", "MatcherSetup", "BankMatcherSetup", "is_bank"]
