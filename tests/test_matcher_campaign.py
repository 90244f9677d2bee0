"""benchmarks/matcher_campaign.sh on a machine that came back empty, with every Python step stubbed.

The stub records each call and writes what the real step would (a bank, a teacher file, parts of blends, a run's
last.pt), so these tests check the script's own decisions: what it rebuilds, which stage it
starts, from which weights, and that a finished stage is not run again.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "matcher_campaign.sh"

STUB = r'''#!/usr/bin/env bash
# python -m MODULE ARGS...: record the call, then leave the outputs the real module would.
echo "$*" >> "$CALLS"
args=("$@")
case "$2" in
  benchmarks.bank|benchmarks.teacher) touch "${args[3]}" ;;
  benchmarks.mixes)
    out=${args[5]}; first=0; mkdir -p "$out"
    for ((i = 0; i < $#; i++)); do [ "${args[$i]}" = --first-part ] && first=${args[$((i + 1))]}; done
    for ((i = first; i < ${args[7]} / 500; i++)); do touch "$out/part-$(printf %04d "$i").npz"; done
    touch "$out/teacher.npz" ;;
  training)
    for ((i = 0; i < $#; i++)); do [ "${args[$i]}" = --run-name ] && name=${args[$((i + 1))]}; done
    for ((i = 0; i < $#; i++)); do [ "${args[$i]}" = --out-dir ] && runs=${args[$((i + 1))]}; done
    mkdir -p "$runs/$name"; touch "$runs/$name/last.pt" ;;
esac
'''

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32",
                                 reason="the campaign is a bash script")


def campaign(tmp_path: Path, **env: str) -> list[list[str]]:
    """Run the script on DEV = tmp_path/dev; the calls it made, each as its argument list."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    stub = tmp_path / "python"
    stub.write_text(STUB)
    stub.chmod(0o755)
    calls = tmp_path / "calls"
    calls.unlink(missing_ok=True)
    environment = {**os.environ, "PYTHON": str(stub), "CALLS": str(calls), **env}
    subprocess.run(["bash", str(SCRIPT), str(tmp_path / "data"), str(tmp_path / "dev")], cwd=ROOT,
                   env=environment, check=True, capture_output=True, text=True, timeout=60)
    return [line.split() for line in calls.read_text().splitlines()] if calls.exists() else []


def option(call: list[str], name: str, default: str = "") -> str:
    if name not in call:
        return default
    return call[len(call) - 1 - call[::-1].index(name) + 1]  # the last occurrence wins, as in argparse


def bank_parts(call: list[str]) -> list[str]:
    """The parts of blends a training call names, in its order."""
    return [arg for arg in call if "/part-" in arg]


def trained(calls: list[list[str]]) -> list[str]:
    return [option(call, "--run-name") for call in calls if call[1] == "training"]


def recipe(call: list[str]) -> list[str]:
    """A training call's options but the run's name, its start and its faces."""
    own = {option(call, "--start"), option(call, "--run-name")}
    return [arg for arg in call if "/part-" not in arg and arg not in own]


def test_an_empty_machine_rebuilds_the_data_and_goes_on_from_the_shipped_weights(tmp_path):
    calls = campaign(tmp_path)
    modules = [call[1] for call in calls]
    assert modules[:4] == ["benchmarks.bank", "benchmarks.teacher", "benchmarks.mixes", "benchmarks.mixes"]
    assert "--align" in calls[0]
    # only the blends the stage still to run trains on: parts 80-99 of three people, the first 10 of four and parts
    # 80-139 of two, made in three runs (s16's, s18's and s19's; all in one folder, whose teacher file holds them
    # all); none of the earlier ones
    mixes = [call for call in calls if call[1] == "benchmarks.mixes"]
    assert [option(call, "--count") for call in mixes] == ["50000", "5000", "50000", "60000", "70000"]
    assert [option(call, "--first-part", "0") for call in mixes] == ["80", "0", "80", "100", "120"]
    assert [option(call, "--people", "2") for call in mixes] == ["3", "4", "2", "2", "2"]
    assert mixes[3][5] == mixes[4][5] == mixes[2][5] and mixes[3][4] == mixes[4][4] == mixes[2][4]
    assert Path(mixes[0][4]).name == "teacher_distill.npz" and Path(mixes[1][4]).parent.name == "mixes3"
    assert Path(mixes[2][4]).parent.name == "mixes4"
    # the decided stages (s18 shipped) are not replayed: s19 starts from the bundled file, s18's end
    assert modules[-1] == "training" and trained(calls) == ["s19"]
    s19 = calls[-1]
    assert option(s19, "--start") == "resources/models/matcher.pt"
    banks = [Path(arg) for arg in bank_parts(s19)]
    assert [b.parent.name for b in banks] == ["mixes3"] * 20 + ["mixes4"] * 10 + ["mixes2n"] * 60
    assert [int(b.stem[5:]) for b in banks] == [*range(80, 100), *range(10), *range(80, 140)]
    assert all(b.exists() for b in banks) and "--tied-head" in s19
    assert float(option(s19, "--ranking-weight")) == 1.0 and float(option(s19, "--ranking-temperature", "0.05")) == 0.05
    assert Path(option(s19, "--teacher")).parent.name == "mixes2n"
    assert (tmp_path / "dev" / "runs" / "s19" / "done").exists()


def test_the_stages_after_s13_replay_as_decided(tmp_path):
    calls = campaign(tmp_path, REPLAY="1")
    runs = tmp_path / "dev" / "runs"
    stages = {option(call, "--run-name"): call for call in calls if call[1] == "training"}
    s14, s15, s16, s17, s18, s19 = (stages[name] for name in ("s14", "s15", "s16", "s17", "s18", "s19"))
    assert option(s14, "--start") == option(s15, "--start") == option(s16, "--start") == str(runs / "s13" / "last.pt")
    # s14: the photos, blends of three (parts 80-99) and of four (the first 10), head tied, ranking weight 0.5
    banks = [Path(arg) for arg in bank_parts(s14)]
    assert {kind: sum(b.parent.name == kind for b in banks) for kind in ("mixes3", "mixes4")} == {
        "mixes3": 20, "mixes4": 10} and len(banks) == 30
    assert {b.stem for b in banks if b.parent.name == "mixes3"} == {f"part-{i:04d}" for i in range(80, 100)}
    assert option(s14, "--epochs") == "8" and float(option(s14, "--ranking-weight")) == 0.5 and "--tied-head" in s14
    # its teacher file holds the targets of every face it trains on
    assert Path(option(s14, "--teacher")).parent.name == "mixes4"
    # s15: s14 again (start, faces, options) but a ranking term twice as strong
    assert [Path(arg) for arg in bank_parts(s15)] == banks
    assert float(option(s15, "--ranking-weight")) == 1.0 and option(s15, "--teacher") == option(s14, "--teacher")
    # s16: s15 (its weight) plus 10,000 new blends of two in their own folder (parts 80-99), whose teacher file
    # covers every face s16 trains on
    pairs = [Path(arg) for arg in bank_parts(s16) if Path(arg).parent.name == "mixes2n"]
    assert [Path(arg) for arg in bank_parts(s16) if arg not in map(str, pairs)] == banks
    assert {b.stem for b in pairs} == {f"part-{i:04d}" for i in range(80, 100)}
    assert Path(option(s16, "--teacher")).parent.name == "mixes2n"
    assert float(option(s16, "--ranking-weight")) == 1.0 and "--tied-head" in s16
    # s17: from s16's end on its faces, the ranking term sharper (temperature 0.05 -> 0.03)
    assert option(s17, "--start") == str(runs / "s16" / "last.pt") and bank_parts(s17) == bank_parts(s16)
    assert float(option(s16, "--ranking-temperature")) == 0.05 and float(option(s17, "--ranking-temperature")) == 0.03
    assert float(option(s17, "--ranking-weight")) == 1.0 and option(s17, "--teacher") == option(s16, "--teacher")
    # s18 (shipped): s16's recipe from its end, on its faces and 10,000 new blends of two (parts 100-119)
    assert option(s18, "--start") == option(s17, "--start") and recipe(s18) == recipe(s16)
    assert bank_parts(s18)[:len(bank_parts(s16))] == bank_parts(s16)
    newer = [Path(arg) for arg in bank_parts(s18)[len(bank_parts(s16)):]]
    assert {b.stem for b in newer} == {f"part-{i:04d}" for i in range(100, 120)} and {
        b.parent.name for b in newer} == {"mixes2n"}
    # s19: s18's recipe from its end, on its faces and 10,000 more new blends of two (parts 120-139)
    assert option(s19, "--start") == str(runs / "s18" / "last.pt") and recipe(s19) == recipe(s18)
    assert bank_parts(s19)[:len(bank_parts(s18))] == bank_parts(s18)
    newest = [Path(arg) for arg in bank_parts(s19)[len(bank_parts(s18)):]]
    assert {b.stem for b in newest} == {f"part-{i:04d}" for i in range(120, 140)} and {
        b.parent.name for b in newest} == {"mixes2n"}


def test_a_machine_that_kept_the_shipped_stage_goes_on_from_its_run_without_replaying(tmp_path):
    shipped = tmp_path / "dev" / "runs" / "s18"
    shipped.mkdir(parents=True)
    (shipped / "last.pt").touch()
    (shipped / "done").touch()
    calls = campaign(tmp_path)
    assert trained(calls) == ["s19"]  # nothing earlier, though those runs are not here
    assert option(calls[-1], "--start") == str(shipped / "last.pt") and "--tied-head" in calls[-1]


def test_a_second_run_rebuilds_nothing_and_skips_finished_stages(tmp_path):
    campaign(tmp_path)
    assert campaign(tmp_path) == []


def test_replay_runs_every_stage_from_the_first(tmp_path):
    stages = trained(campaign(tmp_path, REPLAY="1"))
    assert stages[:3] == ["s1", "s2", "s3"] and "s7" in stages
    order = [stages.index(name) for name in ("s7", "s8s", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16",
                                                  "s17", "s18", "s19")]
    assert order == sorted(order)
