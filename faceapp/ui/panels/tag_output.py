"""What the Tag page does with its results: the summary line, CSV/JSON export, and "sort into folders" (the
question before moving originals, then the run's outcomes, report and closing sentence)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import QCheckBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from faceapp.core.tagging import ERROR, UNCERTAIN, SortOutcome, export_csv, export_json, write_sort_report
from faceapp.ui import jobs
from faceapp.ui.tag_model import TagTableModel
from faceapp.ui.workers import GeneratorWorker

log = logging.getLogger(__name__)


class TagOutputBar(QWidget):
    """The summary of the results, then Export CSV…, Export JSON…, "Move instead of copy" and Sort into folders…
    Sorting itself runs on the page's worker: this bar asks where (and whether to move), then says so."""

    status = Signal(str)  # one sentence for the status bar
    sort_requested = Signal(str, bool)  # folder, move

    def __init__(self, models, settings, table: TagTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings, self.table = models, settings, table
        self.summary = QLabel("No results yet.")
        self.export_csv_button = QPushButton("Export CSV…", clicked=lambda: self.export("csv"))
        self.export_json_button = QPushButton("Export JSON…", clicked=lambda: self.export("json"))
        self.move_box = QCheckBox("Move instead of copy")
        self.move_box.setToolTip("Moves the original files (asks first). Leave off to copy and keep originals.")
        self.sort_button = QPushButton("Sort into folders…", clicked=self.choose_sort_folder)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary, 1)
        for w in (self.export_csv_button, self.export_json_button, self.move_box, self.sort_button):
            layout.addWidget(w)

    def set_busy(self, busy: bool) -> None:
        for w in (self.export_csv_button, self.export_json_button, self.sort_button, self.move_box):
            w.setEnabled(not busy)

    def show_classes(self, classes: list[str]) -> None:
        folders = ", ".join(f"{label}/" for label in [*classes, UNCERTAIN])
        self.sort_button.setToolTip(f"Copies files into {folders} under a folder you pick. "
                                    "Never overwrites; originals stay untouched.")

    def show_summary(self, counts: Counter, unit: str = "images") -> None:
        if not counts:
            self.summary.setText("No results yet.")
            return
        parts = [f"{sum(counts.values()):,} {unit}"]
        parts += [f"{label}: {counts[label]:,}" for label in sorted(counts) if label not in (UNCERTAIN, ERROR)]
        parts += [f"{label}: {counts[label]:,}" for label in (UNCERTAIN, ERROR) if counts[label]]
        self.summary.setText(" · ".join(parts))

    # ---------------------------------------------------------------- export
    def export(self, kind: str, path=None) -> Path | None:
        results = self.table.results()
        if not results:
            self.status.emit("Nothing to export yet: tag a folder first.")
            return None
        if path is None:
            start = str(Path(self.settings.get("tag/last_output") or documents_folder()) / f"tags.{kind}")
            path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", start, f"{kind.upper()} (*.{kind})")
            if not path:
                return None
        level = self.table.uncertain_below
        try:
            if kind == "csv":
                written = export_csv(results, path, uncertain_below=level)
            else:
                written = export_json(results, path, uncertain_below=level, model=self._model_info())
        except OSError as exc:
            log.error("export failed", exc_info=True)
            self.status.emit(f"Could not write {Path(path).name}: {exc.strerror or exc}.")
            return None
        self.settings.set("tag/last_output", str(Path(path).parent))
        self.status.emit(f"Exported {len(results):,} rows to {written}.")
        return written

    def _model_info(self) -> dict:
        path = self.models.path("gender")
        try:
            summary = self.models.store.summary(path) if path else {}
        except Exception:  # noqa: BLE001 - export must not fail because metadata is odd
            summary = {}
        return {"path": str(path or ""), **{k: summary.get(k) for k in ("arch", "classes", "input_size", "created")}}

    # ---------------------------------------------------------------- sorting
    def choose_sort_folder(self) -> None:
        """Ask for the folder to sort into (and, when moving, whether to move the originals): `sort_requested`."""
        if not self.table.results():
            self.status.emit("Nothing to sort yet: tag a folder first.")
            return
        start = self.settings.get("tag/last_output") or documents_folder()
        folder = QFileDialog.getExistingDirectory(self, "Sort copies into which folder?", start)
        if not folder:
            return
        move = self.move_box.isChecked()
        if move and not self._move_confirmed(folder):
            return
        self.sort_requested.emit(folder, move)

    def _move_confirmed(self, folder: str) -> bool:
        results = self.table.results()
        movable = sum(r.ok for r in results)
        left = len(results) - movable
        untagged = (f"\n{left:,} file{'s' * (left != 1)} that could not be tagged stay where they are."
                    if left else "")
        answer = QMessageBox.warning(
            self, "Move the original files?",
            f"This moves {movable:,} files out of their folders into {folder}.{untagged}\n"
            "They will no longer be where they are now. Copy instead to keep them in place.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes


class SortRun:
    """One "sort into folders" job: its worker, what it did to each file, then its report and sentence."""

    def __init__(self, results, folder, uncertain_below: float, move: bool):
        self.folder = Path(folder)
        self.outcomes: list[SortOutcome] = []
        self.report: Path | None = None
        self.worker = GeneratorWorker(jobs.sort_job, results, self.folder, uncertain_below, move)

    def finish(self, outcome: str, total: int) -> str:
        """Write the report into the target folder; the sentence that says what was done and where it is."""
        counts = Counter(o.action for o in self.outcomes)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            self.report = write_sort_report(self.outcomes, self.folder / f"faceapp-sort-report-{stamp}.csv")
            where = f" Report: {self.report}."
        except OSError as exc:
            where = f" The report could not be written ({exc.strerror or exc})."
        done = ", ".join(f"{n:,} {action}" for action, n in sorted(counts.items())) or "nothing done"
        head = {"finished": "Sorted", "cancelled": "Sorting cancelled", "errored": "Sorting stopped"}[outcome]
        left = total - len(self.outcomes)
        rest = f"; {left:,} not reached (originals untouched)" if left > 0 else ""
        return f"{head}: {done}{rest}.{where}"


def documents_folder() -> str:
    """Where an export goes by default: the user's documents folder, not the photo folder being tagged."""
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
