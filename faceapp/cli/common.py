"""What both console commands share: exit codes, one-line errors, and which model file to load.

The app keeps its models in its data folder (`faceapp.ui.data_folder.data_path`, from Qt's QStandardPaths). The
commands must not import Qt, so `app_data_folder` finds the same folder by the rules Qt follows (a test
compares the two); `--model` and `--data-dir` / $FACEAPP_DATA_DIR override it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from faceapp import APP_NAME, ORG_NAME
from faceapp.core.model_store import TASK_TITLES, ModelStore

OK, SOME_FAILED, USAGE = 0, 1, 2  # all files fine / some could not be read / bad arguments or model
INTERRUPTED = 130  # the shell's code for Ctrl-C
DATA_DIR_ENV = "FACEAPP_DATA_DIR"  # the same variable as faceapp.ui.data_folder.DATA_DIR_ENV (which imports Qt)


class CommandError(Exception):
    """A problem with the arguments, the input or the model: printed as one line, exit status 2."""


def app_data_folder(override=None) -> Path:
    """The app's data folder without Qt: `override`, $FACEAPP_DATA_DIR, or where Qt's AppDataLocation
    puts <organisation>/<application> on this system."""
    chosen = override or os.environ.get(DATA_DIR_ENV)
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / ORG_NAME / APP_NAME


def add_model_options(parser: argparse.ArgumentParser, task: str) -> None:
    title = TASK_TITLES[task].lower()
    parser.add_argument("--model", metavar="PATH", type=Path,
                        help=f"{title} checkpoint (.pt); default: the one active in the app, else the bundled one")
    parser.add_argument("--data-dir", metavar="FOLDER", type=Path,
                        help=f"the app's data folder whose active model to use (default: ${DATA_DIR_ENV}, "
                             "else the system's app data folder)")
    parser.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps")


def model_path(task: str, explicit: Path | None, data_dir: Path | None) -> tuple[Path, str]:
    """The checkpoint to load and where it came from, in words ("given", "active in <folder>", "bundled")."""
    if explicit is not None:
        return explicit, "given"
    store = ModelStore(app_data_folder(data_dir) / "models")
    path = store.active_path(task)
    if path is None:
        raise CommandError(f"no {TASK_TITLES[task].lower()} found (model folder {store.user_dir}, bundled "
                           f"models {store.bundled_dir}); pass one with --model PATH")
    return path, "bundled" if path == store.bundled_path(task) else f"active in {store.user_dir}"


def load_model(task: str, args: argparse.Namespace):
    """(GenderClassifier or FaceMatcher, what was loaded in words) as --model/--data-dir/--device say;
    CommandError (one line) when the file or the device cannot be used."""
    from training.checkpoint import CheckpointError
    from training.inference import FaceMatcher, GenderClassifier

    path, source = model_path(task, args.model, args.data_dir)
    cls = GenderClassifier if task == "gender" else FaceMatcher
    try:
        model = cls.load(path, device=args.device)
    except (CheckpointError, ValueError, RuntimeError) as exc:  # the file, or the device (resolve_device)
        raise CommandError(str(exc).rstrip(".")) from exc
    except OSError as exc:
        raise CommandError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return model, f"{path} ({source}, on {model.device})"


def say(prog: str, message: str) -> None:
    """One line on stderr, prefixed with the command's name as argparse's own messages are."""
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
