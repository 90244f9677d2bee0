"""Distilling the matcher from a teacher's embeddings: the file, the lookup, the loss, and a training run."""
import numpy as np
import pytest
import torch

from training.cli import main as cli_main
from training.config import default_config
from training.data import DataError, make_pairs
from training.data.datasets import PairDataset
from training.data.identity import discover_identities
from training.data.teacher import TeacherEmbeddings, teacher_key
from training.engine import fit
from training.inference import FaceMatcher
from training.tasks.losses import distillation_loss
from training.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform

from .synthetic import make_identity_folder


def write_teacher(path, people, dim=128, seed=0):
    """One random unit vector per person (plus a little per-photo noise), keyed like benchmarks/teacher.py."""
    rng = np.random.default_rng(seed)
    keys, rows = [], []
    for person in people:
        centre = rng.normal(size=dim)
        for image in person.images:
            keys.append(teacher_key(image))
            rows.append(centre + 0.1 * rng.normal(size=dim))
    np.savez(path, keys=np.array(keys), embeddings=np.array(rows, dtype=np.float16))
    return path


def test_lookup_by_identity_and_file_name_ignores_the_folders_above(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, keys=np.array(["Ann/Ann_0001.jpg"]), embeddings=np.array([[3.0, 4.0]], dtype=np.float16))
    teacher = TeacherEmbeddings.load(path)
    assert np.allclose(teacher.lookup("/data/lfw/Ann/Ann_0001.jpg"), [0.6, 0.8], atol=1e-3)
    assert np.allclose(teacher.lookup("/packed/crops/Ann/Ann_0001.jpg"), [0.6, 0.8], atol=1e-3)
    assert not teacher.lookup("/data/Bob/Bob_0001.jpg").any() and not teacher.lookup(None).any()
    assert teacher.coverage(["x/Ann/Ann_0001.jpg", "x/Bob/Bob_0001.jpg"]) == 0.5


def test_teacher_file_without_embeddings_array_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, keys=np.array(["a/b.jpg"]))
    with pytest.raises(DataError, match="not a teacher file"):
        TeacherEmbeddings.load(path)


def test_distillation_loss_is_one_minus_cosine_and_skips_photos_without_a_target():
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    t = torch.tensor([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])
    assert distillation_loss(e, t).item() == pytest.approx((0.0 + 2.0) / 2)
    assert distillation_loss(e, torch.zeros_like(t)).item() == 0.0


def test_pair_dataset_gives_the_clean_photos_targets_for_generated_probes(tmp_path):
    people = discover_identities(make_identity_folder(tmp_path / "ids", people=4, photos=2, distortion_dir=True))
    teacher = TeacherEmbeddings.load(write_teacher(tmp_path / "t.npz", people))
    pairs = make_pairs(people, 40, seed=1)
    data = PairDataset(pairs, eval_transform(32, IMAGENET_MEAN, IMAGENET_STD), teacher=teacher)
    for i, pair in enumerate(pairs):
        *_, ref_target, probe_target = data[i]
        assert torch.allclose(ref_target, torch.from_numpy(teacher.lookup(pair.reference)))
        if pair.probe_is_distorted:  # a FACECOM-style copy: no target
            assert not probe_target.any()
        else:
            assert torch.allclose(probe_target, torch.from_numpy(teacher.lookup(pair.probe)))
    assert any(p.probe_is_distorted for p in pairs) and any(not p.probe_is_distorted for p in pairs)


def _mean_cosine_to_teacher(model_path, people, teacher):
    from PIL import Image

    images = [img for p in people for img in p.images]
    student = FaceMatcher.load(model_path).embed([Image.open(i).convert("RGB") for i in images])
    targets = np.stack([teacher.lookup(i) for i in images])
    return float(np.mean(np.sum(np.asarray(student) * targets, axis=1)))


def test_training_with_a_teacher_pulls_the_embedding_towards_it(tmp_path):
    # 8 steps of 8 pairs of 32 px photos per run (validation is not what is checked: 8 pairs). The gap
    # it opens is 0.24-0.29 for seeds 0-2, where each run alone stays near 0 (random directions).
    root = make_identity_folder(tmp_path / "ids", people=8, photos=3, size=32)
    people = discover_identities(root)
    teacher_file = write_teacher(tmp_path / "t.npz", people)
    teacher = TeacherEmbeddings.load(teacher_file)
    common = dict(epochs=1, batch_size=8, input_size=32, workers=0, pairs_per_epoch=64, val_pairs=8,
                  warmup_epochs=0, lr=3e-3, val_fraction=0.25, max_severity=1, identity_loss_weight=0.0,
                  crop_faces=False, patience=0)
    with_teacher = fit("matcher", [root], default_config("matcher", out_dir=str(tmp_path / "a"),
                                                         teacher=str(teacher_file), distill_weight=4.0, **common))
    without = fit("matcher", [root], default_config("matcher", out_dir=str(tmp_path / "b"), **common))
    taught = _mean_cosine_to_teacher(with_teacher.last_path, people, teacher)
    untaught = _mean_cosine_to_teacher(without.last_path, people, teacher)
    assert taught > untaught + 0.15, (taught, untaught)


def test_cli_refuses_a_teacher_that_covers_no_training_photo(tmp_path, capsys):
    root = make_identity_folder(tmp_path / "ids", people=4, photos=2)
    path = tmp_path / "t.npz"
    np.savez(path, keys=np.array(["Nobody/x.jpg"]), embeddings=np.ones((1, 128), dtype=np.float16))
    code = cli_main(["-q", "train-matcher", str(root), "--teacher", str(path), "--epochs", "1", "--input-size", "32",
                     "--workers", "0", "--out-dir", str(tmp_path / "runs"), "--no-crop-faces"])
    assert code != 0
    assert "no vector for any training photo" in capsys.readouterr().err
