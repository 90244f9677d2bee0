"""Models page: the active gender model and matcher, their metadata, import / activate / remove, and the device."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceapp.core.devices import available_devices
from faceapp.core.messages import user_message
from faceapp.core.model_store import TASK_TITLES, TASKS, TRAIN_COMMANDS, ModelEntry
from faceapp.ui.panels.model_details import describe_entry
from faceapp.ui.workers import GeneratorWorker, WorkerPool

log = logging.getLogger(__name__)
ERROR_STYLE = ("QLabel { background: #fdecea; border: 1px solid #e57373; border-radius: 4px; padding: 6px;"
               " color: #8e1c1c; }")


class TaskBox(QGroupBox):
    """One task's models: a list, the selected model's details, and Import / Set active / Remove, which the
    page carries out (it owns the model folder's changes and the import job)."""

    import_requested = Signal(str, str)  # path, task
    activate_requested = Signal(str, object)  # task, ModelEntry
    remove_requested = Signal(str, object)  # task, ModelEntry (the user has said yes)

    def __init__(self, task: str, models, settings, parent: QWidget | None = None):
        super().__init__(TASK_TITLES[task], parent)
        self.task, self.models, self.settings = task, models, settings
        self.busy = False  # an import job runs: it also writes the model folder
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.list.currentItemChanged.connect(lambda *_: self.show_details())
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.import_button = QPushButton("Import…", clicked=self.choose_file)
        self.activate_button = QPushButton("Set active", clicked=self.activate_selected)
        self.remove_button = QPushButton("Remove", clicked=self.remove_selected)
        buttons = QHBoxLayout()
        for b in (self.import_button, self.activate_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addWidget(self.details, 1)
        layout.addLayout(buttons)

    def entries(self) -> list[ModelEntry]:
        return self.models.store.entries(self.task)

    def reload(self) -> None:
        selected = self.selected()
        self.list.clear()
        for entry in self.entries():
            item = QListWidgetItem(entry.name + ("  ✓ active" if entry.active else "")
                                   + ("  (cannot be loaded)" if entry.error else ""))
            item.setData(Qt.ItemDataRole.UserRole, entry)
            if entry.active:
                font = QFont(item.font())
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
            if (selected and entry.path == selected.path) or (not selected and entry.active):
                self.list.setCurrentItem(item)
        self.show_details()

    def selected(self) -> ModelEntry | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def show_details(self) -> None:
        if not self.models.ready:  # reading the files imports torch: the warm-up does it first
            self.details.setText("<p>Loading models…</p>")
            for button in (self.import_button, self.activate_button, self.remove_button):
                button.setEnabled(False)
            return
        entry = self.selected()
        if entry is None:
            self.details.setText(
                f"<p><b>No {TASK_TITLES[self.task].lower()} yet.</b></p>"
                "<p>Import a FaceApp checkpoint (<code>.pt</code>) with <i>Import…</i> or drop it on this page, "
                f"or train one from a terminal:</p><p><code>{TRAIN_COMMANDS[self.task]}</code></p>")
        else:
            self.details.setText(describe_entry(entry))
        idle = not self.busy
        self.import_button.setEnabled(idle)
        self.activate_button.setEnabled(idle and entry is not None and not entry.active and entry.error is None)
        self.remove_button.setEnabled(idle and entry is not None and entry.source == "user")

    def choose_file(self) -> None:
        start = self.settings.get("models/last_folder")
        path, _ = QFileDialog.getOpenFileName(self, f"Import a {TASK_TITLES[self.task].lower()}", start,
                                              "FaceApp checkpoints (*.pt);;All files (*)")
        if path:
            self.settings.set("models/last_folder", str(Path(path).parent))
            self.import_requested.emit(path, self.task)

    def activate_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.activate_requested.emit(self.task, entry)

    def remove_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        answer = QMessageBox.question(self, "Remove model?", f"Delete {entry.name} from the model folder?")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_requested.emit(self.task, entry)


class ModelsPanel(QWidget):
    status = Signal(str)
    models_changed = Signal()
    device_changed = Signal(str)
    import_finished = Signal(int)  # after an import job: how many files were added

    def __init__(self, models, settings, pool: WorkerPool | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.models, self.settings = models, settings
        self.store = models.store
        self.pool = pool or WorkerPool(max_threads=1, parent=self)
        self.importing: GeneratorWorker | None = None
        self.setAcceptDrops(True)
        intro = QLabel(
            "Models are FaceApp checkpoints (<code>.pt</code>). Imported ones are copied into your model folder; "
            "the defaults bundled with the app are used when you have not chosen one. "
            "Drop a <code>.pt</code> file here to import it.")
        intro.setWordWrap(True)
        open_folder = QPushButton("Open model folder", clicked=self.open_folder)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.hide()
        self.device = QComboBox()  # filled by `reload` once the models are ready
        self.device.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # its items come later
        self.device.currentIndexChanged.connect(self._device_chosen)
        self.device.setToolTip("Where the models run. Automatic picks a GPU when one is usable, else the CPU.")
        self.device_label = QLabel()
        device_row = QHBoxLayout()
        for w in (QLabel("Run models on:"), self.device, self.device_label):
            device_row.addWidget(w)
        device_row.addStretch(1)
        device_row.addWidget(open_folder)
        self.boxes = {task: TaskBox(task, models, settings) for task in TASKS}
        row = QHBoxLayout()
        for box in self.boxes.values():
            box.import_requested.connect(self.import_file)
            box.activate_requested.connect(self._activate)
            box.remove_requested.connect(self._remove)
            row.addWidget(box, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(device_row)
        layout.addWidget(self.error)
        layout.addLayout(row, 1)
        self.reload()

    def reload(self) -> None:
        if not self.models.ready:  # the window calls reload again when they are
            for box in self.boxes.values():
                box.show_details()
            self.device.setEnabled(False)
            self.device_label.setText("Loading models…")
            return
        self._list_devices()
        for box in self.boxes.values():
            box.reload()
        try:
            self.device_label.setText(f"in use: {self.models.resolved_device()}")
        except Exception as exc:  # noqa: BLE001 - e.g. CUDA chosen on a machine that lost its GPU
            self.device_label.setText(user_message(exc))

    def _list_devices(self) -> None:
        """Fill the device menu once: CUDA and MPS are found through torch, so not before the warm-up."""
        if self.device.count():
            return
        self.device.blockSignals(True)  # listing is not choosing: the setting stays as it is
        for label, value in available_devices():
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(0, self.device.findData(self.settings.get("device"))))
        self.device.blockSignals(False)
        self.device.setEnabled(True)

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def import_file(self, path, task: str | None = None) -> GeneratorWorker | None:
        """`import_files` for one file."""
        return self.import_files([path], task)

    def import_files(self, paths, task: str | None = None) -> GeneratorWorker | None:
        """Validate and copy checkpoints into the model folder on a worker, one after the other (a wrong file
        may be large: reading it must not freeze the window). A file with any problem gets one sentence and
        changes nothing; `import_finished` tells how many were added. None while an import is running."""
        paths = [Path(p) for p in paths]
        if self.importing is not None:
            self.status.emit("An import is still running; drop the file again when it is done.")
            return None
        worker = GeneratorWorker(_import_each, self.store, paths, task)
        worker.signals.yielded.connect(self._imported_one)
        worker.signals.errored.connect(lambda error: self._import_failed(paths, error))
        worker.signals.ended.connect(self._import_ended)
        self.importing = worker
        self._added, self._failures = 0, []
        self._show_busy()
        self.status.emit(f"Importing {', '.join(p.name for p in paths)}…")
        return self.pool.start(worker)

    def _imported_one(self, outcome) -> None:
        path, error = outcome
        if error is None:
            self._added += 1
            self._changed(f"Imported {path.name} and made it active.", keep_error=bool(self._failures))
        else:
            self._import_refused(path.name, error)

    def _import_failed(self, paths, error) -> None:  # not a problem with a file: a bug, or out of memory
        self._import_refused(", ".join(p.name for p in paths), error.message)

    def _import_refused(self, names: str, reason: str) -> None:
        self._failures.append(f"Could not import {names}: {reason.rstrip('.')}. Nothing was changed.")
        self._refused(" ".join(self._failures))

    def _import_ended(self) -> None:
        self.importing = None
        self._show_busy()
        if self._failures and self._added:  # the last word in the status bar is what went wrong
            self.status.emit(f"Imported {self._added}; " + " ".join(self._failures))
        self.import_finished.emit(self._added)

    def _show_busy(self) -> None:
        """Reflect `importing` in the buttons (Import, Set active and Remove wait for the job) and the cursor."""
        for box in self.boxes.values():
            box.busy = self.importing is not None
            box.show_details()
        self.setCursor(Qt.CursorShape.ArrowCursor if self.importing is None else Qt.CursorShape.BusyCursor)

    def _activate(self, task: str, entry: ModelEntry) -> None:
        self.run_change(lambda: self.store.activate(task, entry.path),
                        f"{entry.name} is now the active {TASK_TITLES[task].lower()}.")

    def _remove(self, task: str, entry: ModelEntry) -> None:
        self.run_change(lambda: self.store.remove(task, entry.path), f"Removed {entry.name}.")

    def run_change(self, change, success: str) -> bool:
        """A quick change of the model folder on the GUI thread (activate, remove)."""
        try:
            change()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one sentence here and a trace in the log
            log.warning("model change failed", exc_info=True)
            self._refused(user_message(exc).rstrip(".") + ".")
            return False
        self._changed(success)
        return True

    def _changed(self, message: str, keep_error: bool = False) -> None:
        if not keep_error:
            self.show_error(None)
        self.models.invalidate()
        self.reload()
        self.status.emit(message)
        self.models_changed.emit()

    def _refused(self, message: str) -> None:
        self.show_error(message)
        self.status.emit(message)

    def _device_chosen(self) -> None:
        value = self.device.currentData()
        self.settings.set("device", value)
        self.models.set_device(value)
        self.reload()
        self.device_changed.emit(value)

    def open_folder(self) -> None:
        self.store.user_dir.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.user_dir)))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(u.toLocalFile().endswith(".pt") for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.toLocalFile().endswith(".pt")]
        if paths:
            self.import_files(paths)
        event.acceptProposedAction()


def _import_each(store, paths: list[Path], task: str | None):
    """Worker: import each file in turn; yields (path, None) or (path, the reason it was refused)."""
    for path in paths:
        try:
            store.import_checkpoint(path, task=task)
        except MemoryError:
            yield path, "the file is too large to read into memory"
        except Exception as exc:  # noqa: BLE001 - one sentence per file; the next file still gets its turn
            log.warning("import of %s failed", path, exc_info=True)
            yield path, user_message(exc)
        else:
            yield path, None
