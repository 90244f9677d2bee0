"""The main window: assembles the pages in a sidebar, wires menus, shortcuts, drops, status bar and shutdown."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QThread, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QWidget,
)

from faceapp import APP_NAME, __version__
from faceapp.core.model_store import TASKS
from faceapp.ui.about import about_html
from faceapp.ui.panels.models_panel import ModelsPanel
from faceapp.ui.panels.tag_panel import TagPanel
from faceapp.ui.panels.train_panel import TrainPanel
from faceapp.ui.panels.verify_panel import VerifyPanel
from faceapp.ui.workers import WorkerPool
from training.imaging import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)
PAGE_TAG, PAGE_VERIFY, PAGE_TRAIN, PAGE_MODELS = range(4)
SHUTDOWN_TIMEOUT_MS = 5000
LOADING_MODELS = "Loading models…"


DEFAULT_SIZE = QSize(1180, 780)


def default_size(available: QSize | None) -> QSize:
    """The first window's size: 1180 x 780, less where the screen's free area is smaller (a 1366 x 768
    laptop has ~730 px under its panels; the window frame needs some of that too)."""
    if available is None or available.isEmpty():
        return DEFAULT_SIZE
    return QSize(min(DEFAULT_SIZE.width(), available.width() - 40), min(DEFAULT_SIZE.height(), available.height() - 60))


class MainWindow(QMainWindow):
    def __init__(self, models, settings, log_path: Path | None = None, parent: QWidget | None = None, *,
                 data_folder: Path | None = None):
        super().__init__(parent)
        self.models, self.settings, self.log_path = models, settings, log_path
        self.setWindowTitle(f"{APP_NAME} {__version__}")
        self.setAcceptDrops(True)
        self.pool = WorkerPool(max_threads=max(4, QThread.idealThreadCount()), parent=self)

        self.tag_panel = TagPanel(models, settings, self.pool)
        self.verify_panel = VerifyPanel(models, settings, self.pool)
        self.train_panel = TrainPanel(models, settings, runs_dir=Path(data_folder) / "runs" if data_folder else None)
        self.models_panel = ModelsPanel(models, settings, self.pool)
        self.pages = [self.tag_panel, self.verify_panel, self.train_panel, self.models_panel]

        self.sidebar = QListWidget()
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(150)
        self.sidebar.setSpacing(2)
        self.stack = QStackedWidget()
        icons = (QStyle.StandardPixmap.SP_DirIcon, QStyle.StandardPixmap.SP_DialogApplyButton,
                 QStyle.StandardPixmap.SP_MediaPlay, QStyle.StandardPixmap.SP_DriveHDIcon)
        names = ("Tag folder", "Verify", "Train", "Models")
        for page, name, icon in zip(self.pages, names, icons):
            self.sidebar.addItem(QListWidgetItem(self.style().standardIcon(icon), name))
            self.stack.addWidget(_scrolling(page))
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.device_label, self.models_label = QLabel(), QLabel()
        for label in (self.models_label, self.device_label):
            self.statusBar().addPermanentWidget(label)

        for panel in (self.tag_panel, self.verify_panel, self.models_panel, self.train_panel):
            panel.status.connect(self.show_status)
        for panel in (self.tag_panel, self.verify_panel):
            panel.open_models.connect(lambda: self.show_page(PAGE_MODELS))
        self.models_panel.models_changed.connect(self.models_changed)
        self.train_panel.models_changed.connect(self.models_panel.reload)
        self.train_panel.models_changed.connect(self.models_changed)
        self.models_panel.device_changed.connect(lambda _: self.update_status_labels())

        self._build_menus()
        self._restore()
        self.update_status_labels()
        if not models.ready:  # the app's warm-up reads them next (`models_ready`)
            self.statusBar().showMessage(LOADING_MODELS)

    # ---------------------------------------------------------------- menus and shortcuts
    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None, tip=None) -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            if tip:
                act.setStatusTip(tip)
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = action(file_menu, "&Open folder…", self.open_folder, QKeySequence.StandardKey.Open,
                                  "Choose a folder of photos to tag.")
        action(file_menu, "Import &model…", lambda: self.models_panel.boxes["gender"].choose_file())
        action(file_menu, "Export &CSV…", lambda: self.tag_panel.export("csv"))
        action(file_menu, "Export &JSON…", lambda: self.tag_panel.export("json"))
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        run_menu = bar.addMenu("&Run")
        self.start_action = action(run_menu, "&Start", self.start_current, "Ctrl+Return",
                                   "Start tagging (Tag folder) or compare the pair (Verify).")
        self.cancel_action = action(run_menu, "&Cancel", self.cancel_current, "Esc", "Stop the running job.")
        self.copy_action = action(run_menu, "&Copy result", self.copy_current, QKeySequence.StandardKey.Copy)

        view_menu = bar.addMenu("&View")
        for i, name in enumerate(("Tag folder", "Verify", "Train", "Models")):
            action(view_menu, name, lambda _=False, i=i: self.show_page(i), f"Ctrl+{i + 1}")

        help_menu = bar.addMenu("&Help")
        action(help_menu, "&About FaceApp", self.show_about, "F1")
        action(help_menu, "Open &log file", self.open_log)

    def current_panel(self):
        return self.pages[self.stack.currentIndex()]

    def show_page(self, index: int) -> None:
        self.sidebar.setCurrentRow(index)

    def open_folder(self) -> None:
        self.show_page(PAGE_TAG)
        self.tag_panel.choose_folder()

    def start_current(self) -> None:
        panel = self.current_panel()
        if hasattr(panel, "start"):
            panel.start()

    def cancel_current(self) -> None:
        for panel in (self.tag_panel, self.verify_panel):
            panel.cancel()

    def copy_current(self) -> None:
        panel = self.current_panel()
        if hasattr(panel, "copy_result"):
            panel.copy_result()

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, f"About {self.windowTitle()}",
                          about_html(self.models, self.log_path), QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()  # window-modal, does not block the event loop
        self.about_box = box

    def open_log(self) -> None:
        if self.log_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.log_path)))

    # ---------------------------------------------------------------- models
    def models_ready(self) -> None:
        """The warm-up has imported torch and read the models' metadata: fill in what said "Loading models…"."""
        self.models_panel.reload()
        self.models_changed()
        if self.statusBar().currentMessage() == LOADING_MODELS:
            self.statusBar().clearMessage()

    def warm_up_done(self) -> None:
        """The warm-up has imported the rest of the model code: the wizard opens without waiting for it."""
        self.train_panel.model_code_loaded()

    def models_changed(self) -> None:
        self.tag_panel.refresh_models()
        self.verify_panel.refresh_models()
        self.update_status_labels()

    def update_status_labels(self) -> None:
        names = []
        for task, title in zip(TASKS, ("Gender", "Matcher")):
            path = self.models.path(task)
            names.append(f"{title}: {path.name if path else 'none'}")
        self.models_label.setText("  ·  ".join(names))
        if not self.models.ready:  # resolving the device imports torch: the warm-up does it
            device = "loading…"
        else:
            try:
                device = self.models.resolved_device()
            except Exception:  # noqa: BLE001
                device = "unavailable"
        self.device_label.setText(f"Device: {device}")

    # ---------------------------------------------------------------- drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self.open_paths([u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()])
        event.acceptProposedAction()

    def open_paths(self, paths: list[str]) -> None:
        """A folder goes to Tag folder, .pt files to Models, images to the Verify slots."""
        folders = [p for p in paths if Path(p).is_dir()]
        checkpoints = [p for p in paths if p.lower().endswith(".pt")]
        images = [p for p in paths if Path(p).suffix.lower() in IMAGE_EXTENSIONS]
        if folders:
            self.tag_panel.set_folder(folders[0])
            self.show_page(PAGE_TAG)
        elif checkpoints:
            self.show_page(PAGE_MODELS)
            self.models_panel.import_files(checkpoints)
        elif images:
            self.show_page(PAGE_VERIFY)
            self.verify_panel.open_images(images)

    # ---------------------------------------------------------------- state and shutdown
    def _restore(self) -> None:
        geometry = self.settings.geometry("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(default_size(self.screen().availableGeometry().size() if self.screen() else None))
        state = self.settings.geometry("state")
        if state is not None:
            self.restoreState(state)
        self.show_page(min(max(self.settings.get("window/page"), 0), len(self.pages) - 1))

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.train_panel.confirm_close():  # a model is training and the user keeps it going
            event.ignore()
            return
        self.settings.set_geometry("geometry", self.saveGeometry())
        self.settings.set_geometry("state", self.saveState())
        self.settings.set("window/page", self.stack.currentIndex())
        self.tag_panel.save_settings()
        self.settings.sync()
        self.cancel_current()
        stopped = self.pool.shutdown(SHUTDOWN_TIMEOUT_MS)
        stopped = self.tag_panel.thumb_pool.shutdown(1000) and stopped  # cancelled even when the first timed out
        stopped = self.train_panel.shutdown(SHUTDOWN_TIMEOUT_MS) and stopped
        if not stopped:
            log.warning("some workers did not stop within %d ms", SHUTDOWN_TIMEOUT_MS)
        super().closeEvent(event)


def _scrolling(page: QWidget) -> QScrollArea:
    """`page` in a scroll area: on a small screen (1024×600, a laptop at 125 %) it keeps the size its
    layout needs and scrolls, instead of being squeezed until labels and photos overlap."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(page)
    return area
