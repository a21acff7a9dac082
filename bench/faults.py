"""Figures for docs/reliability.md: one refresh of the simulated account under each injected fault.

For each scenario, runs the refresh a page makes (inventory, metrics, range statistics, memory, daily
spend, forecast) on a fresh cache and prints, per AWS service, the API calls and HTTP attempts, the
parts that failed or were served stale, and whether the frames equal those of an unthrottled run.
Botocore's backoff sleeps are kept (real retry timing), so the wall time is also printed.

    .venv/bin/python bench/faults.py                  # 24 functions, 2 regions
    .venv/bin/python bench/faults.py --functions 200

Not a test (the assertions are in tests/faults/): it prints figures for a human.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")


def main() -> None:
    import logging

    import pandas as pd

    from aws import cache, session
    from aws.meter import METER
    from dashboard.config.settings import AccountSettings, AwsSettings, DemoSettings, Settings
    from dashboard.query import sources
    from dashboard.query.timerange import parse_range

    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=24)
    args = ap.parse_args()

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    trange = parse_range(f"{end - timedelta(hours=24):%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}")
    today = end.date()

    def settings(aws: dict | None = None, **sim) -> Settings:
        return Settings(
            accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=args.functions, **sim))],
            aws=AwsSettings(**(aws or {})),
        )

    def refresh(cfg: Settings) -> dict[str, sources.Loaded]:
        inv = sources.inventory(cfg)
        return {
            "inventory": inv,
            "metrics": sources.metrics(cfg, trange, inv.frame),
            "range_stats": sources.range_stats(cfg, trange, inv.frame, columns=("invocations", "errors", "duration_p99_ms")),
            "memory": sources.memory(cfg, trange, inv.frame),
            "costs": sources.daily_costs(cfg, start=today - timedelta(days=10), end=today),
            "forecast": sources.month_forecast(cfg, today=today),
        }

    scenarios = [
        ("no fault", {}, {}),
        ("30 % throttling: cloudwatch, logs, ce (max_attempts 8)", {}, {"throttle_rate": 0.3, "throttle_services": ["cloudwatch", "logs", "ce"]}),
        ("30 % throttling, every service", {}, {"throttle_rate": 0.3}),
        ("30 % throttling, max_attempts 1", {"max_attempts": 1}, {"throttle_rate": 0.3, "throttle_services": ["cloudwatch", "logs", "ce"]}),
        ("CloudWatch down (max_attempts 3)", {"max_attempts": 3}, {"down": ["cloudwatch"]}),
        ("every endpoint 5 s slow, read timeout 0.5 s, max_attempts 2", {"max_attempts": 2, "read_timeout_s": 0.5}, {"latency_s": 5.0}),
    ]
    baseline: dict[str, pd.DataFrame] = {}
    for title, aws, sim in scenarios:
        cache.clear_all()
        session.reset_clients()
        METER.reset()
        t0 = time.perf_counter()
        got = refresh(settings(aws, **sim))
        took = time.perf_counter() - t0
        m = METER.snapshot()
        if not baseline:
            baseline = {k: v.frame for k, v in got.items()}
        ops = m.by_operation().groupby("service")[["calls", "attempts"]].sum()
        failed = sorted({f"{s.source} {s.region} ({s.error_kind})" for v in got.values() for s in v.failed})
        same = [k for k, v in got.items() if not v.failed and v.frame.equals(baseline[k])]
        print(f"\n## {title}  —  {took:.1f} s")
        print(ops.to_string())
        print(f"total: {m.total_calls} calls, {sum(m.attempts.values())} attempts")
        print(f"frames equal to the no-fault run: {', '.join(same) or 'none'}")
        print(f"failed parts: {', '.join(failed) or 'none'}")


if __name__ == "__main__":
    main()
