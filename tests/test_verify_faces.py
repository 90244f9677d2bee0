"""Which face of a group photo Verify compares: every face is listed, the main one (`training.faces.prominence`) is
the default, a picked box chooses its face, and a distorted copy (faces found again, boxes moved a little) keeps the
picked face."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from faceapp.core import verify
from faceapp.core.verify import pick_face
from training.faces import FaceBox, FaceCrop

COLORS = {(10, 10, 100, 100): (200, 30, 30), (200, 20, 50, 50): (30, 30, 200)}  # the main one first


class ColorMatcher:
    """Embeds a crop as its mean colour (unit length): two crops of the same face score 1."""

    framing = None

    def embed(self, images):
        vectors = np.array([np.asarray(im, dtype=float).reshape(-1, 3).mean(axis=0) for im in images])
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def score_embeddings(self, a, b):
        return (np.asarray(a) * np.asarray(b)).sum(axis=1)


def _crop(box, shift=0):
    x, y, w, h = box
    return FaceCrop(Image.new("RGB", (32, 32), COLORS[box]), FaceBox(x + shift, y + shift, w, h), len(COLORS),
                    False, "")


@pytest.fixture
def group(monkeypatch):
    """Face finding stubbed: a photo holds the red face (large) and the blue one; `shift` moves the boxes
    as a distortion's second detection would."""
    state = {"shift": 0}
    monkeypatch.setattr(verify, "find_faces", lambda image, framing, assume_crop=False: [
        _crop(box, state["shift"]) for box in COLORS])
    monkeypatch.setattr(verify, "find_face", lambda image, framing, assume_crop=False: _crop(
        next(iter(COLORS)), state["shift"]))
    return state


def test_a_pair_lists_every_face_and_compares_the_main_ones_unless_one_is_picked(group):
    photo, matcher = Image.new("RGB", (300, 200)), ColorMatcher()
    default = verify.score_pair(matcher, photo, photo)
    assert default.probe.faces == tuple(COLORS) and default.probe.box == (10, 10, 100, 100)
    assert default.probability == pytest.approx(1.0)
    blue = (200, 20, 50, 50)
    picked = verify.score_pair(matcher, photo, photo, probe_face=blue)
    assert picked.probe.box == blue and picked.reference.box == (10, 10, 100, 100)
    assert picked.probability < 0.8  # red against blue
    assert picked.probe.note == "face 2 of 2"
    both = verify.score_pair(matcher, photo, photo, reference_face=blue, probe_face=blue)
    assert both.probability == pytest.approx(1.0)


def test_a_distorted_copy_keeps_the_picked_face(group):
    matcher, blue = ColorMatcher(), (200, 20, 50, 50)
    ref = verify.reference_embedding(matcher, Image.new("RGB", (300, 200)), face=blue)
    group["shift"] = 6  # found again a few pixels away
    result = verify.score_distorted(matcher, ref, Image.new("RGB", (300, 200)), "foggy", 2, probe_face=blue)
    assert result.probe.box == (206, 26, 50, 50) and result.probability == pytest.approx(1.0)
    points = list(verify.sweep(matcher, Image.new("RGB", (300, 200)), Image.new("RGB", (300, 200)),
                               conditions=["noisy"], severities=[1, 5], reference_face=blue, probe_face=blue))
    assert [p.probability for p in points] == pytest.approx([1.0, 1.0])


def test_pick_face_by_overlap_then_by_distance():
    boxes = ((0, 0, 100, 100), (150, 0, 40, 40), (300, 300, 10, 10))
    assert pick_face(boxes, (145, 5, 40, 40)) == 1  # overlaps the second most
    assert pick_face(boxes, (290, 290, 5, 5)) == 2  # overlaps none: the nearest centre
    assert pick_face((), (0, 0, 1, 1)) == 0
