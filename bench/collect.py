"""Benchmark: one metrics refresh of the simulated account, batched (GetMetricData) vs naive.

For 100 and 1,000 simulated functions over 24 h and 7 d, prints AWS calls by operation,
metric queries, datapoints, wall time and peak memory of a cold refresh through the
product's own loaders, the GetMetricData lower bound max(⌈q/500⌉, ⌈q·p/100,800⌉) per
account × region next to the calls made, the calls a warm cache makes, and the same
figures for the naive approach (one GetMetricStatistics per function and metric).

Each scenario runs in its own process so that peak memory (ru_maxrss) is its own.

    .venv/bin/python bench/collect.py                 # the full table
    .venv/bin/python bench/collect.py --sizes 100 --ranges 24h
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def scenario(n: int, range_text: str, approach: str) -> dict:
    from aws import metrics as cw
    from aws.meter import METER
    from dashboard.config.settings import AccountSettings, DemoSettings, Settings
    from dashboard.query import sources
    from dashboard.query.timerange import parse_range

    cfg = Settings(accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=n))])
    trange = parse_range(range_text)
    inv = sources.inventory(cfg).frame  # not measured: the inventory is cached for 15 min anyway
    METER.reset()
    t0 = time.perf_counter()
    if approach == "batched":
        loaded = sources.metrics(cfg, trange, inv)
        if loaded.failed:
            raise SystemExit(f"refresh failed: {loaded.errors}")
        rows = len(loaded.frame)
    else:
        rows = 0
        for (acct_name, region), fns in inv.groupby(["account", "region"]):
            (account,) = [a for a in cfg.aws_accounts() if a.name == acct_name]
            rows += len(cw.naive_lambda_metrics(account=account, region=region, functions=fns["function"].tolist(), start=trange.start, end=trange.end))
    wall = time.perf_counter() - t0
    cold = METER.snapshot()
    out = {
        "functions": len(inv),
        "range": range_text,
        "approach": approach,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "calls": {f"{svc}:{op}": n for (svc, op), n in _by_op(cold).items()},
        "metrics_requested": cold.metrics_requested,
        "datapoints": cold.datapoints,
        "cost_usd": round(cold.cost_usd, 4),
        "rows": rows,
    }
    if approach == "batched":
        lo, hi, period = cw.recent_window(span=trange.duration, now=trange.end)  # as dashboard.query.sources.metrics does
        points = cw.points_per_query(start=lo, end=hi, period=period)
        bound = 0
        queries = 0
        for (acct_name, region), fns in inv.groupby(["account", "region"]):
            (account,) = [a for a in cfg.aws_accounts() if a.name == acct_name]
            optional = cw.discover_optional(account=account, region=region)
            q = len(cw.lambda_queries(sorted(fns["function"]), optional))
            queries += q
            bound += cw.lower_bound_calls(q, points)
        out.update(period_s=period, points_per_query=points, queries=queries, gmd_lower_bound=bound)
        METER.reset()
        sources.metrics(cfg, trange, inv)  # warm: the same question again
        out["warm_calls"] = METER.snapshot().total_calls
    return out


def _by_op(snap) -> dict:
    out: dict = {}
    for (_, _, svc, op), n in snap.calls.items():
        out[(svc, op)] = out.get((svc, op), 0) + n
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,1000")
    p.add_argument("--ranges", default="24h,7d")
    p.add_argument("--one", nargs=3, metavar=("N", "RANGE", "APPROACH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        n, rng, approach = args.one
        print(json.dumps(scenario(int(n), rng, approach)))
        return
    results = []
    for n in [int(x) for x in args.sizes.split(",")]:
        for rng in args.ranges.split(","):
            for approach in ("batched", "naive"):
                proc = subprocess.run(
                    [sys.executable, __file__, "--one", str(n), rng, approach], capture_output=True, text=True, cwd=ROOT, check=False
                )
                if proc.returncode:
                    sys.exit(proc.stderr)
                results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{'functions':>9} {'range':>5} {'approach':>8} {'GetMetricData':>13} {'lower bound':>11} {'GetMetricStatistics':>19} "
          f"{'other calls':>11} {'metrics req':>11} {'datapoints':>11} {'$':>7} {'wall s':>7} {'peak MB':>8} {'warm calls':>10}")
    for r in results:
        calls = r["calls"]
        gmd = calls.get("cloudwatch:GetMetricData", 0)
        gms = calls.get("cloudwatch:GetMetricStatistics", 0)
        other = sum(calls.values()) - gmd - gms
        print(
            f"{r['functions']:>9} {r['range']:>5} {r['approach']:>8} {gmd:>13} {r.get('gmd_lower_bound', '-'):>11} {gms:>19} "
            f"{other:>11} {r['metrics_requested']:>11} {r['datapoints']:>11} {r['cost_usd']:>7.4f} {r['wall_s']:>7.2f} "
            f"{r['peak_rss_mb']:>8.1f} {r.get('warm_calls', '-'):>10}"
        )
    for r in results:
        if r["approach"] == "batched":
            print(
                f"{r['functions']} functions, {r['range']}: period {r['period_s']} s, {r['points_per_query']} points a query, "
                f"{r['queries']} queries → GetMetricData calls {r['calls'].get('cloudwatch:GetMetricData', 0)} "
                f"(lower bound {r['gmd_lower_bound']}); calls by operation: {r['calls']}"
            )


if __name__ == "__main__":
    main()
