"""Whether a newly trained model should replace the active one (Qt-free): its validation score beside the
active model's, and a verdict the Results page words and acts on (which button is the default, whether
to ask first).

Each model's score comes from its own checkpoint, measured on its own run's validation data, so the
comparison is a guide, not a test on common data; the page says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from faceapp.core.wizard.runs import SCORE_NAMES, RunInfo

# At or below this validation score a model does no better than guessing: balanced accuracy 0.5 is a
# gender model that calls everyone the same, ROC AUC 0.5 a matcher whose scores ignore the faces.
CHANCE = 0.55
# Worse than the active model by more than this: a real loss, beyond run-to-run noise.
WORSE_BY = 0.01


@dataclass(frozen=True)
class Adoption:
    score_name: str
    new: float | None
    active: float | None
    active_name: str  # "" when no model is active

    @property
    def verdict(self) -> str:
        """chance | worse | better | similar | unknown (no score to compare)."""
        if self.new is None:
            return "unknown"
        if self.new <= CHANCE:
            return "chance"
        if self.active is None:
            return "unknown"
        if self.new < self.active - WORSE_BY:
            return "worse"
        return "better" if self.new > self.active + WORSE_BY else "similar"

    @property
    def recommended(self) -> bool:
        """Whether using the new model is the safe default action."""
        return self.verdict in ("better", "similar", "unknown")

    def comparison(self) -> str:
        new = "no score" if self.new is None else f"{self.new:.3f}"
        text = f"Validation {self.score_name}: this run {new}"
        if self.active_name:
            active = "no score stored" if self.active is None else f"{self.active:.3f}"
            text += f"; the active model, {self.active_name}, {active} (each on its own run's validation data)"
        return text + "."

    def warning(self) -> str:
        """A sentence for the page when the new model should not replace the active one ('' otherwise)."""
        if self.verdict == "chance":
            return ("This model is no better than guessing: it would give most photos the same answer. "
                    "Keep the active model, and train longer or check the data.")
        if self.verdict == "worse":
            return f"This model scores lower than the active one ({self.active_name}). Keep the active model."
        return ""


def compare_with_active(run: RunInfo, active_summary: dict | None, active_name: str) -> Adoption:
    """The run's best validation score beside the active model's (from its checkpoint summary)."""
    key = run.selection
    best = (run.best or {}).get(key)
    active = (active_summary or {}).get("metrics", {}).get(key) if active_summary else None
    return Adoption(SCORE_NAMES.get(key, key), _number(best), _number(active), active_name)


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
