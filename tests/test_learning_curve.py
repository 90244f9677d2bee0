"""The campaign's learning curve measures every stage's snapshots on V1 crops made with that stage's framing."""

import json
import shutil

import numpy as np

from benchmarks import learning_curve
from training.checkpoint import load_checkpoint, save_checkpoint
from training.framing import Framing


def test_each_stage_is_measured_on_crops_of_its_own_framing(trained_matcher, tmp_path, monkeypatch):
    _, result = trained_matcher
    haar = tmp_path / "s1"
    shutil.copytree(result.run_dir, haar)
    aligned = tmp_path / "s2"
    shutil.copytree(result.run_dir, aligned)
    for name in ("best.pt", "last.pt"):  # a later stage trained on eye-aligned BlazeFace crops
        ckpt = load_checkpoint(aligned / name, task="matcher")
        ckpt["framing"] = Framing.blazeface(0.7).to_dict()
        save_checkpoint(aligned / name, ckpt)
    cropped = []
    rng = np.random.default_rng(0)

    def fake_v1_crops(data, framing):
        cropped.append(framing)
        images = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
        return images[:4], images[4:], np.array([1, 0, 1, 0])

    monkeypatch.setattr(learning_curve, "v1_crops", fake_v1_crops)
    out = tmp_path / "curve.json"
    assert learning_curve.main([str(tmp_path), str(haar), str(aligned), "--json", str(out)]) == 0
    haar_block = load_checkpoint(haar / "best.pt", task="matcher")["framing"]
    assert cropped == [Framing.from_dict(haar_block).to_dict(), Framing.blazeface(0.7).to_dict()]  # once each
    rows = json.loads(out.read_text())
    assert [r["run"] for r in rows] == ["s1", "s2"]
    best = load_checkpoint(result.best_path, task="matcher")["epoch"]
    per_epoch = [int(h["train_samples"]) for h in result.history]
    assert rows[0]["images_seen"] == sum(per_epoch[:best])  # the best epoch's images
    assert rows[1]["images_seen"] == sum(per_epoch) + rows[0]["images_seen"]  # after all of the first stage's
