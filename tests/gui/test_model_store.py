"""Qt-free model store: import / activate / remove, validation, bundled defaults, resource lookup."""

import pytest

from faceapp.core.model_store import ModelStore, ModelStoreError
from faceapp.core.resources import resource_path
from training.checkpoint import CheckpointError


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_empty_store_has_no_active_model(model_store):
    assert model_store.active_path("gender") is None
    assert model_store.entries("matcher") == []


def test_import_activate_and_remove(model_store, tiny_models):
    entry = model_store.import_checkpoint(tiny_models["gender"])
    assert entry.task == "gender" and entry.active and entry.summary["arch"] == "resnet18"
    assert entry.summary["input_size"] == 32
    second = model_store.import_checkpoint(tiny_models["gender"], activate=False)
    assert second.path != entry.path and not second.active  # a free name, never overwritten
    model_store.activate("gender", second.path)
    assert model_store.active_path("gender") == second.path
    model_store.remove("gender", second.path)
    assert not second.path.exists()
    assert model_store.active_path("gender") == entry.path


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_file_is_refused_and_nothing_changes(model_store, tiny_models, tmp_path, content):
    model_store.import_checkpoint(tiny_models["gender"])
    before = _listing(model_store.user_dir)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        model_store.import_checkpoint(bad)
    assert str(info.value) and "\n" not in str(info.value)
    assert _listing(model_store.user_dir) == before


def test_wrong_task_is_refused(model_store, tiny_models):
    with pytest.raises(CheckpointError):
        model_store.import_checkpoint(tiny_models["matcher"], task="gender")
    assert model_store.entries("gender") == []


def test_bundled_default_is_used_and_cannot_be_removed(app_env, tiny_models):
    bundled = app_env / "bundled"
    bundled.mkdir()
    (bundled / "matcher.pt").write_bytes(tiny_models["matcher"].read_bytes())
    store = ModelStore(app_env / "models", bundled_dir=bundled)
    assert store.active_path("matcher") == bundled / "matcher.pt"
    assert [e.source for e in store.entries("matcher")] == ["bundled"]
    with pytest.raises(ModelStoreError):
        store.remove("matcher", bundled / "matcher.pt")


def test_resource_path_prefers_override_then_checkout(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "gender.pt").write_bytes(b"x")
    monkeypatch.setenv("FACEAPP_RESOURCES", str(tmp_path))
    assert resource_path("models", "gender.pt") == tmp_path / "models" / "gender.pt"
    monkeypatch.delenv("FACEAPP_RESOURCES")
    assert resource_path("models").parent.name == "resources"
