"""Gallery (1:N) tab of the Verify page: compare the probe with every identity folder and list the best matches.

The slider's threshold is a 1:1 threshold: each stranger has a chance of scoring above it, so in a large
gallery several may. When the matcher stores its validation score distributions, the gallery decides at
the threshold for its size (the false-match rate divided by the number of identities), and says so.
MATCH is said only when exactly one identity reaches it; with more, the best is a "best candidate", the
others "above threshold", and the summary says how many there are.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.embedding_cache import EmbeddingCache
from faceapp.core.verify import GalleryMatch, GalleryUnreadable, decide
from faceapp.ui import jobs
from faceapp.ui.panels.verify_inputs import VerifyInputs
from faceapp.ui.widgets import progress_text
from faceapp.ui.workers import GeneratorWorker, WorkerError
from training.error_rates import gallery_threshold

log = logging.getLogger(__name__)

HEADERS = ("Identity", "Score", "Decision", "Closest image", "Images")
MATCH, BEST, ABOVE, BELOW, UNSURE = "MATCH", "best candidate", "above threshold", "no match", "uncertain"
DECISION_TIP = ("MATCH: the only identity that reaches the threshold, by more than the uncertain margin; "
                "'uncertain' when it is within the margin. When several reach the threshold (or come within the "
                "margin below it), none is called a match: the highest-scoring one is the best candidate, the "
                "others are 'above threshold'. Compare those photos by eye, or raise the threshold.")


class _NumberItem(QTableWidgetItem):
    def __lt__(self, other) -> bool:
        return float(self.data(Qt.ItemDataRole.UserRole) or 0) < float(other.data(Qt.ItemDataRole.UserRole) or 0)


class GalleryView(QWidget):
    status = Signal(str)
    started = Signal()
    job_done = Signal(str)  # "finished" | "cancelled" | "errored"

    def __init__(self, inputs: VerifyInputs, parent: QWidget | None = None):
        super().__init__(parent)
        self.inputs = inputs
        self.worker: GeneratorWorker | None = None
        self._search = 0  # which search the table shows; a new probe starts another
        self._threshold_for: tuple = (None, 0.0)  # (slider threshold, rates, size) -> the gallery's threshold
        self._reset_results()
        self.cache = EmbeddingCache()  # the next search of the same gallery skips photos embedded before
        self.folder_edit = QLineEdit(placeholderText="A folder with one sub-folder of photos per person")
        self.folder_edit.setText(inputs.settings.get("verify/gallery_folder"))
        browse = QPushButton("Browse…", clicked=self.choose_folder)
        self.search_button = QPushButton("Search probe in gallery", clicked=self.start)
        self.cancel_button = QPushButton("Cancel", clicked=self.cancel, enabled=False)
        self.progress = QLabel("Compares the probe (right slot) with every identity; lists the best matches first.",
                               wordWrap=True)
        self.bar = QProgressBar(textVisible=False, maximumHeight=10, visible=False)  # only while searching
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.horizontalHeaderItem(HEADERS.index("Decision")).setToolTip(DECISION_TIP)
        self.table.horizontalHeaderItem(HEADERS.index("Score")).setToolTip(
            "Match probability of the probe with the identity as a whole: the average of its photos' "
            "embeddings, so a person with many photos gets no extra chances.")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Double-click a row (or press Enter) to put its closest image in the reference slot: "
                              "the two faces are then shown side by side and scored 1:1.")
        self.table.activated.connect(self.compare_row)
        row = QHBoxLayout()
        for w in (QLabel("Gallery:"), self.folder_edit, browse, self.search_button, self.cancel_button):
            row.addWidget(w, 1 if w is self.folder_edit else 0)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.bar)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        inputs.probe.changed.connect(self.probe_changed)
        inputs.probe.face_chosen.connect(self.probe_changed)
        inputs.decision.changed.connect(self.redecide)

    def _reset_results(self) -> None:
        self.matches: list[GalleryMatch] = []
        self.total = 0
        self._best: GalleryMatch | None = None
        self._above = 0  # identities at or above the threshold
        self._row_cells: dict[str, tuple[QTableWidgetItem, ...]] = {}  # identity -> its row's cells (rows move on sort)
        self._outcome = ""
        self.unreadable: list[GalleryUnreadable] = []  # files skipped, with their reasons
        self.compared = 0  # identities done: with a match, or with no photo that could be read
        self._started_at = time.monotonic()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose the gallery folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def refresh(self, reason: str) -> None:
        """`reason` is why a search cannot start now ("" when it can)."""
        self.search_button.setEnabled(self.worker is None and not reason)
        self.search_button.setToolTip(reason or "Rank every identity folder by its match with the probe.")

    def start(self) -> None:
        probe, folder = self.inputs.probe.image, self.folder_edit.text().strip()
        if self.worker is not None or probe is None:
            return
        if not folder or not Path(folder).is_dir():
            self.status.emit("Choose a gallery folder first.")
            return
        self.inputs.settings.set("verify/gallery_folder", folder)
        self._reset_results()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        worker = GeneratorWorker(jobs.gallery_job, self.inputs.models, probe, Path(folder), self.inputs.assume_crop(),
                                 self.cache, self.inputs.probe.face)
        self._search += 1
        search = self._search  # results still queued from a search the probe outdated are dropped
        worker.signals.yielded.connect(lambda item: self._on_item(item) if search == self._search else None)
        worker.signals.finished.connect(lambda _: self._ended("finished", search))
        worker.signals.cancelled.connect(lambda: self._ended("cancelled", search))
        worker.signals.errored.connect(lambda error: self._errored(error, search))
        self.worker = worker
        self.cancel_button.setEnabled(True)
        self.search_button.setEnabled(False)
        self.started.emit()
        self.progress.setText("Searching…")
        self.progress.setToolTip("")
        self.bar.setRange(0, 0)  # busy until the number of identities is known
        self.bar.show()
        self.inputs.pool.start(worker)

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def probe_changed(self) -> None:
        """A new probe outdates the ranking: stop a search for the old one and clear what it found."""
        if self.worker is None and not self.matches and not self.compared:
            return
        self.cancel()
        self._search += 1
        self._reset_results()
        self.table.setRowCount(0)
        self.progress.setText("The probe changed: search again to rank the gallery against the new probe.")
        self.progress.setToolTip("")

    def _on_item(self, item) -> None:
        if isinstance(item, jobs.JobStarted):
            self.total = item.total
            self.bar.setRange(0, max(item.total, 1))
            return
        if isinstance(item, GalleryUnreadable):
            self.unreadable.append(item)
            for path, reason in item.files:
                log.warning("gallery: skipped %s: %s", path, reason)
            cells = self._row_cells.get(item.identity)  # its match, if any, came first
            if cells:
                cells[4].setText(f"{cells[4].text()} ({len(item.files):,} unreadable)")
                cells[4].setToolTip("\n".join(f"{path.name}: {reason}" for path, reason in item.files))
            else:
                self._count_compared()
            return
        self.matches.append(item)
        row = self.table.rowCount()
        self.table.insertRow(row)
        score = _NumberItem(f"{item.probability:.3f}")
        score.setData(Qt.ItemDataRole.UserRole, item.probability)
        count = _NumberItem(str(item.images))
        count.setData(Qt.ItemDataRole.UserRole, item.images)
        cells = (QTableWidgetItem(item.identity), score, QTableWidgetItem(""), QTableWidgetItem(item.best_path.name),
                 count)
        cells[3].setToolTip(str(item.best_path))
        cells[2].setToolTip(DECISION_TIP)
        for column, cell in enumerate(cells):
            self.table.setItem(row, column, cell)
        self._row_cells[item.identity] = cells
        previous = self._best
        if previous is None or item.probability > previous.probability:  # ties: the first in gallery order
            self._best = item
        above = self._above + decide(item.probability, self._lower())
        if above != self._above and above <= 2:  # 0 -> 1 or 1 -> 2: MATCH appears or goes
            self._above = above
            self.redecide()
        else:
            self._above = above
            for match in {id(m): m for m in (previous, self._best, item) if m is not None}.values():
                self._decide(match)
        self._count_compared()

    def _count_compared(self) -> None:
        self.compared += 1
        self.bar.setValue(self.compared)
        self.progress.setText(progress_text(self.compared, self.total, "identities compared", self._started_at))

    def compare_row(self, index) -> None:
        """Load the row's closest image as the reference, next to the probe (the pair is scored as usual)."""
        cell = self.table.item(index.row(), 0)
        match = next((m for m in self.matches if cell is not None and m.identity == cell.text()), None)
        if match is not None:
            self.inputs.reference.load_path(match.best_path)

    def result_text(self, probe_source: str = "") -> str:
        """The ranked list as tab-separated text (pastes into a spreadsheet), decisions as shown."""
        lines = [f"probe\t{probe_source}\tthreshold\t{self.threshold():.3f}",
                 "rank\tidentity\tscore\tdecision\tclosest image\timages"]
        ranked = sorted(self.matches, key=lambda m: -m.probability)
        lines += [f"{rank}\t{m.identity}\t{m.probability:.4f}\t{self.decision(m)}\t{m.best_path}\t{m.images}"
                  for rank, m in enumerate(ranked, 1)]
        return "\n".join(lines)

    def _lower(self) -> float:
        """Scores from here up may be the person: the threshold less the uncertain margin."""
        return self.threshold() - self.inputs.uncertain_margin()

    def threshold(self) -> float:
        """The threshold for this gallery's size (`training.error_rates.gallery_threshold`: false-match rate
        / N from the matcher's stored impostor scores; without them, the slider's threshold)."""
        threshold, rates = self.inputs.threshold(), self.inputs.decision.error_rates
        n = max(self.total, len(self.matches))
        if rates is None or n < 2:
            return threshold
        key = (threshold, id(rates), n)
        if self._threshold_for[0] != key:  # once per slider step, not once per row (10,000 rows: 14 ms a step)
            self._threshold_for = (key, gallery_threshold(rates, threshold, n))
        return self._threshold_for[1]

    def decision(self, match: GalleryMatch) -> str:
        """MATCH, UNSURE, BEST, ABOVE or BELOW at the gallery's threshold and margin (no model call)."""
        if not decide(match.probability, self._lower()):
            return BELOW
        if self._above == 1:
            sure = decide(match.probability, self.threshold() + self.inputs.uncertain_margin())
            return MATCH if sure else UNSURE
        return BEST if match is self._best else ABOVE

    def redecide(self) -> None:
        lower = self._lower()
        self._above = sum(decide(m.probability, lower) for m in self.matches)
        for match in self.matches:
            self._decide(match)
        if self.worker is None and self._outcome:
            self._show_summary(self._outcome)

    def _decide(self, match: GalleryMatch) -> None:
        cells, text = self._row_cells.get(match.identity), self.decision(match)
        cell = cells[2] if cells else None
        if cell is None or cell.text() == text:  # only changes touch the table
            return
        cell.setText(text)
        color = {MATCH: Qt.GlobalColor.darkGreen, BEST: Qt.GlobalColor.darkYellow, ABOVE: Qt.GlobalColor.darkYellow,
                 UNSURE: Qt.GlobalColor.darkYellow}.get(text, Qt.GlobalColor.darkGray)
        cell.setForeground(color)
        font = cell.font()
        font.setBold(text in (MATCH, BEST))
        cell.setFont(font)

    def _errored(self, error: WorkerError, search: int) -> None:
        if search == self._search:
            self.status.emit(error.message)
        self._ended("errored", search)

    def _ended(self, outcome: str, search: int) -> None:
        self.worker = None
        self.bar.hide()
        self.cancel_button.setEnabled(False)
        self.table.setSortingEnabled(True)
        if search == self._search:  # else the probe changed meanwhile, and the table is already cleared
            self.table.sortItems(1, Qt.SortOrder.DescendingOrder)
            self._outcome = outcome
            self._show_summary(outcome)
        self.job_done.emit(outcome)

    def _show_summary(self, outcome: str) -> None:
        if outcome == "finished" and self.total == 0:
            self.progress.setText("No photos in this folder or its sub-folders: one sub-folder per person, "
                                  "or loose photos (each its own identity).")
            return
        best, head = self._best, {"finished": "Done", "cancelled": "Cancelled", "errored": "Stopped"}[outcome]
        text = f"{head}: {len(self.matches):,} of {self.total:,} identities"
        if best is not None:
            text += f"; best: {best.identity} ({best.probability:.3f})"
            margin = self.inputs.uncertain_margin()
            near = f" or come within ±{margin:.2f} of it" if margin > 0 else ""
            if self._above > 1:
                text += (f". {self._above:,} identities reach the threshold{near}, so none is called a match: "
                         "compare the best candidates by eye, or raise the threshold")
            elif self._above == 0:
                text += ", below the threshold: no identity matches"
            elif self.decision(best) == UNSURE:
                text += f", within ±{margin:.2f} of the threshold: too close to call"
        files = [(path, reason) for item in self.unreadable for path, reason in item.files]
        gallery_threshold = self.threshold()
        if gallery_threshold > self.inputs.threshold():
            text += (f". Decided at {gallery_threshold:.3f}, the threshold for {max(self.total, len(self.matches)):,} "
                     f"identities: a stranger then matches one of them as rarely as one photo at "
                     f"{self.inputs.threshold():.3f}")
        self.progress.setText(text + "." + self._unreadable_text(files))
        self.progress.setToolTip("\n".join(f"{path}: {reason}" for path, reason in files[:20])
                                 + (f"\n… and {len(files) - 20:,} more (all in the log)" if len(files) > 20 else ""))

    def _unreadable_text(self, files: list[tuple[Path, str]]) -> str:
        """' N photos could not be read ...' for the summary (which and why: its tooltip and the log), or ''."""
        if not files:
            return ""
        matched = {m.identity for m in self.matches}
        without = sum(item.identity not in matched for item in self.unreadable)
        text = f" {len(files):,} photo{'s' * (len(files) != 1)} could not be read"
        if without:
            text += f", so {without:,} identit{'ies' if without != 1 else 'y'} had no photo to compare"
        return text + " (hover here for which and why)."
