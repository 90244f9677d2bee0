"""The training wizard: five pages over one shared state, the training run, and the app's model store."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget, QWizard

from faceapp.core.wizard.runs import RunInfo
from faceapp.ui.wizard.bridge import TrainingRun
from faceapp.ui.wizard.data_page import DataPage
from faceapp.ui.wizard.memory import WizardMemory
from faceapp.ui.wizard.results_page import ResultsPage
from faceapp.ui.wizard.session import WizardSession, WizardState
from faceapp.ui.wizard.settings_page import SettingsPage
from faceapp.ui.wizard.task_page import TaskPage
from faceapp.ui.wizard.training_page import TrainingPage
from faceapp.ui.workers import WorkerPool
from training.selection import best_epoch

PAGE_TASK, PAGE_DATA, PAGE_SETTINGS, PAGE_TRAINING, PAGE_RESULTS = range(5)
FULL_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.BackButton, QWizard.WizardButton.NextButton,
                QWizard.WizardButton.FinishButton, QWizard.WizardButton.CancelButton]
TRAINING_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.NextButton, QWizard.WizardButton.CancelButton]


class TrainWizard(QWizard):
    closed = Signal()  # Finish, or Cancel when nothing runs
    model_activated = Signal(str, str)  # task, path
    training_changed = Signal(bool)

    def __init__(self, models=None, memory: WizardMemory | None = None, out_dir=None, overrides: dict | None = None,
                 extra_callbacks=(), parent: QWidget | None = None):
        super().__init__(parent)
        self.session = WizardSession(models, memory, out_dir, overrides, extra_callbacks)
        self.pool = WorkerPool(max_threads=2, parent=self)
        self.run = TrainingRun(self.pool, self)
        self.training = False
        self.setWindowTitle("Train a model")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        session = self.session  # each page gets what it needs, never a sibling page
        self.task_page, self.data_page = TaskPage(session), DataPage(self.pool, session)
        self.settings_page, self.training_page = SettingsPage(self.pool, session), TrainingPage(self.run, session)
        self.results_page = ResultsPage(self.pool, session, self.training_page.charts)
        for page_id, page in enumerate((self.task_page, self.data_page, self.settings_page, self.training_page,
                                        self.results_page)):
            self.setPage(page_id, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Done")
        self.settings_page.estimated.connect(self.training_page.set_estimate)
        self.training_page.running_changed.connect(self.set_training)
        self.results_page.activated.connect(self.model_activated)
        self.setButtonLayout(FULL_BUTTONS)

    # ------------------------------------------------------------ starting points
    def start_new(self, task: str | None = None) -> None:
        task = task or self.session.memory.task()
        self.session.state = WizardState(task=task, folder=self.session.memory.folder(task))
        self.setStartId(PAGE_TASK)
        self.restart()

    def resume(self, run: RunInfo) -> None:
        """Continue a run from its last.pt: the wizard opens on the Data page with the run's folder."""
        self.session.state = WizardState(task=run.task, folder=(run.data or [""])[0], resume=run)
        self.setStartId(PAGE_TASK)
        self.restart()
        self.next()

    def show_results(self, run: RunInfo) -> None:
        self.session.state = WizardState(task=run.task, folder=(run.data or [""])[0], past=run)
        self.training_page.charts.clear(run.task)
        for i, row in enumerate(run.history):
            best = best_epoch(run.history[: i + 1], run.selection, run.min_delta)
            self.training_page.charts.add_epoch({**row, "selection": run.selection}, best)
        self.setStartId(PAGE_RESULTS)
        self.restart()

    # ------------------------------------------------------------ the shared session
    @property
    def state(self) -> WizardState:
        """The choices made so far (the session's, new for each start)."""
        return self.session.state

    def out_dir(self) -> str:
        """The folder runs are saved in (the one last chosen on the Settings page)."""
        return self.session.out_dir()

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
