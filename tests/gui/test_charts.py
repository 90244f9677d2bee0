"""Training charts: the learning-rate curve for live, past and resumed runs; the sweep chart's legend."""

from faceapp.ui.sweep_chart import SweepChart
from faceapp.ui.wizard.charts import TrainingCharts


def _epoch(n, lr):
    return {"epoch": n, "train_loss": 1.0 / n, "val_loss": 1.2 / n, "val_balanced_accuracy": 0.5 + n / 10, "lr": lr}


def _batches(epoch, lrs):
    return [{"epoch": epoch, "batch": i + 1, "batches": len(lrs), "loss": 1.0, "smoothed_loss": 1.0, "lr": lr}
            for i, lr in enumerate(lrs)]


def _lr_curve(charts):
    xs, ys = charts.lr_curve.getData()
    return ([] if xs is None else list(xs)), ([] if ys is None else list(ys))


def test_past_run_shows_the_lr_kept_per_epoch(qtbot):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.clear("gender")
    for n, lr in ((1, 1e-3), (2, 5e-4), (3, 1e-4)):
        charts.add_epoch(_epoch(n, lr), None)
    assert _lr_curve(charts) == ([1.0, 2.0, 3.0], [1e-3, 5e-4, 1e-4])


def test_live_run_shows_per_batch_lr_and_a_resumed_run_keeps_the_earlier_epochs(qtbot):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.clear("gender")
    charts.add_batches(_batches(1, [1e-3, 9e-4]))
    charts.add_epoch(_epoch(1, 9e-4), None)
    assert _lr_curve(charts) == ([0.5, 1.0], [1e-3, 9e-4])  # batches only: the epoch's LR is not repeated

    charts.clear("gender")  # resumed after 2 epochs: those come back from metrics.csv, then batches follow
    charts.add_epoch(_epoch(1, 1e-3), None)
    charts.add_epoch(_epoch(2, 5e-4), None)
    charts.add_batches(_batches(3, [4e-4, 3e-4]))
    assert _lr_curve(charts) == ([1.0, 2.0, 2.5, 3.0], [1e-3, 5e-4, 4e-4, 3e-4])


def test_sweep_legend_names_every_condition_and_never_covers_the_curves(qtbot):
    from training.distortions import CONDITIONS

    chart = SweepChart()
    qtbot.addWidget(chart)
    chart.resize(900, 360)
    chart.show()
    qtbot.waitExposed(chart)
    for level in (0.05, 0.95):  # a pair that does not match (all curves low), then one that does (all high)
        for condition in CONDITIONS:
            for severity in range(1, 6):
                chart.add_point(condition, severity, level)
        qtbot.waitUntil(lambda: chart.legend.sceneBoundingRect().height() > 0)
        legend = chart.legend.sceneBoundingRect()
        plot_area = chart.view_box.sceneBoundingRect()
        assert not legend.intersects(plot_area)
    assert [label.text for _, label in chart.legend.items] == list(CONDITIONS)


def test_a_one_epoch_run_shows_its_lr_point_and_whole_symbols_at_the_edges(qtbot):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.resize(800, 500)
    charts.show()
    charts.clear("gender")
    charts.set_epochs(1, 1)
    charts.add_epoch({**_epoch(1, 1e-3), "val_balanced_accuracy": 1.0}, None)
    xs, ys = charts.lr_points.getData()
    assert list(xs) == [1.0] and list(ys) == [1e-3]  # a line through one point draws nothing; a symbol does
    for plot in (charts.loss_plot, charts.score_plot, charts.lr_plot):
        (x0, x1), _ = plot.getPlotItem().viewRange()
        assert x1 - 1.0 >= 0.05 * (x1 - x0), "the last epoch's symbol would be cut in half at the edge"
    _, (y0, y1) = charts.score_plot.getPlotItem().viewRange()
    assert y1 - 1.0 >= 0.04 * (y1 - y0)  # a perfect score keeps its whole symbol
