"""Statistics over a whole range: one datapoint per function (exact percentiles over the range).

A p99 over 24 h cannot be derived from 1,440 per-minute p99s; CloudWatch computes it
when asked with a period as long as the range. One query per function and statistic,
one datapoint each: 1,000 functions cost two GetMetricData calls and $0.01.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from aws.frames import typed_frame
from aws.metrics import _fetch
from aws.metrics._specs import FUNCTION_DIM, LAMBDA_NS, Query
from aws.metrics._time import utc
from aws.session import Account

__all__ = ["RANGE_SCHEMA", "range_period", "range_statistics"]

RANGE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "duration_p50_ms": "float64",
    "duration_p90_ms": "float64",
    "duration_p99_ms": "float64",
}
_STATS = {"duration_p50_ms": "p50", "duration_p90_ms": "p90", "duration_p99_ms": "p99"}


def range_period(*, start: datetime, end: datetime, now: datetime | None = None) -> tuple[int, datetime]:
    """``(period, aligned start)``: one period spanning the range at the granularity CloudWatch still holds."""
    start, end = utc(start, "start"), utc(end, "end")
    age = (now or datetime.now(UTC)) - start
    step = 60 if age <= timedelta(days=15) else 300 if age <= timedelta(days=63) else 3600
    lo = datetime.fromtimestamp(int(start.timestamp()) // step * step, UTC)
    period = max(step, math.ceil((end - lo).total_seconds() / step) * step)
    return period, lo


def range_statistics(
    *, account: Account, region: str, functions: Sequence[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """p50 / p90 / p99 of Duration over the whole range, one row per function that ran."""
    names = sorted(set(functions))
    if not names:
        return typed_frame([], RANGE_SCHEMA)
    period, lo = range_period(start=start, end=end)
    hi = lo + timedelta(seconds=period)
    queries = [
        Query(fn, column, LAMBDA_NS, "Duration", ((FUNCTION_DIM, fn),), stat) for fn in names for column, stat in _STATS.items()
    ]
    results = _fetch.get_metric_data(account=account, region=region, queries=queries, start=lo, end=hi, period=period, points=1)
    rows: dict[str, dict] = {}
    for q, res in zip(queries, results, strict=True):
        values = res.values
        if values:
            row = rows.setdefault(q.function, {"account": account.name, "region": region, "function": q.function})
            row[q.column] = float(values[0])
    return typed_frame(list(rows.values()), RANGE_SCHEMA)
