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


def _fill_confusion(table: QTableWidget, classes: list[str], matrix: list[list[int]]) -> None:
    """The gender model's confusion matrix: counts with the share of each true class, shaded."""
    n = len(matrix)
    table.setRowCount(n)
    table.setColumnCount(n)
    table.setHorizontalHeaderLabels([f"predicted {c}" for c in classes[:n]])
    table.setVerticalHeaderLabels([f"true {c}" for c in classes[:n]])
    table.verticalHeader().setVisible(True)
    for i, row in enumerate(matrix):
        total = max(sum(row), 1)
        for j, count in enumerate(row):
            cell = QTableWidgetItem(f"{count:,}  ({count / total:.0%})")
            cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            shade = int(235 - 120 * count / total)
            cell.setBackground(QColor(shade, 245, shade) if i == j else QColor(250, shade + 10, shade + 10))
            table.setItem(i, j, cell)
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    height = table.horizontalHeader().height() + sum(table.rowHeight(i) for i in range(n))
    table.setMaximumHeight(height + 2 * table.frameWidth())


def _fill_conditions(table: QTableWidget, stats_by_condition: dict) -> None:
    table.setRowCount(len(stats_by_condition))
    for r, (condition, stats) in enumerate(sorted(stats_by_condition.items())):
        values = [condition, _fmt(stats.get("accuracy")), _fmt(stats.get("roc_auc")), f"{stats.get('pairs', 0):,}"]
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem(value))
    table.resizeColumnsToContents()


def _fill_epochs(table: QTableWidget, shown) -> None:
    """One row per epoch of the run, the best one starred."""
    keys = ["epoch", "train_loss", "val_loss", shown.selection, "val_accuracy", "lr", "epoch_seconds"]
    table.setHorizontalHeaderItem(3, QTableWidgetItem(shown.score_name))
    best = (shown.best or {}).get("epoch")
    table.setRowCount(len(shown.history))
    for r, row in enumerate(shown.history):
        for c, key in enumerate(keys):
            value = row.get(key)
            text = str(value) if key == "epoch" else f"{value:.2e}" if key == "lr" and isinstance(value, float) \
                else f"{value:.1f}" if key == "epoch_seconds" and isinstance(value, float) else _fmt(value)
            cell = QTableWidgetItem(text + ("  ★ best" if key == "epoch" and value == best else ""))
            table.setItem(r, c, cell)
    table.resizeColumnsToContents()


class RocPlot(pg.PlotWidget):
    """The matcher's ROC curve on the validation pairs, with its operating point at the model's threshold."""

    def __init__(self):
        super().__init__(background="w")
        item = self.getPlotItem()
        item.setLabel("bottom", "false accept rate")
        item.setLabel("left", "true accept rate")
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(0, 1, padding=0.02)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.plot([0, 1], [0, 1], pen=pg.mkPen("#999", width=1, style=Qt.PenStyle.DashLine))
        self.curve = item.plot([], [], pen=pg.mkPen("#0072B2", width=2))
        self.point = pg.ScatterPlotItem(size=12, brush=pg.mkBrush("#c62828"), pen=None)
        self.point_label = pg.TextItem("", color="#c62828", anchor=(-0.05, 1.1))
        item.addItem(self.point)
        item.addItem(self.point_label)
        self.setMinimumHeight(260)

    def show_roc(self, roc, operating_point, threshold) -> None:
        fpr, tpr = roc
        self.curve.setData(list(fpr), list(tpr))
        if operating_point is not None:
            far, tar = operating_point
            self.point.setData([far], [tar])
            self.point_label.setText(f"threshold {threshold:.3f}")
            self.point_label.setPos(far, tar)

    def clear_roc(self) -> None:
        self.curve.setData([], [])
        self.point.setData([], [])
        self.point_label.setText("")


class ResultsPage(QWizardPage):
    activated = Signal(str, str)  # task, path in the model folder

    def __init__(self, pool, session, charts, parent=None):
        super().__init__(parent)
        self.session, self.charts = session, charts  # WizardSession; the Training page's charts, saved as PNG
        self.setTitle("Results")
        self.results = None
        self.adoption: Adoption | None = None
        self.previous: tuple[str, Path] | None = None  # (task, model) active before "Use this model"
        self.headline = QLabel()
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.source = QLabel()
        self.source.setStyleSheet(f"color: {MUTED};")
        self.source.setWordWrap(True)
        self.error = ErrorLabel()
        layout = QVBoxLayout(self)
        for w in (self.headline, self.error, self.source):
            layout.addWidget(w)
        layout.addLayout(self._build_scores(), 3)
        self.epochs = _table(["epoch", "train loss", "val loss", "score", "val accuracy", "learning rate", "seconds"])
        layout.addWidget(QLabel("<b>Epochs</b> (also in the run folder's metrics.csv)"))
        layout.addWidget(self.epochs, 2)
        self.comparison = QLabel(wordWrap=True)
        self.adoption_warning = Notice()
        layout.addWidget(self.comparison)
        layout.addWidget(self.adoption_warning)
        for row in self._build_actions():
            layout.addLayout(row)
        self.runner = LatestRunner(pool, debounce_ms=0, parent=self)
        self.runner.result.connect(self._show)
        self.runner.errored.connect(lambda e: self.error.show_message(error_sentence(e.exception, e.message)))

    def _build_scores(self) -> QGridLayout:
        """The gender model's report and confusion matrix, or (in the same place) the matcher's ROC and
        per-condition table."""
        self.report = QPlainTextEdit(readOnly=True)
        self.report.setFont(QFont("monospace", 9))
        self.report.setMinimumHeight(190)
        self.report.setMaximumHeight(380)
        self.confusion = QTableWidget(0, 0)
        self.confusion.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.roc = RocPlot()
        self.conditions = _table(["probe condition", "accuracy", "AUC", "pairs"])
        grid = QGridLayout()
        grid.addWidget(self.report, 0, 0)
        grid.addWidget(self.confusion, 0, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.roc, 0, 0)
        grid.addWidget(self.conditions, 0, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        return grid

    def _build_actions(self) -> list[QHBoxLayout]:
        """The row of actions, then the row that says what was done (with the way back)."""
        self.activate_button = QPushButton("Use this model in the app", clicked=self.activate)
        buttons = [self.activate_button, QPushButton("Save model as…", clicked=lambda: self.save_model()),
                   QPushButton("Open run folder", clicked=self.open_folder),
                   QPushButton("Save charts (PNG)…", clicked=lambda: self.save_charts()),
                   QPushButton("Save metrics (CSV)…", clicked=lambda: self.save_metrics())]
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        row.addStretch(1)
        self.undo_button = QPushButton("Go back to the previous model", clicked=self.undo, visible=False)
        self.done_label = QLabel()
        self.done_label.setStyleSheet("color: #2e7d32;")
        done_row = QHBoxLayout()
        done_row.addWidget(self.done_label)
        done_row.addWidget(self.undo_button)
        done_row.addStretch(1)
        return [row, done_row]

    # ------------------------------------------------------------ wizard hooks
    def initializePage(self) -> None:  # noqa: N802
        session = self.session
        shown = session.shown_run()
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
        self.roc.clear_roc()
        self.headline.setText(self._headline(shown))
        _fill_epochs(self.epochs, shown)
        self.source.setText("Scoring the best model…")
        self.activate_button.setEnabled(shown.best_path is not None and session.models is not None)
        self._show_adoption(session.adoption(shown) if shown.best_path is not None else None)
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
            _fill_confusion(self.confusion, results.classes, results.confusion)
        else:
            _fill_conditions(self.conditions, results.per_condition)
            self.roc.show_roc(results.roc, results.operating_point, results.threshold)

    # ------------------------------------------------------------ actions
    def activate(self) -> None:
        session = self.session
        shown = session.shown_run()
        if self.adoption is not None and not self.adoption.recommended and not self._confirm_against_advice():
            return
        previous = session.models.path(shown.task) if session.models is not None else None
        try:
            path = session.activate(shown)
        except Exception as exc:  # noqa: BLE001 - one sentence in the page, the trace in the log
            self.error.show_message(f"Could not use the model: {error_sentence(exc)}")
            return
        self.previous = (shown.task, previous) if previous is not None and previous != path else None
        self.undo_button.setText(f"Go back to {self._model_name(shown.task, previous)}" if self.previous else "")
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
            self.session.restore_model(task, path)
        except Exception as exc:  # noqa: BLE001 - one sentence in the page, the trace in the log
            self.error.show_message(f"Could not go back: {error_sentence(exc)}")
            return
        self.previous = None
        self.undo_button.hide()
        self.done_label.setText(f"{self._model_name(task, path)} is the active {_kind(task)} again.")
        self.activated.emit(task, str(path))

    def _model_name(self, task: str, path: Path | None) -> str:
        if path is None or self.session.models is None:
            return "the previous model"
        return self.session.model_name(task, path)

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
        shown = self.session.shown_run()

        def write(target) -> Path:
            shutil.copyfile(shown.best_path, target)
            return Path(target)

        return self._save_as(target, "Save model as", f"{shown.name}.pt", "Checkpoints (*.pt)", write)

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.session.shown_run().path)))

    def save_charts(self, target=None) -> Path | None:
        charts = self.charts
        return self._save_as(target, "Save charts", "training-charts.png", "PNG images (*.png)",
                             lambda target: Path(target) if charts.save_png(target) else None)

    def save_metrics(self, target=None) -> Path | None:
        shown = self.session.shown_run()
        return self._save_as(target, "Save metrics", f"{shown.name}-metrics.csv", "CSV (*.csv)",
                             lambda target: write_metrics_csv(target, shown.history))
