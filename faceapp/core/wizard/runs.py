"""Run folders under an output folder, summarised for the Train page's list of past runs (Qt-free).

A run folder is what `fit` writes (config.json, metrics.csv, train.log, best.pt, last.pt). The wizard adds
`wizard.json` with the data folder it trained on, so a run can be resumed or re-scored later.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from training.atomic import atomic_open
from training.config import TrainConfig
from training.selection import SELECTION, best_epoch

SOURCE_FILE = "wizard.json"
SCORE_NAMES = {"val_balanced_accuracy": "balanced accuracy", "val_auc": "AUC"}
_FINISHED = re.compile(r"finished \((\w+)\)")


@dataclass
class RunInfo:
    path: Path
    task: str
    config: dict
    history: list[dict]
    stop_reason: str  # completed | early_stopping | cancelled | time_limit | unfinished
    data: list[str] = field(default_factory=list)  # sources, when the wizard recorded them

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def epochs_done(self) -> int:
        return len(self.history)

    @property
    def epochs_planned(self) -> int:
        return int(self.config.get("epochs") or 0)

    @property
    def selection(self) -> str:
        return SELECTION.get(self.task, "")

    @property
    def score_name(self) -> str:
        return SCORE_NAMES.get(self.selection, self.selection)

    @property
    def min_delta(self) -> float:
        return float(self.config.get("min_delta", TrainConfig.min_delta))

    @property
    def best(self) -> dict | None:
        """The epoch saved as best.pt (the engine's rule, not simply the highest score)."""
        return best_epoch(self.history, self.selection, self.min_delta)

    @property
    def best_path(self) -> Path | None:
        path = self.path / "best.pt"
        return path if path.is_file() else None

    @property
    def last_path(self) -> Path | None:
        path = self.path / "last.pt"
        return path if path.is_file() else None

    @property
    def created(self) -> float:
        return (self.path / "config.json").stat().st_mtime


INTEGER_COLUMNS = ("epoch", "train_samples")


def _number(key: str, text: str):
    """metrics.csv writes floats with %.6g (1.0 becomes "1"): read every metric back as a float."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if key in INTEGER_COLUMNS else value


def read_history(run_dir) -> list[dict]:
    """metrics.csv as dicts of numbers (one per epoch); [] when there is none yet."""
    try:
        with open(Path(run_dir) / "metrics.csv", newline="", encoding="utf-8") as fh:
            return [{k: _number(k, v) for k, v in row.items()} for row in csv.DictReader(fh)]
    except OSError:
        return []


def _stop_reason(run_dir: Path) -> str:
    try:
        lines = (run_dir / "train.log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "unfinished"
    for line in reversed(lines):
        found = _FINISHED.search(line)
        if found:
            return found.group(1)
        if "resumed from" in line:
            break
    return "unfinished"


def read_run(run_dir) -> RunInfo | None:
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or config.get("task") not in SELECTION:
        return None
    try:
        source = json.loads((run_dir / SOURCE_FILE).read_text(encoding="utf-8"))
        data = [str(s) for s in source.get("data", [])]
    except (OSError, ValueError, AttributeError):
        data = []
    return RunInfo(run_dir, config["task"], config, read_history(run_dir), _stop_reason(run_dir), data)


def list_runs(out_dir) -> list[RunInfo]:
    """Every run folder directly under `out_dir`, newest first."""
    folder = Path(out_dir)
    if not folder.is_dir():
        return []
    runs = [run for p in folder.iterdir() if p.is_dir() and (run := read_run(p)) is not None]
    return sorted(runs, key=lambda r: r.created, reverse=True)


def run_size(run_dir) -> int:
    """Bytes on disk of a run folder (its checkpoints are most of it: ~45 MB each for the gender model)."""
    return sum(p.stat().st_size for p in Path(run_dir).rglob("*") if p.is_file())


def delete_run(run_dir, out_dir) -> None:
    """Delete a run folder of `out_dir`, and nothing else: it must be a run folder directly inside it.
    Models put to use in the app are copies in the model folder, so they stay."""
    run_dir, out_dir = Path(run_dir).resolve(), Path(out_dir).resolve()
    if run_dir.parent != out_dir or read_run(run_dir) is None:
        raise ValueError(f"{run_dir} is not a training run of {out_dir}")
    shutil.rmtree(run_dir)


def write_run_source(run_dir, task: str, data: list[str]) -> None:
    with atomic_open(Path(run_dir) / SOURCE_FILE, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"task": task, "data": [str(d) for d in data]}, indent=1))


def write_metrics_csv(path, history: list[dict]) -> Path:
    """The per-epoch metrics (every key any epoch has) as a CSV file."""
    fields: list[str] = []
    for row in history:
        fields += [k for k in row if k not in fields and not isinstance(row[k], (dict, list))]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return Path(path)
