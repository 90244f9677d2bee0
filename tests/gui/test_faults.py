"""Faults where data could be lost: writes that fail half-way, and cancels at random points (seeded loops).

Each write test injects the failure after part of the file was written: the previous file must stay whole
and the caller must learn of the failure. Each cancel test stops a job after a random number of steps,
many times, and checks that every file is accounted for and nothing half-written is left behind.
"""
from __future__ import annotations

import errno
import hashlib
import random
import shutil

import pytest
import torch

from faceapp.tagging import TagOptions, TagResult, export_csv, export_json, sort_into_folders, tag_folder
from training.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from training.imaging import list_images
from training.models import build_model

from .test_tagging_unit import FakeClassifier

DISK_FULL = OSError(errno.ENOSPC, "No space left on device")


def _digest(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def tagged(photo_folder):
    return list(tag_folder(list_images(photo_folder), FakeClassifier(), TagOptions(workers=1)))


class HalfWrite:
    """A file object whose writes stop with 'disk full' once `limit` characters went through."""

    def __init__(self, handle, limit: int):
        self.handle, self.limit, self.written = handle, limit, 0

    def write(self, data):
        if self.written + len(data) > self.limit:
            self.handle.write(data[: max(0, self.limit - self.written)])
            raise DISK_FULL
        self.written += len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


@pytest.mark.parametrize("export", [export_csv, export_json])
def test_an_export_that_fails_half_way_keeps_the_previous_file(tagged, tmp_path, monkeypatch, export):
    from faceapp import atomic

    path = export(tagged, tmp_path / "tags.out", uncertain_below=0.5)
    before = path.read_bytes()
    real_fdopen = atomic.os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, *a, **k: HalfWrite(real_fdopen(fd, *a, **k), 200))
    with pytest.raises(OSError) as failure:
        export(tagged, path, uncertain_below=0.9)
    assert failure.value.errno == errno.ENOSPC  # the caller is told (the Tag page shows "Could not write …")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["photos", "tags.out"]  # no temp


def test_a_checkpoint_save_that_fails_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = build_model("gender")
    ckpt = make_checkpoint(model, task="gender", classes=["female", "male"], input_size=32,
                           normalization={"mean": [0.5] * 3, "std": [0.25] * 3}, framing={}, threshold=0.5,
                           metrics={}, config={}, history=[], epoch=1)
    path = save_checkpoint(tmp_path / "best.pt", ckpt)
    before = path.read_bytes()
    real_save = torch.save

    def half_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(f.tell() // 2)
        raise DISK_FULL

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(OSError):
        save_checkpoint(path, {**ckpt, "epoch": 2})
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_a_sort_copy_that_fails_half_way_leaves_no_partial_file_and_says_why(tagged, photo_folder, tmp_path,
                                                                            monkeypatch):
    before = _digest(photo_folder)
    real_copy = shutil.copy2
    calls = []

    def failing_copy(src, dst, *args, **kwargs):
        calls.append(src)
        if len(calls) == 3:  # the third file: half of it lands, then the disk is full
            with open(src, "rb") as fh, open(dst, "wb") as out:
                out.write(fh.read()[:100])
            raise DISK_FULL
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(shutil, "copy2", failing_copy)
    outcomes = list(sort_into_folders(tagged, tmp_path / "sorted", uncertain_below=0.5))
    failed = [o for o in outcomes if o.action == "failed"]
    assert len(failed) == 1 and failed[0].reason == "No space left on device"
    copied = {o.source.name for o in outcomes if o.action == "copied"}
    on_disk = [p for p in (tmp_path / "sorted").rglob("*") if p.is_file()]
    assert sorted(p.name for p in on_disk) == sorted(copied)  # the half-written copy was removed
    assert _digest(photo_folder) == before  # the photos themselves are untouched


@pytest.mark.parametrize("move", [False, True])
def test_a_sort_cancelled_at_random_points_accounts_for_every_file(photo_folder, tmp_path, move):
    rng = random.Random(7)
    pristine = tmp_path / "pristine"
    shutil.copytree(photo_folder, pristine)
    originals = _digest(pristine)
    for trial in range(100):
        photos = tmp_path / f"photos{trial}"
        shutil.copytree(pristine, photos)
        results = list(tag_folder(list_images(photos), FakeClassifier(), TagOptions(workers=1)))
        out = tmp_path / f"sorted{trial}"
        generator = sort_into_folders(results, out, uncertain_below=0.5, move=move)
        outcomes = [o for _, o in zip(range(rng.randrange(len(results) + 1)), generator)]
        generator.close()  # Cancel between two files
        sorted_files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
        left = _digest(photos)
        done = {o.source.name for o in outcomes if o.action in ("copied", "moved")}
        assert set(sorted_files) == done  # nothing half-written, nothing unreported
        for name, digest in sorted_files.items():
            assert originals[photos.joinpath(name).relative_to(photos)] == digest
        if move:  # each photo is in exactly one place, whole
            assert {p.name for p in left} | set(sorted_files) == {p.name for p in originals}
            assert not {p.name for p in left} & set(sorted_files)
        else:
            assert left == originals
        shutil.rmtree(photos)
        shutil.rmtree(out, ignore_errors=True)


def test_tagging_cancelled_at_random_points_yields_only_whole_results(photo_folder):
    rng = random.Random(3)
    paths = list_images(photo_folder)
    for _ in range(100):
        generator = tag_folder(paths, FakeClassifier(), TagOptions(batch_size=2, workers=2))
        results = [r for _, r in zip(range(rng.randrange(len(paths) + 1)), generator)]
        generator.close()
        assert len({r.path for r in results}) == len(results)  # each file once
        for r in results:
            assert isinstance(r, TagResult) and (r.error is not None or (r.predicted and 0.5 <= r.confidence <= 1))


def test_training_cancelled_at_random_batches_keeps_loadable_checkpoints(tmp_path):
    from tests.synthetic import make_gender_folder
    from training.config import default_config
    from training.engine import StopFlag, fit

    data = make_gender_folder(tmp_path / "g", {"female": 6, "male": 6}, size=32)
    rng = random.Random(11)
    torch.set_num_threads(1)
    for trial in range(6):  # six random stops reach every phase: before the first epoch ends, between, in the last
        stop_at = rng.randrange(1, 8)
        stop = StopFlag()

        class StopAt:
            seen, epoch = 0, None

            def on_batch_end(self, info):
                StopAt.seen += 1
                if StopAt.seen == stop_at:
                    StopAt.epoch = info["epoch"]
                    stop.set()

        config = default_config("gender", input_size=32, epochs=3, batch_size=4, workers=0, warmup_epochs=0,
                                patience=0, out_dir=str(tmp_path / "runs"), run_name=f"t{trial}")
        result = fit("gender", [str(data)], config, callbacks=[StopAt()], stop=stop)
        run = result.run_dir
        assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]  # no half-written file
        if StopAt.epoch is None:  # the run had fewer batches than stop_at
            assert result.stop_reason == "completed"
            continue
        assert result.stop_reason == "cancelled"
        rows = (run / "metrics.csv").read_text().splitlines()[1:] if (run / "metrics.csv").exists() else []
        assert len(rows) == len(result.history) == StopAt.epoch - 1  # the interrupted epoch is not kept
        if result.history:
            assert load_checkpoint(run / "best.pt")["task"] == "gender"
            assert load_checkpoint(run / "last.pt")["epoch"] == len(result.history)
        else:
            assert result.best_path is None and not (run / "last.pt").exists()
