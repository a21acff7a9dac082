"""Benchmark: every page at 48, 1,000 and 10,000 functions, cold and warm, app time told from AWS time.

Each page (Overview, Functions, one function, Alerts, Costs, Teams) at each size runs in its own
process, in Streamlit's AppTest (the script run a browser session triggers, without the browser):
once cold (an empty answer cache, its data fetched from the simulated account), then ``--repeat``
times warm. For each it reports:

- ``cold_s`` / ``warm_s``: wall time of the script run (warm: the median);
- ``sim_s``: time inside the simulated account during the cold run (``aws.busy.SIM_BUSY`` around the
  simulator's request handling; overlapping calls count once), and ``lens_s`` = cold − sim, the time
  in Lambda Lens (boto3 included: it runs against real AWS too);
- ``requests``: AWS API calls of the cold run (``warm_requests``: of all warm runs), ``datapoints``
  returned and ``cost_usd`` (``aws.meter.METER``'s prices);
- ``peak_rss_mb``: the process's peak resident memory (one process per page and size);
- ``real_aws_s``: a projection of the cold run against real AWS (:func:`aws_model_s`): ``lens_s`` plus
  each account × region's requests at a per-request latency (``--latency``, default 150 ms for
  GetMetricData), on the collectors' threads (8 per account × region for CloudWatch, 8 parts at a
  time), GetMetricData capped at its 50 TPS per account and region.

Sizes are laid out as accounts × regions (``--layout 10000=10x3``: 10 accounts of 1,000 functions
over 3 regions each). A size whose config the settings refuse, or whose run outlasts ``--timeout``,
is skipped with one line saying why.

    .venv/bin/python bench/render.py                          # 48, 1,000 and 10,000 functions
    .venv/bin/python bench/render.py --sizes 1000 --pages overview costs
    .venv/bin/python bench/render.py --sizes 48 --format json

Also reports the dashboard's projected monthly AWS spend for one viewer on the Overview 8 h a day
(:func:`aws.refresh.projected_month_usd`, from the cost the meter measured for one Overview load).

Not a test: it prints figures for a human. Cache TTLs are raised to an hour in the benchmark's own
config so the cache stays warm while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

PAGES = ("overview", "functions", "function", "alerts", "costs", "teams")
PAGE_FILES = {
    "overview": "dashboard/pages/overview.py",
    "functions": "dashboard/pages/functions.py",
    "function": "dashboard/pages/functions.py",  # with ?fn=account/region/name
    "alerts": "dashboard/pages/alerts.py",
    "costs": "dashboard/pages/costs.py",
    "teams": "dashboard/pages/teams.py",
}
PAGE_TITLES = {"overview": "Overview", "functions": "Functions", "alerts": "Alerts", "costs": "Costs", "teams": "Teams"}
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
LAYOUTS = {48: (1, 2), 1000: (1, 2), 10000: (10, 3)}  # functions → (accounts, regions per account)
FIELDS = ("page", "functions", "cold_s", "warm_s", "sim_s", "requests", "datapoints", "peak_rss_mb")  # the JSON contract

# seconds per request against real AWS (the model's assumption; --latency OP=SECONDS overrides)
LATENCY_S = {"GetMetricData": 0.15, "StartQuery": 3.0, "GetCostAndUsage": 0.5, "GetCostForecast": 0.5, "default": 0.1}
GMD_TPS = 50  # GetMetricData requests per second per account and region (CloudWatch's quota)
PARTS_AT_ONCE = 8  # account × region parts a source loads concurrently (dashboard.query.sources.fan_out)
THREADS = {"cloudwatch": None, "lambda": 8, "logs": 4}  # per part; None: aws.metrics._fetch.MAX_WORKERS

CONFIG_HEAD = """
default_range: 24h
cache_ttl_s: {inventory: 3600, tags: 3600, metrics: 3600, insights: 3600, logs: 3600, costs: 21600, forecast: 21600}
accounts:
"""


def layout(n: int, layouts: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(accounts, regions per account) for ``n`` functions: the layout given, else one account over two regions."""
    return layouts.get(n, (1, 2))


def config_text(n: int, accounts: int, regions: int) -> str:
    """The benchmark's config: ``n`` simulated functions over ``accounts`` demo accounts × ``regions`` regions."""
    if not 1 <= regions <= len(REGIONS):
        raise ValueError(f"{regions} regions per account: the benchmark lays out 1 to {len(REGIONS)}")
    lines = [CONFIG_HEAD.strip()]
    per, extra = divmod(n, accounts)
    for i in range(accounts):
        name = "demo" if accounts == 1 else f"demo-{i:02d}"
        lines += [
            f"  - name: {name}",
            "    demo: true",
            f"    regions: [{', '.join(REGIONS[:regions])}]",
            f"    simulation: {{functions: {per + (1 if i < extra else 0)}, seed: {7 + i}}}",
        ]
    return "\n".join(lines) + "\n" + _shipped_alerts()


def _shipped_alerts() -> str:
    """The shipped config.yaml's ``alerts:`` section: the pages evaluate the rules a user starts with."""
    import yaml

    shipped = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return yaml.safe_dump({"alerts": shipped["alerts"]}, sort_keys=False)


# --- the latency model --------------------------------------------------------------------------------


def aws_model_s(calls: Counter, latency: dict[str, float] | None = None) -> float:
    """Seconds the requests ``calls`` ((account, region, service, operation) → count) would take against real AWS.

    Per account × region: each operation's requests at its latency, on the collectors' threads for its
    service, GetMetricData no faster than its 50 TPS; operations one after another. The parts run
    :data:`PARTS_AT_ONCE` at a time: the total is their sum over that, and at least the slowest part.
    """
    from aws.metrics._fetch import MAX_WORKERS

    lat = {**LATENCY_S, **(latency or {})}
    parts: dict[tuple[str, str], float] = {}
    for (account, region, service, op), n in calls.items():
        seconds = lat.get(op, lat["default"])
        threads = THREADS.get(service, 1) or MAX_WORKERS
        t = n * seconds / max(1, min(threads, n))
        if op == "GetMetricData":
            t = max(t, n / GMD_TPS)
        parts[(account, region)] = parts.get((account, region), 0.0) + t
    if not parts:
        return 0.0
    return max(max(parts.values()), sum(parts.values()) / PARTS_AT_ONCE)


# --- one page at one size (a worker process) ----------------------------------------------------------


def row(page: str, n: int, *, cold_s: float, warm: list[float], sim_s: float, sim_warm: list[float], cold_meter, warm_meter,
        peak_rss_mb: float, latency: dict[str, float] | None = None) -> dict:
    """One result: the JSON object of ``page`` at ``n`` functions (:data:`FIELDS` and more), from what was measured."""
    from aws.meter import PRICES

    lens = max(0.0, cold_s - sim_s)
    return {
        "page": page,
        "functions": n,
        "cold_s": round(cold_s, 3),
        "warm_s": round(statistics.median(warm), 3) if warm else None,
        "warm_min_s": round(min(warm), 3) if warm else None,
        "warm_max_s": round(max(warm), 3) if warm else None,
        "sim_s": round(sim_s, 3),
        "lens_s": round(lens, 3),
        "warm_sim_s": round(statistics.median(sim_warm), 3) if sim_warm else None,
        "requests": cold_meter.total_calls,
        "warm_requests": warm_meter.total_calls,
        "datapoints": cold_meter.datapoints,  # METER's count of GetMetricData/GetMetricStatistics values returned
        "metrics_requested": cold_meter.metrics_requested,
        "cost_usd": round(cold_meter.cost_usd, 5),
        "ce_usd": round(cold_meter.ce_requests * PRICES["ce_request"], 5),  # Cost Explorer's part (refreshed on its own TTL)
        "peak_rss_mb": round(peak_rss_mb, 1),
        "real_aws_s": round(lens + aws_model_s(cold_meter.calls, latency), 2),
    }


def _check(at, page: str) -> None:
    if at.exception:
        raise SystemExit(f"the {page} page raised: {at.exception[0].value}")
    want = PAGE_TITLES.get(page)
    got = at.title[0].value if at.title else ""
    if want and not got.startswith(want):
        raise SystemExit(f"the {page} page was not shown (title {got!r})")


def _some_function(cfg_path: Path) -> str:
    """account/region/name of a busy function (an API with an incident in the last day when there is one)."""
    from aws import cache
    from aws.session import reset_clients
    from dashboard.config.settings import load
    from dashboard.query import sources

    inv = sources.inventory(load(cfg_path)).frame
    named = inv[inv["function"] == "payments-checkout-api"]
    r = (named if len(named) else inv).iloc[0]
    cache.clear_all()  # the page's own cold run starts from an empty cache
    reset_clients()
    return f"{r['account']}/{r['region']}/{r['function']}"


def measure(page: str, n: int, cfg_path: Path, app: Path, repeat: int, latency: dict[str, float] | None = None) -> dict:
    """Run ``page`` cold then ``repeat`` times warm in this process; its row."""
    import logging
    import resource

    from streamlit.testing.v1 import AppTest

    from aws.busy import SIM_BUSY
    from aws.meter import METER

    logging.basicConfig(level=logging.ERROR)
    os.environ["LAMBDA_LENS_CONFIG"] = str(cfg_path)
    os.chdir(app.parent)
    fn = _some_function(cfg_path) if page == "function" else None
    at = AppTest.from_file(str(app), default_timeout=3600)
    if fn:
        at.query_params["fn"] = fn
    if page != "overview":
        at.switch_page(PAGE_FILES[page])  # the page's file stem is its url_path: the first run lands on it
    METER.reset()
    SIM_BUSY.reset()
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    sim = SIM_BUSY.seconds()
    cold_meter = METER.snapshot()
    _check(at, page)
    warm, sim_warm = [], []
    for _ in range(repeat):
        s0 = SIM_BUSY.seconds()
        t0 = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t0)
        sim_warm.append(SIM_BUSY.seconds() - s0)
        _check(at, page)
    warm_meter = METER.snapshot() - cold_meter
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    return row(page, n, cold_s=cold, warm=warm, sim_s=sim, sim_warm=sim_warm, cold_meter=cold_meter, warm_meter=warm_meter,
               peak_rss_mb=peak, latency=latency)  # fmt: skip


# --- the driver -----------------------------------------------------------------------------------------


def run_one(page: str, n: int, cfg_path: Path, args) -> tuple[dict | None, str | None]:
    """``page`` at ``n`` functions in a fresh process: (its row, None) or (None, why it was skipped)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", page, str(n), str(cfg_path), "--repeat", str(args.repeat),
           "--app", str(args.app), "--max-memory-gb", str(args.max_memory_gb)] + [x for k, v in args.latency.items() for x in ("--latency", f"{k}={v}")]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    except subprocess.TimeoutExpired:
        return None, f"skipped {page} at {n:,} functions: it did not finish within --timeout {args.timeout:.0f} s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        if "MemoryError" in done.stderr:
            last = f"it needed more than --max-memory-gb {args.max_memory_gb:g}"
        return None, f"skipped {page} at {n:,} functions: the run failed: {last}"
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def check_size(n: int, accounts: int, regions: int, folder: Path) -> tuple[Path | None, str | None]:
    """The config file for ``n`` functions, or None and the line that says why the size is skipped."""
    from dashboard.config.settings import ConfigError, load

    try:
        text = config_text(n, accounts, regions)
    except ValueError as e:
        return None, f"skipped {n:,} functions: {e}"
    path = folder / f"bench-{n}.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except ConfigError as e:
        return None, f"skipped {n:,} functions ({accounts} accounts × {regions} regions): the settings refuse it: {e}"
    return path, None


def overview_month_usd(rows: list[dict], *, budget_usd: float = 10.0, hours_per_day: float = 8.0) -> list[str]:
    """The projected monthly spend of one viewer on the Overview ``hours_per_day``, per size measured: the cost the
    meter measured for one cold load, Cost Explorer's part refreshed on its TTL and the rest as a fleet view, stretched
    to the budget as :mod:`aws.refresh` does."""
    from aws import cache, refresh

    out = []
    for r in rows:
        if r["page"] == "overview":
            ce = r.get("ce_usd", 0.0)
            aws = r["cost_usd"] - ce
            fleet = refresh.desired_interval_s("fleet", cache.DEFAULT_TTLS["metrics"])
            plan = refresh.projected_month_usd([(aws, fleet), (ce, cache.DEFAULT_TTLS["costs"])], hours_per_day=hours_per_day,
                                               budget_usd=budget_usd)  # fmt: skip
            out.append(
                f"Overview at {r['functions']:,} functions, one viewer {hours_per_day:.0f} h a day: ${r['cost_usd']:.4f} a load "
                f"(${ce:.2f} of it Cost Explorer, every {cache.DEFAULT_TTLS['costs'] / 3600 * plan.scale:.1f} h), "
                f"metrics every {fleet * plan.scale / 60:.0f} min while watched → ${plan.month_usd:.2f} a month "
                f"(budget ${budget_usd:.2f}{', binding: refreshed less often than desired' if plan.binding else ''})"
            )
    return out


def table(rows: list[dict], repeat: int) -> str:
    head = (f"{'page':<10} {'functions':>9} {'cold s':>8} {'warm s':>7} {'sim s':>7} {'Lens s':>7} {'requests':>8} "
            f"{'warm req':>8} {'datapoints':>11} {'peak RSS MB':>11} {'real AWS s':>10}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['page']:<10} {r['functions']:>9,} {r['cold_s']:>8.2f} {r['warm_s']:>7.2f} {r['sim_s']:>7.2f} {r['lens_s']:>7.2f} "
            f"{r['requests']:>8,} {r['warm_requests']:>8,} {r['datapoints']:>11,} {r['peak_rss_mb']:>11.0f} {r['real_aws_s']:>10.1f}"
        )
    lines.append(
        f"(cold: the first run from an empty cache; warm: median of {repeat}; sim: inside the simulated account; Lens: cold − sim; "
        f"real AWS: Lens + the latency model, {LATENCY_S['GetMetricData'] * 1000:.0f} ms a GetMetricData request at ≤ {GMD_TPS} TPS)"
    )
    return "\n".join(lines)


def _latency(text: str) -> tuple[str, float]:
    op, _, sec = text.partition("=")
    try:
        return op, float(sec)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not OPERATION=SECONDS (e.g. GetMetricData=0.15)") from None


def _layout(text: str) -> tuple[int, tuple[int, int]]:
    try:
        n, _, shape = text.partition("=")
        a, _, r = shape.partition("x")
        return int(n), (int(a), int(r))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FUNCTIONS=ACCOUNTSxREGIONS (e.g. 10000=10x3)") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[48, 1000, 10000], help="simulated functions (default: 48 1000 10000)")
    p.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES), help="pages to run (default: all)")
    p.add_argument("--repeat", type=int, default=3, help="warm runs per page (default: 3)")
    p.add_argument("--layout", type=_layout, action="append", default=[], help="FUNCTIONS=ACCOUNTSxREGIONS (default 10000=10x3; else 1x2)")
    p.add_argument("--latency", type=_latency, action="append", default=[], help="OPERATION=SECONDS per request in the real-AWS model")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds one page at one size may take (default 1800)")
    p.add_argument("--max-memory-gb", type=float, default=8.0, help="address-space cap of each run (default 8): a shared machine is not OOM-killed")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--app", type=Path, default=ROOT / "app.py", help="the app's entry script (default: app.py)")
    p.add_argument("--rows", type=Path, help="print the table of rows saved with --format json instead of running")
    p.add_argument("--worker", nargs=3, metavar=("PAGE", "N", "CONFIG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.repeat = max(1, args.repeat)
    args.latency = dict(args.latency)
    args.app = args.app.resolve()
    if args.worker:
        import resource

        cap = int(args.max_memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))  # past it: MemoryError, this run skipped, nothing else killed
        page, n, cfg = args.worker
        print(json.dumps(measure(page, int(n), Path(cfg), args.app, args.repeat, args.latency)))
        return 0
    if args.rows:
        rows = json.loads(args.rows.read_text(encoding="utf-8"))
        print(table(rows, args.repeat))
        for line in overview_month_usd(rows):
            print(line)
        return 0
    layouts = {**LAYOUTS, **dict(args.layout)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            accounts, regions = layout(n, layouts)
            cfg, why = check_size(n, accounts, regions, Path(tmp))
            if cfg is None:
                print(why, file=sys.stderr)
                continue
            for page in args.pages:
                got, why = run_one(page, n, cfg, args)
                if got is None:
                    print(why, file=sys.stderr)
                    continue
                rows.append(got)
                if args.format == "table":
                    print(f"  {page} at {n:,}: cold {got['cold_s']:.1f} s, warm {got['warm_s']:.2f} s", file=sys.stderr, flush=True)
    if args.format == "json":
        print(json.dumps(rows, indent=1))
    else:
        print(table(rows, args.repeat))
        for line in overview_month_usd(rows):
            print(line)
    return 0 if rows or not args.sizes else 1


if __name__ == "__main__":
    raise SystemExit(main())
