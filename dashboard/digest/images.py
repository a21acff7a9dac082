"""Small PNG charts for a digest, embedded in the e-mail as inline (CID) images.

matplotlib's Agg backend draws them in-process: no browser or display on the mail host.
Figures are built with :class:`matplotlib.figure.Figure` (never ``pyplot``), so there is
no global state and charts can be drawn from several threads. Each chart is 600 × 200 CSS
pixels drawn at twice that resolution for sharp text on high-density screens; the HTML
sets ``width="600"``. Text is :data:`TEXT_PT` points: 12.5 CSS pixels at that width (never the
9 px that mail clients' 640 px columns made unreadable). A chart with nothing to show (an alert
on a function with no invocations) is not drawn: :func:`omitted` gives the sentence the
message says instead.
"""

from __future__ import annotations

import io
import math
from datetime import timedelta

import numpy as np
import pandas as pd

from dashboard.digest.compose import AlertChart, Spend
from dashboard.present import registry

__all__ = ["spend_chart", "spend_figure", "alert_chart", "alert_figure", "omitted", "WIDTH_PX", "HEIGHT_PX", "TEXT_PT", "text_css_px"]

WIDTH_PX, HEIGHT_PX = 600, 200  # CSS pixels; the PNG holds 2× that
_DPI = 200
TEXT_PT = 9.0  # every label, tick and legend: 9 pt at 200 dpi = 25 PNG pixels = 12.5 CSS pixels


def text_css_px(points: float = TEXT_PT) -> float:
    """The height in CSS pixels of text of ``points`` in these charts, as the HTML shows them (2× PNG at ``WIDTH_PX``)."""
    return points / 72 * _DPI / 2
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
BAR = "#9fb3c8"
LINE = "#2f6fb0"
ALARM = "#c62828"
BUDGET = "#b7791f"

def _figure(*, right: float = 0.98, top: float = 0.88, left: float = 0.1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / 100, HEIGHT_PX / 100), dpi=_DPI)
    fig.patch.set_facecolor("white")
    ax = fig.add_axes((left, 0.17, right - left, top - 0.17))
    ax.set_facecolor("white")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=TEXT_PT, length=2)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def spend_chart(spend: Spend) -> bytes | None:
    """:func:`spend_figure` as PNG bytes (None: nothing to draw)."""
    fig = spend_figure(spend)
    return None if fig is None else _png(fig)


def spend_figure(spend: Spend):
    """Daily spend this month (bars, left axis) with the running total, the forecast to month end and the budget
    (lines, right axis: they are month totals); a matplotlib Figure, or None without data."""
    if spend.daily.empty or spend.mtd_usd is None:
        return None
    fig, ax = _figure(right=0.86, top=0.78, left=0.12)
    days = pd.to_datetime(spend.daily["date"]).dt.tz_localize(None)
    cost = spend.daily["cost_usd"].to_numpy(dtype="float64")
    ax2 = ax.twinx()
    ax.bar(days, cost, width=0.8, color=BAR, label="daily")
    cum = np.cumsum(cost)
    ax2.plot(days, cum, color=LINE, linewidth=1.4, label="month to date")
    end = pd.Timestamp(spend.month_end) - timedelta(days=1)
    top = [cum.max() if len(cum) else 0.0]
    if spend.forecast_usd is not None and len(days):
        ax2.plot([days.iloc[-1], end], [cum[-1], spend.forecast_usd], color=LINE, linewidth=1.2, linestyle=(0, (3, 2)), label="forecast")
        top.append(spend.forecast_usd)
    if spend.budget_usd is not None:  # a month total: on the right axis, with the total, and labelled at its value there
        ax2.axhline(spend.budget_usd, color=BUDGET, linewidth=1.0, linestyle=(0, (5, 2)), label="budget")
        top.append(spend.budget_usd)
        ax2.annotate(
            f"budget {_dollars(spend.budget_usd)}", (1.0, spend.budget_usd), xycoords=("axes fraction", "data"),
            xytext=(-2, 2), textcoords="offset points", ha="right", va="bottom", color=BUDGET, fontsize=TEXT_PT,
        )  # fmt: skip
    ax.set_xlim(pd.Timestamp(spend.month_start) - timedelta(hours=18), end + timedelta(hours=18))
    ax2.set_ylim(0, max(top) * 1.25 or 1.0)
    ax.set_ylim(0, (cost.max() if len(cost) else 1.0) * 2.2 or 1.0)  # bars in the lower half, the total above
    for a in (ax, ax2):
        a.yaxis.set_major_formatter(_dollars)
    ax2.tick_params(colors=LINE, labelsize=TEXT_PT, length=2)
    ax2.spines["top"].set_visible(False)
    ax2.spines["right"].set_color(GRID)
    ax2.spines["left"].set_visible(False)
    ax2.spines["bottom"].set_visible(False)
    _date_axis(ax, daily=True)
    ax.set_ylabel("per day", color=MUTED, fontsize=TEXT_PT)
    ax2.set_ylabel("month total", color=LINE, fontsize=TEXT_PT)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=TEXT_PT, frameon=False, ncol=4, labelcolor=INK, borderaxespad=0.2)
    return fig


def _dollars(v, _pos=None) -> str:
    if abs(v) >= 1000:
        return f"${v / 1000:,.1f}k"
    return f"${v:,.0f}" if abs(v) >= 10 else f"${v:,.2f}"


def _date_axis(ax, *, daily: bool) -> None:
    import matplotlib.dates as mdates

    if daily:
        ax.xaxis.set_major_locator(mdates.DayLocator(bymonthday=[1, 8, 15, 22, 29]))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %-d"))
    else:
        loc = mdates.AutoDateLocator(minticks=3, maxticks=6)  # 9 pt labels: no more than six fit 600 px
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc, show_offset=False))


def omitted(chart: AlertChart) -> str | None:
    """Why ``chart`` is not drawn, in a sentence (None: it is): no datapoint in the range, or an invocations
    alert on a function with no invocations at all (a flat line at 0 says nothing the alert does not)."""
    s = chart.series
    finite = s.to_numpy(dtype="float64")
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return f"{chart.title}: no chart, CloudWatch has no datapoint for it in the range."
    if chart.metric in ("no_invocations", "invocations") and not (finite != 0).any():
        return f"{chart.title}: no chart, the function had no invocations in the range."
    return None


def alert_chart(chart: AlertChart) -> bytes | None:
    """:func:`alert_figure` as PNG bytes (None: nothing to draw)."""
    fig = alert_figure(chart)
    return None if fig is None else _png(fig)


def alert_figure(chart: AlertChart):
    """The alert's metric over the range, the threshold as a dashed line labelled inside the plot, the ALARM
    periods shaded; a matplotlib Figure, or None when :func:`omitted` says there is nothing to draw."""
    if omitted(chart) is not None:
        return None
    s = chart.series
    fig, ax = _figure(left=0.11, top=0.92, right=0.95)  # room for the last time label
    idx = pd.DatetimeIndex(s.index).tz_convert("UTC").tz_localize(None)
    vals = s.to_numpy(dtype="float64")
    for a, b in chart.alarm_spans:
        ax.axvspan(pd.Timestamp(a).tz_convert("UTC").tz_localize(None), pd.Timestamp(b).tz_convert("UTC").tz_localize(None), color=ALARM, alpha=0.08, linewidth=0)
    ax.plot(idx, vals, color=LINE, linewidth=1.1)
    ax.axhline(chart.threshold, color=ALARM, linewidth=0.9, linestyle=(0, (4, 2)))
    finite = vals[np.isfinite(vals)]
    hi = max(float(finite.max()) if finite.size else 0.0, chart.threshold)
    lo = min(float(finite.min()) if finite.size else 0.0, chart.threshold, 0.0)
    top = hi * 1.3 if hi > 0 else 1.0  # room above the threshold for its label
    ax.set_ylim(lo, top)
    ax.set_xlim(idx.min(), idx.max())
    known = chart.metric in registry.REGISTRY
    ax.set_ylabel(registry.unit_text(chart.metric) if known else "", color=MUTED, fontsize=TEXT_PT)
    label = registry.threshold_text(chart.metric, chart.comparison, chart.threshold) if known else f"threshold {_short(chart.threshold)}"
    above = chart.threshold <= lo + 0.75 * (top - lo)  # the label above the line, unless the line is near the top
    ax.annotate(
        label, (0.0, chart.threshold), xycoords=("axes fraction", "data"),
        xytext=(4, 3 if above else -3), textcoords="offset points", ha="left", va="bottom" if above else "top",
        color=ALARM, fontsize=TEXT_PT, bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
        annotation_clip=False,
    )  # fmt: skip
    ax.yaxis.set_major_formatter(lambda v, _p: _short(v))
    _date_axis(ax, daily=False)
    return fig


def _short(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.0f}"
    return f"{v:.1f}".rstrip("0").rstrip(".") if a else "0"
