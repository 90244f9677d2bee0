"""Tag folder page: pick a folder, stream gender tags into a sortable/filterable table, export or sort files."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSize, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.active_models import no_model_message
from faceapp.core.tagging import (
    ERROR,
    UNCERTAIN,
    SortOutcome,
    TagOptions,
    TagResult,
    export_csv,
    export_json,
    write_sort_report,
)
from faceapp.ui import jobs
from faceapp.ui.tag_model import (
    COL_CONF,
    COL_FACES,
    COL_FILE,
    COL_LABEL,
    COL_THUMB,
    RESULT_ROLE,
    TagFilterProxy,
    TagTableModel,
)
from faceapp.ui.widgets import Notice, ProgressLine
from faceapp.ui.workers import GeneratorWorker, WorkerError, WorkerPool
from training.calibration import FALLBACK_UNCERTAIN_BELOW, valid_level

log = logging.getLogger(__name__)
THUMB = 48
MAX_THUMB_REQUESTS = 64  # pending thumbnail rebuilds; older ones are cancelled while scrolling
DEFAULT_CLASSES = ["female", "male"]  # until the gender model is read
UNCERTAIN_TIP = ("Predictions whose confidence is below this level are shown (and exported, and sorted) as "
                 "'uncertain' instead of a gender. Raise it to be stricter.")


def level_tip(summary: dict | None) -> str:
    """The tooltip of "Uncertain below": what the active model suggests, and what that costs on its data."""
    level = valid_level((summary or {}).get("uncertain_below"))
    if level is None:
        return UNCERTAIN_TIP + f"\nThis model suggests no level; {FALLBACK_UNCERTAIN_BELOW:.0%} is the default."
    metrics = (summary or {}).get("metrics") or {}
    caught, flagged = metrics.get("val_uncertain_caught"), metrics.get("val_uncertain_flagged")
    cost = (f": on its validation photos it flags {flagged:.0%} of them and catches {caught:.0%} of its mistakes"
            if isinstance(caught, float) and isinstance(flagged, float) else "")
    return UNCERTAIN_TIP + f"\nThe model suggests {level:.0%}{cost}."


class TagPanel(QWidget):
    status = Signal(str)  # one sentence for the status bar
    busy_changed = Signal(bool)
    job_done = Signal(str, str)  # job kind ("tag" | "sort"), outcome ("finished" | "cancelled" | "errored")
    open_models = Signal()

    def __init__(self, models, settings, pool: WorkerPool, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings, self.pool = models, settings, pool
        self.thumb_pool = WorkerPool(max_threads=1, parent=self)
        self.worker: GeneratorWorker | None = None
        self.job_kind = ""
        self.batch_size = 32  # images per model call; tests lower it to watch rows stream
        self.total = self.done = 0
        self._skipped = ""  # what the folder listing left out, said when tagging ends
        self.counts: Counter = Counter()
        self.sort_outcomes: list[SortOutcome] = []
        self._thumb_jobs: deque[GeneratorWorker] = deque()
        self._thumb_generation = 0
        self.last_report: Path | None = None
        self._level_model = None  # which gender model the level box was last set for
        self._build()
        self._restore()
        self.model.thumbnails.loader = self._request_thumbnail
        self._ticker = QTimer(self, interval=250)
        self._ticker.timeout.connect(self._show_progress)
        self.refresh_models()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.notice = Notice()
        self.notice.link.connect(lambda _: self.open_models.emit())
        self.folder_edit = QLineEdit(placeholderText="Choose a folder of photos, or drop one onto the window")
        self.folder_edit.textChanged.connect(lambda _: self.refresh_models())
        browse = QPushButton("Browse…", clicked=self.choose_folder)
        self.recursive = QCheckBox("Include sub-folders")
        self.assume_crop = QCheckBox("Images are already face crops")
        self.assume_crop.setToolTip("Skip face detection and classify each whole image (for pre-cropped faces).")
        self.start_button = QPushButton("Start", clicked=self.start)
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel, enabled=False)
        self.folder_edit.setMinimumWidth(240)  # a path stays readable on a small screen
        top = QHBoxLayout()
        for w in (QLabel("Folder:"), self.folder_edit, browse):
            top.addWidget(w, 1 if w is self.folder_edit else 0)
        options = QHBoxLayout()  # below the folder: the path keeps the whole width
        for w in (self.recursive, self.assume_crop):
            options.addWidget(w)
        options.addStretch(1)
        options.addWidget(self.start_button)
        options.addWidget(self.cancel_button)

        self.progress = ProgressLine("images")

        self.label_filter = QComboBox()
        self.label_filter.addItem("All labels", "")
        self.label_filter.currentIndexChanged.connect(lambda _: self.proxy.set_label(self.label_filter.currentData()))
        self.conf_low, self.conf_high = self._percent_box(0.0), self._percent_box(100.0)
        for box in (self.conf_low, self.conf_high):
            box.setToolTip("Show only rows whose confidence is in this range.")
            box.valueChanged.connect(self._range_changed)
        self.uncertain = self._percent_box(60.0, minimum=50.0)
        self.uncertain.setToolTip(UNCERTAIN_TIP)
        self.uncertain.valueChanged.connect(self._uncertain_changed)
        filters = QHBoxLayout()
        for w in (QLabel("Show:"), self.label_filter, QLabel("Confidence from"), self.conf_low, QLabel("to"),
                  self.conf_high):
            filters.addWidget(w)
        filters.addStretch(1)
        self.uncertain_label = QLabel("Uncertain below:")
        self.uncertain_label.setToolTip(UNCERTAIN_TIP)
        filters.addWidget(self.uncertain_label)
        filters.addWidget(self.uncertain)

        self.model = TagTableModel(self)
        self.model.flushed.connect(lambda _: self._show_summary())
        self.proxy = TagFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_THUMB, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB, THUMB))
        self.table.verticalHeader().setDefaultSectionSize(THUMB + 4)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.doubleClicked.connect(self._open_file)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((COL_THUMB, THUMB + 8), (COL_FILE, 260), (COL_LABEL, 90), (COL_CONF, 90),
                              (COL_FACES, 110)):
            self.table.setColumnWidth(column, width)

        self.summary = QLabel("No results yet.")
        self.export_csv_button = QPushButton("Export CSV…", clicked=lambda: self.export("csv"))
        self.export_json_button = QPushButton("Export JSON…", clicked=lambda: self.export("json"))
        self.move_box = QCheckBox("Move instead of copy")
        self.move_box.setToolTip("Moves the original files (asks first). Leave off to copy and keep originals.")
        self.sort_button = QPushButton("Sort into folders…", clicked=self.choose_sort_folder)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        for w in (self.export_csv_button, self.export_json_button, self.move_box, self.sort_button):
            bottom.addWidget(w)

        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(top)
        layout.addLayout(options)
        layout.addWidget(self.progress)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self._show_classes(DEFAULT_CLASSES)  # the active model's own class names once it is read
        self._set_busy(False)

    @staticmethod
    def _percent_box(value: float, minimum: float = 0.0) -> QDoubleSpinBox:
        box = QDoubleSpinBox(decimals=0, minimum=minimum, maximum=100.0, singleStep=5.0, suffix=" %")
        box.setValue(value)
        return box

    def _restore(self) -> None:
        s = self.settings
        self.folder_edit.setText(s.get("tag/last_folder"))
        self.recursive.setChecked(s.get("tag/recursive"))
        self.assume_crop.setChecked(s.get("tag/assume_crop"))
        self.model.set_uncertain_below(self.uncertain.value() / 100.0)  # until the gender model is known

    def save_settings(self) -> None:
        s = self.settings
        s.set("tag/last_folder", self.folder_edit.text())
        s.set("tag/recursive", self.recursive.isChecked())
        s.set("tag/assume_crop", self.assume_crop.isChecked())
        if self._level_model is not None:
            s.set("tag/uncertain_below", self.uncertain.value() / 100.0)
            s.set("tag/uncertain_model", self._level_model)

    # ---------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def refresh_models(self) -> None:
        """Enable Start only when a model and a folder are there; say why otherwise."""
        has_model = self.models.available("gender")
        self._sync_with_model()
        self.notice.show_message(None if has_model else
                                 f"{no_model_message('gender')} <a href='models'>Open the Models page</a>")
        reason = ("" if has_model else "No gender model is installed: see the Models page.")
        if has_model and not self.folder_edit.text().strip():
            reason = "Choose a folder first (Browse…, Ctrl+O, or drop a folder onto the window)."
        if not reason and not self.models.ready:
            reason = "Loading the gender model…"
        self.start_button.setEnabled(not self.busy and not reason)
        self.start_button.setToolTip(reason or "Tag every image in the folder (Ctrl+Return).")

    def _sync_with_model(self) -> None:
        """Show the active gender model's class names, and set "Uncertain below" to its suggested level
        (chosen on its validation photos when it was trained) or to the level the user saved for it."""
        if not self.models.ready:  # the level is in the checkpoint, read once the warm-up has imported torch
            return
        path = self.models.path("gender")
        summary = None
        if path is not None:
            try:
                summary = self.models.store.summary(path, "gender")  # cached by path, size and mtime
            except Exception:  # noqa: BLE001 - a bad file is reported on the Models page
                log.warning("cannot read the gender model's uncertain level", exc_info=True)
        self._show_classes(list((summary or {}).get("classes") or DEFAULT_CLASSES))
        suggested = valid_level((summary or {}).get("uncertain_below")) or FALLBACK_UNCERTAIN_BELOW
        # A saved level belongs to one model, not to a path (a retrained model can land at the same path).
        key = f"{path}|{(summary or {}).get('created') or ''}|{suggested:.4f}" if path is not None else ""
        if key == self._level_model:
            return
        self._level_model = key
        saved = self.settings.get("tag/uncertain_below")
        use_saved = saved >= 0 and self.settings.get("tag/uncertain_model") == key
        self.uncertain.setValue(100.0 * (saved if use_saved else suggested))
        self.uncertain.setToolTip(level_tip(summary))
        self.uncertain_label.setToolTip(self.uncertain.toolTip())

    def _show_classes(self, classes: list[str]) -> None:
        """The label filter and the sort button's tooltip name the model's classes (any two names)."""
        labels = [*classes, UNCERTAIN, ERROR]
        if [self.label_filter.itemData(i) for i in range(1, self.label_filter.count())] == labels:
            return
        chosen = self.label_filter.currentData()
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItem("All labels", "")
        for label in labels:
            self.label_filter.addItem(label, label)
        self.label_filter.setCurrentIndex(max(0, self.label_filter.findData(chosen)))
        self.label_filter.blockSignals(False)
        self.proxy.set_label(self.label_filter.currentData() or None)
        folders = ", ".join(f"{label}/" for label in [*classes, UNCERTAIN])
        self.sort_button.setToolTip(f"Copies files into {folders} under a folder you pick. "
                                    "Never overwrites; originals stay untouched.")

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        for w in (self.export_csv_button, self.export_json_button, self.sort_button, self.move_box):
            w.setEnabled(not busy)
        self.refresh_models()
        self.busy_changed.emit(busy)

    # ---------------------------------------------------------------- actions
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of photos", self.folder_edit.text())
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder) -> None:
        self.folder_edit.setText(str(folder))
        self.settings.set("tag/last_folder", str(folder))

    def options(self) -> TagOptions:
        return TagOptions(recursive=self.recursive.isChecked(), assume_crop=self.assume_crop.isChecked(),
                          uncertain_below=self.uncertain.value() / 100.0, thumbnail_size=THUMB,
                          batch_size=self.batch_size)

    def start(self) -> None:
        if self.busy or not self.start_button.isEnabled():
            return
        self.save_settings()
        self._drop_thumbnail_jobs()
        self.model.clear()
        self.counts.clear()
        self.total = self.done = 0
        self._skipped = ""
        self.last_report = None
        worker = GeneratorWorker(jobs.tag_job, Path(self.folder_edit.text().strip()), self.models, self.options())
        worker.signals.yielded.connect(self._on_tag_item)
        self._run(worker, "tag")

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._show_progress()
            if not self.total:
                self.progress.text.setText("Cancelling…")

    def _run(self, worker: GeneratorWorker, kind: str) -> None:
        self.worker, self.job_kind = worker, kind
        worker.signals.finished.connect(lambda _: self._ended("finished"))
        worker.signals.cancelled.connect(lambda: self._ended("cancelled"))
        worker.signals.errored.connect(self._errored)
        self.progress.begin()
        self._set_busy(True)
        self._started_at = time.monotonic()
        self._ticker.start()
        self.pool.start(worker)

    def _on_tag_item(self, item) -> None:
        if isinstance(item, jobs.JobStarted):
            self.total, self._skipped = item.total, item.skipped
            return
        result, thumbnail = item
        self.done += 1
        self.counts[result.label(self.model.uncertain_below)] += 1
        self.model.add(result, thumbnail)

    def _show_progress(self) -> None:
        if self.total:
            self.progress.update_progress(self.done, self.total)
            if self.worker is not None and self.worker.is_cancelled:  # until it stops, say that it is stopping
                self.progress.text.setText(f"Cancelling… ({self.done:,} / {self.total:,} done)")

    def _errored(self, error: WorkerError) -> None:
        self.status.emit(error.message)
        self._ended("errored", error.message)

    def _ended(self, outcome: str, message: str = "") -> None:
        self._ticker.stop()
        self.model.flush()
        kind, self.worker = self.job_kind, None
        if kind == "sort":
            message = self._finish_sort(outcome)
        else:
            self._show_progress()
            word = {"finished": "Done", "cancelled": "Cancelled", "errored": "Stopped"}[outcome]
            elapsed = time.monotonic() - self._started_at
            message = message or f"{word}: {self.done:,} of {self.total:,} images in {elapsed:.1f} s."
            if outcome == "finished" and not self.total:
                message = "No images in this folder" + (
                    "." if self.recursive.isChecked() else " itself: tick 'Include sub-folders' to look deeper.")
            if self._skipped:
                message = f"{message.rstrip('.')}; {self._skipped}."
        self.progress.end(message)
        self.status.emit(message)
        self._show_summary()
        self._set_busy(False)
        self.job_done.emit(kind, outcome)

    def _show_summary(self) -> None:
        counts = self.counts
        if not counts:
            self.summary.setText("No results yet.")
            return
        parts = [f"{sum(counts.values()):,} images"]
        parts += [f"{label}: {counts[label]:,}" for label in sorted(counts) if label not in (UNCERTAIN, ERROR)]
        parts += [f"{label}: {counts[label]:,}" for label in (UNCERTAIN, ERROR) if counts[label]]
        self.summary.setText(" · ".join(parts))

    def _uncertain_changed(self, value: float) -> None:
        level = value / 100.0
        self.model.set_uncertain_below(level)
        self.counts = Counter(r.label(level) for r in self.model.results())
        self._show_summary()

    def _range_changed(self) -> None:
        low, high = sorted((self.conf_low.value() / 100.0, self.conf_high.value() / 100.0))
        self.proxy.set_confidence_range(low, high)

    def _request_thumbnail(self, row: int, result: TagResult) -> None:
        """Rebuild an evicted thumbnail off-thread; only the newest requests survive fast scrolling."""
        generation = self._thumb_generation
        worker = GeneratorWorker(jobs.thumbnail_job, row, result, self.models, THUMB)
        worker.signals.finished.connect(lambda value: self._thumbnail_done(generation, *value))
        worker.signals.cancelled.connect(lambda: self._thumbnail_done(generation, row, None))
        worker.signals.ended.connect(lambda: self._thumb_jobs.remove(worker) if worker in self._thumb_jobs else None)
        self._thumb_jobs.append(worker)
        while len(self._thumb_jobs) > MAX_THUMB_REQUESTS:
            self._thumb_jobs.popleft().cancel()
        self.thumb_pool.start(worker)

    def _thumbnail_done(self, generation: int, row: int, image) -> None:
        if generation == self._thumb_generation:  # rows of an earlier run mean other files now
            self.model.thumbnails.put(row, image)

    def _drop_thumbnail_jobs(self) -> None:
        self._thumb_generation += 1
        while self._thumb_jobs:
            self._thumb_jobs.popleft().cancel()

    def _open_file(self, index: QModelIndex) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        result = index.data(RESULT_ROLE)
        if result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.path)))

    def copy_result(self) -> None:
        """Copy the selected rows (or all shown rows) as tab-separated text: path, label, confidence, note."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}) or range(self.proxy.rowCount())
        lines = []
        for row in rows:
            result = self.proxy.index(row, 0).data(RESULT_ROLE)
            label = result.label(self.model.uncertain_below)
            note = result.error or result.note
            lines.append(f"{result.path}\t{label}\t{result.confidence:.4f}\t{note}")
        QGuiApplication.clipboard().setText("\n".join(lines))
        self.status.emit(f"Copied {len(lines):,} row(s).")

    # ---------------------------------------------------------------- export and sorting
    def export(self, kind: str, path=None) -> Path | None:
        results = self.model.results()
        if not results:
            self.status.emit("Nothing to export yet: tag a folder first.")
            return None
        if path is None:
            start = str(Path(self.settings.get("tag/last_output") or _documents_folder()) / f"tags.{kind}")
            path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", start, f"{kind.upper()} (*.{kind})")
            if not path:
                return None
        level = self.model.uncertain_below
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

    def choose_sort_folder(self) -> None:
        if not self.model.results():
            self.status.emit("Nothing to sort yet: tag a folder first.")
            return
        start = self.settings.get("tag/last_output") or _documents_folder()
        folder = QFileDialog.getExistingDirectory(self, "Sort copies into which folder?", start)
        if not folder:
            return
        move = self.move_box.isChecked()
        if move:
            results = self.model.results()
            movable = sum(r.ok for r in results)
            left = len(results) - movable
            untagged = (f"\n{left:,} file{'s' * (left != 1)} that could not be tagged stay where they are."
                        if left else "")
            answer = QMessageBox.warning(
                self, "Move the original files?",
                f"This moves {movable:,} files out of their folders into {folder}.{untagged}\n"
                "They will no longer be where they are now. Copy instead to keep them in place.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.sort_into(folder, move=move)

    def sort_into(self, folder, move: bool = False) -> None:
        if self.busy:
            return
        self.sort_outcomes = []
        self._sort_dir, self._sort_move = Path(folder), move
        self.settings.set("tag/last_output", str(folder))
        worker = GeneratorWorker(jobs.sort_job, self.model.results(), Path(folder), self.model.uncertain_below, move)
        worker.signals.yielded.connect(self._on_sort_item)
        self.total = self.done = 0
        self._run(worker, "sort")

    def _on_sort_item(self, item) -> None:
        if isinstance(item, jobs.JobStarted):
            self.total = item.total
            return
        self.done += 1
        self.sort_outcomes.append(item)

    def _finish_sort(self, outcome: str) -> str:
        counts = Counter(o.action for o in self.sort_outcomes)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        try:
            report = self._sort_dir / f"faceapp-sort-report-{stamp}.csv"
            self.last_report = write_sort_report(self.sort_outcomes, report)
            where = f" Report: {self.last_report}."
        except OSError as exc:
            where = f" The report could not be written ({exc.strerror or exc})."
        done = ", ".join(f"{n:,} {action}" for action, n in sorted(counts.items())) or "nothing done"
        head = {"finished": "Sorted", "cancelled": "Sorting cancelled", "errored": "Sorting stopped"}[outcome]
        left = self.total - len(self.sort_outcomes)
        rest = f"; {left:,} not reached (originals untouched)" if left > 0 else ""
        return f"{head}: {done}{rest}.{where}"


def _documents_folder() -> str:
    """Where an export goes by default: the user's documents folder, not the photo folder being tagged."""
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
