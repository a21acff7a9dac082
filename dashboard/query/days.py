"""Answers about whole UTC days, kept by the day: a month-scale question re-reads only the days not yet settled.

The Costs page reads a month and the one before it by the day (the daily metrics the estimate sums, the REPORT
lines by the day, Cost Explorer's daily bill), and the recommendations 30 complete days. Their cache keys name
the range, so a new day was a new question, read whole again (35–60 days of every function), and Cost
Explorer's month was read whole at every TTL. Complete days do not change once settled, so each question's
settled days are kept here (per account × region and question, without the range) and a read asks AWS only for
the days it does not hold: ``[the first day not kept, end)`` — on a new day, yesterday (and today for Cost
Explorer); inside a day, nothing for the metrics, today's part for the bill. A range that starts inside the
kept days and ends inside them is answered without a request.

A day is settled when its data can no longer change: CloudWatch's after :data:`aws.cache.SETTLE_S` (late
datapoints), Cost Explorer's the day after (the bill of yesterday may still be filling). Kept days are read again
whole after ``max_age_s`` (Cost Explorer corrects bills after the fact). A partial answer (a part with warnings or
columns it could not read) is not kept. :func:`aws.cache.clear_all` forgets them too; the Refresh button does not
(it asks for new data, and settled days have none).
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from cachetools import LRUCache

from aws import cache

__all__ = ["whole_days", "read", "midnight", "day_column", "settled_metrics_before", "KEPT_MAX_AGE_S", "CE_MAX_AGE_S", "DAY_S"]

DAY = timedelta(days=1)
DAY_S = 86_400
KEPT_MAX_AGE_S = cache.SETTLED_TTL_S  # settled metrics and logs: read again whole after a week, as their answers
CE_MAX_AGE_S = 86_400.0  # Cost Explorer's kept days: read again whole once a day (bills are corrected after the fact)


@dataclass(frozen=True)
class _Kept:
    start: date
    end: date  # exclusive: every day of [start, end) is settled and in ``frame``
    frame: pd.DataFrame
    kept_at: float  # wall clock, when the oldest of its days was read


_lock = threading.Lock()
_KEPT: LRUCache = LRUCache(512)


def _forget() -> None:
    with _lock:
        _KEPT.clear()


cache.on_clear(_forget)


def whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """``(first day, end day)`` when ``[start, end)`` is whole UTC days (both at 00:00 UTC), else None."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    if s.time() != time() or e.time() != time() or e <= s:
        return None
    return s.date(), e.date()


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.combine(day, time(), UTC)


def settled_metrics_before(now: datetime) -> date:
    """The first day whose CloudWatch data (metrics, REPORT lines) may still change at ``now``."""
    return (now.astimezone(UTC) - timedelta(seconds=cache.SETTLE_S)).date()


def day_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """The UTC day (naive midnight) of each row's ``column`` (a timestamp, tz-aware or UTC-naive)."""
    ts = pd.to_datetime(frame[column], utc=True)
    return ts.dt.tz_localize(None).dt.floor("D")


def read(
    base: Hashable,
    start: date,
    end: date,
    *,
    fetch: Callable[[date, date], pd.DataFrame],
    day_of: Callable[[pd.DataFrame], pd.Series],
    settled_before: date,
    max_age_s: float = KEPT_MAX_AGE_S,
    order: list[str] | None = None,
    clock: Callable[[], float] = _time.time,
) -> pd.DataFrame:
    """The rows of days ``[start, end)`` of question ``base``: the kept days, and ``fetch(first day not kept, end)``.

    ``fetch`` answers a range of whole days; ``day_of`` gives each row's day; days before ``settled_before`` of a
    clean answer are kept for the next read (contiguous with those kept already). ``order``: the columns the answer
    is sorted by (kept days and new ones in one order, as one read would give them)."""
    now = clock()
    with _lock:
        kept = _KEPT.get(base)
    if kept is not None and (now - kept.kept_at > max_age_s or not kept.start <= start <= kept.end):
        kept = None
    lo = start if kept is None else max(start, kept.end)
    parts = []
    if kept is not None:
        d = day_of(kept.frame)
        parts.append(kept.frame[((d >= pd.Timestamp(start)) & (d < pd.Timestamp(min(end, kept.end)))).to_numpy()])
    if kept is None and lo >= end:  # an empty range: asked as before (the collector says what it makes of it)
        return fetch(start, end)
    fetched = fetch(lo, end) if lo < end else None
    if fetched is not None:
        parts.append(fetched)
        upto = min(end, settled_before)
        clean = not fetched.attrs.get("warnings") and not fetched.attrs.get("unknown_columns")
        if clean and upto > lo:
            d = day_of(fetched)
            new = fetched[((d >= pd.Timestamp(lo)) & (d < pd.Timestamp(upto))).to_numpy()]
            if kept is not None:
                keep = _Kept(kept.start, upto, pd.concat([kept.frame, new], ignore_index=True), kept.kept_at)
            else:
                keep = _Kept(lo, upto, new.reset_index(drop=True), now)
            with _lock:
                _KEPT[base] = keep
    if len(parts) == 1:
        out = parts[0].reset_index(drop=True) if fetched is None else parts[0]
    else:
        out = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        if order:
            out = out.sort_values(order, kind="mergesort", ignore_index=True)
    if fetched is not None:
        out.attrs.update(fetched.attrs)
    return out
