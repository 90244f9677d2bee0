"""Faults where data could be lost: writes that fail half-way, and cancels at random points (seeded loops).

Each write test injects the failure part-way through the new file (the disk fills up) or just before it
takes the old one's place (permission to the folder is lost): the previous file must stay whole, no
temporary may be left behind, and the caller must learn why (the app and the CLI say so). Each cancel
test stops a job at a random point, 100 times, and checks that every file is accounted for: originals
untouched (or, for a move, each in exactly one place, whole), nothing half-written, and the best
checkpoint loadable with torch.load(weights_only=True). Photos and models are made by the tests, small
enough for a busy machine.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from faceapp.core.tagging import (
    SortOutcome,
    TagOptions,
    TagResult,
    export_csv,
    export_json,
    sort_into_folders,
    tag_folder,
    write_sort_report,
)
from training import atomic
from training.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint
from training.imaging import list_images
from training.models import build_model

from ..synthetic import make_gender_folder, make_identity_folder
from .helpers import face_image
from .test_tagging_unit import FakeClassifier

FAULTS = ("disk full", "permission lost")


def _digest(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _temporaries(folder):
    return [p for p in Path(folder).rglob("*") if p.name.endswith((".tmp", ".importing"))]


@pytest.fixture
def tagged(photo_folder):
    return list(tag_folder(list_images(photo_folder), FakeClassifier(), TagOptions(workers=1)))


# ------------------------------------------------------------------------------------- fault injection

class HalfWrite:
    """A file whose writes stop with 'disk full' once `limit` bytes (or characters) went through."""

    def __init__(self, handle, limit: int):
        self.handle, self.limit, self.written = handle, limit, 0

    def write(self, data):
        if self.written + len(data) > self.limit:
            self.handle.write(data[: max(0, self.limit - self.written)])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.written += len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def inject(monkeypatch, fault: str, limit: int = 200) -> None:
    """From now on every file written the project's one atomic way (training.atomic) fails: "disk full"
    once `limit` bytes of the new file went out, "permission lost" when the finished file is to take the
    old one's place."""
    if fault == "disk full":
        real_open, real_fdopen = os.open, os.fdopen
        temporaries = set()  # descriptors of atomic temporaries (".<name>.<id>.tmp")

        def tracking_open(path, *args, **kwargs):
            fd = real_open(path, *args, **kwargs)
            name = Path(path).name
            (temporaries.add if name.startswith(".") and name.endswith(".tmp") else temporaries.discard)(fd)
            return fd

        def filling_fdopen(fd, *args, **kwargs):
            handle = real_fdopen(fd, *args, **kwargs)
            if fd not in temporaries:
                return handle
            temporaries.discard(fd)
            return HalfWrite(handle, limit)

        monkeypatch.setattr(atomic.os, "open", tracking_open)
        monkeypatch.setattr(atomic.os, "fdopen", filling_fdopen)
    else:
        def refusing_replace(src, dst, *args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

        monkeypatch.setattr(atomic.os, "replace", refusing_replace)


def _errno(fault: str) -> int:
    return errno.ENOSPC if fault == "disk full" else errno.EACCES


# ------------------------------------------------------------------------------------- writes that fail

def _sort_report(results, path, uncertain_below):
    outcomes = [SortOutcome(r.path, None, "skipped", f"level {uncertain_below}") for r in results]
    return write_sort_report(outcomes, path)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("write", [export_csv, export_json, _sort_report], ids=["csv", "json", "sort-report"])
def test_an_export_that_fails_half_way_keeps_the_previous_file(tagged, tmp_path, monkeypatch, write, fault):
    path = write(tagged, tmp_path / "tags.out", uncertain_below=0.5)
    before = path.read_bytes()
    inject(monkeypatch, fault)
    with pytest.raises(OSError) as failure:
        write(tagged, path, uncertain_below=0.9)  # another level: other bytes
    assert failure.value.errno == _errno(fault)  # the caller is told why
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["photos", "tags.out"]


@pytest.mark.parametrize("fault", FAULTS)
def test_the_tag_page_says_an_export_failed_and_keeps_the_previous_file(make_window, installed_store, tagged,
                                                                       tmp_path, monkeypatch, fault):
    panel = make_window(installed_store).tag_panel
    for result in tagged:
        panel.model.add(result)
    panel.model.flush()
    said = []
    panel.status.connect(said.append)
    path = tmp_path / "tags.csv"
    assert panel.export("csv", path) == path
    before = path.read_bytes()
    panel.model.set_uncertain_below(0.95)  # the next export differs
    inject(monkeypatch, fault)
    assert panel.export("csv", path) is None
    assert said[-1] == f"Could not write tags.csv: {os.strerror(_errno(fault))}."
    assert path.read_bytes() == before and not _temporaries(tmp_path)


def _tiny_checkpoint(epoch: int) -> dict:
    torch.manual_seed(epoch)
    return make_checkpoint(build_model("matcher"), task="matcher", classes=["different", "same"], input_size=32,
                           normalization={"mean": [0.5] * 3, "std": [0.25] * 3}, framing={}, threshold=0.5,
                           metrics={}, config={}, history=[], epoch=epoch)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_checkpoint_save_that_fails_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fault):
    path = save_checkpoint(tmp_path / "best.pt", _tiny_checkpoint(1))
    before = path.read_bytes()
    inject(monkeypatch, fault, limit=100_000)  # the disk fills up inside the weights
    with pytest.raises(OSError) as failure:  # torch.save says "unexpected pos 1024 vs 918"; this says why
        save_checkpoint(path, _tiny_checkpoint(2))
    assert failure.value.errno == _errno(fault) and failure.value.filename == str(path)
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]


def test_the_cli_says_the_disk_is_full_and_keeps_the_previous_export(tmp_path, monkeypatch, capsys):
    from training.cli import main

    source = save_checkpoint(tmp_path / "run.pt", _tiny_checkpoint(1))
    out = tmp_path / "model.pt"
    assert main(["-q", "export", str(source), str(out)]) == 0
    before = out.read_bytes()
    inject(monkeypatch, "disk full", limit=100_000)
    capsys.readouterr()
    assert main(["-q", "export", "--half", str(source), str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"error: cannot write {out} (No space left on device)"
    assert out.read_bytes() == before and not _temporaries(tmp_path)


def _failing_copy(monkeypatch, nth: int, fault: str, calls: list):
    """shutil's copy of the `nth` file (1-based) fails: half of it lands, then the disk is full; or the
    destination folder refuses the file. Moves across file systems copy the same way."""
    real = shutil.copyfile

    def copyfile(src, dst, *args, **kwargs):
        calls.append(Path(src))
        if len(calls) != nth:
            return real(src, dst, *args, **kwargs)
        if fault == "permission lost":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))
        with open(src, "rb") as fh, open(dst, "wb") as out:
            out.write(fh.read()[:100])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", copyfile)


def _across_file_systems(monkeypatch):
    """A move to another disk: rename fails, so shutil.move copies and then deletes the original."""
    def rename(src, dst, *args, **kwargs):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "rename", rename)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("move", [False, True], ids=["copy", "move"])
def test_a_sort_that_fails_half_way_leaves_no_partial_file_and_says_why(tagged, photo_folder, tmp_path,
                                                                       monkeypatch, move, fault):
    out = tmp_path / "sorted"
    for label in ("female", "male", "uncertain"):  # files that were there before, under the photos' names
        (out / label).mkdir(parents=True)
        for result in tagged:
            (out / label / result.path.name).write_bytes(b"an earlier, different file")
    kept = _digest(out)
    originals = _digest(photo_folder)
    calls = []
    _failing_copy(monkeypatch, 3, fault, calls)
    if move:
        _across_file_systems(monkeypatch)
    outcomes = list(sort_into_folders(tagged, out, uncertain_below=0.5, move=move))
    failed = [o for o in outcomes if o.action == "failed"]
    assert len(failed) == 1 and failed[0].source == calls[2] and failed[0].reason == os.strerror(_errno(fault))
    done = {o.destination.relative_to(out): o.source for o in outcomes if o.action in ("copied", "moved")}
    assert len(done) == len(calls) - 1 == sum(r.ok for r in tagged) - 1  # the run went on after the failure
    assert _digest(out) == {**kept, **{dest: originals[src.relative_to(photo_folder)] for dest, src in done.items()}}
    left = _digest(photo_folder)  # a copy leaves every photo; a move each one it moved, and only those
    assert left == {k: v for k, v in originals.items() if not move or photo_folder / k not in done.values()}


def test_a_move_whose_original_cannot_be_deleted_keeps_it_in_one_place(tagged, photo_folder, tmp_path,
                                                                      monkeypatch):
    """Permission to the photo folder is lost: the copy lands, the original cannot be removed; the copy goes
    again, so the photo is not in two places, and the outcome says why."""
    originals = _digest(photo_folder)
    _across_file_systems(monkeypatch)
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if Path(path).parent == photo_folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    outcomes = list(sort_into_folders(tagged, tmp_path / "sorted", uncertain_below=0.5, move=True))
    assert {o.action for o in outcomes if o.source.name in ("broken.jpg", "notes.png")} == {"skipped"}
    moved = [o for o in outcomes if o.action != "skipped"]
    assert len(moved) == 8 and {(o.action, o.reason) for o in moved} == {("failed", "Permission denied")}
    assert _digest(photo_folder) == originals and not [p for p in (tmp_path / "sorted").rglob("*") if p.is_file()]


# ------------------------------------------------------------------------------------- training faults

@pytest.fixture
def tiny_training(tmp_path, tiny_networks):
    """(data folder, config maker) per task, with the tiny stand-in networks (what the training loop does
    with them does not depend on their size): 2 epochs of 3 (gender) or 2 (matcher) batches, the
    validation, the final report and every checkpoint as in a real run."""
    from training.config import default_config

    data = {"gender": make_gender_folder(tmp_path / "gender_data", {"female": 3, "male": 3}, size=32),
            "matcher": make_identity_folder(tmp_path / "matcher_data", people=4, photos=2, size=32)}
    sizes = {"gender": dict(batch_size=2), "matcher": dict(batch_size=2, pairs_per_epoch=4, val_pairs=4)}

    def config(task, **kw):
        return default_config(task, **{**dict(input_size=32, epochs=2, workers=0, warmup_epochs=0, patience=0,
                                              crop_faces=False, out_dir=str(tmp_path / "runs"), **sizes[task]), **kw})

    return data, config


def _check_run(run: Path, task: str, history: list[dict], min_delta: float, exact_best: bool = True) -> None:
    """The run folder holds whole files that agree with each other: no temporaries; metrics.csv has each
    finished epoch once; last.pt is the last of them; best.pt, read with torch.load(weights_only=True),
    is the epoch the selection rule picks (with `exact_best`; see the checkpoint fault test)."""
    from training.selection import SELECTION, best_epoch

    assert not _temporaries(run)
    epochs = [row["epoch"] for row in history]
    assert epochs == list(range(1, len(history) + 1))
    csv_rows = (run / "metrics.csv").read_text().splitlines()[1:] if (run / "metrics.csv").exists() else []
    assert [int(row.split(",")[0]) for row in csv_rows] == epochs
    if not history:
        assert not (run / "best.pt").exists() and not (run / "last.pt").exists()
        return
    last = load_checkpoint(run / "last.pt", task=task)
    assert last["epoch"] == len(history) and "optimizer_state" in last
    expected = best_epoch(history, SELECTION[task], min_delta)
    if expected is None:  # no epoch had a usable validation score
        assert not (run / "best.pt").exists()
        return
    best = torch.load(run / "best.pt", weights_only=True)
    assert best["task"] == task and (best["epoch"] == expected["epoch"] or not exact_best)
    assert load_checkpoint(run / "best.pt", task=task)["state_dict"].keys() == last["state_dict"].keys()


class StopAfter:
    """A stop flag that reads as set from its `after`-th check on. The training loop checks it before
    every batch, in validation and in the final report, so this is a Cancel at any of those points."""

    def __init__(self, after: int):
        self.after, self.checks, self.hit = after, 0, False

    def is_set(self) -> bool:
        self.checks += 1
        self.hit = self.hit or self.checks >= self.after
        return self.hit

    def set(self) -> None:
        self.hit = True


def test_training_cancelled_at_random_points_and_resumed_keeps_whole_consistent_runs(tiny_training):
    """100 fits, the two tasks in turn: each is cancelled at a random check of the stop flag (or, for a
    draw past the last one, runs to the end); a run with a finished epoch is resumed by the next fit of
    its task, one without starts again, as in the app. After every fit the run folder is consistent; every
    resumed chain ends as a complete run with each epoch once."""
    from training.engine import fit

    data, config = tiny_training
    before = {task: _digest(folder) for task, folder in data.items()}
    checks = {}
    for task in data:  # how many times an uncancelled run checks the flag
        flag = StopAfter(10**9)
        fit(task, [str(data[task])], config(task, run_name=f"{task}-whole"), stop=flag)
        checks[task] = flag.checks
    rng = random.Random(11)
    resume = {"gender": None, "matcher": None}
    outcomes = []
    for trial in range(100):
        task = ("gender", "matcher")[trial % 2]
        flag = StopAfter(rng.randint(1, checks[task] + 1))
        run = resume[task]
        cfg = config(task, resume=str(run)) if run else config(task, run_name=f"{task}-{trial}")
        result = fit(task, [str(data[task])], cfg, stop=flag)
        outcomes.append(result.stop_reason)
        assert result.stop_reason in ("cancelled", "completed")
        if not flag.hit or len(result.history) < cfg.epochs:  # a cancel in the final report: all epochs ran
            assert result.stop_reason == ("cancelled" if flag.hit else "completed")
        _check_run(result.run_dir, task, result.history, cfg.min_delta)
        if result.stop_reason == "completed":
            assert len(result.history) == cfg.epochs  # the chain ends as a whole run
        if run:
            assert result.run_dir == run  # resumed in place, its earlier epochs kept
        resume[task] = result.run_dir if result.stop_reason == "cancelled" and result.history else None
    assert outcomes.count("cancelled") > 50 and outcomes.count("completed") > 5  # both happened, often
    assert {task: _digest(folder) for task, folder in data.items()} == before  # the photos are untouched


@pytest.mark.parametrize("fault", FAULTS)
def test_a_checkpoint_that_cannot_be_written_stops_training_with_the_reason_and_loses_nothing(
        tiny_training, monkeypatch, fault):
    """Every checkpoint save of a run in turn fails (best.pt and last.pt of each epoch, best.pt again with
    the final report): the run stops with an OSError saying why, the checkpoints already written stay
    whole and loadable, and resuming it (once there is room again) completes it."""
    from training.engine import fit

    data, config = tiny_training
    real_save = save_checkpoint
    from training import engine

    saves = []
    monkeypatch.setattr(engine, "save_checkpoint", lambda path, ckpt: saves.append(Path(path).name) or
                        real_save(path, ckpt))
    fit("matcher", [str(data["matcher"])], config("matcher", run_name="count"))
    points = list(saves)
    assert points[:2] == ["best.pt", "last.pt"] and points.count("last.pt") == 2 and points[-1] == "best.pt"
    for n in range(len(points)):
        calls = []

        def save(path, ckpt, n=n, calls=calls):
            calls.append(path)
            if len(calls) == n + 1:
                with monkeypatch.context() as m:
                    inject(m, fault, limit=1_000)
                    return real_save(path, ckpt)
            return real_save(path, ckpt)

        monkeypatch.setattr(engine, "save_checkpoint", save)

        class Errors(list):
            def on_exception(self, exc):
                self.append(exc)

        errors = Errors()
        with pytest.raises(OSError) as failure:
            fit("matcher", [str(data["matcher"])], config("matcher", run_name=f"fail{n}"), callbacks=[errors])
        assert failure.value.errno == _errno(fault) and errors == [failure.value]  # the wizard is told why
        run = Path(calls[-1]).parent
        assert not _temporaries(run)
        for name in ("best.pt", "last.pt"):
            if (run / name).exists():
                torch.load(run / name, weights_only=True)  # whole
        monkeypatch.setattr(engine, "save_checkpoint", real_save)
        if (run / "last.pt").exists():
            done = fit("matcher", [str(data["matcher"])], config("matcher", resume=str(run)))
            assert done.stop_reason == "completed" and done.run_dir == run
            # best.pt may be the epoch whose last.pt failed: validated and whole, but that epoch ran again
            _check_run(run, "matcher", done.history, config("matcher").min_delta, exact_best=False)


# ------------------------------------------------------------------------------------- cancels in the app's jobs

@pytest.mark.parametrize("move", [False, True], ids=["copy", "move"])
def test_a_sort_cancelled_at_random_points_accounts_for_every_file(photo_folder, tagged, tmp_path, move):
    rng = random.Random(7)
    originals = _digest(photo_folder)
    for trial in range(100):
        photos = tmp_path / f"photos{trial}"
        shutil.copytree(photo_folder, photos)
        results = [dataclasses.replace(r, path=photos / r.path.name) for r in tagged]  # the same tags, this copy
        out = tmp_path / f"sorted{trial}"
        generator = sort_into_folders(results, out, uncertain_below=0.5, move=move)
        outcomes = [o for _, o in zip(range(rng.randrange(len(results) + 1)), generator)]
        generator.close()  # Cancel between two files
        sorted_files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
        left = _digest(photos)
        done = {o.source.name for o in outcomes if o.action in ("copied", "moved")}
        assert set(sorted_files) == done  # nothing half-written, nothing unreported
        for name, digest in sorted_files.items():
            assert originals[Path(name)] == digest
        if move:  # each photo is in exactly one place, whole
            assert {p.name for p in left} | set(sorted_files) == {p.name for p in originals}
            assert not {p.name for p in left} & set(sorted_files)
        else:
            assert left == originals
        shutil.rmtree(photos)
        shutil.rmtree(out, ignore_errors=True)


def test_tagging_cancelled_at_random_points_yields_only_whole_results(photo_folder):
    rng = random.Random(3)
    originals = _digest(photo_folder)
    paths = list_images(photo_folder)
    for _ in range(100):
        # two preparation threads, as in the app; photos taken as face crops (finding faces is not what a
        # cancel can break, and it is most of the time)
        generator = tag_folder(paths, FakeClassifier(), TagOptions(batch_size=2, workers=2, assume_crop=True))
        results = [r for _, r in zip(range(rng.randrange(len(paths) + 1)), generator)]
        generator.close()
        assert len({r.path for r in results}) == len(results)  # each file once
        for r in results:
            assert isinstance(r, TagResult) and (r.error is not None or (r.predicted and 0.5 <= r.confidence <= 1))
    assert _digest(photo_folder) == originals  # tagging reads only


def _distinct_matcher(path):
    """The tiny matcher with a small seeded conv as its backbone: photos embed apart (an untrained
    MobileNetV2 maps them all to about one point), and it is quick."""
    from training.inference import FaceMatcher

    matcher = FaceMatcher.load(path)
    torch.manual_seed(0)
    matcher.model.features = nn.Sequential(nn.Conv2d(3, 1280, 8, stride=8), nn.ReLU()).eval()
    return matcher


def test_a_gallery_search_cancelled_at_random_points_keeps_its_cache_right(tiny_models, tmp_path):
    """100 searches, each stopped after a random number of identities: what was yielded is the start of
    the full answer, the embedding cache holds only right entries (a later search with it gives the full
    answer), and the gallery's files are untouched."""
    from faceapp.core import verify
    from faceapp.core.embedding_cache import EmbeddingCache

    root = tmp_path / "gallery"
    for person in range(5):
        (root / f"person{person}").mkdir(parents=True)
        for photo in range(2):
            face_image(10 * person + photo).save(root / f"person{person}" / f"{photo}.jpg")
    (root / "person0" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    face_image(99).save(root / "loose.jpg")
    before = _digest(root)
    matcher = _distinct_matcher(tiny_models["matcher"])
    probe = face_image(3)
    gallery = verify.gallery_identities(root)
    reference = EmbeddingCache()
    full = list(verify.gallery_search(matcher, probe, gallery, batch_size=2, cache=reference))
    assert len(full) == 7 and len({m.probability for m in full if isinstance(m, verify.GalleryMatch)}) == 6

    def same(a, b):
        if isinstance(a, verify.GalleryMatch):
            return (a.identity, a.best_path, a.images) == (b.identity, b.best_path, b.images) and \
                a.probability == pytest.approx(b.probability, abs=1e-5)
        return a == b

    rng = random.Random(5)
    cache = EmbeddingCache()
    for _ in range(100):
        if rng.random() < 0.2:
            cache = EmbeddingCache()  # a new model or setting empties it; here: a new cache
        search = verify.gallery_search(matcher, probe, gallery, batch_size=2, cache=cache)
        got = [item for _, item in zip(range(rng.randrange(len(full) + 1)), search)]
        search.close()  # Cancel between two identities
        assert len(got) <= len(full) and all(same(a, b) for a, b in zip(got, full))
        for path in (p for paths in gallery.values() for p in paths):
            _, kept = cache.lookup(path)
            _, right = reference.lookup(path)
            assert kept is None or np.allclose(kept, right, atol=1e-5), path
    again = list(verify.gallery_search(matcher, probe, gallery, batch_size=2, cache=cache))
    assert len(again) == len(full) and all(same(a, b) for a, b in zip(again, full))
    assert _digest(root) == before
