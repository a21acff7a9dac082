"""Time ranges, periods and call planning for CloudWatch metric requests.

Holds the AWS limits (:data:`MAX_QUERIES`, :data:`MAX_DATAPOINTS`,
:data:`MAX_STATISTICS_POINTS`), the choice of a period for a range
(:func:`choose_period`), the alignment of a range to a period (:func:`align`),
and the packing of metric queries into GetMetricData calls (:func:`plan_calls`,
:func:`lower_bound_calls`). Pure functions: no AWS call here.
"""

from __future__ import annotations

import math
import numbers
from datetime import UTC, datetime, timedelta

__all__ = [
    "MAX_QUERIES",
    "MAX_DATAPOINTS",
    "MAX_STATISTICS_POINTS",
    "PERIODS",
    "MAX_POINTS_PER_SERIES",
    "choose_period",
    "align",
    "recent_window",
    "points_per_query",
    "plan_calls",
    "lower_bound_calls",
    "FLEET_POINTS",
    "CHART_POINTS",
    "retention_unit",
    "fleet_window",
    "chart_period",
]

MAX_QUERIES = 500  # GetMetricData: metric queries per call
MAX_DATAPOINTS = 100_800  # GetMetricData: datapoints per call (MaxDatapoints default and maximum)
MAX_STATISTICS_POINTS = 1_440  # GetMetricStatistics: datapoints per call

# The periods we choose from, finest first (all multiples of 60 s: we never use high resolution).
PERIODS: tuple[int, ...] = (60, 300, 900, 1800, 3600, 21600, 86400)

# "About 1,440 points a series": a day of minutes, stretched to a week of 5-minute points (2,016)
# so that 7 d keeps 5-minute resolution. 100,800 is a multiple of both.
MAX_POINTS_PER_SERIES = 2_016

# CloudWatch's retention: (oldest age of the data, finest period still held at that age).
_RETENTION: tuple[tuple[timedelta, int], ...] = (
    (timedelta(days=15), 60),
    (timedelta(days=63), 300),
    (timedelta(days=455), 3600),
)

# Fleet views (Overview, Functions list, Teams, digests) read a trend of about this many points a
# function; a function's page reads its own charts at about CHART_POINTS at most.
FLEET_POINTS = 60
CHART_POINTS = 500

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def utc(value: datetime, name: str = "time") -> datetime:
    """``value`` as a UTC ``datetime``; a naive datetime is refused (times are tz-aware UTC)."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got the naive {value!r}")
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    return value.astimezone(UTC)


def _check_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    start, end = utc(start, "start"), utc(end, "end")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    return start, end


def check_period(period: int) -> int:
    """``period`` if it is one CloudWatch accepts for standard-resolution metrics (a multiple of 60 s)."""
    if isinstance(period, bool) or not isinstance(period, numbers.Integral) or period <= 0 or period % 60:
        raise ValueError(f"period must be a positive multiple of 60 seconds, got {period!r}")
    return int(period)


def choose_period(*, start: datetime, end: datetime, now: datetime | None = None) -> int:
    """The finest period CloudWatch still holds for ``start`` that keeps a series short enough.

    Two rules, the coarser wins:

    1. retention: the age of ``start`` (relative to ``now``, default the current time) sets the
       finest period CloudWatch still has — up to 15 days old: 60 s (CloudWatch keeps < 60 s
       data for 3 h only, and we never ask for high resolution); up to 63 days: 300 s; older:
       3600 s (held 455 days; older data is gone, we still answer 3600);
    2. size: a series has at most :data:`MAX_POINTS_PER_SERIES` (2,016) points over
       ``end - start`` — "about 1,440", stretched so that a week keeps 5-minute points.

    The period is the first of :data:`PERIODS` (60, 300, 900, 1800, 3600, 21600, 86400) that is a
    multiple of the retention period and satisfies the size rule. For the dashboard's presets
    the points per query divide 100,800, so the GetMetricData lower bound is reachable:

    ============  ======  ================  ==============================
    range         period  points per query  queries per call (≤ 500)
    ============  ======  ================  ==============================
    1 h           60      60                500 (100,800 / 60 = 1,680)
    3 h           60      180               500 (100,800 / 180 = 560)
    12 h          60      720               140
    24 h          60      1,440             70
    3 d           300     864               116 (not a divisor)
    7 d           300     2,016             50
    14 d          900     1,344             75
    30 d          1800    1,440             70
    90 d          21600   360               280 (3600 s would be 2,160)
    ============  ======  ================  ==============================

    (Points per query count the range after :func:`align`; a range whose ends are not multiples
    of the period gains one point, see :func:`recent_window`.)
    """
    start, end = _check_range(start, end)
    now = datetime.now(UTC) if now is None else utc(now, "now")
    age = max(now - start, timedelta(0))
    floor = next((p for limit, p in _RETENTION if age <= limit), _RETENTION[-1][1])
    span_s = (end - start).total_seconds()
    for period in PERIODS:
        if period >= floor and period % floor == 0 and math.ceil(span_s / period) <= MAX_POINTS_PER_SERIES:
            return period
    return PERIODS[-1]


def _epoch_us(value: datetime) -> int:
    return (value - _EPOCH) // _US


def align(*, start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """``(start, end)`` with ``start`` floored and ``end`` ceiled to a multiple of ``period`` since the epoch."""
    start, end = _check_range(start, end)
    step = check_period(period) * 1_000_000
    lo = _epoch_us(start) // step * step
    hi = -(-_epoch_us(end) // step) * step
    return _EPOCH + lo * _US, _EPOCH + hi * _US


def points_per_query(*, start: datetime, end: datetime, period: int) -> int:
    """How many datapoints one query can return over the aligned range (what counts against 100,800)."""
    lo, hi = align(start=start, end=end, period=period)
    return int((hi - lo).total_seconds()) // period


def recent_window(*, span: timedelta, now: datetime | None = None) -> tuple[datetime, datetime, int]:
    """``(start, end, period)`` for "the last ``span``": ``end`` is ``now`` ceiled to the period.

    Unlike ``start=now - span, end=now`` (which :func:`align` widens by one period when ``now``
    is not on a period boundary), the range holds exactly ``span / period`` points when ``span``
    is a multiple of the period — so the presets keep points per query that divide 100,800.
    """
    if span <= timedelta(0):
        raise ValueError(f"span must be positive, got {span}")
    now = datetime.now(UTC) if now is None else utc(now, "now")
    period = choose_period(start=now - span, end=now, now=now)
    _, end = align(start=now - span, end=now, period=period)
    return end - span, end, period


def lower_bound_calls(n_queries: int, points_per_query: int) -> int:
    """The fewest GetMetricData calls any client needs: ``max(⌈q / 500⌉, ⌈q·p / 100,800⌉)``."""
    if n_queries <= 0:
        return 0
    return max(-(-n_queries // MAX_QUERIES), -(-n_queries * points_per_query // MAX_DATAPOINTS))


def plan_calls(n_queries: int, points_per_query: int) -> list[int]:
    """The batch size of each GetMetricData call for ``n_queries`` queries of ``points_per_query`` points.

    Every call holds at most 500 queries and at most 100,800 datapoints (queries × points).
    A query is never split between calls (a call has one time range for all its queries), so a
    call holds ``k = min(500, 100,800 // points)`` queries and there are ``⌈q / k⌉`` calls, the
    sizes balanced (they differ by at most one, larger first). That equals
    :func:`lower_bound_calls` whenever the 500 cap binds or ``points`` divides 100,800 (every
    preset of :func:`choose_period`); otherwise it is the fewest calls possible without splitting
    a query's range, which can be one or a few calls above the bound for large ``q``.
    """
    if n_queries < 0:
        raise ValueError(f"n_queries must be ≥ 0, got {n_queries}")
    if points_per_query < 1:
        raise ValueError(f"points_per_query must be ≥ 1, got {points_per_query}")
    if points_per_query > MAX_DATAPOINTS:
        raise ValueError(
            f"one query of {points_per_query} points exceeds GetMetricData's {MAX_DATAPOINTS} datapoints; "
            f"use a coarser period"
        )
    if n_queries == 0:
        return []
    per_call = min(MAX_QUERIES, MAX_DATAPOINTS // points_per_query)
    n_calls = -(-n_queries // per_call)
    base, extra = divmod(n_queries, n_calls)
    return [base + 1] * extra + [base] * (n_calls - extra)


def retention_unit(*, start: datetime, now: datetime | None = None) -> int:
    """The finest period CloudWatch still holds at the age of ``start`` (60 s, 300 s or 3600 s).

    It is also how CloudWatch rounds a StartTime down at that age (to the minute, to 5 minutes, to the
    hour), and what every period asked for data of that age must be a multiple of.
    """
    start = utc(start, "start")
    now = datetime.now(UTC) if now is None else utc(now, "now")
    age = max(now - start, timedelta(0))
    return next((p for limit, p in _RETENTION if age <= limit), _RETENTION[-1][1])


def fleet_window(
    *, start: datetime, end: datetime, now: datetime | None = None, points: int = FLEET_POINTS
) -> tuple[datetime, datetime, int]:
    """``(start, end, period)`` of a fleet view's series: about ``points`` periods ending at ``end``.

    The period is the smallest multiple of :func:`retention_unit` that covers ``end - start`` in at most
    ``points`` periods (24 h: 1,440 s, 60 points; 7 d: 10,080 s). ``end`` is floored to that unit (CloudWatch
    rounds StartTime the same way) and ``start`` is ``end`` minus a whole number of periods, reaching back
    before the asked start by less than one period when the span is not a multiple of it. CloudWatch lines
    its periods up on StartTime, so the last period ends at ``end``: a period still in progress is never
    asked (no false drop at the end of a trend). Not :func:`align`-ed to the epoch: pass ``anchored=True``
    to the collectors.
    """
    start, end = _check_range(start, end)
    if points < 1:
        raise ValueError(f"points must be ≥ 1, got {points}")
    unit = retention_unit(start=start, now=now)
    step = unit * 1_000_000
    hi = _EPOCH + (_epoch_us(end) // step * step) * _US
    if hi <= start:
        hi = _EPOCH + (-(-_epoch_us(end) // step) * step) * _US
    span_s = max((hi - start).total_seconds(), unit)
    period = max(unit, math.ceil(span_s / points / unit) * unit)
    n = max(1, math.ceil(span_s / period))
    return hi - timedelta(seconds=n * period), hi, period


def chart_period(*, start: datetime, end: datetime, now: datetime | None = None, points: int = CHART_POINTS) -> int:
    """The period of a function page's charts: the first of :data:`PERIODS` CloudWatch holds at the age of
    ``start`` that draws ``end - start`` in at most ``points`` points (24 h: 300 s, 288 points; 1 h: 60 s)."""
    start, end = _check_range(start, end)
    floor = retention_unit(start=start, now=now)
    span_s = (end - start).total_seconds()
    for period in PERIODS:
        if period >= floor and period % floor == 0 and math.ceil(span_s / period) <= points:
            return period
    return PERIODS[-1]
