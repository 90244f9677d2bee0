"""Anchors, box decoding and weighted non-maximum suppression for single-shot detectors like BlazeFace.

Pure numpy, no torch: the network gives raw numbers, these functions turn them into scored boxes with
keypoints. All coordinates here are in pixels of the network's input square.

BlazeFace's anchors all have size 1 (the paper drops SSD's aspect ratios: faces are about square), so an
anchor is only a centre; its regression is an offset from that centre and a size, in input pixels.
"""

from __future__ import annotations

import numpy as np

# (stride in input pixels, anchors per cell) of the front model's two heads: 16x16x2 + 8x8x6 at 128 px.
FRONT_LAYOUT = ((8, 2), (16, 6))
KEYPOINTS = 6
SCORE_CLIP = 100.0  # the raw logit is clipped to +-100 before the sigmoid, as the paper's pipeline does


def make_anchors(side: int, layout=FRONT_LAYOUT) -> np.ndarray:
    """Anchor centres (A x 2, x then y) in input pixels for a `side` x `side` input.

    Cells row by row, the anchors of one cell together: the order of `BlazeFaceNet`'s outputs. At 128 px
    the front layout gives 896 anchors (16*16*2 + 8*8*6); the shipped anchors.npy holds the same centres
    divided by 128.
    """
    parts = []
    for stride, per_cell in layout:
        cells = -(-side // stride)
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride
        parts.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(parts).astype(np.float32)


def decode(raw: np.ndarray, anchors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw regressions (A x 16) -> boxes (A x 4: x0, y0, x1, y1) and keypoints (A x 6 x 2), input pixels.

    Raw values are in input pixels: (dx, dy) of the box centre from its anchor, (w, h) of the box, then
    (dx, dy) of each keypoint from the anchor.
    """
    raw = np.asarray(raw, dtype=np.float32)
    centre = anchors + raw[:, 0:2]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:4 + 2 * KEYPOINTS].reshape(-1, KEYPOINTS, 2) + anchors[:, None, :]
    return boxes, keypoints


def scores_of(logits: np.ndarray) -> np.ndarray:
    """Face probabilities from raw logits (clipped first, so extreme logits cannot overflow)."""
    clipped = np.clip(np.asarray(logits, dtype=np.float64), -SCORE_CLIP, SCORE_CLIP)
    return (1.0 / (1.0 + np.exp(-clipped))).astype(np.float32)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box (x0, y0, x1, y1) with each of `boxes` (N x 4)."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3):
    """Merge overlapping detections: (boxes N x 4, keypoints N x K x 2, scores N), best first.

    The paper's "tie resolution": instead of keeping only the best of a cluster (plain NMS), each kept
    face is the score-weighted mean of every candidate that overlaps the best one by more than
    `iou_threshold`, which steadies boxes and landmarks from frame to frame and photo to photo. The kept
    score is the cluster's best.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    kept_boxes, kept_points, kept_scores = [], [], []
    remaining = np.ones(len(scores), dtype=bool)
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (iou(boxes[i], boxes) > iou_threshold)
        cluster[i] = True
        weights = scores[cluster] / scores[cluster].sum()
        kept_boxes.append((boxes[cluster] * weights[:, None]).sum(0))
        kept_points.append((keypoints[cluster] * weights[:, None, None]).sum(0))
        kept_scores.append(scores[i])
        remaining &= ~cluster
    if not kept_scores:
        return np.zeros((0, 4), np.float32), np.zeros((0,) + keypoints.shape[1:], np.float32), np.zeros(0, np.float32)
    return np.array(kept_boxes, np.float32), np.array(kept_points, np.float32), np.array(kept_scores, np.float32)
