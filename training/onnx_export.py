"""Export a FaceApp checkpoint to ONNX, so a service without FaceApp or torch can run the model.

The exported graph computes what the app shows, not the bare network: the gender graph takes normalised
face crops and returns calibrated class probabilities (the image and its mirror, logits divided by the
checkpoint's temperature, softmax averaged over the two views: `GenderClassifier.predict`), and the
matcher graph returns unit-length embeddings averaged with the mirror's (`FaceMatcher.embed`). Everything
a service must do around the graph (face framing, resize, normalisation, class names, the decision
levels) is written into the model's `metadata_props`, each value a JSON string, so the one .onnx file
is enough to use the model the way the app does.

The graph is traced by torch's TorchScript-based exporter (`torch.onnx.export(..., dynamo=False)`). On
this project's torch (2.14) it exports the two networks in 2-3 s each, against 10 s (ResNet-18) and 29 s
(MobileNetV2) for the torch.export-based exporter, which also needs `onnxscript`; both give the same
numbers (within 1.2e-7 of torch on ONNX Runtime). The networks have no data-dependent control flow, the
case tracing is exact for, and the exporter exists in every torch FaceApp supports (>= 2.3). torch
deprecates it in favour of `dynamo=True`; should a later torch remove it, that argument (and
`dynamic_shapes` instead of `dynamic_axes`) is the change. Either way torch needs the `onnx` package
to write the file: `pip install 'faceapp[onnx]'`.
"""
from __future__ import annotations

import inspect
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

import training
from training.atomic import atomic_open
from training.calibration import valid_level, valid_temperature
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.inference import DEFAULT_FRAMING

# Opset 17 runs on every ONNX Runtime since 1.13 and on the other common runtimes (TensorRT, OpenVINO);
# nothing in these networks needs a newer operator.
OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAMES = {"gender": "probabilities", "matcher": "embeddings"}
METADATA_VERSION = 1  # bump when a metadata key changes meaning
INSTALL_HINT = "pip install 'faceapp[onnx]'"


class OnnxUnavailableError(RuntimeError):
    """The optional `onnx` package is missing; the message says how to install it."""


def require_onnx():
    """The `onnx` module, which torch's exporter needs to write a file; checked before any work."""
    try:
        import onnx
    except ImportError as exc:
        raise OnnxUnavailableError(f"exporting to ONNX needs the onnx package: {INSTALL_HINT}") from exc
    return onnx


# ---- what the graph computes ----


class GenderGraph(nn.Module):
    """images (N, 3, H, W), normalised → calibrated class probabilities (N, C), as GenderClassifier gives."""

    def __init__(self, model: nn.Module, temperature: float):
        super().__init__()
        self.model, self.temperature = model, float(temperature)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(images, flip=True, temperature=self.temperature)


class MatcherGraph(nn.Module):
    """images (N, 3, H, W), normalised → unit-length embeddings (N, D), mirror averaged, as FaceMatcher.embed."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.embed(images, flip=True)


def graph_module(ckpt: dict) -> nn.Module:
    """The module to export for a loaded checkpoint, in eval mode (dropout off, BatchNorm frozen)."""
    model = model_from_checkpoint(ckpt)
    if ckpt["task"] == "gender":
        return GenderGraph(model, valid_temperature(ckpt.get("temperature"))).eval()
    return MatcherGraph(model).eval()


# ---- the matcher's pair score ----


def score_head(state_dict: dict) -> dict:
    """The matcher's pair head as plain numbers, for the metadata: p = sigmoid(weight · |a - b| + bias).

    Why the head travels as metadata rather than as a second graph or a second output: a service stores
    embeddings (often in a vector index) and compares a probe with many of them, which is one numpy line
    over a whole gallery, not an ONNX Runtime call per pair; the head is D + 1 numbers (a Linear(D→1) on
    |a - b|, then a sigmoid) that cannot drift from the embedder when they live in the same file; and it
    is how face embedders are usually shipped (the ONNX graph embeds, the comparison rule is documented
    beside it). `match_probabilities` is the reference implementation.
    """
    return {
        "weight": [float(w) for w in state_dict["head.weight"].reshape(-1).tolist()],
        "bias": float(state_dict["head.bias"].reshape(-1)[0]),
        "formula": "p = 1 / (1 + exp(-(sum(weight * abs(a - b)) + bias))); a match when p >= threshold",
    }


def match_probabilities(a, b, head: dict) -> np.ndarray:
    """Match probabilities (N,) for rows of two embedding arrays ((N, D) or (D,), broadcast like numpy),
    from the `score_head` metadata: what `FaceMatcher.score_embeddings` computes, in numpy alone."""
    a, b = np.atleast_2d(np.asarray(a, np.float32)), np.atleast_2d(np.asarray(b, np.float32))
    logits = np.abs(a - b) @ np.asarray(head["weight"], np.float32) + np.float32(head["bias"])
    return 1.0 / (1.0 + np.exp(-logits))


# ---- metadata ----


def metadata(ckpt: dict, source: str | Path) -> dict[str, str]:
    """Everything a service needs around the graph, each value JSON-encoded (metadata_props are strings)."""
    values = {
        "metadata_version": METADATA_VERSION,
        "task": ckpt["task"],
        "arch": ckpt["arch"],
        "classes": list(ckpt["classes"]),
        "input_size": int(ckpt["input_size"]),
        "normalization": {k: [float(v) for v in ckpt["normalization"][k]] for k in ("mean", "std")},
        "framing": dict(ckpt.get("framing") or DEFAULT_FRAMING),  # as the app reads it
        "faceapp_version": training.__version__,
        "created": ckpt.get("created"),
        "source_checkpoint": Path(source).name,
    }
    values.update(_gender_metadata(ckpt) if ckpt["task"] == "gender" else _matcher_metadata(ckpt))
    return {key: json.dumps(value) for key, value in values.items()}


def _gender_metadata(ckpt: dict) -> dict:
    # The temperature is already applied inside the graph; it is recorded, not to be applied again.
    return {"temperature": valid_temperature(ckpt.get("temperature")),
            "uncertain_below": valid_level(ckpt.get("uncertain_below"))}


def _matcher_metadata(ckpt: dict) -> dict:
    return {"threshold": float(ckpt["threshold"]), "embedding_dim": int(ckpt["embedding_dim"]),
            "score_head": score_head(ckpt["state_dict"]), "score_histograms": ckpt.get("score_histograms")}


def _doc_string(ckpt: dict) -> str:
    size, output = ckpt["input_size"], OUTPUT_NAMES[ckpt["task"]]
    what = ("calibrated class probabilities (N, C) in the order of 'classes'" if ckpt["task"] == "gender" else
            "unit-length embeddings (N, D); match probability from 'score_head' and 'threshold'")
    return (f"FaceApp {ckpt['task']} model. Input '{INPUT_NAME}': float32 (N, 3, {size}, {size}) RGB face crops "
            f"framed as 'framing' says, shorter side resized to {size} and centre-cropped, scaled to [0, 1], "
            f"then (x - mean) / std per channel ('normalization'). Output '{output}': {what}. The mirror view "
            "is averaged inside the graph. Every metadata value is a JSON string.")


# ---- export ----


def _trace(module: nn.Module, input_size: int, output_name: str) -> bytes:
    """The ONNX bytes of `module` with a dynamic batch axis (traced at batch 2, so no size is baked in)."""
    example = torch.zeros(2, 3, input_size, input_size)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the exporter choice is explained above
        torch.onnx.export(module, (example,), buffer, opset_version=OPSET, **_torchscript_exporter(),
                          input_names=[INPUT_NAME], output_names=[output_name],
                          dynamic_axes={INPUT_NAME: {0: "batch"}, output_name: {0: "batch"}})
    return buffer.getvalue()


def _torchscript_exporter() -> dict:
    """`dynamo=False` where torch.onnx.export has the argument (2.5 on; the default from 2.9 is True);
    before 2.5 the TorchScript-based exporter was the only one, and the argument did not exist."""
    return {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}


def export_onnx(checkpoint, output) -> Path:
    """Write `checkpoint` (a FaceApp .pt) as a self-contained ONNX model at `output` (atomically)."""
    onnx = require_onnx()
    ckpt = load_checkpoint(checkpoint)
    proto = onnx.load_from_string(_trace(graph_module(ckpt), int(ckpt["input_size"]), OUTPUT_NAMES[ckpt["task"]]))
    for key, value in metadata(ckpt, checkpoint).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = _doc_string(ckpt)
    onnx.checker.check_model(proto)
    with atomic_open(output, "wb") as handle:
        handle.write(proto.SerializeToString())
    return Path(output)


def read_metadata(path) -> dict:
    """An exported model's metadata, JSON-decoded (needs only `onnx`, not a runtime)."""
    onnx = require_onnx()
    proto = onnx.load(str(path), load_external_data=False)
    return {entry.key: json.loads(entry.value) for entry in proto.metadata_props}


def runtime_difference(checkpoint, exported, batch: int = 3, seed: int = 0) -> float | None:
    """Max abs difference between ONNX Runtime (CPU) and torch on `batch` seeded random inputs; None when
    onnxruntime is not installed. A quick check after an export, not a substitute for real faces."""
    try:
        import onnxruntime
    except ImportError:
        return None
    ckpt = load_checkpoint(checkpoint)
    size = int(ckpt["input_size"])
    images = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(seed))
    with torch.inference_mode():
        expected = graph_module(ckpt)(images).numpy()
    session = onnxruntime.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: images.numpy()})[0]
    return float(np.abs(got - expected).max())
