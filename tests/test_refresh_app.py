"""Stale-while-revalidate on a page: after its answers expire, a warm Overview is served from memory while they
are refreshed behind it (the simulated account, in Streamlit's AppTest)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from aws import cache, refresh
from aws.meter import METER
from tests.apptest import APP, run

pytestmark = pytest.mark.aws  # reads the simulated account: not in the fast lane


def test_a_warm_page_after_expiry_is_served_from_memory_while_a_refresh_runs(app_dir, tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n    simulation: {functions: 12, seed: 7}\n"
        "cache_ttl_s: {metrics: 1, logs: 1}\naws: {monthly_budget_usd: 100000}\n"
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    monkeypatch.setattr(refresh, "FLEET_INTERVAL_S", 1.0)  # the fleet view is due as soon as it expires
    r = refresh.Refresher(100000.0)  # its threads not started: the refreshes wait in its queue, to be run below
    monkeypatch.setattr(refresh, "_current", r)  # the one the app's refresh.start() finds
    cache.set_policy(r)

    at = run(AppTest.from_file(APP, default_timeout=120))  # cold: fetched while the page waits
    assert METER.snapshot().count("GetMetricData") > 0
    for _ in range(5):  # on a loaded machine the frame hands over before every part is in: until the page is warm
        warm = METER.snapshot()
        run(at)
        if (METER.snapshot() - warm).total_calls == 0:
            break
    time.sleep(1.5)  # every metrics answer is past its TTL
    before = METER.snapshot()
    run(at)
    spent = METER.snapshot() - before
    assert spent.total_calls == 0, dict(spent.calls)  # the warm page asked AWS nothing: served from memory
    queued = []
    while not r._queue.empty():
        queued.append(r._queue.get_nowait())
    metric_keys = [key for c, key in queued if c.name == "metrics"]
    assert metric_keys, "the expired answers are refreshed behind the page"
    store = cache.source("metrics")
    fetched = {k: store.info(k).fetched_t for k in metric_keys}
    viewed = {k: store.info(k).viewed_t for k in metric_keys}
    for c, key in queued:
        assert c.revalidate(key)  # the refresh the page did not wait for
    assert (METER.snapshot() - before).count("GetMetricData") > 0
    assert all(store.info(k).fetched_t > fetched[k] for k in metric_keys)
    assert all(store.info(k).viewed_t == viewed[k] for k in metric_keys)  # a refresh is not a view
