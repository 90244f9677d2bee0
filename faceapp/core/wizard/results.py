"""What the Results page shows, computed from a run's best checkpoint (Qt-free).

Gender: the held-out test report that `fit` stored in best.pt (a `val/` folder), else the same report on the
validation split, recomputed. Matcher: the ROC curve of the best model on its validation pairs and the
per-condition table, both stored by `fit`'s final report (runs made before the curve was stored: the same
pairs rebuilt from the run's config and seed and scored again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.config import TrainConfig
from training.device import resolve_device
from training.metrics import classification_metrics, per_class_table, roc_curve
from training.tasks import SETUPS


@dataclass
class RunResults:
    task: str
    best_path: Path
    epoch: int
    metrics: dict  # the best epoch's metrics as stored in best.pt
    source: str = ""  # which images the report/ROC is about
    # gender
    classes: list[str] = field(default_factory=list)
    report_text: str = ""
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted
    # matcher
    threshold: float = 0.5
    roc: tuple[list, list] = ((), ())  # (false accept rates, true accept rates)
    operating_point: tuple[float, float] | None = None  # (far, tar) at the threshold
    per_condition: dict = field(default_factory=dict)  # condition -> {accuracy, roc_auc, pairs}
    note: str = ""  # what could not be shown, and why


def _setup(ckpt: dict, data, stop):
    """The run's task setup (same split and validation pairs as in training) holding the best weights."""
    config = TrainConfig.from_dict({**ckpt.get("config", {}), "start": "none", "resume": ""})
    device = resolve_device(config.device)
    setup = SETUPS[ckpt["task"]](data, config, device, lambda message: None)
    setup.model.load_state_dict(model_from_checkpoint(ckpt).state_dict())
    setup.model.to(device)
    return setup


def load_results(best_path, data: list[str] | None = None, stop=None) -> RunResults:
    """Read best.pt; where the stored metrics are not enough, rescore with `data` (the run's sources)."""
    import threading

    stop = stop or threading.Event()
    ckpt = load_checkpoint(best_path)
    metrics = dict(ckpt.get("metrics") or {})
    out = RunResults(ckpt["task"], Path(best_path), int(ckpt.get("epoch") or 0), metrics,
                     classes=list(ckpt.get("classes") or []), threshold=float(ckpt.get("threshold") or 0.5))
    if out.task == "gender":
        _gender(out, ckpt, data, stop)
    else:
        _matcher(out, ckpt, data, stop)
    return out


def _gender(out: RunResults, ckpt: dict, data, stop) -> None:
    m = out.metrics
    if m.get("test_report"):
        out.source = "held-out test set (the val/ folder)"
        out.confusion = m.get("test_confusion_matrix") or []
        out.report_text = gender_report(m["test_report"], m.get("test_per_class"), m.get("test_calibration"),
                                        ckpt.get("uncertain_below"), m)
        return
    if not data:
        out.note = "The data folder of this run is unknown, so only the validation scores below are available."
        return
    setup = _setup(ckpt, data, stop)
    y_true, y_pred, _ = setup.predict(setup.val_set, stop)
    scores = classification_metrics(y_true, y_pred, setup.classes)
    out.source = f"validation split ({len(y_true):,} images; no val/ folder to hold out a test set)"
    out.confusion = scores["confusion_matrix"]
    out.report_text = gender_report(scores["report_text"], scores["per_class"], m.get("val_calibration"),
                                    ckpt.get("uncertain_below"), m)


def gender_report(report_text: str, per_class: dict | None, calibration: dict | None, level, metrics: dict) -> str:
    """The classification report, then each class's recall and precision side by side with the gap
    between the classes, then what calibration did to the confidences on the same images."""
    parts = [report_text.rstrip()]
    if per_class:
        parts.append("Per class (the model is judged by its worst class):\n" + per_class_table(per_class))
    if calibration:
        before, after = calibration["before"]["ece"], calibration["after"]["ece"]
        line = (f"Confidences calibrated with temperature {calibration['temperature']:.2f} (fitted on the "
                f"validation split): expected calibration error {before:.3f} before, {after:.3f} after.")
        flagged, caught = metrics.get("val_uncertain_flagged"), metrics.get("val_uncertain_caught")
        if isinstance(level, float) and isinstance(flagged, float) and isinstance(caught, float):
            line += (f" Suggested 'uncertain below' {level:.0%}: on validation photos it flags {flagged:.1%} "
                     f"of them and catches {caught:.1%} of the mistakes.")
        parts.append(line)
    return "\n\n".join(parts)


def _matcher(out: RunResults, ckpt: dict, data, stop) -> None:
    out.per_condition = dict(out.metrics.get("val_per_condition") or {})
    stored = out.metrics.get("val_roc")
    if isinstance(stored, dict) and stored.get("far"):  # the curve `fit` drew on its final report
        out.roc = (stored["far"], stored["tar"])
        point = stored.get("at_threshold")
        out.operating_point = (float(point[0]), float(point[1])) if point else None
        calibrated = ", and the match probabilities calibrated on them" if out.metrics.get("val_calibration") else ""
        out.source = f"validation pairs (people held out from training; the threshold was chosen on them{calibrated})"
        return
    if not data:  # a run made before the curve was stored: score its validation pairs again
        out.note = "The data folder of this run is unknown, so the ROC curve cannot be drawn."
        return
    setup = _setup(ckpt, data, stop)
    labels, scores = setup.score_pairs(setup.val_pairs, stop)
    fpr, tpr, _ = roc_curve(labels, scores)
    out.roc = (fpr, tpr)
    same, different = scores[labels == 1], scores[labels == 0]
    if same.size and different.size:
        out.operating_point = (float(np.mean(different >= out.threshold)), float(np.mean(same >= out.threshold)))
    out.source = (f"validation pairs ({len(labels):,} pairs of people held out from training; "
                  "the threshold was chosen on them)")
