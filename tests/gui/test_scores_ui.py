"""Scores a person can trust, in the window: the Tag page's model-chosen uncertain level, the Models page's
per-class and calibration rows, and the FAR/FRR plot beside the Verify slider."""
from __future__ import annotations

import html

import torch

from .helpers import save_tiny


def _with_level(path, level, caught=0.61, flagged=0.07):
    ckpt = torch.load(path, weights_only=True)
    metrics = {**ckpt["metrics"], "val_uncertain_caught": caught, "val_uncertain_flagged": flagged,
               "val_calibration": {"temperature": 1.7, "before": {"ece": 0.081}, "after": {"ece": 0.012}},
               "val_per_class": {"female": {"recall": 0.9, "precision": 0.8, "f1": 0.85, "support": 10},
                                 "male": {"recall": 0.95, "precision": 0.97, "f1": 0.96, "support": 30}}}
    torch.save({**ckpt, "uncertain_below": level, "temperature": 1.7, "metrics": metrics}, path)


def test_uncertain_level_starts_at_the_models_suggestion_and_remembers_the_users(make_window, model_store):
    bundled = model_store.bundled_dir / "gender.pt"
    bundled.parent.mkdir(parents=True, exist_ok=True)
    save_tiny(bundled, "gender")
    window = make_window(model_store)
    tag = window.tag_panel
    assert tag.uncertain.value() == 60.0 and "suggests no level" in tag.uncertain.toolTip()
    window.close()

    _with_level(bundled, 0.73)
    window = make_window(model_store)
    tag = window.tag_panel
    assert tag.uncertain.value() == 73.0 and tag.model.uncertain_below == 0.73
    assert "suggests 73%" in tag.uncertain.toolTip() and "catches 61%" in tag.uncertain.toolTip()
    window.models_panel.boxes["gender"].list.setCurrentRow(0)
    details = html.unescape(window.models_panel.boxes["gender"].details.text())
    assert "female recall 90.0%, precision 80.0% · male recall 95.0%, precision 97.0%" in details
    assert "gap 5.0 points in recall, 17.0 in precision (validation split)" in details
    assert "temperature 1.70" in details and "from 0.081 to 0.012" in details and "'uncertain below' 73%" in details
    tag.uncertain.setValue(85.0)  # the user's own choice for this model...
    tag.save_settings()
    window.close()
    window = make_window(model_store)
    assert window.tag_panel.uncertain.value() == 85.0  # ...is kept for it
    window.close()

    save_tiny(bundled, "gender", seed=1)  # another model at the same path: its own level, not the old choice
    _with_level(bundled, 0.66)
    window = make_window(model_store)
    assert window.tag_panel.uncertain.value() == 66.0


def test_rate_plot_marks_the_rates_the_slider_reads(qtbot):
    from PySide6.QtGui import QColor

    from faceapp.ui.rate_plot import FAR_COLOR, FRR_COLOR, RatePlot
    from training.error_rates import ScoreHistograms

    plot = RatePlot()
    qtbot.addWidget(plot)
    plot.resize(320, 130)
    assert plot.rates_at(0.5) is None
    rates = ScoreHistograms.from_scores(genuine=[0.9] * 90 + [0.3] * 10, impostor=[0.1] * 990 + [0.7] * 10)
    plot.set_rates(rates)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        assert plot.rates_at(t) == (rates.false_match_rate(t), rates.false_non_match_rate(t))
    plot.set_threshold(0.5)
    image = plot.grab().toImage()
    colors = {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())}
    assert QColor(FAR_COLOR).name() in colors and QColor(FRR_COLOR).name() in colors  # both curves drawn


def test_the_verify_views_work_from_their_inputs_alone(qtbot, app_env, tmp_path):
    """The gallery and the sweep get the slots and the decision controls, not the Verify page: built on their
    own, they re-decide when the controls move."""
    from faceapp.core.verify import GalleryMatch
    from faceapp.ui.image_slot import ImageSlot
    from faceapp.ui.jobs import JobStarted
    from faceapp.ui.panels.decision_controls import DecisionControls
    from faceapp.ui.panels.gallery_view import GalleryView
    from faceapp.ui.panels.sweep_view import SweepView
    from faceapp.ui.panels.verify_inputs import VerifyInputs
    from faceapp.ui.settings import Settings
    from faceapp.ui.workers import WorkerPool

    settings, pool = Settings(), WorkerPool()
    controls = DecisionControls(settings)
    slots = [ImageSlot(name, name, pool, settings) for name in ("reference", "probe")]
    inputs = VerifyInputs(None, settings, pool, *slots, controls, lambda: False)
    gallery, sweep = GalleryView(inputs), SweepView(inputs)
    for widget in (controls, gallery, sweep, *slots):
        qtbot.addWidget(widget)
    controls.margin.setValue(0.0)
    controls.slider.setValue(500)
    gallery._on_item(JobStarted(2))
    gallery._on_item(GalleryMatch("Ann", 0.7, tmp_path / "a.jpg", 1))
    gallery.redecide()
    assert gallery.decision(gallery.matches[0]) == "MATCH"
    controls.slider.setValue(800)  # no call from a page: the view listens to the controls
    assert gallery.decision(gallery.matches[0]) == "no match"
    assert gallery._row_cells["Ann"][2].text() == "no match"
    sweep.chart  # noqa: B018 - built on first use, at the controls' threshold
    controls.slider.setValue(300)
    assert sweep.chart.threshold_line.value() == 0.3
    sweep.refresh("Fill both slots first.")
    assert not sweep.button.isEnabled() and sweep.button.toolTip() == "Fill both slots first."
    pool.shutdown(1000)
