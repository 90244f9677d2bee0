"""Wizard page 2: the training folder (dialog or drop), checked on a worker; Next stays blocked until it is usable."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from faceapp.ui.widgets import MUTED, Notice
from faceapp.ui.wizard.bridge import error_sentence
from faceapp.ui.wizard.page_widgets import ErrorLabel, ThumbStrip, announce_complete
from faceapp.ui.wizard.wizard_jobs import check_job
from faceapp.ui.workers import LatestRunner

LAYOUTS = {"gender": "ROOT/female/*.jpg and ROOT/male/*.jpg, or ROOT/train/<class>/ and ROOT/val/<class>/",
           "matcher": "ROOT/<person>/*.jpg, optionally ROOT/<person>/distortion/<photo>_<condition>.jpg"}
UNREADABLE_SHOWN = 5
SETTLE_MS = 700  # a typed path is checked once the typing has paused this long (or on Enter)


def broad_folder(folder: Path) -> str:
    """Why checking `folder` would read a whole disk or home ('' when it would not): the root of a file
    system, a home folder, or a folder that holds home folders."""
    try:
        folder, home = folder.resolve(), Path.home().resolve()
    except (OSError, RuntimeError):
        return ""
    if folder == Path(folder.anchor):
        return "the top of a file system"
    if folder == home:
        return "your home folder"
    if folder in home.parents:
        return "a folder that holds home folders"
    return ""


class DataPage(QWizardPage):
    def __init__(self, pool, session, parent=None):
        super().__init__(parent)
        self.session = session  # WizardSession
        self.setTitle("Training data")
        self.setAcceptDrops(True)
        self.view = None  # the latest DataView, for the folder in the box
        self.error: str | None = None
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Choose a folder or drop one here")
        self._typed = False  # the last change came from the keyboard: wait for the typing to settle
        self._broad_ok = ""  # a whole-disk or home folder the user asked to check anyway
        self.folder.textEdited.connect(self._mark_typed)
        self.folder.textChanged.connect(self._folder_changed)
        self.folder.returnPressed.connect(lambda: self._folder_changed(self.folder.text(), settled=True))
        browse = QPushButton("Browse…", clicked=self.choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.state_label = QLabel()
        self.state_label.setStyleSheet(f"color: {MUTED};")
        self.state_label.setWordWrap(True)
        self.check_anyway = QPushButton("Check this folder anyway", clicked=self._check_broad, visible=False)
        self.error_label = ErrorLabel()
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.warnings = Notice()  # what the user should know: styled as a warning
        self.notes = QLabel(wordWrap=True)  # plain facts ("the classes are balanced enough"): not a warning
        self.unreadable = QLabel()
        self.unreadable.setWordWrap(True)
        self.unreadable.setStyleSheet("color: #8a5300;")
        self.samples_title = QLabel("<b>Samples</b>")
        self.samples = ThumbStrip()
        self.probes_title = QLabel("<b>Generated probes</b> (what the matcher learns to recognise)")
        self.probes = ThumbStrip()
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        for widget in (self.state_label, self.check_anyway, self.error_label, self.summary, self.warnings, self.notes,
                       self.unreadable,
                       self.samples_title, self.samples, self.probes_title, self.probes):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.runner = LatestRunner(pool, debounce_ms=200, parent=self)
        self.runner.result.connect(self._show)
        self.runner.errored.connect(lambda e: self._fail(error_sentence(e.exception, e.message)))
        self.runner.busy_changed.connect(lambda _: announce_complete(self))

    # ------------------------------------------------------------ wizard hooks
    def initializePage(self) -> None:  # noqa: N802
        state = self.session.state
        self.setSubTitle(f"Expected layout: {LAYOUTS[state.task]}.")
        self.view, self.error = None, None
        self._clear()
        if self.folder.text() == state.folder:
            self._folder_changed(self.folder.text())
        else:
            self.folder.setText(state.folder)

    def isComplete(self) -> bool:  # noqa: N802
        return (self.view is not None and self.error is None and not self.runner.busy
                and self.view.report.folder == self.folder.text().strip())

    def validatePage(self) -> bool:  # noqa: N802
        state = self.session.state
        state.folder = self.view.report.folder
        state.report = self.view.report
        self.session.memory.set_folder(state.task, state.folder)
        return True

    # ------------------------------------------------------------ folder
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Training folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def set_folder(self, folder) -> None:
        self.folder.setText(str(folder))

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(Path(u.toLocalFile()).is_dir() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        folders = [u.toLocalFile() for u in event.mimeData().urls() if Path(u.toLocalFile()).is_dir()]
        if folders:
            self.set_folder(folders[0])
            event.acceptProposedAction()

    def _mark_typed(self, _text: str) -> None:
        self._typed = True

    def _folder_changed(self, text: str, settled: bool = False) -> None:
        """Check the folder in the box: at once when chosen, dropped or confirmed with Enter; once the typing
        has paused when typed; never a whole disk or home folder unless the user asks."""
        typed, self._typed = self._typed and not settled, False
        self.view, self.error = None, None
        self._clear()
        text = text.strip()
        if not text or self.wizard() is None:  # not in the wizard yet
            self.state_label.setText("Choose the folder to train on.")
            self.runner.cancel()
        elif typed and not Path(text).is_dir():  # chosen or confirmed paths get the check's reason instead
            self.state_label.setText("No folder by that name (yet): finish typing it, or use Browse….")
            self.runner.cancel()
        elif (broad := broad_folder(Path(text))) and text != self._broad_ok:
            self.state_label.setText(f"{text} is {broad}: checking it would read every photo below it, which "
                                     "can take long. Choose the folder that holds the training photos.")
            self.check_anyway.show()
            self.runner.cancel()
        else:
            self.state_label.setText("Checking the folder…")
            config = self.session.base_config()
            self.runner.submit(check_job, self.session.state.task, text, config.val_fraction, config.seed,
                               delay_ms=SETTLE_MS if typed else 0)
        announce_complete(self)

    def _check_broad(self) -> None:
        self._broad_ok = self.folder.text().strip()
        self._folder_changed(self.folder.text(), settled=True)

    # ------------------------------------------------------------ results
    def _clear(self) -> None:
        self.check_anyway.hide()
        self.error_label.show_message(None)
        self.summary.clear()
        self.warnings.show_message(None)
        self.notes.hide()
        self.unreadable.hide()
        for widget in (self.samples_title, self.samples, self.probes_title, self.probes):
            widget.hide()

    def _fail(self, message: str) -> None:
        self.view, self.error = None, message
        self.state_label.setText("")
        self.error_label.show_message(message)
        announce_complete(self)

    def _show(self, view) -> None:
        if view.report.folder != self.folder.text().strip():
            return  # an older folder's answer
        self.view, self.error = view, None
        report = view.report
        self.state_label.setText("The folder is usable.")
        rows = "".join(f"<tr><td style='color:{MUTED}; padding-right:12px'>{html.escape(k)}</td>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in report.rows)
        self.summary.setText(f"<table>{rows}</table>")
        self.warnings.show_message("<br>".join(html.escape(n) for n in report.warnings))
        self.notes.setText("\n".join(report.notes))
        self.notes.setVisible(bool(report.notes))
        if report.unreadable:
            shown = "; ".join(f"{Path(p).name} ({r})" for p, r in report.unreadable[:UNREADABLE_SHOWN])
            more = len(report.unreadable) - UNREADABLE_SHOWN
            self.unreadable.setText(f"{len(report.unreadable)} unreadable file(s) will be skipped: {shown}"
                                    + (f" and {more} more." if more > 0 else "."))
            self.unreadable.show()
        self.samples.set_images(view.thumbs)
        self.samples_title.setVisible(bool(view.thumbs))
        self.probes.set_images(view.probes)
        self.probes_title.setVisible(bool(view.probes))
        announce_complete(self)
