"""The Costs and Teams pages' charts: the month's spend with actual days first, and the cost by team.

- :func:`spend_figure` — two panels on one month axis. Above, the days so far as stacked bars by what they
  bill (Cost Explorer's usage types, :data:`USAGE_KINDS`; our estimate instead when the bill is missing or
  filtered out) with our estimate as a line, and over the days to come only a thin dotted step at the
  forecast's daily rate. Below, the running total: actual solid, forecast dashed and lighter, last month's
  total for reference, the forecast's jump annotated when :func:`dashboard.figures.cost_views.forecast_note`
  has a reason. Day ticks only (never hours), axes from $0.
- :func:`team_figure` — the month to date per team (horizontal bars, the largest on top, labelled).
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.figures import cost_report, cost_views
from dashboard.figures.cost_report import CostReport
from dashboard.present import registry
from dashboard.present.plots import PHONE_CONFIG, REFERENCE_COLOR, base_layout

__all__ = ["USAGE_KINDS", "FORECAST_COLOR", "usage_kind", "spend_figure", "team_figure", "PHONE_CONFIG"]

# what a Lambda usage type bills, in stacking order, with one colour each (regions and architectures summed;
# the usage-type table beside the chart has them one by one). None of them is the forecast's slate.
USAGE_KINDS: dict[str, str] = {
    "requests": "#2563eb",
    "compute (GB-s)": "#f59e0b",
    "provisioned concurrency": "#0d9488",
    "provisioned compute (GB-s)": "#7c3aed",
    "ephemeral storage": "#10b981",
    "other": "#ef4444",
}
FORECAST_COLOR = REFERENCE_COLOR  # slate: what is not spent yet
ACTUAL_TOTAL_COLOR = "#1d4ed8"  # the running total spent: the chart's strongest line
ESTIMATE_NAME = "our estimate (after the free tier)"



def usage_kind(usage_type: str) -> str:
    """The :data:`USAGE_KINDS` key of a Cost Explorer usage type such as ``USE1-Lambda-GB-Second-ARM``."""
    base = re.sub(r"^[A-Z0-9]+-(?=Request|Lambda)", "", usage_type).removesuffix("-ARM")  # us-east-1 has no prefix
    return {
        "Request": "requests",
        "Lambda-GB-Second": "compute (GB-s)",
        "Lambda-Provisioned-Concurrency": "provisioned concurrency",
        "Lambda-Provisioned-GB-Second": "provisioned compute (GB-s)",
        "Lambda-Ephemeral-Storage-GB-Second": "ephemeral storage",
    }.get(base, "other")


def spend_figure(report: CostReport) -> go.Figure:
    """The month's spend, actual days first (see the module docstring)."""
    money = registry.hovertemplate("cost_usd")
    daily = cost_views.daily_spend(report)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.58, 0.42], vertical_spacing=0.08,
                        subplot_titles=("per day", "running total"))  # fmt: skip
    fig.update_annotations(font={"size": 12}, x=0, xanchor="left")  # the panels' titles, left-aligned
    by_type = cost_report.usage_type_daily(report)
    if not by_type.empty and report.ce_ok:
        by_type = by_type.assign(kind=[usage_kind(str(u)) for u in by_type["usage_type"]])
        by_kind = by_type.groupby(["kind", "date"], as_index=False)["cost_usd"].sum()
        for kind, color in USAGE_KINDS.items():
            rows = by_kind[by_kind["kind"] == kind]
            if rows.empty or not (rows["cost_usd"].abs() > 0).any():
                continue
            fig.add_bar(x=rows["date"], y=rows["cost_usd"], name=kind, marker_color=color, hovertemplate=money, row=1, col=1)
    rec = report.reconciliation()
    if not rec.empty:
        line = rec.groupby("date", as_index=False)["explained_usd"].sum()
        if by_type.empty or not report.ce_ok:  # no bill: the estimate is the spend, drawn as the bars
            fig.add_bar(x=line["date"], y=line["explained_usd"], name=ESTIMATE_NAME, hovertemplate=money, row=1, col=1,
                        marker_color=registry.colour("est_cost_usd"))  # fmt: skip
        else:
            fig.add_scatter(
                x=line["date"], y=line["explained_usd"], name=ESTIMATE_NAME, mode="lines+markers", row=1, col=1,
                line={"color": registry.colour("cost_usd"), "width": 2}, hovertemplate=money,
            )  # fmt: skip
    future = daily.dropna(subset=["forecast_usd"])
    if not future.empty:  # a thin dotted step at the forecast's daily rate: after the days so far, never bars that dwarf the days so far
        fig.add_scatter(
            x=future["date"], y=future["forecast_usd"], name="forecast a day", row=1, col=1, hovertemplate=money, mode="lines",
            line={"color": FORECAST_COLOR, "width": 1.5, "dash": "dot", "shape": "hvh"}, legendgroup="forecast",
        )  # fmt: skip
    _running_total(fig, report, daily)
    layout = base_layout(height=480, x_title=None)
    layout["margin"] = {"l": 10, "r": 10, "t": 30, "b": 10}
    layout["bargap"] = 0.15
    fig.update_layout(**layout, barmode="stack")
    first, end = pd.Timestamp(report.first), pd.Timestamp(report.month_end)
    fig.update_xaxes(type="date", range=[first - pd.Timedelta(hours=14), end - pd.Timedelta(hours=10)],
                     dtick=7 * 86_400_000, tick0=first, tickformat="%b %-d", ticklabelmode="instant")  # fmt: skip
    fig.update_yaxes(tickprefix="$", rangemode="nonnegative", tickformat=",.2~f", automargin=True)
    return fig


def _running_total(fig: go.Figure, report: CostReport, daily: pd.DataFrame) -> None:
    money = registry.hovertemplate("cost_usd")
    prev = _last_month_running(report)
    if prev is not None:
        fig.add_scatter(x=prev["date"], y=prev["cum"], name="last month", mode="lines", row=2, col=1, hovertemplate=money,
                        line={"color": FORECAST_COLOR, "width": 1, "dash": "dot"})  # fmt: skip
    done = daily.dropna(subset=["actual_cum_usd"])
    if not done.empty:
        fig.add_scatter(x=done["date"], y=done["actual_cum_usd"], row=2, col=1, hovertemplate=money, mode="lines+markers",
                        name="month to date" if done["basis"].iloc[0] == "bill" else "month to date (our estimate)",
                        line={"color": ACTUAL_TOTAL_COLOR, "width": 3})  # fmt: skip
    ahead = daily.dropna(subset=["forecast_cum_usd"])
    if not ahead.empty:
        start = done.tail(1)[["date", "actual_cum_usd"]].rename(columns={"actual_cum_usd": "forecast_cum_usd"})
        path = pd.concat([start, ahead[["date", "forecast_cum_usd"]]], ignore_index=True)
        fig.add_scatter(x=path["date"], y=path["forecast_cum_usd"], name="forecast total", row=2, col=1, hovertemplate=money,
                        mode="lines", line={"color": FORECAST_COLOR, "width": 2, "dash": "dash"}, legendgroup="forecast")  # fmt: skip
        note = cost_views.forecast_note(report)
        if note is not None:
            first = ahead.iloc[0]
            fig.add_annotation(
                x=first["date"], y=float(first["forecast_cum_usd"]), row=2, col=1, text=cost_views.forecast_label(report),
                showarrow=True, arrowhead=2, ax=70, ay=-40, xanchor="left", font={"size": 12, "color": FORECAST_COLOR},
            )  # fmt: skip


def _last_month_running(report: CostReport) -> pd.DataFrame | None:
    """Last month's running total by day of month, placed on this month's days (for reference)."""
    if not report.ce_ok or report.costs.empty:
        return None
    c = report.costs[(report.costs["group_by"] == "TOTAL") & (report.costs["date"] < pd.Timestamp(report.first))]
    if c.empty:
        return None
    per_day = c.groupby("date")["cost_usd"].sum().sort_index()
    cum = per_day.cumsum()
    days = pd.to_datetime(cum.index).day
    month_days = (report.month_end - report.first).days
    keep = days <= month_days
    dates = [pd.Timestamp(report.first) + pd.Timedelta(days=int(d) - 1) for d in days[keep]]
    return pd.DataFrame({"date": dates, "cum": cum.to_numpy()[keep]})


def team_figure(teams: pd.DataFrame) -> go.Figure:
    """Month to date per team line (teams and untagged), the largest on top, each labelled with its amount (the
    forecast is in the table beside it: drawn here it would dwarf the days spent)."""
    lines = cost_views.team_lines(teams).sort_values("mtd_usd", ascending=True)
    fig = go.Figure()
    money = "%{x:$,.2f}<extra>%{fullData.name}</extra>"
    fig.add_bar(y=lines["team"], x=lines["mtd_usd"], orientation="h", name="month to date", hovertemplate=money,
                marker_color=registry.colour("spend_mtd"), text=[registry.format("spend_mtd", v) for v in lines["mtd_usd"]],
                textposition="outside", cliponaxis=False)  # fmt: skip
    layout = base_layout(height=max(220, 44 * len(lines) + 90), x_title=None)
    layout["hovermode"] = "y unified"
    layout["bargap"] = 0.3
    fig.update_layout(**layout, barmode="overlay")
    fig.update_xaxes(tickprefix="$", rangemode="nonnegative", tickformat=",.2~f")
    fig.update_yaxes(automargin=True)
    return fig
