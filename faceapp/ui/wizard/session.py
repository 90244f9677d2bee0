"""What the training wizard's pages share, handed to each page when it is built: the choices made so far
(`state`, new for each start), the remembered choices, the app's models, and what follows from them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from faceapp.core.wizard.adoption import Adoption, compare_with_active
from faceapp.core.wizard.defaults import suggested_config
from faceapp.core.wizard.runs import SELECTION, RunInfo, read_run
from faceapp.ui.wizard.memory import WizardMemory

log = logging.getLogger(__name__)


@dataclass
class WizardState:
    task: str = "gender"
    folder: str = ""
    report: object = None  # DataReport of the folder
    config: object = None  # TrainConfig chosen on the Settings page
    resume: RunInfo | None = None  # the run being continued
    result: object = None  # FitResult of the latest run
    past: RunInfo | None = None  # a past run opened straight on the Results page


class WizardSession:
    def __init__(self, models=None, memory: WizardMemory | None = None, out_dir=None, overrides: dict | None = None,
                 extra_callbacks=()):
        self.models = models  # ActiveModels (its store takes activated models), or None
        self.memory = memory or WizardMemory()
        self.default_out_dir = str(out_dir) if out_dir else str(Path.home() / "faceapp-runs")
        self.overrides = dict(overrides or {})  # TrainConfig values forced under the Settings page (tests)
        self.extra_callbacks = list(extra_callbacks)
        self.state = WizardState()

    def out_dir(self) -> str:
        return self.memory.out_dir(self.default_out_dir)

    def base_config(self):
        """The settings to show: the resumed run's own, else the suggestion for the device plus remembered choices."""
        from training.config import TrainConfig
        from training.device import resolve_device

        task = self.state.task
        if self.state.resume is not None:
            return TrainConfig.from_dict({**self.state.resume.config, "task": task})
        remembered = self.memory.settings(task)
        try:
            device_type = resolve_device(remembered.get("device", "auto")).type
        except (RuntimeError, ValueError):
            device_type, remembered["device"] = "cpu", "auto"
        base = suggested_config(task, device_type).to_dict()
        try:
            return TrainConfig.from_dict({**base, **remembered, "out_dir": self.out_dir()})
        except ValueError:
            return TrainConfig.from_dict({**base, "out_dir": self.out_dir()})

    def selection(self, task: str | None = None) -> str:
        return SELECTION[task or self.state.task]

    def shown_run(self) -> RunInfo:
        """The run the Results page is about: the one just trained, or a past one."""
        if self.state.past is not None:
            return self.state.past
        run = read_run(self.state.result.run_dir)
        if run is None:
            raise RuntimeError(f"{self.state.result.run_dir} is not a run folder")
        return run

    # ------------------------------------------------------------ the app's models
    def activate(self, run: RunInfo) -> Path:
        """Copy the run's best.pt into the app's model folder under the run's name and make it active."""
        if self.models is None or run.best_path is None:
            raise RuntimeError("there is no model store to put the model in")
        entry = self.models.store.import_checkpoint(run.best_path, task=run.task, activate=True, name=run.name)
        self.models.invalidate()
        log.info("activated %s model %s from %s", run.task, entry.path, run.path)
        return entry.path

    def adoption(self, run: RunInfo) -> Adoption | None:
        """The run's validation score beside the active model's, or None without a model store."""
        if self.models is None:
            return None
        path = self.models.path(run.task)
        summary, name = None, ""
        if path is not None:
            name = self.model_name(run.task, path)
            try:
                summary = self.models.store.summary(path, run.task)
            except Exception:  # noqa: BLE001 - an unreadable active model has no score to compare
                summary = None
        return compare_with_active(run, summary, name)

    def model_name(self, task: str, path: Path) -> str:
        """How the pages name a model of the app: "the bundled model", or its file name."""
        return "the bundled model" if path == self.models.store.bundled_path(task) else path.name

    def restore_model(self, task: str, path: Path) -> None:
        """Make `path` (a model in the store, or the bundled one) the active model of `task` again."""
        self.models.store.activate(task, path)
        self.models.invalidate()
        log.info("went back to %s model %s", task, path)
