"""Build the frozen app and check it: frozen `--self-test`, bundle size, time from launch to first window.

    python packaging/check_build.py                      # pyinstaller build.spec, then the checks
    python packaging/check_build.py --skip-build         # check dist/FaceApp as it is
    python packaging/check_build.py --screenshot /tmp/faceapp.png

The frozen app runs with a fresh data folder and settings folder (temporary), so it uses the bundled default
models. The window is timed on $DISPLAY, else on an Xvfb started here, else on Qt's offscreen platform.
Not part of CI (a CUDA build takes many minutes and GBs); tests/test_selftest.py covers the self-test there.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_WINDOW = re.compile(r"first window: (?:(?P<inapp>[\d.]+) s|unknown) "
                          r"after process start \(epoch (?P<epoch>[\d.]+)\)")
# Files that only a CUDA build of torch brings: what a CPU-only bundle would not contain.
WINDOW_MANAGERS = ("icewm", "openbox", "twm")
CUDA_ONLY = re.compile(r"(^|/)(nvidia|cuda|cuda_bindings|cuda_pathfinder|triton)/|"
                       r"lib(torch_cuda|c10_cuda|caffe2_nvrtc|torch_nvshmem|cudnn|cublas|cufft|curand|cusolver|"
                       r"cusparse|nccl|nvrtc|nvJitLink|nvjitlink|cudart|cupti|nvshmem|nvToolsExt|nvjpeg)[^/]*$")


class Report(list):
    """The summary lines; each is also printed as soon as it is known."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)


def run_build(work: Path, dist: Path) -> float:
    log_path = work / "pyinstaller.log"
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "PyInstaller", str(ROOT / "build.spec"), "--noconfirm",
               "--distpath", str(dist), "--workpath", str(work)]
    print(f"building: {' '.join(command)}\n  (log: {log_path})", flush=True)
    started = time.perf_counter()
    with open(log_path, "w") as log:
        status = subprocess.call(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.perf_counter() - started
    if status != 0:
        print("".join(log_path.read_text(errors="replace").splitlines(True)[-40:]))
        raise SystemExit(f"pyinstaller failed with status {status} after {elapsed:.0f} s; see {log_path}")
    print(f"built in {elapsed / 60:.1f} min", flush=True)
    return elapsed


def executable(bundle: Path) -> Path:
    mac_app = bundle.with_suffix(".app") / "Contents" / "MacOS" / "faceapp"
    for candidate in (bundle / "faceapp", bundle / "faceapp.exe", mac_app):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"no faceapp executable in {bundle}; build first (drop --skip-build)")


def bundle_size(bundle: Path) -> tuple[int, int, Counter]:
    """(total bytes, bytes only a CUDA torch brings, bytes per top-level component) of the regular files."""
    total = cuda = 0
    parts: Counter = Counter()
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        relative = path.relative_to(bundle).as_posix()
        total += size
        cuda += size if CUDA_ONLY.search(relative) else 0
        inner = relative.split("/", 1)[1] if relative.startswith("_internal/") else relative
        parts[inner.split("/", 1)[0] if "/" in inner else "(top-level files)"] += size
    return total, cuda, parts


def isolated_env(tmp: Path, **extra) -> dict:
    env = dict(os.environ, FACEAPP_DATA_DIR=str(tmp / "data"), XDG_CONFIG_HOME=str(tmp / "config"))
    for name in ("FACEAPP_RESOURCES", "FACEAPP_HAAR_CASCADE", "FACEAPP_EXIT_AFTER_SHOW", "PYTHONPATH"):
        env.pop(name, None)  # the bundle must find everything on its own
    env.update(extra)
    return env


def self_test(exe: Path, tmp: Path, timeout: float) -> tuple[int, str, float]:
    started = time.perf_counter()
    done = subprocess.run([str(exe), "--self-test"], env=isolated_env(tmp, QT_QPA_PLATFORM="offscreen"),
                          capture_output=True, text=True, timeout=timeout, check=False)
    output = (done.stdout.strip() + ("\n" + done.stderr.strip() if done.returncode else "")).strip()
    return done.returncode, output, time.perf_counter() - started


class Display:
    """$DISPLAY if set; else an Xvfb of our own; else Qt's offscreen platform (no screenshot possible)."""

    def __init__(self):
        self.xvfb = self.wm = self.wm_name = None
        self.env: dict = {}
        if os.environ.get("DISPLAY"):
            self.name = os.environ["DISPLAY"]
        elif shutil.which("Xvfb"):
            number = next(n for n in range(99, 200) if not Path(f"/tmp/.X{n}-lock").exists())
            self.name = f":{number}"
            self.xvfb = subprocess.Popen(["Xvfb", self.name, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(100):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    break
                time.sleep(0.05)
            self.env = {"DISPLAY": self.name}
            # A window manager, where one is installed, draws the title bar and icon users see in a screenshot.
            self.wm_name = next((wm for wm in WINDOW_MANAGERS if shutil.which(wm)), None)
            if self.wm_name:
                self.wm = subprocess.Popen([self.wm_name], env=dict(os.environ, DISPLAY=self.name),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.0)  # let it take over the root window before the app maps its window
        else:
            self.name = None
            self.env = {"QT_QPA_PLATFORM": "offscreen"}

    def describe(self) -> str:
        if self.xvfb is not None:
            return f"Xvfb {self.name}" + (f" + {self.wm_name}" if self.wm_name else "")
        return f"display {self.name}" if self.name else "offscreen (no X server)"

    def close(self) -> None:
        for process in (self.wm, self.xvfb):
            if process is not None:
                process.terminate()
                process.wait(10)


def launch(exe: Path, tmp: Path, display: Display, hold_s: float, timeout: float, while_open=None):
    """Start the app, wait for its first-window line; returns (launch-to-paint s, in-app s or None)."""
    env = isolated_env(tmp, FACEAPP_EXIT_AFTER_SHOW=str(hold_s))
    if display.name:
        env.pop("QT_QPA_PLATFORM", None)  # a real (or virtual) X server: time the platform users get
    env.update(display.env)
    started = time.time()
    process = subprocess.Popen([str(exe)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(timeout, process.kill)  # a window that never paints must not hang the check
    watchdog.start()
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            match = FIRST_WINDOW.search(line)
            if match:
                if while_open is not None:
                    while_open()
                process.wait(timeout)
                inapp = match.group("inapp")
                return float(match.group("epoch")) - started, (float(inapp) if inapp else None)
        process.wait(timeout)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    raise SystemExit(f"the app exited ({process.returncode}) without showing a window:\n{''.join(seen[-30:])}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-build", action="store_true", help="check the existing bundle")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="PyInstaller's dist folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder")
    parser.add_argument("--runs", type=int, default=3, help="launches to time (default 3)")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the frozen app's window (needs X)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per frozen run")
    args = parser.parse_args(argv)

    build_s = None if args.skip_build else run_build(args.work, args.dist)
    bundle = args.dist / "FaceApp"
    exe = executable(bundle)
    total, cuda, parts = bundle_size(bundle)
    report = Report()
    report.append(f"bundle: {bundle} ({total / 1e9:.2f} GB)")
    report.append("  largest parts: " + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in parts.most_common(8)))
    if cuda:
        report.append(f"  CUDA-only files {cuda / 1e9:.2f} GB -> a CPU-only torch bundle would be about "
                      f"{(total - cuda) / 1e9:.2f} GB")
    if build_s is not None:
        report.append(f"build time: {build_s / 60:.1f} min")

    with tempfile.TemporaryDirectory(prefix="faceapp-check-") as folder:
        tmp = Path(folder)
        status, output, seconds = self_test(exe, tmp, args.timeout)
        report.append(f"frozen --self-test (exit {status}, {seconds:.1f} s wall): {output}")
        display = Display()
        try:
            times = [launch(exe, tmp, display, 0, args.timeout) for _ in range(max(0, args.runs))]
            if times:
                outside = [t for t, _ in times]
                inside = [t for _, t in times if t is not None]
                report.append(f"launch to first window on {display.describe()}: "
                              + ", ".join(f"{t:.2f}" for t in outside)
                              + f" s (median {statistics.median(outside):.2f} s"
                              + (f"; in-app measure median {statistics.median(inside):.2f} s" if inside else "") + ")")
            if args.screenshot:
                if display.name is None or not shutil.which("import"):
                    report.append("screenshot: skipped (needs an X display and ImageMagick's `import`)")
                else:
                    def grab():
                        time.sleep(2.0)  # let lazy page contents and the status bar settle
                        subprocess.run(["import", "-window", "root", str(args.screenshot)],
                                       env=dict(os.environ, DISPLAY=display.name), check=True, timeout=60)
                    launch(exe, tmp, display, 4.0, args.timeout, while_open=grab)
                    report.append(f"screenshot: {args.screenshot}")
        finally:
            display.close()
    print("\n".join(["", "== FaceApp build check =="] + report), flush=True)  # once more, together
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
