"""Matcher training from a face bank (`training/data/bank.py`): dense distillation built for CPU throughput.

Each step takes B/2 photos and two views of each, the clean crop and one of its pre-made distorted copies,
so a step costs slicing in memory, one crop and one resize for the whole batch. Losses, per step:
- distillation: every view's embedding is pulled to the teacher's embedding of the clean photo
  (`distill_weight` x mean(1 - cosine));
- relational: the batch's pairwise cosine-similarity matrix against the teacher's (`relational_weight` x
  mean squared difference), which is what verification reads;
- pair BCE on the match head: every clean view against every distorted view of the batch (same
  identity or not), positives and negatives weighted equally, so the head is fitted on the way.
With `neighbour_batches` N, a batch is groups of N faces, each drawn face with N-1 of its nearest training
faces by the teacher (`training/data/neighbours.py`), so those two losses see hard pairs. With `ranking_weight`,
a ranking term: each view's softmax over its cosines to every training face's teacher vector against the
teacher's own (`losses.ranking_loss`), the order 1:N search reads.
Validation: fixed pairs of held-out identities (a clean reference against a distorted or clean photo of
the same or another person), scored with the mirror view as the app scores them; and `val_rank1`, the share
of held-out photos whose nearest other held-out photo is the same person's (1:N among the held-out people).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import distributed
from ..data import DataError
from ..data.bank import FaceBank
from ..data.groups import balanced_weights, read_groups
from ..data.neighbours import teacher_neighbours, with_neighbours
from ..data.split import pair_split
from ..data.teacher import TeacherEmbeddings
from ..distortions import CONDITIONS
from ..error_rates import ScoreHistograms
from ..framing import Framing, as_framing
from ..metrics import nearest_is_same
from ..transforms import IMAGENET_MEAN, IMAGENET_STD
from .losses import distillation_loss, ranking_loss, relational_loss
from .matcher import MatcherTask, per_condition_report, validation_metrics

GRAYSCALE_P = 0.1
JITTER = 0.25  # brightness and contrast factors drawn from [1 - JITTER, 1 + JITTER]
SCALE_JITTER = 0.1  # training crops are 1 +- this of the nominal crop side


def is_bank(data) -> bool:
    """Whether `data` (a path or a list of sources) names face bank files only."""
    paths = list(data) if isinstance(data, (list, tuple)) else [data]
    return bool(paths) and all(isinstance(p, (str, Path)) and str(p).lower().endswith(".npz") and Path(p).is_file()
                               for p in paths)


class BankBatches:
    """One epoch of training batches; `len` is the step count the loop schedules with. Under torchrun every
    rank shuffles the photos alike and takes its own share (and 1/N of the steps), then draws its views
    with a generator of its own."""

    def __init__(self, setup: "BankMatcherSetup", epoch: int):
        self.setup, self.epoch = setup, epoch
        self.half = max(1, setup.config.batch_size // 2)
        self.steps = max(1, setup.config.pairs_per_epoch // (self.half * distributed.world_size()))
        self.group = setup.config.neighbour_batches if setup.neighbours is not None else 1
        self.drawn = -(-self.half // self.group)  # faces drawn a step; their neighbours fill the batch

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        seed = self.setup.config.seed * 100_003 + self.epoch
        gen = torch.Generator().manual_seed(seed)
        rows, weights = self.setup.train_rows, self.setup.row_weights
        if weights is None:  # every photo once an epoch
            order = distributed.shard(rows[torch.randperm(len(rows), generator=gen)])
        else:  # groups drawn equally often: photos of the smaller groups come back within an epoch
            drawn = torch.multinomial(weights, self.steps * self.half * distributed.world_size(), replacement=True,
                                      generator=gen)
            order = distributed.shard(rows[drawn])
        if distributed.rank() > 0:
            gen.manual_seed(distributed.rank_seed(seed))  # views and crops of its own
        for step in range(self.steps):
            start = (step * self.drawn) % len(order)
            picked = order[start:start + self.drawn]
            if len(picked) < self.drawn:
                picked = torch.cat([picked, order[: self.drawn - len(picked)]])
            if self.group > 1:
                picked = with_neighbours(picked, self.setup.neighbours, self.group, gen)[: self.half]
            yield self.setup.make_batch(picked, gen)


NEIGHBOUR_POOL = 16  # nearest faces kept per training face; a batch group draws its neighbours from them
GENUINE_PAIRS_PER_PERSON = 50  # the stored genuine scores: a sample per person, so no one dominates

class BankMatcherSetup(MatcherTask):
    """Dense distillation from a face bank (see the module's docstring)."""

    def __init__(self, data, config, device, log):
        super().__init__(data, config, device, log)
        paths = [Path(p) for p in (data if isinstance(data, (list, tuple)) else [data])]
        self.bank_path = paths[0]
        self.bank_paths = paths
        banks = [FaceBank.load(p) for p in paths]
        first_rows = len(banks[0])  # the photos; banks after it add faces (benchmarks/mixes.py)
        bank = FaceBank.concatenate(banks)
        del banks
        if not config.teacher:
            raise DataError("training from a face bank distils a teacher: pass --teacher FILE.npz")
        self.bank = bank
        self.framing = self._bank_framing(bank, config)
        self.crop = min(bank.size, round(bank.size * bank.frame_scale / self.frame_scale))
        if self.crop < 16:
            raise DataError(f"the bank's crops ({bank.size} px at frame {bank.frame_scale}) hold no "
                            f"{self.frame_scale} framing; pass a --frame-scale at or above the bank's")
        self.clean = torch.from_numpy(bank.clean).permute(0, 3, 1, 2)  # NCHW view of NHWC memory
        self.distorted = torch.from_numpy(bank.distorted).permute(0, 1, 4, 2, 3)
        self.targets = torch.from_numpy(self._teacher_rows(config.teacher, bank))
        names, self.identity = np.unique(bank.identities, return_inverse=True)
        self.identity = torch.from_numpy(self.identity.astype(np.int64))
        train_ids, val_ids = self._split(names, config.val_fraction, config.seed)
        has_target = self.targets.abs().sum(dim=1) > 0
        self.train_rows = torch.nonzero(torch.from_numpy(np.isin(self.identity.numpy(), train_ids))
                                        & has_target).flatten()
        self.val_rows = np.flatnonzero(np.isin(self.identity.numpy(), val_ids))
        self.row_weights = self._balance(config.balance_groups, bank) if config.balance_groups else None
        self.neighbours = self._neighbours(config.neighbour_batches) if config.neighbour_batches > 1 else None
        self.anchors = F.normalize(self.targets[self.train_rows], dim=1).to(device) if config.ranking_weight else None
        self.log(f"held-out photos whose nearest other one is the same person, by the teacher: "
                 f"{nearest_is_same(self.targets[self.val_rows].numpy(), self.identity[self.val_rows].numpy()):.1%}")
        self.val_pairs = self._make_val_pairs(config.val_pairs, config.seed + 7919)
        self.fit_rows = self._fit_sample(first_rows, config.seed + 104729)
        self.model = self.build_matcher(config)
        self.model = self.model.to(memory_format=torch.channels_last)
        # Training steps only: validation embeds with the mirror view, in other shapes, uncompiled.
        self.train_embed = torch.compile(self.model.embed) if config.compile else self.model.embed
        self.mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    # -- data
    def _bank_framing(self, bank: FaceBank, config) -> Framing:
        """The crops' framing is the bank's (finder, alignment), at this run's frame scale; a config that
        asks for another finder or alignment than the bank was cropped with is refused."""
        framing = as_framing(bank.framing).at_scale(self.frame_scale)
        asked = (config.face_detector, bool(config.align_faces))
        if asked != ("haar", False) and asked != (framing.detector, framing.aligned):
            raise DataError(f"the bank was cropped with {framing.describe()}; training from it cannot give "
                            f"{config.face_detector}{' aligned' if config.align_faces else ''} crops: build "
                            "a bank with that framing (python -m benchmarks.bank --face-detector ... --align)")
        return framing

    def _neighbours(self, group: int) -> torch.Tensor:
        """Per bank row (training rows only; -1 elsewhere), its NEIGHBOUR_POOL nearest training faces by the
        teacher's targets, from which each batch group draws its group - 1 (`training/data/neighbours.py`)."""
        pool = min(NEIGHBOUR_POOL, len(self.train_rows) - 1)
        if group - 1 > pool:
            raise DataError(f"groups of {group} need {group - 1} neighbours a face; {pool} are kept")
        near = teacher_neighbours(self.targets, self.train_rows, pool)
        table = torch.full((len(self.targets), pool), -1, dtype=torch.long)
        table[self.train_rows] = near
        same = (self.identity[near] == self.identity[self.train_rows].view(-1, 1)).float().mean()
        self.log(f"batches of look-alikes: each drawn face with {group - 1} of its {pool} nearest training "
                 f"faces by the teacher ({same:.0%} of those are the same person)")
        return table

    def _balance(self, spec: str, bank: FaceBank) -> torch.Tensor:
        """Per training photo, the chance an epoch draws it: every group of `spec` (FILE.csv[:COLUMN]) alike."""
        weights, shares = balanced_weights(np.asarray(bank.identities)[self.train_rows.numpy()], read_groups(spec))
        self.log("balanced sampling: " + ", ".join(f"{group} {before:.0%} -> {after:.0%} of the draws"
                                                    for group, (before, after) in shares.items()))
        return torch.from_numpy(weights)

    def _teacher_rows(self, path: str, bank: FaceBank) -> np.ndarray:
        teacher = TeacherEmbeddings.load(path)
        if teacher.dim != self.config.embedding_dim:
            raise DataError(f"the teacher's embeddings have {teacher.dim} values but the matcher's have "
                            f"{self.config.embedding_dim}; pass --embedding-dim {teacher.dim}")
        rows = np.stack([teacher.lookup(key) for key in bank.keys])
        covered = float((np.abs(rows).sum(axis=1) > 0).mean())
        if covered == 0:
            raise DataError(f"the teacher file {path} has no vector for any photo of the bank")
        self.log(f"teacher: {len(teacher.index)} embeddings, covering {covered:.0%} of the bank's photos")
        return rows.astype(np.float32)

    def _split(self, names: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Identity-level split (indices into `names`); validation takes people with two or more photos."""
        train, val = pair_split(np.asarray(self.bank.identities), fraction, seed)
        if len(val) < 2 or len(train) < 2:
            raise DataError("the bank needs at least four people with two or more photos")
        return np.searchsorted(names, train), np.searchsorted(names, val)

    def _fit_sample(self, first_rows: int, seed: int) -> np.ndarray:
        """As many training photos of the first bank as there are validation photos, drawn once: their
        teacher cosine beside the validation photos' shows how much the student learns by heart."""
        rows = self.train_rows.numpy()
        rows = rows[rows < first_rows]
        return np.sort(np.random.default_rng(seed).choice(rows, min(len(rows), len(self.val_rows)), replace=False))

    def _make_val_pairs(self, n_pairs: int, seed: int) -> list[tuple[int, int, int, int]]:
        """(reference row, probe row, probe copy or -1 for clean, same) for fixed validation pairs."""
        rng = np.random.default_rng(seed)
        rows = self.val_rows
        ids = self.identity.numpy()[rows]
        by_id = {i: rows[ids == i] for i in np.unique(ids)}
        people = [i for i, r in by_id.items() if len(r) >= 2]
        pairs = []
        for n in range(n_pairs):
            same = n % 2 == 0
            person = people[rng.integers(len(people))]
            if same:
                ref, probe = rng.choice(by_id[person], size=2, replace=False)
            else:
                ref = rng.choice(by_id[person])
                probe = rows[rng.integers(len(rows))]
                while ids[np.searchsorted(rows, probe)] == person:
                    probe = rows[rng.integers(len(rows))]
            copy = -1 if rng.random() < self.config.clean_probe_fraction else int(rng.integers(self.bank.copies))
            pairs.append((int(ref), int(probe), copy, int(same)))
        return pairs

    def _geometry(self, images: torch.Tensor, side: int, top: int, left: int) -> torch.Tensor:
        """uint8 crops (N, 3, S, S) → normalised float input (N, 3, size, size), channels_last."""
        x = images[:, :, top:top + side, left:left + side].float().div_(255)
        size = self.config.input_size
        if side != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return x.contiguous(memory_format=torch.channels_last)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)

    def eval_input(self, images: torch.Tensor) -> torch.Tensor:
        offset = (self.bank.size - self.crop) // 2
        return self._normalise(self._geometry(images, self.crop, offset, offset))

    def make_batch(self, rows: torch.Tensor, gen: torch.Generator):
        """(images, teacher targets, identities): clean views of `rows`, then one distorted copy of each."""
        n = len(rows)
        copies = torch.randint(self.bank.copies, (n,), generator=gen)
        images = torch.cat([self.clean[rows], self.distorted[rows, copies]])
        high = min(self.bank.size, round(self.crop * (1 + SCALE_JITTER)))
        low = round(self.crop * (1 - SCALE_JITTER))
        side = int(torch.randint(low, high + 1, (1,), generator=gen))
        top, left = (int(v) for v in torch.randint(self.bank.size - side + 1, (2,), generator=gen))
        x = self._geometry(images, side, top, left)
        m = len(x)
        flip = torch.rand(m, generator=gen) < 0.5
        x = torch.where(flip.view(m, 1, 1, 1), x.flip(3), x)
        gray = torch.rand(m, generator=gen) < GRAYSCALE_P
        luma = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = torch.where(gray.view(m, 1, 1, 1), luma.expand_as(x), x)
        brightness = 1 + JITTER * (2 * torch.rand(m, 1, 1, 1, generator=gen) - 1)
        contrast = 1 + JITTER * (2 * torch.rand(m, 1, 1, 1, generator=gen) - 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - mean) * contrast + mean * brightness).clamp_(0, 1)
        targets = self.targets[rows].repeat(2, 1)
        identities = self.identity[rows].repeat(2)
        return self._normalise(x), targets, identities

    # -- the loop's contract
    def description(self) -> str:
        banks = self.bank_paths[0].name
        if len(self.bank_paths) > 1:
            more = len(self.bank_paths) - 1
            banks += f" + {self.bank_paths[1].name}" if more == 1 else f" + {more} more banks"
        return (f"matcher from the face bank {banks}: {len(self.train_rows)} training faces "
                f"x (1 clean + {self.bank.copies} distorted) at {self.bank.size} px, cropped to {self.crop} px and "
                f"resized to {self.config.input_size}; {len(self.val_rows)} validation photos "
                f"({len(self.val_pairs)} fixed pairs); {self.config.pairs_per_epoch} photos (two views each) "
                f"per epoch; distilled from {Path(self.config.teacher).name}")

    def train_loader(self, epoch: int):
        return BankBatches(self, epoch)

    def loss(self, batch) -> torch.Tensor:
        images, targets, identities = (t.to(self.device, non_blocking=True) for t in batch)
        e = self.train_embed(images)
        n = len(e) // 2
        loss = self.config.distill_weight * distillation_loss(e, targets)
        if self.config.relational_weight > 0:
            loss = loss + self.config.relational_weight * relational_loss(e, targets)
        if self.anchors is not None:
            loss = loss + self.config.ranking_weight * ranking_loss(e, targets, self.anchors,
                                                                    self.config.ranking_temperature)
        clean, distorted = e[:n], e[n:]
        logits = self.model.score_embeddings(clean.repeat_interleave(n, 0), distorted.repeat(n, 1)).float()
        same = (identities[:n].view(-1, 1) == identities[n:].view(1, -1)).flatten().float()
        bce = F.binary_cross_entropy_with_logits(logits, same, reduction="none")
        return loss + 0.5 * (bce[same > 0].mean() + bce[same == 0].mean())

    @torch.no_grad()
    def embed_views(self, views: list[tuple[int, int]], stop, batch: int = 256) -> torch.Tensor:
        """Unit embeddings (mirror view) of (row, copy) views; copy -1 is the clean crop."""
        self.model.eval()
        out = []
        for start in range(0, len(views), batch):
            if stop.is_set():
                break
            chunk = views[start:start + batch]
            images = torch.stack([self.clean[r] if c < 0 else self.distorted[r, c] for r, c in chunk])
            out.append(self.model.embed(self.eval_input(images).to(self.device), flip=True).cpu())
        return torch.cat(out) if out else torch.empty(0, self.config.embedding_dim)

    def score_pairs(self, stop) -> tuple[np.ndarray, np.ndarray]:
        """(labels, match probabilities) of the fixed validation pairs; empty when stopped."""
        labels, logits = self.pair_logits(stop)
        return labels, torch.sigmoid(torch.as_tensor(logits)).numpy()

    @torch.no_grad()
    def pair_logits(self, stop) -> tuple[np.ndarray, np.ndarray]:
        """(labels, match logits) of the fixed validation pairs, each view embedded once with its mirror;
        keeps the held-out photos' embeddings and teacher cosine for `evaluate`."""
        held_out = [(int(r), -1) for r in self.val_rows]  # every held-out photo's clean view, for val_rank1
        views = sorted({(r, -1) for r, _, _, _ in self.val_pairs} | {(p, c) for _, p, c, _ in self.val_pairs}
                       | set(held_out))
        index = {v: i for i, v in enumerate(views)}
        emb = self.embed_views(views, stop)
        if len(emb) < len(views):
            return np.array([]), np.array([])
        self.last_held_out = emb[[index[v] for v in held_out]]
        ref = emb[[index[(r, -1)] for r, _, _, _ in self.val_pairs]]
        probe = emb[[index[(p, c)] for _, p, c, _ in self.val_pairs]]
        logits = self.model.score_embeddings(ref.to(self.device), probe.to(self.device)).float()
        self.last_teacher_cos = float((ref * self.targets[[r for r, _, _, _ in self.val_pairs]]).sum(1).mean())
        return np.array([s for *_, s in self.val_pairs]), logits.cpu().double().numpy()

    def evaluate(self, stop) -> dict:
        labels, scores = self.score_pairs(stop)
        if len(labels) == 0:
            return {"val_loss": float("nan"), self.selection: 0.0}
        metrics = {**validation_metrics(labels, scores), "val_teacher_cos": self.last_teacher_cos}
        fit = self.teacher_cosine(self.fit_rows, stop)
        if fit is not None:
            metrics["train_teacher_cos"] = fit
        metrics["val_rank1"] = nearest_is_same(self.last_held_out.numpy(), self.identity[self.val_rows].numpy())
        return metrics

    def teacher_cosine(self, rows, stop) -> float | None:
        """Mean cosine between the student's embedding (mirror view) of each row's clean crop and the row's
        teacher target; None when stopped before the end."""
        embeddings = self.embed_views([(int(r), -1) for r in rows], stop)
        if len(embeddings) < len(rows):
            return None
        return float((embeddings * self.targets[torch.as_tensor(np.asarray(rows))]).sum(1).mean())

    @torch.no_grad()
    def score_histograms(self, stop, chunk: int = 32, per_person: int = GENUINE_PAIRS_PER_PERSON
                         ) -> ScoreHistograms | None:
        """Genuine and impostor score distributions over pairs of held-out photos: each clean photo against
        every other photo, clean and distorted (the same photo against itself left out). Genuine pairs are
        a seeded sample of at most `per_person` per person: all of them would make the rates those of
        the few people with many photos (in the shipped matcher's split one person gave 79 % of them)."""
        rows = [int(r) for r in self.val_rows]
        probes = [(r, c) for r in rows for c in range(-1, self.bank.copies)]
        emb = self.embed_views(probes, stop)
        if stop.is_set() or len(emb) < len(probes):
            return None
        refs = emb[:: self.bank.copies + 1]  # each photo's clean view leads its copies
        ids = self.identity.numpy()
        probe_row = np.array([r for r, _ in probes])
        probe_id = ids[probe_row]
        genuine, impostor = {}, []
        for start in range(0, len(rows), chunk):
            block = refs[start:start + chunk].to(self.device)
            logits = self.model.score_embeddings(block.repeat_interleave(len(emb), 0), emb.to(self.device).repeat(
                len(block), 1)).float()
            scores = torch.sigmoid(logits).view(len(block), len(emb)).cpu().numpy()
            for i, row in enumerate(rows[start:start + chunk]):
                same = probe_id == ids[row]
                genuine.setdefault(int(ids[row]), []).append(scores[i][same & (probe_row != row)])
                impostor.append(scores[i][~same])
        rng = np.random.default_rng(self.config.seed + 104729)
        sampled = []
        for person in sorted(genuine):
            found = np.concatenate(genuine[person])
            sampled.append(rng.choice(found, per_person, replace=False) if len(found) > per_person else found)
        genuine, impostor = np.concatenate(sampled), np.concatenate(impostor)
        source = (f"{len(genuine):,} genuine pairs (at most {per_person} per person) and {len(impostor):,} impostor "
                  f"pairs of {len(rows):,} held-out photos of {len(sampled):,} people: each clean photo against "
                  f"every other photo, clean and {self.bank.copies} distorted copies")
        return ScoreHistograms.from_scores(genuine, impostor, source)

    def report_on(self, labels: np.ndarray, scores: np.ndarray) -> dict:
        conditions = ["none" if c < 0 else CONDITIONS[self.bank.conditions[p, c]] for _, p, c, _ in self.val_pairs]
        return per_condition_report(labels, scores, conditions)

    def final_report(self, stop) -> dict:
        """The shared report (`MatcherTask.final_report`: the head calibrated, accuracy per probe condition)
        and the validation score distributions of the calibrated model (error rates at any threshold)."""
        report = super().final_report(stop)
        histograms = self.score_histograms(stop) if report else None
        if histograms is not None:
            report["checkpoint_fields"] = {"score_histograms": histograms.to_dict()}
        return report
