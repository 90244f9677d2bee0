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


def test_an_empty_machine_rebuilds_the_data_and_goes_on_from_the_shipped_weights(tmp_path):
    calls = campaign(tmp_path)
    modules = [call[1] for call in calls]
    assert modules[:4] == ["benchmarks.bank", "benchmarks.teacher", "benchmarks.mixes", "benchmarks.mixes"]
    assert "--align" in calls[0]
    # only the blends the stages still to run train on: parts 80-99 of three people, the first 10 of four, parts
    # 80-99 of two (s16, s17), 100-119 of two (s18) and 120-139 of two (s19); none of the earlier ones
    mixes = [call for call in calls if call[1] == "benchmarks.mixes"]
    assert [option(call, "--count") for call in mixes] == ["50000", "5000", "50000", "60000", "70000"]
    assert [option(call, "--first-part", "0") for call in mixes] == ["80", "0", "80", "100", "120"]
    assert [option(call, "--people", "2") for call in mixes] == ["3", "4", "2", "2", "2"]
    # s18's and s19's new blends of two, each made just before its stage in s16's folder (its teacher file holds
    # them all)
    assert modules[-4:] == ["benchmarks.mixes", "training", "benchmarks.mixes", "training"]
    assert mixes[3][5] == mixes[4][5] == mixes[2][5] and mixes[3][4] == mixes[4][4] == mixes[2][4]
    # the decided stages are not replayed: s14-s16 start from the bundled file, the shipped stage's end
    assert trained(calls) == ["s14", "s15", "s16", "s17", "s18", "s19"]
    s14, s15, s16, s17, s18, s19 = [call for call in calls if call[1] == "training"]
    assert option(s14, "--start") == option(s15, "--start") == option(s16, "--start") == "resources/models/matcher.pt"
    # s15: s14 again (start, faces, options) but a ranking term twice as strong
    banks = [Path(arg) for arg in bank_parts(s14)]
    assert [Path(arg) for arg in bank_parts(s15)] == banks
    assert float(option(s15, "--ranking-weight")) == 1.0 and option(s15, "--teacher") == option(s14, "--teacher")
    assert option(s14, "--epochs") == "8" and float(option(s14, "--ranking-weight")) == 0.5
    assert {kind: sum(b.parent.name == kind for b in banks) for kind in ("mixes3", "mixes4")} == {
        "mixes3": 20, "mixes4": 10} and len(banks) == 30
    assert all(b.exists() for b in banks) and "--tied-head" in s14
    assert {b.stem for b in banks if b.parent.name == "mixes3"} == {f"part-{i:04d}" for i in range(80, 100)}
    # its teacher file holds the targets of every face it trains on: the photos' file under the blends of three,
    # theirs under the blends of four
    assert Path(option(s14, "--teacher")).parent.name == "mixes4"
    assert Path(mixes[0][4]).name == "teacher_distill.npz" and Path(mixes[1][4]).parent.name == "mixes3"
    # s16: s15 (its weight) plus 10,000 new blends of two in their own folder, indices 40,000-49,999, made on the
    # blends of four's teacher file so that its own teacher file covers every face s16 trains on
    pairs = [Path(arg) for arg in bank_parts(s16) if Path(arg).parent.name == "mixes2n"]
    assert [Path(arg) for arg in bank_parts(s16) if arg not in map(str, pairs)] == banks
    assert {b.stem for b in pairs} == {f"part-{i:04d}" for i in range(80, 100)} and all(b.exists() for b in pairs)
    assert Path(mixes[2][4]).parent.name == "mixes4" and Path(option(s16, "--teacher")).parent.name == "mixes2n"
    assert float(option(s16, "--ranking-weight")) == 1.0 and "--tied-head" in s16
    # s17: from s16's end on its faces, the ranking term sharper (temperature 0.05 -> 0.03)
    assert option(s17, "--start") == str(tmp_path / "dev" / "runs" / "s16" / "last.pt")
    assert bank_parts(s17) == bank_parts(s16)
    assert float(option(s16, "--ranking-temperature")) == 0.05 and float(option(s17, "--ranking-temperature")) == 0.03
    assert float(option(s17, "--ranking-weight")) == 1.0 and option(s17, "--teacher") == option(s16, "--teacher")
    assert "--tied-head" in s17
    # s18: s16's recipe from its end, on its faces and the 10,000 new blends of two
    assert option(s18, "--start") == option(s17, "--start") and "--tied-head" in s18
    assert float(option(s18, "--ranking-temperature", "0.05")) == 0.05 and float(option(s18, "--ranking-weight")) == 1.0
    assert bank_parts(s18)[:len(bank_parts(s16))] == bank_parts(s16)
    newer = [Path(arg) for arg in bank_parts(s18)[len(bank_parts(s16)):]]
    assert {b.stem for b in newer} == {f"part-{i:04d}" for i in range(100, 120)} and all(b.exists() for b in newer)
    assert {b.parent.name for b in newer} == {"mixes2n"} and option(s18, "--teacher") == option(s16, "--teacher")
    # s19: s18's recipe from its end, on its faces and 10,000 more new blends of two
    assert option(s19, "--start") == str(tmp_path / "dev" / "runs" / "s18" / "last.pt")
    def recipe(call):  # its options but the run's name, the start and the faces
        own = {option(call, "--start"), option(call, "--run-name")}
        return [arg for arg in call if "/part-" not in arg and arg not in own]
    assert recipe(s19) == recipe(s18) and "--tied-head" in recipe(s19)
    assert bank_parts(s19)[:len(bank_parts(s18))] == bank_parts(s18)
    newest = [Path(arg) for arg in bank_parts(s19)[len(bank_parts(s18)):]]
    assert {b.stem for b in newest} == {f"part-{i:04d}" for i in range(120, 140)} and all(b.exists() for b in newest)
    assert {b.parent.name for b in newest} == {"mixes2n"}
    assert all((tmp_path / "dev" / "runs" / name / "done").exists()
               for name in ("s14", "s15", "s16", "s17", "s18", "s19"))


def test_a_machine_that_kept_the_shipped_stage_goes_on_from_its_run_without_replaying(tmp_path):
    shipped = tmp_path / "dev" / "runs" / "s13"
    shipped.mkdir(parents=True)
    (shipped / "last.pt").touch()
    (shipped / "done").touch()
    calls = campaign(tmp_path)
    # nothing earlier, though those runs are not here
    assert trained(calls) == ["s14", "s15", "s16", "s17", "s18", "s19"]
    *from_shipped, s17, s18, s19 = [call for call in calls if call[1] == "training"]
    for call in from_shipped:
        assert option(call, "--start") == str(shipped / "last.pt") and "--tied-head" in call
    assert option(s17, "--start") == option(s18, "--start") == str(shipped.parent / "s16" / "last.pt")
    assert option(s19, "--start") == str(shipped.parent / "s18" / "last.pt")


def test_a_second_run_rebuilds_nothing_and_skips_finished_stages(tmp_path):
    campaign(tmp_path)
    assert campaign(tmp_path) == []


def test_replay_runs_every_stage_from_the_first(tmp_path):
    stages = trained(campaign(tmp_path, REPLAY="1"))
    assert stages[:3] == ["s1", "s2", "s3"] and "s7" in stages
    order = [stages.index(name) for name in ("s7", "s8s", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16",
                                                  "s17", "s18", "s19")]
    assert order == sorted(order)
