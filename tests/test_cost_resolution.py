"""The cost estimate reads what a daily estimate needs at one period a UTC day (issue 13, item 1, the cost path):
the same figures as from the finest series, from a small share of the datapoints."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest

from aws import cache, sim
from aws.meter import METER
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures import cost_report
from dashboard.query import sources
from dashboard.query.timerange import TimeRange

KEY = ["account", "region", "function", "date"]


def demo(now: datetime, n: int = 16) -> Settings:
    return Settings(
        accounts=[
            AccountSettings(
                name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=n, seed=7, now=now)
            )
        ]
    )


@pytest.fixture
def clock():
    def at(now: datetime) -> Settings:
        sim.set_clock(lambda: now)
        cache.clear_all()
        return demo(now)

    yield at
    sim.set_clock(None)
    cache.clear_all()


def _estimate(cfg: Settings, now: datetime):
    inv = sources.inventory(cfg).frame
    first, end, _ = cost_report.month_bounds(None, today=now.date())
    prev_first = (first - timedelta(days=1)).replace(day=1)
    before = METER.snapshot()
    est, statuses, _ = cost_report._load_estimate(cfg, inv, prev_first, end, cost_report.prices_for(cfg), force=True)
    assert not [s for s in statuses if s.failed]
    return est.sort_values(KEY, ignore_index=True), METER.snapshot() - before, prev_first, end


@pytest.mark.aws
@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 8, 15, 30, tzinfo=UTC),  # 37 days: REPORT lines were already read by the day
        datetime(2026, 12, 1, 10, 5, tzinfo=UTC),  # 30 days: they were read by the hour
    ],
)
def test_daily_periods_give_the_estimate_of_the_finest_series_from_a_fraction_of_the_datapoints(clock, monkeypatch, now):
    cfg = clock(now)
    daily, d_meter, prev_first, end = _estimate(cfg, now)
    # the same load at the finest period the range allows, every metric, the default Logs Insights bin
    monkeypatch.setattr(cost_report, "DAY_S", None)
    monkeypatch.setattr(cost_report, "ESTIMATE_COLUMNS", None)
    cache.clear_all()
    finest, f_meter, _, _ = _estimate(cfg, now)

    assert len(daily) > 0 and daily[KEY].astype(str).equals(finest[KEY].astype(str))
    # complete days only, from the first of the month before: today's partial day is not asked for
    assert daily["date"].min() == pd.Timestamp(prev_first) and daily["date"].max() == pd.Timestamp(end - timedelta(days=1))
    for col in daily.columns.difference(KEY):
        a, b = daily[col], finest[col]
        if pd.api.types.is_float_dtype(a):
            assert np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True), col
        else:
            assert a.astype(str).equals(b.astype(str)), col
    assert daily["total_usd"].sum() > 0
    assert d_meter.datapoints * 20 <= f_meter.datapoints
    assert d_meter.metrics_requested < f_meter.metrics_requested
    assert d_meter.count("GetMetricData") <= f_meter.count("GetMetricData")


@pytest.mark.aws
def test_the_estimates_series_have_one_point_a_utc_day_and_pack_into_the_fewest_calls(clock):
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    cfg = clock(now)
    inv = sources.inventory(cfg).frame
    start, end = date(2026, 11, 1), date(2026, 12, 8)
    trange = TimeRange(datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC), "custom")
    before = METER.snapshot()
    met = sources.metrics(cfg, trange, inv, period=cost_report.DAY_S, columns=cost_report.ESTIMATE_COLUMNS).frame
    got = METER.snapshot() - before
    days = (end - start).days
    ts = pd.to_datetime(met["timestamp"], utc=True)
    assert len(met) and (met["period_s"] == 86400).all() and (ts == ts.dt.floor("D")).all()
    assert ts.min() >= trange.start and ts.max() < trange.end
    assert met["invocations"].notna().any() and met["duration_avg_ms"].notna().any()
    assert met["errors"].isna().all() and met["duration_p99_ms"].isna().all()  # not asked for: not billed
    assert got.datapoints <= got.metrics_requested * days
    for region in sorted(set(inv["region"])):  # ≤ 500 queries of ≤ 37 points a region: one call each, the bound
        assert got.count("GetMetricData", region=region) == 1
