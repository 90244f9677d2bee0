"""Table model for streamed tagging results: batched inserts, label/confidence filter, bounded thumbnail cache.

Built for 10,000+ rows: one `TagResult` (without pixels) per row, rows appended in batches by a timer,
thumbnails kept as small QImages in an LRU cache and rebuilt off-thread when scrolled back into view.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage

from faceapp.core.tagging import ERROR, UNCERTAIN, TagResult
from faceapp.ui import qt_compat  # noqa: F401 - guards against PySide6 6.12.0's refcount bug before any Qt call
from training.calibration import FALLBACK_UNCERTAIN_BELOW

COLUMNS = ("", "File", "Label", "Confidence", "Faces", "Note")
COL_THUMB, COL_FILE, COL_LABEL, COL_CONF, COL_FACES, COL_NOTE = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RESULT_ROLE = Qt.ItemDataRole.UserRole + 2
HEADER_TIPS = {
    COL_LABEL: "Predicted gender. 'uncertain' when the confidence is below the level you set; "
               "'error' when the file could not be read.",
    COL_CONF: "Confidence: the model's probability for the label it predicted (0.5 = a coin toss, 1.0 = sure).",
    COL_FACES: "Faces the detector found. 0 means none was found and the whole image was classified.",
}
LABEL_COLORS = {UNCERTAIN: QColor("#b26a00"), ERROR: QColor("#c62828")}


class ThumbnailCache(QObject):
    """LRU of row -> QImage with a fixed number of entries; asks `loader` for rows it no longer holds."""

    ready = Signal(int)  # row whose thumbnail just arrived

    def __init__(self, capacity: int = 2000, parent: QObject | None = None):
        super().__init__(parent)
        self.capacity = capacity
        self._images: OrderedDict[int, QImage] = OrderedDict()
        self._requested: set[int] = set()
        self.loader = None  # callable(row, result) that later calls put(row, image); None: no reloads

    def __len__(self) -> int:
        return len(self._images)

    def get(self, row: int, result: TagResult) -> QImage | None:
        image = self._images.get(row)
        if image is not None:
            self._images.move_to_end(row)
            return image
        if self.loader is not None and row not in self._requested and result.ok:
            self._requested.add(row)
            self.loader(row, result)
        return None

    def put(self, row: int, image: QImage | None) -> None:
        self._requested.discard(row)
        if image is None or image.isNull():
            return
        self._images[row] = image
        self._images.move_to_end(row)
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)
        self.ready.emit(row)

    def clear(self) -> None:
        self._images.clear()
        self._requested.clear()


class TagTableModel(QAbstractTableModel):
    flushed = Signal(int)  # number of rows now in the model

    def __init__(self, parent: QObject | None = None, thumbnail_capacity: int = 2000, flush_ms: int = 100):
        super().__init__(parent)
        self._rows: list[TagResult] = []
        self._pending: list[TagResult] = []
        self.uncertain_below = FALLBACK_UNCERTAIN_BELOW
        self.every_face = False  # rows are faces of photos (TagOptions.faces == "all"): name each row's face
        self.thumbnails = ThumbnailCache(thumbnail_capacity, self)
        self.thumbnails.ready.connect(self._thumbnail_ready)
        self._flush_timer = QTimer(self, singleShot=True, interval=flush_ms)
        self._flush_timer.timeout.connect(self.flush)

    # ---------------------------------------------------------------- feeding
    def add(self, result: TagResult, thumbnail: QImage | None = None) -> None:
        """Queue a result; rows are inserted together at most every `flush_ms`."""
        if thumbnail is not None:
            row = len(self._rows) + len(self._pending)
            self.thumbnails.put(row, thumbnail)
        self._pending.append(result)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        if not self._pending:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(self._pending) - 1)
        self._rows.extend(self._pending)
        self._pending = []
        self.endInsertRows()
        self.flushed.emit(len(self._rows))

    def clear(self) -> None:
        self._flush_timer.stop()
        self.beginResetModel()
        self._rows, self._pending = [], []
        self.thumbnails.clear()
        self.endResetModel()

    def results(self) -> list[TagResult]:
        self.flush()
        return list(self._rows)

    def result(self, row: int) -> TagResult:
        return self._rows[row]

    def set_uncertain_below(self, level: float) -> None:
        self.uncertain_below = level
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_LABEL), self.index(len(self._rows) - 1, COL_LABEL))

    # ---------------------------------------------------------------- Qt model API
    def rowCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def columnCount(self, parent=None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        result = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(result, column)
        if role == SORT_ROLE:
            return self._sort_key(result, column)
        if role == RESULT_ROLE:
            return result
        if role == Qt.ItemDataRole.DecorationRole and column == COL_THUMB:
            return self.thumbnails.get(index.row(), result)
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_LABEL:
            return LABEL_COLORS.get(result.label(self.uncertain_below))
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(result.path) if column in (COL_THUMB, COL_FILE) else self._display(result, column) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_CONF, COL_FACES):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, result: TagResult, column: int):
        if column == COL_FILE:
            if result.face_index > 0 or (self.every_face and result.faces_found > 1):
                return f"{result.path.name} · face {result.face_index + 1} of {result.faces_found}"
            return result.path.name
        if column == COL_LABEL:
            return result.label(self.uncertain_below)
        if not result.ok:
            return result.error if column == COL_NOTE else ""
        if column == COL_CONF:
            return f"{result.confidence:.1%}"
        if column == COL_FACES:
            return f"{result.faces_found}" + (" (whole image)" if result.face_fallback else "")
        if column == COL_NOTE:
            return result.note
        return None

    def _sort_key(self, result: TagResult, column: int):
        if column == COL_CONF:
            return result.confidence if result.ok else -1.0
        if column == COL_FACES:
            return result.faces_found if result.ok else -1
        if column == COL_THUMB:
            return result.index
        return str(self._display(result, column) or "").casefold()

    def _thumbnail_ready(self, row: int) -> None:
        if row < len(self._rows):
            index = self.index(row, COL_THUMB)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class TagFilterProxy(QSortFilterProxyModel):
    """Filter by shown label and a confidence range; sort by each column's natural key."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.label: str | None = None
        self.confidence_range = (0.0, 1.0)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_label(self, label: str | None) -> None:
        self._change_filter(lambda: setattr(self, "label", label or None))

    def set_confidence_range(self, low: float, high: float) -> None:
        self._change_filter(lambda: setattr(self, "confidence_range", (low, high)))

    def _change_filter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateFilter() is deprecated there
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent) -> bool:  # noqa: N802
        model = self.sourceModel()
        result = model.result(source_row)
        if self.label and result.label(model.uncertain_below) != self.label:
            return False
        low, high = self.confidence_range
        if (low > 0.0 or high < 1.0) and not (result.ok and low <= result.confidence <= high):
            return False  # a narrowed range hides unreadable files too: they have no confidence
        return True
