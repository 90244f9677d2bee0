"""ONNX export (`python -m training export-onnx`): metadata, ONNX Runtime against torch, the CLI's errors.

Exporting needs the optional `onnx` package and the comparison `onnxruntime` (`pip install '.[onnx]'`);
without them those tests skip and say why. CI installs `.[test]` only, so there they skip.
"""
import contextlib
import io
import sys

import numpy as np
import pytest

from training.cli import main

from .gui.helpers import face_image, save_tiny, with_plain_conv_features

# ONNX Runtime and torch run the same float32 graph with different kernels (convolution algorithms,
# summation order), so the outputs differ in the last bits: measured up to 2.5e-7 here. Probabilities and
# unit embeddings are numbers of order 1, so 1e-5 absolute is a tight bound that still allows other CPUs.
TOLERANCE = 1e-5

pytestmark = pytest.mark.usefixtures("one_thread")


def _save_calibrated(path):
    """A tiny gender model with a calibration temperature and a head scaled up, so its probabilities are
    far from 50/50 and the temperature changes them visibly (an untrained head gives about 0.5 either way)."""
    import torch

    from training.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(save_tiny(path, "gender", seed=3))
    ckpt.update(temperature=0.25, uncertain_below=0.8)
    with torch.no_grad():
        ckpt["state_dict"]["fc.3.weight"] *= 40
    return save_checkpoint(path, ckpt)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Both tiny models saved and exported once for the module, through the CLI (an export takes seconds):
    {task: (checkpoint, onnx file, what the command printed)}."""
    pytest.importorskip("onnx", reason="exporting needs the optional onnx package (pip install '.[onnx]')")
    folder = tmp_path_factory.mktemp("onnx")
    paths = {}
    for task in ("gender", "matcher"):
        checkpoint = folder / f"{task}.pt"
        if task == "gender":
            _save_calibrated(checkpoint)
        else:
            save_tiny(checkpoint, task, threshold=0.4)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["export-onnx", str(checkpoint), str(folder / f"{task}.onnx")]) == 0
        paths[task] = (checkpoint, folder / f"{task}.onnx", printed.getvalue())
    return paths


@pytest.fixture(scope="module")
def runtime():
    return pytest.importorskip("onnxruntime", reason="the comparison needs the optional onnxruntime "
                                                     "package (pip install '.[onnx]')")


def _session(runtime, path):
    return runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _faces(count, seed=0):
    return [face_image(seed + i) for i in range(count)]


def test_metadata_holds_the_preprocessing_and_the_decision_levels(exported):
    from training.checkpoint import load_checkpoint
    from training.onnx_export import read_metadata

    for task, (checkpoint, onnx_path, _) in exported.items():
        meta, ckpt = read_metadata(onnx_path), load_checkpoint(checkpoint)
        assert meta["task"] == task and meta["classes"] == ckpt["classes"] and meta["input_size"] == 32
        assert meta["normalization"] == {"mean": [0.5] * 3, "std": [0.25] * 3}
        assert meta["framing"] == {"detector": "haar", "frame_scale": 0.4328}
        assert meta["created"] == ckpt["created"] and meta["faceapp_version"]
        assert meta["source_checkpoint"] == f"{task}.pt"
    gender = read_metadata(exported["gender"][1])
    assert gender["temperature"] == 0.25 and gender["uncertain_below"] == 0.8
    matcher = read_metadata(exported["matcher"][1])
    assert matcher["threshold"] == pytest.approx(0.4) and matcher["embedding_dim"] == 128
    assert len(matcher["score_head"]["weight"]) == 128


def test_every_metadata_value_is_a_json_string(exported):
    import json

    import onnx

    proto = onnx.load(str(exported["matcher"][1]))
    for entry in proto.metadata_props:
        json.loads(entry.value)
    assert "images" in proto.doc_string


def test_the_batch_axis_is_dynamic_and_the_image_size_fixed(exported):
    import onnx

    for _task, (_checkpoint, onnx_path, _) in exported.items():
        graph = onnx.load(str(onnx_path)).graph
        dims = graph.input[0].type.tensor_type.shape.dim
        assert graph.input[0].name == "images"
        assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 32, 32]
        assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_a_model_made_before_calibration_records_temperature_1_and_no_level(tmp_path):
    from training.checkpoint import load_checkpoint
    from training.onnx_export import metadata

    meta = metadata(load_checkpoint(save_tiny(tmp_path / "old.pt", "gender")), tmp_path / "old.pt")
    assert meta["temperature"] == "1.0" and meta["uncertain_below"] == "null"


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runtime_reproduces_the_gender_classifier(exported, runtime, batch):
    import torch

    from training.inference import GenderClassifier
    from training.transforms import batch_tensor

    checkpoint, onnx_path, _ = exported["gender"]
    classifier = GenderClassifier.load(checkpoint)
    faces = _faces(batch)
    expected = np.array([[p.probabilities[c] for c in classifier.classes] for p in classifier.predict(faces)])
    images = batch_tensor(faces, 32, [0.5] * 3, [0.25] * 3).numpy()
    got = _session(runtime, onnx_path).run(None, {"images": images})[0]
    assert got.shape == (batch, 2)
    assert np.abs(got - expected).max() < TOLERANCE
    with torch.inference_mode():  # the fixture's model is calibrated: a graph without the temperature would fail
        uncalibrated = classifier.model.probabilities(torch.as_tensor(images), temperature=1.0).numpy()
    assert np.abs(got - uncalibrated).max() > 0.05


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runtime_reproduces_the_matcher_embeddings(exported, runtime, batch):
    from training.inference import FaceMatcher
    from training.transforms import batch_tensor

    checkpoint, onnx_path, _ = exported["matcher"]
    matcher = FaceMatcher.load(checkpoint)
    faces = _faces(batch, seed=10)
    images = batch_tensor(faces, 32, [0.5] * 3, [0.25] * 3).numpy()
    got = _session(runtime, onnx_path).run(None, {"images": images})[0]
    assert got.shape == (batch, 128)
    assert np.abs(got - matcher.embed(faces)).max() < TOLERANCE
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=TOLERANCE)


def test_the_score_head_in_the_metadata_gives_the_apps_match_probability(exported):
    from training.inference import FaceMatcher
    from training.onnx_export import match_probabilities, read_metadata

    checkpoint, onnx_path, _ = exported["matcher"]
    matcher = with_plain_conv_features(FaceMatcher.load(checkpoint))  # embeddings far enough apart to differ
    embeddings = matcher.embed(_faces(4, seed=20))
    head = read_metadata(onnx_path)["score_head"]
    expected = matcher.score_embeddings(embeddings[:2], embeddings[2:])
    assert np.abs(match_probabilities(embeddings[:2], embeddings[2:], head) - expected).max() < 1e-6
    assert np.abs(match_probabilities(embeddings[0], embeddings, head) - matcher.score_embeddings(
        embeddings[0], embeddings)).max() < 1e-6  # one probe against a gallery, broadcast


def test_the_cli_says_what_it_wrote_and_how_close_onnx_runtime_came(exported):
    checkpoint, onnx_path, printed = exported["gender"]
    lines = printed.splitlines()
    assert lines[0].startswith(f"wrote {onnx_path} (") and lines[0].endswith(" MiB)")
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        assert lines[1] == "install onnxruntime to check the export against torch"
    else:
        assert lines[1].startswith("ONNX Runtime matches torch within ")
        assert float(lines[1].split()[5]) < TOLERANCE


@pytest.mark.parametrize("target, message", [
    ("{blocker}/model.onnx", "for the ONNX model does not exist"),
    ("{tmp}", "is a folder; give a file name for the ONNX model"),
])
def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path, capsys, target, message):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")  # writing under a plain file fails for every user, root included
    model = tmp_path / "model.pt"
    model.write_bytes(b"the output check comes first, so this is never read")
    output = target.replace("{blocker}", str(blocker)).replace("{tmp}", str(tmp_path))
    assert main(["export-onnx", str(model), output]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_without_onnx_the_cli_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    model = save_tiny(tmp_path / "gender.pt", "gender")
    assert main(["export-onnx", str(model), str(tmp_path / "gender.onnx")]) == 2
    err = capsys.readouterr().err
    assert err == "error: exporting to ONNX needs the onnx package: pip install 'faceapp[onnx]'\n"
    assert not (tmp_path / "gender.onnx").exists()
