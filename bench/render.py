"""Benchmark: server-side time to render the Overview and a function page, warm cache, vs an empty chart.

For 40 and 1,000 simulated functions, runs the app's pages in Streamlit's AppTest (the
script run a browser session triggers, without the browser): once cold (its data fetched
from the simulated account), then ``--repeat`` times with a warm cache, and prints the
median and range of the warm runs, next to a page that draws a single empty plotly chart
measured in the same process and run. The warm runs must make no AWS call: the table says
how many they made.

    .venv/bin/python bench/render.py                      # 40 and 1,000 functions
    .venv/bin/python bench/render.py --sizes 40 --repeat 3

Not a test: it prints figures for a human. Cache TTLs are raised to an hour in the
benchmark's own config so the cache stays warm while it runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

EMPTY_CHART = """
import plotly.graph_objects as go
import streamlit as st

st.plotly_chart(go.Figure(), theme="streamlit", width="stretch")
"""

CONFIG = """
accounts:
  - name: demo
    demo: true
    regions: [us-east-1, eu-west-1]
    simulation: {{functions: {n}, seed: 7}}
default_range: 24h
cache_ttl_s: {{inventory: 3600, tags: 3600, metrics: 3600, insights: 3600, logs: 3600, costs: 21600, forecast: 21600}}
"""


def _timed_runs(at, repeat: int, *, switch_to: str | None = None) -> tuple[float, list[float], int]:
    """(first run seconds, warm runs seconds, AWS calls made by the warm runs).

    The first run is the cold one. With ``switch_to``, when the first run did not land on that
    page (it is not the default), the page is switched to and the cold run is that one (the
    first run then only registered the pages).
    """
    from aws.meter import METER

    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    _check(at)
    if switch_to and not _on(at, switch_to):
        at.switch_page(switch_to)
        t0 = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t0
        _check(at)
    before = METER.snapshot().total_calls
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
        _check(at)
    return cold, warm, METER.snapshot().total_calls - before


def _on(at, page: str) -> bool:
    """Whether the last run showed ``page`` (its title is the file's stem, capitalised)."""
    return bool(at.title) and at.title[0].value.lower().startswith(Path(page).stem.lower())


def _check(at) -> None:
    if at.exception:
        raise SystemExit(f"the page raised: {at.exception[0].value}")


def _app_config(n: int, folder: Path) -> Path:
    from dashboard.config.settings import load

    path = folder / f"bench-{n}.yaml"
    path.write_text(CONFIG.format(n=n), encoding="utf-8")
    load(path)  # fail early, with the config's own message
    return path


def bench(sizes: list[int], repeat: int, app: Path) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    from aws import cache
    from aws.session import reset_clients
    from dashboard.config.settings import load
    from dashboard.query import sources

    rows = []
    os.chdir(app.parent)
    with tempfile.TemporaryDirectory() as tmp:
        base = AppTest.from_string(EMPTY_CHART, default_timeout=600)
        cold, warm, calls = _timed_runs(base, repeat)
        rows.append({"page": "one empty chart", "functions": "-", "cold": cold, "warm": warm, "calls": calls})
        for n in sizes:
            cache.clear_all()  # cache keys name the account, not its size: start each size empty
            reset_clients()
            cfg_path = _app_config(n, Path(tmp))
            os.environ["LAMBDA_LENS_CONFIG"] = str(cfg_path)
            at = AppTest.from_file(str(app), default_timeout=600)
            cold, warm, calls = _timed_runs(at, repeat, switch_to="dashboard/pages/overview.py")
            shown = len(at.dataframe[-1].value) if at.dataframe else 0
            if shown != n:
                raise SystemExit(f"the Overview listed {shown} functions, not {n}")
            rows.append({"page": "Overview", "functions": n, "cold": cold, "warm": warm, "calls": calls})

            inv = sources.inventory(load(cfg_path)).frame
            named = inv[inv["function"] == "payments-checkout-api"]  # a busy API with an incident in the last day
            busiest = (named if len(named) else inv).iloc[0]
            fn = f"{busiest['account']}/{busiest['region']}/{busiest['function']}"
            page = AppTest.from_file(str(app), default_timeout=600)
            page.query_params["fn"] = fn
            cold, warm, calls = _timed_runs(page, repeat, switch_to="dashboard/pages/functions.py")
            rows.append({"page": f"Function ({busiest['function']})", "functions": n, "cold": cold, "warm": warm, "calls": calls})
    return rows


def table(rows: list[dict], repeat: int) -> str:
    head = f"{'page':<36} {'functions':>9} {'cold s':>8} {'warm median ms':>15} {'warm min–max ms':>17} {'AWS calls warm':>15}"
    lines = [head, "-" * len(head)]
    for r in rows:
        w = [1000 * x for x in r["warm"]]
        lines.append(
            f"{r['page']:<36} {r['functions']!s:>9} {r['cold']:>8.2f} {statistics.median(w):>15.0f} "
            f"{f'{min(w):.0f}–{max(w):.0f}':>17} {r['calls']:>15}"
        )
    lines.append(f"(warm: {repeat} runs each after one cold run; server-side script time in Streamlit's AppTest, no browser)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[40, 1000], help="simulated functions (default: 40 1000)")
    p.add_argument("--repeat", type=int, default=5, help="warm runs per page (default: 5)")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app's entry script (default: app.py)")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    rows = bench(args.sizes, max(1, args.repeat), args.app.resolve())
    print(table(rows, max(1, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
