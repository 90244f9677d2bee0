"""faceapp-tag: a row for every file, error rows for broken ones, exit codes, resume after a kill, shards."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from faceapp.cli import tag as tag_cli
from faceapp.cli.common import model_path
from faceapp.cli.inputs import in_shard, parse_shard, stable_hash
from faceapp.core.tagging import csv_columns

from .cli_helpers import photo_folder, tiny_model


@pytest.fixture(scope="module")
def gender_model(tmp_path_factory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("models") / "gender.pt", "gender")


@pytest.fixture()
def photos(tmp_path) -> dict[str, list[Path]]:
    return photo_folder(tmp_path / "photos")


def run(*argv) -> int:
    return tag_cli.main([str(a) for a in argv])


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def all_files(photos) -> set[str]:
    return {str(p) for p in photos["good"] + photos["broken"]}


def test_every_file_gets_a_row_and_broken_ones_say_why(tmp_path, photos, gender_model, capsys):
    out = tmp_path / "results.csv"
    assert run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q") == 1  # some failed
    rows = csv_rows(out)
    assert list(rows[0]) == csv_columns(["female", "male"])
    assert sorted(r["path"] for r in rows) == sorted(all_files(photos))
    errors = {Path(r["path"]).name: r["error"] for r in rows if r["label"] == "error"}
    assert errors == {"broken.jpg": "not an image file (or an unsupported format)",
                      "empty.png": "file is empty (0 bytes)"}
    for row in rows:
        if row["label"] != "error":
            assert row["label"] in ("female", "male", "uncertain") and row["predicted"] in ("female", "male")
            assert abs(float(row["p_female"]) + float(row["p_male"]) - 1) < 1e-4
    err = capsys.readouterr().err
    assert "2 files could not be tagged" in err and "broken.jpg: not an image file" in err


def test_all_readable_exits_0_and_not_recursive_stays_at_the_top(tmp_path, gender_model):
    photos = photo_folder(tmp_path / "photos", broken=False)
    out = tmp_path / "results.csv"
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "-q") == 0
    assert sorted(r["path"] for r in csv_rows(out)) == sorted(str(p) for p in photos["good"]
                                                              if p.parent.name == "photos")


def test_json_lines_parse_one_object_per_file(tmp_path, photos, gender_model):
    out = tmp_path / "results.jsonl"
    assert run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q") == 1
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["path"] for r in records) == sorted(all_files(photos))
    assert {r["label"] for r in records if r["error"]} == {"error"}
    assert all(set(r["probabilities"]) == {"female", "male"} for r in records if not r["error"])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_resume_after_a_kill_mid_row_loses_and_duplicates_nothing(tmp_path, photos, gender_model, suffix, capsys):
    out = tmp_path / f"results{suffix}"
    run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q")
    whole = out.read_bytes()
    lines = whole.splitlines(keepends=True)
    kept = b"".join(lines[:4])  # (CSV: the header and 3 rows) and the first 20 bytes of the next row
    out.write_bytes(kept + lines[4][:20])
    capsys.readouterr()
    assert run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "--resume") == 1
    assert "dropped an unfinished last row" in capsys.readouterr().err
    resumed = out.read_bytes()
    assert resumed.startswith(kept)  # the whole rows stay as they were
    paths = [r["path"] for r in csv_rows(out)] if suffix == ".csv" else \
        [json.loads(line)["path"] for line in resumed.decode().splitlines()]
    assert len(paths) == len(set(paths)) and set(paths) == all_files(photos)
    assert sorted(resumed.splitlines()) == sorted(whole.splitlines())  # the same rows, in another order


def test_a_row_cut_inside_a_quoted_field_is_dropped_too(tmp_path, gender_model):
    """A file name with a newline is a quoted, two-line CSV field: a kill right after that newline leaves a
    last row whose lines all end in one, and resume must still see that it is unfinished."""
    photos = photo_folder(tmp_path / "photos", top=2, nested=0, broken=False)
    odd = tmp_path / "photos" / "two\nlines.jpg"
    odd.write_bytes(photos["good"][0].read_bytes())
    out = tmp_path / "results.csv"
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "-q") == 0
    whole = out.read_bytes()
    cut = whole.index(b"two\n") + len(b"two\n")
    out.write_bytes(whole[:cut])
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "-q", "--resume") == 0
    paths = [r["path"] for r in csv_rows(out)]
    assert sorted(paths) == sorted(map(str, [*photos["good"], odd]))


def test_resume_leaves_a_damaged_or_foreign_file_alone(tmp_path, photos, gender_model, capsys):
    out = tmp_path / "notes.jsonl"
    out.write_text('{"path": "a.jpg"}\nsomething else entirely\n{"path": "b.jpg"}\n')
    before = out.read_bytes()
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "--resume", "-q") == 2
    assert "damaged at line 2" in capsys.readouterr().err and out.read_bytes() == before


def test_resume_of_a_finished_output_tags_nothing_and_still_reports_its_failures(tmp_path, photos, gender_model):
    out = tmp_path / "results.csv"
    run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q")
    before = out.read_bytes()
    assert run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q", "--resume") == 1
    assert out.read_bytes() == before


def test_an_interrupted_run_leaves_whole_rows_that_resume_completes(tmp_path, photos, gender_model, monkeypatch):
    out = tmp_path / "results.jsonl"
    write = tag_cli.ResultsWriter.write
    written = []

    def interrupt_after_three(self, result):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(result.path)
        write(self, result)

    monkeypatch.setattr(tag_cli.ResultsWriter, "write", interrupt_after_three)
    assert run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q") == 130
    assert len(out.read_text().splitlines()) == 3
    monkeypatch.undo()
    run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q", "--resume")
    paths = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert sorted(paths) == sorted(all_files(photos))


def test_shards_partition_the_files_exactly(tmp_path, photos, gender_model):
    outs = [tmp_path / f"shard{i}.csv" for i in range(3)]
    for i, out in enumerate(outs):
        run(tmp_path / "photos", "-r", "-o", out, "--model", gender_model, "-q", "--shard", f"{i}/3")
    shards = [{r["path"] for r in csv_rows(out)} for out in outs]
    assert sum(map(len, shards)) == len(all_files(photos)) and set().union(*shards) == all_files(photos)
    root = tmp_path / "photos"
    for i, shard in enumerate(shards):  # chosen by the path relative to the folder: any mount point agrees
        assert all(in_shard(Path(p).relative_to(root).as_posix(), (i, 3)) for p in shard)


def test_the_shard_hash_is_stable_across_machines_and_runs():
    assert stable_hash("Aaron_Eckhart/Aaron_Eckhart_0001.jpg") == int.from_bytes(
        hashlib.blake2b(b"Aaron_Eckhart/Aaron_Eckhart_0001.jpg", digest_size=8).digest(), "big")
    assert parse_shard("2/4") == (2, 4)
    for bad in ("4/4", "-1/4", "1/0", "a/b", "1"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_a_file_list_with_relative_and_missing_entries(tmp_path, photos, gender_model):
    listed = tmp_path / "list.csv"
    listed.write_text("id,path\n1,photos/face 00.jpg\n2,photos/sub/deeper/nested0.png\n3,photos/gone.jpg\n")
    out = tmp_path / "results.csv"
    assert run(listed, "-o", out, "--model", gender_model, "-q") == 1
    rows = {Path(r["path"]).name: r for r in csv_rows(out)}
    assert set(rows) == {"face 00.jpg", "nested0.png", "gone.jpg"} and rows["gone.jpg"]["error"] == "file not found"
    plain = tmp_path / "list.txt"
    plain.write_text("photos/face 01.jpg\n\nphotos/face 02.jpg\n")
    assert run(plain, "-o", tmp_path / "plain.csv", "--model", gender_model, "-q") == 0
    assert len(csv_rows(tmp_path / "plain.csv")) == 2


def test_the_uncertain_level_defaults_to_the_models_own(tmp_path, photos, gender_model):
    strict = tiny_model(tmp_path / "strict.pt", "gender", uncertain_below=0.99)  # untrained: ~50 % confident
    for model, extra, expected in ((strict, [], {"uncertain"}),
                                   (strict, ["--uncertain-below", "0%"], {"female", "male"}),
                                   (gender_model, ["--uncertain-below", "0.999"], {"uncertain"})):
        out = tmp_path / "results.csv"
        run(tmp_path / "photos", "-o", out, "--model", model, "-q", "--overwrite", *extra)
        assert {r["label"] for r in csv_rows(out) if not r["error"]} <= expected


def test_the_photos_are_only_read(tmp_path, photos, gender_model):
    def state():
        return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "photos").rglob("*") if p.is_file()}

    before = state()
    run(tmp_path / "photos", "-r", "-o", tmp_path / "photos" / "results.csv", "--model", gender_model, "-q")
    after = state()
    after.pop(tmp_path / "photos" / "results.csv")
    assert after == before


@pytest.mark.parametrize("argv, message", [
    (["-o", "{tmp}/r.txt"], "must end in .csv or .jsonl"),
    (["-o", "{tmp}/exists.csv"], "already exists: add --resume"),
    (["-o", "{tmp}/r.csv", "--resume", "--overwrite"], "contradict"),
    (["-o", "{tmp}/r.csv", "--model", "{tmp}/exists.csv"], "exists.csv"),
    (["-o", "{tmp}/r.csv", "--device", "tpu"], "unknown device"),
])
def test_usage_and_model_errors_exit_2_with_one_line(tmp_path, photos, gender_model, capsys, argv, message):
    (tmp_path / "exists.csv").write_text("path\n")
    argv = [a.format(tmp=tmp_path) for a in argv]
    if "--model" not in argv:
        argv += ["--model", str(gender_model)]
    assert run(tmp_path / "photos", *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("faceapp-tag: error: ") and message in err and err.count("\n") == 1


def test_argument_errors_follow_argparse(tmp_path, capsys):
    for argv in ([tmp_path, "-o", tmp_path / "r.csv", "--shard", "3/3"], [tmp_path]):
        with pytest.raises(SystemExit) as stopped:
            run(*argv)
        assert stopped.value.code == 2
    assert "i counts from 0" in capsys.readouterr().err
    assert run(tmp_path / "missing", "-o", tmp_path / "r.csv") == 2
    assert "neither a folder nor a file list" in capsys.readouterr().err


def test_resume_refuses_an_output_with_other_columns(tmp_path, photos, gender_model, capsys):
    out = tmp_path / "results.csv"
    out.write_text("path,label\nx.jpg,male\n")
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "--resume", "-q") == 2
    assert "other columns" in capsys.readouterr().err and out.read_text() == "path,label\nx.jpg,male\n"


def test_the_default_model_is_the_apps_active_one_else_the_bundled_one(tmp_path, gender_model):
    from faceapp.core.model_store import ModelStore

    path, source = model_path("gender", None, tmp_path / "data")
    assert source == "bundled" and path == ModelStore(tmp_path).bundled_path("gender")
    store = ModelStore(tmp_path / "data" / "models")
    entry = store.import_checkpoint(gender_model, task="gender")
    assert model_path("gender", None, tmp_path / "data") == (entry.path, f"active in {store.user_dir}")
    assert model_path("gender", gender_model, tmp_path / "data") == (gender_model, "given")


def test_the_console_scripts_are_declared():
    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["faceapp-tag"] == "faceapp.cli.tag:main" and scripts["faceapp-verify"] == "faceapp.cli.verify:main"


def test_faces_all_writes_a_row_per_face_and_resumes_by_photo(tmp_path, gender_model, monkeypatch, capsys):
    """--faces all: every face of a photo is a row with its face_index and box; the default stays one row."""
    from PIL import Image

    from faceapp.core import tag_preparation
    from training.faces import FaceBox, FaceCrop

    def two_faces(image, framing, assume_crop=False):
        return [FaceCrop(Image.new("RGB", (40, 40), "white"), FaceBox(1, 2, 30, 30), 2, False, "face 1 of 2", "haar"),
                FaceCrop(Image.new("RGB", (20, 20), "black"), FaceBox(50, 5, 12, 12), 2, False, "face 2 of 2", "haar")]

    monkeypatch.setattr(tag_preparation, "find_faces", two_faces)
    photos = photo_folder(tmp_path / "photos", top=3, nested=0, broken=False)["good"]
    out = tmp_path / "faces.csv"
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "--faces", "all") == 0
    rows = csv_rows(out)
    assert sorted((r["path"], r["face_index"], r["face_x"], r["face_w"]) for r in rows) == sorted(
        (str(p), i, x, w) for p in photos for i, x, w in (("0", "1", "30"), ("1", "50", "12")))
    assert "3 images, 6 faces" in capsys.readouterr().err
    # a resumed run skips photos whose rows are there (all of a photo's rows are written at once)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:3]))  # the header and the first photo's two rows
    assert run(tmp_path / "photos", "-o", out, "--model", gender_model, "--faces", "all", "--resume", "-q") == 0
    assert sorted((r["path"], r["face_index"]) for r in csv_rows(out)) == sorted((r["path"], r["face_index"])
                                                                                 for r in rows)
    main = tmp_path / "main.csv"
    assert run(tmp_path / "photos", "-o", main, "--model", gender_model, "-q") == 0
    assert sorted(r["face_index"] for r in csv_rows(main)) == ["0", "0", "0"]
    former = tmp_path / "largest.csv"  # the option's former name gives the same rows
    assert run(tmp_path / "photos", "-o", former, "--model", gender_model, "--faces", "largest", "-q") == 0
    assert csv_rows(former) == csv_rows(main)


def test_faces_takes_only_main_or_all(tmp_path, gender_model, capsys):
    with pytest.raises(SystemExit):
        run(tmp_path, "-o", tmp_path / "x.csv", "--model", gender_model, "--faces", "some")
    assert "invalid choice" in capsys.readouterr().err
