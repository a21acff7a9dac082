"""bench/render.py's output contract (not its timings): the JSON rows, the size layout, the latency model."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from aws.meter import MeterSnapshot
from dashboard.config.settings import load

SPEC = importlib.util.spec_from_file_location("bench_render", Path(__file__).resolve().parent.parent / "bench" / "render.py")
render = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(render)


def measured(page: str, n: int) -> dict:
    calls = Counter({("demo", "us-east-1", "cloudwatch", "GetMetricData"): 3, ("demo", "us-east-1", "lambda", "ListFunctions"): 1})
    cold = MeterSnapshot(calls=calls, metrics_requested=900, datapoints=4321)
    return render.row(page, n, cold_s=2.5, warm=[0.3, 0.1, 0.2], sim_s=1.0, sim_warm=[0.0] * 3, cold_meter=cold,
                      warm_meter=MeterSnapshot(), peak_rss_mb=321.04)  # fmt: skip


def test_a_row_has_the_json_fields_from_what_was_measured():
    r = measured("costs", 1000)
    assert set(render.FIELDS) <= set(r)
    assert (r["page"], r["functions"], r["requests"], r["datapoints"], r["warm_s"]) == ("costs", 1000, 4, 4321, 0.2)
    assert r["lens_s"] == pytest.approx(r["cold_s"] - r["sim_s"])
    assert r["real_aws_s"] > r["lens_s"]  # the requests take time against real AWS
    json.dumps(r)


def test_json_output_is_a_list_with_one_object_per_page_and_size(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(render, "run_one", lambda page, n, cfg, args: (measured(page, n), None))
    assert render.main(["--sizes", "48", "1000", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["page"], r["functions"]) for r in rows] == [(p, n) for n in (48, 1000) for p in render.PAGES]
    for r in rows:
        assert set(render.FIELDS) <= set(r) and r["page"] in render.PAGES


def test_a_size_the_settings_refuse_is_skipped_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(render, "run_one", lambda page, n, cfg, args: (measured(page, n), None))
    assert render.main(["--sizes", "48", "30000", "--layout", "30000=1x2", "--pages", "overview", "--format", "json"]) == 0
    out = capsys.readouterr()
    assert [r["functions"] for r in json.loads(out.out)] == [48]
    assert "skipped 30,000 functions" in out.err and "simulation.functions" in out.err


def test_ten_thousand_functions_are_ten_accounts_of_three_regions(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(render.config_text(10000, *render.layout(10000, render.LAYOUTS)))
    accounts = load(path).accounts
    assert len(accounts) == 10 and {len(a.regions) for a in accounts} == {3}
    assert sum(a.simulation.functions for a in accounts) == 10000


def test_the_latency_model_respects_the_getmetricdata_rate():
    one_region = Counter({("a", "us-east-1", "cloudwatch", "GetMetricData"): 1000})
    assert render.aws_model_s(one_region) == pytest.approx(1000 / render.GMD_TPS)  # 8 threads at 150 ms would be faster
    spread = Counter({("a", r, "cloudwatch", "GetMetricData"): 500 for r in ("us-east-1", "eu-west-1")})
    assert render.aws_model_s(spread) < render.aws_model_s(one_region)  # each region has its own 50 TPS
    slow = render.aws_model_s(Counter({("a", "us-east-1", "cloudwatch", "GetMetricData"): 8}), {"GetMetricData": 1.0})
    assert slow == pytest.approx(1.0)
