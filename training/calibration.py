"""Confidences that mean what they say: temperature scaling of a classifier's logits, the expected
calibration error, reliability bins, and the data-chosen "uncertain below" level.

A model trained with label smoothing and class weights is right more (or less) often than its top
probability says. Dividing every logit by one temperature T, fitted after training on held-out data by
minimising the negative log-likelihood, fixes most of that without changing any decision (the argmax
is the same for every T > 0) (Guo et al., "On Calibration of Modern Neural Networks", 2017).

Logits come as (V, N, C): V views of each of N images (the app averages the softmax of an image and its
mirror), so calibration fits exactly the probabilities the app shows.
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_BINS = 10
FALLBACK_UNCERTAIN_BELOW = 0.6  # for checkpoints made before calibration
_LOG_T_RANGE = (math.log(0.05), math.log(20.0))


def valid_temperature(value) -> float:
    """A checkpoint's calibration temperature, or 1.0 when absent or not a positive finite number."""
    return float(value) if isinstance(value, (int, float)) and 0 < value < float("inf") else 1.0


def valid_level(value) -> float | None:
    """A checkpoint's "uncertain below" level in (0, 1), or None when absent or out of range."""
    return float(value) if isinstance(value, (int, float)) and 0 < value < 1 else None


def probabilities(logits, temperature: float = 1.0) -> np.ndarray:
    """(N, C) class probabilities: the softmax of logits / T, averaged over the views."""
    z = np.asarray(logits, dtype=np.float64)
    z = z[None] if z.ndim == 2 else z
    z = z / float(temperature)
    z = z - z.max(axis=2, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=2, keepdims=True)
    return p.mean(axis=0)


def negative_log_likelihood(logits, labels, temperature: float = 1.0) -> float:
    """Mean -log p(true class) of the view-averaged probabilities."""
    p = probabilities(logits, temperature)
    labels = np.asarray(labels, dtype=int)
    if labels.size == 0:
        return float("nan")
    return float(-np.mean(np.log(np.clip(p[np.arange(labels.size), labels], 1e-12, 1.0))))


def fit_temperature(logits, labels, iterations: int = 60) -> float:
    """The T > 0 minimising the NLL of `labels` (golden-section search on log T over [0.05, 20]).

    The NLL is unimodal in log T for these probabilities, so a bracketed search finds the optimum without
    gradients; 60 steps narrow the bracket to ~1e-12 of its width. Returns 1.0 without labelled data."""
    labels = np.asarray(labels, dtype=int)
    if labels.size == 0:
        return 1.0
    lo, hi = _LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa = negative_log_likelihood(logits, labels, math.exp(a))
    fb = negative_log_likelihood(logits, labels, math.exp(b))
    for _ in range(iterations):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return float(math.exp((lo + hi) / 2))


def fit_platt(logits, labels, iterations: int = 100) -> tuple[float, float]:
    """(a, c) minimising the binary cross-entropy of sigmoid(a * logit + c) against 0/1 `labels` (Platt
    scaling), by Newton's method with step halving on the two parameters (the loss is convex in them). For
    a > 0 the map keeps the order of the scores, so a threshold moved with it makes every decision as before;
    scores that rank the labels backwards (a <= 0) are refused. (1.0, 0.0) unless both labels occur."""
    z = np.asarray(logits, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if z.size == 0 or y.min() == y.max():
        return 1.0, 0.0
    x = np.stack([z, np.ones_like(z)], axis=1)

    def loss(w):  # mean BCE, computed stably: log(1 + e^t) - y t
        t = x @ w
        return float(np.mean(np.logaddexp(0.0, t) - y * t))

    w = np.array([1.0, 0.0])
    current = loss(w)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -40, 40)))
        hessian = x.T @ (x * (p * (1 - p))[:, None]) / z.size + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, x.T @ (p - y) / z.size)
        for size in 0.5 ** np.arange(20):  # the Newton step, halved (down to 2^-19) until the loss does not rise
            candidate = w - size * step
            value = loss(candidate)
            if value <= current:
                break
        else:
            break
        w, current = candidate, value
        if np.abs(size * step).max() < 1e-10:
            break
    if w[0] <= 0:
        raise ValueError("these scores rank the pairs backwards (higher for fewer matches): no calibration keeps "
                         "their order")
    return float(w[0]), float(w[1])


def reliability_bins(confidences, correct, bins: int = DEFAULT_BINS) -> list[dict]:
    """Equal-width confidence bins over [0, 1]: for each non-empty one its range, image count, mean
    confidence and accuracy (the points of a reliability diagram)."""
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=bool).reshape(-1)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append({"low": b / bins, "high": (b + 1) / bins, "count": int(mask.sum()),
                        "confidence": float(conf[mask].mean()), "accuracy": float(hit[mask].mean())})
    return out


def expected_calibration_error(confidences, correct, bins: int = DEFAULT_BINS) -> float:
    """Σ over bins of (share of images) × |accuracy − mean confidence|; nan without images."""
    table = reliability_bins(confidences, correct, bins)
    total = sum(row["count"] for row in table)
    if not total:
        return float("nan")
    return float(sum(row["count"] / total * abs(row["accuracy"] - row["confidence"]) for row in table))


def flag_rates(confidences, correct, level: float) -> tuple[float, float]:
    """(share of the wrong answers, share of all images) whose confidence is below `level`: what an
    "uncertain below level" rule catches and what it costs."""
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    wrong = ~np.asarray(correct, dtype=bool).reshape(-1)
    if conf.size == 0:
        return float("nan"), float("nan")
    flagged = conf < level
    caught = float(flagged[wrong].mean()) if wrong.any() else float("nan")
    return caught, float(flagged.mean())


def choose_uncertain_level(confidences, correct, floor: float = 0.5, step: float = 0.01) -> float:
    """The "uncertain below" level that best separates wrong answers from right ones on held-out data:
    the level (on a 1 % grid above `floor`) maximising caught errors minus flagged right answers, both as
    shares (Youden's J of "confidence below the level" as a detector of errors). Ties go to the lower
    level, which flags fewer images. Returns `floor` when the data has no wrong answer."""
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=bool).reshape(-1)
    if conf.size == 0 or hit.all() or not hit.any():
        return float(floor)
    best_level, best_j = float(floor), -math.inf
    steps = round(1 / step)
    for k in range(math.ceil(round(floor * steps, 6)), steps + 1):
        level = k / steps
        flagged = conf < level
        j = flagged[~hit].mean() - flagged[hit].mean()
        if j > best_j + 1e-12:
            best_level, best_j = level, j
    return best_level


def calibration_report(logits, labels, temperature: float, bins: int = DEFAULT_BINS) -> dict:
    """ECE, NLL and reliability bins before (T = 1) and after scaling, as plain types."""
    labels = np.asarray(labels, dtype=int)
    out = {"temperature": float(temperature), "images": int(labels.size)}
    for name, t in (("before", 1.0), ("after", float(temperature))):
        p = probabilities(logits, t)
        conf, hit = p.max(axis=1), p.argmax(axis=1) == labels
        out[name] = {"ece": expected_calibration_error(conf, hit, bins),
                     "nll": negative_log_likelihood(logits, labels, t),
                     "mean_confidence": float(conf.mean()) if conf.size else float("nan"),
                     "accuracy": float(hit.mean()) if hit.size else float("nan"),
                     "bins": reliability_bins(conf, hit, bins)}
    return out
