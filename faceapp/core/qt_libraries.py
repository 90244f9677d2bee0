"""Before Qt starts on Linux: the system libraries its X11 (xcb) platform plugin needs, by package.

When one is missing, Qt aborts the process with a message that blames another library ("Could not load
the Qt platform plugin 'xcb'"), which a new user cannot act on. `missing_packages` finds them first, so
the app can say which packages to install; it never stops the app (a library it cannot see may still be
found by the loader), it only speaks first.
"""
from __future__ import annotations

import ctypes.util
import os
import sys

# library name (as ctypes.util.find_library takes it) -> the Debian/Ubuntu package that provides it
XCB_LIBRARIES = {
    "xcb-icccm": "libxcb-icccm4", "xcb-keysyms": "libxcb-keysyms1", "xcb-cursor": "libxcb-cursor0",
    "xcb-image": "libxcb-image0", "xcb-render-util": "libxcb-render-util0", "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0", "xcb-xkb": "libxcb-xkb1", "xkbcommon-x11": "libxkbcommon-x11-0",
    "X11-xcb": "libx11-xcb1", "EGL": "libegl1", "GL": "libgl1", "fontconfig": "libfontconfig1",
    "dbus-1": "libdbus-1-3",
}


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt will use its X11 plugin: Linux, and no other platform chosen (offscreen, wayland)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") and not environ.get("DISPLAY"))


def missing_packages(environ=os.environ, platform: str = sys.platform, find=ctypes.util.find_library) -> list[str]:
    """Packages whose libraries the xcb plugin needs and the system does not list ([] off X11)."""
    if not uses_xcb(environ, platform):
        return []
    return [package for library, package in XCB_LIBRARIES.items() if find(library) is None]


def advice(packages: list[str]) -> str:
    return ("FaceApp's window needs system libraries that seem to be missing. If it stops with a Qt 'xcb' "
            f"error, install them; on Debian or Ubuntu: sudo apt-get install {' '.join(packages)}")
