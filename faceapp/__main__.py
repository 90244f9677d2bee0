"""`python -m faceapp` and the `faceapp` command: parse arguments, then open the main window."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="faceapp", description="Tag photo folders by gender and verify faces.")
    parser.add_argument("--version", action="version", version=f"faceapp {__version__}")
    parser.add_argument("--data-dir", metavar="FOLDER",
                        help="where models, logs and exports live (default: the system's app data folder)")
    # Further modes (e.g. --self-test) plug in here and are dispatched in main() before the GUI starts.
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .app import create_window, ensure_app

    app = ensure_app(sys.argv[:1])
    window = create_window(args.data_dir)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
