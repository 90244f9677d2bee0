"""Scoring a trained model on a data set: shared by `python -m training evaluate` and the benchmarks."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from multiprocessing import Pool

import numpy as np

from .calibration import FALLBACK_UNCERTAIN_BELOW, expected_calibration_error, flag_rates, reliability_bins
from .data.datasets import face_cropper, load_probe
from .data.gender import Item
from .data.pairs import Pair
from .imaging import ImageLoadError, load_image
from .metrics import classification_metrics, verification_metrics


def _chunks(seq, size):
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def model_cropper(model, crop_faces: bool = True):
    """The face crop a checkpoint was trained with (its stored framing), as `image -> image`, or None."""
    if not crop_faces:
        return None
    return face_cropper(True, getattr(model, "framing", None) or {})


def evaluate_gender(classifier, items: list[Item], batch_size: int = 64, transform: Callable | None = None,
                    progress: Callable[[int], None] | None = None, crop_faces: bool = True) -> dict:
    """Classification metrics of `classifier` on labelled items, through the app's face crop.

    `transform(image)` runs first (e.g. a distortion). Unreadable files are listed under `skipped`."""
    crop = model_cropper(classifier, crop_faces)
    y_true, y_pred, confidence, skipped = [], [], [], []
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
            image = transform(image) if transform else image
            images.append(crop(image) if crop else image)
            labels.append(index[item.label])
        if images:
            predictions = classifier.predict(images, batch_size=batch_size)
            y_pred += [index[p.label] for p in predictions]
            confidence += [p.probability for p in predictions]
            y_true += labels
        if progress:
            progress(len(chunk))
    metrics = classification_metrics(y_true, y_pred, classifier.classes)
    metrics["calibration"] = confidence_report(confidence, np.array(y_true) == np.array(y_pred),
                                               getattr(classifier, "uncertain_below", None))
    metrics["skipped"] = skipped
    metrics["n_images"] = len(y_true)
    return metrics


def confidence_report(confidence, correct, uncertain_below: float | None = None) -> dict:
    """How far the shown confidences are from the accuracy they claim (expected calibration error and
    reliability bins), and what the "uncertain below" level flags and catches."""
    level = uncertain_below if uncertain_below is not None else FALLBACK_UNCERTAIN_BELOW
    caught, flagged = flag_rates(confidence, correct, level)
    return {"ece": expected_calibration_error(confidence, correct), "bins": reliability_bins(confidence, correct),
            "mean_confidence": float(np.mean(confidence)) if len(confidence) else float("nan"),
            "uncertain_below": level, "errors_caught": caught, "images_flagged": flagged}


def _identity(image):
    return image


def _probe_job(args):
    pair, crop, look = args
    try:
        image = load_probe(pair)
        return crop(look(image, seed=pair.seed) if look else image), None
    except ImageLoadError as exc:
        return None, exc.reason


def pair_scores(matcher, pairs: list[Pair], batch_size: int = 64,
                progress: Callable[[int], None] | None = None,
                crop_faces: bool = True, processes: int = 1,
                ref_cache: dict | None = None,
                probe_look: Callable | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """(labels, probabilities, skipped) for pairs, through the app's face crop (after the probe's
    distortion); each distinct reference is embedded once, and not again when the same `ref_cache`
    dict is passed for several conditions. `processes` > 1 prepares probes in parallel.
    `probe_look(image, seed=pair.seed)`, a module-level function, changes each probe after its
    distortion (e.g. a benchmark's grayscale); references are never changed."""
    crop = model_cropper(matcher, crop_faces) or _identity
    ref_emb = ref_cache if ref_cache is not None else {}
    refs = sorted({p.reference for p in pairs} - set(ref_emb))
    skipped = []
    for chunk in _chunks(refs, batch_size):
        ok, images = [], []
        for path in chunk:
            try:
                images.append(crop(load_image(path)))
                ok.append(path)
            except ImageLoadError as exc:
                skipped.append((path, exc.reason))
        if images:
            ref_emb.update(zip(ok, matcher.embed(images, batch_size=batch_size)))
    labels, scores = [], []
    with Pool(processes) if processes > 1 else nullcontext() as pool:  # closed even when scoring fails
        mapper = pool.imap if pool is not None else map
        for chunk in _chunks(pairs, batch_size):
            kept, probes = [], []
            scorable = [p for p in chunk if p.reference in ref_emb]
            for pair, (image, reason) in zip(scorable, mapper(_probe_job, [(p, crop, probe_look) for p in scorable])):
                if image is None:
                    skipped.append((pair.probe, reason))
                else:
                    probes.append(image)
                    kept.append(pair)
            if probes:
                e_probe = matcher.embed(probes, batch_size=batch_size)
                e_ref = np.stack([ref_emb[p.reference] for p in kept])
                scores += list(matcher.score_embeddings(e_ref, e_probe))
                labels += [p.same for p in kept]
            if progress:
                progress(len(chunk))  # every pair counts, also those whose reference could not be read
    return np.array(labels, dtype=int), np.array(scores, dtype=float), skipped


def evaluate_pairs(matcher, pairs: list[Pair], threshold: float | None = None, batch_size: int = 64,
                   progress=None, crop_faces: bool = True, processes: int = 1, ref_cache: dict | None = None,
                   probe_look: Callable | None = None) -> dict:
    """Verification metrics at the model's stored threshold (or the one given); `probe_look` as in `pair_scores`."""
    labels, scores, skipped = pair_scores(matcher, pairs, batch_size, progress, crop_faces, processes, ref_cache,
                                          probe_look)
    out = verification_metrics(labels, scores, matcher.threshold if threshold is None else threshold)
    out["skipped"] = skipped
    return out
