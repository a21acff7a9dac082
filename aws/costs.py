"""Cost Explorer: daily AWS Lambda spend by usage type or by tag, monthly totals, and the month-end forecast.

Every request costs $0.01 (each page too), so requests are built with a fixed key
order (identical questions are identical requests, and cache keys match them),
and Cost Explorer has no botocore paginator: ``NextPageToken`` is looped by hand.
The endpoint is in us-east-1 whatever the account's regions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pandas as pd

from aws import errors
from aws.frames import typed_frame
from aws.session import CE_REGION, Account, client

__all__ = [
    "SCHEMA",
    "FORECAST_SCHEMA",
    "LAMBDA_FILTER",
    "cost_request",
    "daily_costs",
    "monthly_costs",
    "forecast",
    "active_tag_keys",
]

LAMBDA_FILTER = {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}}

SCHEMA: dict[str, str] = {
    "account": "string",
    "date": "datetime64[ns]",  # the day (Cost Explorer days are UTC dates); the month's first day for monthly_costs
    "group_by": "string",  # "USAGE_TYPE", "TAG:team", or "TOTAL"
    "group": "string",  # the usage type or tag value; "" = untagged
    "cost_usd": "float64",  # UnblendedCost
    "usage_quantity": "float64",
    "estimated": "boolean",  # Cost Explorer marks days not yet final
}
FORECAST_SCHEMA: dict[str, str] = {
    "account": "string",
    "start": "datetime64[ns]",
    "end": "datetime64[ns]",  # exclusive
    "mean_usd": "float64",
    "lower_usd": "float64",
    "upper_usd": "float64",
}


def cost_request(*, start: date, end: date, group_by: str | None, granularity: str = "DAILY") -> dict:
    """The GetCostAndUsage parameters, keys always in this order. ``end`` is exclusive.

    ``group_by``: None (total), ``"USAGE_TYPE"`` or ``"TAG:<key>"``; ``granularity``: ``"DAILY"`` or ``"MONTHLY"``.
    """
    if granularity not in ("DAILY", "MONTHLY"):
        raise ValueError(f"granularity must be 'DAILY' or 'MONTHLY', not {granularity!r}")
    req: dict = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": granularity,
        "Filter": LAMBDA_FILTER,
        "Metrics": ["UnblendedCost", "UsageQuantity"],
    }
    if group_by == "USAGE_TYPE":
        req["GroupBy"] = [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]
    elif group_by and group_by.startswith("TAG:"):
        req["GroupBy"] = [{"Type": "TAG", "Key": group_by[4:]}]
    elif group_by is not None:
        raise ValueError(f"group_by must be None, 'USAGE_TYPE' or 'TAG:<key>', not {group_by!r}")
    return req


def _pages(account: Account, operation: str, request: dict) -> Iterator[dict]:
    c = client(account, "ce", CE_REGION)
    token = None
    while True:
        params = dict(request, NextPageToken=token) if token else request
        try:
            page = getattr(c, operation)(**params)
        except Exception as e:
            op = c.meta.method_to_api_mapping.get(operation, operation)
            raise errors.translate(e, service="ce", operation=op, account=account.name) from e
        yield page
        token = page.get("NextPageToken")
        if not token:
            return


def daily_costs(*, account: Account, start: date, end: date, group_by: str | None = None) -> pd.DataFrame:
    """Daily Lambda spend from ``start`` to ``end`` (exclusive), one row per day and group."""
    return _costs(account, cost_request(start=start, end=end, group_by=group_by), group_by)


def monthly_costs(*, account: Account, start: date, end: date) -> pd.DataFrame:
    """Lambda spend and usage per calendar month from ``start`` to ``end`` (exclusive), one ``TOTAL`` row per month
    (``date`` its first day; one request for up to a year of months, $0.01)."""
    return _costs(account, cost_request(start=start, end=end, group_by=None, granularity="MONTHLY"), None)


def _costs(account: Account, req: dict, group_by: str | None) -> pd.DataFrame:
    label = group_by or "TOTAL"
    tag_prefix = group_by[4:] + "$" if group_by and group_by.startswith("TAG:") else None
    rows = []
    for page in _pages(account, "get_cost_and_usage", req):
        for day in page.get("ResultsByTime", ()):
            d = day["TimePeriod"]["Start"]
            est = bool(day.get("Estimated", False))
            if group_by is None:
                m = day.get("Total", {})
                rows.append(_cost_row(account, d, label, "", m, est))
            for g in day.get("Groups", ()):
                key = g["Keys"][0]
                if tag_prefix and key.startswith(tag_prefix):
                    key = key[len(tag_prefix) :]
                rows.append(_cost_row(account, d, label, key, g.get("Metrics", {}), est))
    return typed_frame(rows, SCHEMA)


def _cost_row(account: Account, day: str, label: str, group: str, metrics: dict, est: bool) -> dict:
    return {
        "account": account.name,
        "date": pd.Timestamp(day),
        "group_by": label,
        "group": group,
        "cost_usd": float(metrics.get("UnblendedCost", {}).get("Amount", 0.0)),
        "usage_quantity": float(metrics.get("UsageQuantity", {}).get("Amount", 0.0)),
        "estimated": est,
    }


def forecast(*, account: Account, start: date, end: date, level: int = 80) -> pd.DataFrame:
    """Forecast Lambda spend from ``start`` (today or later) to ``end`` (exclusive), with a prediction interval."""
    if end <= start:
        return typed_frame([], FORECAST_SCHEMA)
    req = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Metric": "UNBLENDED_COST",
        "Granularity": "MONTHLY",
        "Filter": LAMBDA_FILTER,
        "PredictionIntervalLevel": level,
    }
    rows = []
    for page in _pages(account, "get_cost_forecast", req):
        for r in page.get("ForecastResultsByTime", ()):
            rows.append(
                {
                    "account": account.name,
                    "start": pd.Timestamp(r["TimePeriod"]["Start"]),
                    "end": pd.Timestamp(r["TimePeriod"]["End"]),
                    "mean_usd": float(r.get("MeanValue", "nan")),
                    "lower_usd": float(r.get("PredictionIntervalLowerBound", "nan")),
                    "upper_usd": float(r.get("PredictionIntervalUpperBound", "nan")),
                }
            )
    return typed_frame(rows, FORECAST_SCHEMA)


def active_tag_keys(*, account: Account) -> frozenset[str]:
    """The user-defined tag keys active for cost allocation (ListCostAllocationTags, every page)."""
    c = client(account, "ce", CE_REGION)
    req: dict = {"Status": "Active", "Type": "UserDefined"}
    keys: set[str] = set()
    while True:
        try:
            page = c.list_cost_allocation_tags(**req)
        except Exception as e:
            raise errors.translate(e, service="ce", operation="ListCostAllocationTags", account=account.name) from e
        keys.update(t["TagKey"] for t in page.get("CostAllocationTags", ()) if t.get("Status") == "Active")
        token = page.get("NextToken")
        if not token:
            return frozenset(keys)
        req = {**req, "NextToken": token}
