"""GenderNet / MatcherNet shapes, freezing, and where start weights come from (never the network)."""

import pytest
import torch
from torchvision.models import mobilenet_v2, resnet18

from training.models import (
    ARCHS,
    GenderNet,
    MatcherNet,
    StartWeightsError,
    WeightsUnavailableError,
    build_model,
    imagenet_cache_path,
    resolve_start_weights,
)

SIZE = 32


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _isolated_torch_home(tmp_path, monkeypatch):
    """No test may see (or write to) a real torch hub cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def _images(n=3):
    return torch.randn(n, 3, SIZE, SIZE)


def test_archs():
    assert ARCHS == {"gender": "resnet18", "matcher": "mobilenet_v2"}


def test_gender_logits_shape():
    model = build_model("gender").eval()
    assert model(_images(4)).shape == (4, 2)
    assert build_model("gender", num_classes=3)(_images(2)).shape == (2, 3)


def test_matcher_embed_unit_norm_and_pair_logits():
    model = build_model("matcher").eval()
    e = model.embed(_images(5))
    assert e.shape == (5, 128)
    assert torch.allclose(e.norm(dim=1), torch.ones(5), atol=1e-5)
    a, b = _images(3), _images(3)
    logits = model(a, b)
    assert logits.shape == (3,)
    assert torch.allclose(logits, model.score_embeddings(model.embed(a), model.embed(b)), atol=1e-5)
    assert build_model("matcher", embedding_dim=64).eval().embed(_images(2)).shape == (2, 64)


def test_matcher_trains_with_a_batch_of_one_pair():
    model = build_model("matcher").train()
    model(_images(1), _images(1)).sum().backward()


def test_a_tied_head_scores_by_the_l1_distance_and_stays_tied_through_training():
    torch.manual_seed(0)
    model = build_model("matcher", embedding_dim=16).train()
    assert model.head_tied  # a fresh head starts with one weight; training on pairs unties it
    torch.nn.init.normal_(model.head.weight)
    mean = model.head.weight.mean().item()
    assert not model.head_tied and model.tie_head() is model
    assert model.head_tied and torch.allclose(model.head.weight, torch.full_like(model.head.weight, mean))
    optimiser = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    before = model.head.weight.detach().clone()
    for _ in range(3):
        optimiser.zero_grad()
        model(_images(4), _images(4)).pow(2).mean().backward()
        optimiser.step()
    assert model.head_tied and not torch.equal(model.head.weight, before)  # fitted, still one weight
    model.eval()
    with torch.no_grad():
        probe, gallery = model.embed(_images(1)), model.embed(_images(6))
        scores = model.score_embeddings(probe.expand_as(gallery), gallery)
        l1 = (probe - gallery).abs().sum(1)
    order = torch.argsort(l1) if model.head.weight[0, 0] < 0 else torch.argsort(l1, descending=True)
    assert torch.equal(torch.argsort(scores, descending=True), order)
    untied = build_model("matcher", embedding_dim=16).train()
    torch.nn.init.normal_(untied.head.weight)
    untied(_images(4), _images(4)).pow(2).mean().backward()
    assert untied.head.weight.grad.std() > 0  # without the tie every dimension gets its own gradient


def test_rescaling_the_head_maps_every_logit_and_keeps_a_tied_head_tied():
    model = build_model("matcher", embedding_dim=16).eval().tie_head()
    with torch.no_grad():
        a, b = model.embed(_images(4)), model.embed(_images(4))
        before = model.score_embeddings(a, b)
        assert model.rescale_head(2.5, -1.0) is model
        assert torch.allclose(model.score_embeddings(a, b), 2.5 * before - 1.0, atol=1e-5)
    assert model.head_tied


def _bn_layers(modules):
    return [m for module in modules for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]


@pytest.mark.parametrize("task", ["gender", "matcher"])
def test_frozen_backbone_gets_no_grads_and_keeps_bn_in_eval(task):
    model = build_model(task, freeze_backbone=True)
    assert model.backbone_frozen
    model.train()
    bns = _bn_layers(model.backbone_modules())
    assert bns and not any(bn.training for bn in bns)
    before = [bn.running_mean.clone() for bn in bns]
    out = model(_images(4)) if task == "gender" else model(_images(4), _images(4))
    out.float().sum().backward()
    assert all(p.grad is None for p in model.backbone_parameters())
    assert all(p.grad is not None for p in model.head_parameters())
    assert all(torch.equal(b, bn.running_mean) for b, bn in zip(before, bns))
    head = model.fc if task == "gender" else model.embedding
    assert head.training  # the head's dropout still trains

    model.freeze_backbone(False)
    assert all(p.requires_grad for p in model.parameters())
    assert all(bn.training for bn in bns)


def test_freeze_default_follows_start():
    assert not build_model("gender").backbone_frozen
    assert build_model("gender", freeze_backbone=True).backbone_frozen


def test_imagenet_without_cached_file_fails_fast_naming_the_path(monkeypatch):
    import socket
    import urllib.request

    import torch.hub

    tried = []

    def no_network(*args, **kwargs):  # an offline machine hangs here: "fast" means never getting here
        tried.append(args)
        raise AssertionError("tried the network")

    for owner, name in ((socket, "create_connection"), (socket.socket, "connect"), (urllib.request, "urlopen"),
                        (torch.hub, "download_url_to_file"), (torch.hub, "load_state_dict_from_url")):
        monkeypatch.setattr(owner, name, no_network)
    with pytest.raises(WeightsUnavailableError) as info:
        build_model("gender", start="imagenet")
    assert not tried
    message = str(info.value)
    assert str(imagenet_cache_path("resnet18")) in message
    assert "https://download.pytorch.org/models/resnet18-" in message
    assert "torch_home" in message  # TORCH_HOME is honoured


def test_imagenet_from_cache_loads_and_freezes():
    for task, net in (("gender", resnet18), ("matcher", mobilenet_v2)):
        reference = net(weights=None).state_dict()
        path = imagenet_cache_path(ARCHS[task])
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(reference, path)
        model = build_model(task, start="imagenet")
        assert model.backbone_frozen and model.start_weights == "imagenet"
        key = "conv1.weight" if task == "gender" else "features.0.0.weight"
        assert torch.equal(model.state_dict()[key], reference[key])


def test_local_torchvision_weights_file_round_trip(tmp_path):
    reference = resnet18(weights=None).state_dict()
    path = tmp_path / "backbone.pth"
    torch.save(reference, path)
    model = build_model("gender", start=str(path))
    assert not model.backbone_frozen
    assert torch.equal(model.state_dict()["layer4.1.bn2.running_var"], reference["layer4.1.bn2.running_var"])
    assert resolve_start_weights("resnet18", "none") is None


def test_faceapp_model_weights_load_head_too(tmp_path):
    source = GenderNet().eval()
    path = tmp_path / "gender_state.pt"
    torch.save({"state_dict": source.state_dict()}, path)
    model = build_model("gender", start=path).eval()
    x = _images(2)
    assert torch.allclose(model(x), source(x))


def test_bad_start_weights_are_clear(tmp_path):
    with pytest.raises(StartWeightsError, match="does not exist"):
        build_model("gender", start=str(tmp_path / "missing.pth"))
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a torch file" * 10)
    with pytest.raises(StartWeightsError, match="could not be read"):
        build_model("gender", start=garbage)
    torch.save({"a": 1}, tmp_path / "nodict.pth")
    with pytest.raises(StartWeightsError, match="state_dict"):
        build_model("gender", start=tmp_path / "nodict.pth")
    torch.save(resnet18(weights=None).state_dict(), tmp_path / "resnet.pth")
    with pytest.raises(StartWeightsError, match="do not fit mobilenet_v2"):
        build_model("matcher", start=tmp_path / "resnet.pth")


def test_unknown_task():
    with pytest.raises(ValueError, match="unknown task"):
        build_model("age")


def test_direct_construction_with_weights():
    sd = MatcherNet().state_dict()
    assert torch.equal(MatcherNet(weights=sd).state_dict()["head.weight"], sd["head.weight"])
