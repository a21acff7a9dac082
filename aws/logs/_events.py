"""REPORT statistics through FilterLogEvents, for endpoints without Logs Insights.

Each log group is read with the FilterLogEvents paginator, filtered server-side to
lines that may be reports of either format (:data:`FILTER_PATTERN`), every line is
parsed with :func:`aws.logs.parse_report`, and pandas aggregates per function and
bin to the same schema as the Logs Insights path, so both give the same numbers
(the p99 here is exact: linear interpolation between the two nearest reports).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from aws import errors, session
from aws.concurrency import run_concurrently
from aws.logs._common import SOURCE_EVENTS, check_range, epoch_range_ms, finish_frame, functions_by_group
from aws.logs._report import parse_report
from aws.session import Account

__all__ = ["FILTER_PATTERN", "report_stats_from_events", "iter_reports", "aggregate_reports"]

log = logging.getLogger(__name__)

# Text reports contain the term REPORT; JSON records the quoted phrase "platform.report"
# (a bare REPORT never matches them). `?a ?b` matches events with either.
FILTER_PATTERN = '?REPORT ?"platform.report"'

# Per report: event time (epoch ms), billed ms, memory MB, max memory used MB, init ms.
_REPORT_COLUMNS = ["ts_ms", "billed_ms", "memory_mb", "used_mb", "init_ms"]


def iter_reports(
    *, account: Account, region: str, log_group: str, start_ms: int, end_ms: int
) -> Iterator[tuple[int, dict]]:
    """(event epoch ms, parsed report) for every REPORT line of one log group in [start_ms, end_ms].

    A log group that does not exist yields nothing.
    """
    client = session.client(account, "logs", region)
    pages = client.get_paginator("filter_log_events").paginate(
        logGroupName=log_group, startTime=start_ms, endTime=end_ms, filterPattern=FILTER_PATTERN
    )
    try:
        for page in pages:
            for event in page.get("events", ()):
                report = parse_report(event.get("message", ""))
                if report is not None and "timestamp" in event:
                    yield int(event["timestamp"]), report
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            log.debug("log group %s not found in %s/%s", log_group, account.name, region)
            return
        raise errors.translate(
            e, service="logs", operation="FilterLogEvents", account=account.name, region=region
        ) from e
    except BotoCoreError as e:
        raise errors.translate(
            e, service="logs", operation="FilterLogEvents", account=account.name, region=region
        ) from e


def _read_group(account: Account, region: str, log_group: str, start_ms: int, end_ms: int) -> list[tuple]:
    return [
        (
            ts_ms,
            r["billed_duration_ms"],
            r["memory_size_mb"],
            r["max_memory_used_mb"],
            r["init_duration_ms"],
        )
        for ts_ms, r in iter_reports(
            account=account, region=region, log_group=log_group, start_ms=start_ms, end_ms=end_ms
        )
    ]


def aggregate_reports(reports: pd.DataFrame, *, bin_s: int) -> pd.DataFrame:
    """Per (function, bin) statistics of reports (columns ``function`` + ts_ms, billed_ms, memory_mb, used_mb, init_ms).

    The statistics of the Logs Insights query, computed exactly: reports, cold starts
    (reports with an init duration), init mean / p99, billed ms, GB-s (billed ms × MB /
    1,024,000), max / mean memory used, configured memory (max).
    """
    df = reports.assign(
        bin_start=(reports["ts_ms"].astype("int64") // (bin_s * 1000)) * bin_s,
        gb_s=reports["billed_ms"] * reports["memory_mb"] / 1_024_000,
    )
    g = df.groupby(["function", "bin_start"], sort=True)
    out = g.agg(
        reports=("ts_ms", "size"),
        cold_starts=("init_ms", "count"),
        init_ms_mean=("init_ms", "mean"),
        billed_ms_sum=("billed_ms", "sum"),
        gb_seconds=("gb_s", "sum"),
        used_mb_max=("used_mb", "max"),
        used_mb_mean=("used_mb", "mean"),
        memory_mb=("memory_mb", "max"),
    )
    out["init_ms_p99"] = g["init_ms"].quantile(0.99)
    out = out.reset_index()
    out["timestamp"] = pd.to_datetime(out["bin_start"], unit="s", utc=True)
    out["bin_s"] = np.int64(bin_s)
    return out.drop(columns=["bin_start"])


def report_stats_from_events(
    *,
    account: Account,
    region: str,
    log_groups: Mapping[str, str],
    start: datetime,
    end: datetime,
    bin_s: int | None = None,
    max_workers: int = 4,
) -> pd.DataFrame:
    """REPORT statistics per function and bin of [start, end), read with FilterLogEvents.

    Same schema and arguments as :func:`aws.logs.report_stats`; log groups are read
    ``max_workers`` at a time. A missing log group gives that function no rows.
    ``attrs``: ``source`` ("filter_log_events"), ``bin_s``, ``reports_read``.
    """
    bin_s = check_range(start, end, bin_s)
    by_group = functions_by_group(log_groups)
    start_ms, end_ms = epoch_range_ms(start, end)
    parts: list[pd.DataFrame] = []
    groups = list(by_group)
    read = run_concurrently(
        lambda group: _read_group(account, region, group, start_ms, end_ms), groups, max_workers=max_workers, name="logs"
    )
    for group, rows in zip(groups, read, strict=True):
        if not rows:
            continue
        part = pd.DataFrame(rows, columns=_REPORT_COLUMNS).astype({"ts_ms": "int64", **{c: "float64" for c in _REPORT_COLUMNS[1:]}})
        for function in by_group[group]:
            parts.append(part.assign(function=function))
    n_read = sum(len(p) for p in parts)
    if parts:
        stats = aggregate_reports(pd.concat(parts, ignore_index=True), bin_s=bin_s)
        stats = stats.assign(account=account.name, region=region, source=SOURCE_EVENTS)
    else:
        stats = pd.DataFrame()
    frame = finish_frame(stats, source=SOURCE_EVENTS, bin_s=bin_s)
    frame.attrs["reports_read"] = n_read
    return frame
