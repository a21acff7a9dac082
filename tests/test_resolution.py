"""Resolution follows the question: fleet views read whole-range statistics and a ~60-point trend, a function's
page its own series at a readable period, each alert rule its own period over its own window."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aws import cache, sim
from aws import metrics as cw
from aws.frames import typed_frame
from aws.meter import METER
from dashboard.alerts import ALARM, METRICS, evaluation
from dashboard.config import settings as settings_mod
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures import fleet, usage
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import select
from dashboard.web import function_view

NOW = datetime(2026, 11, 26, 16, 20, 30, tzinfo=UTC)  # not on a whole minute
KEY = ["account", "region", "function"]


# --- periods -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "period"),
    [(timedelta(hours=1), 60), (timedelta(hours=24), 1440), (timedelta(days=7), 10080), (timedelta(days=30), 43200)],
)
def test_a_fleet_window_of_a_preset_is_sixty_periods_ending_at_the_last_whole_minute(span, period):
    start, end, got = cw.fleet_window(start=NOW - span, end=NOW, now=NOW)
    assert got == period
    assert end == NOW.replace(second=0) and end - start == span
    assert (end - start) / timedelta(seconds=got) == cw.FLEET_POINTS


@settings(max_examples=80, deadline=None)
@given(
    span_s=st.integers(60, 90 * 86400),
    age_s=st.integers(0, 400 * 86400),
    points=st.integers(1, 200),
)
def test_a_fleet_window_has_at_most_its_points_at_a_period_cloudwatch_holds_for_its_age(span_s, age_s, points):
    now = NOW
    end = now - timedelta(seconds=age_s)
    start = end - timedelta(seconds=span_s)
    lo, hi, period = cw.fleet_window(start=start, end=end, now=now, points=points)
    unit = cw.retention_unit(start=start, now=now)
    assert period % unit == 0 and period % 60 == 0
    n = (hi - lo).total_seconds() / period
    assert n == int(n) and 1 <= n <= points
    assert int(hi.timestamp()) % unit == 0 and hi <= max(end, start + timedelta(seconds=unit))
    assert lo <= start < lo + timedelta(seconds=period)  # covers the range, reaching back less than a period


@pytest.mark.parametrize(
    ("span", "period"),
    [(timedelta(hours=1), 60), (timedelta(hours=6), 60), (timedelta(hours=24), 300), (timedelta(days=7), 1800), (timedelta(days=30), 21600)],
)
def test_a_function_page_is_drawn_in_hundreds_of_points_at_most(span, period):
    got = cw.chart_period(start=NOW - span, end=NOW, now=NOW)
    assert got == period
    assert math.ceil(span.total_seconds() / got) <= cw.CHART_POINTS


def test_a_chart_of_old_data_uses_a_period_cloudwatch_still_holds():
    start = NOW - timedelta(days=20)
    assert cw.chart_period(start=start, end=start + timedelta(hours=1), now=NOW) % 300 == 0
    start = NOW - timedelta(days=100)
    assert cw.chart_period(start=start, end=start + timedelta(hours=1), now=NOW) % 3600 == 0


# --- the figures do not depend on the period -----------------------------------------------------------------


def series(period_s: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-11-26T00:00:00Z")
    inv = rng.integers(0, 50, n).astype(float)
    rows = {
        "account": "a", "region": "r", "function": "f",
        "timestamp": [t0 + pd.Timedelta(seconds=period_s * i) for i in range(n)],
        "period_s": period_s, "invocations": inv, "errors": np.floor(inv / 10), "throttles": rng.integers(0, 2, n).astype(float),
        "duration_avg_ms": rng.uniform(10, 100, n), "duration_p99_ms": rng.uniform(100, 900, n),
        "duration_max_ms": rng.uniform(900, 1000, n), "concurrency_max": rng.integers(1, 9, n).astype(float),
    }
    return typed_frame(pd.DataFrame(rows), cw.LAMBDA_SCHEMA)


def coarser(frame: pd.DataFrame, factor: int) -> pd.DataFrame:
    """The same data as CloudWatch answers it at ``factor`` times the period (sums summed, maxima max, the
    average weighted by invocations, the p99 an upper bound)."""
    g = frame.assign(_b=np.arange(len(frame)) // factor, _w=frame["duration_avg_ms"] * frame["invocations"]).groupby("_b")
    out = g.agg(
        timestamp=("timestamp", "first"), invocations=("invocations", "sum"), errors=("errors", "sum"), throttles=("throttles", "sum"),
        _w=("_w", "sum"), duration_p99_ms=("duration_p99_ms", "max"), duration_max_ms=("duration_max_ms", "max"),
        concurrency_max=("concurrency_max", "max"),
    )
    out["duration_avg_ms"] = out["_w"] / out["invocations"]
    out = out.drop(columns="_w").assign(account="a", region="r", function="f", period_s=int(frame["period_s"].iloc[0]) * factor)
    return typed_frame(out.reset_index(drop=True), cw.LAMBDA_SCHEMA)


def inventory(*names: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"account": "a", "region": "r", "function": list(names), "runtime": "python3.12", "architecture": "x86_64",
         "memory_mb": 128, "timeout_s": 3, "team": "t"}
    )


def test_the_summary_is_the_same_whatever_the_period_of_the_series():
    fine = series(60, 1440, seed=3)
    stats = typed_frame(
        [{"account": "a", "region": "r", "function": "f", "invocations": fine["invocations"].sum(), "errors": fine["errors"].sum(),
          "throttles": fine["throttles"].sum(), "duration_avg_ms": 42.0, "duration_p99_ms": 777.0, "duration_max_ms": 999.0,
          "concurrency_max": 8.0}],
        cw.RANGE_SCHEMA,
    )
    mem = typed_frame([], sources.MEMORY_SCHEMA)
    by_minute = usage.summarize(inventory("f", "idle"), fine, mem, stats)
    by_trend = usage.summarize(inventory("f", "idle"), coarser(fine, 24), mem, stats)
    pd.testing.assert_frame_equal(by_minute, by_trend)
    row = by_trend.set_index("function").loc["f"]
    # every figure over the range is the whole-range statistic, not one derived from the periods
    assert (row["duration_avg_ms"], row["duration_p99_ms"], row["duration_max_ms"], row["concurrency_max"]) == (42.0, 777.0, 999.0, 8.0)
    idle = by_trend.set_index("function").loc["idle"]
    assert idle["invocations"] == 0 and math.isnan(idle["duration_p99_ms"])  # read, nothing ran: 0, no p99


def test_without_whole_range_counts_the_summary_sums_the_series_the_same_at_any_period():
    fine = series(60, 1440, seed=5)
    mem = typed_frame([], sources.MEMORY_SCHEMA)
    a = usage.summarize(inventory("f"), fine, mem)
    b = usage.summarize(inventory("f"), coarser(fine, 60), mem)
    for col in ("invocations", "errors", "throttles", "duration_max_ms", "concurrency_max"):
        assert a[col].iloc[0] == b[col].iloc[0], col
    assert a["duration_avg_ms"].iloc[0] == pytest.approx(b["duration_avg_ms"].iloc[0])


def test_a_trend_period_still_in_progress_without_data_is_unknown_not_zero():
    t0 = pd.Timestamp("2026-11-26T10:00:00Z")
    met = typed_frame(
        pd.DataFrame({"account": "a", "region": "r", "function": "f", "timestamp": [t0, t0 + pd.Timedelta(minutes=1)],
                      "period_s": 60, "invocations": [5.0, 7.0]}),
        cw.LAMBDA_SCHEMA,
    )
    # 10:00–10:03 asked at 10:03:30: the period 10:02 is over (nothing ran: 0), 10:03 is not (no data yet: unknown)
    line = usage.trend(met, start=t0, end=t0 + pd.Timedelta(seconds=210))[("a", "r", "f")]
    assert line[:3] == [5.0, 7.0, 0.0] and math.isnan(line[3])
    # a period in progress that has data shows it
    line = usage.trend(met, start=t0, end=t0 + pd.Timedelta(seconds=90))[("a", "r", "f")]
    assert line == [5.0, 7.0]


# --- against the simulated account ---------------------------------------------------------------------------


@pytest.fixture
def clock():
    sim.set_clock(lambda: NOW)
    cache.clear_all()
    fleet._MEMO.clear()
    evaluation._MEMO.clear()
    yield NOW
    sim.set_clock(None)
    cache.clear_all()


def demo(n: int = 16) -> Settings:
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=n))],
        alerts=settings_mod.load(settings_mod.DEFAULT_CONFIG).alerts,
    )


@pytest.mark.aws
def test_the_overview_reads_a_tenth_of_the_datapoints_of_a_per_minute_read(clock):
    cfg = demo()
    sel = select(cfg, range_text="24h", now=NOW)
    inv = sources.inventory(cfg).frame
    # the month to date's cost per function is the Costs page's, read a day at a time and kept (shared with the Costs
    # page, re-read only for days not kept): what the Overview of a range asks for itself is measured below
    from dashboard.figures import cost_report

    cost_report.month_to_date_costs(cfg, inv, today=sel.today)
    before = METER.snapshot()
    assert cost_report.month_to_date_costs(cfg, inv, today=sel.today, force=False).frame["est_cost_usd"].notna().all()
    assert (METER.snapshot() - before).datapoints == 0  # asked again: kept
    before = METER.snapshot()
    ov = fleet.load_overview(cfg, sel, spend=False)
    overview = METER.snapshot() - before
    assert len(ov.table) == 16 and all(len(t) == cw.FLEET_POINTS for t in ov.table["trend"])
    before = METER.snapshot()
    sources.metrics(cfg, sel.trange, inv)  # every function's series at the finest period the range allows (60 s)
    per_minute = METER.snapshot() - before
    assert per_minute.datapoints > 0 and overview.datapoints * 10 <= per_minute.datapoints


@pytest.mark.aws
def test_each_rule_is_read_at_its_own_period_with_only_the_columns_it_needs(clock):
    cfg = demo()
    for text in ("24h", "30d"):
        sel = select(cfg, range_text=text, now=NOW)
        q = Query(cfg, sel)
        data = evaluation.rule_data(cfg, sel.trange, q.functions)
        periods = {r.period_s for r in cfg.alerts.rules if METRICS[r.metric] == "metrics"}
        assert set(data.frames) == periods
        for period, frame in data.frames.items():
            assert set(frame["period_s"]) <= {period}
        assert data.frames[300]["duration_p50_ms"].isna().all()  # no rule reads it: not asked for
        got = evaluation.load_alerts(cfg, sel)
        notes = got.report.states["note"].dropna()
        assert not notes.str.contains("coarser").any(), text  # a 30-day selection no longer evaluates 300 s rules per 1,800 s


@pytest.mark.aws
def test_what_fires_on_the_overview_is_what_the_alerts_page_shows_since_and_value_included(clock):
    cfg = demo()
    sel = select(cfg, range_text="24h", now=NOW)
    page = evaluation.load_alerts(cfg, sel).report.states
    before = METER.snapshot()
    now = evaluation.load_alerts(cfg, sel, fleet=True).report.states
    assert (METER.snapshot() - before).count("GetMetricData") > 0  # its own windows: not the Alerts page's answer
    both = page.merge(now, on=[*KEY, "rule"], suffixes=("_page", "_fleet"))
    assert len(both) == len(page) == len(now)
    assert (both["state_page"] == both["state_fleet"]).all()
    alarms = both[both["state_page"] == ALARM]
    assert len(alarms)
    assert (alarms["since_page"] == alarms["since_fleet"]).all()
    assert np.allclose(alarms["value_page"], alarms["value_fleet"], equal_nan=True)


@pytest.mark.aws
def test_a_function_page_reads_its_own_series_at_a_readable_period_and_each_rule_at_its_own(clock):
    cfg = demo()
    sel = select(cfg, range_text="24h", now=NOW)
    inv = sources.inventory(cfg).frame
    row = inv[inv["function"] == "payments-checkout-api"].iloc[0]
    before = METER.snapshot()
    view = function_view.load_function(cfg, sel, (row["account"], row["region"], row["function"]))
    spent = METER.snapshot() - before
    assert set(view.metrics["period_s"]) == {300} and 200 <= len(view.metrics) <= 289
    assert view.rules and all(r.series.attrs["period_s"] == r.rule.period_s for r in view.rules)
    assert spent.metrics_requested < 9 * 16  # its own metrics, not its account's
