"""Teacher embeddings for distilling the matcher (issue 6): dlib's face-recognition ResNet on clean photos.

Training-time only: the app, the wizard and the tests never need dlib. Needs `pip install -e ".[teacher]"`
(dlib-bin and face-recognition-models: dlib's public-domain models, whose training data excluded LFW
identities).

Writes an `.npz` with `keys` (`<identity>/<file name>`, the same key for the original photo and for its
packed crop) and `embeddings` (N x 128, float16, unit length after subtracting their mean: dlib's raw
descriptors all lie in a narrow cone, cosine 0.8 between strangers, which makes a poor target). Pass it to
`python -m training train-matcher ... --teacher FILE`.
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from training.data.teacher import teacher_key
from training.imaging import ImageLoadError, load_image

from .protocols import distill_photos, v1_train_photos

_MODELS: dict = {}


def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")  # importing it needs pkg_resources
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('the teacher needs: pip install -e ".[teacher]" (dlib-bin and face-recognition-models)')
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def init_models() -> None:
    """Load dlib's models into this process (a pool's initializer)."""
    import dlib

    folder = _models_dir()
    _MODELS["detect"] = dlib.get_frontal_face_detector()
    _MODELS["shape"] = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
    _MODELS["net"] = dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
    _MODELS["rect"] = dlib.rectangle


def embed(path: str, mirror: bool = False) -> tuple[np.ndarray | None, bool]:
    """(unit 128-d embedding or None if unreadable, whether dlib found the face itself). With `mirror`,
    the mean of the photo's and its mirror image's descriptors (the box mirrored, landmarks found again)."""
    try:
        rgb = np.asarray(load_image(path))
    except ImageLoadError:
        return None, False
    box, found = face_box(rgb)
    h, w = rgb.shape[:2]
    vec = descriptor(rgb, box)
    if mirror:
        flipped = np.ascontiguousarray(rgb[:, ::-1])
        vec = vec + descriptor(flipped, _MODELS["rect"](w - 1 - box.right(), box.top(), w - 1 - box.left(),
                                                         box.bottom()))
    return vec / max(float(np.linalg.norm(vec)), 1e-8), found


def face_box(rgb: np.ndarray):
    """(dlib rectangle of the largest face, whether dlib found it); funnelled LFW photos centre the face, so
    when dlib finds none the box is the central 45 % of the photo."""
    boxes = _MODELS["detect"](rgb, 1)
    if len(boxes):
        return max(boxes, key=lambda b: b.area()), True
    h, w = rgb.shape[:2]
    return _MODELS["rect"](int(w * 0.275), int(h * 0.275), int(w * 0.725), int(h * 0.725)), False


def landmarks(rgb: np.ndarray, box) -> np.ndarray:
    """dlib's 5 landmarks (eye corners and nose) in the box, as a (5, 2) float array of x, y."""
    shape = _MODELS["shape"](rgb, box)
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], dtype=np.float32)


def descriptor(rgb: np.ndarray, box) -> np.ndarray:
    """The teacher's unit descriptor of the face in `box` (not yet centred; see the module's docstring)."""
    vec = np.asarray(_MODELS["net"].compute_face_descriptor(rgb, _MODELS["shape"](rgb, box)), dtype=np.float32)
    return vec / max(float(np.linalg.norm(vec)), 1e-8)


def centred(descriptors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Teacher targets: unit descriptors minus the photos' mean, unit length again (see the module's docstring)."""
    out = descriptors - mean
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-8)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("data", type=Path, help="the shared data folder (holds lfw_deepfunneled/ and benchmarks/)")
    p.add_argument("out", type=Path, help="output .npz file")
    p.add_argument("--processes", type=int, default=2, help="worker processes")
    p.add_argument("--photos", choices=("v1", "distill"), default="v1",
                   help="v1: the V1 training photos; distill: every photo benchmarks.protocols.distill_photos "
                        "allows (LFW outside the V1 test identities and G1 val, FACECOM Task A train)")
    p.add_argument("--mirror", action="store_true",
                   help="average each photo's descriptor with its mirror image's (twice the time): a target that "
                        "does not change when the student sees the photo flipped")
    p.add_argument("--limit", type=int, default=0, help="embed only the first N photos (0: all), for a trial")
    args = p.parse_args(argv)
    photos = v1_train_photos(args.data) if args.photos == "v1" else [src for src, _ in distill_photos(args.data)]
    paths = [str(src) for src in photos]
    if args.limit:
        paths = paths[: args.limit]
    start = time.perf_counter()
    keys, vectors, missed = [], [], 0
    with Pool(args.processes, initializer=init_models) as pool:
        results = pool.imap(partial(embed, mirror=args.mirror), paths, chunksize=16)
        for i, (path, (vec, found)) in enumerate(zip(paths, results), 1):
            if vec is None:
                continue
            keys.append(teacher_key(path))
            vectors.append(vec)
            missed += not found
            if i % 500 == 0:
                print(f"{i}/{len(paths)} photos, {time.perf_counter() - start:.0f} s", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".part.npz")
    vectors = np.stack(vectors)
    vectors = centred(vectors, vectors.mean(axis=0))
    np.savez(tmp, keys=np.array(keys), embeddings=vectors.astype(np.float16))
    tmp.replace(args.out)
    print(f"{len(keys)} teacher embeddings in {time.perf_counter() - start:.0f} s "
          f"({missed} with the fallback box, {len(paths) - len(keys)} unreadable) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
