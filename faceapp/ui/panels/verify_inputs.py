"""What the Verify page's views (distortion preview, robustness sweep, gallery) work from, handed to each at
construction: the models and worker pool, the two photo slots and the decision controls. A view gets these,
never the page itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from faceapp.ui.image_slot import ImageSlot
from faceapp.ui.panels.decision_controls import DecisionControls
from faceapp.ui.workers import WorkerPool


@dataclass(frozen=True)
class VerifyInputs:
    models: object  # faceapp.core.active_models.ActiveModels
    settings: object  # faceapp.ui.settings.Settings
    pool: WorkerPool
    reference: ImageSlot
    probe: ImageSlot
    decision: DecisionControls
    assume_crop: Callable[[], bool]  # "Images are already face crops"

    def threshold(self) -> float:
        return self.decision.threshold()

    def uncertain_margin(self) -> float:
        return self.decision.uncertain_margin()
