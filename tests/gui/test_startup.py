"""Start-up (issue 22): the window comes up without torch, pyqtgraph or the wizard; the pages say "Loading
models…" until the warm-up has read the models' metadata, then fill in; charts and the wizard are built
when first opened."""

import os
import subprocess
import sys

HEAVY = ("torch", "torchvision", "pyqtgraph", "faceapp.ui.wizard.wizard", "faceapp.ui.wizard.results_page",
         "faceapp.ui.wizard.training_page", "faceapp.ui.wizard.settings_page", "faceapp.ui.sweep_chart")


def test_the_window_comes_up_without_torch_pyqtgraph_or_the_wizard(tmp_path):
    # torch (~2 s) came in through the Models page's checkpoint reads and the About box, pyqtgraph (~0.4 s)
    # and the wizard's pages through the Train page: all before the first paint. In a subprocess, so that
    # what the window imports is what this process has imported.
    code = """if True:
        import sys
        from PySide6.QtCore import QSettings
        from faceapp.ui.app import create_window, ensure_app, warm_up
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
        ensure_app()
        window = create_window(sys.argv[2])  # no event loop: the warm-up timer never fires
        window.show()
        heavy = sys.argv[3].split(",")
        print(sorted(m for m in heavy if m in sys.modules))
        print(window.models_panel.device_label.text())
        window.models.load_metadata()  # what the warm-up thread does first
        window.models_ready()
        print(sorted(m for m in heavy if m in sys.modules))
        print(window.models_panel.device_label.text())
        warm_up()  # then
        print(sorted(m for m in heavy if m in sys.modules))
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "settings"), str(tmp_path / "data"),
                          ",".join(HEAVY)], env=env, capture_output=True, text=True, timeout=180, check=True)
    lines = out.stdout.split("\n")
    assert lines[:2] == ["[]", "Loading models…"], out.stdout + out.stderr
    # The models' metadata needs torch alone; the pages fill in before torchvision is imported.
    assert lines[2] == "['torch']" and lines[3].startswith("in use: "), out.stdout + out.stderr
    # The rest of the model code follows; the chart and the wizard still wait until they are opened.
    assert lines[4] == "['torch', 'torchvision']", out.stdout + out.stderr


def _deferred_window(qtbot, store):
    from faceapp.core.active_models import ActiveModels
    from faceapp.ui.main_window import MainWindow
    from faceapp.ui.settings import Settings

    window = MainWindow(ActiveModels(store, device="cpu", deferred=True), Settings(), log_path=None)
    qtbot.addWidget(window)
    window.show()
    return window


def test_pages_say_loading_until_the_models_are_ready_then_fill_in(qtbot, installed_store, photo_folder):
    from faceapp.ui.about import about_html

    window = _deferred_window(qtbot, installed_store)
    models, tag, verify, train = window.models, window.tag_panel, window.verify_panel, window.train_panel
    box = window.models_panel.boxes["gender"]
    tag.set_folder(photo_folder)
    assert not models.ready
    assert "Loading models…" in box.details.text() and box.list.count() == 0
    assert not any(b.isEnabled() for b in (box.import_button, box.activate_button, box.remove_button))
    assert window.models_panel.device.count() == 0 and not window.models_panel.device.isEnabled()
    assert window.device_label.text() == "Device: loading…"
    assert "Gender: gender.pt" in window.models_label.text()  # the file names need no torch
    assert window.statusBar().currentMessage() == "Loading models…"
    assert not tag.start_button.isEnabled() and tag.start_button.toolTip() == "Loading the gender model…"
    controls = verify.decision_controls
    assert not controls.slider.isEnabled() and "loading" in controls.model_threshold_label.text()
    assert not verify.compare_button.isEnabled() and verify.compare_button.toolTip() == "Loading the face matcher…"
    assert not train.new_button.isEnabled() and "Loading" in train.new_button.toolTip()
    assert "PyTorch</td><td>loading…" in about_html(models)

    models.load_metadata()  # what the warm-up thread does
    window.models_ready()  # then, on the GUI thread
    assert models.ready and box.list.count() == 1 and "active" in box.details.text()
    assert box.import_button.isEnabled() and window.models_panel.device.isEnabled()
    assert window.models_panel.device.currentData() == "auto"  # the setting
    device = window.models_panel.device  # wide enough for the choices it got after the window was shown
    assert device.sizeHint().width() > device.fontMetrics().horizontalAdvance(device.currentText())
    assert window.device_label.text() == "Device: cpu" and window.statusBar().currentMessage() == ""
    assert tag.start_button.isEnabled()
    assert controls.slider.isEnabled() and verify.threshold() == 0.5
    assert "0.500" in controls.model_threshold_label.text()
    assert not train.new_button.isEnabled()  # the wizard waits for the rest of the model code...
    window.warm_up_done()
    assert train.new_button.isEnabled()  # ...which the warm-up imports next
    assert "PyTorch</td><td>loading" not in about_html(models)


def test_listing_the_devices_keeps_the_saved_choice(qtbot, installed_store):
    from faceapp.ui.settings import Settings

    Settings().set("device", "cpu")
    window = _deferred_window(qtbot, installed_store)
    window.models.load_metadata()
    window.models_ready()
    assert window.models_panel.device.currentData() == "cpu" and Settings().get("device") == "cpu"


def test_the_sweep_chart_and_the_wizard_are_built_when_first_opened(make_window, installed_store):
    window = make_window(installed_store)
    verify, train = window.verify_panel, window.train_panel
    assert verify.sweep._chart is None and train._wizard is None
    verify.decision_controls.slider.setValue(420)
    verify.tabs.setCurrentWidget(verify.sweep)
    chart = verify.sweep._chart
    assert chart is not None and chart.threshold_line.value() == 0.42  # the slider's, at once
    assert verify.sweep.chart is verify.sweep._chart
    assert str(train.runs_dir()) == train.wizard.out_dir()  # the same folder, with or without the wizard
    train.new_run()
    assert train.stack.currentWidget() is train.wizard and train.wizard.currentPage() is train.wizard.task_page


class _Started:
    """Stands in for the QApplication and the splash in `faceapp.__main__.main`: no event loop is entered."""

    def exec(self) -> int:
        return 0

    def close(self) -> None:
        pass


def _start_with(monkeypatch, window):
    import faceapp.ui.app
    import faceapp.ui.splash

    made = []
    monkeypatch.setattr(faceapp.ui.app, "ensure_app", lambda argv=None: _Started())
    monkeypatch.setattr(faceapp.ui.splash, "show_splash", lambda app: _Started())
    monkeypatch.setattr(faceapp.ui.app, "create_window", lambda data_dir=None: made.append(data_dir) or window)
    return made


def test_paths_on_the_command_line_open_as_if_dropped_on_the_window(qtbot, monkeypatch, installed_store,
                                                                    photo_folder):
    from faceapp.__main__ import main
    from faceapp.ui.main_window import PAGE_TAG, PAGE_VERIFY

    window = _deferred_window(qtbot, installed_store)
    made = _start_with(monkeypatch, window)
    assert main([str(photo_folder)]) == 0 and made == [None]
    assert window.tag_panel.folder.folder() == str(photo_folder.resolve()) and window.stack.currentIndex() == PAGE_TAG
    assert not window.tag_panel.busy  # opened, not started: tagging waits for the user
    photos = sorted(photo_folder.glob("person_*.jpg"))[:2]
    assert main([str(photos[0]), str(photos[1])]) == 0
    assert window.stack.currentIndex() == PAGE_VERIFY
    panel = window.verify_panel
    qtbot.waitUntil(lambda: panel.reference.image is not None and panel.probe.image is not None, timeout=10000)


def test_a_path_that_does_not_exist_stops_before_any_window(monkeypatch, capsys, tmp_path):
    import pytest

    from faceapp.__main__ import main

    made = _start_with(monkeypatch, window=None)
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path), str(tmp_path / "missing.jpg")])
    assert stopped.value.code == 2 and made == []
    assert f"no such file or folder: {tmp_path / 'missing.jpg'}" in capsys.readouterr().err


def test_photos_opened_while_the_matcher_loads_are_scored_once_it_is_ready(qtbot, installed_store, photo_folder):
    window = _deferred_window(qtbot, installed_store)
    panel = window.verify_panel
    photos = sorted(photo_folder.glob("person_*.jpg"))[:2]
    window.open_paths([str(p) for p in photos])
    qtbot.waitUntil(lambda: panel.reference.image is not None and panel.probe.image is not None, timeout=10000)
    assert panel.pair is None and panel.probability.text() == "Loading the face matcher…"  # not "Fill both slots"
    window.models.load_metadata()
    window.models_ready()
    qtbot.waitUntil(lambda: panel.pair is not None, timeout=20000)
    assert panel.probability.text().startswith("Match probability") and panel.decision.text() != "—"
