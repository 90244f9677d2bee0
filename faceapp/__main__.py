"""`python -m faceapp` and the `faceapp` command: parse arguments, then open the main window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from faceapp import __version__

    parser = argparse.ArgumentParser(prog="faceapp", description="Tag photo folders by gender and verify faces.")
    parser.add_argument("--version", action="version", version=f"faceapp {__version__}")
    parser.add_argument("--data-dir", metavar="FOLDER",
                        help="where models, logs and exports live (default: the system's app data folder)")
    parser.add_argument("--self-test", action="store_true",
                        help="load the active models, tag and verify a few drawn faces, print one line and exit "
                             "(status 0 when all works); needs no display")
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="open at start, as if dropped on the window: a folder (Tag folder), one or two photos "
                             "(Verify: reference, then probe) or model files (.pt: Models)")
    # Further modes plug in here and are dispatched in main() before the GUI starts.
    return parser


def paths_to_open(parser: argparse.ArgumentParser, paths: list[str]) -> list[str]:
    """The command line's paths, absolute; a path that does not exist stops here with argparse's usage error
    (exit status 2), before any window opens."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        parser.error("no such file or folder: " + ", ".join(missing))
    return [str(Path(p).resolve()) for p in paths]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from faceapp.tools.selftest import run_self_test

        return run_self_test(args.data_dir)
    from faceapp.core.qt_libraries import advice, missing_packages

    paths = paths_to_open(parser, args.paths)
    missing = missing_packages()
    if missing:  # Qt would abort naming another library
        print(advice(missing), file=sys.stderr)
    from faceapp.ui.app import ensure_app
    from faceapp.ui.splash import show_splash

    app = ensure_app(sys.argv[:1])
    splash = show_splash(app)  # before torch and the window load: ~0.25 s after launch, not ~2.3 s
    from faceapp.tools.selftest import exit_after_first_show
    from faceapp.ui.app import create_window

    window = create_window(args.data_dir)
    exit_after_first_show(window)  # only with $FACEAPP_EXIT_AFTER_SHOW set: start-up timing
    window.show()
    splash.close()
    if paths:
        window.open_paths(paths)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
