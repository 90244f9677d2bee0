"""Scores for gender classification and face verification, returned as plain Python types."""

from __future__ import annotations

import numpy as np


def _skm():
    """sklearn.metrics, imported on first use: with scipy it is ~0.9 s of the app's start-up otherwise."""
    from sklearn import metrics

    return metrics


def _as_1d(values, dtype=None) -> np.ndarray:
    return np.asarray(values, dtype=dtype).reshape(-1)


def _clean_pairs(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels (0/1) and float scores with NaN/inf scores dropped (a broken pair must not crash a report)."""
    y = _as_1d(labels).astype(int)
    s = _as_1d(scores, float)
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    keep = np.isfinite(s)
    return y[keep], s[keep]


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean per-class recall over the classes present in y_true (nan for empty input)."""
    t, p = _as_1d(y_true), _as_1d(y_pred)
    if t.size == 0:
        return float("nan")
    recalls = [np.mean(p[t == c] == c) for c in np.unique(t)]
    return float(np.mean(recalls))


def classification_metrics(y_true, y_pred, class_names) -> dict:
    """Accuracy, balanced accuracy, per-class precision/recall/F1, confusion matrix (rows = true) and report.

    Labels are integer indices into class_names.
    """
    t, p = _as_1d(y_true).astype(int), _as_1d(y_pred).astype(int)
    names = [str(n) for n in class_names]
    idx = list(range(len(names)))
    precision, recall, f1, support = _skm().precision_recall_fscore_support(
        t, p, labels=idx, zero_division=0
    )
    return {
        "accuracy": float(np.mean(t == p)) if t.size else float("nan"),
        "balanced_accuracy": balanced_accuracy(t, p),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(names)
        },
        "confusion_matrix": _skm().confusion_matrix(t, p, labels=idx).tolist(),
        "report_text": _skm().classification_report(
            t, p, labels=idx, target_names=names, zero_division=0
        ),
    }


def class_gaps(per_class: dict) -> dict:
    """The spread between groups: for recall and precision, the best and worst class and the gap between
    them (a model about people is judged by its worst group, not by its average)."""
    out = {}
    for key in ("recall", "precision"):
        values = {name: float(stats[key]) for name, stats in per_class.items() if key in stats}
        if len(values) >= 2:
            worst, best = min(values, key=values.get), max(values, key=values.get)
            out[key] = {"worst": worst, "best": best, "gap": values[best] - values[worst]}
    return out


def per_class_table(per_class: dict) -> str:
    """Recall and precision of each class side by side, then the gap between the best and worst class."""
    names = list(per_class)
    width = max([len("gap (points)")] + [len(n) for n in names])
    lines = [f"{'':<{width}}  {'recall':>7}  {'precision':>9}  {'images':>6}"]
    for name in names:
        s = per_class[name]
        lines.append(f"{name:<{width}}  {s['recall']:>7.2%}  {s['precision']:>9.2%}  {s.get('support', 0):>6,}")
    gaps = class_gaps(per_class)
    if gaps:
        lines.append(f"{'gap (points)':<{width}}  {100 * gaps['recall']['gap']:>7.1f}  "
                     f"{100 * gaps['precision']['gap']:>9.1f}")
    return "\n".join(lines)


# ---- verification: labels 1 = same person, scores higher = more alike ----


def _both_classes(y: np.ndarray) -> bool:
    return bool(np.any(y == 1) and np.any(y == 0))


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve; nan when the pairs hold only one class."""
    y, s = _clean_pairs(labels, scores)
    if not _both_classes(y):
        return float("nan")
    return float(_skm().roc_auc_score(y, s))


def roc_curve(labels, scores) -> tuple[list[float], list[float], list[float]]:
    """(fpr, tpr, thresholds) as lists; the first threshold is just above the top score (not inf)."""
    y, s = _clean_pairs(labels, scores)
    if not _both_classes(y):
        return [], [], []
    fpr, tpr, thr = _skm().roc_curve(y, s)
    thr = np.where(np.isinf(thr), np.nextafter(s.max(), np.inf), thr)
    return fpr.tolist(), tpr.tolist(), thr.tolist()


def roc_points(labels, scores, threshold: float, max_points: int = 200) -> dict:
    """The ROC curve thinned to at most `max_points` (what a chart needs; plain lists for a checkpoint)
    and the operating point at `threshold` (false and true accept rates)."""
    fpr, tpr, _ = roc_curve(labels, scores)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = [fpr[i] for i in keep], [tpr[i] for i in keep]
    y, s = _clean_pairs(labels, scores)
    same, different = s[y == 1], s[y == 0]
    point = ([float(np.mean(different >= threshold)), float(np.mean(same >= threshold))]
             if same.size and different.size else None)
    return {"far": [float(v) for v in fpr], "tar": [float(v) for v in tpr], "at_threshold": point}


def tar_at_far(labels, scores, far: float = 0.01) -> float:
    """True accept rate at the strictest-needed threshold whose false accept rate is <= far (nan if undefined)."""
    y, s = _clean_pairs(labels, scores)
    if not _both_classes(y):
        return float("nan")
    fpr, tpr, _ = _skm().roc_curve(y, s, drop_intermediate=False)
    ok = fpr <= far + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def eer(labels, scores) -> tuple[float, float]:
    """Equal error rate and its threshold: where false accept and false reject rates meet (nan, nan if undefined)."""
    y, s = _clean_pairs(labels, scores)
    if not _both_classes(y):
        return float("nan"), float("nan")
    fpr, tpr, thr = _skm().roc_curve(y, s, drop_intermediate=False)
    fnr = 1.0 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    threshold = float(np.nextafter(s.max(), np.inf)) if np.isinf(thr[i]) else float(thr[i])
    return float((fpr[i] + fnr[i]) / 2.0), threshold


def best_threshold(labels, scores) -> float:
    """Threshold (predict same when score >= threshold) that maximises accuracy.

    Candidates are the midpoints of the gaps between sorted distinct scores, plus one just below the
    lowest and one just above the highest score, so the chosen value sits in the middle of its gap
    rather than on a training score. Among tied best candidates the middle one is taken. Returns 0.5
    when there are no usable scores.
    """
    y, s = _clean_pairs(labels, scores)
    if s.size == 0:
        return 0.5
    values, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse, weights=(y == 1), minlength=values.size)
    neg = np.bincount(inverse, weights=(y != 1), minlength=values.size)
    # Candidate k predicts "same" for values[k:]; k = 0..len(values).
    neg_below = np.concatenate([[0.0], np.cumsum(neg)])
    pos_at_or_above = pos.sum() - np.concatenate([[0.0], np.cumsum(pos)])
    correct = neg_below + pos_at_or_above
    best = np.flatnonzero(correct == correct.max())
    k = int(best[len(best) // 2])
    span = float(values[-1] - values[0]) or 1.0
    eps = 1e-6 * span
    if k == 0:
        return float(values[0] - eps)
    if k == values.size:
        return float(values[-1] + eps)
    return float((values[k - 1] + values[k]) / 2.0)


def verification_metrics(labels, scores, threshold: float) -> dict:
    """Pair metrics at a threshold plus threshold-free ones (roc_auc, tar_at_far_1pct, eer)."""
    y, s = _clean_pairs(labels, scores)
    pred = (s >= threshold).astype(int)
    n_pos, n_neg = int(np.sum(y == 1)), int(np.sum(y == 0))
    eer_value, eer_threshold = eer(y, s)
    return {
        "accuracy": float(np.mean(pred == y)) if y.size else float("nan"),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "threshold": float(threshold),
        "tar": float(np.sum((pred == 1) & (y == 1)) / n_pos) if n_pos else float("nan"),
        "far": float(np.sum((pred == 1) & (y == 0)) / n_neg) if n_neg else float("nan"),
        "roc_auc": roc_auc(y, s),
        "tar_at_far_1pct": tar_at_far(y, s, 0.01),
        "eer": eer_value,
        "eer_threshold": eer_threshold,
        "n_pairs": int(y.size),
        "n_same": n_pos,
        "n_different": n_neg,
    }


def nearest_is_same(embeddings, identities) -> float:
    """Share of the faces with another face of their person among `embeddings` whose nearest other face (by
    cosine) is one of them: rank 1 of a search among everyone else's faces. NaN when no one has two faces."""
    e = np.asarray(embeddings, dtype=np.float64)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    ids = np.asarray(identities)
    same = ids[:, None] == ids[None, :]
    probes = np.flatnonzero(same.sum(1) > 1)
    if len(probes) == 0:
        return float("nan")
    similarity = e[probes] @ e.T
    similarity[np.arange(len(probes)), probes] = -np.inf
    return float((ids[similarity.argmax(1)] == ids[probes]).mean())
