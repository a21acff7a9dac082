"""Cost Explorer: GetCostAndUsage, GetCostForecast, ListCostAllocationTags for the simulated bill.

Answers come from :func:`aws.sim.billing.daily_costs`. As AWS: ≤ 2 GroupBy, tag groups
keyed ``team$payments`` (untagged ``team$``), a response holds at most 500 (period ×
group) cells and pages with ``NextPageToken``, days are UTC, End is exclusive, today is
Estimated, and a forecast must start today or later.
"""

from __future__ import annotations

from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

from aws.sim import billing, tokens
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

MAX_CELLS = 500
_COST_METRICS = {"UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost"}
_USAGE_METRICS = {"UsageQuantity", "NormalizedUsageAmount"}
_DIMENSIONS = {
    "SERVICE",
    "USAGE_TYPE",
    "REGION",
    "LINKED_ACCOUNT",
    "OPERATION",
    "RECORD_TYPE",
    "PURCHASE_TYPE",
    "USAGE_TYPE_GROUP",
}
_FORECAST_METRICS = {
    "UNBLENDED_COST",
    "BLENDED_COST",
    "AMORTIZED_COST",
    "NET_UNBLENDED_COST",
    "NET_AMORTIZED_COST",
    "USAGE_QUANTITY",
    "NORMALIZED_USAGE_AMOUNT",
}


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value[:10])
    except ValueError as e:
        raise ApiError("ValidationException", f"{what} {value!r} is not a valid date (YYYY-MM-DD).") from e


def _period(params: dict) -> tuple[date, date]:
    tp = params["TimePeriod"]
    start, end = _date(tp["Start"], "Start date"), _date(tp["End"], "End date")
    if start >= end:
        raise ApiError("ValidationException", "Start date (and hour) should be before end date (and hour)")
    return start, end


def _dimension(frame: pd.DataFrame, key: str) -> pd.Series:
    if key == "SERVICE":
        return pd.Series(billing.SERVICE, index=frame.index)
    if key == "USAGE_TYPE":
        return frame["usage_type"]
    if key == "REGION":
        return frame["region"]
    if key == "LINKED_ACCOUNT":
        return frame["account_id"]  # the member account whose usage a row is (its own view: only its own)
    if key == "OPERATION":
        return pd.Series("Invoke", index=frame.index)
    if key == "RECORD_TYPE":
        return pd.Series("Usage", index=frame.index)
    if key == "PURCHASE_TYPE":
        return pd.Series("On Demand Instances", index=frame.index)
    if key == "USAGE_TYPE_GROUP":
        return frame["kind"].map(
            {
                "requests": "AWS Lambda: Requests",
                "requests_pc": "AWS Lambda: Requests",
                "gb_seconds": "AWS Lambda: Duration",
                "gb_seconds_pc": "AWS Lambda: Duration",
                "snapstart_cache": "AWS Lambda: SnapStart",
                "snapstart_restore": "AWS Lambda: SnapStart",
                "streaming": "AWS Lambda: Response Streaming",
                "pc_duration": "AWS Lambda: Provisioned Duration",
                "pc": "AWS Lambda: Provisioned Concurrency",
                "ephemeral": "AWS Lambda: Ephemeral Storage",
            }
        )
    raise ApiError("ValidationException", f"Invalid dimension key: {key}")


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    return frame["tags"].map(lambda t: t.get(key))


def _match(values: pd.Series, wanted: list[str], options: list[str]) -> pd.Series:
    opts = set(options or ["EQUALS"])
    if "ABSENT" in opts:
        absent = values.isna() | (values == "")
        return absent if not wanted else absent | values.isin(wanted)
    s = values.fillna("")
    if "CASE_INSENSITIVE" in opts:
        s = s.str.lower()
        wanted = [w.lower() for w in wanted]
    if "STARTS_WITH" in opts:
        return s.map(lambda v: any(v.startswith(w) for w in wanted))
    if "ENDS_WITH" in opts:
        return s.map(lambda v: any(v.endswith(w) for w in wanted))
    if "CONTAINS" in opts:
        return s.map(lambda v: any(w in v for w in wanted))
    return s.isin(wanted)


def _filter(frame: pd.DataFrame, expr: dict | None) -> pd.Series:
    if not expr:
        return pd.Series(True, index=frame.index)
    keys = [k for k in ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories") if expr.get(k)]
    if len(keys) != 1:
        raise ApiError("ValidationException", "Expression must have exactly one of And, Or, Not, Dimensions, Tags.")
    k = keys[0]
    if k == "And":
        out = pd.Series(True, index=frame.index)
        for e in expr["And"]:
            out &= _filter(frame, e)
        return out
    if k == "Or":
        out = pd.Series(False, index=frame.index)
        for e in expr["Or"]:
            out |= _filter(frame, e)
        return out
    if k == "Not":
        return ~_filter(frame, expr["Not"])
    if k == "Dimensions":
        d = expr["Dimensions"]
        return _match(_dimension(frame, d["Key"]), list(d.get("Values") or []), d.get("MatchOptions") or [])
    if k == "Tags":
        t = expr["Tags"]
        return _match(_tag(frame, t["Key"]), list(t.get("Values") or []), t.get("MatchOptions") or [])
    return pd.Series(False, index=frame.index)  # no cost categories in the simulated account


def _amount(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.10f}".rstrip("0").rstrip(".")


def _periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    out = []
    d = start
    while d < end:
        if granularity == "MONTHLY":
            nxt = min(end, (d.replace(day=1) + timedelta(days=32)).replace(day=1))
        else:
            nxt = d + timedelta(days=1)
        out.append((d, nxt))
        d = nxt
    return out


def _metric_values(rows: pd.DataFrame, metrics: list[str], *, by_usage_type: bool) -> dict:
    out = {}
    for m in metrics:
        if m in _COST_METRICS:
            out[m] = {"Amount": _amount(float(rows["cost"].sum())), "Unit": "USD"}
        elif m == "UsageQuantity":
            units = {billing.usage_unit(k) for k in rows["kind"]} if len(rows) else set()
            unit = units.pop() if by_usage_type and len(units) == 1 else "N/A"
            out[m] = {"Amount": _amount(float(rows["quantity"].sum())), "Unit": unit}
        else:
            out[m] = {"Amount": "0", "Unit": "N/A"}
    return out


@handles("ce", "GetCostAndUsage")
def get_cost_and_usage(call: Call, params: dict) -> dict:
    start, end = _period(params)
    granularity = params.get("Granularity", "DAILY")
    if granularity == "HOURLY":
        raise ApiError("ValidationException", "Hourly granularity is not enabled for this account.")
    metrics = list(params.get("Metrics") or [])
    if not metrics:
        raise ApiError("ValidationException", "Metrics cannot be empty.")
    for m in metrics:
        if m not in _COST_METRICS | _USAGE_METRICS:
            raise ApiError("ValidationException", f"Invalid metric: {m}")
    group_by = list(params.get("GroupBy") or [])
    if len(group_by) > 2:
        raise ApiError("ValidationException", "You can only group by up to two different dimensions or tags.")
    for g in group_by:
        if g.get("Type") == "DIMENSION" and g.get("Key") not in _DIMENSIONS:
            raise ApiError("ValidationException", f"Invalid group by key: {g.get('Key')}")
        if g.get("Type") not in ("DIMENSION", "TAG"):
            raise ApiError("ValidationException", f"Group by type {g.get('Type')} is not supported here.")
    fp = tokens.fingerprint(params, drop=("NextPageToken",))
    pos = tokens.read(params.get("NextPageToken"), fp, code="InvalidNextTokenException", what="NextPageToken")
    cell0 = int(pos["c"]) if pos else 0

    frame = billing.daily_costs(call.model, start=start, end=end, now=call.now).assign(account_id=call.model.account_id)
    if len(frame):
        frame = frame[_filter(frame, params.get("Filter")).to_numpy()]
    keys = []
    for g in group_by:
        if g["Type"] == "TAG":
            keys.append(_tag(frame, g["Key"]).map(lambda v, k=g["Key"]: f"{k}${v if isinstance(v, str) else ''}"))
        else:
            keys.append(_dimension(frame, g["Key"]))
    by_usage = any(g.get("Key") == "USAGE_TYPE" and g["Type"] == "DIMENSION" for g in group_by)
    today = call.now.date()
    cells = []  # (period, group keys or None, rows)
    for a, b in _periods(start, end, granularity):
        rows_mask = ((frame["date"] >= a) & (frame["date"] < b)).to_numpy() if len(frame) else np.zeros(0, bool)
        rows = frame[rows_mask]
        if not group_by:
            cells.append((a, b, None, rows))
            continue
        ks = [k[rows_mask] for k in keys]
        if len(rows) == 0:
            cells.append((a, b, (), rows))  # a period without data still appears, with no groups
            continue
        tuples = list(zip(*[k.tolist() for k in ks], strict=True))
        order: dict[tuple, list[int]] = {}
        for i, t in enumerate(tuples):
            order.setdefault(t, []).append(i)
        for t in sorted(order):
            cells.append((a, b, t, rows.iloc[order[t]]))
    page = cells[cell0 : cell0 + MAX_CELLS]
    results: list[dict] = []
    for a, b, t, rows in page:
        if results and results[-1]["TimePeriod"]["Start"] == a.isoformat():
            entry = results[-1]
        else:
            entry = {
                "TimePeriod": {"Start": a.isoformat(), "End": b.isoformat()},
                "Total": {} if group_by else _metric_values(rows, metrics, by_usage_type=False),
                "Groups": [],
                "Estimated": a <= today < b,
            }
            results.append(entry)
        if t:
            entry["Groups"].append({"Keys": list(t), "Metrics": _metric_values(rows, metrics, by_usage_type=by_usage)})
    out: dict = {"ResultsByTime": results, "DimensionValueAttributes": []}
    if group_by:
        out["GroupDefinitions"] = [{"Type": g["Type"], "Key": g["Key"]} for g in group_by]
    if cell0 + MAX_CELLS < len(cells):
        out["NextPageToken"] = tokens.make({"c": cell0 + MAX_CELLS}, fp)
    return out


@handles("ce", "GetCostForecast")
def get_cost_forecast(call: Call, params: dict) -> dict:
    start, end = _period(params)
    today = call.now.date()
    if start < today:
        raise ApiError(
            "ValidationException",
            f"Start date {start.isoformat()} must be equal to or later than the current date {today.isoformat()}.",
        )
    if end > today + timedelta(days=366):
        raise ApiError("ValidationException", "End date must be within 12 months of the current date.")
    metric = params["Metric"]
    if metric not in _FORECAST_METRICS:
        raise ApiError("ValidationException", f"Invalid metric: {metric}")
    granularity = params["Granularity"]
    if granularity not in ("DAILY", "MONTHLY"):
        raise ApiError("ValidationException", f"Forecast granularity {granularity} is not supported.")
    level = params.get("PredictionIntervalLevel")
    if level is not None and not 51 <= int(level) <= 99:
        raise ApiError("ValidationException", "PredictionIntervalLevel must be between 51 and 99.")
    history = billing.daily_costs(call.model, start=today - timedelta(days=14), end=today, now=call.now)
    history = history.assign(account_id=call.model.account_id)
    if len(history):
        history = history[_filter(history, params.get("Filter")).to_numpy()]
    value = "quantity" if metric in ("USAGE_QUANTITY", "NORMALIZED_USAGE_AMOUNT") else "gross"
    if len(history):
        history = history.assign(gross=history["quantity"] * history["price"])
        daily = history.groupby("date")[value].sum()
    else:
        daily = pd.Series(dtype=float)
    last7 = daily.sort_index().iloc[-7:]
    mean = float(last7.mean()) if len(last7) else 0.0
    std = float(daily.std(ddof=1)) if len(daily) > 1 else 0.0
    z = NormalDist().inv_cdf(0.5 + int(level) / 200.0) if level is not None else None
    rows = []
    total = 0.0
    for a, b in _periods(start, end, granularity):
        days = (b - a).days
        m = mean * days
        total += m
        row: dict = {"TimePeriod": {"Start": a.isoformat(), "End": b.isoformat()}, "MeanValue": _amount(m)}
        if z is not None:
            half = z * std * (days**0.5)
            row["PredictionIntervalLowerBound"] = _amount(max(0.0, m - half))
            row["PredictionIntervalUpperBound"] = _amount(m + half)
        rows.append(row)
    unit = "USD" if value == "gross" else "N/A"
    return {"Total": {"Amount": _amount(total), "Unit": unit}, "ForecastResultsByTime": rows}


@handles("ce", "ListCostAllocationTags")
def list_cost_allocation_tags(call: Call, params: dict) -> dict:
    a = call.now.replace(hour=0, minute=0, second=0, microsecond=0)
    upd = (a - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    used = (a - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tags = [
        {
            "TagKey": "cost-center",
            "Type": "UserDefined",
            "Status": "Active",
            "LastUpdatedDate": upd,
            "LastUsedDate": used,
        },
        {"TagKey": "env", "Type": "UserDefined", "Status": "Inactive", "LastUpdatedDate": upd, "LastUsedDate": used},
        {
            "TagKey": "service",
            "Type": "UserDefined",
            "Status": "Inactive",
            "LastUpdatedDate": upd,
            "LastUsedDate": used,
        },
        {"TagKey": "team", "Type": "UserDefined", "Status": "Active", "LastUpdatedDate": upd, "LastUsedDate": used},
    ]
    if params.get("Status"):
        tags = [t for t in tags if t["Status"] == params["Status"]]
    if params.get("TagKeys"):
        tags = [t for t in tags if t["TagKey"] in params["TagKeys"]]
    if params.get("Type"):
        tags = [t for t in tags if t["Type"] == params["Type"]]
    return {"CostAllocationTags": tags}
