"""The bundled default models load, carry the documented metadata and give sane outputs."""
from pathlib import Path

import numpy as np
import pytest
import torch

from training.checkpoint import load_checkpoint
from training.framing import as_framing
from training.inference import FaceMatcher, GenderClassifier

from .synthetic import pattern_image

MODELS = Path(__file__).resolve().parent.parent / "resources" / "models"
pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(not (MODELS / "gender.pt").exists(), reason="no bundled models in this checkout")]


@pytest.mark.parametrize("name, task, arch", [("gender", "gender", "resnet18"), ("matcher", "matcher", "mobilenet_v2")])
def test_metadata_matches_the_model_card(name, task, arch):
    ckpt = load_checkpoint(MODELS / f"{name}.pt", task=task)
    card = (MODELS / f"{name}.md").read_text(encoding="utf-8")
    assert ckpt["arch"] == arch
    # no ImageNet start on these machines: from scratch, or fine-tuned from an earlier default the card names
    assert ckpt["start_weights"] == "none" or Path(ckpt["start_weights"]).name in card
    assert torch.load(MODELS / f"{name}.pt", weights_only=True)["half"] is True  # shipped as fp16
    size = {"gender": 112, "matcher": 96}[task]  # the matcher: its CPU campaign's 96 px input, from stage s6b on
    assert ckpt["input_size"] == size and f"{size} × {size}" in card
    # how its training faces were found and cropped (the app crops alike), in the card's words
    framing = as_framing(ckpt["framing"])
    assert framing.describe() in card and 0.4 <= framing.frame_scale <= 0.8
    assert "optimizer_state" not in ckpt  # exported for shipping
    if task == "matcher":
        assert f"{ckpt['threshold']:.3f}" in card and ckpt["embedding_dim"] == 128
        assert FaceMatcher.load(MODELS / f"{name}.pt").error_rates is not None  # the slider's error rates
    else:
        assert ckpt["classes"] == ["female", "male"]
        # calibrated, with the temperature and the suggested uncertain level the card states
        assert f"{ckpt['temperature']:.3f}" in card and f"{ckpt['uncertain_below']:.0%}".replace("%", " %") in card
    assert (MODELS / f"{name}.pt").stat().st_size < 30 * 2**20


def test_gender_outputs_are_probabilities():
    model = GenderClassifier.load(MODELS / "gender.pt")
    preds = model.predict([pattern_image(k, k, 112) for k in range(4)])
    assert len(preds) == 4
    for p in preds:
        assert p.label in ("female", "male") and abs(sum(p.probabilities.values()) - 1) < 1e-4
        assert p.probability == max(p.probabilities.values()) >= 0.5


def test_matcher_scores_an_image_with_itself_higher_than_with_noise():
    model = FaceMatcher.load(MODELS / "matcher.pt")
    face = pattern_image(0, 1, 112)
    noise = np.random.default_rng(0).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    same, other = model.score(face, face), model.score(face, noise)
    assert 0.0 <= other < same <= 1.0 and 0.0 < model.threshold < 1.0
