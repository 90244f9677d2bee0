"""Training in several processes at once (torchrun): DistributedDataParallel's plumbing, kept out of the loop.

A process started by `torchrun --nproc_per_node N -m training train-gender ...` finds RANK, WORLD_SIZE and
LOCAL_RANK in its environment; `start` then joins the process group (NCCL on CUDA, one GPU per process;
gloo on the CPU). Every other helper here is the identity for a single process (rank 0 of 1), so the app's
wizard, its time estimate and plain `python -m training` runs take exactly the path they always took.

The split of work, and why:
- training: each rank trains on its own contiguous share of every epoch's samples (`shard`), and DDP
  averages the gradients, so the epoch is the same data seen once, in 1/N of the steps;
  `--batch-size` is per process (the global batch is N x batch-size), as in any torchrun script;
- validation, checkpoints, the run folder, logs and callbacks: rank 0 alone, the others wait for its
  result (`on_main`). Validation is a small share of an epoch and its metrics (the best threshold,
  the calibration) need every score in one place, so sharding it would buy little and cost a gather
  and a second code path in every task;
- decisions (stop, early stopping, time limit, a batch to skip) are agreed by every rank before they act,
  so all of them leave every loop together and DDP's collectives stay paired.
"""
from __future__ import annotations

import os
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler

# Collectives wait this long: the other ranks wait in one while rank 0 validates and writes the final
# report (torch's default for NCCL, 10 minutes, is shorter than a big validation set can take).
TIMEOUT = timedelta(minutes=60)
_END = object()
_started = False  # whether `start` joined the process group (so `finish` leaves it)


def launched() -> bool:
    """Whether torchrun (or another launcher setting its variables) started this process as one of several."""
    env = os.environ
    return all(k in env for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK")) and int(env["WORLD_SIZE"]) > 1


def is_distributed() -> bool:
    """Whether collectives are live: the process group is joined and has more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 alone); read from the environment before `start` and after `finish`."""
    if is_distributed():
        return dist.get_rank()
    return int(os.environ["RANK"]) if launched() else 0


def world_size() -> int:
    if is_distributed():
        return dist.get_world_size()
    return int(os.environ["WORLD_SIZE"]) if launched() else 1


def local_world_size() -> int:
    """Processes on this machine: they share its CPU cores (for data-loading workers)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", world_size())) if launched() else 1


def is_main() -> bool:
    """Rank 0: the one process that writes files, logs and calls the callbacks."""
    return rank() == 0


def rank_seed(seed: int) -> int:
    """A seed of this rank's own for augmentation and shuffling; rank 0 keeps `seed`, so it draws what
    a single process draws."""
    return seed + 1_000_003 * rank()


def start(device: torch.device) -> torch.device:
    """Join the process group when torchrun started this process; returns the device this rank trains on
    (cuda:LOCAL_RANK on a GPU machine). A single process gets `device` back untouched."""
    global _started
    if not launched() or is_distributed():
        return device
    if not dist.is_available():
        raise RuntimeError("torchrun started several processes but this PyTorch has no torch.distributed")
    if device.type == "cuda":
        local = int(os.environ["LOCAL_RANK"])
        if local >= torch.cuda.device_count():
            raise RuntimeError(f"process {local} on this machine has no GPU of its own: "
                               f"{torch.cuda.device_count()} GPU(s) for --nproc_per_node {local_world_size()}")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise RuntimeError(f"training in several processes runs on CUDA GPUs (NCCL) or on the CPU (gloo), "
                           f"not on {device.type}; pass --device cpu")
    dist.init_process_group(backend, timeout=TIMEOUT)
    _started = True
    return device


def finish() -> None:
    """Leave the process group `start` joined, together: no rank exits while another still needs it."""
    global _started
    if _started and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    _started = False


def describe(batch_size: int) -> str:
    backend = dist.get_backend() if is_distributed() else "none"
    return (f"distributed: {world_size()} processes ({backend}); {batch_size} samples per process per step, "
            f"{batch_size * world_size()} in all")


# -- the model


class _TaskLoss(nn.Module):
    """The task's loss as one module over every trainable module (the model and, say, the matcher's
    identity head). DDP needs one forward per step through the module it wraps, while the tasks'
    losses call several methods of the model (`embed`, `score_embeddings`) and other modules too."""

    def __init__(self, setup, modules: dict[str, nn.Module]):
        super().__init__()
        self.parts = nn.ModuleDict(modules)
        self.setup = setup  # a plain object, not a submodule

    def forward(self, batch):
        return self.setup.loss(batch)


def wrap_loss(setup, modules: dict[str, nn.Module], device: torch.device):
    """The callable a training step takes its loss from: `setup.loss` for one process; across several, the
    loss inside DistributedDataParallel (which broadcasts rank 0's weights now and averages the gradients
    at every backward). Only the step goes through it; evaluation and checkpoints use the modules as they
    are. Extra modules may sit a step out (the identity head when a batch has no identity), hence
    find_unused_parameters for them."""
    if not is_distributed():
        return setup.loss
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(_TaskLoss(setup, modules), device_ids=[device.index] if device.type == "cuda"
                                   else None, find_unused_parameters=len(modules) > 1)


# -- the data


def shard(items):
    """This rank's contiguous share of a sequence (list or tensor) that every rank built the same way from
    the same seed. Shares are equally long (the last len % N items are left out), so every rank runs the
    same number of steps; contiguous rather than strided, because strides would give each rank a pattern
    of the list (the matcher's pairs alternate same and different person)."""
    n = world_size()
    if n == 1:
        return items
    size = len(items) // n
    return items[rank() * size:(rank() + 1) * size]


class ShardSampler(Sampler):
    """This rank's share (`shard`) of the indices another sampler draws, e.g. a WeightedRandomSampler
    seeded alike on every rank: the draw is the one a single process makes, so the class balance holds
    across ranks, and no index drawn once is trained twice."""

    def __init__(self, sampler):
        self.sampler = sampler

    def __iter__(self):
        return iter(shard(list(self.sampler)))

    def __len__(self) -> int:
        return len(self.sampler) // world_size()


def shard_sampler(sampler):
    return ShardSampler(sampler) if world_size() > 1 else sampler


# -- agreeing


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def _reduce(values, op) -> list[float]:
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=op)
    return t.tolist()


def sum_over_ranks(*values: float) -> tuple[float, ...]:
    """Totals over every rank (the epoch's loss sum, batch and sample counts)."""
    return tuple(_reduce(values, dist.ReduceOp.SUM)) if is_distributed() else values


def min_over_ranks(value: int) -> int:
    return int(_reduce([value], dist.ReduceOp.MIN)[0]) if is_distributed() else value


def on_main(fn):
    """`fn()` run on rank 0 only, its (picklable) result handed to every rank; the others wait."""
    if not is_distributed():
        return fn()
    box = [fn() if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def lockstep(batches, stop):
    """The batches of one epoch, with every rank agreeing before each one whether to go on: if any rank
    is told to stop, all stop (the flag is set on each); if any has run out, all end; if any got an empty
    batch (every file in it unreadable), all skip it. One rank stepping alone would leave DDP's gradient
    exchange waiting for the others."""
    return _lockstep(batches, stop) if is_distributed() else batches


def _lockstep(batches, stop):
    it = iter(batches)
    while True:
        batch = next(it, _END)
        ended, stopped, empty = _reduce([batch is _END, stop.is_set(), batch is None], dist.ReduceOp.MAX)
        if stopped:
            stop.set()
        if ended:
            return
        yield None if empty else batch
