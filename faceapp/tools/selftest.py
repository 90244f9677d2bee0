"""Checks that an installed or frozen FaceApp works: `faceapp --self-test`, and the launch-to-first-window hook.

`run_self_test` needs no display and no QApplication (only QtCore, for the data folder and the saved
device setting): it loads the active models through the app's model store, tags a few drawn faces with
`tagging.tag_folder` and scores a drawn pair with `verify.score_pair` — the code paths the pages use —
imports the window's modules without showing it, then prints one line and returns the exit status (0 ok,
1 with the reason).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from faceapp.core.uptime import seconds_since_process_start

SELF_TEST_IMAGES = 4
EXIT_AFTER_SHOW_ENV = "FACEAPP_EXIT_AFTER_SHOW"
SKIN_TONES = ((241, 194, 160), (224, 172, 140), (198, 134, 100), (141, 85, 54))
FIRST_WINDOW_PREFIX = "first window:"


class SelfTestError(Exception):
    """A check that failed; the message is one sentence naming what and why."""


# ---------------------------------------------------------------- the self-test

def run_self_test(data_folder=None, *, bundled_dir=None, device: str | None = None, stream=None) -> int:
    """Run the checks and print one summary line to `stream` (stdout); return 0 if all passed, else 1."""
    stream = stream if stream is not None else _console()
    started = time.perf_counter()
    try:
        summary = _checks(data_folder, bundled_dir, device)
    except SelfTestError as exc:
        print(f"self-test FAILED: {exc}", file=stream, flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - any crash is a failed self-test, with its trace for the report
        print(f"self-test FAILED: unexpected {type(exc).__name__}: {exc}", file=stream, flush=True)
        if sys.stderr is not None:
            traceback.print_exc()
        return 1
    print(f"self-test ok: {summary}, {time.perf_counter() - started:.1f} s", file=stream, flush=True)
    return 0


def _checks(data_folder, bundled_dir, device) -> str:
    from faceapp.core.active_models import ActiveModels
    from faceapp.core.model_store import TASK_TITLES, TASKS, ModelStore
    from training.checkpoint import CheckpointError

    store = ModelStore(models_folder(data_folder), bundled_dir=bundled_dir)
    models = ActiveModels(store, device=device or saved_device())
    loaded, described = {}, {}
    for task in TASKS:
        title = TASK_TITLES[task].lower()
        path = store.active_path(task)
        if path is None:
            raise SelfTestError(f"no {title} is installed (model folder {store.user_dir}, "
                                f"bundled models {store.bundled_dir})")
        source = "bundled" if path == store.bundled_path(task) else "user"
        try:
            loaded[task] = models.get(task)
        except CheckpointError as exc:  # its sentence names the file
            raise SelfTestError(f"the {title} ({source}) cannot be loaded: {exc}") from exc
        except OSError as exc:
            raise SelfTestError(f"the {title} {path} cannot be read: {exc.strerror or exc}") from exc
        described[task] = f"{path.name} ({source}, {loaded[task].meta.get('arch', '?')}"
    device_name = models.resolved_device()
    _check_window_modules()
    _check_face_detector()
    images = [drawn_face(seed) for seed in range(SELF_TEST_IMAGES)]
    results = _check_tagging(loaded["gender"], images)
    labels = Counter(r.predicted for r in results)
    faces_found = sum(r.faces_found > 0 for r in results)
    score, threshold = _check_pair(loaded["matcher"], images[0])
    counts = ", ".join(f"{n} {label}" for label, n in sorted(labels.items()))
    return (f"gender model {described['gender']}), matcher {described['matcher']}, threshold {threshold:.2f}), "
            f"device {device_name}, {SELF_TEST_IMAGES} images tagged ({counts}; faces found in {faces_found}), "
            f"pair score {score:.2f}, window modules ok")


# The window, and what its pages import only when first used (the sweep chart, the training wizard).
WINDOW_MODULES = ("faceapp.ui.main_window", "faceapp.ui.sweep_chart", "faceapp.ui.wizard.wizard")


def _check_window_modules() -> None:
    """Import (not show) the main window and everything it and its pages pull in, the parts they import on
    first use included: a frozen build that misses a module a page needs (say pyqtgraph's QtOpenGL) fails
    here, not when a user opens it. Needs no display."""
    import importlib

    for name in WINDOW_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SelfTestError(f"the main window cannot load: {type(exc).__name__}: {exc}") from exc


def _check_face_detector() -> None:
    """Find the Haar cascade file (a missing one is a broken install); tagging then uses it."""
    from training import faces

    try:
        faces.cascade_path()
    except faces.FaceDetectorError as exc:
        raise SelfTestError(f"the face detector cannot start: {exc}") from exc


def _check_tagging(classifier, images) -> list:
    from faceapp.core.tagging import TagOptions, tag_folder

    with tempfile.TemporaryDirectory(prefix="faceapp-selftest-") as folder:
        paths = []
        for i, image in enumerate(images):  # through files, as the Tag page reads them
            paths.append(Path(folder) / f"face_{i}.png")
            image.save(paths[-1])
        results = list(tag_folder(paths, classifier, TagOptions(workers=1, batch_size=len(paths))))
    if len(results) != len(images):
        raise SelfTestError(f"tagging returned {len(results)} results for {len(images)} images")
    for result in results:
        if result.error:
            raise SelfTestError(f"tagging {result.path.name} failed: {result.error}")
        if "face finding failed" in result.note:
            raise SelfTestError(f"face finding failed on {result.path.name}: {result.note}")
        values = list(result.probabilities.values())
        if result.predicted not in classifier.classes or not all(map(math.isfinite, values)) \
                or abs(sum(values) - 1.0) > 1e-3:
            raise SelfTestError(f"the gender model gave an invalid prediction {result.predicted!r} {values}")
    return results


def _check_pair(matcher, image) -> tuple[float, float]:
    """Score a drawn face against a noisy copy of itself (the Verify page's pair path)."""
    from faceapp.core.verify import score_pair
    from training import distortions

    probe = distortions.apply(image, "noisy", severity=2, seed=0)
    score = score_pair(matcher, image, probe).probability
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        raise SelfTestError(f"the face matcher gave an invalid pair score {score}")
    return score, matcher.threshold


def drawn_face(seed: int, size: tuple[int, int] = (200, 240)):
    """A simple face drawn with PIL (skin oval, hair, brows, eyes, nose, mouth) on a plain background,
    softened like a photo: the Haar cascade finds every seed's face blurred (radius 2 and up), few sharp."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    skin = SKIN_TONES[seed % len(SKIN_TONES)]
    image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(170, 240, 3)))
    draw = ImageDraw.Draw(image)
    hair = tuple(int(v) for v in rng.integers(10, 70, 3))
    draw.ellipse([w * 0.2, h * 0.1, w * 0.8, h * 0.42], fill=hair)
    draw.ellipse([w * 0.24, h * 0.16, w * 0.76, h * 0.86], fill=skin)
    shade = tuple(max(0, c - 60) for c in skin)
    for cx in (0.38, 0.62):
        draw.rectangle([w * (cx - 0.08), h * 0.35, w * (cx + 0.08), h * 0.375], fill=hair)  # brow
        draw.ellipse([w * (cx - 0.06), h * 0.41, w * (cx + 0.06), h * 0.47], fill=(245, 245, 245))
        draw.ellipse([w * (cx - 0.03), h * 0.415, w * (cx + 0.03), h * 0.465], fill=(20, 20, 20))
    draw.polygon([(w * 0.5, h * 0.47), (w * 0.45, h * 0.6), (w * 0.55, h * 0.6)], fill=shade)
    draw.ellipse([w * 0.4, h * 0.67, w * 0.6, h * 0.72], fill=(130, 40, 50))
    return image.filter(ImageFilter.GaussianBlur(3))


# ---------------------------------------------------------------- where the app keeps things

def data_folder(override=None) -> Path:
    """The folder the app uses (`app.data_path`), without creating it."""
    from faceapp.ui.data_folder import data_path

    return data_path(override)


def models_folder(override=None) -> Path:
    return data_folder(override) / "models"


def saved_device() -> str:
    """The device chosen on the Models page (QSettings), "auto" if none or unreadable."""
    try:
        from faceapp.ui.data_folder import set_app_identity
        from faceapp.ui.settings import Settings

        set_app_identity()
        return str(Settings().get("device") or "auto")
    except Exception:  # noqa: BLE001 - a broken settings file must not fail the self-test
        return "auto"


def _console():
    """stdout; in a windowed Windows build (no stdout) the console of the shell that started us, if any."""
    if sys.stdout is not None:
        return sys.stdout
    if sys.platform == "win32":
        import ctypes

        if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            return open("CONOUT$", "w", encoding="utf-8", errors="replace")  # kept open until exit
    return open(os.devnull, "w")


# ---------------------------------------------------------------- launch-to-first-window timing

def exit_after_first_show(window) -> None:
    """With $FACEAPP_EXIT_AFTER_SHOW=SECONDS set: at the window's first paint print the time since launch,
    then close it SECONDS later (0: at once). Used by packaging/check_build.py to time start-up."""
    value = os.environ.get(EXIT_AFTER_SHOW_ENV, "").strip()
    if not value:
        return
    try:
        delay_ms = max(0, round(float(value) * 1000))
    except ValueError:
        delay_ms = 0
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                watched.removeEventFilter(self)
                elapsed = seconds_since_process_start()
                shown = "unknown" if elapsed is None else f"{elapsed:.2f} s"
                print(f"{FIRST_WINDOW_PREFIX} {shown} after process start (epoch {time.time():.3f})",
                      file=_console(), flush=True)
                QTimer.singleShot(delay_ms, window.close)
            return False

    window.installEventFilter(FirstPaint(window))
