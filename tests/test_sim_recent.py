"""The window of recent minutes (aws/sim/recent.py) gives the answers the per-answer grids give.

Every grid read from the window is compared, array for array, with the grid ``build_grid`` generates for
the same range; GetMetricData and Logs Insights answers over the last two days are compared with the
same answers computed with the window turned off; a moved clock, another seed and the byte bound are
checked not to serve what they must not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from aws import sim
from aws.logs._insights import QUERY as COLLECTOR_QUERY
from aws.session import SimSpec
from aws.sim import clock, daily, insights, recent
from aws.sim.metrics import METRICS
from aws.sim.model import MetricRequest, Model
from aws.sim.series import build_grid

pytestmark = pytest.mark.aws

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
FIELDS = (
    "n", "errors", "throttles", "timeouts", "cold", "init_cms", "conc", "iterator_age", "async_age", "strat",
    "mem_level", "minutes", "fidx", "dur_cms", "cnt", "cold_k", "billed_ms", "billed_c", "used_mb",
)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.delenv(daily.CACHE_ENV, raising=False)
    sim.set_clock(lambda: NOW)
    yield
    sim.set_clock(None)


def fresh(functions: int = 48, seed: int = 7) -> Model:
    return Model(spec=SimSpec(functions=functions, seed=seed), regions=("us-east-1", "eu-west-1"), name="demo")


def _same_grid(m: Model, rows, m0: int, m1: int, valid, now: datetime) -> None:
    anchor = clock.anchor(now)
    got = recent.grid(m, rows, m0, m1, valid=valid, anchor=anchor, now=now)
    assert got is not None, (m0, m1, valid)
    want = build_grid(
        params=m.params.take(np.asarray(rows)), seed=m.seed, m0=m0, m1=m1, incidents=m.incident_objects(anchor), valid=valid
    )
    for name in FIELDS:
        a, b = getattr(want, name), getattr(got, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert np.array_equal(want.mu.astype(np.float32), got.mu)
    cls_want, cls_got = daily._classes(want), daily.classes(got)
    for name in cls_want:
        assert np.array_equal(cls_want[name], cls_got[name]), name
    assert want.n.sum() > 0  # the ranges compared hold activity


def test_a_slice_of_the_window_is_the_grid_of_its_range():
    m = fresh()
    _, hi = m.window(NOW)
    rows = np.arange(len(m.specs))
    _same_grid(m, rows, hi - 1440, hi, (hi - 1440, hi), NOW)  # the last 24 hours: generates the window
    assert recent.stats()["rows"] >= len(rows)
    _same_grid(m, rows[::3], hi - 2880, hi - 1440, (hi - 2880, hi - 1440), NOW)  # the 24 before, some rows
    _same_grid(m, rows, hi - 1500, hi + 30, (hi - 1440, hi), NOW)  # minutes outside valid carry nothing
    _same_grid(m, rows[5:9], hi - 1447, hi + 53, (hi - 1447, hi), NOW)  # bins lined up off the hour


def test_a_moved_clock_or_another_seed_is_not_served_from_the_window():
    m = fresh()
    _, hi = m.window(NOW)
    rows = np.arange(len(m.specs))
    _same_grid(m, rows, hi - 1440, hi, (hi - 1440, hi), NOW)
    later = NOW + timedelta(hours=2, minutes=7)  # another anchor: incidents placed anew
    _, hi2 = m.window(later)
    _same_grid(m, rows, hi2 - 1440, hi2, (hi2 - 1440, hi2), later)
    other = fresh(seed=8)
    _same_grid(other, np.arange(len(other.specs)), hi - 1440, hi, (hi - 1440, hi), NOW)
    # outside the window (a week ago) nothing is served
    assert recent.grid(m, rows, hi - 7 * 1440, hi - 6 * 1440, valid=(hi - 7 * 1440, hi), anchor=clock.anchor(NOW), now=NOW) is None


def test_a_clock_that_moves_on_reads_its_window_then_keeps_only_the_newest(monkeypatch):
    """A load lasting minutes, or a dashboard left open, asks at a new clock minute each time: while the answers stay
    inside the window made (its last hour carries activity, each answer zeroes what is past its own clock) that
    window is read again and no function is generated twice; a new anchor makes a new window, and the earlier
    anchors' windows are let go (no answer from a later hour reads them)."""
    monkeypatch.setattr(recent, "_windows", type(recent._windows)())
    m, other = fresh(functions=12), fresh(functions=12, seed=8)
    rows = np.arange(12)
    _, hi0 = other.window(NOW)
    _same_grid(other, rows, hi0 - 1440, hi0, (hi0 - 1440, hi0), NOW)  # another model's window stays
    made = None
    for k in range(5):  # minutes later, the same anchor
        now = NOW + timedelta(minutes=2 * k)
        assert clock.anchor(now) == clock.anchor(NOW)
        _, hi = m.window(now)
        _same_grid(m, rows, hi - 1440, hi, (hi - 1440, hi), now)  # each minute's answers still right
        mine = [w for key, w in recent._windows.items() if key[0] == m._number]
        made = made or mine[0]
        assert mine == [made]  # the window made first, read again
    assert recent.stats()["rows"] == 2 * len(rows)  # this model's functions and the other's, each generated once
    for k in range(1, 4):  # hours later: a new anchor each time
        now = NOW + timedelta(hours=k)
        _, hi = m.window(now)
        _same_grid(m, rows, hi - 1440, hi, (hi - 1440, hi), now)
        mine = [key for key in recent._windows if key[0] == m._number]
        assert [key[1:] for key in mine] == [(hi, clock.anchor(now))]  # the new anchor's window alone
    assert [key for key in recent._windows if key[0] == other._number]
    # a clock set back (a test pinning an earlier time) gets its window and a right answer, and keeps it while used
    back = NOW - timedelta(hours=3)
    _, hi_back = m.window(back)
    _same_grid(m, rows, hi_back - 1440, hi_back, (hi_back - 1440, hi_back), back)
    assert any(key[0] == m._number and key[1] == hi_back for key in recent._windows)


def _overview_requests(m: Model) -> list[MetricRequest]:
    """What the Overview asks over a day: whole-range statistics, the trend, Lambda Insights at 5 minutes."""
    lam = {name: METRICS[("AWS/Lambda", name)] for name in ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions")}
    li = {name: METRICS[("LambdaInsights", name)] for name in ("cpu_total_time", "init_duration", "memory_utilization")}
    out = []
    for s in m.specs:
        out.append(MetricRequest(s.index, lam["Duration"], 86400, (("Average", None), ("Maximum", None), ("p", 99.0))))
        out.append(MetricRequest(s.index, lam["ConcurrentExecutions"], 86400, (("Maximum", None),)))
        for name in ("Invocations", "Errors", "Throttles"):
            out.append(MetricRequest(s.index, lam[name], 86400, (("Sum", None),)))
        out.append(MetricRequest(s.index, lam["Invocations"], 1440, (("Sum", None),)))
        out.append(MetricRequest(s.index, lam["Duration"], 1440, (("Average", None), ("SampleCount", None))))
        if s.insights:
            out.append(MetricRequest(s.index, li["cpu_total_time"], 300, (("Sum", None),)))
            out.append(MetricRequest(s.index, li["init_duration"], 300, (("Average", None), ("Maximum", None), ("p", 90.0))))
            out.append(MetricRequest(s.index, li["memory_utilization"], 300, (("Maximum", None),)))
    return out


def _answers(m: Model, now: datetime):
    reqs = _overview_requests(m)
    metrics = {}
    for start, end in ((now - timedelta(days=1), now), (now - timedelta(days=2), now - timedelta(days=1))):
        metrics[start] = m.evaluate(reqs, start=start, end=end, now=now)
    q = insights.parse(COLLECTOR_QUERY.format(bin_s=300))
    specs = [s for s in m.specs if s.region == "us-east-1"]
    logs = insights.run(
        m, q, specs, start_s=int((now - timedelta(days=1)).timestamp()), end_s=int(now.timestamp()) - 1, now=now,
        account_id=m.account_id,
    )
    return reqs, metrics, logs


def _compare(got, want) -> None:
    reqs, metrics, logs = got
    _, wmetrics, wlogs = want
    points = 0
    for start in metrics:
        for r in reqs:
            ts, vals = metrics[start][r]
            wts, wvals = wmetrics[start][r]
            assert np.array_equal(ts, wts), r
            points += len(ts)
            for st in r.stats:
                assert np.array_equal(vals[st], wvals[st]), (r, st)
    assert points > len(reqs)
    assert len(logs[0]) > 1000 and logs == wlogs


@pytest.mark.parametrize("seconds", [0, 37])  # a clock on the minute and one between minutes
def test_metrics_and_logs_insights_from_the_window_equal_the_per_answer_grids(monkeypatch, seconds):
    now = NOW + timedelta(seconds=seconds)
    got = _answers(fresh(), now)
    assert recent.stats()["rows"] > 0
    monkeypatch.setattr(recent, "grid", lambda *a, **k: None)
    _compare(got, _answers(fresh(), now))


def test_a_full_window_stops_taking_rows_and_the_answers_stay_the_same(monkeypatch):
    monkeypatch.setattr(recent, "_windows", type(recent._windows)())
    monkeypatch.setattr(recent, "MAX_BYTES", 6_000_000)  # room for one chunk of functions (~37) and its sums
    m = fresh(functions=120)
    got = _answers(m, NOW)
    assert 0 < recent.stats()["bytes"] <= recent.MAX_BYTES
    assert 0 < recent.stats()["rows"] < len(m.specs)
    monkeypatch.setattr(recent, "grid", lambda *a, **k: None)
    _compare(got, _answers(fresh(functions=120), NOW))
