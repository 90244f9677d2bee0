"""The training wizard end to end (pytest-qt, offscreen): both tasks on tiny generated folders, CPU, 32 px."""

from __future__ import annotations

import csv
import threading

import pytest
from PySide6.QtWidgets import QMessageBox, QWizard

from tests.callbacks import Recorder
from tests.synthetic import make_gender_folder, make_identity_folder
from training.checkpoint import load_checkpoint

TIMEOUT = 90_000  # ms; a loaded 2-core machine trains ResNet18 slowly even at 32 px
# On a busy 2-core machine two intra-op threads fight the other jobs: one thread trained a 6-batch matcher
# epoch in 2 s instead of 26 s.
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def gender_folder(tmp_path_factory):
    return make_gender_folder(tmp_path_factory.mktemp("wizard") / "gender", {"female": 8, "male": 16}, split=True,
                              size=40)


@pytest.fixture(scope="module")
def identity_folder(tmp_path_factory):
    return make_identity_folder(tmp_path_factory.mktemp("wizard") / "people", people=6, photos=3, size=40,
                                distortion_dir=True)


class Gate:
    """Holds the training thread at the first batch of `epoch` until released or until the run is stopped."""

    def __init__(self, wizard, epoch: int):
        self.wizard, self.epoch = wizard, epoch
        self.entered, self.release = threading.Event(), threading.Event()

    def arm(self, epoch: int) -> None:
        self.epoch = epoch
        self.entered.clear()

    def on_batch_end(self, info):
        if info["epoch"] == self.epoch and not self.entered.is_set():
            stop = self.wizard.run.stop
            self.entered.set()
            while not self.release.wait(0.01) and not stop.is_set():
                pass


@pytest.fixture
def make_panel(qtbot, model_store):
    from faceapp.core.active_models import ActiveModels
    from faceapp.ui.panels.train_panel import TrainPanel

    panels = []

    def make(callbacks=()):
        panel = TrainPanel(ActiveModels(model_store, device="cpu"), overrides={"workers": 0},
                           extra_callbacks=callbacks)
        qtbot.addWidget(panel)
        panel.resize(1100, 800)
        panel.show()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        assert panel.shutdown(60_000)


def to_settings(qtbot, wizard, task: str, folder) -> None:
    wizard.task_page.buttons[task].setChecked(True)
    wizard.next()
    assert wizard.currentPage() is wizard.data_page
    wizard.data_page.set_folder(folder)
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=TIMEOUT)
    wizard.next()
    assert wizard.currentPage() is wizard.settings_page


def fast_settings(page, epochs: int) -> None:
    page.start.setCurrentIndex(page.start.findData("none"))
    page.device.setCurrentIndex(page.device.findData("cpu"))
    page.epochs.setValue(epochs)
    page.batch_size.setValue(8)
    page.input_size.setValue(32)
    page.patience.setValue(0)
    page.crop.setChecked(False)
    page.pairs_per_epoch.setValue(48)
    page.val_pairs.setValue(32)
    assert page.isComplete(), page.problem()


def train(qtbot, wizard):
    with qtbot.waitSignal(wizard.run.ended, timeout=TIMEOUT):
        wizard.next()
        assert wizard.currentPage() is wizard.training_page
    return wizard.training_page.result


def test_gender_run_through_every_page(make_panel, gender_folder, tmp_path, qtbot, monkeypatch):
    recorder = Recorder()
    panel = make_panel([recorder])
    wizard = panel.wizard
    panel.new_run()
    to_settings(qtbot, wizard, "gender", gender_folder)
    data = wizard.state.report
    assert dict(data.rows)["Training images"] == "8 female · 16 male"
    assert "val/ folder" in dict(data.rows)["Held-out test set"]
    assert "Imbalanced: 2.0" in data.warnings[0] and not data.notes and wizard.data_page.samples.count == 8

    page = wizard.settings_page
    fast_settings(page, epochs=2)
    page.measure()
    qtbot.waitUntil(lambda: "per epoch" in page.estimate_label.text(), timeout=TIMEOUT)
    assert page.last_estimate.seconds_per_epoch > 0 and page.last_estimate.train_batches >= 1

    # faces are found as the bundled models find them, unless the user picks another finder
    assert page.finder.currentData() == "blazeface-aligned"
    page.finder.setCurrentIndex(page.finder.findData("haar"))
    assert (page.config().face_detector, page.config().align_faces) == ("haar", False)
    page.finder.setCurrentIndex(page.finder.findData("blazeface-aligned"))
    assert (page.config().face_detector, page.config().align_faces) == ("blazeface", True)

    result = train(qtbot, wizard)
    assert result.stop_reason == "completed" and result.best_path.is_file()
    framing = load_checkpoint(result.best_path, task="gender")["framing"]  # what the app will crop with
    assert framing["detector"] == "blazeface" and "align" in framing
    charts = wizard.training_page.charts
    assert charts.batch_points() == len(recorder.batches) == 2 * recorder.started[0]["batches"]
    assert charts.epoch_points() == len(recorder.epochs) == len(result.history) == 2
    assert wizard.training_page.log.toPlainText().count("epoch ") >= 2  # the core's own log lines
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    with qtbot.waitSignal(wizard.results_page.runner.result, timeout=TIMEOUT):
        wizard.next()
    results = wizard.results_page
    assert "held-out test set" in results.source.text()
    assert "female" in results.report.toPlainText() and results.confusion.rowCount() == 2
    report = results.report.toPlainText()  # per-class figures side by side with their gap, and calibration
    assert "gap (points)" in report and "expected calibration error" in report and "uncertain below" in report
    assert sum(sum(row) for row in results.results.confusion) == 2 + 5  # the val/ folder
    assert results.epochs.rowCount() == 2

    # A tiny model may well be at chance: then the page asks first (tested on its own below); here, yes.
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.models_changed, timeout=TIMEOUT):
        results.activate_button.click()
    active = wizard.session.models.store.active_path("gender")
    assert active.parent == wizard.session.models.store.task_dir("gender") and active.stem == result.run_dir.name
    assert load_checkpoint(active, task="gender")["epoch"] == result.best_metrics["epoch"]
    assert results.save_charts(tmp_path / "charts.png").stat().st_size > 1000
    rows = list(csv.DictReader(results.save_metrics(tmp_path / "metrics.csv").open(encoding="utf-8")))
    assert [r["epoch"] for r in rows] == ["1", "2"] and "val_balanced_accuracy" in rows[0]
    assert results.save_model(tmp_path / "copy.pt").is_file()

    wizard.done(1)
    assert panel.stack.currentIndex() == 0 and panel.runs.topLevelItemCount() == 1
    assert panel.selected_run().path == result.run_dir and "completed" in panel.runs.topLevelItem(0).text(5)

    again = make_panel()  # the choices are remembered for the next run
    again.new_run()
    assert again.wizard.state.task == "gender" and again.wizard.state.folder == str(gender_folder)
    again.wizard.next()
    qtbot.waitUntil(again.wizard.data_page.isComplete, timeout=TIMEOUT)
    again.wizard.next()
    settings = again.wizard.settings_page
    assert (settings.epochs.value(), settings.input_size.value(), settings.batch_size.value()) == (2, 32, 8)
    assert settings.device.currentData() == "cpu" and not settings.crop.isChecked()


def test_matcher_run_shows_probes_roc_and_conditions(make_panel, identity_folder, qtbot, monkeypatch):
    recorder = Recorder()
    panel = make_panel([recorder])
    wizard = panel.wizard
    panel.new_run()
    to_settings(qtbot, wizard, "matcher", identity_folder)
    rows = dict(wizard.state.report.rows)
    assert rows["Identities"].startswith("6 people") and "18 distorted copies" in rows["Images"]
    assert "distortion/ folders found" in wizard.state.report.notes[0]
    assert wizard.data_page.probes.count >= 4 and not wizard.data_page.probes.isHidden()

    page = wizard.settings_page
    fast_settings(page, epochs=1)
    assert page.form.isRowVisible(page.pairs_per_epoch)
    assert page.finder.currentData() == "blazeface-aligned"  # as for the gender model

    result = train(qtbot, wizard)
    assert result.stop_reason == "completed" and result.best_path.is_file()
    framing = load_checkpoint(result.best_path, task="matcher")["framing"]  # what the app will crop with
    assert framing["detector"] == "blazeface" and "align" in framing
    charts = wizard.training_page.charts
    assert charts.batch_points() == len(recorder.batches) == 48 // 8
    assert charts.epoch_points() == 1 and set(charts.score_curves) == {"val_auc", "val_accuracy"}

    with qtbot.waitSignal(wizard.results_page.runner.result, timeout=TIMEOUT):
        wizard.next()
    results = wizard.results_page.results
    assert len(results.roc[0]) >= 2 and results.operating_point is not None
    stored = load_checkpoint(result.best_path)["metrics"]["val_roc"]  # the final report's curve, not a re-scoring
    assert list(results.roc[0]) == stored["far"] and list(results.operating_point) == stored["at_threshold"]
    assert results.threshold == pytest.approx(load_checkpoint(result.best_path)["threshold"])
    assert wizard.results_page.conditions.rowCount() == len(results.per_condition) > 0
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)  # as above
    with qtbot.waitSignal(panel.models_changed, timeout=TIMEOUT):
        wizard.results_page.activate_button.click()
    assert wizard.session.models.store.active_path("matcher").stem == result.run_dir.name


def test_bad_folders_block_next_with_the_reason(make_panel, tmp_path, qtbot):
    one_class = make_gender_folder(tmp_path / "one", {"male": 6})
    unreadable = make_gender_folder(tmp_path / "broken", {"female": 4, "male": 4})
    for path in list((unreadable / "female").iterdir())[:3]:
        path.write_bytes(b"not an image")
    loners = make_identity_folder(tmp_path / "loners", people=4, photos=1)
    cases = [("gender", one_class, "exactly two classes"),
             ("gender", unreadable, "class 'female' has only 1 readable image (3 unreadable)"),
             ("gender", tmp_path / "missing", "does not exist"),
             ("matcher", loners, "no identity has two images"),
             ("matcher", tmp_path / "loners" / "Person_00" / "Person_00_0001.png", "is a file")]
    panel = make_panel()
    wizard = panel.wizard
    for task, folder, message in cases:
        panel.new_run(task)
        wizard.task_page.buttons[task].setChecked(True)
        wizard.next()
        page = wizard.data_page
        page.set_folder(folder)
        qtbot.waitUntil(page.error_label.isVisible, timeout=TIMEOUT)
        assert message.lower() in page.error_label.text().lower()
        assert not page.isComplete() and not wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_cancel_and_closing_keep_the_best_checkpoint_and_resume(make_window, model_store, gender_folder, qtbot,
                                                                monkeypatch):
    window = make_window(model_store)
    panel = window.train_panel
    window.show_page(2)
    wizard = panel.wizard
    gate = Gate(wizard, epoch=2)
    wizard.session.overrides, wizard.session.extra_callbacks = {"workers": 0}, [gate]
    asked = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or answer[0])

    panel.new_run()
    to_settings(qtbot, wizard, "gender", gender_folder)
    fast_settings(wizard.settings_page, epochs=3)
    wizard.next()
    page = wizard.training_page
    qtbot.waitUntil(gate.entered.is_set, timeout=TIMEOUT)
    assert not wizard.button(QWizard.WizardButton.BackButton).isVisible()  # no going back mid-run

    window.close()  # asks; "No" keeps training
    assert len(asked) == 1 and window.isVisible() and wizard.run.running

    with qtbot.waitSignal(wizard.run.ended, timeout=TIMEOUT):
        page.cancel_button.click()
        assert page.cancel_button.text() == "Stopping…" and not page.cancel_button.isEnabled()
    result = page.result
    assert result.stop_reason == "cancelled" and len(result.history) == 1
    assert load_checkpoint(result.best_path, task="gender")["epoch"] == 1
    assert "cancelled" in page.notice.text() and not page.cancel_button.isEnabled()
    assert page.isComplete() and wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    assert wizard.button(QWizard.WizardButton.BackButton).isVisible()

    wizard.reject()  # nothing runs: back to the list of runs, where the cancelled run can be resumed
    run = panel.selected_run()
    assert run.path == result.run_dir and run.stop_reason == "cancelled" and panel.resume_button.isEnabled()
    gate.arm(epoch=2)
    panel.resume_selected()
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=TIMEOUT)
    wizard.next()
    settings = wizard.settings_page
    assert settings.epochs.value() == 3 and "Resuming" in settings.resume_note.text()
    settings.epochs.setValue(1)
    assert not settings.isComplete() and "already has 1 epoch" in settings.error.text()
    settings.epochs.setValue(2)
    with qtbot.waitSignal(wizard.run.started, timeout=TIMEOUT) as started:
        wizard.next()
    assert started.args[0]["start_epoch"] == 2 and started.args[0]["run_dir"] == str(result.run_dir)
    assert page.charts.epoch_points() == 1  # the finished epoch is back on the chart
    qtbot.waitUntil(gate.entered.is_set, timeout=TIMEOUT)

    answer[0] = QMessageBox.StandardButton.Yes
    window.close()  # asks, stops the run within a batch, then closes
    assert len(asked) == 2 and not window.isVisible() and not wizard.run.running
    qtbot.waitUntil(lambda: page.result is not None, timeout=TIMEOUT)
    assert page.result.stop_reason == "cancelled"
    assert load_checkpoint(result.best_path, task="gender")["epoch"] == 1


def _data_page_in_window(make_window, installed_store, qtbot, task="gender"):
    from PySide6.QtWidgets import QApplication

    window = make_window(installed_store)
    window.show_page(2)
    window.train_panel.new_run(task)
    wizard = window.train_panel.wizard
    wizard.task_page.buttons[task].setChecked(True)
    wizard.next()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=TIMEOUT)
    page = wizard.data_page
    page.folder.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.folder, timeout=TIMEOUT)
    return window, page


def test_typing_a_path_keeps_the_focus_and_checks_only_the_settled_path(make_window, installed_store, gender_folder,
                                                                        qtbot, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from faceapp.ui.wizard import data_page

    checked = []
    real = data_page.check_job
    monkeypatch.setattr(data_page, "check_job",
                        lambda task, folder, *a: checked.append(folder) or real(task, folder, *a))
    window, page = _data_page_in_window(make_window, installed_store, qtbot)
    path = str(gender_folder)
    settle_ms = data_page.SETTLE_MS
    # A busy machine may stall longer than the settle time between two keystrokes, which would rightly start
    # a check of a partial path: so the settle time is the real one only from the last keystroke on.
    monkeypatch.setattr(data_page, "SETTLE_MS", 10 * 60_000)
    for i, ch in enumerate(path):
        if i == len(path) - 1:
            monkeypatch.setattr(data_page, "SETTLE_MS", settle_ms)
        qtbot.keyClick(page.folder, ch)
        if i % 8 == 0:
            qtbot.wait(30)  # a pause shorter than the settle time: no check yet
        # the sidebar's type-ahead used to take the focus and switch pages ('t' for Tag folder)
        assert QApplication.focusWidget() is page.folder, f"focus lost after {path[:i + 1]!r}"
        assert window.sidebar.currentRow() == 2
    assert page.folder.text() == path
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    assert checked == [path]  # not '/', '/tmp', ... on the way
    assert QApplication.focusWidget() is page.folder


def test_a_whole_disk_or_home_folder_is_checked_only_when_asked(make_window, installed_store, tmp_path, qtbot,
                                                               monkeypatch):
    from faceapp.ui.wizard import data_page

    checked = []
    real = data_page.check_job
    monkeypatch.setattr(data_page, "check_job",
                        lambda task, folder, *a: checked.append(folder) or real(task, folder, *a))
    home = tmp_path / "home" / "ann"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    window, page = _data_page_in_window(make_window, installed_store, qtbot)
    for folder, why in (("/", "the top of a file system"), (str(home), "your home folder"),
                        (str(home.parent), "a folder that holds home folders")):
        page.set_folder(folder)
        assert why in page.state_label.text() and page.check_anyway.isVisible() and not page.isComplete()
    qtbot.wait(100)
    assert checked == []
    page.check_anyway.click()
    qtbot.waitUntil(page.error_label.isVisible, timeout=TIMEOUT)  # checked: no photos in it
    assert checked == [str(home.parent)] and not page.check_anyway.isVisible()


def test_a_model_at_chance_is_not_adopted_by_default_and_the_previous_one_comes_back(
        make_window, model_store, tmp_path, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from faceapp.core.wizard.runs import read_run, write_metrics_csv
    from tests.gui.helpers import save_tiny

    good = save_tiny(tmp_path / "good.pt", "gender", metrics={"val_balanced_accuracy": 0.96})
    model_store.import_checkpoint(good, task="gender")
    before = model_store.active_path("gender")
    run_dir = tmp_path / "runs" / "one_epoch"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text('{"task": "gender", "epochs": 1}', encoding="utf-8")
    write_metrics_csv(run_dir / "metrics.csv", [{"epoch": 1, "train_loss": 0.69, "val_loss": 0.69, "lr": 1e-3,
                                                 "val_balanced_accuracy": 0.5}])
    save_tiny(run_dir / "best.pt", "gender", seed=1, metrics={"val_balanced_accuracy": 0.5})
    window = make_window(model_store)
    window.show_page(2)
    wizard = window.train_panel.wizard
    window.train_panel.stack.setCurrentWidget(wizard)
    wizard.show_results(read_run(run_dir))
    page = wizard.results_page
    assert wizard.currentPage() is page
    assert "no better than guessing" in page.adoption_warning.text() and not page.adoption_warning.isHidden()
    assert "this run 0.500; the active model, good.pt, 0.960" in page.comparison.text()
    assert page.activate_button.text() == "Use this model anyway…" and not page.activate_button.isDefault()
    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    page.activate_button.click()
    assert len(asked) == 1 and model_store.active_path("gender") == before  # declined: nothing changed
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.activate_button.click()
    adopted = model_store.active_path("gender")
    assert adopted != before and adopted.name.startswith("one_epoch")
    assert not page.undo_button.isHidden() and page.undo_button.text() == "Go back to good.pt"
    page.undo_button.click()
    assert model_store.active_path("gender") == before and page.undo_button.isHidden()
    assert window.verify_panel.models.path("gender") == before  # the app's models follow the store


def test_delete_run_asks_first_and_removes_only_that_run(make_panel, tmp_path, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from faceapp.core.wizard.runs import write_metrics_csv

    panel = make_panel()
    for name in ("old", "keep"):
        run = panel.runs_dir() / name
        run.mkdir(parents=True)
        (run / "config.json").write_text('{"task": "gender", "epochs": 1}', encoding="utf-8")
        write_metrics_csv(run / "metrics.csv", [{"epoch": 1, "val_balanced_accuracy": 0.7}])
    panel.refresh_runs()
    item = next(panel.runs.topLevelItem(i) for i in range(panel.runs.topLevelItemCount())
                if panel.runs.topLevelItem(i).text(0) == "old")
    panel.runs.setCurrentItem(item)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    panel.delete_button.click()
    assert (panel.runs_dir() / "old").exists() and "Delete the run old" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.status) as said:
        panel.delete_button.click()
    assert not (panel.runs_dir() / "old").exists() and (panel.runs_dir() / "keep").exists()
    assert said.args[0].startswith("Deleted the run old")
    assert [panel.runs.topLevelItem(i).text(0) for i in range(panel.runs.topLevelItemCount())] == ["keep"]


def test_the_imagenet_note_shows_only_while_imagenet_is_the_start(make_panel, gender_folder, qtbot, monkeypatch):
    from faceapp.ui.wizard import settings_page

    monkeypatch.setattr(settings_page, "imagenet_problem", lambda task: "Put the file in ~/.cache/torch.")
    panel = make_panel()
    wizard = panel.wizard
    panel.new_run()
    to_settings(qtbot, wizard, "gender", gender_folder)
    page = wizard.settings_page
    for value, shown in (("imagenet", True), ("none", False), ("imagenet", True)):
        page.start.setCurrentIndex(page.start.findData(value))
        assert page.weights_note.isVisible() == shown, value


def test_a_balanced_folder_is_a_plain_note_not_a_warning(make_panel, tmp_path, qtbot):
    folder = make_gender_folder(tmp_path / "even", {"female": 8, "male": 8}, size=40)
    panel = make_panel()
    wizard = panel.wizard
    panel.new_run()
    to_settings(qtbot, wizard, "gender", folder)
    page = wizard.data_page
    assert wizard.state.report.notes[0].startswith("The classes are balanced enough")
    assert page.warnings.isHidden() and not page.notes.isHidden() and "balanced" in page.notes.text()
