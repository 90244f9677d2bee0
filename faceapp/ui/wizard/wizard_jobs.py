"""Worker-side functions of the wizard: call the Qt-free modules and turn pixels into QImages off the GUI thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QImage

from faceapp.core.wizard.datacheck import DataReport, check_folder, probe_preview, thumbnail
from faceapp.ui.qimage import pil_to_qimage

THUMB_SIDE = 88


@dataclass
class DataView:
    report: DataReport
    thumbs: list[tuple[QImage, str]] = field(default_factory=list)
    probes: list[tuple[QImage, str]] = field(default_factory=list)


def check_job(task: str, folder: str, val_fraction: float, seed: int) -> DataView:
    report = check_folder(task, folder, val_fraction, seed)
    view = DataView(report)
    for path, caption in report.samples:
        try:
            view.thumbs.append((pil_to_qimage(thumbnail(path, THUMB_SIDE)), caption))
        except Exception:  # noqa: BLE001 - a sample is decoration; the check already listed unreadable files
            continue
    for path, condition, severity, premade in report.probes:
        try:
            image, caption = probe_preview(path, condition, severity, premade, THUMB_SIDE)
        except Exception:  # noqa: BLE001
            continue
        view.probes.append((pil_to_qimage(image), caption))
    return view


def estimate_job(task: str, data: list[str], config):
    from faceapp.core.wizard.estimate import measure_epoch

    return measure_epoch(task, data, config)


def results_job(best_path, data: list[str]):
    from faceapp.core.wizard.results import load_results

    return load_results(best_path, data)
