"""The compute devices a user can choose (the Models page's menu, the wizard's Settings page); torch is
imported only when the list is asked for, so the window's modules stay free of it."""

from __future__ import annotations


def available_devices() -> list[tuple[str, str]]:
    """(label, value) pairs for the device menu; CUDA and MPS only when present."""
    import torch

    devices = [("Automatic (GPU when available)", "auto"), ("CPU", "cpu")]
    if torch.cuda.is_available():
        devices.append((f"CUDA — {torch.cuda.get_device_name(0)}", "cuda"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("Apple GPU (MPS)", "mps"))
    return devices
