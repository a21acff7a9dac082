"""The naive way to the same frame: one GetMetricStatistics per function and metric.

Kept for the benchmark's comparison with :func:`aws.metrics.lambda_metrics` (same schema,
same numbers, many more calls). GetMetricStatistics takes one metric per call, either
``Statistics`` or ``ExtendedStatistics`` but not both (AWS API reference), and at most
1,440 datapoints: so Duration takes two calls (Average + Maximum, then p50 + p90 + p99),
and a range longer than 1,440 periods is split into adjacent chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from aws import session
from aws.metrics import _fetch
from aws.metrics._collect import _empty, _function_names, discover_optional, lambda_queries, resolve_range
from aws.metrics._fetch import Series
from aws.metrics._specs import LAMBDA_SCHEMA, Dimensions, Query
from aws.metrics._time import MAX_STATISTICS_POINTS
from aws.session import Account

__all__ = ["naive_lambda_metrics", "naive_calls"]

_PLAIN_STATS = frozenset({"Sum", "Average", "Maximum", "Minimum", "SampleCount"})


@dataclass(frozen=True)
class _StatCall:
    """One GetMetricStatistics request: one series, one chunk of the range, several statistics."""

    namespace: str
    metric: str
    dimensions: Dimensions
    extended: bool
    queries: tuple[int, ...]  # indexes into the query list, one per statistic
    start: datetime
    end: datetime


def _chunks(start: datetime, end: datetime, period: int) -> list[tuple[datetime, datetime]]:
    step = timedelta(seconds=period * MAX_STATISTICS_POINTS)
    out = []
    lo = start
    while lo < end:
        hi = min(lo + step, end)
        out.append((lo, hi))
        lo = hi
    return out


def _plan(queries: Sequence[Query], start: datetime, end: datetime, period: int) -> list[_StatCall]:
    groups: dict[tuple, list[int]] = {}
    for i, q in enumerate(queries):
        key = (q.namespace, q.metric, q.dimensions, q.stat not in _PLAIN_STATS)
        groups.setdefault(key, []).append(i)
    return [
        _StatCall(ns, metric, dims, extended, tuple(idx), lo, hi)
        for (ns, metric, dims, extended), idx in groups.items()
        for lo, hi in _chunks(start, end, period)
    ]


def naive_calls(n_functions: int, points: int, *, optional_series: int = 0) -> int:
    """GetMetricStatistics calls of :func:`naive_lambda_metrics`: 6 series-requests a function
    (Invocations, Errors, Throttles, Duration ×2, ConcurrentExecutions) plus one per optional
    series, each split into ⌈points / 1,440⌉ chunks."""
    return (6 * n_functions + optional_series) * -(-points // MAX_STATISTICS_POINTS)


def naive_lambda_metrics(
    *,
    account: Account,
    region: str,
    functions: Sequence[str],
    start: datetime,
    end: datetime,
    period: int | None = None,
    optional: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`aws.metrics.lambda_metrics`'s frame, built with one GetMetricStatistics per function and metric."""
    period, lo, hi, _ = resolve_range(start=start, end=end, period=period)
    names = _function_names(functions)
    if not names:
        return _empty(LAMBDA_SCHEMA, period, lo, hi)
    if optional is None:
        optional = discover_optional(account=account, region=region)
    queries = lambda_queries(names, optional)
    results = [Series() for _ in queries]
    cw = session.client(account, "cloudwatch", region)

    def fetch(call: _StatCall) -> None:
        stats = [queries[i].stat for i in call.queries]
        params = {
            "Namespace": call.namespace,
            "MetricName": call.metric,
            "Dimensions": [{"Name": n, "Value": v} for n, v in call.dimensions],
            "StartTime": call.start,
            "EndTime": call.end,
            "Period": period,
            ("ExtendedStatistics" if call.extended else "Statistics"): stats,
        }
        with _fetch.translated(account=account, region=region, operation="GetMetricStatistics"):
            answer = cw.get_metric_statistics(**params)
        for i, stat in zip(call.queries, stats, strict=True):
            points = [
                (p["Timestamp"], src[stat])
                for p in answer.get("Datapoints", ())
                if stat in (src := p.get("ExtendedStatistics", {}) if call.extended else p)
            ]
            results[i].add([t for t, _ in points], [v for _, v in points])

    _fetch.run_concurrently(fetch, _plan(queries, lo, hi, period))
    frame = _fetch.assemble(
        account=account,
        region=region,
        period=period,
        schema=LAMBDA_SCHEMA,
        series=list(zip(queries, results, strict=True)),
    )
    frame.attrs.update({"period_s": period, "start": lo, "end": hi, "incomplete": [], "warnings": [], "unknown_columns": ()})
    return frame
