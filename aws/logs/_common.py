"""What both REPORT collectors share: the frame schema, the bin choice, time ranges, errors.

Both paths (Logs Insights and FilterLogEvents) return one row per function and time
bin with the columns of :data:`SCHEMA`, bins aligned to multiples of ``bin_s``
seconds since the epoch (as Logs Insights' ``bin()`` does).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

import pandas as pd

from aws import errors
from aws.frames import UTC_TS, typed_frame

__all__ = [
    "SCHEMA",
    "SOURCE_INSIGHTS",
    "SOURCE_EVENTS",
    "choose_bin",
    "default_log_group",
    "LogsInsightsUnavailable",
    "QueryFailed",
    "QueryTimeout",
]

SOURCE_INSIGHTS = "logs_insights"
SOURCE_EVENTS = "filter_log_events"

SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "timestamp": UTC_TS,  # bin start
    "bin_s": "int64",
    "reports": "int64",
    "cold_starts": "int64",  # reports with an Init Duration
    "init_ms_mean": "float64",
    "init_ms_p99": "float64",
    "billed_ms_sum": "float64",
    "gb_seconds": "float64",  # sum of billed ms × memory MB / 1,024,000
    "used_mb_max": "float64",
    "used_mb_mean": "float64",
    "memory_mb": "float64",  # configured memory (max over the bin)
    "source": "string",  # "logs_insights" | "filter_log_events"
}
METRIC_COLUMNS = [c for c in SCHEMA if c not in ("account", "region", "function", "timestamp", "bin_s", "source")]

# Range → bin, so a chart has tens to hundreds of points and a query stays small:
# ≤ 6 h → 1 min (≤ 360 bins); ≤ 2 d → 5 min (≤ 576); ≤ 31 d → 1 h (≤ 744); longer → 1 day.
_BIN_STEPS = ((timedelta(hours=6), 60), (timedelta(days=2), 300), (timedelta(days=31), 3600))


class LogsInsightsUnavailable(errors.InvalidRequest):
    """The endpoint has no (working) Logs Insights: StartQuery is unknown, or stats are ignored."""


class QueryFailed(errors.AwsError):
    """A Logs Insights query ended Failed, Cancelled or Timeout on AWS's side."""


class QueryTimeout(errors.EndpointUnreachable):
    """A Logs Insights query was still running after ``poll_timeout_s``; it was stopped."""


def default_log_group(function_name: str) -> str:
    """The log group Lambda writes to unless the function sets a custom one."""
    return f"/aws/lambda/{function_name}"


def choose_bin(*, start: datetime, end: datetime) -> int:
    """The bin width in seconds for a time range (see ``_BIN_STEPS``)."""
    span = end - start
    for limit, bin_s in _BIN_STEPS:
        if span <= limit:
            return bin_s
    return 86400


def check_range(start: datetime, end: datetime, bin_s: int | None) -> int:
    """Validate the range (tz-aware, start < end) and return the bin to use."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC) datetimes")
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    if bin_s is None:
        return choose_bin(start=start, end=end)
    if isinstance(bin_s, bool) or not isinstance(bin_s, int) or bin_s <= 0:
        raise ValueError(f"bin_s must be a positive number of seconds, not {bin_s!r}")
    return bin_s


def epoch_range_s(start: datetime, end: datetime) -> tuple[int, int]:
    """[start, end) as the inclusive epoch seconds StartQuery takes."""
    return math.floor(start.timestamp()), max(math.floor(start.timestamp()), math.ceil(end.timestamp()) - 1)


def epoch_range_ms(start: datetime, end: datetime) -> tuple[int, int]:
    """[start, end) as the inclusive epoch milliseconds FilterLogEvents takes."""
    lo = math.floor(start.timestamp() * 1000)
    return lo, max(lo, math.ceil(end.timestamp() * 1000) - 1)


def functions_by_group(log_groups: Mapping[str, str]) -> dict[str, list[str]]:
    """Log group → the functions writing to it (usually one), in the mapping's order."""
    out: dict[str, list[str]] = {}
    for function, group in log_groups.items():
        out.setdefault(group, []).append(function)
    return out


def finish_frame(rows: list[dict] | pd.DataFrame, *, source: str, bin_s: int) -> pd.DataFrame:
    """The typed frame, sorted by function and bin, with ``attrs["source"]`` and ``attrs["bin_s"]``."""
    frame = typed_frame(rows, SCHEMA)
    if len(frame):
        frame = frame.sort_values(["function", "timestamp"], kind="stable", ignore_index=True)
    frame.attrs["source"] = source
    frame.attrs["bin_s"] = bin_s
    return frame
