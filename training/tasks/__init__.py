"""Task plugins for the one training loop: each builds its model, data loaders, loss and evaluation."""
from .base import TaskSetup
from .gender import GenderSetup
from .matcher import MatcherSetup

SETUPS = {"gender": GenderSetup, "matcher": MatcherSetup}

__all__ = ["SETUPS", "TaskSetup", "GenderSetup", "MatcherSetup"]
