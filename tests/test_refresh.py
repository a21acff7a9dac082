"""The budgeted stale-while-revalidate refresh (aws/refresh.py) over the answer cache, with a fake clock.

The policy: the cadence follows the budget, only what viewers asked for recently is refreshed, and a
binding budget refreshes nothing but marks what it serves stale (a viewer's Refresh still fetches).
"""

from __future__ import annotations

import pytest

from aws import cache, refresh
from aws.cache import SourceCache
from aws.meter import METER
from aws.refresh import BudgetHeld, Refresher

NOW = 1_796_000_000.0  # 2026-11-30 00:53 UTC, a day before the month ends


class Clock:
    def __init__(self, t: float = NOW):
        self.t = t

    def __call__(self) -> float:
        return self.t


def costing(usd: float, value: object = "frame"):
    """A fetch that the meter prices at ``usd`` (GetMetricData: $0.01 per 1,000 metrics) and answers ``value``."""

    def fetch():
        METER._add_call("demo", "us-east-1", "monitoring", "GetMetricData", {"MetricDataQueries": [{}] * round(usd * 100_000)})
        return value

    return fetch


FLEET = ("demo", "us-east-1", "metrics", "24h", 300, ("a", "b", "c"))
ONE = ("demo", "us-east-1", "metrics", "24h", 60, ("a",))


@pytest.fixture
def world():
    clock = Clock()
    store = SourceCache("metrics", 120, timer=clock, clock=clock)
    made: list[Refresher] = []

    def refresher(budget: float, **kw) -> Refresher:
        r = Refresher(budget, clock=clock, timer=clock, caches=lambda: {"metrics": store}, **kw)
        cache.set_policy(r)
        made.append(r)
        return r

    yield clock, store, refresher
    for r in made:
        r.stop()
    cache.set_policy(None)


def test_a_fetch_remembers_what_it_cost():
    store = SourceCache("metrics", 120)
    store.get(FLEET, costing(0.05))
    info = store.info(FLEET)
    assert info is not None and info.cost_usd == pytest.approx(0.05)


def test_the_cadence_stretches_to_fit_the_budget():
    fleet = refresh.desired_interval_s("fleet", 120)
    cheap = refresh.projected_month_usd([(0.001, fleet)], hours_per_day=8, budget_usd=10)
    dear = refresh.projected_month_usd([(0.15, fleet)], hours_per_day=8, budget_usd=10)
    assert not cheap.binding and cheap.scale == 1.0 and cheap.month_usd == pytest.approx(0.001 * 8 * 3600 * 30 / fleet)
    assert dear.binding and dear.month_usd == pytest.approx(10)
    assert dear.scale == pytest.approx(0.15 * 8 * 3600 * 30 / fleet / 10)
    # a function someone watches is refreshed more often than a fleet view
    assert refresh.desired_interval_s("function", 120) < fleet


def test_only_what_viewers_asked_for_recently_is_refreshed(world):
    clock, store, refresher = world
    r = refresher(1000.0)
    store.get(ONE, costing(0.001))
    store.get(FLEET, costing(0.001))
    clock.t += 110  # ONE's interval (its TTL, 120 s) is nearly over; the fleet view's (600 s) is not
    assert r.tick() == 1 and r.plan().refreshing == ("metrics: demo us-east-1 metrics 24h a",)
    clock.t += 600
    r._inflight.clear()
    assert r.tick() == 2  # both due, both viewed within RECENT_S
    r._inflight.clear()
    clock.t += refresh.RECENT_S + 1  # nobody looked since: nothing is refreshed
    assert r.tick() == 0


def test_an_expired_answer_is_served_while_it_is_refreshed_behind(world):
    clock, store, refresher = world
    r = refresher(1000.0)
    store.get(ONE, costing(0.001, "old"))
    clock.t += 130
    calls = []
    got = store.get(ONE, lambda: calls.append(1) or "new")
    assert (got.value, got.refreshing, got.stale, calls) == ("old", True, False, [])
    c, key = r._queue.get_nowait()  # the refresh queued behind the page
    assert c is store and key == ONE


def test_a_binding_budget_refreshes_nothing_and_marks_what_it_serves_stale(world):
    clock, store, refresher = world
    r = refresher(0.02)
    store.get(FLEET, costing(0.03, "old"))  # one load spent more than the month's budget
    plan = r.plan()
    assert plan.exhausted and plan.spent_usd == pytest.approx(0.03)
    clock.t += 700
    assert r.tick() == 0
    calls = []
    got = store.get(FLEET, lambda: calls.append(1) or "new")
    assert got.value == "old" and got.stale and isinstance(got.error, BudgetHeld) and calls == []
    assert "aws.monthly_budget_usd" in str(got.error) and "Refresh" in str(got.error)
    store.invalidate()  # the viewer's Refresh button: fetched, budget or not
    assert store.get(FLEET, lambda: "new").value == "new"


def test_a_budget_that_binds_before_it_is_spent_stretches_the_interval(world):
    clock, store, refresher = world
    r = refresher(10.0)
    store.get(FLEET, costing(1.0, "old"))  # $1 a refresh every 10 min would be far over $10 a month
    plan = r.plan()
    assert plan.binding and not plan.exhausted and plan.projected_usd <= 10.0 + 1e-9
    clock.t += 700
    assert r.tick() == 0  # not due at the stretched interval
    got = store.get(FLEET, lambda: "new")
    assert got.value == "old" and isinstance(got.error, BudgetHeld)


def test_a_settled_answer_is_kept_past_its_ttl():
    from datetime import UTC, datetime

    clock = Clock()
    store = SourceCache("metrics", 120, timer=clock, clock=clock)
    past = datetime.fromtimestamp(NOW - 2 * 86400, UTC)  # a range that ended two days ago
    store.get("old-range", lambda: 1, data_end=past)
    store.get("today", lambda: 1, data_end=datetime.fromtimestamp(NOW, UTC))
    clock.t += 3600
    assert store.get("old-range", lambda: 2).value == 1
    assert store.get("today", lambda: 2).value == 2


def test_the_refresher_threads_stop(world):
    clock, store, refresher = world
    r = refresher(10.0, tick_s=0.01).start()
    threads = list(r._threads)
    r.stop()
    assert all(not t.is_alive() for t in threads)
    assert cache._policy is None


def test_free_questions_are_refreshed_whatever_the_budget(world):
    clock, store, refresher = world
    r = refresher(0.02)
    store.get(FLEET, costing(0.03))  # the budget is spent
    store.get(ONE, lambda: "function list")  # a free question (no priced call)
    clock.t += 700
    assert r.plan().exhausted
    assert r.tick() == 1 and r.plan().refreshing == ("metrics: demo us-east-1 metrics 24h a",)


def test_the_sidebar_says_the_spend_the_projection_and_what_is_refreshing(world):
    from dashboard.web.ui import refresh_text

    clock, store, refresher = world
    r = refresher(10.0)
    store.get(ONE, costing(0.5))
    text = refresh_text(r)
    assert "$0.50 so far" in text and "budget $10.00" in text and "less often than their TTL asks" in text
    clock.t += 130
    store.get(ONE, lambda: "new")  # expired: held (the budget binds)
    store.invalidate()
    r.submit(store, ONE)
    assert "Refreshing: metrics: demo us-east-1 metrics 24h a." in refresh_text(r)
    spent = refresher(0.1)
    assert "nothing is refreshed behind the pages" in refresh_text(spent)


def test_a_refresh_behind_the_page_is_not_a_view_of_what_it_reads(world):
    clock, store, refresher = world
    inner = SourceCache("inventory", 900, timer=clock, clock=clock)

    def fetch():
        inner.get("optional-metrics", lambda: "names")  # a metrics fetch reads the inventory's cache too
        return "frame"

    store.get(ONE, fetch)
    viewed = inner.info("optional-metrics").viewed_t
    clock.t += 50
    assert store.revalidate(ONE)
    assert inner.info("optional-metrics").viewed_t == viewed
    assert store.info(ONE).viewed_t == clock.t - 50


@pytest.mark.parametrize("value, sentence", [
    ("-1", "aws.monthly_budget_usd: -1 is out of bounds; use a value ≥ 0"),
    ("ten", "aws.monthly_budget_usd: 'ten' is not a number"),
])  # fmt: skip
def test_a_bad_budget_is_one_sentence(tmp_path, value, sentence):
    from dashboard.config.settings import ConfigError, load

    path = tmp_path / "c.yaml"
    path.write_text(f"aws:\n  monthly_budget_usd: {value}\n")
    with pytest.raises(ConfigError, match=sentence.replace("$", r"\$")):
        load(path)
    path.write_text("aws:\n  monthly_budget_usd: 25\n")
    assert load(path).aws.monthly_budget_usd == 25


def test_a_fixed_range_settles_and_a_rolling_one_never_does():
    from datetime import UTC, datetime

    from dashboard.query.sources import settles
    from dashboard.query.timerange import parse_range

    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    fixed = parse_range("2026-11-01..2026-12-01", now=now)
    assert settles(fixed) == fixed.end and settles(fixed.previous()) == fixed.previous().end
    rolling = parse_range("24h", now=now)
    assert settles(rolling) is None and settles(rolling.previous()) is None
