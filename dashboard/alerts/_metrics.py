"""Alert metrics: how each one is derived per period from the metrics and memory frames.

Every alert metric is one value per rule period per function; NaN means "missing
datapoint" (CloudWatch had none), which the rule's missing-data treatment handles. Which
metrics there are, the frame each is read from, whether the guard applies and how periods
combine are the metric registry's (``Metric.alert`` in :mod:`dashboard.figures.metrics`);
:func:`derive` computes them as tabulated here.

=============================  ========================================================  =========
metric                         value per period                                          guard on
=============================  ========================================================  =========
error_rate                     100 × Σerrors / Σinvocations (%); errors missing with     invocations
                               invocations present count as 0
errors                         Σerrors
throttles                      Σthrottles
throttle_rate                  100 × Σthrottles / (Σinvocations + Σthrottles) (%):        invocations
                               throttled requests are not invocations                    + throttles
duration_p99_ms                p99 duration                                              invocations
duration_p99_timeout_share     100 × p99 / (timeout_s × 1000) (%)                        invocations
memory_utilization             100 × max memory used / memory size (%), memory frame
cold_start_rate                100 × Σcold starts / ΣREPORT lines (%), memory frame       reports
no_invocations                 Σinvocations, missing → 0 (no datapoint = no invocation)
iterator_age_ms                IteratorAge maximum
async_event_age_ms             AsyncEventAge maximum
concurrency                    ConcurrentExecutions maximum
concurrency_account_share      100 × ConcurrentExecutions max / account limit (%)
=============================  ========================================================  =========

A rate with a zero (or missing) denominator is missing. The *minimum-invocations guard*
(``min_invocations``) makes a period whose count in the last column is below it MISSING
for the rule (so a 1-of-2 error rate of 50 % is not an alarm); it applies to the metrics
with a "guard on" entry and is ignored, with a note, elsewhere. ``cold_start_rate`` needs
REPORT-line counts, so it is missing for functions whose memory figures come from Lambda
Insights (``reports`` is <NA> there).

Periods: the rule's ``period_s`` may be coarser than the data's. Sub-periods are then
combined: counts are summed, rates are recomputed from the summed counts, and the other
metrics by the rule's ``statistic``: ``Minimum`` → minimum, ``Average`` →
invocation-weighted mean (REPORT-weighted for memory; plain mean without weights),
``Maximum`` → maximum, and percentiles ``pNN`` → the maximum of the sub-period values
(conservative: never below the true percentile of the whole period). ``Sum`` on such a
metric is treated as ``Maximum`` (with a note). Rule periods end where the data ends;
only whole rule periods inside the data range are evaluated. A rule period finer than
the data's is evaluated at the data's period, and the note says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from dashboard.config.settings import AlertRule
from dashboard.figures.metrics import REGISTRY, Alerting

__all__ = ["METRICS", "COLUMNS", "GUARDED", "Grid", "Source", "derive", "series_for", "DEFAULT_ACCOUNT_LIMIT"]

DEFAULT_ACCOUNT_LIMIT = 1000  # Lambda's default concurrent-executions quota per account and region

# The alert metrics and what the engine needs of each, from the metric registry (one definition per metric).
_ALERTING: dict[str, Alerting] = {k: m.alert for k, m in REGISTRY.items() if m.alert is not None}
METRICS: dict[str, str] = {k: a.frame for k, a in _ALERTING.items()}  # metric → the source frame it is read from
GUARDED: frozenset[str] = frozenset(k for k, a in _ALERTING.items() if a.guarded)
# alert metric of the metrics frame → the columns (aws.metrics.LAMBDA_SCHEMA) :func:`derive` reads for it, so a
# rule's data is asked for those alone; invocations always (guards, weights, REPORT counts for memory rules)
COLUMNS: dict[str, tuple[str, ...]] = {
    "error_rate": ("invocations", "errors"),
    "errors": ("invocations", "errors"),
    "throttles": ("invocations", "throttles"),
    "throttle_rate": ("invocations", "throttles"),
    "no_invocations": ("invocations",),
    "duration_p99_ms": ("invocations", "duration_p99_ms"),
    "duration_p99_timeout_share": ("invocations", "duration_p99_ms"),
    "iterator_age_ms": ("invocations", "iterator_age_max_ms"),
    "async_event_age_ms": ("invocations", "async_event_age_max_ms"),
    "concurrency": ("invocations", "concurrency_max"),
    "concurrency_account_share": ("invocations", "concurrency_max"),
}
KEY = ["account", "region", "function"]
_NS = 1_000_000_000


@dataclass(frozen=True)
class Grid:
    """Regular periods: ``start`` (UTC, ns since epoch) of each, ``period_s`` long."""

    starts: np.ndarray  # int64 ns
    period_s: int

    @property
    def index(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(self.starts, utc=True))


@dataclass
class Source:
    """One source frame laid out as (function × period) matrices on its own regular grid.

    Rows follow ``keys`` (account, region, function tuples, the inventory's order);
    rows of the frame for other functions are dropped. Matrices are built on demand.
    """

    frame: pd.DataFrame
    period_col: str
    keys: pd.MultiIndex
    start: datetime | None = None
    now: datetime | None = None
    period: int | None = None  # the frame's period when it may be empty: the periods [start, now) still exist
    grid: Grid | None = field(init=False, default=None)
    _rows: np.ndarray = field(init=False, repr=False)
    _cols: np.ndarray = field(init=False, repr=False)
    _keep: np.ndarray = field(init=False, repr=False)
    _cache: dict[str, np.ndarray] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        f = self.frame
        rows = np.empty(0, dtype=np.int64)
        cols = np.empty(0, dtype=np.int64)
        self._keep = np.zeros(0, dtype=bool)
        if (f is None or not len(f)) and self.period and self.start is not None and self.now is not None and len(self.keys):
            first, end = _floor(_to_ns(self.start), self.period), _floor(_to_ns(self.now), self.period)
            if end > first:  # no datapoint at all: every period is missing (a "breaching" rule still decides)
                self.grid = Grid(first + np.arange((end - first) // (self.period * _NS), dtype=np.int64) * self.period * _NS, self.period)
        elif f is not None and len(f) and len(self.keys):
            rows = self.keys.get_indexer(pd.MultiIndex.from_frame(f[KEY].astype(object)))
            keep = rows >= 0
            period = int(pd.to_numeric(f[self.period_col]).max())
            ts = _ns(f["timestamp"])
            first = _floor(_to_ns(self.start), period) if self.start is not None else int(ts.min()) // (period * _NS) * period * _NS
            end = _floor(_to_ns(self.now), period) if self.now is not None else int(ts.max()) + period * _NS
            if end > first:
                n = (end - first) // (period * _NS)
                self.grid = Grid(first + np.arange(n, dtype=np.int64) * period * _NS, period)
                c = (ts - first) // (period * _NS)
                keep &= (c >= 0) & (c < n)
                cols = c[keep]
            else:
                keep &= False
            self._keep = keep
            rows = rows[keep]
        self._rows, self._cols = rows, cols

    @property
    def period_s(self) -> int | None:
        return None if self.grid is None else self.grid.period_s

    def matrix(self, column: str) -> np.ndarray:
        """(functions × periods) float64 of ``column``, NaN where the frame has no value."""
        if column not in self._cache:
            width = 0 if self.grid is None else len(self.grid.starts)
            out = np.full((len(self.keys), width), np.nan)
            if self._rows.size:
                vals = pd.to_numeric(self.frame[column], errors="coerce").astype("float64").to_numpy()[self._keep]
                out[self._rows, self._cols] = vals
            self._cache[column] = out
        return self._cache[column]


def _to_ns(t: datetime) -> int:
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        raise ValueError(f"{t!r} must be timezone-aware (UTC)")
    return int(ts.tz_convert("UTC").value)


def _floor(ns: int, period_s: int) -> int:
    return ns // (period_s * _NS) * period_s * _NS


def _ns(col: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(col, utc=True)).as_unit("ns").asi8


@dataclass(frozen=True)
class _Buckets:
    """How source periods fold into rule periods: reduceat offsets and the result grid."""

    keep: slice
    offsets: np.ndarray | None  # None: identity (same period)
    grid: Grid


def _buckets(src: Grid, period_s: int) -> _Buckets:
    """Rule periods of ``period_s`` ending where ``src`` ends, whole ones only."""
    if period_s <= src.period_s or len(src.starts) == 0:
        return _Buckets(slice(None), None, src)
    end = int(src.starts[-1]) + src.period_s * _NS
    step = period_s * _NS
    count = (end - int(src.starts[0])) // step
    first = end - count * step
    starts = first + np.arange(count, dtype=np.int64) * step
    lo = int(np.searchsorted(src.starts, first, side="left"))
    bucket = (src.starts[lo:] - first) // step
    offsets = np.searchsorted(bucket, np.arange(count), side="left")
    return _Buckets(slice(lo, None), offsets, Grid(starts, period_s))


def _sum(mat: np.ndarray, bk: _Buckets) -> np.ndarray:
    mat = mat[:, bk.keep]
    if bk.offsets is None:
        return mat
    if bk.offsets.size == 0:
        return np.empty((mat.shape[0], 0))
    real = ~np.isnan(mat)
    total = np.add.reduceat(np.where(real, mat, 0.0), bk.offsets, axis=1)
    count = np.add.reduceat(real, bk.offsets, axis=1)
    return np.where(count > 0, total, np.nan)


def _gauge(mat: np.ndarray, bk: _Buckets, how: str, weights: np.ndarray | None) -> np.ndarray:
    mat = mat[:, bk.keep]
    if bk.offsets is None:
        return mat
    if bk.offsets.size == 0:
        return np.empty((mat.shape[0], 0))
    if how == "min":
        return np.fmin.reduceat(mat, bk.offsets, axis=1)
    if how == "max":
        return np.fmax.reduceat(mat, bk.offsets, axis=1)
    real = ~np.isnan(mat)
    count = np.add.reduceat(real, bk.offsets, axis=1)
    plain_sum = np.add.reduceat(np.where(real, mat, 0.0), bk.offsets, axis=1)
    w = np.zeros_like(mat) if weights is None else np.where(real, np.nan_to_num(weights[:, bk.keep], nan=0.0), 0.0)
    wsum = np.add.reduceat(w, bk.offsets, axis=1)
    wval = np.add.reduceat(np.where(real, mat * w, 0.0), bk.offsets, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(wsum > 0, wval / wsum, plain_sum / count)
    return np.where(count > 0, out, np.nan)


def _gauge_how(rule: AlertRule, notes: list[str]) -> str:
    if rule.statistic == "Minimum":
        return "min"
    if rule.statistic == "Average":
        return "mean"
    if rule.statistic == "Sum":
        notes.append(f"statistic Sum does not apply to {rule.metric}; Maximum used")
    return "max"


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * num / den, np.nan)


@dataclass(frozen=True)
class Derived:
    """A derived metric: values (functions × periods), their grid, and notes for the result."""

    values: np.ndarray
    grid: Grid | None
    notes: tuple[str, ...] = ()


def derive(
    rule: AlertRule,
    *,
    metrics: Source,
    memory: Source,
    timeout_s: np.ndarray,
    memory_mb: np.ndarray,
    account_limit: np.ndarray,
) -> Derived:
    """The rule's metric for every function (the sources' rows) at the rule's period."""
    src = metrics if METRICS[rule.metric] == "metrics" else memory
    rows = len(src.keys)
    notes: list[str] = []
    if rule.min_invocations and rule.metric not in GUARDED:
        notes.append(f"min_invocations does not apply to {rule.metric}")
    if src.grid is None:
        what = "memory/cold-start" if src is memory else "metric"
        notes.append(f"no {what} data in the range")
        return Derived(np.empty((rows, 0)), None, tuple(notes))
    if rule.period_s < src.grid.period_s:
        notes.append(f"the data's period is {src.grid.period_s} s, coarser than the rule's {rule.period_s} s: evaluated per {src.grid.period_s} s")
    elif rule.period_s % src.grid.period_s:
        notes.append(f"the rule's period ({rule.period_s} s) is not a multiple of the data's ({src.grid.period_s} s): each data period counts in the rule period holding its start")
    bk = _buckets(src.grid, rule.period_s)
    if len(bk.grid.starts) == 0:
        notes.append(f"the range is shorter than one {rule.period_s} s period")
        return Derived(np.empty((rows, 0)), None, tuple(notes))
    if _ALERTING[rule.metric].combine != "statistic":  # counts and rates: summed, rates recomputed from the sums
        how = "sum"
    else:
        how = _gauge_how(rule, notes)
    m = rule.metric
    guard: np.ndarray | None = None
    if src is metrics:
        inv = _sum(metrics.matrix("invocations"), bk)
        weights = metrics.matrix("invocations")
        if m == "error_rate":
            err = np.where(inv > 0, np.nan_to_num(_sum(metrics.matrix("errors"), bk), nan=0.0), np.nan)
            values, guard = _ratio(err, inv), inv
        elif m == "errors":
            values = _sum(metrics.matrix("errors"), bk)
        elif m == "throttles":
            values = _sum(metrics.matrix("throttles"), bk)
        elif m == "throttle_rate":
            thr = np.nan_to_num(_sum(metrics.matrix("throttles"), bk), nan=0.0)
            req = np.nan_to_num(inv, nan=0.0) + thr
            values, guard = _ratio(thr, req), req
        elif m == "no_invocations":
            values = np.nan_to_num(inv, nan=0.0)
        elif m in ("duration_p99_ms", "duration_p99_timeout_share"):
            p99 = _gauge(metrics.matrix("duration_p99_ms"), bk, how, weights)
            if m == "duration_p99_ms":
                values = p99
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    values = 100.0 * p99 / (timeout_s.astype("float64")[:, None] * 1000.0)
            guard = inv
        elif m == "iterator_age_ms":
            values = _gauge(metrics.matrix("iterator_age_max_ms"), bk, how, weights)
        elif m == "async_event_age_ms":
            values = _gauge(metrics.matrix("async_event_age_max_ms"), bk, how, weights)
        elif m in ("concurrency", "concurrency_account_share"):
            conc = _gauge(metrics.matrix("concurrency_max"), bk, how, weights)
            if m == "concurrency":
                values = conc
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    values = 100.0 * conc / account_limit.astype("float64")[:, None]
        else:  # pragma: no cover - METRICS and this chain list the same names
            raise ValueError(f"unknown alert metric {m!r}")
    else:
        reports = memory.matrix("reports")
        if m == "memory_utilization":
            size = memory.matrix("memory_mb")
            size = np.where(np.isnan(size) | (size <= 0), memory_mb.astype("float64")[:, None], size)
            with np.errstate(invalid="ignore", divide="ignore"):
                util = 100.0 * memory.matrix("used_mb_max") / size
            values = _gauge(util, bk, how, reports)
        elif m == "cold_start_rate":
            rep = _sum(reports, bk)
            cold = np.where(rep > 0, np.nan_to_num(_sum(memory.matrix("cold_starts"), bk), nan=0.0), np.nan)
            values, guard = _ratio(cold, rep), rep
        else:  # pragma: no cover
            raise ValueError(f"unknown alert metric {m!r}")
    if rule.min_invocations and guard is not None:
        values = np.where(np.nan_to_num(guard, nan=0.0) >= rule.min_invocations, values, np.nan)
    return Derived(np.asarray(values, dtype=np.float64), bk.grid, tuple(notes))


def _limits(keys: pd.MultiIndex, account_limit: int | Mapping[tuple[str, str], int]) -> np.ndarray:
    if isinstance(account_limit, Mapping):
        return np.array(
            [account_limit.get((a, r), DEFAULT_ACCOUNT_LIMIT) for a, r, _ in keys], dtype=np.float64
        )
    return np.full(len(keys), float(account_limit))


def series_for(
    rule: AlertRule,
    *,
    function_row: Mapping | pd.Series,
    metrics: pd.DataFrame,
    memory: pd.DataFrame | None,
    account_limit: int | Mapping[tuple[str, str], int] = DEFAULT_ACCOUNT_LIMIT,
    start: datetime | None = None,
    now: datetime | None = None,
    period_s: int | None = None,
) -> pd.Series:
    """The rule's metric for one function: period start (UTC) → value, NaN = missing.

    ``period_s``: the period of ``metrics`` (read at the rule's own period), so that a function without a
    datapoint still has its periods (missing) from ``start`` to ``now``.

    ``function_row`` is an inventory row (account, region, function, timeout_s,
    memory_mb). The result covers the data's range (``start`` / ``now`` widen or cut
    it, see :func:`~dashboard.alerts.evaluate_all`); ``attrs["period_s"]`` is the period
    actually used and ``attrs["note"]`` says why it differs from the rule's, if it does.
    """
    key = (str(function_row["account"]), str(function_row["region"]), str(function_row["function"]))
    keys = pd.MultiIndex.from_tuples([key], names=KEY)
    d = derive(
        rule,
        # the whole frames: Source drops other functions' rows but keeps their time grid, so a
        # function with no datapoint at all still gets its periods (missing), as in evaluate_all
        metrics=Source(metrics, "period_s", keys, start, now, period_s),
        memory=Source(memory, "bin_s", keys, start, now),
        timeout_s=np.array([function_row.get("timeout_s", np.nan)], dtype="float64"),
        memory_mb=np.array([function_row.get("memory_mb", np.nan)], dtype="float64"),
        account_limit=_limits(keys, account_limit),
    )
    if d.grid is None:
        out = pd.Series([], dtype="float64", index=pd.DatetimeIndex([], tz="UTC"), name=rule.metric)
        out.attrs.update(period_s=rule.period_s, note="; ".join(d.notes))
        return out
    out = pd.Series(d.values[0], index=d.grid.index, name=rule.metric, dtype="float64")
    out.attrs.update(period_s=d.grid.period_s, note="; ".join(d.notes))
    return out
