"""Live training charts (pyqtgraph): loss per batch and per epoch, the validation score, the learning rate.

Every curve is created once; updates append to lists kept on the widget and call `setData`. The x axis is
the epoch, fractional for batches (epoch 2, batch 5 of 10 is at 1.5), so batch and epoch points line up.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QWidget

BLUE, ORANGE, GREEN, GREY, RED = "#0072B2", "#E69F00", "#009E73", "#b8b8b8", "#c62828"
EDGE = 0.06  # share of the x range left beyond the first and last epoch
SCORES = {"gender": [("val_balanced_accuracy", "balanced accuracy", BLUE), ("val_accuracy", "accuracy", GREY)],
          "matcher": [("val_auc", "AUC", BLUE), ("val_accuracy", "accuracy", GREEN)]}


def _plot(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setMinimumHeight(150)
    item = plot.getPlotItem()
    item.setTitle(title, size="10pt", color="#333")
    item.setLabel("bottom", "epoch")
    item.setLabel("left", left)
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.getAxis("left").enableAutoSIPrefix(False)
    item.getAxis("bottom").enableAutoSIPrefix(False)
    return plot


class TrainingCharts(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.loss_plot = _plot("Loss", "loss")
        self.score_plot = _plot("Validation score", "score")
        self.lr_plot = _plot("Learning rate", "lr")
        loss = self.loss_plot.getPlotItem()
        loss.addLegend(offset=(-8, 8), labelTextSize="8pt").setBrush(pg.mkBrush(255, 255, 255, 210))
        self.batch_curve = loss.plot([], [], pen=pg.mkPen(GREY, width=1), name="batch")
        self.smooth_curve = loss.plot([], [], pen=pg.mkPen(BLUE, width=2), name="batch (smoothed)")
        self.train_curve = loss.plot([], [], pen=pg.mkPen(BLUE, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                                     symbol="o", symbolSize=7, symbolBrush=BLUE, symbolPen=None, name="train (epoch)")
        self.val_curve = loss.plot([], [], pen=pg.mkPen(ORANGE, width=2), symbol="s", symbolSize=7,
                                   symbolBrush=ORANGE, symbolPen=None, name="validation")
        score = self.score_plot.getPlotItem()
        score.setYRange(0.0, 1.0, padding=0.05)  # a score of 1.0 keeps its whole symbol
        score.addLegend(offset=(-8, -8), labelTextSize="8pt").setBrush(pg.mkBrush(255, 255, 255, 210))
        self.score_curves: dict[str, pg.PlotDataItem] = {}
        self.best_marker = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush(RED), pen=None)
        self.best_text = pg.TextItem("", color=RED, anchor=(1.0, 1.1))  # ends at the star: never past the last epoch
        score.addItem(self.best_marker)
        score.addItem(self.best_text)
        self.lr_curve = self.lr_plot.getPlotItem().plot([], [], pen=pg.mkPen(GREEN, width=2))
        # The LR of epochs replayed from metrics.csv (a past run, or before a resume), as points: one epoch alone
        # is a single point, which a line cannot show.
        self.lr_points = self.lr_plot.getPlotItem().plot([], [], pen=None, symbol="o", symbolSize=6,
                                                         symbolBrush=GREEN, symbolPen=None)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 0, 0, 1, 2)
        layout.addWidget(self.score_plot, 1, 0)
        layout.addWidget(self.lr_plot, 1, 1)
        layout.setRowStretch(0, 3)
        layout.setRowStretch(1, 2)
        self.task = ""
        self.clear("gender")

    def clear(self, task: str) -> None:
        """Empty every curve; the score curves are the task's (balanced accuracy or AUC and accuracy)."""
        self.batch_x: list[float] = []
        self.batch_loss: list[float] = []
        self.batch_smooth: list[float] = []
        self.batch_lr: list[float] = []
        self.epochs: list[dict] = []
        if task != self.task:
            item = self.score_plot.getPlotItem()
            for curve in self.score_curves.values():
                item.removeItem(curve)
                item.legend.removeItem(curve)
            self.score_curves = {key: item.plot([], [], pen=pg.mkPen(color, width=2), symbol="o", symbolSize=7,
                                                symbolBrush=color, symbolPen=None, name=name)
                                 for key, name, color in SCORES[task]}
            self.task = task
        for curve in (self.batch_curve, self.smooth_curve, self.train_curve, self.val_curve, self.lr_curve,
                      self.lr_points, *self.score_curves.values()):
            curve.setData([], [])
        self.best_marker.setData([], [])
        self.best_text.setText("")

    def set_epochs(self, first: int, last: int) -> None:
        """Fix the x axes to the run's epochs, so points fill the charts from left to right as they come."""
        for plot in (self.loss_plot, self.score_plot, self.lr_plot):  # padding: the last epoch's symbols stay whole
            plot.getPlotItem().setXRange(first - 1, last, padding=EDGE)

    def add_batches(self, infos: list[dict]) -> None:
        for info in infos:
            self.batch_x.append(info["epoch"] - 1 + info["batch"] / max(info["batches"], 1))
            self.batch_loss.append(info["loss"])
            self.batch_smooth.append(info["smoothed_loss"])
            self.batch_lr.append(info["lr"])
        self.batch_curve.setData(self.batch_x, self.batch_loss)
        self.smooth_curve.setData(self.batch_x, self.batch_smooth)
        self._show_lr()

    def _show_lr(self) -> None:
        """Per-batch LR; epochs shown without batches (a past run, or the part before a resume) plot the LR
        that metrics.csv kept for them, at their end."""
        first_batch = self.batch_x[0] if self.batch_x else float("inf")
        replayed = [e for e in self.epochs if e.get("lr") is not None and float(e["epoch"]) <= first_batch]
        xs, ys = [float(e["epoch"]) for e in replayed], [float(e["lr"]) for e in replayed]
        self.lr_curve.setData(xs + self.batch_x, ys + self.batch_lr)
        self.lr_points.setData(xs, ys)

    def add_epoch(self, info: dict, best: dict | None) -> None:
        """One epoch's points; `best` is the best epoch so far as the engine counts it
        (training.selection.best_epoch)."""
        self.epochs.append(info)
        xs = [float(e["epoch"]) for e in self.epochs]
        self.train_curve.setData(xs, [e["train_loss"] for e in self.epochs])
        self.val_curve.setData(xs, [e.get("val_loss", float("nan")) for e in self.epochs])
        for key, curve in self.score_curves.items():
            curve.setData(xs, [e.get(key, float("nan")) for e in self.epochs])
        if not self.batch_x:
            self._show_lr()
        selection = info.get("selection") or SCORES[self.task][0][0]
        if best is not None and selection in best:
            self.best_marker.setData([float(best["epoch"])], [best[selection]])
            self.best_text.setText(f"best {best[selection]:.3f}")
            self.best_text.setPos(float(best["epoch"]), best[selection])

    def batch_points(self) -> int:
        return len(self.batch_curve.getData()[0] if self.batch_curve.getData()[0] is not None else [])

    def epoch_points(self) -> int:
        xs = self.train_curve.getData()[0]
        return 0 if xs is None else len(xs)

    def save_png(self, path) -> bool:
        return self.grab().save(str(path), "PNG")
