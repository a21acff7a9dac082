"""REPORT statistics through CloudWatch Logs Insights: one query per ≤ 50 log groups.

The query (:func:`build_query`) reads both log formats and aggregates per log group
and time bin on AWS's side, so only the statistics come back. :func:`report_stats`
plans the queries (≤ 50 groups each, groups × bins ≤ 10,000 result rows, the time
range split when one group alone has more bins), keeps at most ``max_concurrent``
running (AWS allows 30 per account, shared with everyone else using it), polls each
with backoff until it completes, and stops every query it started if anything fails.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from aws import errors, session
from aws.logs._common import (
    SOURCE_INSIGHTS,
    LogsInsightsUnavailable,
    QueryFailed,
    QueryTimeout,
    check_range,
    epoch_range_s,
    finish_frame,
    functions_by_group,
)
from aws.session import Account

__all__ = ["QUERY", "REPORT_FIGURES", "build_query", "report_stats", "plan_queries", "MAX_GROUPS_PER_QUERY", "MAX_RESULT_ROWS"]

log = logging.getLogger(__name__)

MAX_GROUPS_PER_QUERY = 50  # StartQuery accepts at most 50 log groups
MAX_RESULT_ROWS = 10_000  # the query's `limit`; one row per (group, bin)
POLL_FIRST_S = 0.25
POLL_MAX_S = 2.0

# Each figure's statistic, in the order of the query's stats stage. The counts are always asked (a bin without a
# REPORT line has no row; they are cheap); the other figures only where asked (``build_query(fields=...)``).
_STATS: dict[str, str] = {
    "reports": "count(*)",
    "cold_starts": "count(init_ms)",
    "init_ms_mean": "avg(init_ms)",
    "init_ms_p99": "pct(init_ms, 99)",
    "billed_ms_sum": "sum(billed_ms)",
    "gb_seconds": "sum(gb_s)",
    "used_mb_max": "max(used_mb)",
    "used_mb_mean": "avg(used_mb)",
    "memory_mb": "max(memory_mb)",
}
_INT_FIELDS = ("reports", "cold_starts")
_FLOAT_FIELDS = tuple(f for f in _STATS if f not in _INT_FIELDS)
REPORT_FIGURES = _FLOAT_FIELDS  # the figures a query may ask for or leave out (``build_query(fields=...)``)


def _template(fields: Iterable[str]) -> str:
    stats = ", ".join(f"{_STATS[f]} as {f}" for f in _STATS if f in _INT_FIELDS or f in fields)
    return (
        'filter @type = "REPORT" or type = "platform.report"\n'
        "| fields coalesce(@billedDuration, record.metrics.billedDurationMs) as billed_ms,"
        " coalesce(@memorySize / 1000 / 1000, record.metrics.memorySizeMB) as memory_mb,"
        " coalesce(@maxMemoryUsed / 1000 / 1000, record.metrics.maxMemoryUsedMB) as used_mb,"
        " coalesce(@initDuration, record.metrics.initDurationMs) as init_ms\n"
        "| fields billed_ms * memory_mb / 1024000 as gb_s\n"
        f"| stats {stats}"
        " by @log, bin({bin_s}s)\n"
        "| limit 10000"
    )


# The Logs Insights query; ``{bin_s}`` is the bin width in seconds.
# Text-format reports expose @billedDuration / @memorySize / @maxMemoryUsed (bytes) /
# @initDuration; JSON-format records expose record.metrics.* (MB, ms). GB-s are
# billed ms × MB / 1,024,000 (ms → s and MB → GB).
QUERY = _template(_FLOAT_FIELDS)

_FAILED = {"Failed", "Cancelled", "Timeout"}
_UNSUPPORTED_CODES = {
    "UnknownOperationException",
    "UnknownOperation",
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "UnrecognizedOperation",
}

# Patched in tests: the scheduler's clock and sleep.
_monotonic = time.monotonic
_sleep = time.sleep


def build_query(bin_s: int, fields: Iterable[str] | None = None) -> str:
    """The Logs Insights query string for bins of ``bin_s`` seconds, asking the counts and ``fields`` (of
    :data:`_FLOAT_FIELDS`; default every one). Logs Insights bills the bytes scanned, not the statistics: fewer
    figures cost nothing less, but each row is smaller and an order statistic not asked is not computed."""
    if isinstance(bin_s, bool) or not isinstance(bin_s, int) or bin_s <= 0:
        raise ValueError(f"bin_s must be a positive number of seconds, not {bin_s!r}")
    if fields is None:
        return QUERY.format(bin_s=bin_s)
    if isinstance(fields, str):
        raise TypeError("fields must be a collection of figure names, not one string")
    unknown = set(fields) - set(_FLOAT_FIELDS)
    if unknown:
        raise ValueError(f"unknown REPORT figures {sorted(unknown)}; known: {', '.join(_FLOAT_FIELDS)}")
    return _template(set(fields)).format(bin_s=bin_s)


@dataclass(frozen=True)
class QuerySpec:
    """One StartQuery: its log groups and inclusive epoch-second range."""

    groups: tuple[str, ...]
    start_s: int
    end_s: int


def plan_queries(*, groups: Iterable[str], start_s: int, end_s: int, bin_s: int) -> list[QuerySpec]:
    """Split (groups × [start_s, end_s]) into queries of ≤ 50 groups and ≤ 10,000 (group, bin) rows.

    The range is cut at bin boundaries into chunks of ≤ 10,000 bins (only needed when
    one group alone has more), then the groups are batched so that groups × bins of a
    chunk stays ≤ 10,000.
    """
    groups = list(groups)
    first_bin = start_s // bin_s
    n_bins = end_s // bin_s - first_bin + 1
    chunk_bins = min(n_bins, MAX_RESULT_ROWS)
    batch = max(1, min(MAX_GROUPS_PER_QUERY, MAX_RESULT_ROWS // chunk_bins))
    specs: list[QuerySpec] = []
    lo = start_s
    while lo <= end_s:
        boundary = (lo // bin_s + chunk_bins) * bin_s  # first second of the next chunk
        hi = min(end_s, boundary - 1)
        for i in range(0, len(groups), batch):
            specs.append(QuerySpec(tuple(groups[i : i + batch]), lo, hi))
        lo = boundary
    return specs


@dataclass
class _Running:
    spec: QuerySpec
    query_id: str
    started: float
    next_poll: float
    delay: float = POLL_FIRST_S
    seq: int = 0
    done: bool = False  # finished on AWS's side (nothing to stop)


@dataclass
class _Outcome:
    rows: list[dict[str, str]] = field(default_factory=list)
    bytes_scanned: float = 0.0
    queries: int = 0
    missing_groups: set[str] = field(default_factory=set)


class _Runner:
    """Starts, polls and collects queries; at most ``max_concurrent`` running at once."""

    def __init__(self, *, account: Account, region: str, query: str, max_concurrent: int, poll_timeout_s: float):
        self.account = account
        self.region = region
        self.client = session.client(account, "logs", region)
        self.query = query
        self.max_concurrent = max_concurrent
        self.poll_timeout_s = poll_timeout_s
        self.out = _Outcome()
        self._seq = 0

    def _error(self, e: ClientError | BotoCoreError, operation: str) -> errors.AwsError:
        return errors.translate(e, service="logs", operation=operation, account=self.account.name, region=self.region)

    def run(self, specs: list[QuerySpec]) -> _Outcome:
        pending: deque[QuerySpec] = deque(specs)
        running: list[_Running] = []
        blocked_since: float | None = None  # AWS refused to start a query while none of ours ran
        try:
            while pending or running:
                limit_hit = self._start_pending(pending, running)
                if not running:
                    if not pending:
                        break
                    now = _monotonic()
                    blocked_since = now if blocked_since is None else blocked_since
                    if limit_hit is not None and now - blocked_since > self.poll_timeout_s:
                        raise self._error(limit_hit, "StartQuery") from limit_hit
                    _sleep(POLL_MAX_S)
                    continue
                blocked_since = None
                r = min(running, key=lambda q: (q.next_poll, q.seq))
                wait = r.next_poll - _monotonic()
                if wait > 0:
                    _sleep(wait)
                if self._poll(r):
                    running.remove(r)
        except BaseException:
            self._stop_all(running)
            raise
        return self.out

    def _start_pending(self, pending: deque[QuerySpec], running: list[_Running]) -> ClientError | None:
        """Start queries until the concurrency limit; returns AWS's LimitExceeded refusal, if any."""
        while pending and len(running) < self.max_concurrent:
            spec = pending.popleft()
            try:
                resp = self.client.start_query(
                    logGroupNames=list(spec.groups),
                    startTime=spec.start_s,
                    endTime=spec.end_s,
                    queryString=self.query,
                )
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code == "ResourceNotFoundException":
                    pending.extendleft(reversed(self._without_missing(spec, e)))
                    continue
                if code == "LimitExceededException":
                    # The account's concurrent queries (ours and others') are at AWS's limit: run no
                    # more of ours at once than now, so the next one starts when one of ours finishes.
                    pending.appendleft(spec)
                    if running:
                        self.max_concurrent = len(running)
                    log.info("Logs Insights query limit reached with %d of ours running; waiting", len(running))
                    return e
                if _is_unsupported(e):
                    raise LogsInsightsUnavailable(
                        f"The CloudWatch Logs endpoint of {self.account.name}/{self.region} has no Logs Insights "
                        f"(StartQuery: {code or e}); reading REPORT lines with FilterLogEvents instead.",
                        service="logs",
                        operation="StartQuery",
                        account=self.account.name,
                        region=self.region,
                    ) from e
                raise self._error(e, "StartQuery") from e
            except BotoCoreError as e:
                raise self._error(e, "StartQuery") from e
            now = _monotonic()
            self._seq += 1
            self.out.queries += 1
            running.append(
                _Running(spec, resp["queryId"], now, now + POLL_FIRST_S, delay=2 * POLL_FIRST_S, seq=self._seq)
            )
        return None

    def _without_missing(self, spec: QuerySpec, e: ClientError) -> list[QuerySpec]:
        """The query re-planned without the log groups that do not exist (named in the error, or bisected)."""
        message = str(e.response.get("Error", {}).get("Message", ""))
        named = {g for g in spec.groups if _names(message, g)}
        if not named and len(spec.groups) == 1:
            named = set(spec.groups)
        if named:
            self.out.missing_groups |= named
            log.debug("log groups not found, skipped: %s", sorted(named))
            rest = tuple(g for g in spec.groups if g not in named)
            return [QuerySpec(rest, spec.start_s, spec.end_s)] if rest else []
        half = len(spec.groups) // 2
        return [
            QuerySpec(spec.groups[:half], spec.start_s, spec.end_s),
            QuerySpec(spec.groups[half:], spec.start_s, spec.end_s),
        ]

    def _poll(self, r: _Running) -> bool:
        """One GetQueryResults; True when the query is done and its rows collected."""
        resp = self._get_results(r.query_id)
        status = resp.get("status", "Unknown")
        if status == "Complete":
            r.done = True
            self.out.bytes_scanned += float(resp.get("statistics", {}).get("bytesScanned", 0.0))
            self._collect(resp)
            token = resp.get("nextToken")
            while token:
                page = self._get_results(r.query_id, nextToken=token)
                self._collect(page)
                token = page.get("nextToken")
            return True
        if status in _FAILED:
            r.done = True
            raise QueryFailed(
                f"The Logs Insights query over {len(r.spec.groups)} log groups in {self.account.name}/{self.region} "
                f"ended {status}; narrow the time range or retry.",
                service="logs",
                operation="GetQueryResults",
                account=self.account.name,
                region=self.region,
            )
        now = _monotonic()
        if now - r.started > self.poll_timeout_s:
            raise QueryTimeout(
                f"The Logs Insights query in {self.account.name}/{self.region} did not complete within "
                f"{self.poll_timeout_s:g} s and was stopped; narrow the time range or raise the poll timeout.",
                service="logs",
                operation="GetQueryResults",
                account=self.account.name,
                region=self.region,
            )
        r.next_poll = now + r.delay
        r.delay = min(r.delay * 2, POLL_MAX_S)
        return False

    def _collect(self, resp: Mapping[str, Any]) -> None:
        rows = [_row(fields) for fields in resp.get("results", ())]
        if any("reports" not in row for row in rows):
            # Emulators (moto) run the query but ignore stats and return raw events.
            raise LogsInsightsUnavailable(
                f"The CloudWatch Logs endpoint of {self.account.name}/{self.region} ignored the Logs Insights "
                f"stats (rows without a 'reports' field); reading REPORT lines with FilterLogEvents instead.",
                service="logs",
                operation="GetQueryResults",
                account=self.account.name,
                region=self.region,
            )
        self.out.rows.extend(rows)

    def _get_results(self, query_id: str, **extra: Any) -> dict[str, Any]:
        try:
            return self.client.get_query_results(queryId=query_id, **extra)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, "GetQueryResults") from e

    def _stop_all(self, running: list[_Running]) -> None:
        """Best effort: stop the queries still running so they free their slots and stop scanning."""
        for r in running:
            if r.done:
                continue
            try:
                self.client.stop_query(queryId=r.query_id)
            except (ClientError, BotoCoreError) as e:
                log.warning("could not stop Logs Insights query %s: %s", r.query_id, e)


def _is_unsupported(e: ClientError) -> bool:
    """StartQuery refused because the endpoint does not implement it (emulators)."""
    err = e.response.get("Error", {})
    code = str(err.get("Code", ""))
    message = str(err.get("Message", "")).lower()
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in _UNSUPPORTED_CODES or status == 501 or "not implemented" in message or "unknown operation" in message


def _names(message: str, group: str) -> bool:
    """Whether an error message names this log group (as a whole name, not part of a longer one)."""
    return re.search(rf"(?<![\w./#-]){re.escape(group)}(?![\w./#-])", message) is not None


def _row(fields: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {f["field"]: f["value"] for f in fields if "field" in f and "value" in f}


def _number(value: str | None) -> float:
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except ValueError:
        return math.nan


def _numbers(values: list[str | None]) -> np.ndarray:
    """:func:`_number` of each value, as one float64 array: parsed in one call, value by value only when one of
    them is not a number (then that one is NaN, as :func:`_number` makes it)."""
    try:
        return np.array(values, dtype=np.float64)  # None is NaN
    except (TypeError, ValueError):  # an empty or unreadable value
        return np.array([_number(v) for v in values], dtype=np.float64)


def _counts(values: list[str | None]) -> np.ndarray:
    """Counts as int64: a value that is not a finite number is 0, the others truncated."""
    v = _numbers(values)
    return np.trunc(np.where(np.isfinite(v), v, 0.0)).astype(np.int64)


def _to_frame(
    raw: list[dict[str, str]], *, by_group: Mapping[str, list[str]], account: Account, region: str, bin_s: int
) -> pd.DataFrame | list:
    """The rows as one frame, one row per function of each row's log group (a group several functions log to gives
    each of them the row). A row of another log group or without its bin is skipped with a warning. Column by
    column: at 1,000 functions the recommendations read ~720,000 hourly rows, which a dict a row took ~40 s to
    convert."""
    kept: list[dict[str, str]] = []
    groups: list[str] = []
    bins: list[str] = []
    bin_key: str | None = None  # every row of a query names its bin the same: bin(3600s)
    for row in raw:
        log_field = row.get("@log", "")
        group = log_field if log_field in by_group else log_field.rpartition(":")[2]
        bin_value = row.get(bin_key) if bin_key is not None else None
        if bin_value is None:
            bin_key = next((k for k in row if k.startswith("bin(")), None)
            bin_value = row.get(bin_key) if bin_key is not None else None
        if group not in by_group or bin_value is None:
            log.warning("unexpected Logs Insights row skipped: %r", row)
            continue
        kept.append(row)
        groups.append(group)
        bins.append(bin_value)
    if not kept:
        return []
    functions = [by_group[g] for g in groups]
    take = np.repeat(np.arange(len(kept)), [len(f) for f in functions])
    columns: dict[str, Any] = {
        "account": account.name,
        "region": region,
        "function": [name for names in functions for name in names],
        "timestamp": np.array(bins, dtype=object)[take],
        "bin_s": bin_s,
    }
    for k in _INT_FIELDS:
        columns[k] = _counts([row.get(k) for row in kept])[take]
    for k in _FLOAT_FIELDS:
        columns[k] = _numbers([row.get(k) for row in kept])[take]
    columns["source"] = SOURCE_INSIGHTS
    return pd.DataFrame(columns)


def report_stats(
    *,
    account: Account,
    region: str,
    log_groups: Mapping[str, str],
    start: datetime,
    end: datetime,
    bin_s: int | None = None,
    fields: Iterable[str] | None = None,
    max_concurrent: int = 10,
    poll_timeout_s: float = 300,
) -> pd.DataFrame:
    """REPORT statistics per function and time bin of [start, end), through Logs Insights.

    ``log_groups`` maps function name → log group (``default_log_group(name)`` unless
    the function sets its own). A log group that does not exist gives that function no
    rows. ``bin_s`` defaults to :func:`choose_bin`. ``fields``: only these figures besides the counts
    (:func:`build_query`; the others are NaN). Raises :class:`QueryFailed` when a
    query ends Failed/Cancelled/Timeout, :class:`QueryTimeout` (an
    ``EndpointUnreachable``) when one runs past ``poll_timeout_s`` (it is stopped),
    :class:`LogsInsightsUnavailable` when the endpoint has no Logs Insights, and the
    :mod:`aws.errors` types otherwise.

    ``attrs``: ``source`` ("logs_insights"), ``bin_s``, ``bytes_scanned`` (sum over the
    queries; the API meter counts it too), ``queries`` (StartQuery calls that ran),
    ``missing_log_groups``.
    """
    bin_s = check_range(start, end, bin_s)
    if max_concurrent < 1:
        raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent!r}")
    by_group = functions_by_group(log_groups)
    outcome = _Outcome()
    if by_group:
        start_s, end_s = epoch_range_s(start, end)
        specs = plan_queries(groups=by_group, start_s=start_s, end_s=end_s, bin_s=bin_s)
        runner = _Runner(
            account=account,
            region=region,
            query=build_query(bin_s, fields),
            max_concurrent=max_concurrent,
            poll_timeout_s=poll_timeout_s,
        )
        outcome = runner.run(specs)
    rows = _to_frame(outcome.rows, by_group=by_group, account=account, region=region, bin_s=bin_s)
    frame = finish_frame(rows, source=SOURCE_INSIGHTS, bin_s=bin_s)
    frame.attrs["bytes_scanned"] = outcome.bytes_scanned
    frame.attrs["queries"] = outcome.queries
    frame.attrs["missing_log_groups"] = sorted(outcome.missing_groups)
    return frame
