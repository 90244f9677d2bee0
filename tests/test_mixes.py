"""Synthetic faces for distillation (benchmarks/mixes.py): which photos it may blend. The blending itself needs
the teacher (dlib), which the tests never install; what it draws and the lists it writes are checked here."""
import argparse
import csv

import numpy as np
import pytest

from benchmarks.mix_novelty import mix_similarities, reference, table
from benchmarks.mixes import Mixer
from training.data.bank import build_bank
from training.data.split import pair_split
from training.data.teacher import TeacherEmbeddings, teacher_key

from .synthetic import pattern_image


def _shared_data(root):
    """A tiny shared-data folder: 12 LFW people (6 women, 6 men, 2 photos each), two of them V1 test people,
    one photo in G1 validation, and the lists the protocols read."""
    people = [(f"Person_{i:02d}", "female" if i < 6 else "male") for i in range(12)]
    for i, (name, _) in enumerate(people):
        for k in (1, 2):
            folder = root / "lfw_deepfunneled" / name
            folder.mkdir(parents=True, exist_ok=True)
            pattern_image(i, k, 32).save(folder / f"{name}_{k:04d}.jpg")
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "verify_test_identities.txt").write_text("Person_00\nPerson_11\n")
    val = root / "facecom_taskA" / "val" / "male"
    val.mkdir(parents=True)
    pattern_image(7, 1, 32).save(val / "Person_07_0001.jpg")
    (root / "facecom_taskA" / "val" / "female").mkdir()
    (root / "facecom_taskA" / "labels.csv").write_text("path,split,gender,identity\n")
    (root / "lfw_meta").mkdir()
    with open(root / "lfw_meta" / "lfw_deepfunneled_labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "identity", "gender"])
        writer.writerows((f"{name}/{name}_0001.jpg", name, gender) for name, gender in people)
    return people


def _mixer(tmp_path, people=2):
    """(Mixer over a tiny shared-data folder, {person: gender}, the held-out people it must never blend)."""
    data = tmp_path / "data"
    genders = dict(_shared_data(data))
    photos = [(str(p), p.parent.name) for p in sorted((data / "lfw_deepfunneled").glob("*/*.jpg"))]
    bank, _ = build_bank(photos, size=16, frame_scale=0.63, copies=2, processes=1)
    bank.save(tmp_path / "bank.npz")
    args = argparse.Namespace(data=data, bank=tmp_path / "bank.npz", teacher=tmp_path / "teacher.npz",
                              out=tmp_path / "mixes", count=40, part_size=10, val_fraction=0.2, split_seed=1, seed=4,
                              people=people)
    _, validation = pair_split(bank.identities, 0.2, 1)
    return Mixer(args), genders, set(validation) | {"Person_00", "Person_11"}


def _groups(mixer):
    mixer.out.mkdir()
    mixer.write_groups()
    with open(mixer.out / "groups.csv", newline="") as fh:
        return {row["identity"]: row["gender"] for row in csv.DictReader(fh)}


def test_mixes_blend_two_training_people_of_one_gender_and_never_a_held_out_photo(tmp_path):
    mixer, people, held_out = _mixer(tmp_path)
    draws = [mixer.draw(i) for i in range(40)]
    assert mixer.job.copies == 2 and mixer.job.size == 16
    for _, paths, (weight, rest), _, gender in draws:
        a, b = (p.split("/")[-2] for p in paths)
        assert a != b and people[a] == people[b] == gender and not {a, b} & held_out
        assert 0.25 <= weight <= 0.75 and weight + rest == 1 and not paths[0].endswith("Person_07_0001.jpg")
    assert [d[4] for d in draws[:4]] == ["female", "male", "female", "male"]
    assert draws == [mixer.draw(i) for i in range(40)]  # a part made again draws the same mixes
    groups = _groups(mixer)
    assert {f"mix-{i:07d}": g for i, *_, g in draws}.items() <= groups.items()
    assert groups["Person_03"] == "female" and len(groups) == len(people) + 40
    assert len({d[1] for d in draws}) > 20 and np.std([d[2][0] for d in draws]) > 0.05


def test_mixes_of_three_people_have_their_own_names_and_weights_around_a_third(tmp_path):
    mixer, people, held_out = _mixer(tmp_path, people=3)
    draws = [mixer.draw(i) for i in range(40)]
    for _, paths, weights, _, gender in draws:
        names = {p.split("/")[-2] for p in paths}
        assert len(names) == 3 and {people[n] for n in names} == {gender} and not names & held_out
        assert len(weights) == 3 and abs(sum(weights) - 1) < 1e-9 and min(weights) > 0
    assert abs(np.mean([w for d in draws for w in d[2]]) - 1 / 3) < 0.01
    assert 0.05 < np.std([w for d in draws for w in d[2]]) < 0.25
    groups = _groups(mixer)  # other names than two-person mixes, so both kinds can join one run
    assert {f"mix3-{i:07d}": g for i, *_, g in draws}.items() <= groups.items()
    assert not any(name.startswith("mix-") for name in groups)


def test_novelty_measures_each_mix_against_its_own_people_and_a_new_person_against_everyone(tmp_path):
    mixer, _, _ = _mixer(tmp_path, people=3)
    photos = sorted((mixer.args.data / "lfw_deepfunneled").glob("*/*.jpg"))
    rng = np.random.default_rng(0)
    centres = {name: rng.normal(size=64) for name in {p.parent.name for p in photos}}
    vectors = np.stack([centres[p.parent.name] + 0.3 * rng.normal(size=64) for p in photos])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    np.savez(mixer.args.teacher, keys=np.array([teacher_key(str(p)) for p in photos]), embeddings=vectors)
    base = TeacherEmbeddings.load(mixer.args.teacher)
    mixer.out.mkdir()
    np.save(mixer.out / "teacher_mean.npy", np.zeros(64))
    draws = [mixer.draw(i) for i in range(6)]
    # mix i's target: the first photo of its second person, so its nearest person is that one, at cosine 1
    np.save(mixer.out / "part-0000.teacher.npy", np.stack([base.lookup(d[1][1]) for d in draws]))
    np.savez(mixer.out / "part-0000.npz", keys=np.array([f"mixes3/{i:07d}" for i in range(6)]))
    mixes = mix_similarities(mixer, base, np.zeros(64))
    assert mixes.shape == (6, 2) and np.allclose(mixes[:, 1], 1, atol=1e-3)
    assert np.allclose(mixes[:, 0], [max(d[2]) for d in draws])
    scale = reference(mixer.args.bank, base, 0.2, 1)
    (same_count, same), (new_count, new) = scale.values()
    assert new_count == 4 and same_count == 12 - 2  # 2 held-out people (2 photos each); the 10 others, a pair each
    assert same > 0.8 and new < 0.5  # one person's two photos are alike; a new person is like no one known
    rows = table(mixes, scale)
    assert rows[-3]["faces"] == "all mixes" and rows[-3]["count"] == 6 and sum(r["count"] for r in rows[:-3]) == 6


def test_a_photos_face_box_is_found_once_per_process_for_each_size(monkeypatch):
    from benchmarks import mixes, teacher

    found = []
    monkeypatch.setattr(teacher, "face_box", lambda photo: (found.append(photo.shape) or f"box {len(found)}", True))
    monkeypatch.setattr(mixes, "_BOXES", {})
    photo, resized = np.zeros((250, 250, 3), np.uint8), np.zeros((200, 200, 3), np.uint8)
    assert mixes.face_box("a.jpg", photo) == "box 1" and mixes.face_box("a.jpg", photo) == "box 1"
    assert mixes.face_box("a.jpg", resized) == "box 2"  # blended at another size: found again on those pixels
    assert mixes.face_box("b.jpg", photo) == "box 3"
    assert found == [(250, 250, 3), (200, 200, 3), (250, 250, 3)]


def test_first_part_makes_only_the_parts_from_it_on_with_the_same_draws(tmp_path, monkeypatch):
    from benchmarks import mixes

    mixer, _, _ = _mixer(tmp_path)
    mixer.args.first_part, mixer.args.processes = 2, 1
    made = {}

    class NoPool:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def write_part(pool, part, indices, path):
        made[part] = [mixer.draw(i) for i in indices]
        path.touch()

    monkeypatch.setattr(mixes, "Pool", NoPool)
    monkeypatch.setattr(mixer, "mean", lambda pool: np.zeros(128))
    monkeypatch.setattr(mixer, "write_part", write_part)
    monkeypatch.setattr(mixer, "write_teacher", lambda mean: None)
    mixer.run()
    assert sorted(made) == [2, 3] and sorted(p.name for p in mixer.out.glob("part-*.npz")) == [
        "part-0002.npz", "part-0003.npz"]
    assert made[2] == [mixer.draw(i) for i in range(20, 30)]  # parts 0 and 1 made later draw what they would have


def test_first_part_must_be_one_of_the_parts(tmp_path, capsys):
    from benchmarks import mixes

    with pytest.raises(SystemExit):
        mixes.main([str(tmp_path)] * 4 + ["--count", "1000", "--part-size", "500", "--first-part", "2"])
    assert "--first-part must name one of the parts" in capsys.readouterr().err
