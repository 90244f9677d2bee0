"""`faceapp-tag FOLDER|LIST -o results.csv|.jsonl`: tag a photo archive by gender without the window.

The same tagging as the app's Tag page (`faceapp.core.tagging.tag_folder`: face finding, framing, the model's
mirror view, the uncertain level), streamed: files are listed lazily and every result is written as one
whole row as soon as it is known, so memory stays flat for millions of files and a killed run continues
with --resume. --shard i/N splits one archive across N machines by a stable hash of each file's relative
path. Photos are only read, never written.

Exit status: 0 every file was tagged, 1 some could not be read (their rows have an `error`), 2 bad
arguments, input or model (one line on stderr, as argparse says usage errors).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from faceapp.cli.common import INTERRUPTED, OK, SOME_FAILED, USAGE, CommandError, add_model_options, load_model, say
from faceapp.cli.inputs import InputError, InputFile, Listing, in_shard, list_inputs, parse_shard
from faceapp.cli.results_file import DoneSet, PastRun, ResultsFileError, ResultsWriter, output_format, read_past_run

PROG = "faceapp-tag"
FAILURES_SHOWN = 20  # the rest are in the output's error column


def build_parser() -> argparse.ArgumentParser:
    from faceapp.core.tagging import FACES, FORMER_FACES, TagOptions

    defaults = TagOptions()
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tag photos by gender, as the app's Tag page does, into a CSV or JSON Lines file "
                               "written row by row. Exit status: 0 all tagged, 1 some files could not be read, "
                               "2 bad arguments or model.")
    parser.add_argument("input", type=Path, metavar="FOLDER|LIST",
                        help="a folder of photos, or a list of files: a .csv with a 'path' column (else its "
                             "first column), or any other file with one path per line; relative entries are "
                             "relative to the list's folder")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="RESULTS",
                        help="results file: .csv, or .jsonl for JSON Lines (one object per line)")
    parser.add_argument("-r", "--recursive", action="store_true", help="include photos in sub-folders")
    parser.add_argument("--resume", action="store_true",
                        help="continue RESULTS: skip the files already in it and append (an unfinished last "
                             "row, left by a kill, is dropped and done again); a missing RESULTS starts anew")
    parser.add_argument("--overwrite", action="store_true", help="replace RESULTS if it exists")
    parser.add_argument("--shard", type=_shard, default=(0, 1), metavar="i/N",
                        help="tag only shard i of N (i counts from 0), chosen by a stable hash of each file's "
                             "path relative to FOLDER (or as written in LIST): N runs cover every file once")
    parser.add_argument("--uncertain-below", type=_level, metavar="LEVEL",
                        help="confidence under which a photo is labelled 'uncertain': 0.9 or 90%% "
                             "(default: the level the model suggests, else 60%%)")
    parser.add_argument("--assume-crop", action="store_true",
                        help="the photos are already face crops: skip face finding")
    parser.add_argument("--faces", choices=(*FACES, *FORMER_FACES), default=defaults.faces,
                        help="main: one row per photo, its main face (by size and nearness to the centre; "
                             "'largest' is its former name); all: one row per face of a group photo (face_index 0 "
                             "is the main one, with its box); a photo without a face has one row either way")
    parser.add_argument("--batch-size", type=_positive, default=defaults.batch_size, help="images per model call")
    parser.add_argument("--workers", type=_positive, default=defaults.workers,
                        help="threads reading photos and finding faces")
    add_model_options(parser, "gender")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no summary; files that could not be read are still listed")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return tag(args)
    except CommandError as exc:
        say(PROG, f"error: {exc}")
        return USAGE
    except KeyboardInterrupt:  # before tagging began (while loading the model): nothing was written
        say(PROG, "interrupted")
        return INTERRUPTED


# ---------------------------------------------------------------- the run

def tag(args: argparse.Namespace) -> int:
    """Check the arguments, load the model, then tag every file not done yet into the output."""
    fmt = _check_output(args)
    listing = Listing()
    files = _listed(args, listing)  # a missing folder is said before the model loads
    classifier, described = load_model("gender", args)
    level = _uncertain_level(args, classifier)
    classes = sorted(classifier.classes)
    past = _past_run(args, fmt, classes)
    todo = Pending(files, args.shard, past.done if past else DoneSet())
    writer = _writer(args, fmt, classes, level, past)
    if not args.quiet:
        say(PROG, f"gender model {described}; uncertain below {level:.0%}" + _resumed_text(past, args.output))
    tally = Tally()
    try:
        interrupted = _run(todo, classifier, _options(args, level), writer, tally, _progress(args, past))
    finally:
        writer.close()
    return _report(args, tally, past, todo, listing, interrupted)


def _run(todo, classifier, options, writer: ResultsWriter, tally: "Tally", bar) -> bool:
    """Tag and write each pending file; True when stopped by Ctrl-C (the rows written so far are whole)."""
    from faceapp.core.tagging import tag_folder

    results = tag_folder((f.path for f in todo), classifier, options)
    try:
        for photo in _by_photo(results):
            if len(photo) == 1:
                writer.write(photo[0])
            else:
                writer.write_all(photo)  # a photo's rows in one write: --resume never finds half a photo
            for result in photo:
                tally.add(result, options.uncertain_below)
            tally.photos += 1
            bar.update()
    except KeyboardInterrupt:
        return True
    except (InputError, ResultsFileError) as exc:
        raise CommandError(str(exc)) from exc
    finally:
        results.close()  # stops the reading threads
        bar.close()
    return False


def _by_photo(results):
    """Lists of consecutive results of the same photo (one per face with --faces all)."""
    photo = []
    for result in results:
        if photo and result.index != photo[0].index:
            yield photo
            photo = []
        photo.append(result)
    if photo:
        yield photo


@dataclass
class Pending:
    """The listed files in this shard that the output does not hold yet; counts what it skipped."""

    files: Iterator[InputFile]
    shard: tuple[int, int]
    done: DoneSet
    already: int = 0

    def __iter__(self):
        for item in self.files:
            if not in_shard(item.key, self.shard):
                continue
            if item.path in self.done:
                self.already += 1
                continue
            yield item


@dataclass
class Tally:
    """Counts per label and the first few failures of this run (not every result: memory stays flat)."""

    labels: Counter = field(default_factory=Counter)  # per row: per face with --faces all
    photos: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def add(self, result, uncertain_below: float) -> None:
        self.labels[result.label(uncertain_below)] += 1
        if not result.ok:
            self.failed += 1
            if len(self.failures) < FAILURES_SHOWN:
                self.failures.append((result.path, result.error))

    @property
    def total(self) -> int:
        return sum(self.labels.values())


# ---------------------------------------------------------------- pieces of the run

def _check_output(args) -> str:
    try:
        fmt = output_format(args.output)
    except ResultsFileError as exc:
        raise CommandError(str(exc)) from exc
    if args.resume and args.overwrite:
        raise CommandError("--resume and --overwrite contradict each other; choose one")
    if args.input.is_file() and args.output.exists() and os.path.samefile(args.input, args.output):
        raise CommandError(f"{args.output} is the input list; write the results to another file")
    return fmt


def _uncertain_level(args, classifier) -> float:
    from training.calibration import FALLBACK_UNCERTAIN_BELOW

    if args.uncertain_below is not None:
        return args.uncertain_below
    return classifier.uncertain_below or FALLBACK_UNCERTAIN_BELOW


def _past_run(args, fmt: str, classes) -> PastRun | None:
    if not (args.resume and args.output.exists()):
        return None
    from faceapp.core.tagging import csv_columns

    try:
        return read_past_run(args.output, fmt, csv_columns(classes))
    except ResultsFileError as exc:
        raise CommandError(str(exc)) from exc


def _listed(args, listing: Listing):
    try:
        return list_inputs(args.input, args.recursive, listing)
    except InputError as exc:
        raise CommandError(str(exc)) from exc


def _writer(args, fmt: str, classes, level: float, past: PastRun | None) -> ResultsWriter:
    try:
        return ResultsWriter(args.output, fmt, classes, level, past, args.overwrite)
    except ResultsFileError as exc:
        raise CommandError(str(exc)) from exc


def _options(args, level: float):
    from faceapp.core.tagging import TagOptions

    return TagOptions(assume_crop=args.assume_crop, uncertain_below=level, batch_size=args.batch_size,
                      workers=args.workers, faces=args.faces)


def _progress(args, past: PastRun | None):
    """A tqdm bar on stderr whose total is counted on a thread (a second, lazy listing), so tagging
    starts at once even when listing millions of files takes a while."""
    from tqdm import tqdm

    bar = tqdm(disable=args.quiet, unit="img", file=sys.stderr, dynamic_ncols=True, smoothing=0.05,
               mininterval=0.5 if sys.stderr.isatty() else 30.0, delay=0.5)  # delay: the total is known by then
    if not args.quiet:
        def count():
            try:
                bar.total = sum(1 for _ in Pending(list_inputs(args.input, args.recursive, Listing()), args.shard,
                                                   past.done if past else DoneSet()))
            except Exception:  # noqa: BLE001 - the bar then shows no total; the run itself reports errors
                pass
        threading.Thread(target=count, name="faceapp-tag-count", daemon=True).start()
    return bar


def _resumed_text(past: PastRun | None, output: Path) -> str:
    if past is None:
        return ""
    dropped = "; dropped an unfinished last row, to be done again" if past.dropped else ""
    return f"; resuming {output.name}: {past.rows:,} rows already there{dropped}"


def _report(args, tally: Tally, past: PastRun | None, todo: Pending, listing: Listing, interrupted: bool) -> int:
    """The summary and the failures on stderr; the exit status."""
    failed_before = past.errors if past else 0
    if not args.quiet:
        seconds = time.perf_counter() - tally.started
        labels = ", ".join(f"{label} {n:,}" for label, n in sorted(tally.labels.items())) or "nothing to do"
        rate = f" ({tally.photos / seconds:.1f} images/s)" if tally.photos and seconds > 0 else ""
        notes = [f"{todo.already:,} already in {args.output.name}" if todo.already else "", listing.skipped_text()]
        extra = "".join(f"; {n}" for n in notes if n)
        rows = f", {tally.total:,} faces" if tally.total != tally.photos else ""
        say(PROG, f"{tally.photos:,} images{rows} in {seconds:.1f} s{rate}: {labels}{extra}; results in {args.output}")
    _list_failures(args, tally, failed_before)
    if interrupted:
        say(PROG, f"interrupted; every row written is whole: run again with --resume to continue {args.output}")
        return INTERRUPTED
    return SOME_FAILED if tally.failed or failed_before else OK


def _list_failures(args, tally: Tally, failed_before: int) -> None:
    if tally.failed:
        say(PROG, f"{tally.failed:,} file{'s' * (tally.failed != 1)} could not be tagged:")
        for path, reason in tally.failures:
            print(f"  {path}: {reason}", file=sys.stderr)
        if tally.failed > len(tally.failures):
            print(f"  … and {tally.failed - len(tally.failures):,} more (rows with an error in {args.output})",
                  file=sys.stderr)
    if failed_before:
        say(PROG, f"{failed_before:,} file{'s' * (failed_before != 1)} tagged by an earlier run could not be "
                  f"read either (rows with an error in {args.output})")


# ---------------------------------------------------------------- argument types

def _shard(text: str) -> tuple[int, int]:
    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _level(text: str) -> float:
    """'0.9' or '90%' -> 0.9."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level such as 0.9 or 90%") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0 … 1 (0 % … 100 %)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
