"""The tagging benchmark script runs end to end on a few generated photos (its figures are not checked)."""

import json
import statistics

import pytest

from faceapp.tools import benchmark

from .helpers import face_image


def test_benchmark_runs_interleaved_rounds_and_writes_json(app_env, tiny_models, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        face_image(i).save(photos / f"p{i}.jpg")
    out = tmp_path / "bench.json"
    code = benchmark.main(["--data", str(photos), "--limit", "4", "--batch-size", "2", "--repeat", "2",
                           "--model", str(tiny_models["gender"]), "--device", "cpu", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["images"] == 4 and report["rounds"] == 2 and len(report["per_round"]) == 2
    for row in report["per_round"]:
        assert row["model_only"] > 0 and row["app"] > 0 and row["headless"] > 0
        assert row["model_cpu_ms"] > 0 and row["app_cpu_ms"] > 0 and row["prep_cpu_ms"] > 0
        assert row["overhead_floor_pct"] > 0
    # the report rounds to 0.01; the median of two rounds is their mean, which floats may not give exactly
    assert report["app_overhead_vs_model_pct"] == pytest.approx(statistics.median(report["overhead_pct_per_round"]),
                                                                abs=0.006)
    assert report["overhead_floor_pct"] == pytest.approx(
        statistics.median(r["overhead_floor_pct"] for r in report["per_round"]), abs=0.06)
    assert "app_end_to_end_images_per_s" in capsys.readouterr().out
