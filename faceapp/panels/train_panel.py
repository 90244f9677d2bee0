"""Train page placeholder: the training wizard comes in its own issue; until then, point to the command line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

TEXT = """
<h2>Training wizard — coming soon</h2>
<p>A step-by-step wizard to train your own gender model or face matcher will live on this page.</p>
<p>Until then, train from a terminal with the same code the wizard will use:</p>
<pre>python -m training --help
python -m training train-gender --help
python -m training train-matcher --help</pre>
<p>Each run writes a folder with <code>best.pt</code>; import it on the <b>Models</b> page
(or drop the file onto the window) to use it here.</p>
"""


class TrainPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        label = QLabel(TEXT)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addStretch(1)
