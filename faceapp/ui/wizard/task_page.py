"""Wizard page 1: which model to train, with one sentence each on the data it needs."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from faceapp.ui.widgets import MUTED

TASKS = {
    "gender": ("Gender classifier (ResNet18)",
               "Needs a folder with one subfolder per class (for example female/ and male/), or train/ and val/ "
               "folders that each hold them; val/ then becomes the held-out test set."),
    "matcher": ("Face matcher (MobileNetV2)",
                "Needs one subfolder per person, with two or more photos for at least some people; distortion/ "
                "subfolders with degraded copies are used when present, otherwise distortions are generated."),
}


class TaskPage(QWizardPage):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session  # WizardSession
        self.setTitle("What do you want to train?")
        self.setSubTitle("Both models train with the same code as the command line (python -m training), "
                         "on the GPU when there is one and on the CPU otherwise.")
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        layout = QVBoxLayout(self)
        for task, (title, text) in TASKS.items():
            button = QRadioButton(title)
            font = button.font()
            font.setBold(True)
            button.setFont(font)
            self.group.addButton(button)
            self.buttons[task] = button
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet(f"color: {MUTED}; margin-left: 24px; margin-bottom: 14px;")
            layout.addWidget(button)
            layout.addWidget(note)
        self.resume_note = QLabel()
        self.resume_note.setWordWrap(True)
        layout.addWidget(self.resume_note)
        layout.addStretch(1)

    def task(self) -> str:
        return next(t for t, b in self.buttons.items() if b.isChecked())

    def initializePage(self) -> None:  # noqa: N802
        state = self.session.state
        self.buttons[state.task].setChecked(True)
        resuming = state.resume is not None
        for task, button in self.buttons.items():
            button.setEnabled(not resuming or task == state.task)
        self.resume_note.setText(f"Resuming run <b>{state.resume.name}</b> from its last checkpoint "
                                 f"(epoch {state.resume.epochs_done})." if resuming else "")

    def validatePage(self) -> bool:  # noqa: N802
        state, memory = self.session.state, self.session.memory
        if state.task != self.task():
            state.task = self.task()
            state.folder = memory.folder(self.task())
        memory.set_task(self.task())
        return True
