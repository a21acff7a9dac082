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

# column → (metric, statistic); one query per function and column, one datapoint each
RANGE_COLUMNS: dict[str, tuple[str, str]] = {
    "invocations": ("Invocations", "Sum"),
    "errors": ("Errors", "Sum"),
    "throttles": ("Throttles", "Sum"),
    "duration_p50_ms": ("Duration", "p50"),
    "duration_p90_ms": ("Duration", "p90"),
    "duration_p99_ms": ("Duration", "p99"),
    "duration_max_ms": ("Duration", "Maximum"),
    "duration_avg_ms": ("Duration", "Average"),  # total duration ÷ invocations over the range
    "concurrency_max": ("ConcurrentExecutions", "Maximum"),
}
RANGE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    **{c: "float64" for c in RANGE_COLUMNS},
}


def range_period(*, start: datetime, end: datetime, now: datetime | None = None) -> tuple[int, datetime]:
    """``(period, aligned start)``: one period spanning the range at the granularity CloudWatch still holds."""
    start, end = utc(start, "start"), utc(end, "end")
    age = (now or datetime.now(UTC)) - start
    step = 60 if age <= timedelta(days=15) else 300 if age <= timedelta(days=63) else 3600
    lo = datetime.fromtimestamp(int(start.timestamp()) // step * step, UTC)
    period = max(step, math.ceil((end - lo).total_seconds() / step) * step)
    return period, lo


def range_statistics(
    *,
    account: Account,
    region: str,
    functions: Sequence[str],
    start: datetime,
    end: datetime,
    columns: Sequence[str] = ("duration_p99_ms",),
    now: datetime | None = None,
) -> pd.DataFrame:
    """Statistics over the whole range (``columns`` of :data:`RANGE_COLUMNS`), one row per function with data.

    Columns not asked for are NaN. Costs one metric per function and column. ``now`` (default: the current
    time) decides the granularity CloudWatch still holds at the range's age (:func:`range_period`). When the endpoint
    refuses the percentiles of a call that also holds counts, the counts are asked again alone and
    ``frame.attrs["unknown_columns"]`` / ``["warnings"]`` name the percentile columns left NaN (see
    :mod:`aws.metrics._fetch`); a call of percentiles only has nothing to save and fails as before.
    """
    unknown = set(columns) - set(RANGE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown range columns {sorted(unknown)}; use {list(RANGE_COLUMNS)}")
    names = sorted(set(functions))
    if not names or not columns:
        frame = typed_frame([], RANGE_SCHEMA)
        frame.attrs.update({"warnings": [], "unknown_columns": ()})
        return frame
    period, lo = range_period(start=start, end=end, now=now)
    hi = lo + timedelta(seconds=period)
    queries = [
        Query(fn, column, LAMBDA_NS, RANGE_COLUMNS[column][0], ((FUNCTION_DIM, fn),), RANGE_COLUMNS[column][1])
        for fn in names
        for column in columns
    ]
    results = _fetch.get_metric_data(account=account, region=region, queries=queries, start=lo, end=hi, period=period, points=1)
    rows: dict[str, dict] = {}
    for q, res in zip(queries, results, strict=True):
        values = res.values
        if len(values):
            row = rows.setdefault(q.function, {"account": account.name, "region": region, "function": q.function})
            row[q.column] = float(values[0])
    frame = typed_frame(list(rows.values()), RANGE_SCHEMA)
    warnings, unknown = _fetch.refusals(account=account, region=region, queries=queries, results=results)
    frame.attrs.update({"warnings": warnings, "unknown_columns": unknown})
    return frame
