"""A training run's folder: config.json, metrics.csv (one row per epoch), train.log, best.pt, last.pt."""
from __future__ import annotations

import csv
import logging
import time
from pathlib import Path

logger = logging.getLogger("training")


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    @classmethod
    def create(cls, out_dir, task: str, name: str = "") -> "RunDir":
        """A new folder `out_dir/<name or task-YYYYmmdd-HHMMSS>`, never reusing an existing one."""
        base = Path(out_dir) / (name or f"{task}-{time.strftime('%Y%m%d-%H%M%S')}")
        path, n = base, 1
        while path.exists():
            n += 1
            path = base.with_name(f"{base.name}-{n}")
        return cls(path)

    @staticmethod
    def last_of(resume) -> Path:
        """`resume` may name a run folder or its last.pt."""
        path = Path(resume)
        return path / "last.pt" if path.is_dir() else path

    @classmethod
    def for_resume(cls, resume) -> "RunDir":
        return cls(cls.last_of(resume).parent)

    def log(self, message: str) -> None:
        logger.info(message)
        with open(self.path / "train.log", "a", encoding="utf-8") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")

    def append_metrics(self, row: dict) -> None:
        """One CSV row per epoch; the header comes from the first row written."""
        path = self.path / "metrics.csv"
        new = not path.exists()
        if new:
            fields = list(row)
        else:
            with open(path, newline="", encoding="utf-8") as fh:
                fields = next(csv.reader(fh))
        with open(path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
