"""Soak: 30 minutes of simulated time of refreshes of the Overview, and no growth in memory.

In-process, the loaders as the app and the Overview page call them (``ui.load_settings`` →
``sources.inventory``; ``load_overview``), on a demo account of 50 functions. Each step moves the
simulated account's clock (``aws.sim.set_clock``) on by the metrics TTL (120 s) and expires
exactly the cache entries whose TTL has run out on that clock (``aws.cache.refresh`` per source:
metrics every step, logs/insights every 300 s, inventory/tags every 900 s), so every step is a
real refresh against AWS — as a page left open and refreshed would be.

After each step: ``gc.collect()``, then the Python heap (``tracemalloc``, traced from the first
step) and the process RSS (/proc). Criterion (``support.growth``): refreshes come in a cycle (logs
every 3rd step), so the peak of the last two cycles (6 steps) is compared with the peak of the two
before, after a warm-up of 4 steps (the cold load and the first logs refresh). The heap may grow by
at most half of ONE refresh's metrics answer (the smallest thing every step replaces): keeping even
half an answer per step, or any logs answer per cycle, fails it; bounded caches still filling
(the meter's LRU of billed queries, the simulator's 200 remembered queries) stay well under it.
RSS includes the allocator's free lists and fragmentation, so it gets a looser bound: 5 %.
(A least-squares slope is reported but not asserted: the logs sawtooth biases it by its phase.)

Run: ``make load`` (or ``.venv/bin/python -m pytest tests/load/test_soak.py -m load -s``).
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from aws import cache, sim
from aws.meter import METER
from dashboard.config import settings as settings_mod
from dashboard.figures.fleet import load_overview
from dashboard.query import sources
from dashboard.query.selection import Selection
from dashboard.query.timerange import parse_range
from tests.load.support import demo_config, growth, rss_bytes, slope, write_figures

pytestmark = [pytest.mark.load, pytest.mark.timeout(540)]

FUNCTIONS = 50
SIMULATED = timedelta(minutes=30)
WARM_UP = 4
RANGE = "24h"
MB = 2**20


def test_thirty_minutes_of_refreshes_do_not_grow_memory(tmp_path):
    config = demo_config(tmp_path / "config.yaml", functions=FUNCTIONS)
    settings = settings_mod.load(config)
    step_s = settings.cache_ttl_s.metrics
    ttls = settings.cache_ttl_s.model_dump()
    logs_cycle = -(-ttls["logs"] // step_s)  # steps between two logs refreshes
    steps = int(SIMULATED.total_seconds() // step_s) + 1  # t = 0, 120, ..., 1800 s
    assert steps >= WARM_UP + 4 * logs_cycle

    # Ends 5 minutes before the real now: every range asked about is in the (simulated) past.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - SIMULATED - timedelta(minutes=5)
    clock = [start]
    sim.set_clock(lambda: clock[0])
    pid = os.getpid()
    rows: list[dict] = []
    refreshed_at: dict[str, datetime] = {}
    answer_bytes = 0
    tracemalloc.start()
    try:
        for i in range(steps):
            now = clock[0]
            t0 = time.monotonic()
            for name, ttl in ttls.items():  # the TTLs, on the simulated clock
                if name in refreshed_at and (now - refreshed_at[name]).total_seconds() >= ttl:
                    cache.refresh(source_name=name)
                    refreshed_at[name] = now
                refreshed_at.setdefault(name, now)
            before = METER.snapshot()
            cfg = settings_mod.load(config)  # as ui.load_settings, every run
            inv = sources.inventory(cfg)  # as app.py
            trange = parse_range(RANGE, now=now)
            ov = load_overview(cfg, Selection(trange, RANGE, now))  # as the Overview page
            spent = METER.snapshot() - before
            assert len(ov.table) == FUNCTIONS and not ov.summary.failed
            assert spent.count("GetMetricData") > 0  # a real refresh: the metrics were asked again
            if i == 0:
                met = sources.metrics(cfg, trange, inv.frame).frame  # a cache hit: this step's answer
                answer_bytes = int(met.memory_usage(deep=True).sum())
                del met
            del ov, inv, cfg
            gc.collect()
            rows.append(
                {
                    "step": i,
                    "simulated": now.strftime("%H:%M"),
                    "calls": spent.total_calls,
                    "heap_mb": round(tracemalloc.get_traced_memory()[0] / MB, 2),
                    "rss_mb": round(rss_bytes(pid) / MB, 1),
                    "seconds": round(time.monotonic() - t0, 1),
                }
            )
            clock[0] = now + timedelta(seconds=step_s)
    finally:
        tracemalloc.stop()
        sim.set_clock(None)

    heap = [r["heap_mb"] for r in rows[WARM_UP:]]
    rss = [r["rss_mb"] for r in rows[WARM_UP:]]
    heap_bound = 0.5 * answer_bytes / MB
    rss_bound = 0.05 * max(rss)
    figures = {
        "functions": FUNCTIONS,
        "steps": steps,
        "simulated_minutes": SIMULATED.total_seconds() / 60,
        "step_s": step_s,
        "warm_up_steps": WARM_UP,
        "logs_cycle_steps": logs_cycle,
        "metrics_answer_mb": round(answer_bytes / MB, 2),
        "heap_growth_mb": round(growth(heap, cycle=logs_cycle), 2),
        "heap_bound_mb": round(heap_bound, 2),
        "heap_slope_mb_per_step": round(slope(heap), 3),
        "rss_growth_mb": round(growth(rss, cycle=logs_cycle), 1),
        "rss_bound_mb": round(rss_bound, 1),
        "rss_slope_mb_per_step": round(slope(rss), 2),
        "per_step": rows,
    }
    write_figures("soak", figures)

    assert answer_bytes > 0
    assert growth(heap, cycle=logs_cycle) <= heap_bound, figures
    assert growth(rss, cycle=logs_cycle) <= rss_bound, figures
