"""faceapp-verify: a pair's score and decision, a gallery's ranking and decision at its size's threshold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from faceapp.cli import verify as verify_cli
from faceapp.core.verify import MATCH, NO_MATCH, UNCERTAIN, gallery_verdict
from training.error_rates import ScoreHistograms, gallery_threshold

from .cli_helpers import tiny_model
from .gui.helpers import face_image

RATES = ScoreHistograms.from_scores(genuine=np.linspace(0.55, 1.0, 200), impostor=np.linspace(0.0, 0.7, 2000))


@pytest.fixture(scope="module")
def matcher(tmp_path_factory) -> Path:
    """A tiny matcher with a threshold of 0.5 and validation score histograms (so a gallery raises it)."""
    return tiny_model(tmp_path_factory.mktemp("models") / "matcher.pt", "matcher", score_histograms=RATES.to_dict())


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    for name, seed in (("a.jpg", 1), ("b.jpg", 2), ("probe.jpg", 3)):
        face_image(seed).save(root / name)
    (root / "broken.jpg").write_bytes(b"no")
    for person in range(4):
        (root / "gallery" / f"person{person}").mkdir(parents=True)
        for i in range(2):
            face_image(10 * person + i).save(root / "gallery" / f"person{person}" / f"{i}.jpg")
    (root / "gallery" / "person3" / "bad.png").write_bytes(b"")
    return root


def run(capsys, *argv) -> tuple[int, str, str]:
    code = verify_cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_pair_prints_its_score_and_decision(photos, matcher, capsys):
    code, out, _ = run(capsys, photos / "a.jpg", photos / "b.jpg", "--model", matcher)
    score, decision = out.splitlines()[0].split(" ", 1)
    assert code == 0 and 0 <= float(score) <= 1 and decision in (MATCH, NO_MATCH, UNCERTAIN)
    assert "threshold 0.500, uncertain within ±0.050" in out


def test_the_threshold_and_margin_decide(photos, matcher, capsys):
    def decided(*extra) -> dict:
        code, out, _ = run(capsys, photos / "a.jpg", photos / "b.jpg", "--model", matcher, "--json", *extra)
        assert code == 0
        return json.loads(out)

    score = decided()["score"]
    assert decided("--threshold", "0", "--margin", "0")["decision"] == MATCH
    assert decided("--threshold", str(min(1.0, score + 0.01)), "--margin", "0")["decision"] == NO_MATCH
    result = decided("--threshold", str(score), "--margin", "0.02")
    assert result["decision"] == UNCERTAIN and result["threshold"] == pytest.approx(score)
    assert set(result["a"]) == {"path", "faces_found", "face_fallback", "note", "face_box"}


def test_an_unreadable_photo_exits_1_with_its_reason(photos, matcher, capsys):
    code, out, err = run(capsys, photos / "a.jpg", photos / "broken.jpg", "--model", matcher)
    assert code == 1 and out == ""
    assert err == f"faceapp-verify: {photos / 'broken.jpg'}: not an image file (or an unsupported format)\n"


def test_a_gallery_ranks_its_identities_and_decides_at_the_threshold_for_its_size(photos, matcher, capsys):
    code, out, err = run(capsys, "--gallery", photos / "gallery", photos / "probe.jpg", "--model", matcher,
                         "--json", "--top", "3")
    result = json.loads(out)
    assert code == 1 and "bad.png: file is empty" in err  # one gallery photo could not be read: listed
    assert [r["rank"] for r in result["ranking"]] == [1, 2, 3] and result["identities"] == 4
    scores = [r["score"] for r in result["ranking"]]
    assert scores == sorted(scores, reverse=True)
    assert result["threshold_one_pair"] == 0.5
    assert result["threshold"] == gallery_threshold(RATES, 0.5, 4) > 0.5
    assert result["decision"] in (MATCH, NO_MATCH, UNCERTAIN)
    assert result["unreadable"][0]["reason"] == "file is empty (0 bytes)"
    code, text, _ = run(capsys, "--gallery", photos / "gallery", photos / "probe.jpg", "--model", matcher, "--top", "2")
    assert len(text.splitlines()) == 3 and "raised from 0.500 for 4 identities" in text


def test_gallery_verdict_is_the_gallery_views_rule():
    assert gallery_verdict([0.9, 0.2], 0.5, 0.05) == MATCH
    assert gallery_verdict([0.52, 0.2], 0.5, 0.05) == UNCERTAIN  # too close to call
    assert gallery_verdict([0.9, 0.47], 0.5, 0.05) == UNCERTAIN  # a second identity comes near: compare by eye
    assert gallery_verdict([0.4, 0.2], 0.5, 0.05) == NO_MATCH
    assert gallery_verdict([], 0.5, 0.05) == NO_MATCH


def test_usage_and_model_errors_exit_2(photos, matcher, capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        verify_cli.main([str(photos / "a.jpg")])
    assert stopped.value.code == 2 and "give two photos" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "--gallery", tmp_path / "empty", photos / "probe.jpg", "--model", matcher)
    assert code == 2 and "holds no photos" in err
    code, _, err = run(capsys, photos / "a.jpg", photos / "b.jpg", "--model", photos / "broken.jpg")
    assert code == 2 and err.startswith("faceapp-verify: error: ") and err.count("\n") == 1


def test_a_face_of_a_group_photo_is_picked_by_number(photos, matcher, capsys, monkeypatch):
    """--face-b 2 compares the second face of B (the main one first); a number past the faces found is a usage error."""
    from PIL import Image

    from faceapp.core import verify
    from training.faces import FaceBox, FaceCrop

    def two_faces(image, framing, assume_crop=False):
        return [FaceCrop(Image.new("RGB", (40, 40), "white"), FaceBox(1, 2, 30, 30), 2, False, ""),
                FaceCrop(Image.new("RGB", (20, 20), "black"), FaceBox(50, 5, 12, 12), 2, False, "")]

    monkeypatch.setattr(verify, "find_faces", two_faces)
    monkeypatch.setattr(verify, "find_face", lambda image, framing, assume_crop=False: two_faces(image, framing)[0])
    a, b = str(photos / "a.jpg"), str(photos / "b.jpg")
    assert verify_cli.main([a, b, "--model", str(matcher), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["b"]["face_box"] == [1, 2, 30, 30] and default["b"]["faces"] == [[1, 2, 30, 30], [50, 5, 12, 12]]
    assert verify_cli.main([a, b, "--model", str(matcher), "--json", "--face-b", "2"]) == 0
    picked = json.loads(capsys.readouterr().out)
    assert picked["b"]["face_box"] == [50, 5, 12, 12] and picked["b"]["note"] == "face 2 of 2"
    assert picked["a"]["face_box"] == [1, 2, 30, 30]
    assert verify_cli.main([a, b, "--model", str(matcher), "--face-a", "3"]) == 2
    assert "face 3 asked for, but 2 faces found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        verify_cli.main([a, b, "--model", str(matcher), "--face-b", "0"])
