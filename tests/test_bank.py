"""Face banks (pre-cropped, pre-distorted photos) and the matcher's dense distillation from them."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from benchmarks.learning_by_heart import face_groups
from benchmarks.learning_by_heart import main as learning_by_heart
from benchmarks.score_rates import main as score_rates
from training.checkpoint import load_checkpoint, save_checkpoint
from training.cli import main as cli_main
from training.config import default_config
from training.data import DataError
from training.data.bank import FaceBank, bank_header, build_bank
from training.data.identity import discover_identities
from training.data.split import pair_split
from training.data.teacher import TeacherEmbeddings, teacher_key
from training.distortions import CONDITIONS
from training.engine import fit
from training.inference import FaceMatcher
from training.tasks import BankMatcherSetup, is_bank
from training.tasks.losses import ranking_loss, relational_loss

from .synthetic import make_identity_folder, pattern_image
from .test_teacher import write_teacher


@pytest.fixture(scope="module")
def bank_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bank")
    people = discover_identities(make_identity_folder(root / "ids", people=8, photos=3, size=40))
    photos = [(img, p.name) for p in people for img in p.images]
    broken = root / "ids" / "Person_00" / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG")
    bank, skipped = build_bank(photos + [(str(broken), "Person_00")], size=24, frame_scale=0.63, copies=3,
                               seed=5, processes=1)
    path = bank.save(root / "bank.npz")
    return path, write_teacher(root / "teacher.npz", people), photos, skipped


def test_bank_holds_every_readable_photo_with_its_distorted_copies(bank_files):
    path, _, photos, skipped = bank_files
    bank = FaceBank.load(path)
    assert len(bank) == len(photos) and bank.copies == 3 and bank.size == 24
    assert bank.clean.shape == (len(photos), 24, 24, 3) and bank.distorted.shape == (len(photos), 3, 24, 24, 3)
    assert list(bank.keys) == [teacher_key(p) for p, _ in photos]
    assert list(bank.identities) == [name for _, name in photos]
    assert ((bank.conditions >= 0) & (bank.conditions < len(CONDITIONS))).all()
    assert ((bank.severities >= 1) & (bank.severities <= 5)).all()
    assert all(len(set(row)) == 3 for row in bank.conditions)  # a photo's copies differ in condition
    assert not np.array_equal(bank.distorted[:, 0], np.repeat(bank.clean[:, None], 3, axis=1)[:, 0])
    assert [p.rsplit("/", 1)[-1] for p, _ in skipped] == ["broken.jpg"] and "not" in skipped[0][1]


def test_the_same_seed_builds_the_same_bank(bank_files, tmp_path):
    path, _, photos, _ = bank_files
    again, _ = build_bank(photos, size=24, frame_scale=0.63, copies=3, seed=5, processes=1)
    first = FaceBank.load(path)
    assert np.array_equal(again.distorted, first.distorted) and np.array_equal(again.conditions, first.conditions)


@pytest.mark.parametrize("content", [b"not a zip", None])
@pytest.mark.parametrize("load, word", [(FaceBank.load, "bank"), (TeacherEmbeddings.load, "teacher")])
def test_a_bad_or_missing_bank_or_teacher_file_is_a_data_error(tmp_path, content, load, word):
    path = tmp_path / "data.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=word):
        load(path)


def test_relational_loss_compares_similarity_matrices_and_skips_rows_without_a_target():
    t = torch.nn.functional.normalize(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    assert relational_loss(t, t).item() == pytest.approx(0.0, abs=1e-6)
    rotated = t[:, torch.arange(7, -1, -1)]  # the same similarities in other coordinates: nothing to learn
    assert relational_loss(rotated, t).item() == pytest.approx(0.0, abs=1e-6)
    swapped = t[[1, 0, 2, 3, 4, 5]]  # two photos' embeddings exchanged: other similarities
    assert relational_loss(swapped, t).item() > 0.01
    masked = t.clone()
    masked[0] = 0  # a photo the teacher has not seen is left out, whatever its embedding
    shuffled = t.clone()
    shuffled[0] = t[3]
    assert relational_loss(shuffled, masked).item() == pytest.approx(0.0, abs=1e-6)



def test_ranking_loss_compares_rankings_of_the_known_faces_leaving_out_the_views_own():
    gen = torch.Generator().manual_seed(0)
    anchors = torch.nn.functional.normalize(torch.randn(40, 8, generator=gen), dim=1)
    targets = anchors[:4]  # four training faces' views: each one's own face is among the anchors
    assert ranking_loss(targets, targets, anchors).item() == pytest.approx(0.0, abs=1e-6)
    student = torch.nn.functional.normalize(targets + 0.6 * torch.randn(4, 8, generator=gen), dim=1)
    loss = ranking_loss(student, targets, anchors)
    assert loss.item() > 0.1
    alone = ranking_loss(student[:1], targets[:1], anchors)  # the first view, its own face among the anchors or not
    assert ranking_loss(student[:1], targets[:1], anchors[1:]).item() == pytest.approx(alone.item(), rel=1e-5)
    masked = targets.clone()
    masked[0] = 0  # a face the teacher has not seen is left out, whatever its embedding
    assert ranking_loss(torch.cat([anchors[9:10], targets[1:]]), masked, anchors).item() == pytest.approx(0.0, abs=1e-6)


def test_steps_down_the_ranking_loss_put_the_teachers_nearest_known_face_first():
    gen = torch.Generator().manual_seed(1)
    anchors = torch.nn.functional.normalize(torch.randn(30, 16, generator=gen), dim=1)
    targets = torch.nn.functional.normalize(anchors[:6] + 0.3 * torch.randn(6, 16, generator=gen), dim=1)
    student = torch.nn.functional.normalize(torch.randn(6, 16, generator=gen), dim=1).requires_grad_()
    first = (targets @ anchors.T).argmax(1)
    assert not torch.equal((student @ anchors.T).argmax(1), first)
    optimiser = torch.optim.SGD([student], lr=0.05)
    for _ in range(100):
        optimiser.zero_grad()
        ranking_loss(student, targets, anchors, temperature=0.1).backward()
        optimiser.step()
    assert torch.equal((student.detach() @ anchors.T).argmax(1), first)


def _config(teacher, **overrides):
    values = dict(teacher=str(teacher), input_size=32, frame_scale=0.7, batch_size=8, pairs_per_epoch=16,
                  val_pairs=12, val_fraction=0.3, epochs=2, workers=0, seed=3)
    return default_config("matcher", **{**values, **overrides})


def test_batches_hold_a_clean_and_a_distorted_view_of_each_photo_with_the_clean_photos_target(bank_files):
    path, teacher, _, _ = bank_files
    setup = BankMatcherSetup(path, _config(teacher), torch.device("cpu"), lambda m: None)
    rows = setup.train_rows[:4]
    images, targets, identities = setup.make_batch(rows, torch.Generator().manual_seed(1))
    assert images.shape == (8, 3, 32, 32) and images.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(targets[:4], targets[4:]) and torch.equal(targets[:4], setup.targets[rows])
    assert torch.equal(identities, setup.identity[rows].repeat(2))
    again = setup.make_batch(rows, torch.Generator().manual_seed(1))[0]
    assert torch.equal(images, again)  # augmentation comes from the epoch's generator only
    assert len(setup.train_loader(0)) == 16 // 4



def test_the_ranking_term_ranks_each_view_against_every_training_face_and_adds_to_the_loss(bank_files):
    path, teacher, _, _ = bank_files
    plain = BankMatcherSetup(path, _config(teacher), torch.device("cpu"), lambda m: None)
    ranked = BankMatcherSetup(path, _config(teacher, ranking_weight=2.0, ranking_temperature=0.1),
                              torch.device("cpu"), lambda m: None)
    assert plain.anchors is None and len(ranked.anchors) == len(ranked.train_rows)
    assert torch.allclose(ranked.anchors.norm(dim=1), torch.ones(len(ranked.anchors)))
    ranked.model.load_state_dict(plain.model.state_dict())
    batch = plain.make_batch(plain.train_rows[:4], torch.Generator().manual_seed(1))
    losses = []
    for setup in (plain, ranked):
        setup.model.eval()  # no dropout: the same embeddings in both
        losses.append(setup.loss(batch).item())
    with torch.no_grad():
        term = ranking_loss(ranked.model.embed(batch[0]), batch[1], ranked.anchors, 0.1).item()
    assert term > 0 and losses[1] == pytest.approx(losses[0] + 2.0 * term, rel=1e-4)
    with pytest.raises(ValueError, match="ranking_temperature"):
        _config(teacher, ranking_temperature=0)

def test_validation_people_are_never_trained_on(bank_files):
    path, teacher, _, _ = bank_files
    setup = BankMatcherSetup(path, _config(teacher), torch.device("cpu"), lambda m: None)
    train_people = set(setup.identity[setup.train_rows].tolist())
    val_people = {int(setup.identity[r]) for r, p, _, _ in setup.val_pairs} | \
        {int(setup.identity[p]) for _, p, _, _ in setup.val_pairs}
    assert val_people and not train_people & val_people
    same = [(r, p) for r, p, _, s in setup.val_pairs if s]
    assert same and all(setup.identity[r] == setup.identity[p] and r != p for r, p in same)


def test_training_from_a_bank_writes_a_matcher_the_app_loads_at_the_configured_framing(bank_files, tmp_path):
    path, teacher, _, _ = bank_files
    result = fit("matcher", [str(path)], _config(teacher, out_dir=str(tmp_path / "runs"), snapshot_every=1, ema=0.9))
    assert result.stop_reason == "completed" and len(result.history) == 2
    snapshots = sorted(p.name for p in (result.run_dir / "snapshots").iterdir())
    assert snapshots == ["epoch_0001.pt", "epoch_0002.pt"]
    assert FaceMatcher.load(result.run_dir / "snapshots" / "epoch_0002.pt").input_size == 32
    assert {"val_auc", "val_teacher_cos", "train_teacher_cos", "val_threshold", "val_rank1"} <= set(result.history[-1])
    assert 0 <= result.history[-1]["val_rank1"] <= 1
    assert -1 <= result.history[-1]["train_teacher_cos"] <= 1
    matcher = FaceMatcher.load(result.best_path, device="cpu")
    assert matcher.input_size == 32 and matcher.framing["frame_scale"] == 0.7
    score = matcher.score(pattern_image(1, 1, 40), pattern_image(1, 2, 40))
    assert 0.0 <= score <= 1.0
    assert set(result.report["val_per_condition"]) <= set(CONDITIONS) | {"none"}
    rates = matcher.error_rates  # every held-out photo against every other: stored with the best model
    assert rates is not None and rates.genuine_pairs > 0 and rates.impostor_pairs > rates.genuine_pairs
    assert 0.0 <= rates.false_match_rate(matcher.threshold) <= 1.0 and "held-out photos" in rates.source


def test_a_run_with_a_tied_head_keeps_one_head_weight_from_an_untied_start_to_its_resumed_end(bank_files, tmp_path):
    path, teacher, _, _ = bank_files
    runs = str(tmp_path / "runs")
    free = fit("matcher", [str(path)], _config(teacher, out_dir=runs, run_name="free", epochs=1))
    start = load_checkpoint(free.run_dir / "last.pt", task="matcher")["state_dict"]["head.weight"]
    assert start.std() > 0  # pair training gives every dimension its own weight
    config = _config(teacher, out_dir=runs, run_name="tied", start=str(free.run_dir / "last.pt"), tied_head=True)
    setup = BankMatcherSetup(path, config, torch.device("cpu"), lambda m: None)
    assert setup.model.head_tied and setup.model.head.weight[0, 0].item() == pytest.approx(start.mean().item())
    first = fit("matcher", [str(path)], dataclasses.replace(config, epochs=1))
    assert first.stop_reason == "completed"
    tied = fit("matcher", [str(path)], dataclasses.replace(config, resume=str(first.run_dir)))
    assert len(tied.history) == 2
    for name in ("last.pt", "best.pt"):
        weight = load_checkpoint(tied.run_dir / name, task="matcher")["state_dict"]["head.weight"]
        assert torch.all(weight == weight.flatten()[0]) and not torch.equal(weight.flatten()[0], start.mean())
    assert load_checkpoint(tied.run_dir / "last.pt", task="matcher")["config"]["tied_head"] is True


def test_score_rates_can_tie_a_trained_heads_weights_and_repick_its_threshold(bank_files, tmp_path, capsys):
    path, teacher, _, _ = bank_files
    free = fit("matcher", [str(path)], _config(teacher, out_dir=str(tmp_path / "runs"), epochs=1))
    untied = load_checkpoint(free.run_dir / "last.pt", task="matcher")
    untied["state_dict"]["head.weight"] = torch.randn(1, 128, generator=torch.Generator().manual_seed(0))
    untied["threshold_rule"] = {"false_match_rate": 0.05, "false_non_match_rate": 0.2,
                                "most_accurate_on_validation_pairs": 0.3}  # as `export --false-match-rate` leaves
    save_checkpoint(tmp_path / "untied.pt", untied)  # apart, as a long run leaves them
    out = tmp_path / "tied.pt"
    assert score_rates(["--tie-head", str(tmp_path / "untied.pt"), str(path), "-o", str(out)]) == 0
    tied = load_checkpoint(out, task="matcher")
    weight = tied["state_dict"]["head.weight"]
    assert torch.all(weight == untied["state_dict"]["head.weight"].mean()) and tied["config"]["tied_head"] is True
    assert tied["threshold"] == tied["metrics"]["val_threshold"] and tied["score_histograms"]
    assert "threshold_rule" not in tied  # it named the untied head's scores
    assert torch.equal(tied["state_dict"]["features.0.0.weight"], untied["state_dict"]["features.0.0.weight"])
    assert "pair head tied at" in capsys.readouterr().out
    calibrated = tmp_path / "calibrated.pt"
    assert score_rates(["--tie-head", "--calibrate", str(tmp_path / "untied.pt"), str(path), "-o",
                        str(calibrated)]) == 0
    assert "and calibrated (logits x" in capsys.readouterr().out
    calibrated = load_checkpoint(calibrated, task="matcher")
    assert calibrated["config"]["tied_head"] is True
    assert calibrated["threshold"] == calibrated["metrics"]["val_threshold"]
    weight = calibrated["state_dict"]["head.weight"]
    assert torch.all(weight == weight.flatten()[0])


def test_a_bank_needs_a_teacher_and_says_so(bank_files, capsys):
    path, _, _, _ = bank_files
    assert is_bank([str(path)]) and not is_bank([str(path.parent)])
    assert cli_main(["-q", "train-matcher", str(path), "--epochs", "1"]) == 2
    assert "--teacher" in capsys.readouterr().err


def test_error_rates_at_any_slider_threshold_come_from_the_stored_histograms():
    from training.error_rates import ScoreHistograms, one_in

    h = ScoreHistograms.from_scores(genuine=[0.9, 0.8, 0.45, 0.6], impostor=[0.1, 0.2, 0.5, 0.55, 0.3], source="x")
    assert h.false_match_rate(0.5) == 2 / 5 and h.false_match_rate(0.501) == 1 / 5  # 'at or above'
    assert h.false_non_match_rate(0.5) == 1 / 4 and h.false_non_match_rate(0.0) == 0
    assert h.false_match_rate(1.0) == 0 and h.false_non_match_rate(1.0) == 1
    assert h.threshold_for_false_match_rate(0.2) == 0.501 and h.threshold_for_false_match_rate(0.0) == 0.551
    back = ScoreHistograms.from_dict(h.to_dict())
    assert back == h and ScoreHistograms.from_dict({"bins": 10}) is None and ScoreHistograms.from_dict(None) is None
    assert one_in(0.0029) == "about 1 in 340" and one_in(0.25) == "about 1 in 4" and one_in(0) == "none"


def test_stored_genuine_scores_are_a_sample_of_each_person_so_no_one_dominates(bank_files):
    import threading

    path, teacher, _, _ = bank_files
    setup = BankMatcherSetup(path, _config(teacher), torch.device("cpu"), lambda m: None)
    photos = np.bincount(setup.identity.numpy()[setup.val_rows])
    photos = photos[photos > 0]
    views = setup.bank.copies + 1
    full = setup.score_histograms(threading.Event())  # the default cap (50) is above what these people have
    assert full.genuine_pairs == int(sum(n * (n - 1) * views for n in photos))
    capped = setup.score_histograms(threading.Event(), per_person=3)
    assert capped.genuine_pairs == 3 * len(photos) and capped.impostor_pairs == full.impostor_pairs
    assert "at most 3 per person" in capped.source


def test_a_bank_keeps_its_framing_and_training_from_it_writes_that_framing(bank_files, tmp_path):
    """An aligned BlazeFace bank stores its framing block; a run at another frame scale records the same
    framing moved to that scale; a bank from before framings loads as Haar; asking for another finder than
    the bank's is refused."""
    from training.framing import Framing, default_eyes

    path, teacher, photos, _ = bank_files
    assert FaceBank.load(path).framing == {"detector": "haar", "frame_scale": 0.63}
    aligned, _ = build_bank(photos[:12], size=24, frame_scale=0.63, copies=1, seed=5, processes=1,
                            framing=Framing.blazeface())
    assert aligned.framing == Framing.blazeface(0.63).to_dict()
    saved = aligned.save(tmp_path / "aligned.npz")
    assert FaceBank.load(saved).framing == aligned.framing and aligned.subset([0, 1]).framing == aligned.framing
    setup = BankMatcherSetup(saved, _config(teacher), torch.device("cpu"), lambda m: None)
    assert setup.framing.detector == "blazeface"
    assert setup.framing.eyes == pytest.approx(np.array(default_eyes(0.7)), abs=2e-4)
    with pytest.raises(DataError, match="cropped with Haar"):
        BankMatcherSetup(path, _config(teacher, face_detector="blazeface"), torch.device("cpu"), lambda m: None)
    with np.load(path) as data:  # a bank written before framings were stored
        old = {name: data[name] for name in data.files if name != "framing"}
    np.savez(tmp_path / "old.npz", **old)
    assert FaceBank.load(tmp_path / "old.npz").framing == {"detector": "haar", "frame_scale": 0.63}


def test_balanced_sampling_draws_each_group_equally_and_leaves_unlisted_people_their_share(bank_files, tmp_path):
    path, teacher, _, _ = bank_files
    plain = BankMatcherSetup(path, _config(teacher), torch.device("cpu"), lambda m: None)
    people = sorted({str(plain.bank.identities[r]) for r in plain.train_rows.tolist()})
    groups = tmp_path / "groups.csv"  # one listed person in "a", the others but one in "b", one not listed
    groups.write_text("identity,gender\n" + f"{people[0]},a\n" + "".join(f"{p},b\n" for p in people[1:-1]))
    logged = []
    setup = BankMatcherSetup(path, _config(teacher, balance_groups=str(groups), pairs_per_epoch=4000),
                             torch.device("cpu"), logged.append)
    group_of = {people[0]: "a", **{p: "b" for p in people[1:-1]}}
    drawn = torch.cat([rows for rows in _epoch_rows(setup)])
    names = [group_of.get(str(setup.bank.identities[r]), "none") for r in drawn.tolist()]
    share = {g: names.count(g) / len(names) for g in ("a", "b", "none")}
    unlisted = sum(str(setup.bank.identities[r]) == people[-1] for r in setup.train_rows.tolist())
    natural = unlisted / len(setup.train_rows)
    assert abs(share["a"] - share["b"]) < 0.05 and abs(share["none"] - natural) < 0.05
    assert any("balanced sampling" in line for line in logged)
    assert set(drawn.tolist()) <= set(setup.train_rows.tolist())  # validation people stay out
    with pytest.raises(DataError, match="two groups"):
        groups.write_text("identity,gender\n" + f"{people[0]},a\n")
        BankMatcherSetup(path, _config(teacher, balance_groups=str(groups)), torch.device("cpu"), lambda m: None)


def _epoch_rows(setup):
    """The photo rows an epoch's batches are made of (make_batch stubbed to return them)."""
    setup.make_batch = lambda rows, gen: rows
    return list(setup.train_loader(0))


def test_neighbour_batches_hold_groups_of_one_drawn_face_and_its_nearest_training_faces(bank_files, monkeypatch):
    from training.tasks import bank_matcher

    path, teacher, _, _ = bank_files  # the teacher puts each person's three photos close together
    monkeypatch.setattr(bank_matcher, "NEIGHBOUR_POOL", 2)
    logged = []
    setup = BankMatcherSetup(path, _config(teacher, neighbour_batches=3, batch_size=12, pairs_per_epoch=60),
                             torch.device("cpu"), logged.append)
    assert any("batches of look-alikes" in line and "(100% of those are the same person)" in line for line in logged)
    batches = _epoch_rows(setup)
    assert len(batches) == 10 and all(len(rows) == 6 for rows in batches)
    people = setup.identity
    for rows in batches:
        for group in rows.view(-1, 3):  # a drawn face, then its two nearest: the same person's other photos
            assert len(set(group.tolist())) == 3 and len(set(people[group].tolist())) == 1
    assert set(torch.cat(batches).tolist()) <= set(setup.train_rows.tolist())
    with pytest.raises(DataError, match="groups of 4 need 3 neighbours a face; 2 are kept"):
        BankMatcherSetup(path, _config(teacher, neighbour_batches=4), torch.device("cpu"), lambda m: None)


def test_a_group_list_names_its_column_or_is_refused_with_its_name(tmp_path):
    from training.data.groups import read_groups

    listing = tmp_path / "people.csv"
    listing.write_text("identity,gender,team\nAnn,female,red\nBob,male,blue\n")
    assert read_groups(str(listing)) == {"Ann": "female", "Bob": "male"}  # 'gender' when there is no 'group'
    assert read_groups(f"{listing}:team") == {"Ann": "red", "Bob": "blue"}
    with pytest.raises(DataError, match="missing.csv: the group list cannot be read"):
        read_groups(str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match="group column"):
        read_groups(f"{listing}:age")


def _extra_bank(bank: FaceBank, n: int = 4, prefix: str = "mix") -> FaceBank:
    """`n` one-photo people made from the first rows' crops under new keys (as benchmarks/mixes.py writes)."""
    extra = bank.subset(np.arange(n))
    extra.keys = np.array([f"mixes/{i:07d}" for i in range(n)])
    extra.identities = np.array([f"{prefix}-{i:07d}" for i in range(n)])
    return extra


def test_banks_join_in_order_and_refuse_other_crops_or_shared_photos(bank_files):
    path, _, _, _ = bank_files
    bank = FaceBank.load(path)
    extra = _extra_bank(bank)
    joined = FaceBank.concatenate([bank, extra])
    assert len(joined) == len(bank) + 4 and list(joined.keys[-4:]) == list(extra.keys)
    assert np.array_equal(joined.distorted[: len(bank)], bank.distorted)
    with pytest.raises(DataError, match="share photos"):
        FaceBank.concatenate([bank, bank])
    smaller = FaceBank(extra.clean[:, :20, :20], extra.distorted[:, :, :20, :20], extra.conditions, extra.severities,
                       extra.found, extra.keys, extra.identities, size=20, frame_scale=bank.frame_scale)
    with pytest.raises(DataError, match="differ"):
        FaceBank.concatenate([bank, smaller])


def test_a_banks_header_is_read_without_its_crops(bank_files):
    path, _, photos, _ = bank_files
    header = bank_header(path)
    bank = FaceBank.load(path)
    assert (header["size"], header["copies"], header["frame_scale"]) == (24, 3, 0.63)
    assert header["framing"] == bank.framing and list(header["identities"]) == [name for _, name in photos]


def test_one_photo_people_added_to_a_bank_leave_the_validation_people_and_pairs_as_they_were(bank_files, tmp_path):
    path, teacher, _, _ = bank_files
    bank = FaceBank.load(path)
    train, val = pair_split(bank.identities, 0.3, 3)
    names = np.concatenate([bank.identities, [f"mix-{i}" for i in range(50)]])
    train_more, val_more = pair_split(names, 0.3, 3)
    assert list(val_more) == list(val) and set(train_more) == set(train) | {f"mix-{i}" for i in range(50)}
    extra = _extra_bank(bank)
    extra_path = extra.save(tmp_path / "part-0000.npz")
    with np.load(teacher) as t:  # the mixes' targets join the teacher file, as benchmarks/mixes.py writes it
        np.savez(tmp_path / "teacher.npz", keys=np.concatenate([t["keys"], extra.keys]),
                 embeddings=np.concatenate([t["embeddings"], t["embeddings"][:4]]))
    config = _config(tmp_path / "teacher.npz")
    one = BankMatcherSetup(path, config, torch.device("cpu"), lambda m: None)
    both = BankMatcherSetup([str(path), str(extra_path)], config, torch.device("cpu"), lambda m: None)
    assert is_bank([str(path), str(extra_path)]) and not is_bank([str(path), str(path.parent)])
    assert both.val_pairs == one.val_pairs and list(both.val_rows) == list(one.val_rows)
    added = set(range(len(bank), len(bank) + 4))
    assert added <= set(both.train_rows.tolist()) and not added & set(one.train_rows.tolist())
    assert torch.equal(both.targets[len(bank):], torch.from_numpy(TeacherEmbeddings.load(teacher).vectors[:4]))
    assert "bank.npz + part-0000.npz" in both.description()


def test_the_learning_by_heart_sample_is_training_photos_of_the_first_bank(bank_files, tmp_path):
    path, teacher, _, _ = bank_files
    bank = FaceBank.load(path)
    extra_path = _extra_bank(bank).save(tmp_path / "part-0000.npz")
    with np.load(teacher) as t:
        np.savez(tmp_path / "teacher.npz", keys=np.concatenate([t["keys"], [f"mixes/{i:07d}" for i in range(4)]]),
                 embeddings=np.concatenate([t["embeddings"], t["embeddings"][:4]]))
    setup = BankMatcherSetup([str(path), str(extra_path)], _config(tmp_path / "teacher.npz"), torch.device("cpu"),
                             lambda m: None)
    rows = set(setup.fit_rows.tolist())
    assert len(rows) == min(len(setup.val_rows), len(bank)) and rows <= set(setup.train_rows.tolist())
    assert max(rows) < len(bank)


def _with_parts_made_after(bank_files, tmp_path):
    """The bank, a trained-on part of 4 one-photo faces, an unseen part of 3, and a teacher file for all."""
    path, teacher, _, _ = bank_files
    bank = FaceBank.load(path)
    trained = _extra_bank(bank, 4).save(tmp_path / "part-0000.npz")
    unseen = _extra_bank(bank, 3)
    unseen.keys = np.array([f"mixes/{i:07d}" for i in range(4, 7)])
    unseen.identities = np.array([f"mix-{i:07d}" for i in range(4, 7)])
    unseen = unseen.save(tmp_path / "part-0001.npz")
    with np.load(teacher) as t:
        np.savez(tmp_path / "teacher.npz", keys=np.concatenate([t["keys"], [f"mixes/{i:07d}" for i in range(7)]]),
                 embeddings=np.concatenate([t["embeddings"], t["embeddings"][:7]]))
    return path, trained, unseen, tmp_path / "teacher.npz", len(bank)


def test_learning_by_heart_rows_hold_each_kind_of_face(bank_files, tmp_path):
    path, trained, unseen, teacher, photos = _with_parts_made_after(bank_files, tmp_path)
    setup = BankMatcherSetup([str(path), str(trained), str(unseen)], _config(teacher), torch.device("cpu"),
                             lambda m: None)
    groups = face_groups(setup, [photos, 4, 3], trained_banks=2)
    train, val = set(setup.train_rows.tolist()), set(setup.val_rows.tolist())
    assert set(groups["training photos"]) <= train and max(groups["training photos"]) < photos
    assert set(groups["held-out photos"]) == val
    assert set(groups["added faces trained on"]) <= set(range(photos, photos + 4))
    assert len(groups["added faces trained on"]) == min(4, len(val))
    assert list(groups["unseen faces"]) == [photos + 4, photos + 5, photos + 6]


def test_learning_by_heart_table_of_a_trained_run(bank_files, tmp_path, capsys):
    path, trained, unseen, teacher, _ = _with_parts_made_after(bank_files, tmp_path)
    assert cli_main(["-q", "train-matcher", str(path), str(trained), "--teacher", str(teacher), "--input-size", "32",
                     "--frame-scale", "0.7", "--batch-size", "8", "--pairs-per-epoch", "16", "--val-pairs", "12",
                     "--val-fraction", "0.3", "--epochs", "1", "--workers", "0", "--seed", "3",
                     "--out-dir", str(tmp_path / "runs"), "--run-name", "r"]) == 0
    out = tmp_path / "table.json"
    run = tmp_path / "runs" / "r" / "best.pt"
    assert learning_by_heart([str(run), str(path), str(trained), "--unseen", str(unseen), "--json", str(out)]) == 0
    rows = {r["faces"]: r for r in json.loads(out.read_text())["rows"]}
    assert rows["unseen faces"]["count"] == 3 and rows["added faces trained on"]["count"] >= 1
    assert all(-1 <= r["teacher_cosine"] <= 1 for r in rows.values())
    assert "| unseen faces | 3 |" in capsys.readouterr().out
