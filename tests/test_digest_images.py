"""The digest's inline charts: text readable at the e-mail's width, the threshold's label inside the picture, no
chart (a sentence instead) for an alert on a function with no invocations, the budget on the month-total axis."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.digest import images
from dashboard.digest.compose import AlertChart, Spend

START = pd.Timestamp("2026-11-25T08:00:00Z")


def chart(metric: str, values, *, threshold: float, comparison: str = "GreaterThanThreshold") -> AlertChart:
    idx = pd.date_range(START, periods=len(values), freq="1h")
    return AlertChart(
        key=f"fn/{metric}", title=f"payments-api · {metric}", metric=metric, series=pd.Series(values, index=idx, dtype="float64"),
        threshold=threshold, comparison=comparison, alarm_spans=((idx[2], idx[4]),),
    )  # fmt: skip


def spend(*, budget: float | None) -> Spend:
    days = pd.date_range("2026-11-01", periods=20, freq="D")
    return Spend(
        scope="all functions", month_start=date(2026, 11, 1), month_end=date(2026, 12, 1), today=date(2026, 11, 20),
        mtd_usd=60.0, forecast_usd=95.0, budget_usd=budget, status="under" if budget else "no_budget",
        daily=pd.DataFrame({"date": days, "cost_usd": np.full(20, 3.0), "estimated": False}),
    )  # fmt: skip


def texts(fig) -> list:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return [t for t in fig.findobj(match=lambda a: a.__class__.__name__ in ("Text", "Annotation")) if t.get_text().strip() and t.get_visible()]


def inside(fig, artist) -> bool:
    box = artist.get_window_extent(renderer=fig.canvas.get_renderer())
    w, h = fig.canvas.get_width_height()
    return box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= w + 0.5 and box.y1 <= h + 0.5


def test_text_is_at_least_12_css_pixels_at_the_messages_width():
    assert images.text_css_px() >= 12
    for fig in (
        images.alert_figure(chart("duration_p99_ms", [100, 200, 61_000, 62_000, 300, 250], threshold=60_000)),
        images.spend_figure(spend(budget=120.0)),
    ):
        shown = texts(fig)
        assert shown
        for t in shown:
            assert t.get_fontsize() >= images.TEXT_PT - 1e-9, t.get_text()
            assert t.get_fontsize() / 72 * images._DPI / 2 >= 12  # CSS pixels: the PNG is shown at half its size
        # nothing drawn is clipped at the picture's edge (labels, ticks, legend: every artist drawn)
        tight = fig.get_tightbbox(renderer=fig.canvas.get_renderer())
        w, h = fig.get_size_inches()
        assert tight.x0 >= -0.01 and tight.y0 >= -0.01 and tight.x1 <= w + 0.01 and tight.y1 <= h + 0.01, tight


@pytest.mark.parametrize(
    "values",
    [
        [10, 20, 30, 95, 99, 40],  # threshold below the top: label above the line
        [95, 96, 97, 98, 99, 100],  # data hugging the threshold at the top
        [0, 0, 1, 0, 0, 0],  # threshold far above the data
    ],
)
def test_the_threshold_label_is_inside_the_picture_and_reads_as_the_condition(values):
    fig = images.alert_figure(chart("memory_utilization", values, threshold=90))
    (label,) = [t for t in texts(fig) if "90" in t.get_text() and "%" in t.get_text()]
    assert label.get_text() == "> 90 % of memory"
    assert inside(fig, label)


def test_no_invocations_draws_no_chart_and_says_why():
    flat = chart("no_invocations", [0, 0, 0, 0, 0, 0], threshold=1, comparison="LessThanThreshold")
    assert images.alert_chart(flat) is None
    assert images.omitted(flat) == "payments-api · no_invocations: no chart, the function had no invocations in the range."
    empty = chart("error_rate", [np.nan] * 6, threshold=5)
    assert images.alert_chart(empty) is None and "no datapoint" in images.omitted(empty)
    some = chart("no_invocations", [0, 3, 0, 0, 0, 0], threshold=1, comparison="LessThanThreshold")
    assert images.omitted(some) is None and images.alert_chart(some).startswith(b"\x89PNG")


def test_the_budget_is_drawn_and_labelled_on_the_month_total_axis():
    fig = images.spend_figure(spend(budget=120.0))
    daily_ax, total_ax = fig.axes[0], fig.axes[1]
    budget = [ln for ln in total_ax.get_lines() if ln.get_label() == "budget"]
    assert len(budget) == 1 and budget[0].get_ydata()[0] == 120.0
    assert not [ln for ln in daily_ax.get_lines() if ln.get_label() == "budget"]
    assert total_ax.get_ylim()[1] > 120.0 and total_ax.yaxis.get_label().get_text() == "month total"
    (label,) = [t for t in texts(fig) if t.get_text().startswith("budget $")]
    assert label.get_text() == "budget $120" and inside(fig, label)
