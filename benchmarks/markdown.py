"""Markdown tables for the benchmarks' printed reports (the model cards quote them as printed)."""
from __future__ import annotations

RANKING_HEADERS = ("AUC", "TAR @ FAR 1 %", "EER")


def table(headers, rows) -> str:
    """A header line, its rule and one line per row of cells (each cell as `str` gives it)."""
    lines = [list(headers), ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def ranking_cells(row: dict) -> list[str]:
    """A row's threshold-free pair figures (`roc_auc`, `tar_at_far_1pct`, `eer`) as the tables print them."""
    return [f"{row['roc_auc']:.4f}", f"{row['tar_at_far_1pct']:.1%}", f"{row['eer']:.1%}"]
