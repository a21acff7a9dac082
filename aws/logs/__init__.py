"""CloudWatch Logs: the REPORT lines of Lambda functions, as memory and cold-start figures.

- :func:`parse_report` reads one REPORT line, text or JSON log format (SnapStart
  restore fields, status and error type included), or returns None for anything else;
- :func:`report_stats` aggregates REPORT lines per function and time bin through Logs
  Insights (``QUERY`` / :func:`build_query`), ≤ 50 log groups a query, bytes scanned
  recorded;
- :func:`report_stats_from_events` gives the same frame from FilterLogEvents and
  :func:`parse_report`, for endpoints without Logs Insights;
- :func:`memory_and_cold_starts` picks the path (Logs Insights, else FilterLogEvents).

Frames have the columns of :data:`SCHEMA`, one row per function and bin that had reports.
"""

from __future__ import annotations

from aws.logs._collect import memory_and_cold_starts
from aws.logs._common import (
    SCHEMA,
    SOURCE_EVENTS,
    SOURCE_INSIGHTS,
    LogsInsightsUnavailable,
    QueryFailed,
    QueryTimeout,
    choose_bin,
    default_log_group,
)
from aws.logs._events import FILTER_PATTERN, aggregate_reports, iter_reports, report_stats_from_events
from aws.logs._insights import (
    MAX_GROUPS_PER_QUERY,
    MAX_RESULT_ROWS,
    QUERY,
    REPORT_FIGURES,
    QuerySpec,
    build_query,
    plan_queries,
    report_stats,
)
from aws.logs._report import REPORT_KEYS, parse_report

__all__ = [
    "parse_report",
    "REPORT_KEYS",
    "QUERY",
    "REPORT_FIGURES",
    "build_query",
    "plan_queries",
    "QuerySpec",
    "MAX_GROUPS_PER_QUERY",
    "MAX_RESULT_ROWS",
    "FILTER_PATTERN",
    "report_stats",
    "report_stats_from_events",
    "iter_reports",
    "aggregate_reports",
    "memory_and_cold_starts",
    "choose_bin",
    "default_log_group",
    "SCHEMA",
    "SOURCE_INSIGHTS",
    "SOURCE_EVENTS",
    "LogsInsightsUnavailable",
    "QueryFailed",
    "QueryTimeout",
]
