"""Turns a device name ("auto", "cpu", "cuda", "cuda:N", "mps") into a torch.device, or says clearly why not."""

from __future__ import annotations

import torch


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name="auto") -> torch.device:
    """"auto" picks cuda, then mps, then cpu; an explicit device that is not there raises RuntimeError."""
    if isinstance(name, torch.device):
        name = str(name)
    text = (name or "auto").strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA GPU is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"CUDA device {device.index} was requested but only {torch.cuda.device_count()} CUDA GPU(s) exist"
            )
    elif device.type == "mps":
        if not _mps_available():
            raise RuntimeError("MPS was requested but is not available (it needs Apple silicon and macOS 12.3+)")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a GPU out-of-memory error (CUDA's OutOfMemoryError or MPS's RuntimeError)."""
    oom_type = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    return isinstance(exc, oom_type) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))


def empty_cache(device: torch.device) -> None:
    """Give cached GPU memory back after an out-of-memory error."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
