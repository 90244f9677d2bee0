"""Scoring a trained model on a data set: shared by `python -m training evaluate` and the benchmarks."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .data.datasets import load_probe
from .data.gender import Item
from .data.pairs import Pair
from .imaging import ImageLoadError, load_image
from .metrics import classification_metrics, verification_metrics


def _chunks(seq, size):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def evaluate_gender(classifier, items: list[Item], batch_size: int = 64, transform: Callable | None = None,
                    progress: Callable[[int], None] | None = None) -> dict:
    """Classification metrics of `classifier` on labelled items; `transform(image)` runs before predicting
    (e.g. a distortion). Unreadable files are listed under `skipped`."""
    y_true, y_pred, skipped = [], [], []
    index = {c: i for i, c in enumerate(classifier.classes)}
    unknown = sorted({it.label for it in items} - set(index))
    if unknown:
        raise ValueError(f"the data has classes the model does not know: {', '.join(unknown)}")
    for chunk in _chunks(items, batch_size):
        images, labels = [], []
        for item in chunk:
            try:
                image = load_image(item.path)
            except ImageLoadError as exc:
                skipped.append((item.path, exc.reason))
                continue
            images.append(transform(image) if transform else image)
            labels.append(index[item.label])
        if images:
            y_pred += [index[p.label] for p in classifier.predict(images, batch_size=batch_size)]
            y_true += labels
        if progress:
            progress(len(chunk))
    metrics = classification_metrics(y_true, y_pred, classifier.classes)
    metrics["skipped"] = skipped
    metrics["n_images"] = len(y_true)
    return metrics


def pair_scores(matcher, pairs: list[Pair], batch_size: int = 64,
                progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(labels, probabilities, skipped) for pairs; each distinct reference is embedded once."""
    refs = sorted({p.reference for p in pairs})
    ref_emb, skipped = {}, []
    for chunk in _chunks(refs, batch_size):
        ok, images = [], []
        for path in chunk:
            try:
                images.append(load_image(path))
                ok.append(path)
            except ImageLoadError as exc:
                skipped.append((path, exc.reason))
        if images:
            ref_emb.update(zip(ok, matcher.embed(images, batch_size=batch_size)))
    labels, scores = [], []
    for chunk in _chunks(pairs, batch_size):
        kept, probes = [], []
        for pair in chunk:
            if pair.reference not in ref_emb:
                continue
            try:
                probes.append(load_probe(pair))
                kept.append(pair)
            except ImageLoadError as exc:
                skipped.append((pair.probe, exc.reason))
        if probes:
            e_probe = matcher.embed(probes, batch_size=batch_size)
            e_ref = np.stack([ref_emb[p.reference] for p in kept])
            scores += list(matcher.score_embeddings(e_ref, e_probe))
            labels += [p.same for p in kept]
        if progress:
            progress(len(chunk))
    return np.array(labels, dtype=int), np.array(scores, dtype=float), skipped


def evaluate_pairs(matcher, pairs: list[Pair], threshold: float | None = None, batch_size: int = 64,
                   progress=None) -> dict:
    """Verification metrics at the model's stored threshold (or the one given)."""
    labels, scores, skipped = pair_scores(matcher, pairs, batch_size, progress)
    out = verification_metrics(labels, scores, matcher.threshold if threshold is None else threshold)
    out["skipped"] = skipped
    return out
