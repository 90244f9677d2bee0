"""Data layouts: gender folders and CSVs, splits, identity folders, pairs."""
import csv

import pytest

from training.data import (
    DataError,
    discover_identities,
    group_split,
    load_gender_sources,
    make_pairs,
    read_pairs_csv,
    split_identities,
)
from training.data.datasets import scan_images

from .synthetic import make_gender_folder, make_identity_folder


def test_class_folders_and_train_val_layout(tmp_path):
    flat = make_gender_folder(tmp_path / "flat")
    data = load_gender_sources([flat])
    assert data.classes == ["female", "male"]
    assert data.counts() == {"female": 12, "male": 30} and data.test == []
    split = load_gender_sources([make_gender_folder(tmp_path / "split", split=True)])
    assert split.counts() == {"female": 12, "male": 30}
    assert split.counts("test") == {"female": 4, "male": 10}


def test_any_two_class_names_and_csv_combined(tmp_path):
    root = make_gender_folder(tmp_path / "cats", counts={"cat": 4, "dog": 5})
    extra = tmp_path / "lists" / "extra.csv"
    extra.parent.mkdir()
    with open(extra, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "identity"])
        for p in sorted((root / "cat").iterdir())[:2]:
            w.writerow([f"../cats/cat/{p.name}", "cat", "someone"])
    data = load_gender_sources([root, extra])
    assert data.classes == ["cat", "dog"]
    assert data.counts() == {"cat": 6, "dog": 5}
    assert [i.group for i in data.train if i.group == "someone"] == ["someone", "someone"]


def test_csv_relative_to_given_root(tmp_path):
    root = make_gender_folder(tmp_path / "d", counts={"a": 3, "b": 3})
    lst = tmp_path / "list.csv"
    rows = [f"{p.relative_to(root)},{p.parent.name}" for p in sorted(root.rglob("*.png"))]
    lst.write_text("path,gender\n" + "\n".join(rows))
    with pytest.raises(DataError, match="relative to"):
        load_gender_sources([lst])
    from training.data.gender import read_label_csv
    assert len(read_label_csv(lst, root)) == 6


@pytest.mark.parametrize("counts, message", [({"male": 5}, "exactly two classes"),
                                              ({"a": 1, "b": 5}, "only 1 image"),
                                              ({"a": 2, "b": 2, "c": 2}, "exactly two classes")])
def test_bad_gender_layouts_have_clear_messages(tmp_path, counts, message):
    with pytest.raises(DataError, match=message):
        load_gender_sources([make_gender_folder(tmp_path / "x", counts=counts)])


def test_missing_and_wrong_sources(tmp_path):
    with pytest.raises(DataError, match="neither a folder nor a CSV"):
        load_gender_sources([tmp_path / "nope"])
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("file,class\na.jpg,x\n")
    with pytest.raises(DataError, match="'path' and 'label'"):
        load_gender_sources([bad_csv])


def test_group_split_keeps_people_apart_and_stratifies():
    labels = ["f"] * 20 + ["m"] * 80
    groups = [f"p{i // 2}" for i in range(100)]
    train, val = group_split(labels, groups, 0.2, seed=1)
    assert set(train).isdisjoint(val) and len(train) + len(val) == 100
    assert {groups[i] for i in train}.isdisjoint({groups[i] for i in val})
    assert {labels[i] for i in val} == {"f", "m"} and {labels[i] for i in train} == {"f", "m"}
    assert 15 <= len(val) <= 25
    assert group_split(labels, groups, 0.2, seed=1) == (train, val)


def test_identity_folders_with_distortion_copies_and_split(tmp_path):
    root = make_identity_folder(tmp_path, people=10, photos=2, distortion_dir=True)
    people = discover_identities(root)
    assert len(people) == 10 and all(len(p.images) == 2 for p in people)
    first = people[0]
    assert all(cond == "blurred" for copies in first.distorted.values() for _, cond in copies)
    assert len(first.distorted) == 2
    train, val = split_identities(people, 0.2, seed=0)
    assert {p.name for p in train}.isdisjoint({p.name for p in val}) and len(val) >= 2


def test_pairs_are_balanced_deterministic_and_distorted(tmp_path):
    people = discover_identities(make_identity_folder(tmp_path, people=6, photos=3))
    pairs = make_pairs(people, 200, seed=3)
    assert sum(p.same for p in pairs) == 100
    assert pairs == make_pairs(people, 200, seed=3) and pairs != make_pairs(people, 200, seed=4)
    name = {img: p.name for p in people for img in p.images}
    for pair in pairs:
        assert (name[pair.reference] == name[pair.probe]) == bool(pair.same)
        if pair.reference == pair.probe:
            assert pair.condition != "none"  # a same-photo positive is always degraded
    assert 0.7 < sum(p.condition != "none" for p in pairs) / len(pairs) <= 1.0


def test_pairs_csv(tmp_path):
    people = discover_identities(make_identity_folder(tmp_path / "ids", people=3, photos=2))
    f = tmp_path / "pairs.csv"
    f.write_text("clean,probe,same\n" + f"{people[0].images[0]},{people[0].images[1]},1\n"
                 + f"{people[0].images[0]},{people[1].images[0]},0\n")
    pairs = read_pairs_csv(f)
    assert [p.same for p in pairs] == [1, 0] and pairs[0].condition == "none"


def test_scan_reports_unreadable_files(tmp_path):
    good = tmp_path / "ok.png"
    from .synthetic import pattern_image
    pattern_image(0, 0).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    reasons = dict(scan_images([str(good), str(bad), str(tmp_path / "gone.jpg")]))
    assert set(reasons) == {str(bad), str(tmp_path / "gone.jpg")}
    assert reasons[str(tmp_path / "gone.jpg")] == "file not found"
