"""Tag folder page: pick a folder, stream gender tags into a sortable/filterable table, export or sort files.

The page runs the jobs (tagging, sorting) and wires its parts: the folder box and the "Uncertain below"
level (tag_options), the filtered table with its thumbnails (tag_results), and the summary with export and
sorting (tag_output)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from faceapp.core.active_models import no_model_message
from faceapp.core.tagging import TagOptions
from faceapp.ui import jobs
from faceapp.ui.panels.tag_options import DEFAULT_CLASSES, TagFolderBox, UncertainLevelBox
from faceapp.ui.panels.tag_output import SortRun, TagOutputBar
from faceapp.ui.panels.tag_results import THUMB, TagResultsView
from faceapp.ui.widgets import Notice, ProgressLine
from faceapp.ui.workers import GeneratorWorker, WorkerError, WorkerPool


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
        self._sort: SortRun | None = None
        self.last_report: Path | None = None
        self._build()
        self._restore()
        self._ticker = QTimer(self, interval=250)
        self._ticker.timeout.connect(self._show_progress)
        self.refresh_models()

    # ---------------------------------------------------------------- layout
    def _build(self) -> None:
        self.notice = Notice()
        self.notice.link.connect(lambda _: self.open_models.emit())
        self.folder = TagFolderBox(self.settings)
        self.folder.folder_changed.connect(lambda _: self.refresh_models())
        self.start_button, self.cancel_button = self.folder.start_button, self.folder.cancel_button
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = ProgressLine("images")
        self.level = UncertainLevelBox(self.models, self.settings)
        self.uncertain = self.level.box
        self.results = TagResultsView(self.models, self.thumb_pool, trailing=self.level)
        self.model = self.results.model
        self.output = TagOutputBar(self.models, self.settings, self.model)
        self.output.status.connect(self.status)
        self.output.sort_requested.connect(self.sort_into)
        self.level.changed.connect(self.results.set_level)
        self.results.counts_changed.connect(self._show_summary)

        layout = QVBoxLayout(self)
        for w in (self.notice, self.folder, self.progress):
            layout.addWidget(w)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.output)
        self._show_classes(DEFAULT_CLASSES)  # the active model's own class names once it is read
        self._set_busy(False)

    def _restore(self) -> None:
        self.folder.restore()
        self.model.set_uncertain_below(self.level.value())  # until the gender model is known

    def save_settings(self) -> None:
        self.folder.save()
        self.level.save()

    # ---------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        return self.worker is not None

    def refresh_models(self) -> None:
        """Enable Start only when a model and a folder are there; say why otherwise."""
        has_model = self.models.available("gender")
        classes = self.level.sync()  # the active gender model's level and class names
        if classes is not None:
            self._show_classes(classes)
        self.notice.show_message(None if has_model else
                                 f"{no_model_message('gender')} <a href='models'>Open the Models page</a>")
        reason = ("" if has_model else "No gender model is installed: see the Models page.")
        if has_model and not self.folder.folder():
            reason = "Choose a folder first (Browse…, Ctrl+O, or drop a folder onto the window)."
        if not reason and not self.models.ready:
            reason = "Loading the gender model…"
        self.start_button.setEnabled(not self.busy and not reason)
        self.start_button.setToolTip(reason or "Tag every image in the folder (Ctrl+Return).")

    def _show_classes(self, classes: list[str]) -> None:
        """The label filter and the sort button's tooltip name the model's classes (any two names)."""
        self.results.show_classes(classes)
        self.output.show_classes(classes)

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.output.set_busy(busy)
        self.refresh_models()
        self.busy_changed.emit(busy)

    def _show_summary(self) -> None:
        self.output.show_summary(self.results.counts, "faces" if self.model.every_face else "images")

    # ---------------------------------------------------------------- actions
    def choose_folder(self) -> None:
        self.folder.choose_folder()

    def set_folder(self, folder) -> None:
        self.folder.set_folder(folder)

    def options(self) -> TagOptions:
        return TagOptions(recursive=self.folder.recursive.isChecked(), assume_crop=self.folder.assume_crop.isChecked(),
                          uncertain_below=self.level.value(), thumbnail_size=THUMB, batch_size=self.batch_size,
                          faces="all" if self.folder.every_face.isChecked() else "main")

    def start(self) -> None:
        if self.busy or not self.start_button.isEnabled():
            return
        self.save_settings()
        self.results.clear()
        self.total = self.done = 0
        self._skipped = ""
        self.last_report = None
        options = self.options()
        self.model.every_face = options.faces == "all"
        worker = GeneratorWorker(jobs.tag_job, Path(self.folder.folder()), self.models, options)
        worker.signals.yielded.connect(self._on_tag_item)
        self._run(worker, "tag")

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self._show_progress()
            if not self.total:
                self.progress.text.setText("Cancelling…")

    def copy_result(self) -> None:
        """Copy the selected rows (or all shown rows) as tab-separated text: path, label, confidence, note."""
        self.status.emit(f"Copied {self.results.copy_rows():,} row(s).")

    def export(self, kind: str, path=None) -> Path | None:
        return self.output.export(kind, path)

    def choose_sort_folder(self) -> None:
        self.output.choose_sort_folder()

    def sort_into(self, folder, move: bool = False) -> None:
        if self.busy:
            return
        self.settings.set("tag/last_output", str(folder))
        self._sort = SortRun(self.model.results(), folder, self.model.uncertain_below, move)
        self._sort.worker.signals.yielded.connect(self._on_sort_item)
        self.total = self.done = 0
        self._run(self._sort.worker, "sort")

    # ---------------------------------------------------------------- the running job
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
        if item[0].face_index == 0:  # progress counts photos; a group photo's other faces follow its first
            self.done += 1
        self.results.add(*item)  # result, thumbnail

    def _on_sort_item(self, item) -> None:
        if isinstance(item, jobs.JobStarted):
            self.total = item.total
            return
        self.done += 1
        self._sort.outcomes.append(item)

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
            message = self._sort.finish(outcome, self.total)
            self.last_report = self._sort.report or self.last_report
        else:
            message = self._tag_message(outcome, message)
        self.progress.end(message)
        self.status.emit(message)
        self._show_summary()
        self._set_busy(False)
        self.job_done.emit(kind, outcome)

    def _tag_message(self, outcome: str, message: str) -> str:
        self._show_progress()
        word = {"finished": "Done", "cancelled": "Cancelled", "errored": "Stopped"}[outcome]
        elapsed = time.monotonic() - self._started_at
        message = message or f"{word}: {self.done:,} of {self.total:,} images in {elapsed:.1f} s."
        if outcome == "finished" and not self.total:
            message = "No images in this folder" + (
                "." if self.folder.recursive.isChecked() else " itself: tick 'Include sub-folders' to look deeper.")
        if self._skipped:
            message = f"{message.rstrip('.')}; {self._skipped}."
        return message
