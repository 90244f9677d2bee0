"""Wizard page 5: how good the model is (report and confusion matrix, or ROC and per-condition accuracy) and
what to do with it: activate it in the app, save it elsewhere, open the run folder, export charts and metrics."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from faceapp.core.wizard.adoption import Adoption
from faceapp.core.wizard.runs import write_metrics_csv
from faceapp.ui.widgets import MUTED, Notice
from faceapp.ui.wizard.bridge import error_sentence
from faceapp.ui.wizard.page_widgets import ErrorLabel
from faceapp.ui.wizard.wizard_jobs import results_job
from faceapp.ui.workers import LatestRunner


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _kind(task: str) -> str:
    return "gender model" if task == "gender" else "face matcher"


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) and value == value else "—"


class ResultsPage(QWizardPage):
    activated = Signal(str, str)  # task, path in the model folder

    def __init__(self, pool, parent=None):
        super().__init__(parent)
        self.setTitle("Results")
        self.results = None
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.source = QLabel()
        self.source.setStyleSheet(f"color: {MUTED};")
        self.source.setWordWrap(True)
        self.error = ErrorLabel()
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setFont(QFont("monospace", 9))
        self.confusion = QTableWidget(0, 0)
        self.confusion.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.roc = pg.PlotWidget(background="w")
        item = self.roc.getPlotItem()
        item.setLabel("bottom", "false accept rate")
        item.setLabel("left", "true accept rate")
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(0, 1, padding=0.02)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.plot([0, 1], [0, 1], pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine))
        self.roc_curve = item.plot([], [], pen=pg.mkPen("#0072B2", width=2))
        self.roc_point = pg.ScatterPlotItem(size=12, brush=pg.mkBrush("#c62828"), pen=None)
        self.roc_label = pg.TextItem("", color="#c62828", anchor=(-0.05, 1.1))
        item.addItem(self.roc_point)
        item.addItem(self.roc_label)
        self.conditions = _table(["probe condition", "accuracy", "AUC", "pairs"])
        self.epochs = _table(["epoch", "train loss", "val loss", "score", "val accuracy", "learning rate", "seconds"])
        self.activate_button = QPushButton("Use this model in the app", clicked=self.activate)
        buttons = [self.activate_button, QPushButton("Save model as…", clicked=lambda: self.save_model()),
                   QPushButton("Open run folder", clicked=self.open_folder),
                   QPushButton("Save charts (PNG)…", clicked=lambda: self.save_charts()),
                   QPushButton("Save metrics (CSV)…", clicked=lambda: self.save_metrics())]
        self.adoption: Adoption | None = None
        self.comparison = QLabel(wordWrap=True)
        self.adoption_warning = Notice()
        self.previous: tuple[str, Path] | None = None  # (task, model) active before "Use this model"
        self.undo_button = QPushButton("Go back to the previous model", clicked=self.undo, visible=False)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        self.done_label = QLabel()
        self.done_label.setStyleSheet("color: #2e7d32;")
        done_row = QHBoxLayout()
        done_row.addWidget(self.done_label)
        done_row.addWidget(self.undo_button)
        done_row.addStretch(1)
        grid = QGridLayout()
        grid.addWidget(self.report, 0, 0)
        grid.addWidget(self.confusion, 0, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.roc, 0, 0)
        grid.addWidget(self.conditions, 0, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self.report.setMinimumHeight(190)
        self.report.setMaximumHeight(380)
        self.roc.setMinimumHeight(260)
        layout = QVBoxLayout(self)
        for w in (self.headline, self.error, self.source):
            layout.addWidget(w)
        layout.addLayout(grid, 3)
        layout.addWidget(QLabel("<b>Epochs</b> (also in the run folder's metrics.csv)"))
        layout.addWidget(self.epochs, 2)
        layout.addWidget(self.comparison)
        layout.addWidget(self.adoption_warning)
        layout.addLayout(row)
        layout.addLayout(done_row)
        self.runner = LatestRunner(pool, debounce_ms=0, parent=self)
        self.runner.result.connect(self._show)
        self.runner.errored.connect(lambda e: self.error.show_message(error_sentence(e.exception, e.message)))

    # ------------------------------------------------------------ wizard hooks
    def initializePage(self) -> None:  # noqa: N802
        wizard = self.wizard()
        shown = wizard.shown_run()
        self.results = None
        self.error.show_message(None)
        self.done_label.setText("")
        gender = shown.task == "gender"
        for w in (self.report, self.confusion):
            w.setVisible(gender)
        for w in (self.roc, self.conditions):
            w.setVisible(not gender)
        self.report.setPlainText("Scoring the best model…")
        self.confusion.setRowCount(0)
        self.conditions.setRowCount(0)
        self.roc_curve.setData([], [])
        self.roc_point.setData([], [])
        self.roc_label.setText("")
        self.headline.setText(self._headline(shown))
        self._fill_epochs(shown)
        self.source.setText("Scoring the best model…")
        self.activate_button.setEnabled(shown.best_path is not None and wizard.models is not None)
        self._show_adoption(wizard.adoption(shown) if shown.best_path is not None else None)
        self.undo_button.hide()
        self.previous = None
        if shown.best_path is not None:
            self.runner.submit(results_job, shown.best_path, shown.data)

    def _headline(self, shown) -> str:
        if shown.best_path is None:
            return "<b>This run has no best model</b> (no epoch was completed)."
        best = shown.best or {}
        value = best.get(shown.selection)
        score = f"{shown.score_name} {value:.3f}" if isinstance(value, float) else ""
        return (f"<b>Best model: epoch {best.get('epoch', '?')} of {shown.epochs_done}</b>, validation {score} "
                f"({html.escape(shown.stop_reason.replace('_', ' '))}).<br>"
                f"<span style='color:{MUTED}'>{html.escape(str(shown.best_path))}</span>")

    # ------------------------------------------------------------ showing
    def _show_adoption(self, adoption: Adoption | None) -> None:
        """The new model's score beside the active one's; "Use this model" is the default button only
        when the new model is not worse, and is worded as a choice against advice otherwise."""
        self.adoption = adoption
        self.comparison.setText(adoption.comparison() if adoption else "")
        self.comparison.setVisible(adoption is not None)
        self.adoption_warning.show_message(f"<b>{html.escape(adoption.warning())}</b>"
                                           if adoption and adoption.warning() else None)
        recommended = adoption is None or adoption.recommended
        self.activate_button.setText("Use this model in the app" if recommended else "Use this model anyway…")
        self.activate_button.setDefault(recommended)
        self.activate_button.setAutoDefault(recommended)

    def _show(self, results) -> None:
        self.results = results
        self.source.setText(f"Scored on the {results.source}." if results.source else results.note)
        if results.task == "gender":
            self.report.setPlainText(results.report_text or results.note)
            self._fill_confusion(results.classes, results.confusion)
        else:
            self._fill_conditions(results.per_condition)
            fpr, tpr = results.roc
            self.roc_curve.setData(list(fpr), list(tpr))
            if results.operating_point is not None:
                far, tar = results.operating_point
                self.roc_point.setData([far], [tar])
                self.roc_label.setText(f"threshold {results.threshold:.3f}")
                self.roc_label.setPos(far, tar)

    def _fill_confusion(self, classes: list[str], matrix: list[list[int]]) -> None:
        n = len(matrix)
        self.confusion.setRowCount(n)
        self.confusion.setColumnCount(n)
        self.confusion.setHorizontalHeaderLabels([f"predicted {c}" for c in classes[:n]])
        self.confusion.setVerticalHeaderLabels([f"true {c}" for c in classes[:n]])
        self.confusion.verticalHeader().setVisible(True)
        for i, row in enumerate(matrix):
            total = max(sum(row), 1)
            for j, count in enumerate(row):
                cell = QTableWidgetItem(f"{count:,}  ({count / total:.0%})")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(235 - 120 * count / total)
                cell.setBackground(QColor(shade, 245, shade) if i == j else QColor(250, shade + 10, shade + 10))
                self.confusion.setItem(i, j, cell)
        self.confusion.resizeColumnsToContents()
        self.confusion.resizeRowsToContents()
        height = self.confusion.horizontalHeader().height() + sum(self.confusion.rowHeight(i) for i in range(n))
        self.confusion.setMaximumHeight(height + 2 * self.confusion.frameWidth())

    def _fill_conditions(self, table: dict) -> None:
        self.conditions.setRowCount(len(table))
        for r, (condition, stats) in enumerate(sorted(table.items())):
            values = [condition, _fmt(stats.get("accuracy")), _fmt(stats.get("roc_auc")), f"{stats.get('pairs', 0):,}"]
            for c, value in enumerate(values):
                self.conditions.setItem(r, c, QTableWidgetItem(value))
        self.conditions.resizeColumnsToContents()

    def _fill_epochs(self, shown) -> None:
        keys = ["epoch", "train_loss", "val_loss", shown.selection, "val_accuracy", "lr", "epoch_seconds"]
        self.epochs.setHorizontalHeaderItem(3, QTableWidgetItem(shown.score_name))
        best = (shown.best or {}).get("epoch")
        self.epochs.setRowCount(len(shown.history))
        for r, row in enumerate(shown.history):
            for c, key in enumerate(keys):
                value = row.get(key)
                text = str(value) if key == "epoch" else f"{value:.2e}" if key == "lr" and isinstance(value, float) \
                    else f"{value:.1f}" if key == "epoch_seconds" and isinstance(value, float) else _fmt(value)
                cell = QTableWidgetItem(text + ("  ★ best" if key == "epoch" and value == best else ""))
                self.epochs.setItem(r, c, cell)
        self.epochs.resizeColumnsToContents()

    # ------------------------------------------------------------ actions
    def activate(self) -> None:
        wizard = self.wizard()
        shown = wizard.shown_run()
        if self.adoption is not None and not self.adoption.recommended and not self._confirm_against_advice():
            return
        previous = wizard.models.path(shown.task) if wizard.models is not None else None
        try:
            path = wizard.activate(shown)
        except Exception as exc:  # noqa: BLE001 - one sentence in the page, the trace in the log
            self.error.show_message(f"Could not use the model: {error_sentence(exc)}")
            return
        self.previous = (shown.task, previous) if previous is not None and previous != path else None
        self.undo_button.setText(f"Go back to {self._model_name(previous)}" if self.previous else "")
        self.undo_button.setVisible(self.previous is not None)
        self.done_label.setText(f"{path.name} is now the active {_kind(shown.task)}.")
        self.activated.emit(shown.task, str(path))

    def _confirm_against_advice(self) -> bool:
        answer = QMessageBox.warning(
            self, "Use this model?", f"{self.adoption.warning()}\n\n{self.adoption.comparison()}\n\n"
            "Use it in the app anyway? You can go back to the current model here or on the Models page.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def undo(self) -> None:
        """Make the model that was active before "Use this model" active again."""
        if self.previous is None:
            return
        task, path = self.previous
        try:
            self.wizard().restore_model(task, path)
        except Exception as exc:  # noqa: BLE001 - one sentence in the page, the trace in the log
            self.error.show_message(f"Could not go back: {error_sentence(exc)}")
            return
        self.previous = None
        self.undo_button.hide()
        self.done_label.setText(f"{self._model_name(path)} is the active {_kind(task)} again.")
        self.activated.emit(task, str(path))

    def _model_name(self, path: Path | None) -> str:
        models = self.wizard().models
        if path is None or models is None:
            return "the previous model"
        return "the bundled model" if path == models.store.bundled_path(self.wizard().shown_run().task) else path.name

    def _save_as(self, target, title: str, default_name: str, file_filter: str, write) -> Path | None:
        """Ask where to save unless `target` is given; `write(target)` returns the written path or None."""
        if target is None:
            target, _ = QFileDialog.getSaveFileName(self, title, default_name, file_filter)
        if not target:
            return None
        path = write(target)
        if path is not None:
            self.done_label.setText(f"Saved {path}.")
        return path

    def save_model(self, target=None) -> Path | None:
        shown = self.wizard().shown_run()

        def write(target) -> Path:
            shutil.copyfile(shown.best_path, target)
            return Path(target)

        return self._save_as(target, "Save model as", f"{shown.name}.pt", "Checkpoints (*.pt)", write)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.wizard().shown_run().path)))

    def save_charts(self, target=None) -> Path | None:
        charts = self.wizard().training_page.charts
        return self._save_as(target, "Save charts", "training-charts.png", "PNG images (*.png)",
                             lambda target: Path(target) if charts.save_png(target) else None)

    def save_metrics(self, target=None) -> Path | None:
        shown = self.wizard().shown_run()
        return self._save_as(target, "Save metrics", f"{shown.name}-metrics.csv", "CSV (*.csv)",
                             lambda target: write_metrics_csv(target, shown.history))
