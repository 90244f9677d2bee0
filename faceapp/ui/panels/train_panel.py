"""Train page: past training runs and the training wizard, embedded (new run, resume, results of a past run).

The wizard is built the first time it is opened: its modules import torch and pyqtgraph (~0.6 s beside
torch's ~2 s), which the window's first paint does not wait for. In the app, the buttons that open it wait
for the warm-up to import the model code, so the GUI thread neither imports torch beside the warm-up
thread nor waits for it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.model_code import import_model_code
from faceapp.core.wizard.runs import RunInfo, delete_run, list_runs, run_size
from faceapp.ui.widgets import MUTED
from faceapp.ui.wizard.memory import WizardMemory

log = logging.getLogger(__name__)
INTRO = ("<h2>Training wizard</h2><p>Train your own gender classifier or face matcher on your folders, with live "
         "charts. It runs the same training code as the command line (<code>python -m training</code>), on the GPU "
         "when there is one. Runs are saved in <code>{folder}</code>.</p>")
STATUS = {"completed": "completed", "early_stopping": "stopped early", "cancelled": "cancelled",
          "time_limit": "time limit", "unfinished": "unfinished"}


def _default_runs_dir() -> Path:
    from faceapp.ui.data_folder import data_dir

    return data_dir() / "runs"


class TrainPanel(QWidget):
    status = Signal(str)
    models_changed = Signal()

    def __init__(self, models=None, settings=None, parent: QWidget | None = None, *, overrides: dict | None = None,
                 extra_callbacks=(), runs_dir=None):
        """`runs_dir`: where new runs go unless the user picked a folder (default: the app data folder's)."""
        super().__init__(parent)
        self.models = models
        self.memory = WizardMemory(settings.q if settings is not None else None)
        self.default_runs_dir = runs_dir or _default_runs_dir()
        self._wizard_options = {"overrides": overrides, "extra_callbacks": extra_callbacks}
        self._wizard = None  # built when first opened
        # Models not ready yet: the app's warm-up is to import the model code; the window says when it has.
        self.waiting_for_model_code = models is not None and not models.ready
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        self.new_button = QPushButton("New training run…", clicked=self.new_run)
        self.new_button.setDefault(True)
        self.runs = QTreeWidget()
        self.runs.setHeaderLabels(["Run", "Model", "Started", "Epochs", "Best validation score", "Status"])
        self.runs.setRootIsDecorated(False)
        self.runs.setAlternatingRowColors(True)
        self.runs.itemSelectionChanged.connect(self._selection_changed)
        self.runs.itemDoubleClicked.connect(lambda *_: self.show_results())
        self.results_button = QPushButton("Show results", clicked=self.show_results)
        self.resume_button = QPushButton("Resume…", clicked=self.resume_selected)
        self.resume_button.setToolTip("Continue the run from its last checkpoint (e.g. with more epochs)")
        self.folder_button = QPushButton("Open run folder", clicked=self.open_selected_folder)
        self.delete_button = QPushButton("Delete run…", clicked=self.delete_selected)
        self.delete_button.setToolTip("Delete the run folder and its checkpoints (models already in use in the app "
                                      "are copies and stay)")
        refresh = QPushButton("Refresh", clicked=self.refresh_runs)
        self.empty = QLabel("No training runs yet.")
        self.empty.setStyleSheet(f"color: {MUTED};")
        home = QWidget()
        buttons = QHBoxLayout()
        for b in (self.results_button, self.resume_button, self.folder_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        layout = QVBoxLayout(home)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(QLabel("<b>Past runs</b>"))
        layout.addWidget(self.empty, 1, Qt.AlignmentFlag.AlignTop)  # takes the space while the list is hidden
        layout.addWidget(self.runs, 1)
        layout.addLayout(buttons)
        self.stack = QStackedWidget()
        self.stack.addWidget(home)
        outer = QVBoxLayout(self)
        outer.addWidget(self.intro)  # a direct child, shown with the list of runs only
        outer.addWidget(self.stack, 1)
        self.stack.currentChanged.connect(lambda index: self.intro.setVisible(index == 0))
        self.refresh_runs()

    # ------------------------------------------------------------ the wizard
    @property
    def wizard(self):
        """The embedded TrainWizard, built on first use."""
        if self._wizard is None:
            import_model_code()  # the wizard's modules import torch: after the warm-up's imports, never beside them
            from faceapp.ui.wizard.wizard import TrainWizard

            wizard = TrainWizard(self.models, self.memory, out_dir=self.default_runs_dir, **self._wizard_options)
            wizard.setWindowFlags(Qt.WindowType.Widget)
            wizard.closed.connect(self.show_home)
            wizard.model_activated.connect(self._activated)
            self.stack.addWidget(wizard)
            self._wizard = wizard
        return self._wizard

    def wizard_can_open(self) -> bool:
        """False until the warm-up has imported the model code the wizard's modules need."""
        return not self.waiting_for_model_code

    def model_code_loaded(self) -> None:
        self.waiting_for_model_code = False
        self._selection_changed()

    # ------------------------------------------------------------ runs
    def runs_dir(self) -> Path:
        """Where runs go: the folder picked in the wizard, else the data folder's (the wizard's `out_dir`)."""
        return Path(self.memory.out_dir(str(self.default_runs_dir)))

    def refresh_runs(self) -> None:
        self.intro.setText(INTRO.format(folder=self.runs_dir()))
        self.runs.clear()
        for run in list_runs(self.runs_dir()):
            best = run.best
            score = f"{run.score_name} {best[run.selection]:.3f} (epoch {best['epoch']})" if best else "—"
            item = QTreeWidgetItem([run.name, run.task,
                                    time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created)),
                                    f"{run.epochs_done} / {run.epochs_planned}", score,
                                    STATUS.get(run.stop_reason, run.stop_reason)])
            item.setData(0, Qt.ItemDataRole.UserRole, run)
            item.setToolTip(0, str(run.path))
            self.runs.addTopLevelItem(item)
        for column in range(self.runs.columnCount()):
            self.runs.resizeColumnToContents(column)
        self.empty.setVisible(self.runs.topLevelItemCount() == 0)
        self.runs.setVisible(self.runs.topLevelItemCount() > 0)
        if self.runs.topLevelItemCount():
            self.runs.setCurrentItem(self.runs.topLevelItem(0))
        self._selection_changed()

    def selected_run(self) -> RunInfo | None:
        item = self.runs.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _selection_changed(self) -> None:
        run, can_open = self.selected_run(), self.wizard_can_open()
        self.new_button.setEnabled(can_open)
        self.new_button.setToolTip("" if can_open else "Loading the training code…")
        self.results_button.setEnabled(can_open and run is not None and run.best_path is not None)
        self.resume_button.setEnabled(can_open and run is not None and run.last_path is not None)
        self.folder_button.setEnabled(run is not None)
        self.delete_button.setEnabled(run is not None)

    # ------------------------------------------------------------ actions
    def new_run(self, task: str | None = None) -> None:
        self.wizard.start_new(task)
        self.stack.setCurrentWidget(self.wizard)

    def show_results(self, run: RunInfo | None = None) -> None:
        run = run or self.selected_run()
        if run is not None and run.best_path is not None:
            self.wizard.show_results(run)
            self.stack.setCurrentWidget(self.wizard)

    def resume_selected(self, run: RunInfo | None = None) -> None:
        run = run or self.selected_run()
        if run is not None and run.last_path is not None:
            self.stack.setCurrentWidget(self.wizard)
            self.wizard.resume(run)

    def open_selected_folder(self) -> None:
        run = self.selected_run()
        if run is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(run.path)))

    def delete_selected(self) -> None:
        """Delete the selected run's folder after the user confirms (never while a model is training)."""
        run = self.selected_run()
        if run is None:
            return
        if self._wizard is not None and self._wizard.training:
            self.status.emit("A model is training: delete runs once it has finished.")
            return
        size = run_size(run.path) / 2**20
        answer = QMessageBox.question(
            self, "Delete run?", f"Delete the run {run.name} and its folder ({size:,.0f} MB)?\n\n{run.path}\n\n"
            "Its checkpoints and charts are deleted. A model from it already in use in the app is a copy and stays.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_run(run.path, self.runs_dir())
        except (OSError, ValueError) as exc:
            self.status.emit(f"Could not delete {run.name}: {getattr(exc, 'strerror', None) or exc}")
            self.refresh_runs()
            return
        log.info("deleted run %s (%.0f MB)", run.path, size)
        self.status.emit(f"Deleted the run {run.name} ({size:,.0f} MB freed).")
        self.refresh_runs()

    def show_home(self) -> None:
        self.stack.setCurrentIndex(0)
        self.refresh_runs()

    def _activated(self, task: str, path: str) -> None:
        kind = "gender model" if task == "gender" else "face matcher"
        self.status.emit(f"{Path(path).name} is now the active {kind}.")
        self.models_changed.emit()

    # ------------------------------------------------------------ closing
    def confirm_close(self) -> bool:
        """Before the window closes: ask when a model is training; on yes, stop it (within a batch)."""
        return self._wizard is None or self._wizard.confirm_stop()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self.memory.sync()
        return self._wizard is None or self._wizard.shutdown(timeout_ms)
