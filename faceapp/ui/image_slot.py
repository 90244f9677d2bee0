"""An image slot for the Verify page: fill it by drop, file dialog or paste; shows the photo, the faces found in
it (pick one of a group photo from the menu or by a click) and the compared crop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from faceapp.ui import jobs
from faceapp.ui.face_picker import Box, FaceMenu, draw_faces, face_at
from faceapp.ui.qimage import pil_to_qimage, qimage_to_pil
from faceapp.ui.widgets import MUTED, ImageView
from faceapp.ui.workers import GeneratorWorker, WorkerPool
from training.imaging import IMAGE_EXTENSIONS, to_rgb

FILTER = "Images (" + " ".join(f"*{e}" for e in IMAGE_EXTENSIONS) + ")"


class ImageSlot(QGroupBox):
    changed = Signal()  # a new image is in the slot
    face_chosen = Signal()  # the user picked another face of a group photo: compare again
    failed = Signal(str)  # one sentence: why the file could not be used

    def __init__(self, name: str, title: str, pool: WorkerPool, settings, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.name, self.pool, self.settings = name, pool, settings
        self.image = None  # PIL RGB
        self.source = ""
        self.face: Box | None = None  # the face the user picked; None: the main one
        self.faces: tuple[Box, ...] = ()  # every face the last comparison found, the main one first
        self._preview: QImage | None = None
        self._loading: GeneratorWorker | None = None
        self.setAcceptDrops(True)
        self.view = ImageView("Drop a photo here\nor use Open… / Paste", min_size=160)
        self.view.clicked_at.connect(self._clicked)
        self.face_menu = FaceMenu()
        self.face_menu.picked.connect(self._pick)
        self.crop_view = ImageView("face crop", min_size=72)
        self.crop_view.setMaximumSize(96, 96)
        self.crop_note = QLabel("")
        self.crop_note.setWordWrap(True)
        self.crop_note.setStyleSheet(f"color: {MUTED};")
        self.source_label = QLabel("")
        self.source_label.setStyleSheet(f"color: {MUTED};")
        open_button = QPushButton("Open…", clicked=self.choose_file)
        paste_button = QPushButton("Paste", clicked=self.paste)
        paste_button.setToolTip("Paste an image or an image file copied to the clipboard.")
        buttons = QHBoxLayout()
        buttons.addWidget(open_button)
        buttons.addWidget(paste_button)
        buttons.addStretch(1)
        buttons.addWidget(self.face_menu)
        crop_row = QHBoxLayout()
        crop_row.addWidget(self.crop_view)
        crop_row.addWidget(self.crop_note, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.source_label)
        layout.addLayout(crop_row)
        layout.addLayout(buttons)

    # ---------------------------------------------------------------- filling
    def choose_file(self) -> None:
        start = self.settings.get("verify/last_folder")
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {self.title().lower()}", start, FILTER)
        if path:
            self.load_path(path)

    def load_path(self, path) -> None:
        """Decode on a worker (big photos take a while) and fill the slot when done."""
        path = Path(path)
        self.settings.set("verify/last_folder", str(path.parent))
        if self._loading is not None:
            self._loading.cancel()
        worker = GeneratorWorker(jobs.load_job, self.name, path)
        worker.signals.finished.connect(lambda loaded, w=worker: self._loaded(w, loaded))
        worker.signals.errored.connect(lambda error, w=worker: self._load_failed(w, error.message))
        self._loading = worker
        self.view.setText("Loading…")
        self.pool.start(worker)

    def _loaded(self, worker: GeneratorWorker, loaded: jobs.LoadedImage) -> None:
        if worker is self._loading:
            self._loading = None
            self.set_image(loaded.image, loaded.preview, loaded.source)

    def _load_failed(self, worker: GeneratorWorker, message: str) -> None:
        if worker is not self._loading:
            return  # a newer file replaced this one
        self._loading = None
        self.view.set_image(self.view.image())  # the photo the slot still holds, or its placeholder
        if self.view.image() is None:
            self.view.setText(f"Could not use this file.\n{message}")
        self.failed.emit(f"{self.title()}: {message}")

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.load_path(mime.urls()[0].toLocalFile())
        elif mime is not None and mime.hasImage():
            qimage = QGuiApplication.clipboard().image()
            self.set_image(qimage_to_pil(qimage), qimage, "pasted image")
        else:
            self.failed.emit("The clipboard holds no image.")

    def set_image(self, image, preview: QImage | None = None, source: str = "") -> None:
        self.image = to_rgb(image)
        self.source = source
        self.face, self.faces = None, ()
        self.face_menu.show_faces(0, 0)
        self._preview = preview if preview is not None else pil_to_qimage(self.image, jobs.PREVIEW_SIDE)
        self.view.set_image(self._preview)
        self.source_label.setText(Path(source).name if source else "")
        self.source_label.setToolTip(source)
        self.set_crop(None, "")
        self.changed.emit()

    def set_crop(self, crop: QImage | None, note: str) -> None:
        self.crop_view.set_image(crop)
        self.crop_note.setText(note)

    # ---------------------------------------------------------------- faces of a group photo
    def set_faces(self, faces: tuple[Box, ...], used: Box | None) -> None:
        """What the comparison found: every face, and the one it compared (outlined on the photo when there
        are several, with the menu to pick another)."""
        self.faces = tuple(faces)
        chosen = self.faces.index(used) if used in self.faces else 0
        self.face_menu.show_faces(len(self.faces), chosen)
        if self._preview is not None and self.image is not None:
            shown = draw_faces(self._preview, self.faces, chosen, self.image.width) if len(self.faces) > 1 \
                else self._preview
            self.view.set_image(shown)

    def _pick(self, index: int) -> None:
        if 0 <= index < len(self.faces) and self.faces[index] != self.face:
            self.face = self.faces[index]
            self.set_faces(self.faces, self.face)
            self.face_chosen.emit()

    def _clicked(self, x: float, y: float) -> None:
        if len(self.faces) > 1 and self.image is not None:
            index = face_at(self.faces, x * self.image.width, y * self.image.height)
            if index is not None:
                self._pick(index)

    # ---------------------------------------------------------------- drops
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if _first_image_url(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        path = _first_image_url(event.mimeData())
        if path:
            self.load_path(path)
        elif event.mimeData().hasImage():
            qimage = QImage(event.mimeData().imageData())
            self.set_image(qimage_to_pil(qimage), qimage, "dropped image")
        event.acceptProposedAction()


def _first_image_url(mime) -> str | None:
    for url in mime.urls() if mime.hasUrls() else []:
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_EXTENSIONS:
            return url.toLocalFile()
    return None
