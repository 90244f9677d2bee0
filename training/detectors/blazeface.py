"""BlazeFace face finding: boxes, confidences and 6 landmarks for faces in images of any size.

The front-camera model sees a 128 px square and finds faces that fill a good part of it. A photo is
first shown whole (letterboxed to 128 px: the coarse pass). Small faces need more pixels: the fine pass
runs the same fully convolutional network on the photo letterboxed to a larger canvas (FINE_SIDE), with
anchors laid over the whole canvas, so a face gets twice the pixels (at 256 px) that the coarse pass
gives it, as if every 128 px window of the canvas were run, without seams between windows. Detections
of every pass are mapped back to the photo's pixels and merged by weighted non-maximum suppression.
Everything is plain torch and numpy on the CPU, on the caller's thread."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from training.detectors.blazeface_net import INPUT_SIDE, load_network
from training.detectors.detection import Detection, detections_from_arrays
from training.detectors.letterbox import letterbox_view, render
from training.detectors.ssd import decode, make_anchors, scores_of, weighted_nms
from training.imaging import rgb_array

WEIGHTS_ENV = "FACEAPP_BLAZEFACE_WEIGHTS"
WEIGHTS_PARTS = ("models", "blazeface", "blazeface.pth")

# The confidence a face needs. MediaPipe uses 0.75 for this model, but on still photos that lets through
# 0.24 false faces per image without one (smooth noise, stripes, shapes, photo corners). Measured with
# `python -m benchmarks.detectors DATA --sections threshold` (7,500 clean and distorted photos: 300 of
# the V1 *training* identities x 25 variants, and 600 images without a face): recall 99.96 % at 0.75,
# 99.95 % at 0.85, 99.88 % at 0.90, 99.84 % at 0.93, 99.83 % at 0.95, 99.60 % at 0.97; false faces per
# image 0.242, 0.133, 0.092, 0.058, 0.048, 0.033. 0.93 is the knee.
MIN_SCORE = 0.93
IOU_THRESHOLD = 0.3  # the paper's: faces overlapping more than this are one face
# The fine pass's canvas: twice the coarse pass's pixels per face. On generated 1024x768 group photos
# (`benchmarks.detectors --sections groups,false`: 40 photos, 160 faces), finding every face with 256
# found 96-100 % of faces whose box is 10 % of the photo's height or more, 39 % at 8 % and none at 6 %;
# Haar, whose full pass stops at 12 % of the shorter side, found 39 % at 10 %, 62-87 % above. Tiles
# instead (the coarse pass plus 3x2 overlapping 128 px passes on tiles of half the longer side) found
# as many, fewer at 8 % (30 %), for twice the CPU. A 384 px canvas also finds 90 % at 6 % and all at
# 8 %, but gives 0.12 detections per group photo that match no face (0.07 with 256) and 3x the false
# faces on 640x480 images without one (0.41 against 0.135 per image), for 1.8x the CPU. 256 is the
# default; 384 suits a search for every small face in a large group photo.
FINE_SIDE = 256
# BlazeFace's box is tighter than the Haar boxes the LFW framing convention (training.faces) was measured
# with: on 300 clean V1 probe frames (LFW deep-funneled, 250 px; benchmarks/detectors.py --sections
# framing) its median side is 0.423 of the frame (quartiles 0.399 / 0.447), where Haar's calibrated box
# gives 0.464. A crop of side `box side / BOX_TO_FRAME` around a BlazeFace box reproduces an LFW frame.
BOX_TO_FRAME = 0.423
# ...and it sits lower: on 400 LFW deep-funneled frames (every 23rd), its centre is a median 0.050 of the
# frame below the frame's centre (quartiles 0.038 / 0.066; across: 0.001), with a median side of 0.418,
# where Haar's calibrated box is centred (0.000). A box crop raises the box by this many box sides first;
# without it the bundled matcher (0.7 framing) lost 3.5 points of V1 accuracy to BlazeFace box crops.
BOX_CENTRE_DROP = 0.119
SMALL_FACES = ("auto", "always", "never")


class BlazeFaceWeightsError(RuntimeError):
    """The BlazeFace weights are missing or unreadable (an installation problem, not a photo problem)."""


def weights_path() -> Path:
    """Where the weights are: env override, a PyInstaller bundle, the checkout, a pip install's data."""
    override = os.environ.get(WEIGHTS_ENV)
    if override:
        if not Path(override).is_file():
            raise BlazeFaceWeightsError(f"{WEIGHTS_ENV} points to {override}, which is not a file")
        return Path(override)
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)  # set only in a PyInstaller-frozen app
    if bundle:
        roots.append(Path(bundle) / "resources")
    roots.append(Path(__file__).resolve().parents[2] / "resources")  # the source checkout
    roots.append(Path(sys.prefix) / "share" / "faceapp" / "resources")
    for root in roots:
        candidate = root.joinpath(*WEIGHTS_PARTS)
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(r.joinpath(*WEIGHTS_PARTS)) for r in roots)
    raise BlazeFaceWeightsError(f"BlazeFace weights not found (looked in: {looked}); set {WEIGHTS_ENV}")


class BlazeFaceDetector:
    """Find faces with BlazeFace's front model. Thread-safe for `detect` (the network is read-only).

    min_score: the confidence a face needs. small_faces: "auto" runs the fine pass only when the coarse
    pass finds nothing (enough for "the main face"), "always" runs both and merges them (every face of
    a group photo), "never" runs the coarse pass alone.
    """

    def __init__(self, weights=None, min_score: float = MIN_SCORE, iou_threshold: float = IOU_THRESHOLD,
                 small_faces: str = "auto", fine_side: int = FINE_SIDE):
        if small_faces not in SMALL_FACES:
            raise ValueError(f"small_faces must be one of {SMALL_FACES}, got {small_faces!r}")
        if fine_side % 16 or fine_side <= INPUT_SIDE:
            raise ValueError(f"fine_side must be a multiple of 16 above {INPUT_SIDE}, got {fine_side}")
        path = Path(weights) if weights is not None else weights_path()
        try:
            self.net = load_network(path)
        except (OSError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            # Missing, truncated, not a state dict, or another network's: an installation problem.
            raise BlazeFaceWeightsError(f"BlazeFace weights {path} could not be loaded: {exc}") from exc
        self.min_score = float(min_score)
        self.iou_threshold = float(iou_threshold)
        self.small_faces = small_faces
        self.fine_side = int(fine_side)
        self._anchor_cache = {side: make_anchors(side) for side in (INPUT_SIDE, self.fine_side)}

    def detect(self, image, small_faces: str | None = None) -> list[Detection]:
        """Faces in `image` (PIL or uint8 RGB/gray array), the main one first (`training.faces.prominence`), in
        the image's own pixels.

        The coarse pass shows the whole image at 128 px. The fine pass shows it at `fine_side` px: the
        network is fully convolutional and its anchors tile any canvas, so this is like running it on
        every 128 px window of that canvas at once, without seams. It never enlarges an image (one
        smaller than `fine_side` has no face the coarse pass could not see that is worth a crop).
        """
        return self.detect_many([image], small_faces)[0]

    def detect_many(self, images, small_faces: str | None = None) -> list[list[Detection]]:
        """`detect` for several images at once, the same faces for each: the coarse passes of all of
        them run as one network batch (and the fine passes of those that need one as another), which
        costs about half the CPU a photo of one image at a time on this 2-core VM (4.5 against 10 ms at
        32 LFW photos; the network's per-layer overhead is shared)."""
        mode = small_faces or self.small_faces
        if mode not in SMALL_FACES:
            raise ValueError(f"small_faces must be one of {SMALL_FACES}, got {mode!r}")
        rgbs = [rgb_array(image) for image in images]
        found: list[list] = [[] for _ in rgbs]
        sized = [i for i, rgb in enumerate(rgbs) if rgb.shape[0] and rgb.shape[1]]
        for i, candidates in zip(sized, self._passes([rgbs[i] for i in sized], INPUT_SIDE)):
            found[i].append(candidates)
        fine = [i for i in sized if max(rgbs[i].shape[:2]) >= self.fine_side
                and (mode == "always" or (mode == "auto" and not len(found[i][0][2])))]
        for i, candidates in zip(fine, self._passes([rgbs[i] for i in fine], self.fine_side)):
            found[i].append(candidates)
        out = []
        for rgb, passes in zip(rgbs, found):
            if not passes:
                out.append([])
                continue
            boxes, points, scores = (np.concatenate([f[k] for f in passes]) for k in range(3))
            out.append(detections_from_arrays(*weighted_nms(boxes, points, scores, self.iou_threshold),
                                              rgb.shape[1], rgb.shape[0]))
        return out

    def detect_at(self, image, side: int) -> list[Detection]:
        """One pass alone: the whole image letterboxed to `side` px (128: coarse; `fine_side`: fine)."""
        if side % 16 or side < INPUT_SIDE:
            raise ValueError(f"side must be a multiple of 16 from {INPUT_SIDE}, got {side}")
        rgb = rgb_array(image)
        if not rgb.size:
            return []
        return detections_from_arrays(*weighted_nms(*self._pass(rgb, side), self.iou_threshold), *rgb.shape[1::-1])

    def _pass(self, rgb: np.ndarray, side: int):
        """Candidates above min_score of one letterboxed view, in image pixels: (boxes, keypoints, scores)."""
        return self._passes([rgb], side)[0]

    def _passes(self, rgbs: list[np.ndarray], side: int) -> list:
        """`_pass` for several images, their views run through the network as one batch."""
        if not rgbs:
            return []
        views = [letterbox_view(rgb.shape[1], rgb.shape[0], side) for rgb in rgbs]
        logits, raw = self.run_network(np.stack([render(rgb, view) for rgb, view in zip(rgbs, views)]))
        out = []
        for view, image_logits, image_raw in zip(views, logits, raw):
            scores = scores_of(image_logits)
            keep = scores >= self.min_score
            boxes, points = decode(image_raw[keep], self._anchors(side)[keep])
            boxes = view.to_image(boxes.reshape(-1, 2, 2)).reshape(-1, 4)
            out.append((boxes, view.to_image(points), scores[keep]))
        return out

    def _anchors(self, side: int) -> np.ndarray:
        if side not in self._anchor_cache:
            self._anchor_cache[side] = make_anchors(side)
        return self._anchor_cache[side]

    def run_network(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw (logits N x A, regressions N x A x 16) for N x S x S x 3 uint8 RGB inputs, on the caller's
        thread alone (`one_thread`)."""
        with one_thread(), torch.inference_mode():  # every torch op: a forked child must not use OpenMP's pool
            x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
            logits, raw = self.net(x)
        return logits.numpy(), raw.numpy()


@contextmanager
def one_thread():
    """Run the block on torch's intra-op threads of 1 for the calling thread. The network's layers are too
    small to share: on the 2-core VM under load, two OpenMP threads made a photo's detection take 380 ms
    of wall time (190 ms CPU, mostly spinning) against 18 ms (10 ms CPU) on one, and tagging runs several
    preparation threads beside the model anyway.

    OpenMP's setting is per thread, so a model on another thread keeps its own. A worker (any thread but
    the main one, or any thread of a child process: tagging's preparation pool, the benchmarks' probe
    processes) is set to 1 for good: switching back and forth makes oneDNN rebuild every layer's kernels
    (35 ms CPU a photo instead of 10). The main thread of the main process, which may run a model itself,
    is switched for the block and back. A child forked after its parent ran OpenMP work hangs in its first
    parallel region (libgomp's team is not forked): the benchmarks' probe processes did, so every torch op
    of a detection runs inside this block."""
    before = torch.get_num_threads()
    if before == 1:
        yield
        return
    if threading.current_thread() is not threading.main_thread() or multiprocessing.parent_process() is not None:
        torch.set_num_threads(1)
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
