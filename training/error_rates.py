"""How often a matcher's decision is wrong at a threshold, read from the score distributions of its
validation pairs, which the checkpoint keeps as two histograms.

The histograms have one bin per 0.001 of match probability, the Verify slider's step, so the rates at
any slider position are exact for the stored pairs: a score s falls in bin floor(1000 s), and "s at or
above k / 1000" is "bin k or higher". Kept as plain lists of ints (a checkpoint holds plain types only).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 1000


def _histogram(scores) -> tuple[int, ...]:
    scores = np.clip(np.asarray(scores, dtype=np.float64).reshape(-1), 0.0, 1.0)
    index = np.minimum((scores * BINS).astype(np.int64), BINS - 1)
    return tuple(int(c) for c in np.bincount(index, minlength=BINS))


@dataclass(frozen=True)
class ScoreHistograms:
    """Counts of genuine (same person) and impostor (different people) validation scores per 0.001 bin."""

    genuine: tuple[int, ...]
    impostor: tuple[int, ...]
    source: str = ""  # which pairs, in words

    @classmethod
    def from_scores(cls, genuine, impostor, source: str = "") -> "ScoreHistograms":
        return cls(_histogram(genuine), _histogram(impostor), source)

    @classmethod
    def from_dict(cls, value) -> "ScoreHistograms | None":
        """From a checkpoint's `score_histograms`; None when absent or malformed (older checkpoints)."""
        if not isinstance(value, dict) or value.get("bins") != BINS:
            return None
        genuine, impostor = value.get("genuine"), value.get("impostor")
        if not all(isinstance(h, (list, tuple)) and len(h) == BINS and all(isinstance(c, int) and c >= 0 for c in h)
                   for h in (genuine, impostor)):
            return None
        if not sum(genuine) or not sum(impostor):
            return None
        return cls(tuple(genuine), tuple(impostor), str(value.get("source", "")))

    def to_dict(self) -> dict:
        return {"bins": BINS, "genuine": list(self.genuine), "impostor": list(self.impostor), "source": self.source}

    @property
    def genuine_pairs(self) -> int:
        return sum(self.genuine)

    @property
    def impostor_pairs(self) -> int:
        return sum(self.impostor)

    def _first_bin(self, threshold: float) -> int:
        return int(np.clip(np.ceil(round(threshold * BINS, 6)), 0, BINS))

    def false_match_rate(self, threshold: float) -> float:
        """Share of impostor pairs scoring at or above `threshold` (strangers accepted)."""
        return sum(self.impostor[self._first_bin(threshold):]) / self.impostor_pairs

    def false_non_match_rate(self, threshold: float) -> float:
        """Share of genuine pairs scoring below `threshold` (the same person rejected)."""
        return sum(self.genuine[: self._first_bin(threshold)]) / self.genuine_pairs

    def curves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(thresholds k / 1000 for k = 0..1000, false-match rates, false-non-match rates) at each: the
        FAR/FRR plot beside the slider, exact for the stored pairs."""
        impostor = np.asarray(self.impostor, dtype=np.int64)
        genuine = np.asarray(self.genuine, dtype=np.int64)
        at_or_above = np.concatenate([np.cumsum(impostor[::-1])[::-1], [0]])  # impostors in bin k and up
        below = np.concatenate([[0], np.cumsum(genuine)])  # genuine pairs in bins under k
        return (np.arange(BINS + 1) / BINS, at_or_above / self.impostor_pairs, below / self.genuine_pairs)

    def threshold_for_false_match_rate(self, rate: float) -> float:
        """The lowest slider threshold (a multiple of 0.001) whose false-match rate is at most `rate`."""
        tail = np.cumsum(np.asarray(self.impostor[::-1], dtype=np.int64))[::-1]  # impostors in bin k and up
        allowed = rate * self.impostor_pairs
        ok = np.flatnonzero(tail <= allowed)
        return float(ok[0]) / BINS if len(ok) else 1.0


def gallery_threshold(rates: ScoreHistograms | None, threshold: float, size: int) -> float:
    """The threshold for a gallery of `size` identities. Each extra identity is one more chance for a
    stranger to reach the 1:1 `threshold`, so a gallery uses the threshold at which a stranger matches any
    one of N identities no more often than one photo at `threshold` (false-match rate / N), never lower
    than `threshold`. Without stored score distributions, or for one identity, `threshold` itself."""
    if rates is None or size < 2:
        return threshold
    far = rates.false_match_rate(threshold)
    return max(threshold, rates.threshold_for_false_match_rate(far / size)) if far > 0 else threshold


def one_in(rate: float) -> str:
    """'about 1 in 340' for a rate of 0.0029; 'none' for 0 (of the pairs measured)."""
    if rate <= 0:
        return "none"
    n = 1 / rate
    rounded = round(n, -len(str(int(n))) + 2) if n >= 100 else round(n)
    return f"about 1 in {int(rounded):,}"
