"""Gender task: ResNet18 classifier, balanced sampling + class weights + minority augmentation."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import WeightedRandomSampler

from .. import distributed
from ..calibration import (
    calibration_report,
    choose_uncertain_level,
    fit_temperature,
    flag_rates,
    negative_log_likelihood,
    probabilities,
)
from ..data import GenderData, group_split, load_gender_sources
from ..data.datasets import LabeledImageDataset, face_cropper, scan_images
from ..metrics import classification_metrics
from ..models import build_model
from ..selection import SELECTION
from ..transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform
from .base import TaskSetup, make_loader


class GenderSetup(TaskSetup):
    task = "gender"
    selection = SELECTION["gender"]

    def __init__(self, data, config, device, log):
        super().__init__(data, config, device, log)
        data = data if isinstance(data, GenderData) else load_gender_sources(data)
        self.data = data
        self.classes = list(data.classes)
        items = self._drop_unreadable(data.train)
        train_idx, val_idx = group_split([i.label for i in items], [i.group for i in items],
                                         config.val_fraction, config.seed)
        self.train_items = [items[i] for i in train_idx]
        self.val_items = [items[i] for i in val_idx]
        self.test_items = self._drop_unreadable(data.test)
        counts = np.array([sum(i.label == c for i in self.train_items) for c in self.classes], dtype=float)
        self.counts = counts
        # Sampler and loss each apply half of the rebalancing (inverse square root of the class
        # frequency), so together they correct the imbalance once instead of twice.
        half = (counts.sum() / np.maximum(counts, 1)) ** 0.5
        self.class_weights = torch.tensor(half / half.mean(), dtype=torch.float32)
        self.sample_weights = [float(half[self.classes.index(i.label)]) for i in self.train_items]
        self.minority = self.classes[int(np.argmin(counts))]
        size, mean, std = config.input_size, IMAGENET_MEAN, IMAGENET_STD
        self.prepare = face_cropper(config.crop_faces, self.framing)
        strong = train_transform(size, mean, std, strong=True) if config.minority_augmentation else None
        self.train_set = LabeledImageDataset(self.train_items, self.classes, train_transform(size, mean, std),
                                             strong, strong_labels=[self.minority], prepare=self.prepare,
                                             distort_prob=config.distort_prob)
        self.val_set = LabeledImageDataset(self.val_items, self.classes, eval_transform(size, mean, std),
                                           prepare=self.prepare)
        self.model = build_model("gender", start=config.start, dropout=config.dropout,
                                 num_classes=len(self.classes), freeze_backbone=config.freeze_backbone)
        self.criterion = nn.CrossEntropyLoss(weight=self.class_weights.to(device),
                                             label_smoothing=config.label_smoothing)

    def _drop_unreadable(self, items):
        bad = dict(scan_images([i.path for i in items]))
        for path, reason in bad.items():
            self.skipped.append((path, reason))
            self.log(f"skipped unreadable file {path}: {reason}")
        return [i for i in items if i.path not in bad]

    def description(self) -> str:
        counts = ", ".join(f"{int(n)} {c}" for c, n in zip(self.classes, self.counts))
        return (f"gender: train {counts}; validation {len(self.val_items)} images (held out by person); "
                f"test {len(self.test_items)}; {self._minority_note()}; "
                f"class weights {', '.join(f'{w:.2f}' for w in self.class_weights.tolist())}")

    def _minority_note(self) -> str:
        if self.config.minority_augmentation:
            return f"minority class '{self.minority}' gets wider crops and rotations"
        return "the same augmentation for every class"

    def train_loader(self, epoch: int):
        """The epoch's balanced draw; under torchrun every rank makes the same draw (same seed) and trains
        on its own share of it, so the balance holds across ranks and no draw is trained twice."""
        generator = torch.Generator().manual_seed(self.config.seed * 1000 + epoch)
        sampler = distributed.shard_sampler(WeightedRandomSampler(
            self.sample_weights, num_samples=len(self.train_items), replacement=True, generator=generator))
        return make_loader(self.train_set, self.config.batch_size, self.workers, self.config.seed + epoch,
                           sampler=sampler, drop_last=len(sampler) > self.config.batch_size,
                           pin_memory=self.pin)

    def loss(self, batch) -> torch.Tensor:
        images, labels = batch
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        return self.criterion(self.model(images), labels)

    @torch.no_grad()
    def view_logits(self, dataset, stop) -> tuple[np.ndarray, np.ndarray]:
        """(true labels (N,), logits (2, N, C) of each image and its mirror) over a dataset, as the app
        sees them; stops early (with what it has) when `stop` is set."""
        loader = make_loader(dataset, self.config.batch_size * 2, self.workers, 0, pin_memory=self.pin)
        self.model.eval()
        labels, logits = [], []
        for batch in loader:
            if stop.is_set():
                break
            if batch is None:
                continue
            images, y = batch
            logits.append(self.model.view_logits(images.to(self.device)).cpu().numpy())
            labels += y.tolist()
        if not logits:
            return np.zeros(0, int), np.zeros((2, 0, len(self.classes)), np.float32)
        return np.array(labels, dtype=int), np.concatenate(logits, axis=1)

    def predict(self, dataset, stop, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
        """(true labels, predicted labels, mean unweighted loss) over a dataset."""
        y_true, logits = self.view_logits(dataset, stop)
        if len(y_true) == 0:
            return y_true, y_true, float("nan")
        return (y_true, probabilities(logits, temperature).argmax(1),
                negative_log_likelihood(logits, y_true, temperature))

    def evaluate(self, stop) -> dict:
        y_true, y_pred, loss = self.predict(self.val_set, stop)
        if len(y_true) == 0:
            return {"val_loss": float("nan"), self.selection: 0.0}
        m = classification_metrics(y_true, y_pred, self.classes)
        out = {"val_loss": loss, "val_accuracy": m["accuracy"], "val_balanced_accuracy": m["balanced_accuracy"]}
        for name, stats in m["per_class"].items():
            out[f"val_recall_{name}"] = stats["recall"]
        return out

    def checkpoint_meta(self, metrics: dict) -> dict:
        return {"classes": self.classes, "threshold": 0.5}

    def final_report(self, stop) -> dict:
        """Calibration on the validation split (the temperature and "uncertain below" level go into the
        checkpoint), then the held-out test set, if any, scored with the calibrated probabilities."""
        report = self.calibrate(stop)
        if stop.is_set() or not self.test_items:
            return report
        test_set = LabeledImageDataset(self.test_items, self.classes,
                                       eval_transform(self.config.input_size, IMAGENET_MEAN, IMAGENET_STD),
                                       prepare=self.prepare)
        y_true, logits = self.view_logits(test_set, stop)
        if stop.is_set() or len(y_true) == 0:
            return report
        temperature = report.get("checkpoint_fields", {}).get("temperature", 1.0)
        y_pred = probabilities(logits, temperature).argmax(1)
        m = classification_metrics(y_true, y_pred, self.classes)
        calibration = calibration_report(logits, y_true, temperature)
        return {**report, "test_loss": negative_log_likelihood(logits, y_true, temperature),
                "test_accuracy": m["accuracy"], "test_balanced_accuracy": m["balanced_accuracy"],
                "test_per_class": m["per_class"], "test_confusion_matrix": m["confusion_matrix"],
                "test_report": m["report_text"], "test_ece": calibration["after"]["ece"],
                "test_ece_uncalibrated": calibration["before"]["ece"], "test_calibration": calibration}

    def calibrate(self, stop) -> dict:
        """Fit the temperature on the validation split and choose the "uncertain below" level there."""
        y_true, logits = self.view_logits(self.val_set, stop)
        if stop.is_set() or len(y_true) == 0:
            return {}
        temperature = fit_temperature(logits, y_true)
        calibration = calibration_report(logits, y_true, temperature)
        p = probabilities(logits, temperature)
        confidence, correct = p.max(1), p.argmax(1) == y_true
        level = choose_uncertain_level(confidence, correct)
        caught, flagged = flag_rates(confidence, correct, level)
        self.log(f"calibration on {len(y_true)} validation images: temperature {temperature:.3f}, expected "
                 f"calibration error {calibration['before']['ece']:.4f} -> {calibration['after']['ece']:.4f}; "
                 f"uncertain below {level:.2f} flags {flagged:.1%} of them and {caught:.1%} of their errors")
        return {"checkpoint_fields": {"temperature": temperature, "uncertain_below": level},
                "val_ece": calibration["after"]["ece"], "val_ece_uncalibrated": calibration["before"]["ece"],
                "val_calibration": calibration, "val_uncertain_flagged": flagged, "val_uncertain_caught": caught,
                "val_per_class": classification_metrics(y_true, p.argmax(1), self.classes)["per_class"]}
