"""training.atomic: the project's one way to write a file (checkpoints, banks, exports, JSON reports)."""
from __future__ import annotations

import os
import stat

import pytest

from training.atomic import atomic_open


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_get_the_permissions_open_would_give_not_0600(tmp_path, umask_022):
    from training.checkpoint import save_checkpoint
    from training.commands import _write_json

    with atomic_open(tmp_path / "a.csv", "w", encoding="utf-8") as handle:
        handle.write("x\n")
    save_checkpoint(tmp_path / "m.pt", {"task": "gender"})
    _write_json(tmp_path / "r.json", {"a": 1})
    for name in ("a.csv", "m.pt", "r.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name


def test_a_failure_mid_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("previous", encoding="utf-8")
    with pytest.raises(OSError, match="No space left"):
        with atomic_open(target, "w", encoding="utf-8") as handle:
            handle.write("half of the new")
            raise OSError(28, "No space left on device")
    assert target.read_text(encoding="utf-8") == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_only_whole_file_modes(tmp_path):
    with pytest.raises(ValueError, match="whole files"):
        with atomic_open(tmp_path / "x", "a"):
            pass
