"""End-to-end tests of the window (pytest-qt, offscreen): tagging, cancel, export, sorting, models, verify."""

import csv
import hashlib
import json
import threading

import pytest
from PySide6.QtCore import QSettings

from .helpers import face_image, with_plain_conv_features

TIMEOUT = 30_000


def _digest(folder):
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_window_opens_and_explains_missing_models(make_window, model_store):
    window = make_window(model_store)
    assert window.isVisible() and window.stack.count() == 4
    tag = window.tag_panel
    assert not tag.start_button.isEnabled() and "Models page" in tag.start_button.toolTip()
    assert not tag.notice.isHidden() and "train-gender" in tag.notice.text()
    assert not window.verify_panel.compare_button.isEnabled()
    assert "train-matcher" in window.verify_panel.notice.text()
    assert "train-gender --help" in window.models_panel.boxes["gender"].details.text()
    assert "Gender: none" in window.models_label.text() and "Device: cpu" in window.device_label.text()
    assert "Wizard" in window.train_panel.findChild(type(window.models_label)).text().title()


def test_tagging_streams_rows_then_exports_csv_and_json(make_window, installed_store, photo_folder, tmp_path, qtbot):
    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(photo_folder)
    tag.uncertain.setValue(50)  # untrained tiny model: keep every prediction as a gender
    assert tag.start_button.isEnabled()
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT) as blocker:
        window.start_action.trigger()
        assert tag.cancel_button.isEnabled()
    assert blocker.args == ["tag", "finished"]
    results = tag.model.results()
    assert tag.model.rowCount() == 10 and len(results) == 10
    bad = {r.path.name: r.error for r in results if not r.ok}
    assert set(bad) == {"broken.jpg", "notes.png"} and all(bad.values())  # listed with a reason, not fatal
    assert "error: 2" in tag.output.summary.text()

    tag.results.proxy.set_label("error")
    assert tag.results.proxy.rowCount() == 2
    tag.results.proxy.set_label(None)

    csv_path = tag.export("csv", tmp_path / "tags.csv")
    rows = {r["path"]: r for r in csv.DictReader(csv_path.open(encoding="utf-8"))}
    assert set(rows) == {str(r.path) for r in results}
    for r in results:
        row = rows[str(r.path)]
        assert row["label"] == ("error" if not r.ok else r.predicted)
        if r.ok:
            assert float(row["confidence"]) == pytest.approx(r.confidence, abs=1e-5)
            assert set(k for k in row if k.startswith("p_")) == {"p_female", "p_male"}
    doc = json.loads(tag.export("json", tmp_path / "tags.json").read_text(encoding="utf-8"))
    assert len(doc["results"]) == 10 and doc["model"]["arch"] == "resnet18"
    assert doc["summary"]["error"] == 2


def test_sort_copies_without_touching_originals(make_window, installed_store, photo_folder, tmp_path, qtbot):
    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(photo_folder)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    before = _digest(photo_folder)
    out = tmp_path / "sorted"
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT) as blocker:
        tag.sort_into(out)
    assert blocker.args == ["sort", "finished"]
    assert _digest(photo_folder) == before
    copied = [p for p in out.rglob("*") if p.is_file() and p.parent != out]
    assert len(copied) == 8 and {p.parent.name for p in copied} <= {"female", "male", "uncertain"}
    assert tag.last_report is not None and tag.last_report.is_file()
    assert "8 copied" in window.statusBar().currentMessage()


def test_the_move_question_counts_only_the_files_it_will_move(make_window, installed_store, photo_folder, tmp_path,
                                                              qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(photo_folder)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    asked, dialog_start = [], []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda parent, title, start: dialog_start.append(start) or str(tmp_path / "out"))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel)
    tag.output.move_box.setChecked(True)
    tag.choose_sort_folder()
    assert "moves 8 files" in asked[0] and "2 files that could not be tagged stay where they are" in asked[0]
    assert len(list(photo_folder.iterdir())) == 10  # cancelled: nothing moved
    assert dialog_start[0] != str(photo_folder)  # exports and sorted copies do not default into the photos


def test_cancel_stops_tagging(make_window, installed_store, photo_folder, qtbot, counting):
    window = make_window(installed_store)
    tag = window.tag_panel
    gate = threading.Event()
    gated = counting(window.models.gender(), gate=gate, free_calls=1)
    window.models.gender = lambda: gated
    tag.batch_size = 1
    tag.set_folder(photo_folder)
    tag.start()
    qtbot.waitUntil(lambda: any(r.ok for r in tag.model.results()), timeout=TIMEOUT)  # rows stream in
    window.cancel_action.trigger()  # Esc; the model call in flight holds the worker at the gate
    assert tag.progress.text.text().startswith("Cancelling…")
    tag._show_progress()  # the progress ticker fires while the worker winds down
    assert tag.progress.text.text().startswith("Cancelling…")  # not overwritten by "n / total · rate"
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT) as blocker:
        gate.set()
    assert blocker.args == ["tag", "cancelled"]
    assert len([r for r in tag.model.results() if r.ok]) < 8
    assert "Cancelled" in tag.progress.text.text()
    assert tag.start_button.isEnabled() and not tag.cancel_button.isEnabled()


def test_corrupt_model_is_refused_and_nothing_changes(make_window, installed_store, tmp_path, qtbot):
    window = make_window(installed_store)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x80\x04 definitely not a checkpoint")
    before = sorted(p.name for p in installed_store.user_dir.rglob("*"))
    active = installed_store.active_path("gender")
    with qtbot.waitSignal(window.models_panel.import_finished, timeout=TIMEOUT) as blocker:
        window.models_panel.import_file(bad)  # read on a worker: a wrong file may be large
    assert blocker.args == [0]
    message = window.models_panel.error.text()
    assert not window.models_panel.error.isHidden()
    assert "broken.pt" in message and "Nothing was changed" in message and "\n" not in message
    assert sorted(p.name for p in installed_store.user_dir.rglob("*")) == before
    assert installed_store.active_path("gender") == active
    assert window.statusBar().currentMessage() == message


def test_checkpoints_dropped_on_the_window_are_imported_in_turn_on_a_worker(
        make_window, model_store, tiny_models, photo_folder, tmp_path, qtbot):
    window = make_window(model_store)
    panel = window.models_panel
    window.tag_panel.set_folder(photo_folder)
    assert not window.tag_panel.start_button.isEnabled()
    bad = tmp_path / "notes.pt"
    bad.write_text("not a checkpoint")
    with qtbot.waitSignal(panel.import_finished, timeout=TIMEOUT) as blocker:
        window.open_paths([str(tiny_models["gender"]), str(bad), str(tiny_models["matcher"])])  # dropped together
        box = panel.boxes["gender"]  # busy while the worker reads and copies them
        assert not any(b.isEnabled() for b in (box.import_button, box.activate_button, box.remove_button))
        assert panel.import_file(tiny_models["gender"]) is None  # one import job at a time
    assert blocker.args == [2]
    assert panel.boxes["gender"].import_button.isEnabled()
    assert window.tag_panel.start_button.isEnabled()
    assert "Gender: gender.pt" in window.models_label.text() and "Matcher: matcher.pt" in window.models_label.text()
    assert "active" in panel.boxes["gender"].details.text()
    # The bad file in the middle is still reported after the matcher that followed it was imported.
    assert "Could not import notes.pt" in panel.error.text() and not panel.error.isHidden()
    assert window.statusBar().currentMessage().startswith("Imported 2; Could not import notes.pt")
    assert sorted(p.name for p in model_store.user_dir.rglob("*.pt")) == ["gender.pt", "matcher.pt"]


def _fill_pair(panel, qtbot, tmp_path):
    reference = tmp_path / "reference.jpg"
    face_image(3).save(reference)
    with qtbot.waitSignal(panel.scored, timeout=TIMEOUT):
        panel.reference.load_path(reference)  # through the loader worker
        qtbot.waitUntil(lambda: panel.reference.image is not None, timeout=TIMEOUT)
        panel.probe.set_image(face_image(4, gray=True), source="probe")  # as if pasted


def test_verify_scores_and_threshold_redecides_without_model_call(make_window, installed_store, tmp_path, qtbot,
                                                                  counting):
    window = make_window(installed_store)
    panel = window.verify_panel
    matcher = counting(window.models.matcher())
    window.models.matcher = lambda: matcher
    assert panel.threshold() == pytest.approx(0.5)  # starts at the model's stored threshold
    _fill_pair(panel, qtbot, tmp_path)
    qtbot.waitUntil(lambda: not panel.busy, timeout=TIMEOUT)
    probability = panel.pair.probability
    assert 0.0 <= probability <= 1.0 and panel.reference.crop_view.image() is not None
    calls = matcher.calls
    assert calls >= 1
    assert panel.uncertain_margin() == pytest.approx(0.05)  # the default band
    panel.decision_controls.slider.setValue(min(1000, int(probability * 1000) + 5))
    assert panel.decision.text() == "UNCERTAIN" and "too close to call" in panel.probability.text()
    panel.decision_controls.slider.setValue(max(0, int(probability * 1000) - 60))
    assert panel.decision.text() == "MATCH"
    panel.decision_controls.margin.setValue(0.0)  # no band: the threshold alone decides
    panel.decision_controls.slider.setValue(min(1000, int(probability * 1000) + 5))
    assert panel.decision.text() == "NO MATCH" or probability >= 0.995
    panel.decision_controls.slider.setValue(max(0, int(probability * 1000) - 5))
    assert panel.decision.text() == "MATCH"
    assert matcher.calls == calls and not panel.busy
    panel.copy_result()
    from PySide6.QtGui import QGuiApplication

    assert "MATCH" in QGuiApplication.clipboard().text()


def test_a_saved_threshold_comes_back_for_its_model_only(make_window, model_store, tmp_path):
    from .helpers import save_tiny

    bundled = model_store.bundled_dir / "matcher.pt"
    bundled.parent.mkdir(parents=True, exist_ok=True)
    save_tiny(bundled, "matcher", threshold=0.45)
    window = make_window(model_store)
    assert window.verify_panel.threshold() == pytest.approx(0.45)  # the model's stored threshold
    window.verify_panel.decision_controls.slider.setValue(700)
    window.close()
    assert make_window(model_store).verify_panel.threshold() == pytest.approx(0.7)  # the user's, kept
    save_tiny(bundled, "matcher", seed=1, threshold=0.3)  # an update puts another matcher at the same path
    window = make_window(model_store)
    assert window.verify_panel.threshold() == pytest.approx(0.3)
    assert "0.300" in window.verify_panel.decision_controls.model_threshold_label.text()


def test_a_file_that_cannot_be_used_leaves_the_slot_as_it_was(make_window, installed_store, tmp_path, qtbot):
    from PIL import Image

    panel = make_window(installed_store).verify_panel
    broken, strip, good = tmp_path / "broken.jpg", tmp_path / "strip.png", tmp_path / "face.jpg"
    broken.write_bytes(b"\xff\xd8 not really a JPEG")
    Image.new("RGB", (3, 400)).save(strip)
    face_image(3).save(good)
    with qtbot.waitSignal(panel.probe.failed, timeout=TIMEOUT) as failure:
        panel.probe.load_path(broken)
    assert failure.args[0].startswith("Probe") and "broken.jpg" in failure.args[0]
    assert panel.probe.image is None and "Could not use this file." in panel.probe.view.text()  # not "Loading…"
    panel.probe.load_path(good)
    qtbot.waitUntil(lambda: panel.probe.image is not None, timeout=TIMEOUT)
    shown = panel.probe.view.image()
    with qtbot.waitSignal(panel.probe.failed, timeout=TIMEOUT) as failure:
        panel.probe.load_path(strip)
    assert "a strip rather than a photo" in failure.args[0]
    assert panel.probe.view.image() is shown and panel.probe.view.pixmap() is not None  # the face is still shown
    assert not panel.probe.view.pixmap().isNull() and panel.probe.source.endswith("face.jpg")


def test_distortion_preview_and_sweep_update(make_window, installed_store, tmp_path, qtbot):
    window = make_window(installed_store)
    panel = window.verify_panel
    _fill_pair(panel, qtbot, tmp_path)
    with qtbot.waitSignal(panel.distortion.updated, timeout=TIMEOUT,
                          check_params_cb=lambda view: view.condition == "foggy"):
        panel.distortion.condition.setCurrentIndex(panel.distortion.condition.findData("foggy"))
    assert panel.distortion.image_view.image() is not None and "foggy" in panel.distortion.score.text()
    # A burst of changes: only the last one is shown (older requests are dropped as stale).
    for severity in (1, 2, 5):
        panel.distortion.severity.setValue(severity)
    distortion = panel.distortion
    qtbot.waitUntil(lambda: distortion.preview.severity == 5 and not distortion.runner.busy, timeout=TIMEOUT)

    with qtbot.waitSignal(panel.sweep.done, timeout=60_000) as blocker:
        panel.sweep.button.click()
    assert blocker.args == ["finished"]
    assert len(panel.sweep.points) == 40 and panel.sweep.chart.count() == 40
    assert "still match" in panel.sweep.label.text()


def test_gallery_lists_best_match_per_identity(make_window, installed_store, tmp_path, qtbot):
    gallery = tmp_path / "gallery"
    for person in range(3):
        (gallery / f"person_{person}").mkdir(parents=True)
        for k in range(2):
            face_image(10 * person + k).save(gallery / f"person_{person}" / f"{k}.jpg")
    window = make_window(installed_store)
    panel = window.verify_panel
    with_plain_conv_features(panel.models.matcher())  # the loaded model, used by the search: identities score apart
    _fill_pair(panel, qtbot, tmp_path)
    panel.decision_controls.margin.setValue(0.0)  # the threshold alone decides; the uncertain band is tested below
    panel.gallery.folder_edit.setText(str(gallery))
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT):
        panel.gallery.search_button.click()
    assert {m.identity for m in panel.gallery.matches} == {"person_0", "person_1", "person_2"}
    assert panel.gallery.table.rowCount() == 3
    assert panel.gallery.progress.text().startswith("Done: 3 of 3 identities; best: person_")
    assert len(panel.gallery.cache) == 6  # the next search of this gallery embeds only the probe
    # MATCH only when one identity alone reaches the threshold; with several, none is matched.
    decisions = lambda: {panel.gallery.table.item(r, 0).text(): panel.gallery.table.item(r, 2).text()  # noqa: E731
                         for r in range(3)}
    ranked = sorted(panel.gallery.matches, key=lambda m: -m.probability)
    assert ranked[0].probability - ranked[1].probability > 0.002  # a slider step apart
    panel.decision_controls.slider.setValue(panel.decision_controls.slider.minimum())
    assert decisions()[ranked[0].identity] == "best candidate"
    assert sorted(decisions().values()) == ["above threshold", "above threshold", "best candidate"]
    assert "3 identities reach the threshold, so none is called a match" in panel.gallery.progress.text()
    panel.decision_controls.slider.setValue(int(1000 * ranked[1].probability) + 1)  # only the best reaches it
    assert decisions()[ranked[0].identity] == "MATCH" and sorted(decisions().values())[1:] == ["no match"] * 2
    panel.decision_controls.slider.setValue(panel.decision_controls.slider.maximum())
    assert set(decisions().values()) == {"no match"} and "no identity matches" in panel.gallery.progress.text()
    # With an uncertain band, the lone identity near the threshold is 'uncertain', and MATCH needs the margin.
    margin = round((ranked[0].probability - ranked[1].probability) / 3, 2)
    if margin >= 0.01:
        panel.decision_controls.margin.setValue(margin)
        panel.decision_controls.slider.setValue(int(1000 * ranked[0].probability))
        assert decisions()[ranked[0].identity] == "uncertain" and "too close to call" in panel.gallery.progress.text()
        panel.decision_controls.slider.setValue(int(1000 * (ranked[0].probability - 1.5 * margin)))
        assert decisions()[ranked[0].identity] == "MATCH"
        panel.decision_controls.margin.setValue(0.0)
        panel.decision_controls.slider.setValue(panel.decision_controls.slider.maximum())
    # Ctrl+C on the Gallery tab copies the ranked list, decisions as shown.
    from PySide6.QtGui import QGuiApplication

    panel.tabs.setCurrentWidget(panel.gallery)
    panel.copy_result()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].startswith("probe\t") and lines[0].endswith("threshold\t1.000") and len(lines) == 5
    assert lines[2].split("\t")[:2] == ["1", ranked[0].identity] and lines[2].split("\t")[3] == "no match"
    # Activating a row puts its best image in the reference slot, next to the probe.
    table = panel.gallery.table
    row = next(r for r in range(3) if table.item(r, 0).text() == ranked[1].identity)
    with qtbot.waitSignal(panel.reference.changed, timeout=TIMEOUT):
        table.activated.emit(table.model().index(row, 1))
    assert panel.reference.source == str(ranked[1].best_path)
    (tmp_path / "empty").mkdir()
    panel.gallery.folder_edit.setText(str(tmp_path / "empty"))
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT):
        panel.gallery.search_button.click()
    assert panel.gallery.table.rowCount() == 0 and panel.gallery.progress.text().startswith("No photos in this folder")


def test_a_new_probe_clears_the_gallery_ranking_made_for_the_old_one(make_window, installed_store, tmp_path, qtbot):
    gallery = tmp_path / "gallery"
    for person in range(2):
        (gallery / f"person_{person}").mkdir(parents=True)
        face_image(10 * person).save(gallery / f"person_{person}" / "0.jpg")
    panel = make_window(installed_store).verify_panel
    _fill_pair(panel, qtbot, tmp_path)
    panel.gallery.folder_edit.setText(str(gallery))
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT):
        panel.gallery.search_button.click()
    assert panel.gallery.table.rowCount() == 2
    # A row's photo into the reference slot keeps the ranking: it was made for this probe.
    with qtbot.waitSignal(panel.reference.changed, timeout=TIMEOUT):
        panel.gallery.table.activated.emit(panel.gallery.table.model().index(0, 1))
    assert panel.gallery.table.rowCount() == 2 and len(panel.gallery.matches) == 2
    panel.probe.set_image(face_image(7), source="another probe")
    assert panel.gallery.table.rowCount() == 0 and panel.gallery.matches == []
    assert panel.gallery.progress.text().startswith("The probe changed: search again")
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().setText("")
    panel.tabs.setCurrentWidget(panel.gallery)
    panel.copy_result()  # Ctrl+C on the Gallery tab: no ranking made for another probe
    assert not QGuiApplication.clipboard().text().startswith("probe\t")


def test_gallery_results_queued_for_an_outdated_probe_are_dropped(make_window, installed_store, tmp_path):
    from faceapp.core.verify import GalleryMatch
    from faceapp.ui.jobs import JobStarted

    gallery = make_window(installed_store).verify_panel.gallery
    old = gallery._search
    gallery._on_item(JobStarted(2))
    gallery._on_item(GalleryMatch("Ann", 0.3, tmp_path / "a.jpg", 1))
    gallery.probe_changed()
    assert gallery.table.rowCount() == 0
    gallery._ended("finished", old)  # the old search's last signal, delivered after the change
    assert gallery.progress.text().startswith("The probe changed") and gallery.matches == []


def test_gallery_says_which_photos_it_could_not_read(make_window, installed_store, tmp_path, qtbot):
    gallery = tmp_path / "gallery"
    for person in ("Ann", "Bob"):
        (gallery / person).mkdir(parents=True)
    face_image(1).save(gallery / "Ann" / "good.jpg")
    (gallery / "Ann" / "empty.jpg").write_bytes(b"")
    (gallery / "Bob" / "broken.jpg").write_bytes(b"not a photo at all")
    panel = make_window(installed_store).verify_panel
    _fill_pair(panel, qtbot, tmp_path)
    panel.gallery.folder_edit.setText(str(gallery))
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT):
        panel.gallery.search_button.click()
    assert [m.identity for m in panel.gallery.matches] == ["Ann"] and panel.gallery.table.rowCount() == 1
    images = panel.gallery.table.item(0, 4)
    assert images.text() == "2 (1 unreadable)" and images.toolTip() == "empty.jpg: file is empty (0 bytes)"
    summary = panel.gallery.progress.text()
    assert summary.startswith("Done: 1 of 2 identities")
    assert "2 photos could not be read, so 1 identity had no photo to compare" in summary
    tip = panel.gallery.progress.toolTip()
    assert f"{gallery / 'Ann' / 'empty.jpg'}: file is empty (0 bytes)" in tip
    assert f"{gallery / 'Bob' / 'broken.jpg'}: not an image file" in tip
    (gallery / "Bob" / "broken.jpg").unlink()
    face_image(2).save(gallery / "Bob" / "fixed.jpg")
    (gallery / "Ann" / "empty.jpg").unlink()
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT):
        panel.gallery.search_button.click()
    assert "could not be read" not in panel.gallery.progress.text() and panel.gallery.progress.toolTip() == ""


def test_cancel_stops_a_gallery_search_mid_way_and_keeps_what_was_compared(make_window, installed_store, tmp_path,
                                                                            qtbot, counting):
    gallery = tmp_path / "gallery"
    for person in range(6):
        (gallery / f"person_{person}").mkdir(parents=True)
        face_image(20 + person).save(gallery / f"person_{person}" / "0.jpg")
    window = make_window(installed_store)
    panel = window.verify_panel
    _fill_pair(panel, qtbot, tmp_path)
    gate = threading.Event()
    gated = counting(window.models.matcher(), gate=gate, free_calls=2)  # the probe and the first identity
    window.models.matcher = lambda: gated
    panel.gallery.folder_edit.setText(str(gallery))
    panel.gallery.start()
    qtbot.waitUntil(lambda: len(panel.gallery.matches) == 1, timeout=TIMEOUT)
    assert not panel.gallery.bar.isHidden() and panel.gallery.progress.text().startswith("1 / 6 identities compared")
    with qtbot.waitSignal(panel.gallery.job_done, timeout=TIMEOUT) as blocker:
        window.cancel_action.trigger()  # Esc
        gate.set()
    assert blocker.args == ["cancelled"]
    assert len(panel.gallery.matches) <= 2 and gated.calls <= 3  # stopped at the next identity
    assert panel.gallery.table.rowCount() == len(panel.gallery.matches) and panel.gallery.bar.isHidden()
    assert panel.gallery.progress.text().startswith(f"Cancelled: {len(panel.gallery.matches)} of 6 identities")
    assert panel.gallery.search_button.isEnabled() and not panel.gallery.cancel_button.isEnabled()


def test_gallery_search_shows_progress_and_time_left(make_window, installed_store, tmp_path, qtbot):
    import re

    from faceapp.core.verify import GalleryMatch, GalleryUnreadable
    from faceapp.ui.jobs import JobStarted

    gallery = make_window(installed_store).verify_panel.gallery
    gallery._reset_results()  # what start() does before its worker streams these items
    gallery.bar.show()
    gallery._on_item(JobStarted(4))
    gallery._on_item(GalleryMatch("Ann", 0.3, tmp_path / "a.jpg", 1))
    gallery._on_item(GalleryUnreadable("Bob", ((tmp_path / "b.jpg", "file is truncated"),)))  # no photo to compare
    assert (gallery.bar.maximum(), gallery.bar.value()) == (4, 2)
    assert re.fullmatch(r"2 / 4 identities compared · [\d.]+/s · \d+ s left", gallery.progress.text())
    gallery._ended("cancelled", gallery._search)
    assert gallery.bar.isHidden() and gallery.progress.text().startswith("Cancelled: 1 of 4 identities")


def test_settings_persist_and_about_lists_versions(make_window, installed_store, photo_folder, qtbot):
    window = make_window(installed_store)
    window.tag_panel.set_folder(photo_folder)
    window.tag_panel.folder.recursive.setChecked(True)
    window.show_page(1)
    window.close()
    assert QSettings().value("tag/last_folder") == str(photo_folder)
    again = make_window(installed_store)
    assert again.tag_panel.folder.folder_edit.text() == str(photo_folder)
    assert again.tag_panel.folder.recursive.isChecked() and again.stack.currentIndex() == 1
    again.show_about()
    text = again.about_box.text()
    assert all(word in text for word in ("PyTorch", "CUDA", "Qt", "gender.pt", "matcher.pt"))
    again.about_box.close()


def test_missing_folder_is_one_sentence_not_a_crash(make_window, installed_store, tmp_path, qtbot):
    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(tmp_path / "gone")
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT) as blocker:
        tag.start()
    assert blocker.args == ["tag", "errored"]
    message = window.statusBar().currentMessage()
    assert "folder not found" in message and "\n" not in message
    assert tag.start_button.isEnabled()


def test_a_folder_without_images_says_where_to_look(make_window, installed_store, photo_folder, tmp_path, qtbot):
    tag = make_window(installed_store).tag_panel
    people = tmp_path / "people"
    (people / "Ann").mkdir(parents=True)
    face_image(1).save(people / "Ann" / "Ann_0001.jpg")
    tag.set_folder(people)
    tag.folder.recursive.setChecked(False)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    assert tag.progress.text.text() == "No images in this folder itself: tick 'Include sub-folders' to look deeper."
    tag.folder.recursive.setChecked(True)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    assert tag.model.rowCount() == 1 and tag.progress.text.text().startswith("Done: 1 of 1 images")


def test_evicted_thumbnails_are_rebuilt_from_the_file(make_window, installed_store, photo_folder, qtbot):
    window = make_window(installed_store)
    tag = window.tag_panel
    tag.set_folder(photo_folder)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    from PySide6.QtCore import Qt

    row = next(i for i, r in enumerate(tag.model.results()) if r.ok)
    thumbnail = lambda: tag.model.index(row, 0).data(Qt.ItemDataRole.DecorationRole)  # noqa: E731
    streamed = thumbnail()
    assert streamed is not None and not streamed.isNull()
    tag.model.thumbnails.clear()  # as if evicted by 10,000 newer rows
    assert thumbnail() is None
    qtbot.waitUntil(lambda: thumbnail() is not None, timeout=TIMEOUT)
    assert thumbnail() == streamed  # rebuilt from the file and the stored box: the very same picture


def test_create_window_keeps_everything_in_the_chosen_data_folder_and_freezes_gc_after_showing(
        app_env, qtbot, monkeypatch, tmp_path):
    import logging
    import sys

    from faceapp.ui import app

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # create_window installs its own; restored after
    handlers = list(logging.getLogger().handlers)
    calls = []
    monkeypatch.setattr(app, "freeze_startup_objects", lambda: calls.append("frozen"))
    try:
        chosen = tmp_path / "chosen"  # `faceapp --data-dir chosen`: not the default folder (app_env)
        window = app.create_window(chosen)
        qtbot.addWidget(window)
        window.show()
        assert window.train_panel.runs_dir() == chosen / "runs"  # training runs follow models and logs
        assert (chosen / "logs").is_dir() and window.models.store.user_dir == chosen / "models"
        assert calls == []  # the ~0.2 s collection does not delay the first window...
        # ...it follows once the window is up, after the imports (seconds on a busy machine)
        qtbot.waitUntil(lambda: calls == ["frozen"], timeout=TIMEOUT)
        qtbot.waitUntil(lambda: window.models_panel.device_label.text().startswith("in use"), timeout=TIMEOUT)
    finally:
        for handler in set(logging.getLogger().handlers) - set(handlers):
            logging.getLogger().removeHandler(handler)
            handler.close()


def test_the_window_comes_up_without_sklearn_or_torchvision_and_the_warm_up_imports_the_model_code(tmp_path):
    # sklearn + scipy were ~1.4 s of the 5.4 s to the first window, torchvision ~1.3 s of the 4.4 s left:
    # only training, reports and model jobs need them, and `warm_up` imports the model code off the GUI thread.
    import os
    import subprocess
    import sys

    code = """if True:
        import sys
        from PySide6.QtCore import QSettings
        from faceapp.ui.app import create_window, ensure_app, warm_up
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
        ensure_app()
        window = create_window(sys.argv[2])
        window.show()
        print(sorted(m for m in ("sklearn", "torchvision", "training.transforms") if m in sys.modules))
        warm_up()
        print(sorted(m for m in ("sklearn", "torchvision", "training.transforms") if m in sys.modules))
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "settings"), str(tmp_path / "data")], env=env,
                         capture_output=True, text=True, timeout=180, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "['torchvision', 'training.transforms']"], out.stdout + out.stderr


def test_the_splash_shows_before_torch_is_imported():
    # `faceapp` paints the splash ~0.25 s after launch; torch (~1.5 s) and the window follow behind it.
    import os
    import subprocess
    import sys

    code = """if True:
        import sys
        from faceapp.ui.app import ensure_app
        from faceapp.ui.splash import HEIGHT, WIDTH, show_splash
        splash = show_splash(ensure_app())
        print(splash.isVisible(), splash.pixmap().size().toTuple() == (WIDTH, HEIGHT), "torch" in sys.modules)
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[0] == "True True False", out.stdout + out.stderr


def test_thumbnail_rebuild_decodes_a_camera_photo_smaller_and_maps_its_box(tmp_path, qapp, monkeypatch):
    from PIL import Image, ImageDraw

    from faceapp.core.tagging import TagResult
    from faceapp.ui import jobs

    photo = Image.new("RGB", (4000, 3000), (128, 128, 128))
    ImageDraw.Draw(photo).rectangle([2400, 1200, 2999, 1799], fill=(220, 30, 30))  # the "face"
    path = tmp_path / "camera.jpg"
    photo.save(path, quality=90)
    factors = []
    real = jobs.load_reduced
    monkeypatch.setattr(jobs, "load_reduced", lambda *a: factors.append(real(*a)[1]) or real(*a))

    class Models:
        def gender(self):
            return type("Classifier", (), {"framing": {"frame_scale": 0.464}, "input_size": 112})()

    result = TagResult(0, path, predicted="male", face_box=(2400, 1200, 600, 600))
    row, thumbnail = jobs.thumbnail_job(3, result, Models(), 48)
    assert row == 3 and factors == [4.0]  # decoded at a quarter, the stored box scaled to match
    assert max(thumbnail.width(), thumbnail.height()) == 48
    centre = thumbnail.pixelColor(thumbnail.width() // 2, thumbnail.height() // 2)
    assert centre.red() > 180 and centre.green() < 90  # the face is in the middle of its thumbnail


def test_tagging_says_how_many_hidden_files_it_skipped(make_window, installed_store, photo_folder, qtbot):
    (photo_folder / ".secret.jpg").write_bytes((photo_folder / "person_00.jpg").read_bytes())
    tag = make_window(installed_store).tag_panel
    tag.set_folder(photo_folder)
    with qtbot.waitSignal(tag.job_done, timeout=TIMEOUT):
        tag.start()
    assert tag.total == 10 and tag.progress.text.text().endswith("; 1 hidden file skipped.")


@pytest.mark.parametrize("size", [(1024, 600), (800, 600)])
def test_small_screens_scroll_instead_of_squeezing_pages(make_window, installed_store, qtbot, size):
    window = make_window(installed_store)
    window.resize(*size)
    for index, page in enumerate(window.pages):
        window.show_page(index)
        qtbot.wait(20)
        assert window.width() <= size[0] and window.height() <= size[1]  # the window fits the screen
        needed = page.minimumSizeHint()
        assert page.width() >= needed.width() and page.height() >= needed.height(), type(page).__name__
    assert window.tag_panel.folder.folder_edit.width() >= 240  # the path stays readable


def test_closing_stops_every_pool_even_when_one_times_out(make_window, installed_store, monkeypatch):
    window = make_window(installed_store)
    stopped = []
    monkeypatch.setattr(window.pool, "shutdown", lambda ms: stopped.append("pool") or False)  # timed out
    monkeypatch.setattr(window.tag_panel.thumb_pool, "shutdown", lambda ms: stopped.append("thumbnails") or True)
    window.close()
    assert stopped == ["pool", "thumbnails"]


def test_the_slider_says_what_each_threshold_costs_in_errors(make_window, model_store, tmp_path):
    import torch

    from training.error_rates import ScoreHistograms

    from .helpers import save_tiny

    bundled = model_store.bundled_dir / "matcher.pt"
    bundled.parent.mkdir(parents=True, exist_ok=True)
    save_tiny(bundled, "matcher", threshold=0.5)
    window = make_window(model_store)
    assert "stores no validation score distributions" in window.verify_panel.decision_controls.rates_label.text()
    assert not window.verify_panel.decision_controls.rate_plot.isVisibleTo(window.verify_panel)
    window.close()
    rates = ScoreHistograms.from_scores(genuine=[0.9] * 90 + [0.3] * 10, impostor=[0.1] * 997 + [0.7] * 3)
    ckpt = torch.load(bundled, weights_only=True)
    torch.save({**ckpt, "score_histograms": rates.to_dict()}, bundled)
    controls = make_window(model_store).verify_panel.decision_controls
    assert controls.rates_label.text() == ("On validation pairs: strangers accepted about 1 in 330 (0.30 %), "
                                           "same person rejected 10.0 %.")
    assert controls.rate_plot.isVisibleTo(controls) and controls.rate_plot.rates_at(0.5) == (0.003, 0.1)
    controls.slider.setValue(800)
    assert controls.rate_plot.threshold == 0.8  # the plot's line follows the slider
    assert controls.rates_label.text() == ("On validation pairs: strangers accepted none (0.00 %), "
                                           "same person rejected 10.0 %.")
    controls.slider.setValue(950)
    assert controls.rates_label.text().endswith("same person rejected 100.0 %.")


def test_the_models_page_gives_the_error_rates_at_the_stored_threshold():
    from faceapp.ui.panels.model_details import _error_rates
    from training.error_rates import ScoreHistograms

    rates = ScoreHistograms.from_scores(genuine=[0.9] * 90 + [0.3] * 10, impostor=[0.1] * 997 + [0.7] * 3)
    assert _error_rates(rates.to_dict(), 0.5) == ("at the threshold, strangers accepted about 1 in 330 (0.30 %), same "
                                                  "person rejected 10.0 % (1,000 impostor and 100 genuine validation "
                                                  "pairs)")
    assert _error_rates(None, 0.5) == "not stored with this model"


def test_the_models_page_says_how_an_exported_threshold_was_set(tmp_path):
    from faceapp.core.model_store import ModelEntry
    from faceapp.ui.panels.model_details import describe_entry
    from training.checkpoint import checkpoint_summary, load_checkpoint

    from .helpers import save_tiny

    path = tmp_path / "m.pt"
    save_tiny(path, "matcher")
    ckpt = load_checkpoint(path, task="matcher")
    ckpt.update(threshold=0.097, threshold_rule={"false_match_rate": 0.0545, "false_non_match_rate": 0.16,
                                                 "most_accurate_on_validation_pairs": 0.0736})
    text = describe_entry(ModelEntry("matcher", path, "user", True, checkpoint_summary(ckpt)))
    assert ("0.097, set where 5.45 % of strangers are accepted on validation pairs (the most accurate there: "
            "0.074)") in text
    del ckpt["threshold_rule"]  # as training wrote it: the number alone
    text = describe_entry(ModelEntry("matcher", path, "user", True, checkpoint_summary(ckpt)))
    assert ">0.097<" in text and "set where" not in text


def test_the_models_page_names_how_a_model_finds_faces():
    from faceapp.ui.panels.model_details import _framing
    from training.framing import Framing

    assert _framing(Framing.named("blazeface-aligned", 0.464).to_dict()) == "BlazeFace, eyes aligned, frame scale 0.464"
    assert _framing({"detector": "haar", "frame_scale": 0.7}) == "Haar face box at frame scale 0.7"
    assert _framing(None).startswith("default")
    assert _framing({"detector": "dlib"}).startswith("unreadable (") and "dlib" in _framing({"detector": "dlib"})


def test_a_gallery_decides_at_the_threshold_for_its_size(make_window, installed_store, tmp_path):
    from faceapp.core.verify import GalleryMatch
    from faceapp.ui.jobs import JobStarted
    from training.error_rates import ScoreHistograms

    panel = make_window(installed_store).verify_panel
    panel.decision_controls.margin.setValue(0.0)
    panel.decision_controls.slider.setValue(500)
    gallery = panel.gallery
    gallery._on_item(JobStarted(20))
    assert gallery.threshold() == 0.5  # no stored score distributions: the slider's threshold
    impostors = [i / 1000 for i in range(1000)]  # one stranger in a thousand per 0.001 step
    panel.decision_controls.error_rates = ScoreHistograms.from_scores(genuine=[0.9] * 10, impostor=impostors)
    # 1:1 at 0.5 accepts 500 of 1,000 strangers; over 20 identities the same risk needs 25 of 1,000: 0.975
    assert gallery.threshold() == 0.975
    gallery._on_item(GalleryMatch("Ann", 0.9, tmp_path / "a.jpg", 1))
    gallery._on_item(GalleryMatch("Bob", 0.6, tmp_path / "b.jpg", 1))
    gallery.redecide()
    assert gallery.decision(gallery.matches[1]) == "no match"  # above the slider, below the gallery's threshold
    gallery._ended("finished", gallery._search)
    assert "Decided at 0.975, the threshold for 20 identities" in gallery.progress.text()


def test_the_tag_page_names_the_models_own_classes(make_window, model_store):
    import torch

    from .helpers import save_tiny

    bundled = model_store.bundled_dir / "gender.pt"
    bundled.parent.mkdir(parents=True, exist_ok=True)
    save_tiny(bundled, "gender")
    ckpt = torch.load(bundled, weights_only=True)
    torch.save({**ckpt, "classes": ["woman", "man"]}, bundled)  # a gender model may name its classes anyhow
    tag = make_window(model_store).tag_panel
    items = [tag.results.label_filter.itemText(i) for i in range(tag.results.label_filter.count())]
    assert items == ["All labels", "woman", "man", "uncertain", "error"]
    assert "woman/, man/, uncertain/" in tag.output.sort_button.toolTip()


def test_the_first_window_fits_a_small_screen():
    from PySide6.QtCore import QSize

    from faceapp.ui.main_window import DEFAULT_SIZE, default_size

    assert default_size(QSize(1920, 1050)) == DEFAULT_SIZE
    small = default_size(QSize(1366, 728))  # a 1366 x 768 laptop under its panel
    assert small.height() <= 728 - 60 and small.width() == DEFAULT_SIZE.width()
