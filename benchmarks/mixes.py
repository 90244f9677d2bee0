"""Synthetic faces for the matcher's distillation: blends of training people, labelled by the teacher.

The student over-fits the ~10,000 photos it distils from: on s4's weights its embedding reaches cosine 0.71 to
the teacher's on its training photos and 0.48 on held-out ones. Every photo's target is fixed, so more epochs
teach it those targets, not the teacher's function. A blend of two people is a new face whose target the teacher
gives (its embedding of the blend lies far from the mean of the two people's: cosine 0.61 at an even blend, so
the target must come from the teacher, not from the two targets), i.e. new training data without new photos.

Each mix: two (or --people K) LFW photos of different people of one gender (female and male mixes alike often),
none of them a validation person of the bank's split (`training.data.split.pair_split` with the run's
--val-fraction and seed) nor a V1 test identity or G1 validation photo (`benchmarks.protocols.distill_photos`).
The other photos are turned onto the first by dlib's five landmarks, then blended: two with the first's weight
drawn from [0.25, 0.75], K > 2 with Dirichlet weights around 1/K. To the teacher (--novelty, on the campaign's
20,500) a blend of two is about as close to the nearer of its people as two photos of one person are (cosine
0.73 on average, 0.83 when one weighs over 0.7; two photos of one training person: 0.77), while a held-out
person's photo is at 0.57 from the nearest training photo of someone else; blends of three (the first 1,000)
are at 0.62 on average and 0.53-0.58 when no one weighs over a half, blends of four (the first 500) at 0.57: more
people make faces about as new as a new person is. The blend is
banked as the bank's photos are (framed, resized, with distorted copies: `training.data.bank.bank_row`) and the
teacher embeds it (dlib, centred with the bank teacher's mean, estimated here on real photos and checked
against that file).

Written in parts under OUT (resumable: a part that exists is kept; run it again to add more):
  part-NNNN.npz           a face bank of the part's mixes (keys `mixes/NNNNNNN`, one identity `mix-NNNNNNN` per
                          mix; `mixesK/`, `mixK-` with --people K above 2, so the kinds join in one run)
  part-NNNN.teacher.npy   their teacher descriptors before centring
  teacher_mean.npy        the base teacher file's mean, estimated
  teacher.npz             the base teacher file plus every part's mixes (pass it as --teacher; pass another
                          folder's teacher.npz as TEACHER to have both kinds' targets in one file)
  groups.csv              the gender list plus every mix's gender: with --balance-groups it draws each gender
                          equally often, photos and mixes alike; the campaign passes the gender list instead,
                          so the mixes, unlisted, keep their natural share of the draws

    python -m benchmarks.mixes ../shared/data .devdata/bank80_aligned.npz .devdata/teacher_distill.npz \\
        .devdata/mixes --count 20000
    python -m training train-matcher .devdata/bank80_aligned.npz .devdata/mixes/part-*.npz \\
        --teacher .devdata/mixes/teacher.npz ...
    python -m benchmarks.mixes ../shared/data .devdata/bank80_aligned.npz .devdata/teacher_distill.npz \\
        .devdata/mixes --count 20000 --novelty    # how close the mixes lie to their people, for the teacher

A copy of the photos in another form: keep OUT in an ignored folder (`.devdata/`), never commit it. Needs the
teacher (`pip install -e ".[teacher]"`); training-time only.
"""
from __future__ import annotations

import argparse
import csv
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from training.atomic import atomic_open
from training.data.bank import BankJob, FaceBank, bank_header, bank_row
from training.data.groups import read_groups
from training.data.split import pair_split
from training.data.teacher import TeacherEmbeddings
from training.imaging import ImageLoadError, load_image

from . import mix_novelty, teacher
from .protocols import distill_photos

WEIGHTS = (0.25, 0.75)  # the first photo's share of a blend of two, drawn uniformly
DIRICHLET = 4.0  # concentration of the weights of a blend of more than two (each 1/K, sd 0.13 for K = 3)
MEAN_PHOTOS = 300  # real photos embedded to estimate the base teacher file's mean


def _init() -> None:
    import torch

    torch.set_num_threads(1)
    teacher.init_models()


_BOXES: dict = {}  # per worker process: (path, shape) -> the teacher's face box of that photo


def face_box(path: str, photo: np.ndarray):
    """The teacher's box of the largest face in `photo` (read from `path`), found once per worker process: face
    finding is about a third of a blend's cost, and each training photo comes back in several blends."""
    key = (path, photo.shape)
    if key not in _BOXES:
        _BOXES[key] = teacher.face_box(photo)[0]
    return _BOXES[key]


def blend(photos: list[np.ndarray], weights, boxes) -> np.ndarray:
    """The photos blended with `weights`, each after the first turned onto it by their landmarks in their
    `boxes`."""
    import cv2

    first = photos[0]
    marks = teacher.landmarks(first, boxes[0])
    h, w = first.shape[:2]
    mixed = weights[0] * first.astype(np.float32)
    for photo, weight, own in zip(photos[1:], weights[1:], boxes[1:]):
        matrix, _ = cv2.estimateAffinePartial2D(teacher.landmarks(photo, own), marks)
        if matrix is None:  # degenerate landmarks: blend as the photos lie (funnelled LFW is roughly aligned)
            matrix = np.float32([[1, 0, 0], [0, 1, 0]])
        turned = cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        mixed += weight * turned.astype(np.float32)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def _mix(job: tuple[int, tuple[str, ...], tuple[float, ...], BankJob]):
    """(bank row, teacher descriptor) of one mix, or None when a photo cannot be read."""
    index, paths, weights, bank_job = job
    try:
        photos = [np.asarray(load_image(p)) for p in paths]
    except ImageLoadError:  # an unreadable photo skips its mix
        return None
    size = photos[0].shape[1::-1]
    photos = [photos[0]] + [x if x.shape == photos[0].shape else
                            np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BILINEAR)) for x in photos[1:]]
    boxes = [face_box(path, photo) for path, photo in zip(paths, photos)]
    mixed = blend(photos, weights, boxes)
    vector = teacher.descriptor(mixed, boxes[0])
    row = bank_row(Image.fromarray(mixed), bank_job, np.random.default_rng([bank_job.seed, index]))
    return row, vector


class Mixer:
    """Draws the mixes (reproducibly by index) and writes the parts under `out`."""

    def __init__(self, args):
        self.args, self.out, self.people = args, args.out, args.people
        self.key_prefix, self.name_prefix = ("mixes", "mix") if self.people == 2 else (f"mixes{self.people}",
                                                                                        f"mix{self.people}")
        header = bank_header(args.bank)
        _, val = pair_split(header["identities"], args.val_fraction, args.split_seed)
        held_out = set(val.tolist())
        genders = read_groups(str(args.data / "lfw_meta" / "lfw_deepfunneled_labels.csv"))
        lfw = [(str(p), who) for p, who in distill_photos(args.data)
               if p.parent.parent.name == "lfw_deepfunneled" and who not in held_out]
        self.pools = {g: [(p, who) for p, who in lfw if genders.get(who) == g] for g in ("female", "male")}
        self.genders = genders
        self.real = [p for p, _ in lfw]
        self.job = BankJob(0, "", header["size"], header["frame_scale"], header["copies"], args.seed,
                           header["framing"])
        print(f"{len(lfw)} LFW training photos to blend ({len(self.pools['female'])} of women, "
              f"{len(self.pools['male'])} of men; {len(held_out)} validation people left out)", flush=True)

    def draw(self, index: int) -> tuple[int, tuple[str, ...], tuple[float, ...], BankJob, str]:
        """(index, photos, their weights, bank job, gender) of mix `index`, the same every time."""
        rng = np.random.default_rng([self.args.seed, index])
        gender = ("female", "male")[index % 2]
        pool = self.pools[gender]
        chosen = [pool[rng.integers(len(pool))]]
        while len(chosen) < self.people:
            candidate = pool[rng.integers(len(pool))]
            if candidate[1] not in {who for _, who in chosen}:
                chosen.append(candidate)
        if self.people == 2:
            first = float(rng.uniform(*WEIGHTS))
            weights = (first, 1 - first)
        else:
            weights = tuple(float(w) for w in rng.dirichlet([DIRICHLET] * self.people))
        return index, tuple(path for path, _ in chosen), weights, self.job, gender

    def mean(self, pool) -> np.ndarray:
        """The base teacher file's mean (its vectors are unit descriptors minus their mean, renormalised):
        estimated on real photos, and checked by centring their descriptors and comparing with the file."""
        path = self.out / "teacher_mean.npy"
        if path.exists():
            return np.load(path)
        photos = list(np.random.default_rng(0).choice(self.real, MEAN_PHOTOS, replace=False))
        raw = np.stack([vector for vector, _ in pool.map(teacher.embed, photos, chunksize=8)])
        mean = raw.mean(axis=0)
        base = TeacherEmbeddings.load(self.args.teacher)
        stored = np.stack([base.lookup(p) for p in photos])
        centred = teacher.centred(raw, mean)
        agreement = (centred * stored).sum(axis=1)
        print(f"teacher mean from {MEAN_PHOTOS} photos: cosine to the stored targets {agreement.mean():.4f} "
              f"(lowest {agreement.min():.4f})", flush=True)
        if agreement.mean() < 0.99:
            raise SystemExit(f"{self.args.teacher} was not made as this script's teacher makes targets "
                             "(no mirror views, centred): re-make it with benchmarks.teacher")
        with atomic_open(path, "wb") as fh:
            np.save(fh, mean)
        return mean

    def run(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        size, parts = self.args.part_size, -(-self.args.count // self.args.part_size)
        start = time.perf_counter()
        with Pool(self.args.processes, initializer=_init) as pool:
            mean = self.mean(pool)
            self.write_groups()
            for part in range(self.args.first_part, parts):
                path = self.out / f"part-{part:04d}.npz"
                if not path.exists():
                    self.write_part(pool, part, range(part * size, min((part + 1) * size, self.args.count)), path)
                    self.write_teacher(mean)  # after every part, so the parts made so far can be trained on
                    print(f"part {part + 1}/{parts}: {path.name}, {time.perf_counter() - start:.0f} s", flush=True)
        self.write_teacher(mean)

    def write_part(self, pool, part: int, indices, path: Path) -> None:
        draws = [self.draw(i) for i in indices]
        rows, vectors, keys, names = [], [], [], []
        for (index, *_), result in zip(draws, pool.imap(_mix, [d[:4] for d in draws], chunksize=4)):
            if result is None:
                continue
            rows.append(result[0])
            vectors.append(result[1])
            keys.append(f"{self.key_prefix}/{index:07d}")
            names.append(f"{self.name_prefix}-{index:07d}")
        clean, distorted, conditions, severities, found = (np.stack(parts) for parts in zip(*rows))
        bank = FaceBank(clean, distorted, conditions, severities, found, np.array(keys), np.array(names),
                        self.job.size, self.job.frame_scale, self.job.seed, framing=self.job.framing)
        with atomic_open(path.with_suffix(".teacher.npy"), "wb") as fh:
            np.save(fh, np.stack(vectors).astype(np.float32))
        bank.save(path)  # last: a part counts as made only when its bank is there

    def write_teacher(self, mean: np.ndarray) -> None:
        with np.load(self.args.teacher, allow_pickle=False) as base:
            keys, vectors = [base["keys"]], [base["embeddings"].astype(np.float32)]
        for path in sorted(self.out.glob("part-*.npz")):
            with np.load(path, allow_pickle=False) as part:
                keys.append(part["keys"])
            vectors.append(teacher.centred(np.load(path.with_suffix(".teacher.npy")), mean))
        with atomic_open(self.out / "teacher.npz", "wb") as fh:
            np.savez(fh, keys=np.concatenate(keys), embeddings=np.concatenate(vectors).astype(np.float16))

    def write_groups(self) -> None:
        with atomic_open(self.out / "groups.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["identity", "gender"])
            writer.writerows(sorted(self.genders.items()))
            writer.writerows((f"{self.name_prefix}-{i:07d}", self.draw(i)[4]) for i in range(self.args.count))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/ and lfw_meta/)")
    p.add_argument("bank", type=Path, help="the face bank the mixes join (its crops' size, framing and copies)")
    p.add_argument("teacher", type=Path, help="the bank's teacher file (benchmarks.teacher)")
    p.add_argument("out", type=Path, help="output folder (parts, teacher.npz, groups.csv)")
    p.add_argument("--count", type=int, default=10000, help="mixes in all (default 10000)")
    p.add_argument("--part-size", type=int, default=500, help="mixes per part file (default 500)")
    p.add_argument("--first-part", type=int, default=0,
                   help="make only the parts from this one on (each mix is drawn by its index, so parts made "
                        "apart are the same as parts made together)")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="the training runs' --val-fraction: their validation people are never blended")
    p.add_argument("--split-seed", type=int, default=0, help="the training runs' --seed (their split)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws, blend weights and distortions")
    p.add_argument("--people", type=int, default=2,
                   help="people in a blend (default 2: the first's weight from [0.25, 0.75]; more: Dirichlet weights "
                        "around 1/K, faces as far from every training person as a new person is)")
    p.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--novelty", action="store_true",
                   help="make nothing: report how close the mixes made so far lie to their people, for the teacher "
                        "(benchmarks/mix_novelty.py)")
    args = p.parse_args(argv)
    if args.count < 1 or args.part_size < 1:
        p.error("--count and --part-size must be at least 1")
    if not 0 <= args.first_part < -(-args.count // args.part_size):
        p.error("--first-part must name one of the parts --count makes")
    if args.people < 2:
        p.error("--people must be at least 2")
    if args.novelty:
        mix_novelty.report(Mixer(args))
        return 0
    Mixer(args).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
