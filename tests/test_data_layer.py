"""The data layer end to end on the simulated account: single-flight, stale-on-error, isolation of
failures, the summary CLI, the IAM policy, the demo description."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from aws import cache
from aws.errors import iam_action
from aws.meter import METER
from dashboard.cli import main
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures.usage import usage
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import select
from dashboard.query.timerange import parse_range

ROOT = Path(__file__).resolve().parent.parent


def demo_settings(**sim) -> Settings:
    return Settings(accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(**sim))])


@pytest.mark.aws
def test_eight_sessions_asking_at_once_make_one_refresh():
    cfg = demo_settings(functions=60)
    inv = sources.inventory(cfg).frame
    trange = parse_range("24h")
    METER.reset()
    barrier = threading.Barrier(8)
    results = []

    def session():
        barrier.wait()
        results.append(sources.metrics(cfg, trange, inv))

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    one_refresh = METER.snapshot().count("GetMetricData")
    assert len(results) == 8 and all(r.frame.equals(results[0].frame) for r in results)
    # the same question asked once, alone, makes exactly as many calls as the 8 together
    cache.clear_all()
    METER.reset()
    sources.metrics(cfg, trange, inv)
    assert METER.snapshot().count("GetMetricData") == one_refresh > 0


@pytest.mark.aws
def test_a_failed_refresh_serves_the_cached_frame_marked_stale(monkeypatch):
    good = demo_settings()
    trange = parse_range("24h")
    inv = sources.inventory(good).frame
    first = sources.metrics(good, trange, inv)
    assert not first.failed and not first.stale and len(first.frame) > 0
    cache.refresh(source_name="metrics")  # the TTL has run out
    denied = demo_settings(deny=["cloudwatch:GetMetricData"])
    from aws import session as aws_session

    aws_session.reset_clients()
    second = sources.metrics(denied, trange, inv)
    assert second.frame is not None and len(second.frame) == len(first.frame)
    assert {s.region for s in second.stale} == {"us-east-1", "eu-west-1"}
    st = second.stale[0]
    assert st.error_kind == "AccessDenied" and st.iam_action == "cloudwatch:GetMetricData"
    assert st.age_s() >= 0
    assert not second.failed


@pytest.mark.aws
def test_one_source_failing_leaves_the_others_working():
    cfg = demo_settings(deny=["cloudwatch:GetMetricData"])
    loaded = usage(Query(cfg, select(cfg, range_text="24h")))
    frame = loaded.frame
    assert len(frame) == 48  # the inventory still works
    assert frame["max_memory_used_mb"].notna().sum() > 30  # memory (REPORT lines) still works
    assert frame["invocations"].isna().all()  # metrics could not be read: unknown, not 0 (said below)
    failed = {(s.source, s.region, s.iam_action) for s in loaded.failed}
    assert ("metrics", "us-east-1", "cloudwatch:GetMetricData") in failed
    assert all("cloudwatch:GetMetricData" in s.error for s in loaded.failed)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.aws
def test_summary_json_on_the_demo_account(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli("summary", "--range", "24h", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 48
    required = {
        "account", "region", "function", "runtime", "architecture", "memory_mb", "team", "invocations", "errors",
        "error_rate", "throttles", "duration_avg_ms", "duration_p99_ms", "duration_max_ms", "concurrency_max",
        "cold_starts", "max_memory_used_mb", "billed_gb_seconds",
    }  # fmt: skip
    assert required <= set(rows[0])
    by_name = {r["function"]: r for r in rows}
    assert sum(r["invocations"] for r in rows) > 0
    assert all(r["errors"] <= r["invocations"] for r in rows)
    idle = [r for r in rows if r["invocations"] == 0]
    assert idle and all(r["error_rate"] is None for r in idle)
    assert len(by_name) == 48


@pytest.mark.aws
def test_summary_csv_and_filters(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli("summary", "--range", "1h", "--format", "csv", "--region", "eu-west-1", "--team", "payments")
    assert code == 0
    lines = out.strip().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["account", "region", "function"]
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    assert rows and {r["region"] for r in rows} == {"eu-west-1"} and {r["team"] for r in rows} == {"payments"}


@pytest.mark.aws
def test_summary_exits_1_with_one_sentence_when_aws_fails(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  - name: demo\n    demo: true\n    simulation: {deny: ['cloudwatch:GetMetricData']}\n")
    code, out, err = run_cli("summary", "--config", str(cfg), "--format", "json")
    assert code == 1
    assert len(json.loads(out)) == 48  # what could be fetched is still printed
    lines = err.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == [
        "error: Access denied in demo/us-east-1: the credentials may not call cloudwatch:GetMetricData; "
        "grant it (see docs/iam-policy.json)."
    ]
    # the memory figures fell back from Lambda Insights (also GetMetricData) to REPORT lines, and say so
    assert [line for line in lines if not line.startswith("error:")] == [
        "warning: Lambda Insights metrics unavailable, read from REPORT lines instead: Access denied in demo/us-east-1: "
        "the credentials may not call cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    ]
    assert "Traceback" not in err


@pytest.mark.aws
def test_iam_policy_allows_every_action_a_refresh_makes():
    policy = json.loads((ROOT / "docs/iam-policy.json").read_text())
    allowed = {a for st in policy["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    cfg = demo_settings()
    trange = parse_range("7d")
    METER.reset()
    usage(Query(cfg, select(cfg, range_text="7d", now=trange.end)))
    sources.daily_costs(cfg, start=trange.start.date(), end=trange.end.date(), group_by="TAG:team")
    sources.month_forecast(cfg)
    from dashboard.figures import cost_report

    cost_report.rightsizing(cfg)
    cost_report.gather(cfg)
    used = {iam_action(svc, op) for (_, _, svc, op) in METER.snapshot().calls}
    assert used - allowed == set()
    assert {"cloudwatch:GetMetricData", "logs:StartQuery", "tag:GetResources", "ce:GetCostAndUsage"} <= used


def test_demo_command_describes_the_simulation(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli("demo")
    assert code == 0
    assert "us-east-1" in out and "eu-west-1" in out
    for kind in ("errors", "throttles", "timeout", "idle"):
        assert kind in out


@pytest.mark.parametrize("source", ["insights", "filter"])
@pytest.mark.aws
def test_memory_through_either_logs_path_matches(source):
    base = demo_settings(functions=20)
    cfg = base.model_copy(update={"logs": base.logs.model_copy(update={"source": source})})
    trange = parse_range("3h")
    inv = sources.inventory(cfg).frame
    mem = sources.memory(cfg, trange, inv)
    assert not mem.failed
    assert set(mem.frame["source"]) == ({"logs_insights"} if source == "insights" else {"filter_log_events"})
    assert mem.frame["reports"].sum() > 0


@pytest.mark.aws
def test_an_account_name_pointed_elsewhere_never_serves_the_old_accounts_answers():
    """The caches key an account by everything that decides whose data it is (Account.cache_id), not its name:
    editing config.yaml to point "prod" at another profile, role or endpoint asks AWS again at once."""
    from aws import cache
    from dashboard.config.settings import AccountSettings, DemoSettings, Settings
    from dashboard.query.sources import inventory

    def settings(functions: int) -> Settings:
        return Settings(accounts=[AccountSettings(name="prod", demo=True, regions=["us-east-1"], simulation=DemoSettings(functions=functions))])

    first = inventory(settings(48))
    assert len(first.frame) > 0
    again = inventory(settings(48))
    assert len(again.frame) == len(first.frame) and again.statuses[0].fetched_at == first.statuses[0].fetched_at  # cached
    other = inventory(settings(8))  # same name, another account behind it
    assert 0 < len(other.frame) < len(first.frame)
    # a targeted refresh by name still finds the entries
    assert cache.refresh(source_name="inventory", account="prod") == 2
    assert cache.refresh(source_name="inventory", account="nope") == 0
