"""The metrics collectors: discovery (ListMetrics) and the GetMetricData frames.

- :func:`discover_optional`: which functions publish IteratorAge, AsyncEventAge,
  ProvisionedConcurrencyUtilization;
- :func:`insights_functions`: which functions publish Lambda Insights metrics;
- :func:`lambda_metrics`: the AWS/Lambda frame (one row per function and timestamp);
- :func:`insights_metrics`: the LambdaInsights frame.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

import pandas as pd

from aws.frames import typed_frame
from aws.metrics import _fetch
from aws.metrics._specs import (
    CORE_SPECS,
    DISCOVERY_SCHEMA,
    FUNCTION_DIM,
    INSIGHTS_DIM,
    INSIGHTS_NS,
    INSIGHTS_SCHEMA,
    INSIGHTS_SPECS,
    LAMBDA_NS,
    LAMBDA_SCHEMA,
    OPTIONAL_METRICS,
    OPTIONAL_SPECS,
    RESOURCE_DIM,
    ColumnSpec,
    Dimensions,
    Query,
)
from aws.metrics._time import align, check_period, choose_period, points_per_query, utc
from aws.session import Account

__all__ = [
    "discover_optional",
    "insights_functions",
    "lambda_metrics",
    "insights_metrics",
    "lambda_queries",
    "insights_queries",
    "resolve_range",
]

log = logging.getLogger(__name__)


def resolve_range(
    *, start: datetime, end: datetime, period: int | None, anchored: bool = False
) -> tuple[int, datetime, datetime, int]:
    """``(period, aligned start, aligned end, points per query)`` for a request.

    ``anchored``: the range is asked as it is (``start`` on a whole minute, see
    :func:`~aws.metrics._time.fleet_window`): CloudWatch lines its periods up on StartTime.
    """
    start, end = utc(start, "start"), utc(end, "end")
    period = choose_period(start=start, end=end) if period is None else check_period(period)
    if anchored:
        if end <= start:
            raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
        return period, start, end, -(-int((end - start).total_seconds()) // period)
    lo, hi = align(start=start, end=end, period=period)
    return period, lo, hi, points_per_query(start=lo, end=hi, period=period)


def _specs(specs: tuple[ColumnSpec, ...], columns: Collection[str] | None) -> tuple[ColumnSpec, ...]:
    if columns is None:
        return specs
    return tuple(s for s in specs if s.column in set(columns))


def _check_columns(columns: Collection[str] | None, schema: dict[str, str]) -> None:
    if columns is None:
        return
    if isinstance(columns, str):
        raise TypeError("columns must be a collection of column names, not one string")
    unknown = set(columns) - {c for c, t in schema.items() if t == "float64"}
    if unknown:
        raise ValueError(f"unknown metric columns {sorted(unknown)}")


def _function_names(functions: Iterable[str]) -> list[str]:
    if isinstance(functions, str):
        raise TypeError("functions must be a sequence of function names, not one string")
    return sorted({str(f) for f in functions})


def discover_optional(*, account: Account, region: str) -> pd.DataFrame:
    """Which functions publish the optional Lambda metrics: columns ``function``, ``metric`` (string).

    One ListMetrics scan (all pages) per metric name in AWS/Lambda: IteratorAge (stream
    consumers), AsyncEventAge (asynchronously invoked), ProvisionedConcurrencyUtilization
    (provisioned concurrency). A function is listed when a series with its ``FunctionName``
    exists; the series to query are kept in ``frame.attrs["dimensions"]``
    (``{(function, metric): (dimensions, ...)}``): the function-level series when CloudWatch has
    one, else the per-alias/version series (``FunctionName`` + ``Resource``), whose maximum
    :func:`lambda_metrics` takes.
    """
    function_level: set[tuple[str, str]] = set()
    per_resource: dict[tuple[str, str], set[Dimensions]] = {}
    for metric in OPTIONAL_METRICS:
        for record in _fetch.list_metrics(account=account, region=region, namespace=LAMBDA_NS, metric_name=metric):
            dims = {d["Name"]: d["Value"] for d in record.get("Dimensions", ())}
            fn = dims.get(FUNCTION_DIM)
            if fn is None:
                continue
            if set(dims) == {FUNCTION_DIM}:
                function_level.add((fn, metric))
            elif set(dims) == {FUNCTION_DIM, RESOURCE_DIM}:
                per_resource.setdefault((fn, metric), set()).add(
                    ((FUNCTION_DIM, fn), (RESOURCE_DIM, dims[RESOURCE_DIM]))
                )
    dimensions: dict[tuple[str, str], tuple[Dimensions, ...]] = {}
    for key in sorted(function_level | set(per_resource)):
        if key in function_level:
            dimensions[key] = (((FUNCTION_DIM, key[0]),),)
        else:
            dimensions[key] = tuple(sorted(per_resource[key]))
    frame = typed_frame([{"function": f, "metric": m} for f, m in dimensions], DISCOVERY_SCHEMA)
    frame.attrs["dimensions"] = dimensions
    return frame


def insights_functions(*, account: Account, region: str) -> set[str]:
    """The functions that publish Lambda Insights metrics (ListMetrics of LambdaInsights used_memory_max)."""
    found: set[str] = set()
    for record in _fetch.list_metrics(
        account=account, region=region, namespace=INSIGHTS_NS, metric_name="used_memory_max"
    ):
        for d in record.get("Dimensions", ()):
            if d.get("Name") == INSIGHTS_DIM:
                found.add(d["Value"])
    return found


def _optional_dimensions(optional: pd.DataFrame, functions: set[str]) -> dict[tuple[str, str], tuple[Dimensions, ...]]:
    missing = {"function", "metric"} - set(optional.columns)
    if missing:
        raise ValueError(
            f"optional must be discover_optional's frame (columns function, metric); missing {sorted(missing)}"
        )
    known: dict = optional.attrs.get("dimensions", {}) or {}
    out: dict[tuple[str, str], tuple[Dimensions, ...]] = {}
    for fn, metric in zip(optional["function"], optional["metric"], strict=True):
        if fn not in functions or metric not in OPTIONAL_METRICS:
            continue
        out[(fn, metric)] = known.get((fn, metric)) or (((FUNCTION_DIM, fn),),)
    return out


def lambda_queries(functions: Sequence[str], optional: pd.DataFrame, columns: Collection[str] | None = None) -> list[Query]:
    """The GetMetricData queries of :func:`lambda_metrics`: 9 per function, plus its optional metrics
    (only those of ``columns`` when given)."""
    opt = _optional_dimensions(optional, set(functions))
    core, extra = _specs(CORE_SPECS, columns), _specs(OPTIONAL_SPECS, columns)
    queries: list[Query] = []
    for fn in functions:
        dims: Dimensions = ((FUNCTION_DIM, fn),)
        queries.extend(Query(fn, s.column, LAMBDA_NS, s.metric, dims, s.stat) for s in core)
        for spec in extra:
            for d in opt.get((fn, spec.metric), ()):
                queries.append(Query(fn, spec.column, LAMBDA_NS, spec.metric, d, spec.stat))
    return queries


def insights_queries(functions: Sequence[str], columns: Collection[str] | None = None) -> list[Query]:
    """The GetMetricData queries of :func:`insights_metrics`: one per function and column (only ``columns`` when given)."""
    return [
        Query(fn, s.column, INSIGHTS_NS, s.metric, ((INSIGHTS_DIM, fn),), s.stat)
        for fn in functions
        for s in _specs(INSIGHTS_SPECS, columns)
    ]


def _collect(
    *,
    account: Account,
    region: str,
    queries: list[Query],
    schema: dict[str, str],
    period: int,
    start: datetime,
    end: datetime,
    points: int,
) -> pd.DataFrame:
    results = _fetch.get_metric_data(
        account=account, region=region, queries=queries, start=start, end=end, period=period, points=points
    )
    frame = _fetch.assemble(
        account=account, region=region, period=period, schema=schema, series=list(zip(queries, results, strict=True))
    )
    frame.attrs["period_s"] = period
    frame.attrs["start"] = start
    frame.attrs["end"] = end
    frame.attrs["incomplete"] = _fetch.incomplete(queries, results)
    warnings, unknown = _fetch.refusals(account=account, region=region, queries=queries, results=results)
    frame.attrs["warnings"] = warnings
    frame.attrs["unknown_columns"] = unknown
    return frame


def _empty(schema: dict[str, str], period: int, start: datetime, end: datetime) -> pd.DataFrame:
    frame = typed_frame([], schema)
    frame.attrs.update({"period_s": period, "start": start, "end": end, "incomplete": [], "warnings": [], "unknown_columns": ()})
    return frame


def lambda_metrics(
    *,
    account: Account,
    region: str,
    functions: Sequence[str],
    start: datetime,
    end: datetime,
    period: int | None = None,
    optional: pd.DataFrame | None = None,
    columns: Collection[str] | None = None,
    anchored: bool = False,
) -> pd.DataFrame:
    """The AWS/Lambda metrics of ``functions``: one row per (function, timestamp) with any datapoint.

    Columns (:data:`LAMBDA_SCHEMA`): account, region, function, timestamp, period_s, then
    invocations / errors / throttles (Sum), duration_avg_ms / _p50 / _p90 / _p99 / _max_ms,
    concurrency_max, iterator_age_max_ms, async_event_age_max_ms, pc_utilization_max
    (Maximum) — float64, NaN where CloudWatch returned no datapoint (CloudWatch omits a period
    without data, e.g. Invocations of an idle minute: NaN is "missing", not 0).

    ``period`` defaults to :func:`choose_period`; the range is :func:`align`-ed to it (``anchored``: asked as
    it is, see :func:`~aws.metrics._time.fleet_window`). ``columns``: only these columns are asked for (the
    others stay NaN; a fleet view's trend needs one metric, an alert rule a few). ``optional``
    is :func:`discover_optional`'s frame (``None``: discover now). Queries are packed by
    :func:`plan_calls` into the fewest GetMetricData calls (≤ 500 queries, ≤ 100,800 datapoints
    each), issued concurrently, every ``NextToken`` followed. ``frame.attrs`` holds ``period_s``,
    the aligned ``start``/``end``, ``incomplete``: (function, column) pairs CloudWatch did
    not answer completely, and, when the endpoint refused the Duration percentiles (a call is then
    asked again without them, see :mod:`aws.metrics._fetch`), ``unknown_columns`` (the percentile
    columns, NaN) and ``warnings`` (one sentence saying so); both empty otherwise.
    """
    _check_columns(columns, LAMBDA_SCHEMA)
    period, lo, hi, points = resolve_range(start=start, end=end, period=period, anchored=anchored)
    names = _function_names(functions)
    queries_wanted = columns is None or bool(set(columns))
    if not names or not queries_wanted:
        return _empty(LAMBDA_SCHEMA, period, lo, hi)
    if optional is None and not _specs(OPTIONAL_SPECS, columns):
        optional = typed_frame([], DISCOVERY_SCHEMA)  # no optional metric asked: nothing to discover
    if optional is None:
        optional = discover_optional(account=account, region=region)
    queries = lambda_queries(names, optional, columns)
    if not queries:
        return _empty(LAMBDA_SCHEMA, period, lo, hi)
    return _collect(
        account=account,
        region=region,
        queries=queries,
        schema=LAMBDA_SCHEMA,
        period=period,
        start=lo,
        end=hi,
        points=points,
    )


def insights_metrics(
    *,
    account: Account,
    region: str,
    functions: Sequence[str],
    start: datetime,
    end: datetime,
    period: int | None = None,
    available: set[str] | None = None,
    columns: Collection[str] | None = None,
) -> pd.DataFrame:
    """Lambda Insights metrics of those ``functions`` that have the extension enabled.

    Columns (:data:`INSIGHTS_SCHEMA`): account, region, function, timestamp, period_s,
    used_memory_max_mb, memory_utilization_max_pct, total_memory_mb, init_duration_max_ms
    (Maximum) and cpu_total_time_sum_ms (Sum); float64, NaN where missing. Only functions in
    ``available`` are queried (``None``: :func:`insights_functions` finds them). Same paging,
    packing and ``attrs`` as :func:`lambda_metrics`. ``columns``: only these are asked for (GetMetricData bills per
    metric), the others are NaN.
    """
    _check_columns(columns, INSIGHTS_SCHEMA)
    period, lo, hi, points = resolve_range(start=start, end=end, period=period)
    names = _function_names(functions)
    if names and available is None:
        available = insights_functions(account=account, region=region)
    names = [n for n in names if n in (available or ())]
    if not names:
        return _empty(INSIGHTS_SCHEMA, period, lo, hi)
    return _collect(
        account=account,
        region=region,
        queries=insights_queries(names, columns),
        schema=INSIGHTS_SCHEMA,
        period=period,
        start=lo,
        end=hi,
        points=points,
    )
