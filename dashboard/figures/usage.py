"""Per-function usage over a range: the summary row and the trend, the one definition every surface reads.

- :func:`summarize` — one row per function (pure): invocations, errors, error rate, throttles,
  durations (the exact p99 over the range), concurrency, cold starts, memory, billed GB-s.
- :func:`usage` — :func:`summarize` over a :class:`~dashboard.query.load.Query` (the pages, the CLI's
  ``summary`` and ``overview``, the digests).
- :func:`trend` — a column of each function binned into at most :data:`TREND_POINTS` buckets over the
  range: the sparkline of the Overview and the Functions list alike.

Unknown is not zero: a function whose account × region could not be read has unknown (NaN) counts, its
error rate and durations unknown too, and no trend (None); a function that was read and had no datapoint
has 0 invocations.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.figures.metrics import REGISTRY
from dashboard.query import sources
from dashboard.query.load import Query

__all__ = ["SCHEMA", "COUNTS", "TREND_POINTS", "summarize", "usage", "trend", "error_rate"]

SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "runtime": "string",
    "architecture": "string",
    "memory_mb": "int64",
    "timeout_s": "int64",
    "team": "string",
    "invocations": "float64",
    "errors": "float64",
    "error_rate": "float64",  # errors / invocations, %; NaN with no invocations
    "throttles": "float64",
    "duration_avg_ms": "float64",  # invocation-weighted mean of the period averages
    "duration_p99_ms": "float64",  # p99 over the whole range (one CloudWatch datapoint per function)
    "duration_max_ms": "float64",
    "concurrency_max": "float64",
    "cold_starts": "float64",
    "max_memory_used_mb": "float64",
    "memory_used_pct": "float64",  # max memory used / memory size, %
    "billed_gb_seconds": "float64",
}

KEY = ["account", "region", "function"]
COUNTS = ("invocations", "errors", "throttles")  # sums: 0 where a readable part had no datapoint
_METRIC_COLUMNS = (*COUNTS, "error_rate", "duration_avg_ms", "duration_p99_ms", "duration_max_ms", "concurrency_max")
_RANGE_FIGURES = ("invocations", "errors", "throttles", "duration_avg_ms", "duration_p99_ms", "duration_max_ms", "concurrency_max")
_MEMORY_COLUMNS = ("cold_starts", "max_memory_used_mb", "memory_used_pct", "billed_gb_seconds")
TREND_POINTS = 60


def error_rate(errors: pd.Series | np.ndarray | float, invocations: pd.Series | np.ndarray | float):
    """Errors ÷ invocations, in % (timeouts count as errors); NaN with no invocations or unknown counts."""
    inv = np.asarray(invocations, dtype="float64")
    err = np.asarray(errors, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(inv > 0, 100.0 * err / np.where(inv > 0, inv, np.nan), np.nan)
    return out if out.ndim else float(out)


def _in_parts(frame: pd.DataFrame, parts: Collection[tuple[str, str]]) -> np.ndarray:
    if not parts or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    pairs = set(parts)
    return np.fromiter(((a, r) in pairs for a, r in zip(frame["account"], frame["region"], strict=True)), dtype=bool, count=len(frame))


def summarize(
    inventory: pd.DataFrame,
    metrics: pd.DataFrame,
    memory: pd.DataFrame,
    range_stats: pd.DataFrame | None = None,
    *,
    exact: Collection[str] | None = None,
    unread_metrics: Collection[tuple[str, str]] = (),
    unread_memory: Collection[tuple[str, str]] = (),
) -> pd.DataFrame:
    """Pure: the summary rows from the inventory, the metric series, the memory series and range stats.

    ``range_stats`` (:data:`aws.metrics.RANGE_SCHEMA`: one whole-range datapoint per function and statistic) gives
    the figures over the range named by ``exact`` (default: every one of invocations, errors, throttles,
    duration_avg_ms, duration_p99_ms, duration_max_ms, concurrency_max it answers, and the p99 always), so they
    do not depend on the period of ``metrics``; a function it lacks has 0 counts and NaN statistics. The other
    figures come from ``metrics`` (sums of its periods, the highest period maximum); without ``range_stats``
    (None) the p99 column is the highest period p99 (an upper bound).
    ``unread_metrics`` / ``unread_memory``: the (account, region) parts whose metrics / memory could not be
    read; their functions' figures from that source are unknown (NaN), never 0.
    """
    inv = inventory[KEY + ["runtime", "architecture", "memory_mb", "timeout_s", "team"]]
    if metrics.empty:
        agg = pd.DataFrame(columns=[*KEY, *_RANGE_FIGURES])
    else:
        m = metrics.assign(_dur_w=metrics["duration_avg_ms"] * metrics["invocations"])
        agg = m.groupby(KEY, as_index=False).agg(
            invocations=("invocations", "sum"),
            errors=("errors", "sum"),
            throttles=("throttles", "sum"),
            _dur_w=("_dur_w", "sum"),
            duration_p99_ms=("duration_p99_ms", "max"),
            duration_max_ms=("duration_max_ms", "max"),
            concurrency_max=("concurrency_max", "max"),
        )
        agg["duration_avg_ms"] = np.where(agg["invocations"] > 0, agg["_dur_w"] / agg["invocations"].where(agg["invocations"] > 0), np.nan)
        agg = agg.drop(columns="_dur_w")
    if range_stats is not None:
        if exact is None:  # every figure the statistics answer (a column nobody asked for is all NaN), the p99 always
            exact = [c for c in _RANGE_FIGURES if c == "duration_p99_ms" or (c in range_stats and range_stats[c].notna().any())]
        cols = [c for c in _RANGE_FIGURES if c in set(exact)]
        if cols:
            whole = range_stats[KEY + cols] if not range_stats.empty else pd.DataFrame(columns=[*KEY, *cols])
            whole = whole.astype({k: object for k in KEY})
            agg = agg.drop(columns=cols).astype({k: object for k in KEY})
            agg = agg.merge(whole, on=KEY, how="outer")
    if memory.empty:
        mem = pd.DataFrame(columns=KEY)
    else:
        # min_count=1: a function whose figures come from Lambda Insights has no REPORT counts → NaN, not 0
        g = memory.astype({"cold_starts": "float64"}).groupby(KEY)
        mem = pd.DataFrame(
            {
                "cold_starts": g["cold_starts"].sum(min_count=1),
                "max_memory_used_mb": g["used_mb_max"].max(),
                "billed_gb_seconds": g["gb_seconds"].sum(min_count=1),
            }
        ).reset_index()
    out = inv.merge(agg, on=KEY, how="left").merge(mem, on=KEY, how="left")
    for col in COUNTS:
        out[col] = pd.to_numeric(out.get(col), errors="coerce").fillna(0.0) if col in out else 0.0
    out["error_rate"] = error_rate(out["errors"], out["invocations"])
    used = pd.to_numeric(out.get("max_memory_used_mb"), errors="coerce") if "max_memory_used_mb" in out else np.nan
    out["memory_used_pct"] = 100.0 * used / out["memory_mb"].astype("float64")
    out = typed_frame(out, SCHEMA)
    for parts, columns in ((unread_metrics, _METRIC_COLUMNS), (unread_memory, _MEMORY_COLUMNS)):
        gone = _in_parts(out, parts)
        if gone.any():
            out.loc[gone, list(columns)] = np.nan
    return out.sort_values(["invocations", "function"], ascending=[False, True], na_position="last", ignore_index=True)


def usage(query: Query) -> sources.Loaded:
    """:func:`summarize` of the query's functions, with the statuses and warnings of every part it read."""
    out = summarize(
        query.functions,
        query.metrics.frame,
        query.memory.frame,
        query.range_stats.frame,
        unread_metrics=query.unread("metrics", "range_stats"),
        unread_memory=query.unread("memory"),
    )
    return query.loaded(out, "inventory", "metrics", "range_stats", "memory")


def trend(
    metrics: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    column: str = "invocations",
    points: int = TREND_POINTS,
    functions: pd.DataFrame | None = None,
    unread: Collection[tuple[str, str]] = (),
) -> dict[tuple[str, str, str], list[float] | None]:
    """Per function, ``column`` binned into at most ``points`` equal buckets over [start, end) (pure).

    Buckets are whole multiples of the data's period on one time axis for every function, starting at the
    data's period that holds ``start`` (CloudWatch lines periods up on the StartTime asked: a fleet view's
    series start at its window's start, :meth:`dashboard.query.load.Query.trend_range`). Counts (:data:`COUNTS`
    and other sums) are summed and a bucket without data is 0 (no datapoint = nothing counted); other columns
    take the bucket's maximum and stay NaN without data. A last bucket none of whose periods is over by ``end``
    (a period still in progress) with no datapoint is NaN: not happened yet is unknown, not 0, so a trend never
    ends in a false drop. ``functions`` adds the functions without data; a function of an ``unread`` (account, region) part has
    None: its trend is unknown.
    """
    keys: list[tuple[str, str, str]] = []
    if functions is not None and not functions.empty:
        keys = list(dict.fromkeys(functions[KEY].astype(str).itertuples(index=False, name=None)))
    gone = set(unread)
    out: dict[tuple[str, str, str], list[float] | None] = {}
    if metrics is None or metrics.empty:
        return {k: (None if k[:2] in gone else []) for k in keys}
    entry = REGISTRY.get(column)
    summed = entry is not None and entry.per_period  # a count per period (CloudWatch's Sum): buckets add up
    period_ns = int(pd.to_numeric(metrics["period_s"] if "period_s" in metrics else metrics["bin_s"]).max()) * 1_000_000_000
    ts = pd.DatetimeIndex(pd.to_datetime(metrics["timestamp"], utc=True)).as_unit("ns").asi8
    start_ns = int(pd.Timestamp(start).value)
    t0 = start_ns - (start_ns - int(ts.min())) % period_ns  # the data's period holding start
    t1 = int(pd.Timestamp(end).value)
    n_periods = max(1, -(-(t1 - t0) // period_ns))
    per = -(-n_periods // max(points, 1))
    n_buckets = -(-n_periods // per)
    bucket = (ts - t0) // (period_ns * per)
    vals = pd.to_numeric(metrics[column], errors="coerce").to_numpy(dtype="float64")
    names = pd.MultiIndex.from_frame(metrics[KEY].astype(str))
    index = pd.MultiIndex.from_tuples(list(dict.fromkeys([*keys, *names.unique()])), names=KEY)
    group = index.get_indexer(names)
    keep = (bucket >= 0) & (bucket < n_buckets) & ~np.isnan(vals)
    flat = group[keep] * n_buckets + bucket[keep]
    size = len(index) * n_buckets
    if summed:
        mat = np.bincount(flat, weights=vals[keep], minlength=size).reshape(len(index), n_buckets)
        if t0 + ((n_buckets - 1) * per + 1) * period_ns > t1:  # no period of the last bucket is over: empty is unknown
            seen = np.bincount(flat, minlength=size).reshape(len(index), n_buckets)
            mat[:, -1] = np.where(seen[:, -1] > 0, mat[:, -1], np.nan)
    else:
        mat = np.full(size, np.nan)
        np.fmax.at(mat, flat, vals[keep])
        mat = mat.reshape(len(index), n_buckets)
    for key, row in zip(index, mat, strict=True):
        out[key] = None if key[:2] in gone else row.tolist()
    return out
