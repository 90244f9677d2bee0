"""The tagging table at scale: 10,000 rows, batched inserts, filters, bounded thumbnail cache."""

from pathlib import Path

from PySide6.QtGui import QImage

from faceapp.core.tagging import TagResult
from faceapp.ui.tag_model import COL_CONF, COL_LABEL, TagFilterProxy, TagTableModel

ROWS = 10_000


def _results():
    for i in range(ROWS):
        if i % 97 == 0:
            yield TagResult(i, Path(f"/photos/{i}.jpg"), error="file is truncated")
        else:
            confidence = 0.5 + (i % 50) / 100
            label = "female" if i % 3 else "male"
            yield TagResult(i, Path(f"/photos/{i}.jpg"), label, confidence, {label: confidence}, faces_found=1)


def test_ten_thousand_rows_filter_sort_and_bounded_thumbnails(qtbot):
    model = TagTableModel(thumbnail_capacity=500)
    proxy = TagFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_CONF)
    thumb = QImage(48, 48, QImage.Format.Format_RGB888)
    inserts = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
    with qtbot.waitSignal(model.flushed, timeout=120_000) as flushed:  # a ceiling, not a budget
        for result in _results():
            model.add(result, thumb)
    model.flush()
    # What keeps 10,000 rows quick: the rows queued between two turns of the event loop go in as one
    # insert (one re-sort of the proxy), not one insert per row.
    assert flushed.args == [ROWS] and inserts == [(0, ROWS - 1)]
    assert model.rowCount() == ROWS and proxy.rowCount() == ROWS
    assert len(model.thumbnails) == 500  # bounded: old thumbnails were evicted
    proxy.set_label("error")
    assert proxy.rowCount() == len(range(0, ROWS, 97))
    proxy.set_label(None)
    proxy.set_confidence_range(0.9, 1.0)
    assert 0 < proxy.rowCount() < ROWS
    assert all(float(proxy.index(r, COL_CONF).data().rstrip("%")) >= 90.0 for r in range(proxy.rowCount()))
    proxy.set_confidence_range(0.0, 1.0)
    model.set_uncertain_below(0.8)
    proxy.set_label("uncertain")
    assert all(proxy.index(r, COL_LABEL).data() == "uncertain" for r in range(min(50, proxy.rowCount())))


def test_evicted_thumbnail_is_requested_again(qtbot):
    model = TagTableModel(thumbnail_capacity=2)
    asked = []
    model.thumbnails.loader = lambda row, result: asked.append(row)
    thumb = QImage(8, 8, QImage.Format.Format_RGB888)
    for result in list(_results())[1:4]:
        model.add(result, thumb)
    model.flush()
    from PySide6.QtCore import Qt

    assert model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is None  # evicted
    assert asked == [0]
    with qtbot.waitSignal(model.dataChanged, timeout=30_000):
        model.thumbnails.put(0, thumb)
    assert model.index(0, 0).data(Qt.ItemDataRole.DecorationRole) is not None
