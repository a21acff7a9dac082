"""Month-scale answers kept while their data cannot change (issue 13, items 1–3, the Costs page), against the
simulated account: complete days are kept by the day and only what may still change is read again; the
recommendations read sums by the day; the month's report is computed once per version of its data."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

import aws.costs
import aws.logs
import aws.metrics
from aws import cache, sim
from aws.meter import METER
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures import cost_report
from dashboard.query import sources

pytestmark = pytest.mark.aws

KEY = ["account", "region", "function", "date"]
DAY1 = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


def demo(n: int = 16) -> Settings:
    """A simulated account on the real clock (``simulation.now`` would make each moment another account)."""
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=n, seed=7))]
    )


@pytest.fixture
def at(monkeypatch):
    """The settings at a moment: the simulated account's clock, the report's and the settings' own moved there."""
    clock = {"now": DAY1}
    monkeypatch.setattr(cost_report, "_now", lambda: clock["now"])
    monkeypatch.setattr(Settings, "now", lambda self: clock["now"])
    sim.set_clock(lambda: clock["now"])

    def settings(now: datetime) -> Settings:
        clock["now"] = now
        return demo()

    cache.clear_all()
    yield settings
    sim.set_clock(None)
    cache.clear_all()


@pytest.fixture
def asked(monkeypatch):
    """The ranges each collector was asked for: (what, start, end)."""
    seen: list[tuple[str, object, object]] = []

    def spy(name, module, attr):
        real = getattr(module, attr)

        def wrapped(*a, **kw):
            seen.append((name, kw["start"], kw["end"]))
            return real(*a, **kw)

        monkeypatch.setattr(module, attr, wrapped)

    spy("costs", aws.costs, "daily_costs")
    spy("metrics", aws.metrics, "lambda_metrics")
    spy("memory", aws.logs, "memory_and_cold_starts")
    return seen


def _day(x) -> date:
    return x.date() if isinstance(x, datetime) else x


def test_inside_a_day_a_second_load_rereads_only_the_bills_last_days(at, asked):
    cfg = at(DAY1)
    cold = METER.snapshot()
    first = cost_report.gather(cfg)
    cold = METER.snapshot() - cold
    assert cold.count("GetMetricData") > 0 and cold.count("StartQuery") > 0
    cache.source("costs").invalidate()  # Cost Explorer's TTL passed (or a viewer pressed Refresh on the bill)
    asked.clear()
    later = DAY1.replace(hour=22, minute=40)
    before = METER.snapshot()
    again = cost_report.gather(at(later))
    used = METER.snapshot() - before
    # nothing of CloudWatch nor Logs is read again: the month's complete days are kept (settled)
    assert used.count("GetMetricData") == 0 and used.count("StartQuery") == 0 and used.datapoints == 0
    # the bill: one request per question as before, each for yesterday and today only (the rest is kept)
    assert {(_day(s), _day(e)) for w, s, e in asked if w == "costs"} == {(date(2026, 12, 7), date(2026, 12, 9))}
    assert used.count("GetCostAndUsage") == cold.count("GetCostAndUsage")
    assert again.bill_usd == pytest.approx(first.bill_usd, rel=0.2) and again.costs["date"].min() == first.costs["date"].min()
    pd.testing.assert_frame_equal(
        again.costs[again.costs["date"] < pd.Timestamp("2026-12-07")].reset_index(drop=True),
        first.costs[first.costs["date"] < pd.Timestamp("2026-12-07")].reset_index(drop=True),
    )


def test_a_new_day_reads_only_the_day_that_completed_and_gives_a_cold_loads_estimate(at, asked):
    start = METER.snapshot()
    first = cost_report.gather(at(DAY1))
    cold = METER.snapshot() - start
    start = METER.snapshot()
    cost_report.gather(at(DAY1))
    assert (METER.snapshot() - start).total_calls == 0  # asked again the same moment: all cached
    asked.clear()
    next_day = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    before = METER.snapshot()
    kept = cost_report.gather(at(next_day))
    used = METER.snapshot() - before
    # the estimate's metrics and REPORT lines: only Dec 8, the day that completed; the bill from Dec 7 (the day
    # before the last complete one may still have been filling when it was read) to today
    ranges = {(w, _day(s), _day(e)) for w, s, e in asked}
    assert {r for r in ranges if r[0] != "costs"} == {("metrics", date(2026, 12, 8), date(2026, 12, 9)), ("memory", date(2026, 12, 8), date(2026, 12, 9))}
    assert {(s, e) for w, s, e in ranges if w == "costs"} == {(date(2026, 12, 7), date(2026, 12, 10))}
    assert 0 < used.datapoints * 10 <= cold.datapoints and used.logs_bytes_scanned * 10 <= cold.logs_bytes_scanned
    assert used.count("GetMetricData") <= cold.count("GetMetricData")

    # kept days and the new one make the estimate one read would: the days before are the first load's (the same
    # data, the same free tier consumed in day order), the new day's usage is what a cold read of it gives.
    # (Not compared with a cold read of the whole range: the simulated account's past moves with its clock —
    # media-transcode-worker's Dec 7 has 18,338 invocations seen at Dec 8 15:30 and 9,513 at Dec 9 10:00.)
    a = kept.estimate.sort_values(KEY, ignore_index=True)
    old = first.estimate.sort_values(KEY, ignore_index=True)
    before_new = a[a["date"] < pd.Timestamp("2026-12-08")].reset_index(drop=True)
    pd.testing.assert_frame_equal(before_new, old[old["date"] >= pd.Timestamp("2026-11-01")].reset_index(drop=True))
    cache.clear_all()
    whole = cost_report.gather(at(next_day))
    b = whole.estimate.sort_values(KEY, ignore_index=True)
    new_a, new_b = (x[x["date"] == pd.Timestamp("2026-12-08")].reset_index(drop=True) for x in (a, b))
    assert len(new_a) and new_a[KEY].astype(str).equals(new_b[KEY].astype(str))
    for col in ("requests", "billed_gb_s", "provisioned_enabled_gb_s", "streaming_gb"):
        assert np.allclose(new_a[col].to_numpy(float), new_b[col].to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True), col
    assert not kept.estimate.duplicated(KEY).any()  # no function's day twice


def test_the_recommendations_read_sums_by_the_day_and_reuse_the_reports_days(at, asked):
    cfg = at(DAY1)
    report = cost_report.gather(cfg)
    asked.clear()
    frame, loaded = cost_report.rightsizing(cfg, inventory=report.inventory)
    assert not loaded.failed and len(frame) == len(report.inventory)
    # the 30 complete days' daily sums come from the days the report kept: CloudWatch is asked only for the
    # hourly utilisation of the functions with provisioned concurrency
    met = [(s, e) for w, s, e in asked if w == "metrics"]
    assert len(met) <= 2  # one per region at most (the regions with provisioned concurrency)
    pc = set(frame.loc[frame["provisioned_concurrency"].notna(), "function"])
    assert pc and frame.loc[frame["provisioned_concurrency"].notna(), "pc_utilization"].notna().all()
    # the same recommendations as from the finest series of every metric
    cache.clear_all()
    mp = pytest.MonkeyPatch()
    mp.setattr(cost_report, "DAY_S", None)
    mp.setattr(cost_report, "ESTIMATE_COLUMNS", None)
    try:
        before = METER.snapshot()
        fine, _ = cost_report.rightsizing(cfg, inventory=report.inventory, force=True)
        fine_points = (METER.snapshot() - before).datapoints
    finally:
        mp.undo()
    cache.clear_all()
    before = METER.snapshot()
    daily, _ = cost_report.rightsizing(cfg, inventory=report.inventory, force=True)
    daily_points = (METER.snapshot() - before).datapoints
    assert daily_points * 5 <= fine_points
    pd.testing.assert_frame_equal(frame, daily)  # from the report's kept days: what a cold read gives
    for col in daily.columns:
        x, y = daily[col], fine[col]
        if pd.api.types.is_float_dtype(x):
            assert np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True), col
        else:
            assert x.astype(str).equals(y.astype(str)), col


def test_the_report_is_computed_once_per_version_of_its_data(at):
    cfg = at(DAY1)
    n = cost_report._REPORTS.computed
    first = cost_report.gather(cfg)
    assert cost_report._REPORTS.computed == n + 1
    assert cost_report.gather(cfg) is first and cost_report._REPORTS.computed == n + 1  # the same object, not computed
    cache.refresh(source_name="costs")  # a viewer's Refresh of the bill: new answers, a new report
    assert cost_report.gather(cfg) is not first and cost_report._REPORTS.computed == n + 2
    assert sources.inventory(cfg).frame is not None
