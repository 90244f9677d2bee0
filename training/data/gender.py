"""Gender (two-class) data sources: class folders and `path,label` CSV lists, combinable."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..imaging import IMAGE_EXTENSIONS, list_images
from .csvfiles import read_rows, resolve
from .errors import DataError

_TRAILING_NUMBER = re.compile(r"[_\- ]*\d+$")


@dataclass(frozen=True)
class Item:
    """One labelled image. `group` is the person (or the file itself) so splits never share a person."""

    path: str
    label: str
    group: str


@dataclass
class GenderData:
    """Training items, optional held-out test items (a `val/` folder), and the class names."""

    train: list[Item]
    test: list[Item] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)

    def counts(self, which: str = "train") -> dict[str, int]:
        out = {c: 0 for c in self.classes}
        for item in getattr(self, which):
            out[item.label] = out.get(item.label, 0) + 1
        return out

    def describe(self) -> str:
        parts = [f"{n} {c}" for c, n in self.counts().items()]
        text = "train: " + ", ".join(parts)
        if self.test:
            text += "; test: " + ", ".join(f"{n} {c}" for c, n in self.counts("test").items())
        return text


def group_of(path: str) -> str:
    """Identity guessed from an LFW-style name (`Jane_Doe_0003.jpg` -> `Jane_Doe`)."""
    stem = Path(path).stem
    return _TRAILING_NUMBER.sub("", stem) or stem


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def read_class_folders(root: Path) -> list[Item]:
    """`root/<class>/*` -> items (recursive inside each class folder)."""
    items = []
    for folder in _class_folders(root):
        for path in list_images(folder, recursive=True):
            items.append(Item(str(path), folder.name, group_of(str(path))))
    return items


def read_label_csv(csv_path: Path, root: Path | None = None) -> list[Item]:
    """A CSV with columns `path` and `label` (or `gender`), optionally `identity`.

    Paths are relative to `root` when given, else to the CSV's own folder.
    """
    rows, base = read_rows(csv_path, root)
    if not rows:
        raise DataError(f"{csv_path} has no rows")
    columns = set(rows[0])
    label_col = "label" if "label" in columns else "gender" if "gender" in columns else None
    if "path" not in columns or label_col is None:
        raise DataError(f"{csv_path} needs the columns 'path' and 'label' (found: {', '.join(sorted(columns))})")
    items, missing = [], 0
    for row in rows:
        path = resolve(row["path"], base)
        if not path.exists():
            missing += 1
            continue
        label = (row[label_col] or "").strip()
        if label:
            items.append(Item(str(path), label, (row.get("identity") or "").strip() or group_of(str(path))))
    if missing and missing > len(rows) // 2:
        raise DataError(
            f"{missing} of {len(rows)} paths in {csv_path} do not exist relative to {base}; "
            "pass the folder they are relative to as the CSV root"
        )
    return items


def load_gender_sources(sources, csv_root: Path | None = None) -> GenderData:
    """Combine folders and CSV files into one data set.

    A folder is either `ROOT/{train,val}/<class>/*` (val becomes the held-out test set) or
    `ROOT/<class>/*`. Any two class names work; all sources must agree on them.
    """
    train: list[Item] = []
    test: list[Item] = []
    if not sources:
        raise DataError("no data given: pass a folder of class subfolders or a CSV file")
    for source in sources:
        source = Path(source)
        if source.is_file() and source.suffix.lower() == ".csv":
            train += read_label_csv(source, csv_root)
        elif source.is_dir():
            if (source / "train").is_dir():
                train += read_class_folders(source / "train")
                if (source / "val").is_dir():
                    test += read_class_folders(source / "val")
            else:
                train += read_class_folders(source)
        elif source.suffix.lower() in IMAGE_EXTENSIONS:
            raise DataError(f"{source} is an image; pass the folder that holds the class folders")
        else:
            raise DataError(f"{source} is neither a folder nor a CSV file")
    classes = sorted({item.label for item in train})
    counts = {c: sum(item.label == c for item in train) for c in classes}
    if len(classes) != 2:
        found = ", ".join(f"{c} ({n})" for c, n in counts.items()) or "none"
        raise DataError(f"gender training needs exactly two classes with images; found {len(classes)}: {found}")
    for c, n in counts.items():
        if n < 2:
            raise DataError(f"class '{c}' has only {n} image; each class needs at least 2")
    extra = sorted({item.label for item in test} - set(classes))
    if extra:
        raise DataError(f"the val folder has classes not in the training data: {', '.join(extra)}")
    return GenderData(train=train, test=test, classes=classes)
