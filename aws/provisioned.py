"""What AWS records about provisioned concurrency and SnapStart versions over time.

Provisioned concurrency (PC) is billed from the time it is enabled until it is disabled, so the
question is where it was enabled, and at what level, during a range. The evidence, cheapest first:

1. :func:`configs` — ``lambda:ListProvisionedConcurrencyConfigs`` per function (free): the level of
   every alias/version now and ``LastModified``, the last time it was set. A level unchanged since
   before the range is known for the whole range; a config removed leaves nothing here.
2. :func:`scaling_activities` — ``application-autoscaling:DescribeScalingActivities`` for namespace
   ``lambda`` (free, one paged call per region for every function): every change Application Auto
   Scaling made ("Setting desired concurrency to N."), scheduled or target tracking, to the second,
   kept six weeks. Scheduled actions (DescribeScheduledActions) say what should happen; the
   activities say what did, so they are the record read.
3. :func:`pc_metrics` — CloudWatch's ProvisionedConcurrentExecutions (Maximum),
   ProvisionedConcurrencyUtilization (Maximum), ProvisionedConcurrencyInvocations and
   ProvisionedConcurrencySpilloverInvocations (Sum), hourly (GetMetricData, $0.01 per 1,000
   metrics: four per function with PC evidence): in an hour with invocations on PC, the level is
   executions ÷ utilisation; they show PC set and removed by hand (no config, no scaling activity
   left), and they split invocations between PC and on-demand spillover.

CloudTrail (PutProvisionedConcurrencyConfig events) would also record manual changes, but LookupEvents
allows two calls a second per account and region and needs another permission; the three above suffice
for the bill wherever PC served traffic. :mod:`dashboard.figures.provisioned` turns these frames into
the enabled environment-seconds per function and day, saying which parts are recorded, read from
metrics, or assumed constant.

:func:`snapstart_versions` — ``lambda:ListVersionsByFunction``: the published versions of a SnapStart
function and when each was published (SnapStart's cache is billed while a version is active).

:func:`streamed` — response streaming: ``cloudwatch:ListMetrics`` for StreamedOutgoingBytes (one free paged
call per region names every function that streamed in the last two weeks, the metrics ListMetrics keeps), then
its Sum and Invocations' per day (GetMetricData, two metrics per streaming function). A sum only bounds the
bytes beyond 6 MB a response (:func:`dashboard.figures.pricing.streamed_beyond_bounds`). For a range that starts
before those two weeks, a function that streamed then and not since is not listed: given the inventory's
functions, the ones not listed are probed with one StreamedOutgoingBytes Sum each over the range (GetMetricData,
500 a call: at 1,000 functions two calls and $0.01, where one GetFunctionUrlConfig each would be 1,000 calls at
Lambda's 15 control-plane requests a second and would miss InvokeWithResponseStream), and those that streamed
are read in full. Streaming is charged only from StreamedOutgoingBytes, so only where it happened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

import pandas as pd

from aws import errors
from aws.frames import UTC_TS, typed_frame
from aws.metrics import _fetch
from aws.metrics._specs import Query
from aws.session import Account, client

__all__ = [
    "CONFIG_SCHEMA",
    "ACTIVITY_SCHEMA",
    "PC_METRICS_SCHEMA",
    "VERSION_SCHEMA",
    "STREAMED_SCHEMA",
    "PC_DIMENSION",
    "configs",
    "scaling_activities",
    "pc_metrics",
    "snapstart_versions",
    "streaming_functions",
    "streamed",
    "LIST_METRICS_WINDOW",
]

PC_DIMENSION = "lambda:function:ProvisionedConcurrency"
LIST_METRICS_WINDOW = timedelta(days=14)  # ListMetrics names only metrics with data points this recent

CONFIG_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "qualifier": "string",  # alias or version
    "allocated": "Int64",
    "requested": "Int64",
    "status": "string",  # IN_PROGRESS | READY | FAILED
    "last_modified": UTC_TS,
}

ACTIVITY_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "qualifier": "string",
    "time": UTC_TS,  # StartTime: when the change was made
    "level": "Int64",  # the desired concurrency it set; <NA> if the description does not say
    "status": "string",  # Successful | Failed | ...
    "cause": "string",
}

PC_METRICS_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "timestamp": UTC_TS,
    "period_s": "int64",
    "pc_executions_max": "float64",
    "pc_utilization_max": "float64",
    "pc_invocations": "float64",
    "pc_spillover": "float64",
}

VERSION_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "version": "string",
    "published": UTC_TS,
    "memory_mb": "int64",
    "runtime": "string",
    "snapstart_on": "boolean",  # SnapStart OptimizationStatus On
}

STREAMED_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "timestamp": UTC_TS,
    "period_s": "int64",
    "streamed_bytes": "float64",  # StreamedOutgoingBytes (Sum)
    "invocations": "float64",  # Invocations (Sum): the responses
}

_LEVEL = re.compile(r"desired concurrency to (\d+)", re.IGNORECASE)


def configs(*, account: Account, region: str, functions: Iterable[str]) -> pd.DataFrame:
    """Every provisioned-concurrency config of ``functions`` now (all pages, one call per function)."""
    c = client(account, "lambda", region)
    rows = []
    for fn in functions:
        try:
            for page in c.get_paginator("list_provisioned_concurrency_configs").paginate(FunctionName=fn):
                for x in page.get("ProvisionedConcurrencyConfigs", ()):
                    rows.append(
                        {
                            "account": account.name,
                            "region": region,
                            "function": fn,
                            "qualifier": str(x.get("FunctionArn", "")).rsplit(":", 1)[-1],
                            "allocated": x.get("AllocatedProvisionedConcurrentExecutions"),
                            "requested": x.get("RequestedProvisionedConcurrentExecutions"),
                            "status": x.get("Status"),
                            "last_modified": pd.to_datetime(x.get("LastModified"), utc=True, format="ISO8601"),
                        }
                    )
        except Exception as e:
            err = errors.translate(
                e, service="lambda", operation="ListProvisionedConcurrencyConfigs", account=account.name, region=region
            )
            if isinstance(err, errors.InvalidRequest) and "ResourceNotFound" in str(err):
                continue  # deleted since the inventory was read
            raise err from e
    return typed_frame(rows, CONFIG_SCHEMA)


def _activities(account: Account, region: str) -> Iterator[dict]:
    c = client(account, "application-autoscaling", region)
    try:
        pages = c.get_paginator("describe_scaling_activities").paginate(
            ServiceNamespace="lambda", ScalableDimension=PC_DIMENSION, PaginationConfig={"PageSize": 50}
        )
        for page in pages:
            yield from page.get("ScalingActivities", ())
    except Exception as e:
        raise errors.translate(
            e, service="application-autoscaling", operation="DescribeScalingActivities", account=account.name, region=region
        ) from e


def scaling_activities(*, account: Account, region: str) -> pd.DataFrame:
    """Application Auto Scaling's changes of Lambda provisioned concurrency in the region (AWS keeps six weeks)."""
    rows = []
    for a in _activities(account, region):
        parts = str(a.get("ResourceId", "")).split(":")  # function:<name>:<qualifier>
        if len(parts) != 3 or parts[0] != "function":
            continue
        m = _LEVEL.search(str(a.get("Description", "")))
        rows.append(
            {
                "account": account.name,
                "region": region,
                "function": parts[1],
                "qualifier": parts[2],
                "time": a.get("StartTime") or a.get("EndTime"),
                "level": int(m.group(1)) if m else None,
                "status": a.get("StatusCode"),
                "cause": a.get("Cause") or "",
            }
        )
    return typed_frame(rows, ACTIVITY_SCHEMA).sort_values(["function", "time"], ignore_index=True)


_PC_QUERIES = (
    ("pc_executions_max", "ProvisionedConcurrentExecutions", "Maximum"),
    ("pc_utilization_max", "ProvisionedConcurrencyUtilization", "Maximum"),
    ("pc_invocations", "ProvisionedConcurrencyInvocations", "Sum"),
    ("pc_spillover", "ProvisionedConcurrencySpilloverInvocations", "Sum"),
)


def pc_metrics(
    *, account: Account, region: str, functions: Iterable[str], start: datetime, end: datetime, period: int = 3600
) -> pd.DataFrame:
    """The four provisioned-concurrency metrics of ``functions`` per ``period`` (GetMetricData, all pages,
    ≤ 500 queries a call)."""
    rows = _metric_rows(account, region, functions, start, end, period, _PC_QUERIES)
    return typed_frame(rows, PC_METRICS_SCHEMA).sort_values(["function", "timestamp"], ignore_index=True)


def streaming_functions(*, account: Account, region: str) -> list[str]:
    """The functions that published StreamedOutgoingBytes in the last two weeks (ListMetrics, all pages)."""
    names = {
        d["Value"]
        for m in _fetch.list_metrics(account=account, region=region, namespace="AWS/Lambda", metric_name="StreamedOutgoingBytes")
        for d in m.get("Dimensions", ())
        if d.get("Name") == "FunctionName"
    }
    return sorted(names)


def streamed(
    *,
    account: Account,
    region: str,
    start: datetime,
    end: datetime,
    period: int = 86400,
    functions: Iterable[str] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Bytes streamed and invocations per ``period`` of every function that streams (see the module docstring):
    those ListMetrics names and, when ``functions`` (the inventory's) are given and the range starts more than
    two weeks before ``now``, those of them whose StreamedOutgoingBytes over the range is above 0."""
    names = streaming_functions(account=account, region=region)
    if functions is not None and start < (now or datetime.now(start.tzinfo)) - LIST_METRICS_WINDOW:
        listed = set(names)
        unlisted = [f for f in dict.fromkeys(functions) if f not in listed]
        probe = _metric_rows(account, region, unlisted, start, end, period, (("streamed_bytes", "StreamedOutgoingBytes", "Sum"),))
        names = sorted({*names, *(r["function"] for r in probe if (r.get("streamed_bytes") or 0) > 0)})
    queries = (("streamed_bytes", "StreamedOutgoingBytes", "Sum"), ("invocations", "Invocations", "Sum"))
    rows = _metric_rows(account, region, names, start, end, period, queries) if names else []
    return typed_frame(rows, STREAMED_SCHEMA).sort_values(["function", "timestamp"], ignore_index=True)


def _metric_rows(account, region, functions, start, end, period, specs) -> list[dict]:
    """One row per function and timestamp with a column per spec ``(column, metric, stat)``: the collectors' own
    GetMetricData (:func:`aws.metrics._fetch.get_metric_data`: the fewest calls the API's limits allow)."""
    names = list(dict.fromkeys(functions))
    queries = [
        Query(fn, col, "AWS/Lambda", metric, (("FunctionName", fn),), stat) for fn in names for col, metric, stat in specs
    ]
    points = max(1, math.ceil((end - start).total_seconds() / period))
    results = _fetch.get_metric_data(
        account=account, region=region, queries=queries, start=start, end=end, period=period, points=points
    )
    values: dict[tuple[str, pd.Timestamp], dict] = {}
    for q, series in zip(queries, results, strict=True):
        for t, v in zip(series.ts_ns, series.values, strict=True):
            values.setdefault((q.function, pd.Timestamp(t, tz="UTC")), {})[q.column] = v
    return [
        {"account": account.name, "region": region, "function": fn, "timestamp": t, "period_s": period, **v}
        for (fn, t), v in values.items()
    ]


def snapstart_versions(*, account: Account, region: str, functions: Iterable[str]) -> pd.DataFrame:
    """The published versions (not $LATEST) of ``functions`` with their SnapStart status (all pages)."""
    c = client(account, "lambda", region)
    rows = []
    for fn in functions:
        try:
            for page in c.get_paginator("list_versions_by_function").paginate(FunctionName=fn):
                for v in page.get("Versions", ()):
                    if v.get("Version") == "$LATEST":
                        continue
                    rows.append(
                        {
                            "account": account.name,
                            "region": region,
                            "function": fn,
                            "version": v.get("Version"),
                            "published": pd.to_datetime(v.get("LastModified"), utc=True, format="ISO8601"),
                            "memory_mb": v.get("MemorySize", 128),
                            "runtime": v.get("Runtime"),
                            "snapstart_on": (v.get("SnapStart") or {}).get("OptimizationStatus") == "On",
                        }
                    )
        except Exception as e:
            err = errors.translate(e, service="lambda", operation="ListVersionsByFunction", account=account.name, region=region)
            if isinstance(err, errors.InvalidRequest) and "ResourceNotFound" in str(err):
                continue
            raise err from e
    return typed_frame(rows, VERSION_SCHEMA)
