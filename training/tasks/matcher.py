"""Matcher task: MobileNetV2 embeddings, pair BCE, optional cosine-margin identity loss, threshold pick."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import distributed
from ..calibration import fit_platt
from ..data import (
    DataError,
    Identity,
    check_identities,
    discover_identities,
    make_pairs,
    read_identity_list,
    split_identities,
)
from ..data.datasets import PairDataset, face_cropper
from ..data.teacher import TeacherEmbeddings
from ..metrics import best_threshold, roc_points, verification_metrics
from ..models import build_model
from ..selection import SELECTION
from ..transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform
from .base import TaskSetup, make_loader
from .losses import CosineMarginHead, distillation_loss

# Beyond this a head's logits hardly differ between pairs (a model that has learnt little): stretching them would
# make float32 rounding in the network reorder pairs. The bundled matcher's tied head needed 1.02.
MAX_CALIBRATION_SCALE = 100.0


def load_identity_sources(sources) -> list[Identity]:
    """Identity folders; a `.txt` source is a list of identity names to keep (e.g. a protocol split)."""
    names = None
    folders = []
    for source in sources:
        source = Path(source)
        if source.suffix.lower() == ".txt" and source.is_file():
            names = (names or set()) | read_identity_list(source)
        elif source.is_dir():
            folders.append(source)
        else:
            raise DataError(f"{source} is neither an identity folder nor a .txt list of identities")
    if not folders:
        raise DataError("no identity folder given (expected ROOT/<person>/*.jpg)")
    people = [p for folder in folders for p in discover_identities(folder, names)]
    check_identities(people, ", ".join(map(str, folders)))
    return people


class MatcherTask(TaskSetup):
    """What every way of training the matcher shares: the task, its selection metric and checkpoint fields."""

    task = "matcher"
    selection = SELECTION["matcher"]
    classes = ["different", "same"]

    def build_matcher(self, config):
        """The network the run trains, from `config.start`; its pair head tied with `config.tied_head`."""
        model = build_model("matcher", start=config.start, dropout=config.dropout,
                            embedding_dim=config.embedding_dim, freeze_backbone=config.freeze_backbone)
        return model.tie_head() if config.tied_head else model

    def checkpoint_meta(self, metrics: dict) -> dict:
        return {"classes": self.classes, "threshold": float(metrics.get("val_threshold", 0.5)),
                "embedding_dim": self.config.embedding_dim}

    def pair_logits(self, stop) -> tuple[np.ndarray, np.ndarray]:
        """(labels, match logits) of the validation pairs, embedded as the app embeds."""
        raise NotImplementedError

    def report_on(self, labels: np.ndarray, scores: np.ndarray) -> dict:
        """The final report from the validation pairs' labels and match probabilities."""
        raise NotImplementedError

    def final_report(self, stop) -> dict:
        """The best model's pair head calibrated on the validation pairs (`calibrate_head`), then its accuracy
        per probe condition there, at the threshold picked on the calibrated scores."""
        labels, logits = self.pair_logits(stop)
        if stop.is_set() or len(labels) != len(self.val_pairs):
            return {}
        logits, calibration = self.calibrate_head(labels, logits)
        report = self.report_on(labels, _sigmoid(logits))
        return {**report, **calibration} if report else {}

    def calibrate_head(self, labels: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, dict]:
        """Platt-scale the pair head on validation (labels, logits): every logit z becomes a * z + c, fitted
        so that the match probability means what it says (`calibration.fit_platt`). No decision moves (the
        threshold moves with the scores), but an uncalibrated head can leave the threshold near 0 or 1, where
        the app's "uncertain" band around it cuts one verdict off. Returns the calibrated logits and
        {"val_calibration": ...}; {} and the logits unchanged when the scores rank the pairs backwards or
        hardly differ."""
        try:
            scale, offset = fit_platt(logits, labels)
        except ValueError as error:
            self.log(f"pair head not calibrated: {error}")
            return logits, {}
        if scale > MAX_CALIBRATION_SCALE:
            self.log(f"pair head not calibrated: its scores hardly differ between pairs (it would take a scale of "
                     f"{scale:.0f}, which float32 rounding would turn into noise)")
            return logits, {}
        calibrated = scale * logits + offset
        self.model.rescale_head(scale, offset)
        before, after = _pair_loss(labels, logits), _pair_loss(labels, calibrated)
        self.log(f"pair head calibrated on {len(labels)} validation pairs: logits x {scale:.3f} {offset:+.3f}, "
                 f"loss {before:.4f} -> {after:.4f}")
        return calibrated, {"val_calibration": {"scale": scale, "offset": offset, "loss_before": before,
                                                "loss_after": after}}


class MatcherSetup(MatcherTask):
    """Pairs generated from identity folders each epoch, photos decoded, face-found and distorted on the fly."""

    def __init__(self, data, config, device, log):
        super().__init__(data, config, device, log)
        if config.balance_groups:
            raise DataError("--balance-groups draws photos from a face bank; pairs from identity folders "
                            "cannot use it (build a bank with python -m benchmarks.bank)")
        people = data if isinstance(data, list) and data and isinstance(data[0], Identity) \
            else load_identity_sources(data)
        self.train_people, self.val_people = split_identities(people, config.val_fraction, config.seed)
        size, mean, std = config.input_size, IMAGENET_MEAN, IMAGENET_STD
        self.train_tf = train_transform(size, mean, std)
        self.eval_tf = eval_transform(size, mean, std)
        self.prepare = face_cropper(config.crop_faces, self.framing)
        self.pair_options = dict(clean_probe_fraction=config.clean_probe_fraction,
                                 same_photo_fraction=config.same_photo_fraction,
                                 min_severity=config.min_severity, max_severity=config.max_severity)
        self.val_pairs = make_pairs(self.val_people, config.val_pairs, config.seed + 7919, **self.pair_options)
        self.model = self.build_matcher(config)
        self.id_head = None
        if config.identity_loss_weight > 0:
            self.id_head = CosineMarginHead(config.embedding_dim, len(self.train_people)).to(device)
        self.teacher = self._load_teacher(config.teacher)
        self.threshold = 0.5
        self.last_scores: tuple[np.ndarray, np.ndarray] | None = None

    def _load_teacher(self, path: str) -> TeacherEmbeddings | None:
        if not path:
            return None
        teacher = TeacherEmbeddings.load(path)
        if teacher.dim != self.config.embedding_dim:
            raise DataError(f"the teacher's embeddings have {teacher.dim} values but the matcher's have "
                            f"{self.config.embedding_dim}; pass --embedding-dim {teacher.dim}")
        coverage = teacher.coverage(img for p in self.train_people for img in p.images)
        if coverage == 0:
            raise DataError(f"the teacher file {path} has no vector for any training photo "
                            "(its keys are <identity>/<file name>)")
        self.log(f"teacher: {len(teacher.index)} embeddings, covering {coverage:.0%} of the training photos")
        return teacher

    def extra_modules(self):
        return {"identity_head": self.id_head} if self.id_head is not None else {}

    def description(self) -> str:
        n_train = sum(len(p.images) for p in self.train_people)
        premade = sum(len(v) for p in self.train_people for v in p.distorted.values())
        source = f"{premade} pre-made distorted copies plus generated distortions" if premade \
            else "distortions generated on the fly"
        teacher = f"; distilled from {Path(self.config.teacher).name}" if self.teacher is not None else ""
        return (f"matcher: {len(self.train_people)} training identities ({n_train} images), "
                f"{len(self.val_people)} validation identities ({len(self.val_pairs)} fixed pairs); "
                f"{self.config.pairs_per_epoch} new pairs per epoch, 1:1 same/different; {source}{teacher}")

    def train_loader(self, epoch: int):
        """The epoch's new pairs; under torchrun every rank generates the same list (same seed) and trains
        on its own share of it, so no pair is trained twice."""
        pairs = distributed.shard(make_pairs(self.train_people, self.config.pairs_per_epoch,
                                             self.config.seed * 1000 + epoch,
                                             with_identity=self.id_head is not None, **self.pair_options))
        dataset = PairDataset(pairs, self.train_tf, self.prepare, teacher=self.teacher)
        return make_loader(dataset, self.config.batch_size, self.workers,
                           self.config.seed + epoch, shuffle=True, drop_last=len(pairs) > self.config.batch_size,
                           pin_memory=self.pin)

    def loss(self, batch) -> torch.Tensor:
        ref, probe, same, ref_id, probe_id, *targets = (t.to(self.device, non_blocking=True) for t in batch)
        e1, e2 = self.model.embed(torch.cat([ref, probe])).split(len(ref))
        loss = F.binary_cross_entropy_with_logits(self.model.score_embeddings(e1, e2).float(), same)
        if self.id_head is not None:
            ids = torch.cat([ref_id, probe_id])
            loss = loss + self.config.identity_loss_weight * self.id_head(torch.cat([e1, e2]), ids)
        if targets:
            loss = loss + self.config.distill_weight * distillation_loss(torch.cat([e1, e2]), torch.cat(targets))
        return loss

    def score_pairs(self, pairs, stop) -> tuple[np.ndarray, np.ndarray]:
        """(labels, match probabilities) for pairs; rows whose images fail to load are left out."""
        labels, logits = self.pair_logits(stop, pairs)
        return labels, _sigmoid(logits)

    @torch.no_grad()
    def pair_logits(self, stop, pairs=None) -> tuple[np.ndarray, np.ndarray]:
        """(labels, match logits) for pairs (the validation pairs by default); rows whose images fail to load
        are left out."""
        pairs = self.val_pairs if pairs is None else pairs
        loader = make_loader(PairDataset(pairs, self.eval_tf, self.prepare), self.config.batch_size * 2,
                             self.workers, 0, pin_memory=self.pin)
        self.model.eval()
        labels, logits = [], []
        for batch in loader:
            if stop.is_set():
                break
            if batch is None:
                continue
            ref, probe, same = batch[0].to(self.device), batch[1].to(self.device), batch[2]
            # embedded as the app embeds (with the mirror view), so the threshold picked here is the app's
            logits += self.model(ref, probe, flip=True).float().cpu().tolist()
            labels += same.int().tolist()
        return np.array(labels), np.array(logits, dtype=np.float64)

    def evaluate(self, stop) -> dict:
        labels, scores = self.score_pairs(self.val_pairs, stop)
        if len(labels) == 0:
            return {"val_loss": float("nan"), self.selection: 0.0}
        self.last_scores = (labels, scores)
        return validation_metrics(labels, scores)

    def report_on(self, labels: np.ndarray, scores: np.ndarray) -> dict:
        """`final_report` from validation scores already made ({} unless every pair was scored)."""
        if len(labels) != len(self.val_pairs):
            return {}
        return per_condition_report(labels, scores, [p.condition for p in self.val_pairs])


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.as_tensor(logits)).numpy()


def _pair_loss(labels: np.ndarray, logits: np.ndarray) -> float:
    """Mean binary cross-entropy of match logits against 0/1 labels."""
    return float(np.mean(np.logaddexp(0.0, logits) - labels * logits))


def validation_metrics(labels: np.ndarray, scores: np.ndarray) -> dict:
    """The matcher's per-epoch validation figures: BCE loss, accuracy at the best threshold, AUC, TAR, EER."""
    p = np.clip(scores, 1e-6, 1 - 1e-6)
    loss = float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
    threshold = best_threshold(labels, scores)
    m = verification_metrics(labels, scores, threshold)
    return {"val_loss": loss, "val_accuracy": m["accuracy"], "val_auc": m["roc_auc"],
            "val_tar_at_far_1pct": m["tar_at_far_1pct"], "val_eer": m["eer"], "val_threshold": threshold}


def per_condition_report(labels: np.ndarray, scores: np.ndarray, conditions) -> dict:
    """Accuracy and AUC per probe condition at the best threshold over all pairs (the final report)."""
    threshold = best_threshold(labels, scores)
    conditions = np.asarray(conditions)
    table = {}
    for condition in sorted(set(conditions)):
        rows = conditions == condition
        m = verification_metrics(labels[rows], scores[rows], threshold)
        table[str(condition)] = {"accuracy": m["accuracy"], "roc_auc": m["roc_auc"], "pairs": int(rows.sum())}
    roc = verification_metrics(labels, scores, threshold)
    return {"val_threshold": threshold, "val_per_condition": table, "val_accuracy": roc["accuracy"],
            "val_auc": roc["roc_auc"], "val_roc": roc_points(labels, scores, threshold)}
