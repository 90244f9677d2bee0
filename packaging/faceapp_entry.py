"""The frozen app's entry script (PyInstaller runs a script, not `-m`, so the package keeps its relative imports)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must run its task, not open another window
    from faceapp.__main__ import main

    sys.exit(main())
