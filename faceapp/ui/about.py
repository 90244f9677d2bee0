"""About dialog text: app, Python, torch, CUDA and Qt versions, device and active models."""

from __future__ import annotations

import html
import platform

import PySide6
from PySide6.QtCore import qVersion

from faceapp import APP_NAME, __version__
from faceapp.core.model_store import TASK_TITLES, TASKS

LOADING = "loading…"


def about_html(models, log_path=None) -> str:
    torch_version, cuda, device = _torch_facts(models)
    rows = [("Version", __version__), ("Python", platform.python_version()), ("PyTorch", torch_version),
            ("CUDA", cuda), ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
            ("Device", f"{device} (setting: {models.device})")]
    for task in TASKS:
        path = models.path(task)
        rows.append((TASK_TITLES[task], str(path) if path else "none installed"))
    rows.append(("Model folder", str(models.store.user_dir)))
    if log_path:
        rows.append(("Log file", str(log_path)))
    body = "".join(f"<tr><td style='color:gray;padding-right:10px'>{k}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return (f"<h3>{APP_NAME} {__version__}</h3><p>Tag photo folders by gender and verify faces in degraded "
            f"photos.</p><table>{body}</table>")


def _torch_facts(models) -> tuple[str, str, str]:
    """The torch version, CUDA and the device in use; "loading…" until the warm-up has imported torch
    (~2 s), which the GUI thread must not import beside it (faceapp.core.model_code)."""
    if not models.ready:
        return LOADING, LOADING, LOADING
    import torch

    cuda = (f"CUDA {torch.version.cuda} — {torch.cuda.get_device_name(0)}" if torch.cuda.is_available()
            else f"not available (torch built with CUDA {torch.version.cuda})" if torch.version.cuda
            else "not available (CPU build of torch)")
    try:
        device = models.resolved_device()
    except Exception as exc:  # noqa: BLE001
        device = f"unavailable ({exc})"
    return torch.__version__, cuda, device
