"""What the Models page says about a checkpoint: its metadata as rich text, with the matcher's error rates at
its threshold and the gender model's per-class figures and calibration (Qt-free)."""

from __future__ import annotations

import html

from faceapp.core.model_store import ModelEntry
from training.calibration import valid_level
from training.error_rates import ScoreHistograms, one_in
from training.framing import FramingError, as_framing
from training.metrics import class_gaps


def _error_rates(histograms, threshold: float) -> str:
    rates = ScoreHistograms.from_dict(histograms)
    if rates is None:
        return "not stored with this model"
    far, frr = rates.false_match_rate(threshold), rates.false_non_match_rate(threshold)
    return (f"at the threshold, strangers accepted {one_in(far)} ({100 * far:.2f} %), same person rejected "
            f"{100 * frr:.1f} % ({rates.impostor_pairs:,} impostor and {rates.genuine_pairs:,} genuine "
            "validation pairs)")


def _per_class(metrics: dict) -> str:
    """Each class's recall and precision side by side, and the gap between the classes."""
    # `where` is read after the loop, which breaks at the first split that has per-class figures
    for key, where in (("test_per_class", "held-out test set"), ("val_per_class", "validation split")):  # noqa: B007
        per_class = metrics.get(key)
        if isinstance(per_class, dict) and per_class:
            break
    else:
        recalls = {k[len("val_recall_"):]: v for k, v in metrics.items() if k.startswith("val_recall_")}
        if not recalls:
            return "not stored with this model"
        return " · ".join(f"{name} recall {v:.1%}" for name, v in recalls.items()) + " (validation split)"
    parts = [f"{name} recall {st['recall']:.1%}, precision {st['precision']:.1%}" for name, st in per_class.items()]
    gaps = class_gaps(per_class)
    if gaps:
        parts.append(f"gap {100 * gaps['recall']['gap']:.1f} points in recall, "
                     f"{100 * gaps['precision']['gap']:.1f} in precision")
    return " · ".join(parts) + f" ({where})"


def _calibration(summary: dict) -> str:
    """Whether the confidences are calibrated, how well, and the suggested "uncertain below" level."""
    temperature = summary.get("temperature")
    calibration = (summary.get("metrics") or {}).get("val_calibration")
    if not isinstance(temperature, float) or not isinstance(calibration, dict):
        return "not calibrated: confidences are as trained"
    text = (f"calibrated (temperature {temperature:.2f}); on validation photos the expected calibration error "
            f"went from {calibration['before']['ece']:.3f} to {calibration['after']['ece']:.3f}")
    level = valid_level(summary.get("uncertain_below"))
    return text + (f"; suggests 'uncertain below' {level:.0%}" if level is not None else "")


def _threshold(threshold: float, rule) -> str:
    """The matcher's threshold, and how it was chosen when an export re-set it at a false-match rate."""
    try:
        rate, accurate = float(rule["false_match_rate"]), float(rule["most_accurate_on_validation_pairs"])
    except (TypeError, KeyError, ValueError):  # no rule (the threshold training picked) or an unreadable one
        return f"{threshold:.3f}"
    return (f"{threshold:.3f}, set where {100 * rate:.2f} % of strangers are accepted on validation pairs "
            f"(the most accurate there: {accurate:.3f})")


def describe_entry(entry: ModelEntry) -> str:
    """Rich text with the checkpoint's metadata (or the reason it cannot be used)."""
    if entry.summary is None:
        reason = html.escape(entry.error or "")
        return f"<b>{html.escape(entry.name)}</b><br><span style='color:#c62828'>{reason}</span>"
    s = entry.summary
    rows = [("Architecture", s.get("arch")), ("Classes", ", ".join(s.get("classes") or [])),
            ("Input size", f"{s.get('input_size')} px")]
    if s.get("task") == "matcher":
        threshold = float(s.get("threshold") or 0)
        rows.append(("Threshold", _threshold(threshold, s.get("threshold_rule"))))
        rows.append(("Error rates", _error_rates(s.get("score_histograms"), threshold)))
        rows.append(("Embedding", s.get("embedding_dim")))
    metrics = s.get("metrics") or {}
    if s.get("task") == "gender":
        rows.append(("Per class", _per_class(metrics)))
        rows.append(("Confidence", _calibration(s)))
    scalars = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float, str))]
    shown = [f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in scalars[:6]]
    rows += [("Metrics", ", ".join(shown) or "—"), ("Trained", s.get("created") or "unknown"),
             ("Epochs", s.get("epochs_trained") or s.get("epoch")), ("Data", s.get("train_data") or "not recorded"),
             ("Framing", _framing(s.get("framing"))),
             ("Versions", ", ".join(f"{k} {v}" for k, v in (s.get("versions") or {}).items()) or "—"),
             ("File", str(entry.path))]
    body = "".join(f"<tr><td style='color:gray;padding-right:8px'>{k}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    state = " — <b style='color:#2e7d32'>active</b>" if entry.active else ""
    return f"<b>{html.escape(entry.name)}</b>{state}<table>{body}</table>"


def _framing(framing) -> str:
    """How the model's faces are found and cropped, in words ("BlazeFace, eyes aligned, frame scale 0.464")."""
    if not isinstance(framing, dict):
        return "default (Haar face box, LFW framing)"
    try:
        return as_framing(framing).describe()
    except FramingError as exc:
        return f"unreadable ({exc})"
