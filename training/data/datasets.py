"""PyTorch datasets over labelled images and verification pairs; bad files are dropped, never fatal."""
from __future__ import annotations

import logging
from functools import partial

import torch
from PIL import Image
from torch.utils.data import Dataset, default_collate

from ..distortions import CONDITIONS
from ..distortions import apply as distort
from ..imaging import ImageLoadError, load_image
from .gender import Item
from .pairs import Pair

log = logging.getLogger(__name__)


def scan_images(paths: list[str]) -> list[tuple[str, str]]:
    """Cheap header check of many files: returns `(path, reason)` for each unreadable one."""
    bad = []
    for path in paths:
        try:
            with Image.open(path) as im:
                im.size  # noqa: B018 - reading the header is the check
        except FileNotFoundError:
            bad.append((path, "file not found"))
        except PermissionError:
            bad.append((path, "permission denied"))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            bad.append((path, f"not a readable image ({exc.__class__.__name__})"))
    return bad


def skip_none_collate(batch):
    """Drop samples whose image failed to decode (returned as None) instead of failing the batch."""
    batch = [b for b in batch if b is not None]
    return default_collate(batch) if batch else None


class LabeledImageDataset(Dataset):
    """(image tensor, class index); `strong_labels` get the stronger augmentation (minority class)."""

    def __init__(self, items: list[Item], classes: list[str], transform, strong_transform=None,
                 strong_labels=(), prepare=None, distort_prob: float = 0.0):
        self.items = items
        self.prepare = prepare
        self.distort_prob = distort_prob
        self.index = {c: i for i, c in enumerate(classes)}
        self.transform = transform
        self.strong_transform = strong_transform
        self.strong_labels = set(strong_labels)

    def __len__(self) -> int:
        return len(self.items)

    def targets(self) -> list[int]:
        return [self.index[item.label] for item in self.items]

    def __getitem__(self, i):
        item = self.items[i]
        try:
            image = load_image(item.path)
        except ImageLoadError as exc:
            log.warning("skipped %s", exc)
            return None
        if self.distort_prob and torch.rand(()) < self.distort_prob:
            # torch's RNG: seeded per DataLoader worker, so runs stay reproducible
            condition = CONDITIONS[int(torch.randint(len(CONDITIONS), ()))]
            image = distort(image, condition, int(torch.randint(1, 5, ())), int(torch.randint(2**31, ())))
        if self.prepare is not None:
            image = self.prepare(image)
        strong = self.strong_transform is not None and item.label in self.strong_labels
        return (self.strong_transform if strong else self.transform)(image), self.index[item.label]


def load_probe(pair: Pair) -> Image.Image:
    """The probe image as the model should see it: the file, plus the pair's generated distortion."""
    image = load_image(pair.probe)
    if pair.condition != "none" and not pair.probe_is_distorted:
        image = distort(image, pair.condition, pair.severity, pair.seed)
    return image


class PairDataset(Dataset):
    """(reference tensor, probe tensor, same as float, reference identity, probe identity).

    With a `teacher` (TeacherEmbeddings), two more: the teacher's vectors of the reference photo and of
    the clean photo the probe was made from (zeros when it has none, e.g. for a pre-made distorted copy).
    """

    def __init__(self, pairs: list[Pair], transform, prepare=None, teacher=None):
        self.pairs = pairs
        self.transform = transform
        self.prepare = prepare
        self.teacher = teacher

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i):
        pair = self.pairs[i]
        try:
            ref, probe = load_image(pair.reference), load_probe(pair)
        except ImageLoadError as exc:
            log.warning("skipped pair %d: %s", i, exc)
            return None
        if self.prepare is not None:  # the probe is degraded before the face is found, as in real life
            ref, probe = self.prepare(ref), self.prepare(probe)
        sample = (self.transform(ref), self.transform(probe), torch.tensor(float(pair.same)),
                  pair.ref_identity, pair.probe_identity)
        if self.teacher is None:
            return sample
        # a pre-made distorted copy has its own file name, which the teacher (clean photos only) never saw
        probe_target = self.teacher.lookup(None if pair.probe_is_distorted else pair.probe)
        return sample + (torch.from_numpy(self.teacher.lookup(pair.reference)), torch.from_numpy(probe_target))


def _crop(framing, image: Image.Image) -> Image.Image:
    from ..framing import as_framing

    return as_framing(framing).find_and_crop(image).image


def face_cropper(enabled: bool, framing):
    """The app's face finding as a picklable function for DataLoader workers, or None when off.

    `framing`: a checkpoint framing block (dict), a `training.framing.Framing`, or a bare frame scale
    (float: Haar at that scale, as before framings had a finder)."""
    if not enabled:
        return None
    from ..framing import Framing, as_framing

    block = Framing(frame_scale=float(framing)) if isinstance(framing, (int, float)) else as_framing(framing)
    return partial(_crop, block.to_dict())
