"""The simulated account's daily totals (aws/sim/daily.py) give the answers the per-minute path gives.

GetMetricData at one-day bins, Logs Insights ``by @log, bin(1d)`` and the bill read a day's totals computed
once; here each is compared, number for number, with the same answer computed from the minutes. The optional
folder of complete days (``LAMBDA_LENS_SIM_CACHE``) is read back by a fresh account model unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aws import sim
from aws.logs._insights import QUERY as COLLECTOR_QUERY
from aws.logs._insights import build_query
from aws.session import SimSpec
from aws.sim import billing, clock, daily, insights
from aws.sim.model import MetricRequest, Model

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 14, tzinfo=UTC)  # twelve complete days and today's part
QUERY = COLLECTOR_QUERY.format(bin_s=86400)  # the collector's own REPORT-line query, by the day


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.delenv(daily.CACHE_ENV, raising=False)
    sim.set_clock(lambda: NOW)
    yield
    sim.set_clock(None)


def fresh(functions: int = 48, seed: int = 7) -> Model:
    """A new model (nothing computed yet), not the cached one of model_for."""
    spec = SimSpec(functions=functions, seed=seed)
    return Model(spec=spec, regions=("us-east-1", "eu-west-1"), name="demo")


def _requests(m: Model) -> list[MetricRequest]:
    out = []
    for s in m.specs:
        for metric, stats in daily.DAY_METRICS.items():
            if metric.exists_for(s):
                with_avg = (*stats, ("Average", None))
                assert daily.served(metric, stats)
                out.append(MetricRequest(s.index, metric, 86400, with_avg if daily.served(metric, with_avg) else stats))
    return out


def test_one_day_bins_from_daily_totals_equal_the_minutes(monkeypatch):
    m = fresh()
    reqs = _requests(m)
    got = m.evaluate(reqs, start=MIDNIGHT, end=NOW)
    assert m.__dict__.get("_daily"), "one-day bins from 00:00 UTC are answered from the daily totals"
    monkeypatch.setattr(daily, "served", lambda metric, stats: False)
    want = m.evaluate(reqs, start=MIDNIGHT, end=NOW)
    days_with_data = 0
    for r in reqs:
        ts, vals = got[r]
        wts, wvals = want[r]
        assert np.array_equal(ts, wts), r
        days_with_data += len(ts)
        for st in r.stats:
            assert np.array_equal(vals[st], wvals[st]), (r, st)
    assert days_with_data > len(m.specs) * 5  # most functions ran on most days: the comparison compared something
    assert {r.metric.namespace for r in reqs} == {"AWS/Lambda", "LambdaInsights"}


def test_a_start_off_midnight_or_a_percentile_is_answered_from_the_minutes():
    m = fresh()
    s = m.specs[0]
    dur = next(k for k in daily.DAY_METRICS if k.name == "Duration")
    assert not daily.served(dur, (("p", 99.0),)) and not daily.served(dur, (("Maximum", None),))
    m.evaluate([MetricRequest(s.index, dur, 86400, (("Sum", None),))], start=MIDNIGHT + timedelta(hours=5), end=NOW)
    assert not m.__dict__.get("_daily")


def _insights(m: Model) -> tuple[list, dict]:
    q = insights.parse(QUERY)
    specs = [s for s in m.specs if s.region == "us-east-1"]
    return insights.run(
        m,
        q,
        specs,
        start_s=int(MIDNIGHT.timestamp()),
        end_s=int(NOW.timestamp()),
        now=NOW,
        account_id=m.account_id,
    )


def test_insights_by_day_from_daily_totals_equal_the_minutes(monkeypatch):
    m = fresh()
    rows, stats = _insights(m)
    assert m.__dict__.get("_daily")
    monkeypatch.setattr(daily, "insights_served", lambda want: False)
    want_rows, want_stats = _insights(fresh())
    assert len(rows) > 200
    assert rows == want_rows
    assert stats == want_stats


def _hourly_insights(m: Model, start: datetime) -> tuple[list, dict]:
    """The recommendations' own query (hourly counts and largest memory used) over both regions' functions."""
    q = insights.parse(build_query(3600, ["used_mb_max"]))
    return insights.run(
        m, q, list(m.specs), start_s=int(start.timestamp()), end_s=int(NOW.timestamp()), now=NOW, account_id=m.account_id
    )


@pytest.mark.parametrize("start", [NOW - timedelta(days=30), MIDNIGHT - timedelta(hours=3)])
def test_insights_by_hour_from_the_days_hourly_figures_equal_the_minutes(monkeypatch, start):
    m = fresh()
    rows, stats = _hourly_insights(m, start)
    assert m.__dict__.get("_daily"), "one-hour bins of the counts and the memory maximum come from the days"
    monkeypatch.setattr(daily, "hourly_served", lambda want: False)
    fresh_model = fresh()
    want_rows, want_stats = _hourly_insights(fresh_model, start)
    assert not fresh_model.__dict__.get("_daily")
    assert len(rows) > 24 * 20  # most functions ran most hours: the comparison compared something
    assert any(f["field"] == "cold_starts" and f["value"] != "0" for r in rows for f in r)
    assert rows == want_rows
    assert stats == want_stats
    assert any(s.snapstart for s in m.specs), "a SnapStart function's restores are cold starts, not INIT lines"


def test_a_percentile_by_hour_is_answered_from_the_minutes():
    assert not daily.hourly_served({"init": {("p", 99.0)}})
    assert not daily.hourly_served({"used": {("Average", None)}})
    assert daily.hourly_served({None: {("SampleCount", None)}, "used": {("Maximum", None)}})


def _bill_from_minutes(m: Model, day) -> dict[str, np.ndarray]:
    """The bill's usage of one day, straight from the minutes (what _day_usage summed before the daily totals)."""
    from aws.sim import provisioned

    now = NOW
    d0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() // 60)
    d1 = min(d0 + 1440, int(billing.refresh_time(now).timestamp() // 60))
    F = len(m.specs)
    out = {k: np.zeros(F) for k in ("requests", "billed_ms", "pc_billed_ms", "env_s", "restores", "stream_beyond_bytes")}
    for part, g in m.grids(np.arange(F), d0, d1, valid=(d0, d1), anchor=clock.anchor(now)):
        bm = g.billed_ms
        on_pc, _ = provisioned.split(g)
        out["requests"][part] = g.n.sum(axis=1)
        out["billed_ms"][part] = bm.sum(axis=1)
        out["pc_billed_ms"][part] = (bm * np.divide(on_pc, g.n, out=np.zeros(bm.shape), where=g.n > 0)).sum(axis=1)
        out["env_s"][part] = provisioned.levels(g.params, g.minutes).sum(axis=1) * 60.0
        out["restores"][part] = (g.cold * g.params.snapstart[:, None]).sum(axis=1)
        out["stream_beyond_bytes"][part] = provisioned.streamed(g)[1].sum(axis=1)
    return out


@pytest.mark.parametrize("days_ago", [0, 1, 9])  # today (to the last refresh), inside the incidents, settled
def test_the_bills_usage_from_daily_totals_equals_the_minutes(days_ago):
    m = fresh()
    day = NOW.date() - timedelta(days=days_ago)
    got = billing._day_usage(m, day, NOW)
    want = _bill_from_minutes(m, day)
    assert got["requests"].sum() > 0
    for col, values in want.items():
        assert np.array_equal(got[col].to_numpy(), values), col


def test_the_folder_of_complete_days_is_read_back_unchanged(monkeypatch, tmp_path):
    monkeypatch.setenv(daily.CACHE_ENV, str(tmp_path))
    m = fresh(functions=24)
    reqs = _requests(m)
    first = m.evaluate(reqs, start=MIDNIGHT, end=NOW)
    files = sorted(p.name for p in tmp_path.rglob("*.npz"))
    anchor_min = int(clock.anchor(NOW).timestamp() // 60)
    d_first = int(MIDNIGHT.timestamp() // 60)
    settled = [d for d in range(d_first, anchor_min, 1440) if not daily.recent(d, anchor_min)]
    # complete days no incident can touch, and only those: today and yesterday are not written
    assert files == sorted(f"{d}.npz" for d in settled)

    def refuse(*a, **k):
        raise AssertionError("a settled day was generated again")

    m2 = fresh(functions=24)
    monkeypatch.setattr(daily, "_fill", refuse)
    with pytest.raises(AssertionError, match="generated again"):
        m2.evaluate(reqs, start=MIDNIGHT, end=NOW)  # today is not in the folder
    settled_end = datetime(2026, 11, 24, tzinfo=UTC)  # the days before it are all in the folder
    again = m2.evaluate(reqs, start=MIDNIGHT, end=settled_end)
    for r, (ts, vals) in again.items():
        keep = first[r][0] < int(settled_end.timestamp())
        assert np.array_equal(ts, first[r][0][keep])
        for st in r.stats:
            assert np.array_equal(vals[st], first[r][1][st][keep])


def test_another_catalog_has_its_own_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(daily.CACHE_ENV, str(tmp_path))
    seven = fresh(functions=24, seed=7)
    assert daily._folder(seven) == daily._folder(fresh(functions=24, seed=7))
    assert daily._folder(seven) != daily._folder(fresh(functions=24, seed=8))
    assert daily._folder(seven) != daily._folder(fresh(functions=25, seed=7))


def _grid(m: Model, hours: int = 6):
    from aws.sim.series import build_grid

    m1 = int(NOW.timestamp() // 60) // 60 * 60
    m0 = m1 - hours * 60
    return build_grid(
        params=m.params, seed=m.seed, m0=m0, m1=m1, incidents=m.incident_objects(clock.anchor(NOW)), valid=(m0, m1)
    )


def test_class_by_class_sums_equal_the_duration_class_arrays():
    g = _grid(fresh())
    cls = daily._classes(g)
    assert g.cold.sum() > 0 and g.n.sum() > 0
    assert np.array_equal(cls["billed"], g.billed_ms)
    assert np.array_equal(cls["dur_sum"], np.einsum("ijk,ijk->ij", g.cnt, g.dur_cms, dtype=np.int64))
    assert np.array_equal(cls["used_sum"], np.einsum("ijk,ijk->ij", g.cnt, g.used_mb, dtype=np.int64))
    assert np.array_equal(cls["used_max"], np.where(g.cnt > 0, g.used_mb, -1).max(axis=2))


@pytest.mark.parametrize("b", [1, 5, 60])
def test_max_memory_used_per_bin_equals_the_statistics_of_the_classes(b):
    from aws.sim.metrics import reduce_bins

    stats = [("Average", None), ("Maximum", None), ("SampleCount", None), ("Sum", None)]
    got_count, got = insights._reduce(_grid(fresh()), "used", stats, b)
    g = _grid(fresh())
    want_count, want = reduce_bins(*insights._keys(g, "used"), b=b, stats=stats)
    assert np.array_equal(got_count, want_count)
    has = want_count > 0
    for st in stats:
        assert np.array_equal(got[st][has], want[st][has]), st


@pytest.mark.parametrize("b", [1, 24, 360])
def test_duration_totals_per_bin_equal_the_statistics_of_the_classes(b):
    from aws.sim.metrics import METRICS, reduce_bins
    from aws.sim.model import _duration_totals

    stats = [("Average", None), ("SampleCount", None), ("Sum", None)]
    got_count, got = _duration_totals(_grid(fresh()), b, stats)
    g = _grid(fresh())
    want_count, want = reduce_bins(*METRICS[("AWS/Lambda", "Duration")].keys(g), b=b, stats=stats)
    assert np.array_equal(got_count, want_count)
    has = want_count > 0
    for st in stats:
        assert np.array_equal(got[st][has], want[st][has]), st


def test_chunks_take_spare_threads_only_while_the_process_has_them():
    import threading

    from aws.sim import series

    seen: list[tuple[int, int]] = []
    series.each_chunk(lambda x: seen.append((x, threading.get_ident())), list(range(6)))
    assert sorted(x for x, _ in seen) == list(range(6))  # every chunk, once
    if series.WORKERS > 1:
        assert threading.get_ident() not in {t for _, t in seen}  # a lone answer: spread over the spare threads
    taken = 0
    while series._SPARE.acquire(blocking=False):  # other answers hold every spare thread
        taken += 1
    try:
        seen.clear()
        series.each_chunk(lambda x: seen.append((x, threading.get_ident())), list(range(6)))
        assert [x for x, _ in seen] == list(range(6)) and {t for _, t in seen} == {threading.get_ident()}
    finally:
        for _ in range(taken):
            series._SPARE.release()
