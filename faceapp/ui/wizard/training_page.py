"""Wizard page 4: the run itself: live charts, progress with ETA, best-so-far, the log, and Cancel."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWizardPage,
)

from faceapp.core.wizard.runs import SCORE_NAMES, read_history
from faceapp.ui.widgets import MUTED, Notice, format_eta
from faceapp.ui.wizard.charts import TrainingCharts
from training.selection import best_epoch

REASONS = {"completed": "Training finished.",
           "early_stopping": "Stopped early: the validation score stopped improving, so more epochs would not help.",
           "cancelled": "Training was cancelled.",
           "time_limit": "Stopped at the time limit."}


class TrainingPage(QWizardPage):
    run_ended = Signal(str)  # stop reason, or "failed"
    running_changed = Signal(bool)  # the run started, or ended

    def __init__(self, run, session, parent=None):
        super().__init__(parent)
        self.run, self.session = run, session  # TrainingRun, WizardSession
        self.estimate = None  # the Settings page's measured epoch, for the time left before one is done
        self.setTitle("Training")
        self.result = None
        self.info: dict = {}
        self.epoch_rows: list[dict] = []
        self.status = QLabel("Starting…")
        font = QFont(self.status.font())
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.status.setFont(font)
        self.detail = QLabel()
        self.detail.setStyleSheet(f"color: {MUTED};")
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.cancel_button = QPushButton("Cancel training", clicked=self.cancel)
        self.cancel_button.setToolTip("Stops within a batch; the best checkpoint so far is kept")
        self.notice = Notice()
        self.charts = TrainingCharts()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(5000)
        self.log.setFont(QFont("monospace", 9))
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        top = QHBoxLayout()
        text = QVBoxLayout()
        text.addWidget(self.status)
        text.addWidget(self.detail)
        top.addLayout(text, 1)
        top.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.charts)
        split.addWidget(self.log)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([480, 110])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.notice)
        layout.addWidget(split, 1)
        run.started.connect(self._started)
        run.batches.connect(self._batches)
        run.epoch.connect(self._epoch)
        run.log_line.connect(self.log.appendPlainText)
        run.finished.connect(self._finished)
        run.failed.connect(self._failed)
        run.ended.connect(self._ended)

    # ------------------------------------------------------------ wizard hooks
    def initializePage(self) -> None:  # noqa: N802
        state = self.session.state
        self.result, self.info, self.epoch_rows = None, {}, []
        self.charts.clear(state.task)
        self.log.clear()
        self.notice.show_message(None)
        self.status.setText("Preparing the data and the model…")
        self.detail.setText("")
        self.progress.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel training")
        self.running_changed.emit(True)
        self.run.start(state.task, [state.folder], state.config, self.session.extra_callbacks)

    def isComplete(self) -> bool:  # noqa: N802
        return self.result is not None and self.result.best_path is not None

    def set_estimate(self, estimate) -> None:
        self.estimate = estimate

    def cancel(self) -> None:
        self.run.cancel()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.status.setText("Stopping after the current batch…")

    # ------------------------------------------------------------ run signals
    def _started(self, info: dict) -> None:
        self.info = dict(info)
        self.began = self.epoch_began = time.monotonic()
        self.done_batches = 0
        self.status.setText(f"Training on {info['device']}{' with mixed precision' if info['amp'] else ''}…")
        self.detail.setText(f"Run folder: {info['run_dir']}")
        if info.get("start_epoch", 1) > 1:  # resumed: show the epochs already done
            selection = self.session.selection()
            for row in read_history(info["run_dir"])[: info["start_epoch"] - 1]:
                self.epoch_rows.append(row)
                self.charts.add_epoch({**row, "selection": selection}, self._best(selection))
        self.charts.set_epochs(info.get("start_epoch", 1), info["epochs"])
        epochs_left = info["epochs"] - info.get("start_epoch", 1) + 1
        self.progress.setRange(0, max(1, epochs_left * info["batches"]))
        self.progress.setValue(0)

    def _batches(self, infos: list) -> None:
        self.charts.add_batches(infos)
        self.done_batches += len(infos)
        self.progress.setValue(min(self.done_batches, self.progress.maximum()))
        last = infos[-1]
        if not self.cancel_button.isEnabled():
            return  # keep "Stopping…" visible
        self.status.setText(f"Epoch {last['epoch']} / {self.info['epochs']} · batch {last['batch']} / "
                            f"{last['batches']} · loss {last['smoothed_loss']:.4f} · {self._eta(last)}")

    def _eta(self, last: dict) -> str:
        measured = [row["epoch_seconds"] for row in self.epoch_rows if "epoch_seconds" in row]
        since = time.monotonic() - self.epoch_began
        per_epoch = sum(measured) / len(measured) if measured else since / last["batch"] * last["batches"]
        unknown = ""
        if not measured:  # validation comes after the batches: take it from the Settings page's measurement
            estimate = self.estimate
            per_epoch += estimate.validation_seconds if estimate is not None else 0.0
            unknown = "" if estimate is not None else " plus validation"
        left = (1 - last["batch"] / last["batches"]) * per_epoch + (self.info["epochs"] - last["epoch"]) * per_epoch
        return f"about {format_eta(left)}{unknown} left"

    def _epoch(self, info: dict) -> None:
        self.epoch_rows.append(info)
        selection = info["selection"]
        best = self._best(selection)
        self.charts.add_epoch(info, best)
        self.epoch_began = time.monotonic()
        name = SCORE_NAMES.get(selection, selection)
        self.detail.setText(f"Epoch {info['epoch']} took {info['epoch_seconds']:.1f} s · {name} {info[selection]:.3f}"
                            f" · best {best[selection]:.3f} (epoch {best['epoch']}) · run folder "
                            f"{self.info.get('run_dir', '')}")
        patience = self.session.state.config.patience
        stale = info["epoch"] - best["epoch"]
        if patience and 0 < stale < patience:
            self.notice.show_message(f"No improvement for {stale} epoch{'s' if stale > 1 else ''}; training stops "
                                     f"early after {patience} without one.")
        else:
            self.notice.show_message(None)

    def _best(self, selection: str) -> dict | None:
        return best_epoch(self.epoch_rows, selection, self.session.state.config.min_delta)

    def _finished(self, result) -> None:
        self.result = result
        self.session.state.result = result
        text = REASONS.get(result.stop_reason, result.stop_reason)
        if result.best_path is None:
            text += " No epoch was completed, so there is no model to keep."
        else:
            best = result.best_metrics
            selection = self.session.selection()
            text += (f" The best model (epoch {best.get('epoch')}, {SCORE_NAMES.get(selection, selection)} "
                     f"{best.get(selection, float('nan')):.3f}) is saved as {result.best_path}.")
        self.notice.show_message(html.escape(text))
        self.status.setText(REASONS.get(result.stop_reason, result.stop_reason).split(":")[0].rstrip("."))
        self.run_ended.emit(result.stop_reason)

    def _failed(self, message: str, trace: str) -> None:
        self.status.setText("Training failed")
        self.notice.show_message(f"<b>Training failed.</b> {html.escape(message)} Go back to change the settings.")
        self.log.appendPlainText(trace)
        self.run_ended.emit("failed")

    def _ended(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancel training")
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self.running_changed.emit(False)
        self.completeChanged.emit()
