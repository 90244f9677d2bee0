"""The fixed protocols of `shared/data/benchmarks/README.txt` (G1, V1, V1-same-photo) as file lists."""
from __future__ import annotations

import csv
from pathlib import Path

from training.data import Item, Pair, read_identity_list
from training.data.gender import group_of, read_class_folders


def g1_train(data: Path, extra: bool = True) -> list[Item]:
    """FACECOM Task A train folders, plus the LFW extra list when `extra`."""
    items = read_class_folders(data / "facecom_taskA" / "train")
    if extra:
        with open(data / "benchmarks" / "gender_train_extra.csv", newline="") as fh:
            items += [Item(str(data / r["path"]), r["gender"], r["identity"]) for r in csv.DictReader(fh)]
    return items


def g1_val(data: Path) -> list[Item]:
    return read_class_folders(data / "facecom_taskA" / "val")


def v1_train_identities(data: Path) -> set[str]:
    return read_identity_list(data / "benchmarks" / "verify_train_identities.txt")


def v1_train_photos(data: Path) -> list[Path]:
    """Every photo of the V1 training identities, in a fixed order."""
    lfw = data / "lfw_deepfunneled"
    return [src for name in sorted(v1_train_identities(data)) for src in sorted((lfw / name).glob("*.jpg"))]


def v1_test_names(data: Path) -> set[str]:
    return read_identity_list(data / "benchmarks" / "verify_test_identities.txt")


def distill_photos(data: Path) -> list[tuple[Path, str]]:
    """(photo, identity) of every photo a teacher may embed for distilling the matcher, in a fixed order.

    Every LFW photo except the V1 test identities' and the G1 validation photos (FACECOM val holds LFW
    photos under their LFW names), then every FACECOM Task A train photo, LFW-derived or studio
    portrait, except those of V1 test identities. No labels are needed: the teacher gives the targets.
    """
    test = v1_test_names(data)
    val_names = {Path(item.path).name for item in g1_val(data)}
    lfw = data / "lfw_deepfunneled"
    photos = [(src, folder.name) for folder in sorted(p for p in lfw.iterdir() if p.is_dir())
              if folder.name not in test for src in sorted(folder.glob("*.jpg")) if src.name not in val_names]
    with open(data / "facecom_taskA" / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and r["identity"] not in test]
    photos += [(data / "facecom_taskA" / r["path"], r["identity"]) for r in sorted(rows, key=lambda r: r["path"])]
    return photos


def v1_pairs(data: Path, same_photo: bool = False) -> list[Pair]:
    """The 1,566 test pairs; `same_photo` uses the reference itself as the probe of same-person rows.

    Each row gets a fixed distortion seed (its row number), so every model sees the same probes.
    """
    with open(data / "benchmarks" / "verify_test_pairs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    pairs = []
    for i, row in enumerate(rows):
        ref, probe, same = data / row["clean"], data / row["probe"], int(row["same"])
        if same_photo and same:
            probe = ref
        pairs.append(Pair(str(ref), str(probe), same, seed=1000 + i))
    return pairs


__all__ = ["g1_train", "g1_val", "group_of", "v1_pairs", "v1_test_names", "v1_train_identities",
           "v1_train_photos", "distill_photos"]
