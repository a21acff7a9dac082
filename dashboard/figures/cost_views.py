"""What the Costs and Teams pages read off a :class:`~dashboard.figures.cost_report.CostReport` beyond its tables:
the months a person may pick, the day-by-day actual and forecast spend (daily and cumulative), the sentence that
explains a forecast running above the days so far, the team lines apart from the shared ones, and the
organisation-wide top list of functions by cost. Pure: a report in, frames and sentences out (no Streamlit, no plotly).

- :func:`months` — the months the report can be read for, newest first (this month and the ones before it that
  Cost Explorer still holds, with the month before each).
- :func:`daily_spend` — one row per day of the month: the bill (or our estimate without it), the forecast for
  the days to come, and both running totals.
- :func:`forecast_note` — one sentence when the forecast runs well above the days so far, naming why when the
  report knows (the free tier paid part of the days so far), else None.
- :func:`team_lines` / :func:`shared_lines` — the allocation's team lines (teams and untagged, whose shares add
  up to 100 %) and its shared lines (free tier, unexplained).
- :func:`top_functions` — the month's functions ranked by estimated cost across every team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dashboard.figures.cost_report import HISTORY_MONTHS, CostReport, MonthError, month_bounds

__all__ = [
    "months",
    "DAILY_SCHEMA",
    "daily_spend",
    "JUMP",
    "forecast_note",
    "forecast_label",
    "team_lines",
    "shared_lines",
    "top_functions",
    "TeamTotals",
    "team_totals",
]


def months(*, today: date) -> list[str]:
    """``YYYY-MM`` of every month :func:`~dashboard.figures.cost_report.month_bounds` accepts at ``today``, newest
    first: the current month and the ones before it whose previous month Cost Explorer still holds."""
    out = []
    first = today.replace(day=1)
    for _ in range(HISTORY_MONTHS):
        text = f"{first:%Y-%m}"
        try:
            month_bounds(text, today=today)
        except MonthError:
            break
        out.append(text)
        first = (first - timedelta(days=1)).replace(day=1)
    return out


DAILY_SCHEMA = ("date", "actual_usd", "forecast_usd", "actual_cum_usd", "forecast_cum_usd", "basis")


def daily_spend(report: CostReport) -> pd.DataFrame:
    """One row per day of the report's month (UTC): ``actual_usd`` for the complete days (the bill, or our estimate
    after the free tier when the bill is missing: ``basis`` says which), ``forecast_usd`` for the days left (the
    forecast spread evenly), and the running totals (``forecast_cum_usd`` starts from the last actual total, so the
    two lines meet). Unknown is NaN, never 0."""
    days = pd.date_range(pd.Timestamp(report.first), pd.Timestamp(report.month_end) - pd.Timedelta(days=1), freq="D")
    out = pd.DataFrame({"date": days})
    rec = report.reconciliation()
    if report.ce_ok and not rec.empty and rec["actual_usd"].notna().any():
        by_day = rec.groupby("date")["actual_usd"].sum(min_count=1)
        basis = "bill"
    elif not rec.empty:
        by_day = rec.groupby("date")["explained_usd"].sum(min_count=1)
        basis = "estimate"
    else:
        by_day, basis = pd.Series(dtype="float64"), "none"
    by_day.index = pd.to_datetime(by_day.index)
    out["actual_usd"] = out["date"].map(by_day).astype("float64")
    out.loc[out["date"] >= pd.Timestamp(report.end), "actual_usd"] = np.nan
    left = (report.month_end - report.end).days
    remaining = report.remaining_usd() if left > 0 else 0.0
    future = out["date"] >= pd.Timestamp(report.end)
    out["forecast_usd"] = np.where(future, remaining / left if left > 0 and remaining > 0 else np.nan, np.nan)
    out["actual_cum_usd"] = out["actual_usd"].cumsum().where(out["actual_usd"].notna())
    last_total = float(out["actual_usd"].sum()) if out["actual_usd"].notna().any() else 0.0
    out["forecast_cum_usd"] = (last_total + out["forecast_usd"].fillna(0.0).cumsum()).where(future & out["forecast_usd"].notna())
    out["basis"] = basis
    return out


JUMP = 1.25  # a forecast day this many times the days so far is a jump worth a sentence


def forecast_note(report: CostReport) -> str | None:
    """Why the forecast runs above the days so far, in one sentence; None when it does not (or nothing is known).

    The days so far are the complete days' mean (the bill's, or our estimate's); the forecast's is the spend
    expected for the days left ÷ their number. When the free tier paid part of the days so far (our estimate's
    credit), the sentence says so and when it ran out: from then on a day costs the full price."""
    daily = daily_spend(report)
    actual = daily["actual_usd"].dropna()
    ahead = daily["forecast_usd"].dropna()
    if actual.empty or ahead.empty:
        return None
    so_far, coming = float(actual.mean()), float(ahead.iloc[0])
    if coming <= 0 or coming < JUMP * max(so_far, 0.0):
        return None
    head = f"The forecast runs at about ${coming:,.2f} a day against ${so_far:,.2f} a day so far"
    rec = report.reconciliation()
    free = rec.groupby("date")["free_tier_usd"].sum() if not rec.empty else pd.Series(dtype="float64")
    credit = -float(free.sum())
    if credit >= 0.005:
        used = free[free < 0]
        last = pd.Timestamp(used.index.max()) if not used.empty else None
        ends = pd.Timestamp(report.end) - pd.Timedelta(days=1)
        when = (
            f"it ran out on {last + pd.Timedelta(days=1):%b %-d}"
            if last is not None and last < ends
            else "it will run out in the days ahead"
        )
        return (
            f"{head}: the free tier paid ${credit:,.2f} of this month's first days and {when}; "
            "from then on every day is billed at the full price."
        )
    return f"{head} (Cost Explorer's forecast, from the account's recent history)."


def forecast_label(report: CostReport) -> str | None:
    """:func:`forecast_note` in a few words, for a chart's annotation: ``"free tier used up: full price"``."""
    note = forecast_note(report)
    if note is None:
        return None
    return "free tier used up: full price from here" if "free tier" in note else "forecast above the days so far"


def team_lines(teams: pd.DataFrame) -> pd.DataFrame:
    """The allocation's team lines (teams and untagged): their ``share`` adds up to 100 %."""
    return teams[teams["line"].isin(["team", "untagged"])].reset_index(drop=True)


def shared_lines(teams: pd.DataFrame) -> pd.DataFrame:
    """The allocation's shared lines (the free tier, the part of the bill the estimate does not explain)."""
    return teams[~teams["line"].isin(["team", "untagged"])].reset_index(drop=True)


@dataclass(frozen=True)
class TeamTotals:
    teams_usd: float  # Σ of the team lines' month to date
    shared_usd: float  # Σ of the shared lines
    total_usd: float  # the bill's month to date (or our estimate's): teams + shared


def team_totals(teams: pd.DataFrame) -> TeamTotals:
    t = float(team_lines(teams)["mtd_usd"].sum())
    s = float(shared_lines(teams)["mtd_usd"].sum())
    return TeamTotals(round(t, 2), round(s, 2), round(t + s, 2))


TOP_COLUMNS = ["rank", "account", "region", "function", "team", "est_cost_usd", "share", "last_month_usd"]


def top_functions(functions: pd.DataFrame, *, n: int = 10) -> pd.DataFrame:
    """The ``n`` functions of :func:`~dashboard.figures.cost_report.costs_table` (``by="function"``) that cost most
    this month, across every team: rank, team, estimated cost (list price) and its share of all functions' cost."""
    if functions.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c.endswith("usd") or c == "share" else "object") for c in TOP_COLUMNS})
    f = functions.sort_values(["est_cost_usd", "function"], ascending=[False, True], ignore_index=True)
    total = float(f["est_cost_usd"].sum())
    top = f.head(n).copy()
    top["share"] = top["est_cost_usd"] / total if total > 0 else np.nan
    top["rank"] = np.arange(1, len(top) + 1)
    return top[TOP_COLUMNS].reset_index(drop=True)
