"""AWS Lambda spend from Cost Explorer: month to date and the month-end forecast, each defined once.

- **Month to date** (:func:`month_to_date_usd`): Cost Explorer's AWS Lambda cost (unblended) from the 1st of
  the month through today, UTC days, *today so far included* (Cost Explorer's own partial, estimated day).
  The Overview's spend tile, the Costs page's "Bill, month to date", the Teams page and the digests all
  show this figure; :func:`today_usd` is what today contributes to it.
- **Compared with** the same days of the previous month (:func:`month_to_date`: the 1st through the same
  day, or through its last day when it is shorter).
- **Month-end forecast** (:func:`month_end_usd`): the complete days so far (before today) plus Cost
  Explorer's forecast from today (which covers today) to the month's end.

Pure functions over :data:`aws.costs.SCHEMA` frames (``date`` naive UTC midnight, ``group_by``
``TOTAL``, ``cost_usd``) and :data:`aws.costs.FORECAST_SCHEMA` frames.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pandas as pd

__all__ = ["month_to_date", "month_to_date_usd", "today_usd", "complete_days_usd", "month_end_usd", "total_rows"]


def month_to_date(today: date) -> tuple[date, date, date, date]:
    """``(start, end, previous_start, previous_end)``, ends exclusive (Cost Explorer's convention).

    This month from the 1st through ``today``; the previous month's same days (1st through the
    same day, or through its last day when it is shorter).
    """
    start = today.replace(day=1)
    end = today + timedelta(days=1)
    prev_last = start - timedelta(days=1)
    prev_start = prev_last.replace(day=1)
    days_in_prev = calendar.monthrange(prev_start.year, prev_start.month)[1]
    prev_end = prev_start + timedelta(days=min(today.day, days_in_prev))
    return start, end, prev_start, prev_end


def total_rows(costs: pd.DataFrame) -> pd.DataFrame:
    """The ``TOTAL`` rows of a Cost Explorer frame (all of them when it has no ``group_by`` column)."""
    if costs is None or costs.empty or "group_by" not in costs:
        return costs
    return costs[costs["group_by"] == "TOTAL"]


def _between(costs: pd.DataFrame, start: date, end: date) -> float:
    rows = total_rows(costs)
    if rows is None or rows.empty:
        return 0.0
    d = pd.to_datetime(rows["date"])
    return float(rows.loc[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end)), "cost_usd"].sum())


def month_to_date_usd(costs: pd.DataFrame, *, today: date) -> float:
    """Spend from the 1st of ``today``'s month through today (today so far included)."""
    return _between(costs, today.replace(day=1), today + timedelta(days=1))


def today_usd(costs: pd.DataFrame, *, today: date) -> float:
    """What today (still filling, an estimate until the bill is final) contributes to :func:`month_to_date_usd`."""
    return _between(costs, today, today + timedelta(days=1))


def complete_days_usd(costs: pd.DataFrame, *, today: date) -> float:
    """Spend over the month's complete days: the 1st through yesterday."""
    return _between(costs, today.replace(day=1), today)


def month_end_usd(costs: pd.DataFrame, forecast: pd.DataFrame | None, *, today: date) -> float | None:
    """The month-end figure: the complete days plus Cost Explorer's forecast from today; None without a forecast."""
    if forecast is None or forecast.empty:
        return None
    remaining = float(forecast["mean_usd"].sum())
    if remaining != remaining:
        return None
    return complete_days_usd(costs, today=today) + remaining
