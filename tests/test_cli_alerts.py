"""``python -m dashboard alerts``: formats, filters, transitions, exit codes, one-sentence errors.

The rows printed are checked against :mod:`dashboard.alerts.evaluation` asked the same question after
the run (the caches hand both the same data).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.alerts import evaluation
from dashboard.cli import main
from dashboard.config import settings as settings_mod
from dashboard.present.tables import render
from dashboard.query.selection import select

ROOT = Path(__file__).resolve().parent.parent
KEYS = [
    "severity", "state", "rule", "account", "region", "function", "team", "metric", "since",
    "value", "last_value", "threshold", "comparison", "unit", "note", "unread",
]


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch):
    """The CLI and the check below must see the same "now": the config's clock and the simulator's, frozen."""
    from datetime import UTC, datetime

    from aws import sim
    from dashboard.config.settings import Settings

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    monkeypatch.setattr(Settings, "now", lambda self: now)
    sim.set_clock(lambda: now)
    yield
    sim.set_clock(None)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def expected(range_text: str = "24h", **filters) -> str:
    cfg = settings_mod.load(settings_mod.DEFAULT_CONFIG)
    got = evaluation.load_alerts(cfg, select(cfg, range_text=range_text))
    fmt = filters.pop("fmt", "table")
    if filters.pop("transitions", False):
        return render(evaluation.transition_rows(got.report, **filters).drop(columns="link"), fmt) + "\n"
    return render(evaluation.alert_rows(got.report.states, **filters).drop(columns="link"), fmt) + "\n"


@pytest.mark.aws
def test_by_default_it_prints_what_fires_as_a_table(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = run("alerts")
    assert (code, err) == (0, "")
    assert out == expected()
    header = out.splitlines()[0].split()
    assert header == KEYS
    assert "memory-high" in out and "no-invocations" in out and " OK " not in out


@pytest.mark.aws
def test_json_is_a_list_of_flat_objects_and_filters_combine(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run("alerts", "--format", "json", "--state", "all", "--severity", "warning", "--rule", "memory-high", "--team", "media")
    assert code == 0
    rows = json.loads(out)
    assert rows and all(list(r) == KEYS for r in rows)
    assert {(r["severity"], r["rule"], r["team"]) for r in rows} == {("warning", "memory-high", "media")}
    assert {r["state"] for r in rows} >= {"ALARM", "OK"}
    assert out == expected(fmt="json", states_wanted=None, severities=["warning"], rules=["memory-high"], teams=["media"])
    firing = [r for r in rows if r["state"] == "ALARM"]
    assert [r["function"] for r in firing] == ["media-image-resizer"] and firing[0]["unit"] == "% of memory"


@pytest.mark.aws
def test_csv_of_every_state_of_one_severity(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run("alerts", "--format", "csv", "--state", "OK", "--state", "INSUFFICIENT_DATA", "--severity", "critical", "--range", "3h")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["severity"] for r in rows} == {"critical"} and {r["state"] for r in rows} <= {"OK", "INSUFFICIENT_DATA"}
    assert out == expected("3h", fmt="csv", states_wanted=["OK", "INSUFFICIENT_DATA"], severities=["critical"])


@pytest.mark.aws
def test_transitions_over_the_range(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run("alerts", "--transitions", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows and list(rows[0]) == ["timestamp", "severity", "rule", "account", "region", "function", "team", "metric", "from_state", "to_state", "value", "unit"]
    assert [r["timestamp"] for r in rows] == sorted((r["timestamp"] for r in rows), reverse=True)
    assert out == expected(fmt="json", transitions=True)


def test_an_unknown_rule_or_state_is_bad_input(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = run("alerts", "--rule", "memory-hgih")
    assert (code, out) == (2, "")
    assert err == (
        "error: no rule named 'memory-hgih' in config.yaml (rules: error-rate, throttles, duration-near-timeout, "
        "memory-high, iterator-age, cold-start-rate, concurrency-share, no-invocations)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "alerts", "--state", "FIRING"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "invalid choice: 'FIRING'" in proc.stderr


@pytest.mark.aws
def test_invalid_overrides_are_bad_input(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "accounts: [{name: demo, demo: true, simulation: {functions: 8}}]\n"
        "alerts:\n"
        "  rules: [{name: e, metric: errors, threshold: 0, evaluation_periods: 3, datapoints_to_alarm: 2}]\n"
        "  tag_overrides: {team: {payments: {e: {datapoints_to_alarm: 3}}}}\n"
        "  function_overrides: {payments-checkout-api: {e: {evaluation_periods: 2}}}\n"
    )
    code, out, err = run("alerts", "--config", str(cfg))
    assert (code, out) == (2, "")
    assert err == (
        "error: alerts: rule 'e' for function 'payments-checkout-api': with its tag and function overrides, "
        "datapoints_to_alarm (3) exceeds evaluation_periods (2); M must be ≤ N\n"
    )


@pytest.mark.aws
def test_a_source_that_fails_exits_1_and_says_why_once(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "accounts: [{name: demo, demo: true, regions: [us-east-1], simulation: {functions: 8, deny: ['cloudwatch:GetMetricData']}}]\n"
        "alerts: {rules: [{name: e, metric: errors, threshold: 0}, {name: m, metric: memory_utilization, threshold: 90}]}\n"
    )
    code, out, err = run("alerts", "--config", str(cfg), "--state", "all", "--format", "json")
    assert code == 1
    denied = "Access denied in demo/us-east-1: the credentials may not call cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    assert err == f"warning: Lambda Insights metrics unavailable, read from REPORT lines instead: {denied}\nerror: {denied}\n"
    rows = json.loads(out)  # what could be evaluated is still printed: the metric rule knows nothing, memory still tells
    by_rule = {rule: [r for r in rows if r["rule"] == rule] for rule in ("e", "m")}
    assert len(by_rule["e"]) == len(by_rule["m"]) == 8
    # not "no metric data in the range" (an idle function's note): it was not evaluated, and says why
    assert {r["state"] for r in by_rule["e"]} == {"INSUFFICIENT_DATA"} and {r["unread"] for r in by_rule["e"]} == {True}
    assert {r["note"] for r in by_rule["e"]} == {f"not evaluated: its metrics could not be read for demo/us-east-1 ({denied})"}
    assert {r["state"] for r in by_rule["m"]} >= {"OK"} and {r["unread"] for r in by_rule["m"]} == {False}


@pytest.mark.aws  # the repository's config: the demo's simulated account, in a process of its own
def test_it_runs_as_a_module(tmp_path):
    import yaml

    # the repository's config, its state folder (the alert history the evaluation records) in the test's folder
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    doc.setdefault("email", {})["state_path"] = str(tmp_path / "state" / "digest-state.json")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "alerts", "--format", "json", "--range", "1h"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "LAMBDA_LENS_CONFIG": str(tmp_path / "config.yaml")},
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "")
    assert {r["state"] for r in json.loads(proc.stdout)} == {"ALARM"}
    assert (tmp_path / "state" / "alert-history.json").exists()
