"""Where the Overview's memory goes when many sessions ask at once: in-process, 1,000 functions, N threads.

The browser load test (``test_sessions.py``) measures the whole server; this one isolates
:func:`dashboard.figures.fleet.load_overview`, called by ``SESSIONS`` threads at once (a barrier), as
the Overview page of that many sessions would call it, on a demo account of 1,000 functions:

1. **cold**: the threads ask on empty caches (the load test's situation: everyone opens the page
   together on a fresh server);
2. **one alone**: caches emptied again, one ask: the AWS calls one session costs (not traced:
   ``tracemalloc`` makes a cold load 4–5 times slower);
3. **warm**: the threads ask again, every answer cached (a rerun of every page).

Also the size of the table as the page sends it (``st.dataframe``'s Arrow bytes), once per session.
For each wave: the Python heap's peak (``tracemalloc``), the process RSS (sampled every 50 ms from
/proc), the AWS calls (``METER``), how many times the Overview was computed (calls of
``function_table``, its last step) and how many distinct Overview objects the askers got.

Run: ``.venv/bin/python -m pytest tests/load/test_overview_memory.py -m load -s`` (figures in
``artifacts/load/overview_memory.json``).
"""

from __future__ import annotations

import gc
import os
import threading
import time
import tracemalloc
from datetime import UTC, datetime

import pytest

from aws import cache
from aws.meter import METER
from dashboard.alerts import evaluation
from dashboard.config import settings as settings_mod
from dashboard.figures import fleet
from dashboard.query.selection import Selection
from dashboard.query.timerange import parse_range
from tests.load.support import PeakSampler, demo_config, write_figures

pytestmark = [pytest.mark.load, pytest.mark.timeout(900)]

SESSIONS = 20
FUNCTIONS = 1000
RANGE = "24h"
MB = 2**20


def _forget_everything() -> None:
    cache.clear_all()
    evaluation._MEMO.clear()
    memo = getattr(fleet, "_MEMO", None)  # the Overview memo (absent before it existed)
    if memo is not None:
        memo.clear()
    METER.reset()
    gc.collect()


def _wave(ask, n: int, *, trace: bool = True) -> dict:
    """``n`` threads call ``ask`` at once; the figures of that wave (the heap's only when ``trace``)."""
    gc.collect()
    before = METER.snapshot()
    got: list = []
    errors: list[BaseException] = []
    go = threading.Barrier(n)

    def one() -> None:
        go.wait()
        try:
            got.append(ask())
        except BaseException as e:  # noqa: BLE001 - reported by the test below
            errors.append(e)

    if trace:
        tracemalloc.start()
    t0 = time.monotonic()
    with PeakSampler(os.getpid(), interval_s=0.05) as rss:
        threads = [threading.Thread(target=one, name=f"session-{i}") for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.monotonic() - t0
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    assert not errors, errors
    spent = METER.snapshot() - before
    return {
        "askers": n,
        "wall_s": round(wall, 1),
        "heap_peak_mb": None if heap_peak is None else round(heap_peak / MB, 1),
        "rss_start_mb": round(rss.start / MB, 1),
        "rss_peak_mb": round(rss.peak / MB, 1),
        "rss_rise_mb": round((rss.peak - rss.start) / MB, 1),
        "aws_calls": spent.total_calls,
        "distinct_overviews": len({id(o) for o in got}),
        "functions_in_table": sorted({len(o.table) for o in got}),
    }


def test_many_sessions_asking_at_once_build_one_overview(tmp_path, monkeypatch):
    config = demo_config(tmp_path / "config.yaml", functions=FUNCTIONS, ttl_s=dict.fromkeys(("metrics", "insights", "logs"), 3600))
    cfg = settings_mod.load(config)
    now = datetime.now(UTC)
    trange = parse_range(RANGE, now=now)  # one question: every session asks it in the same minute

    computed = [0]
    real_table = fleet.function_table

    def counted_table(*args, **kwargs):
        computed[0] += 1
        return real_table(*args, **kwargs)

    monkeypatch.setattr(fleet, "function_table", counted_table)

    def ask():
        return fleet.load_overview(cfg, Selection(trange, RANGE, now))

    def wave(n: int, *, trace: bool = True) -> dict:
        computed[0] = 0
        figures = _wave(ask, n, trace=trace)
        figures["overview_computations"] = computed[0]
        return figures

    _forget_everything()
    cold = wave(SESSIONS)
    _forget_everything()
    alone = wave(1, trace=False)  # only its AWS calls are compared (tracemalloc slows a cold load 4-5 times)
    warm = wave(SESSIONS)
    # what each session's page sends of the table (st.dataframe's own serialisation), against the above
    from streamlit import dataframe_util

    table_arrow = len(dataframe_util.convert_pandas_df_to_arrow_bytes(ask().table))
    figures = {
        "functions": FUNCTIONS,
        "sessions": SESSIONS,
        "range": RANGE,
        "cold": cold,
        "one_alone": alone,
        "warm": warm,
        "table_arrow_mb_per_session": round(table_arrow / MB, 2),
    }
    write_figures("overview_memory", figures)

    assert cold["functions_in_table"] == alone["functions_in_table"] == warm["functions_in_table"] == [FUNCTIONS]
    # single-flight: N sessions at once cost what one costs, and share one Overview object
    assert cold["aws_calls"] == alone["aws_calls"] > 0
    assert cold["overview_computations"] == 1 and cold["distinct_overviews"] == 1
    # memoised: asked again on the same cached answers, nothing is fetched or computed
    assert warm["aws_calls"] == 0 and warm["overview_computations"] == 0 and warm["distinct_overviews"] == 1
