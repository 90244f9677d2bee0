"""`python -m faceapp` and the `faceapp` command: parse arguments, then open the main window."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from faceapp import __version__

    parser = argparse.ArgumentParser(prog="faceapp", description="Tag photo folders by gender and verify faces.")
    parser.add_argument("--version", action="version", version=f"faceapp {__version__}")
    parser.add_argument("--data-dir", metavar="FOLDER",
                        help="where models, logs and exports live (default: the system's app data folder)")
    parser.add_argument("--self-test", action="store_true",
                        help="load the active models, tag and verify a few drawn faces, print one line and exit "
                             "(status 0 when all works); needs no display")
    # Further modes plug in here and are dispatched in main() before the GUI starts.
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.self_test:
        from faceapp.tools.selftest import run_self_test

        return run_self_test(args.data_dir)
    from faceapp.core.qt_libraries import advice, missing_packages

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
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
