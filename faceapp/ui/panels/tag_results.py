"""The Tag page's results: the label and confidence filters over the streamed table, its thumbnails (rebuilt
off-thread when evicted), the per-label counts, copying rows and opening a file."""

from __future__ import annotations

from collections import Counter, deque

from PySide6.QtCore import QModelIndex, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.tagging import ERROR, UNCERTAIN, TagResult
from faceapp.ui import jobs
from faceapp.ui.panels.tag_options import percent_box
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
from faceapp.ui.workers import GeneratorWorker, WorkerPool

THUMB = 48
MAX_THUMB_REQUESTS = 64  # pending thumbnail rebuilds; older ones are cancelled while scrolling


class TagResultsView(QWidget):
    """The filter row (with `trailing` at its right end) above the sortable results table."""

    counts_changed = Signal()  # rows were shown, or the level relabelled them

    def __init__(self, models, thumb_pool: WorkerPool, trailing: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.thumb_pool = models, thumb_pool
        self.counts: Counter = Counter()  # rows per label at the current level
        self._thumb_jobs: deque[GeneratorWorker] = deque()
        self._thumb_generation = 0

        self.label_filter = QComboBox()
        self.label_filter.addItem("All labels", "")
        self.label_filter.currentIndexChanged.connect(lambda _: self.proxy.set_label(self.label_filter.currentData()))
        self.conf_low, self.conf_high = percent_box(0.0), percent_box(100.0)
        for box in (self.conf_low, self.conf_high):
            box.setToolTip("Show only rows whose confidence is in this range.")
            box.valueChanged.connect(self._range_changed)
        filters = QHBoxLayout()
        for w in (QLabel("Show:"), self.label_filter, QLabel("Confidence from"), self.conf_low, QLabel("to"),
                  self.conf_high):
            filters.addWidget(w)
        filters.addStretch(1)
        filters.addWidget(trailing)

        self.model = TagTableModel(self)
        self.model.flushed.connect(lambda _: self.counts_changed.emit())
        self.model.thumbnails.loader = self._request_thumbnail
        self.proxy = TagFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = self._build_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)

    def _build_table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(COL_THUMB, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setIconSize(QSize(THUMB, THUMB))
        table.verticalHeader().setDefaultSectionSize(THUMB + 4)
        table.verticalHeader().hide()
        table.setAlternatingRowColors(True)
        table.doubleClicked.connect(self._open_file)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((COL_THUMB, THUMB + 8), (COL_FILE, 260), (COL_LABEL, 90), (COL_CONF, 90),
                              (COL_FACES, 110)):
            table.setColumnWidth(column, width)
        return table

    # ---------------------------------------------------------------- rows
    def clear(self) -> None:
        """Before a new run: no rows, no counts, and no thumbnail of the old rows still on its way."""
        self._drop_thumbnail_jobs()
        self.model.clear()
        self.counts.clear()

    def add(self, result: TagResult, thumbnail) -> None:
        self.counts[result.label(self.model.uncertain_below)] += 1
        self.model.add(result, thumbnail)

    def set_level(self, level: float) -> None:
        """Relabel every row at a new "uncertain below" level."""
        self.model.set_uncertain_below(level)
        self.counts = Counter(r.label(level) for r in self.model.results())
        self.counts_changed.emit()

    def show_classes(self, classes: list[str]) -> None:
        """The label filter offers the model's classes (any two names), then uncertain and error."""
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

    def _range_changed(self) -> None:
        low, high = sorted((self.conf_low.value() / 100.0, self.conf_high.value() / 100.0))
        self.proxy.set_confidence_range(low, high)

    def copy_rows(self) -> int:
        """Copy the selected rows (or all shown rows) as tab-separated text: path, label, confidence, note;
        return how many."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()}) or range(self.proxy.rowCount())
        lines = []
        for row in rows:
            result = self.proxy.index(row, 0).data(RESULT_ROLE)
            label = result.label(self.model.uncertain_below)
            note = result.error or result.note
            lines.append(f"{result.path}\t{label}\t{result.confidence:.4f}\t{note}")
        QGuiApplication.clipboard().setText("\n".join(lines))
        return len(lines)

    def _open_file(self, index: QModelIndex) -> None:
        result = index.data(RESULT_ROLE)
        if result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result.path)))

    # ---------------------------------------------------------------- thumbnails
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
