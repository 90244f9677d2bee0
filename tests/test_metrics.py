"""Hand-computable checks for training.metrics."""

import math

import numpy as np
import pytest

from training import metrics as m


def test_balanced_accuracy_mean_recall_over_true_classes():
    assert m.balanced_accuracy([0, 0, 0, 1], [0, 0, 0, 0]) == 0.5
    assert m.balanced_accuracy([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert m.balanced_accuracy([0, 0, 1, 1], [1, 1, 0, 0]) == 0.0
    # class 1 appears only in predictions: it does not count as a class
    assert m.balanced_accuracy([0, 0], [0, 1]) == 0.5
    assert math.isnan(m.balanced_accuracy([], []))


def test_classification_metrics_by_hand():
    out = m.classification_metrics([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["female", "male"])
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert out["confusion_matrix"] == [[1, 1], [1, 2]]
    female, male = out["per_class"]["female"], out["per_class"]["male"]
    assert (female["precision"], female["recall"], female["support"]) == (0.5, 0.5, 2)
    assert male["precision"] == pytest.approx(2 / 3) and male["f1"] == pytest.approx(2 / 3)
    assert "female" in out["report_text"] and "male" in out["report_text"]
    assert type(out["confusion_matrix"][0][0]) is int


def test_classification_metrics_absent_class_is_zero_not_error():
    out = m.classification_metrics([0, 0], [0, 0], ["a", "b", "c"])
    assert out["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert out["confusion_matrix"] == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_roc_auc_perfect_inverted_ties_one_class():
    labels = [0, 0, 1, 1]
    assert m.roc_auc(labels, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert m.roc_auc(labels, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert m.roc_auc(labels, [0.5] * 4) == 0.5
    assert math.isnan(m.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_roc_curve_lists_with_finite_thresholds():
    fpr, tpr, thr = m.roc_curve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert fpr[0] == 0.0 and tpr[-1] == 1.0 and fpr[-1] == 1.0
    assert all(math.isfinite(t) for t in thr) and thr[0] > 0.9
    assert m.roc_curve([1, 1], [0.1, 0.2]) == ([], [], [])


def test_tar_at_far():
    labels = [1] * 4 + [0] * 100
    scores = [0.9, 0.8, 0.7, 0.05] + [0.1] * 99 + [0.75]
    # one false accept in 100 is allowed at 1 %: the threshold may drop to 0.7
    assert m.tar_at_far(labels, scores, far=0.01) == 0.75
    assert m.tar_at_far(labels, scores, far=0.0) == 0.5
    assert m.tar_at_far(labels, scores, far=1.0) == 1.0
    assert math.isnan(m.tar_at_far([0, 0], [0.1, 0.2]))


def test_eer_separable_and_overlapping():
    value, threshold = m.eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert value == 0.0 and 0.2 < threshold <= 0.8
    value, threshold = m.eer([0, 0, 0, 0, 1, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.4, 0.7, 0.8, 0.9])
    assert value == 0.25 and threshold == 0.6
    assert all(math.isnan(v) for v in m.eer([1], [0.3]))


def test_best_threshold_midpoint_and_robustness():
    assert m.best_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.5)
    assert m.best_threshold([0, 1], [0.2, 0.8]) == pytest.approx(0.5)
    assert m.best_threshold([1, 1], [0.3, 0.6]) < 0.3  # all same: accept everything
    assert m.best_threshold([0, 0], [0.3, 0.6]) > 0.6  # all different: reject everything
    assert m.best_threshold([], []) == 0.5
    assert m.best_threshold([0, 1, 1], [0.1, 0.9, float("nan")]) == pytest.approx(0.5)


def test_best_threshold_ties_pick_a_best_gap_not_a_score():
    labels, scores = [0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]
    t = m.best_threshold(labels, scores)
    assert t not in scores
    accuracy = sum((s >= t) == bool(y) for y, s in zip(labels, scores)) / 4
    assert accuracy == 0.75  # the best any threshold reaches here


def test_verification_metrics():
    out = m.verification_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], threshold=0.5)
    assert out["accuracy"] == 0.5 and out["tar"] == 0.5 and out["far"] == 0.5
    assert out["balanced_accuracy"] == 0.5 and out["n_pairs"] == 4
    assert out["roc_auc"] == 0.75
    perfect = m.verification_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], threshold=0.5)
    assert perfect["accuracy"] == 1.0 and perfect["tar"] == 1.0 and perfect["far"] == 0.0
    assert perfect["eer"] == 0.0 and perfect["tar_at_far_1pct"] == 1.0
    assert all(type(v) in (int, float) for v in perfect.values())


def test_nearest_is_same_counts_the_faces_whose_nearest_other_face_is_their_persons():
    faces = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.2, 1.0], [0.8, 0.3], [-1.0, 0.0]])
    people = np.array([0, 0, 1, 1, 2, 3])  # 2 and 3 have one face each: never a probe
    assert m.nearest_is_same(faces, people) == pytest.approx(1.0)
    people = np.array([0, 2, 1, 1, 2, 3])  # probes 1-4; 1's nearest is 0 (wrong), 4's is 1 (right)
    assert m.nearest_is_same(faces, people) == pytest.approx(3 / 4)
    assert np.isnan(m.nearest_is_same(faces, np.arange(6)))
