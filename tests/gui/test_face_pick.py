"""Verify with a group photo: the faces found are outlined and numbered on the probe, a menu (or a click on a
face) picks one, and the page compares that face; a new photo starts again from the main one."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import QPointF, Qt

from faceapp.core import verify
from training.faces import FaceBox, FaceCrop

from .helpers import face_image

TIMEOUT = 30_000
BOXES = ((20, 20, 120, 120), (180, 40, 60, 60))  # the main one first, in the 256 x 160 probe's pixels


def _stub_faces(monkeypatch):
    def every(image, framing, assume_crop=False):
        if image.size != (256, 160):  # the reference: one face
            return [FaceCrop(image, FaceBox(0, 0, *image.size), 1, False, "")]
        return [FaceCrop(image.crop((x, y, x + w, y + h)), FaceBox(x, y, w, h), 2, False, "")
                for x, y, w, h in BOXES]

    monkeypatch.setattr(verify, "find_faces", every)
    monkeypatch.setattr(verify, "find_face", lambda image, framing, assume_crop=False: every(image, framing)[0])


def test_a_group_photo_s_faces_are_shown_and_one_is_picked(make_window, installed_store, qtbot, monkeypatch):
    _stub_faces(monkeypatch)
    panel = make_window(installed_store).verify_panel
    probe = panel.probe
    group = Image.new("RGB", (256, 160), (90, 90, 90))
    group.paste(face_image(1).resize((120, 120)), (20, 20))
    group.paste(face_image(2).resize((60, 60)), (180, 40))
    with qtbot.waitSignal(panel.scored, timeout=TIMEOUT):
        panel.reference.set_image(face_image(3), source="reference")
        probe.set_image(group, source="group")
    qtbot.waitUntil(lambda: probe.faces == BOXES, timeout=TIMEOUT)
    assert probe.face_menu.isVisibleTo(probe) and probe.face_menu.count() == 2
    assert probe.face_menu.currentText() == "Face 1 (main)" and panel.pair.probe_box == BOXES[0]
    assert not panel.reference.face_menu.isVisibleTo(panel.reference)  # one face: no menu
    assert probe.view.image() is not probe._preview  # the boxes are drawn on a copy of the preview
    first = panel.pair.probe_crop

    # A click on the small face picks it, and the page compares again with it.
    shown = probe.view.pixmap()
    area = probe.view.contentsRect()
    x = area.left() + (area.width() - shown.width()) / 2 + shown.width() * (210 / 256)
    y = area.top() + (area.height() - shown.height()) / 2 + shown.height() * (70 / 160)
    with qtbot.waitSignal(panel.scored, timeout=TIMEOUT):
        qtbot.mouseClick(probe.view, Qt.MouseButton.LeftButton, pos=QPointF(x, y).toPoint())
    qtbot.waitUntil(lambda: panel.pair.probe_box == BOXES[1], timeout=TIMEOUT)
    assert probe.face == BOXES[1] and probe.face_menu.currentIndex() == 1
    assert panel.pair.probe_crop != first and "face 2 of 2" in probe.crop_note.text().lower()  # the small face

    # The menu goes back to the main face; a new photo forgets the pick.
    with qtbot.waitSignal(panel.scored, timeout=TIMEOUT):
        probe.face_menu.activated.emit(0)
    assert probe.face == BOXES[0]
    probe.set_image(face_image(5), source="single")
    assert probe.face is None and probe.faces == () and not probe.face_menu.isVisibleTo(probe)
