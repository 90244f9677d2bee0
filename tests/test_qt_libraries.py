"""The check that names the system packages Qt's X11 plugin needs, before Qt aborts naming another."""
from faceapp.core.qt_libraries import XCB_LIBRARIES, advice, missing_packages, uses_xcb


def test_missing_libraries_are_named_by_their_package():
    present = set(XCB_LIBRARIES) - {"xcb-icccm", "xcb-keysyms"}
    find = lambda name: f"lib{name}.so" if name in present else None  # noqa: E731
    missing = missing_packages({"DISPLAY": ":0"}, "linux", find)
    assert missing == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert advice(missing).endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")
    assert missing_packages({"DISPLAY": ":0"}, "linux", lambda name: "found") == []


def test_only_the_x11_plugin_is_checked():
    nothing = lambda name: None  # noqa: E731
    assert missing_packages({"QT_QPA_PLATFORM": "offscreen"}, "linux", nothing) == []
    assert missing_packages({"WAYLAND_DISPLAY": "wayland-0"}, "linux", nothing) == []
    assert missing_packages({"DISPLAY": ":0"}, "win32", nothing) == []
    assert missing_packages({"DISPLAY": ":0"}, "darwin", nothing) == []
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux") and uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")  # X11 session with XWayland
