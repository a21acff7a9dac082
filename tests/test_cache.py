"""The answer cache: single-flight, TTL, failures not cached, stale-on-error, targeted refresh."""

from __future__ import annotations

import threading
import time

import pytest

from aws import cache
from aws.cache import SourceCache
from aws.errors import Throttled


class Clock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_eight_concurrent_callers_make_one_fetch():
    c = SourceCache("metrics", 60)
    calls = []
    gate = threading.Event()

    def fetch():
        calls.append(1)
        gate.wait(5)
        return "frame"

    results = []
    threads = [threading.Thread(target=lambda: results.append(c.get(("a", "r", "q"), fetch))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # let every thread reach the cache before the fetch ends
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1
    assert [r.value for r in results] == ["frame"] * 8
    assert c.get(("a", "r", "q"), fetch).hit is True
    assert len(calls) == 1


def test_fresh_within_ttl_then_fetched_again():
    clock = Clock()
    c = SourceCache("costs", 100, timer=clock, clock=clock)
    n = iter(range(10))
    assert c.get("k", lambda: next(n)).value == 0
    clock.t += 99
    assert c.get("k", lambda: next(n)).value == 0
    clock.t += 2
    assert c.get("k", lambda: next(n)).value == 1


def test_failure_is_not_cached():
    c = SourceCache("metrics", 100)
    attempts = []

    def failing():
        attempts.append(1)
        raise Throttled("throttled")

    with pytest.raises(Throttled):
        c.get("k", failing)
    with pytest.raises(Throttled):
        c.get("k", failing)
    assert len(attempts) == 2
    assert c.get("k", lambda: "ok").value == "ok"


def test_concurrent_followers_share_the_leaders_failure():
    c = SourceCache("metrics", 100)
    calls = []
    gate = threading.Event()

    def failing():
        calls.append(1)
        gate.wait(5)
        raise Throttled("throttled")

    errors = []

    def worker():
        try:
            c.get("k", failing)
        except Throttled as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(errors) == 4


def test_expired_entry_is_served_stale_with_its_age_when_refresh_fails():
    clock = Clock(5000.0)
    c = SourceCache("metrics", 60, timer=clock, clock=clock)
    c.get("k", lambda: "old frame")
    clock.t += 300
    err = Throttled("AWS throttled cloudwatch GetMetricData")

    def failing():
        raise err

    res = c.get("k", failing)
    assert res.value == "old frame"
    assert res.stale is True
    assert res.error is err
    assert res.age_s(now=clock.t) == pytest.approx(300)


def test_bugs_are_not_masked_by_stale_answers():
    clock = Clock()
    c = SourceCache("metrics", 60, timer=clock, clock=clock)
    c.get("k", lambda: 1)
    clock.t += 120
    with pytest.raises(ZeroDivisionError):
        c.get("k", lambda: 1 / 0)


def test_force_skips_the_fresh_entry():
    c = SourceCache("metrics", 600)
    c.get("k", lambda: 1)
    assert c.get("k", lambda: 2, force=True).value == 2
    assert c.get("k", lambda: 3).value == 2


def test_targeted_refresh_drops_only_matching_entries_and_keeps_fallback():
    m = cache.source("metrics")
    k = cache.source("costs")
    m.get(("prod", "us-east-1", "q"), lambda: "m1")
    m.get(("prod", "eu-west-1", "q"), lambda: "m2")
    k.get(("prod", "us-east-1", "c"), lambda: "c1")
    assert cache.refresh(source_name="metrics", region="us-east-1") == 1
    assert m.get(("prod", "eu-west-1", "q"), lambda: "new").value == "m2"
    assert k.get(("prod", "us-east-1", "c"), lambda: "new").value == "c1"

    def failing():
        raise Throttled("x")

    res = m.get(("prod", "us-east-1", "q"), failing)
    assert (res.value, res.stale) == ("m1", True)


def test_configure_sets_ttls():
    cache.configure({"costs": 21600, "metrics": 30})
    assert cache.source("costs").ttl_s == 21600
    assert cache.source("metrics").ttl_s == 30


# --- cache.Derived: a value computed from cached answers, once per version of them ------------------------------


def test_a_derived_value_is_computed_once_while_its_answers_stand_and_again_when_one_changes():
    clock = Clock()
    metrics = SourceCache("metrics", 60, timer=clock, clock=clock)
    costs = SourceCache("costs", 600, timer=clock, clock=clock)
    derived: cache.Derived[str] = cache.Derived("t", size=4)
    fetched = {"m": 0, "c": 0}

    def fetch(what):
        def go():
            fetched[what] += 1
            return f"{what}{fetched[what]}"

        return go

    def compute():
        return metrics.get("m", fetch("m")).value + "+" + costs.get("c", fetch("c")).value

    assert derived.get("q", compute) == "m1+c1" and derived.computed == 1
    assert derived.get("q", compute) == "m1+c1" and derived.computed == 1  # a second script run: nothing computed
    clock.t += 61  # the metrics answer expired: asked again (and read anew), the value is computed again
    assert derived.get("q", compute) == "m2+c1" and derived.computed == 2 and fetched == {"m": 2, "c": 1}
    assert derived.get("q", compute) == "m2+c1" and derived.computed == 2
    costs.invalidate()  # a viewer's Refresh of the bill: a new answer, a new value
    assert derived.get("q", compute) == "m2+c2" and derived.computed == 3
    assert derived.get("q", compute, force=True) == "m2+c2" and derived.computed == 4  # force computes afresh
    assert derived.get("other", compute) == "m2+c2" and derived.computed == 5  # another question is its own


def test_a_derived_value_tracks_answers_read_on_worker_threads():
    from aws.concurrency import run_within

    clock = Clock()
    store = SourceCache("metrics", 60, timer=clock, clock=clock)
    derived: cache.Derived[list] = cache.Derived("t", size=4)

    def compute():
        return run_within(lambda k: store.get(k, lambda: clock.t).value, ["a", "b"], timeout_s=lambda _: 5,
                          on_timeout=lambda k, s: None, max_workers=2)

    first = derived.get("q", compute)
    store.invalidate(lambda k: k == "b")  # one part refreshed, on a worker thread's read
    clock.t += 1
    assert derived.get("q", compute) != first and derived.computed == 2


def test_sessions_asking_together_share_one_computation():
    store = SourceCache("metrics", 60)
    derived: cache.Derived[int] = cache.Derived("t", size=4)
    gate = threading.Event()

    def compute():
        gate.wait(5)
        return store.get("k", lambda: 1).value

    out = []
    threads = [threading.Thread(target=lambda: out.append(derived.get("q", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert out == [1, 1, 1, 1] and derived.computed == 1
