"""What we ask CloudWatch for: metric specs, frame schemas and the query type.

Each column of the metrics frames comes from one (namespace, metric name, statistic)
of CloudWatch; :class:`Query` is one metric query for one function, as sent in
GetMetricData's ``MetricDataQueries`` (or, the naive way, GetMetricStatistics).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws.frames import UTC_TS

__all__ = [
    "LAMBDA_NS",
    "INSIGHTS_NS",
    "ColumnSpec",
    "CORE_SPECS",
    "OPTIONAL_SPECS",
    "INSIGHTS_SPECS",
    "OPTIONAL_METRICS",
    "LAMBDA_SCHEMA",
    "INSIGHTS_SCHEMA",
    "DISCOVERY_SCHEMA",
    "Query",
]

LAMBDA_NS = "AWS/Lambda"
INSIGHTS_NS = "LambdaInsights"
FUNCTION_DIM = "FunctionName"
INSIGHTS_DIM = "function_name"
RESOURCE_DIM = "Resource"


@dataclass(frozen=True)
class ColumnSpec:
    """One frame column: the CloudWatch metric and statistic it holds."""

    column: str
    metric: str
    stat: str  # Sum, Average, Maximum, or a percentile pNN


CORE_SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("invocations", "Invocations", "Sum"),
    ColumnSpec("errors", "Errors", "Sum"),
    ColumnSpec("throttles", "Throttles", "Sum"),
    ColumnSpec("duration_avg_ms", "Duration", "Average"),
    ColumnSpec("duration_p50_ms", "Duration", "p50"),
    ColumnSpec("duration_p90_ms", "Duration", "p90"),
    ColumnSpec("duration_p99_ms", "Duration", "p99"),
    ColumnSpec("duration_max_ms", "Duration", "Maximum"),
    ColumnSpec("concurrency_max", "ConcurrentExecutions", "Maximum"),
)

# Published only for some functions (stream consumers, async-invoked, provisioned concurrency).
OPTIONAL_SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("iterator_age_max_ms", "IteratorAge", "Maximum"),
    ColumnSpec("async_event_age_max_ms", "AsyncEventAge", "Maximum"),
    ColumnSpec("pc_utilization_max", "ProvisionedConcurrencyUtilization", "Maximum"),
)
OPTIONAL_METRICS: tuple[str, ...] = tuple(s.metric for s in OPTIONAL_SPECS)

INSIGHTS_SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("used_memory_max_mb", "used_memory_max", "Maximum"),
    ColumnSpec("memory_utilization_max_pct", "memory_utilization", "Maximum"),
    ColumnSpec("total_memory_mb", "total_memory", "Maximum"),
    ColumnSpec("init_duration_max_ms", "init_duration", "Maximum"),
    ColumnSpec("init_duration_count", "init_duration", "SampleCount"),  # one sample per cold start
    ColumnSpec("init_duration_avg_ms", "init_duration", "Average"),
    ColumnSpec("cpu_total_time_sum_ms", "cpu_total_time", "Sum"),
)

_KEYS = {"account": "string", "region": "string", "function": "string", "timestamp": UTC_TS, "period_s": "int64"}

LAMBDA_SCHEMA: dict[str, str] = {**_KEYS, **{s.column: "float64" for s in CORE_SPECS + OPTIONAL_SPECS}}
INSIGHTS_SCHEMA: dict[str, str] = {**_KEYS, **{s.column: "float64" for s in INSIGHTS_SPECS}}
DISCOVERY_SCHEMA: dict[str, str] = {"function": "string", "metric": "string"}

Dimensions = tuple[tuple[str, str], ...]

BASIC_STATS = frozenset({"Sum", "Average", "Maximum", "Minimum", "SampleCount"})  # every other Stat is extended


@dataclass(frozen=True)
class Query:
    """One metric series of one function, and the frame column its values go to."""

    function: str
    column: str
    namespace: str
    metric: str
    dimensions: Dimensions
    stat: str

    @property
    def extended(self) -> bool:
        """Whether the statistic is a percentile-type one (p99, tm90, ...): the kind an endpoint may refuse."""
        return self.stat not in BASIC_STATS

    def metric_data_query(self, query_id: str, period: int) -> dict:
        """This query as one entry of GetMetricData's ``MetricDataQueries``."""
        return {
            "Id": query_id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": period,
                "Stat": self.stat,
            },
            "ReturnData": True,
        }
