"""CloudWatch metrics of Lambda functions: AWS/Lambda and Lambda Insights, as wide frames.

Public API (keyword-only; ``account`` is an :class:`aws.session.Account`, times are
timezone-aware UTC ``datetime``):

- periods and planning: :func:`choose_period` (the finest a range allows), :func:`fleet_window` (a fleet
  view's ~60-point trend), :func:`chart_period` (a function page's charts), :func:`align`, :func:`recent_window`,
  :func:`points_per_query`, :func:`plan_calls`, :func:`lower_bound_calls`;
- discovery (ListMetrics): :func:`discover_optional`, :func:`insights_functions`;
- frames (GetMetricData, ≤ 500 queries and ≤ 100,800 datapoints a call, NextToken followed,
  calls of one account × region issued concurrently): :func:`lambda_metrics`,
  :func:`insights_metrics`;
- the benchmark's naive baseline (one GetMetricStatistics per function and metric):
  :func:`naive_lambda_metrics`, :func:`naive_calls`;
- whole-range Duration percentiles (one datapoint per function): :func:`range_statistics`.

Schemas: :data:`LAMBDA_SCHEMA`, :data:`INSIGHTS_SCHEMA`, :data:`DISCOVERY_SCHEMA`.
botocore failures are raised as :mod:`aws.errors` types; an endpoint that refuses the Duration
percentiles still gives the counts, the percentile columns NaN and named in
``frame.attrs["unknown_columns"]`` and ``frame.attrs["warnings"]`` (see ``aws.metrics._fetch``).
"""

from __future__ import annotations

from aws.metrics._collect import (
    discover_optional,
    insights_functions,
    insights_metrics,
    insights_queries,
    lambda_metrics,
    lambda_queries,
)
from aws.metrics._naive import naive_calls, naive_lambda_metrics
from aws.metrics._range import RANGE_COLUMNS, RANGE_SCHEMA, range_period, range_statistics
from aws.metrics._specs import (
    CORE_SPECS,
    DISCOVERY_SCHEMA,
    INSIGHTS_SCHEMA,
    INSIGHTS_SPECS,
    LAMBDA_SCHEMA,
    OPTIONAL_METRICS,
    OPTIONAL_SPECS,
)
from aws.metrics._time import (
    CHART_POINTS,
    FLEET_POINTS,
    MAX_DATAPOINTS,
    MAX_POINTS_PER_SERIES,
    MAX_QUERIES,
    MAX_STATISTICS_POINTS,
    PERIODS,
    align,
    chart_period,
    choose_period,
    fleet_window,
    lower_bound_calls,
    plan_calls,
    points_per_query,
    recent_window,
    retention_unit,
)

__all__ = [
    "choose_period",
    "fleet_window",
    "chart_period",
    "retention_unit",
    "FLEET_POINTS",
    "CHART_POINTS",
    "align",
    "recent_window",
    "points_per_query",
    "plan_calls",
    "lower_bound_calls",
    "discover_optional",
    "insights_functions",
    "lambda_metrics",
    "insights_metrics",
    "lambda_queries",
    "insights_queries",
    "naive_lambda_metrics",
    "naive_calls",
    "range_statistics",
    "RANGE_COLUMNS",
    "range_period",
    "RANGE_SCHEMA",
    "LAMBDA_SCHEMA",
    "INSIGHTS_SCHEMA",
    "DISCOVERY_SCHEMA",
    "CORE_SPECS",
    "OPTIONAL_SPECS",
    "OPTIONAL_METRICS",
    "INSIGHTS_SPECS",
    "MAX_QUERIES",
    "MAX_DATAPOINTS",
    "MAX_STATISTICS_POINTS",
    "MAX_POINTS_PER_SERIES",
    "PERIODS",
]
