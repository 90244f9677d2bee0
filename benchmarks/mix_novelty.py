"""How new are the synthetic faces to the teacher? `python -m benchmarks.mixes DATA BANK TEACHER OUT --novelty`
(with the options the parts were made with, e.g. --people 3).

For each mix made so far: the teacher's cosine between the mix and the nearest of the people blended into it,
by the mix's largest weight. For scale, from the base teacher file and the bank's split: two photos of one
training person, and each held-out photo against the nearest training photo of someone else (how far a new person
lies from the people the student knows). A mix far closer to one of its people than a new person is to anyone is,
to the teacher, another photo of a known person rather than a new face.
"""
from __future__ import annotations

import numpy as np

from training.data.split import pair_split
from training.data.teacher import TeacherEmbeddings

from . import markdown, teacher

BINS = ((0.0, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 1.0))  # of a mix's largest weight


def mix_similarities(mixer, base: TeacherEmbeddings, mean: np.ndarray) -> np.ndarray:
    """(largest weight, cosine to the nearest of its people) of every mix in `mixer`'s parts so far."""
    rows = []
    for path in sorted(mixer.out.glob("part-*.npz")):
        with np.load(path, allow_pickle=False) as part:
            keys = part["keys"]
        vectors = teacher.centred(np.load(path.with_suffix(".teacher.npy")), mean)
        for key, vector in zip(keys, vectors):
            _, photos, weights, _, _ = mixer.draw(int(str(key).rsplit("/", 1)[1]))
            rows.append((max(weights), max(float(vector @ base.lookup(p)) for p in photos)))
    return np.array(rows).reshape(-1, 2)


def reference(bank, base: TeacherEmbeddings, val_fraction: float, seed: int) -> dict[str, tuple[int, float]]:
    """{what: (count, mean cosine)} for two photos of one training person and for a held-out photo against the
    nearest training photo of someone else."""
    with np.load(bank, allow_pickle=False) as packed:
        identities = packed["identities"]
        vectors = np.stack([base.lookup(str(key)) for key in packed["keys"]])
    train, val = pair_split(identities, val_fraction, seed)
    is_train, is_val = np.isin(identities, train), np.isin(identities, val)
    nearest = (vectors[is_val] @ vectors[is_train].T).max(axis=1)
    same, first = [], {}
    for row in np.flatnonzero(is_train):  # each training person's first two photos
        who = identities[row]
        if who not in first:
            first[who] = row
        elif first[who] >= 0:
            same.append(float(vectors[first[who]] @ vectors[row]))
            first[who] = -1
    return {"two photos of one training person": (len(same), float(np.mean(same)) if same else float("nan")),
            "a held-out photo and the nearest training photo of someone else": (len(nearest), float(nearest.mean()))}


def table(mixes: np.ndarray, scale: dict[str, tuple[int, float]]) -> list[dict]:
    """Rows of the report: mixes by their largest weight, then the two reference rows."""
    out = []
    for low, high in BINS:
        inside = (mixes[:, 0] >= low) & (mixes[:, 0] < high)
        if inside.any():
            out.append({"faces": f"mixes, largest weight {low:.1f}–{high:.1f}", "count": int(inside.sum()),
                        "cosine": float(mixes[inside, 1].mean())})
    if len(mixes):
        out.append({"faces": "all mixes", "count": len(mixes), "cosine": float(mixes[:, 1].mean())})
    out += [{"faces": what, "count": count, "cosine": cosine} for what, (count, cosine) in scale.items()]
    return out


def report(mixer) -> list[dict]:
    """Print (and return) the table for `mixer`'s parts so far."""
    base = TeacherEmbeddings.load(mixer.args.teacher)
    mean = np.load(mixer.out / "teacher_mean.npy")
    rows = table(mix_similarities(mixer, base, mean),
                 reference(mixer.args.bank, base, mixer.args.val_fraction, mixer.args.split_seed))
    print("the teacher's cosine: a mix to the nearest of its people, and for scale")
    print(markdown.table(["faces", "count", "cosine"], [[r["faces"], r["count"], f"{r['cosine']:.3f}"] for r in rows]))
    return rows
