"""The Tag page's "Every face": a row per face of a group photo, named by its face, progress counted in photos,
the summary in faces, the boxes in the export, and a sort that files each photo once, by its main face."""

from __future__ import annotations

import csv

from PIL import Image

from faceapp.core import tag_preparation
from training.faces import FaceBox, FaceCrop

TIMEOUT = 30_000


def two_faces(image, framing, assume_crop=False):
    return [FaceCrop(Image.new("RGB", (40, 40), "white"), FaceBox(1, 2, 30, 30), 2, False, "face 1 of 2", "haar"),
            FaceCrop(Image.new("RGB", (20, 20), "black"), FaceBox(50, 5, 12, 12), 2, False, "face 2 of 2", "haar")]


def test_every_face_lists_each_face_and_sorts_each_photo_once(make_window, installed_store, photo_folder, tmp_path,
                                                              qtbot, monkeypatch):
    monkeypatch.setattr(tag_preparation, "find_faces", two_faces)
    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(photo_folder)
    tag.folder.every_face.setChecked(True)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    results = tag.model.results()
    good = [r for r in results if r.ok]
    photos = {r.path for r in good}
    assert len(good) == 2 * len(photos) and tag.done == tag.total  # progress counts photos, not faces
    names = sorted(tag.model.index(row, 1).data() for row in range(tag.model.rowCount()))
    first = sorted(photos)[0].name
    assert f"{first} · face 1 of 2" in names and f"{first} · face 2 of 2" in names
    assert tag.output.summary.text().startswith(f"{len(results):,} faces")
    rows = list(csv.DictReader(tag.export("csv", tmp_path / "faces.csv").open(encoding="utf-8")))
    assert sorted((r["face_index"], r["face_x"]) for r in rows if r["path"] == str(sorted(photos)[0])) == [
        ("0", "1"), ("1", "50")]

    out = tmp_path / "sorted"
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.sort_into(out)
    copied = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".csv"]
    assert len(copied) == len(photos)  # once per photo, by its main face
    skipped = [o for o in tag._sort.outcomes if o.action == "skipped" and "main face" in o.reason]
    assert len(skipped) == len(photos)

    tag.save_settings()  # the choice is remembered
    window.close()
    assert make_window(installed_store).tag_panel.folder.every_face.isChecked()
