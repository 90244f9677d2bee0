"""The training wizard: five pages over one shared state, the training run, and the app's model store."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from faceapp.core.wizard.adoption import Adoption, compare_with_active
from faceapp.core.wizard.defaults import suggested_config
from faceapp.core.wizard.runs import SELECTION, RunInfo, read_run
from faceapp.ui.wizard.bridge import TrainingRun
from faceapp.ui.wizard.data_page import DataPage
from faceapp.ui.wizard.memory import WizardMemory
from faceapp.ui.wizard.results_page import ResultsPage
from faceapp.ui.wizard.settings_page import SettingsPage
from faceapp.ui.wizard.task_page import TaskPage
from faceapp.ui.wizard.training_page import TrainingPage
from faceapp.ui.workers import WorkerPool
from training.selection import best_epoch

log = logging.getLogger(__name__)
PAGE_TASK, PAGE_DATA, PAGE_SETTINGS, PAGE_TRAINING, PAGE_RESULTS = range(5)
FULL_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton]
TRAINING_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.NextButton, QWizard.WizardButton.CancelButton]


@dataclass
class WizardState:
    task: str = "gender"
    folder: str = ""
    report: object = None  # DataReport of the folder
    config: object = None  # TrainConfig chosen on the Settings page
    resume: RunInfo | None = None  # the run being continued
    result: object = None  # FitResult of the latest run
    past: RunInfo | None = None  # a past run opened straight on the Results page


class TrainWizard(QWizard):
    closed = Signal()  # Finish, or Cancel when nothing runs
    model_activated = Signal(str, str)  # task, path
    training_changed = Signal(bool)

    def __init__(self, models=None, memory: WizardMemory | None = None, out_dir=None, overrides: dict | None = None,
                 extra_callbacks=(), parent: QWidget | None = None):
        super().__init__(parent)
        self.models = models  # ActiveModels (its store takes activated models), or None
        self.memory = memory or WizardMemory()
        self.default_out_dir = str(out_dir) if out_dir else str(Path.home() / "faceapp-runs")
        self.overrides = dict(overrides or {})  # TrainConfig values forced under the Settings page (tests)
        self.extra_callbacks = list(extra_callbacks)
        self.state = WizardState()
        self.pool = WorkerPool(max_threads=2, parent=self)
        self.run = TrainingRun(self.pool, self)
        self.training = False
        self.setWindowTitle("Train a model")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.task_page, self.data_page, self.settings_page = TaskPage(), DataPage(self.pool), SettingsPage(self.pool)
        self.training_page, self.results_page = TrainingPage(self.run), ResultsPage(self.pool)
        for page_id, page in enumerate((self.task_page, self.data_page, self.settings_page, self.training_page,
                                        self.results_page)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Done")
        self.results_page.activated.connect(self.model_activated)
        self.setButtonLayout(FULL_BUTTONS)

    # ------------------------------------------------------------ starting points
    def start_new(self, task: str | None = None) -> None:
        task = task or self.memory.task()
        self.state = WizardState(task=task, folder=self.memory.folder(task))
        self.setStartId(PAGE_TASK)
        self.restart()

    def resume(self, run: RunInfo) -> None:
        """Continue a run from its last.pt: the wizard opens on the Data page with the run's folder."""
        self.state = WizardState(task=run.task, folder=(run.data or [""])[0], resume=run)
        self.setStartId(PAGE_TASK)
        self.restart()
        self.next()

    def show_results(self, run: RunInfo) -> None:
        self.state = WizardState(task=run.task, folder=(run.data or [""])[0], past=run)
        self.training_page.charts.clear(run.task)
        for i, row in enumerate(run.history):
            best = best_epoch(run.history[: i + 1], run.selection, run.min_delta)
            self.training_page.charts.add_epoch({**row, "selection": run.selection}, best)
        self.setStartId(PAGE_RESULTS)
        self.restart()

    # ------------------------------------------------------------ what the pages share
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
            name = "the bundled model" if path == self.models.store.bundled_path(run.task) else path.name
            try:
                summary = self.models.store.summary(path, run.task)
            except Exception:  # noqa: BLE001 - an unreadable active model has no score to compare
                summary = None
        return compare_with_active(run, summary, name)

    def restore_model(self, task: str, path: Path) -> None:
        """Make `path` (a model in the store, or the bundled one) the active model of `task` again."""
        self.models.store.activate(task, path)
        self.models.invalidate()
        log.info("went back to %s model %s", task, path)

    # ------------------------------------------------------------ training and closing
    def set_training(self, running: bool) -> None:
        self.training = running
        self.setButtonLayout(TRAINING_BUTTONS if running else FULL_BUTTONS)
        self.training_changed.emit(running)

    def confirm_stop(self) -> bool:
        """Ask before stopping a run; on yes, ask the run to stop (it ends within a batch)."""
        if not self.run.running:
            return True
        answer = QMessageBox.question(self, "Stop training?", "A model is training. Stop it now? The best checkpoint "
                                      "of the finished epochs is kept.")
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.training_page.cancel()
        return True

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the run and every job, waiting up to `timeout_ms`; True when all ended."""
        self.run.cancel()
        stopped = self.run.wait(timeout_ms / 1000)
        return self.pool.shutdown(timeout_ms) and stopped

    def reject(self) -> None:
        if self.run.running:
            self.confirm_stop()  # the page shows the run stopping; the wizard stays open on its results
            return
        self.closed.emit()

    def done(self, result: int) -> None:  # embedded: never hide, hand back to the Train page
        self.setResult(result)
        self.closed.emit()
