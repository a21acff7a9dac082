"""Table columns of metric figures, built from the metric registry: one label, format and help per metric.

Every page that shows a metric in a table asks here, so a figure reads the same everywhere: invocations
``24,996`` on the Overview and the Functions list alike, error rates ``12.50 %``, durations ``1,234.5 ms``,
money ``$1,234.56`` (Streamlit's printf formats with ``,`` for thousands, or its presets).

- :func:`number_column`, :func:`progress_column` — ``st.column_config`` for one metric column;
  :func:`metric_columns` — for every metric column of a table.
- :func:`with_value_texts` — alert rows (any rows with ``metric`` and ``value`` / ``last_value`` /
  ``threshold``) with each value written as the registry writes it for the row's metric: a column holds
  rules of different metrics, so one number format cannot fit it. These are the digest's texts for the
  same alert; with ``comparison`` too, ``condition_text`` (``> 60,000 ms``: :func:`registry.threshold_text`).
  :func:`value_text_columns` shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.present import registry

__all__ = ["VALUE_COLUMNS", "number_column", "progress_column", "metric_columns", "with_value_texts", "value_text_columns", "ending_with_data", "cost_columns"]

VALUE_COLUMNS = ("value", "last_value", "threshold")  # the numbers of an alert row, in its metric's unit


def number_column(key: str, **options: Any) -> Any:
    """A ``NumberColumn`` for metric ``key``: the registry's label, format and help (``options`` override or add)."""
    kw: dict[str, Any] = {"label": registry.label(key), "format": registry.column_format(key), "help": registry.help_text(key)}
    return st.column_config.NumberColumn(**(kw | options))


def progress_column(key: str, **options: Any) -> Any:
    """A ``ProgressColumn`` (a bar from 0 to 100) for a percentage ``key``, e.g. ``memory_used_pct``."""
    kw: dict[str, Any] = {
        "label": registry.label(key),
        "format": registry.column_format(key),
        "help": registry.help_text(key),
        "min_value": 0,
        "max_value": 100,
    }
    return st.column_config.ProgressColumn(**(kw | options))


def metric_columns(frame: pd.DataFrame | Iterable[str], *, progress: Iterable[str] = ()) -> dict[str, Any]:
    """The column config of every column of ``frame`` (or of the names given) that the registry knows;
    those in ``progress`` as bars."""
    bars = set(progress)
    names = frame.columns if isinstance(frame, pd.DataFrame) else frame
    return {
        str(c): (progress_column(str(c)) if c in bars else number_column(str(c)))
        for c in names
        if str(c) in registry.REGISTRY
    }


def with_value_texts(rows: pd.DataFrame, columns: Iterable[str] = VALUE_COLUMNS) -> pd.DataFrame:
    """``rows`` with ``<column>_text`` for each of ``columns`` it has: the value as the registry writes it for
    the row's ``metric`` (``7.5 min``, ``12.50 %``, ``—`` when missing), as the digest writes it. Pure."""
    out = rows.copy()
    metrics = rows["metric"].tolist() if "metric" in rows else [None] * len(rows)
    for c in columns:
        if c in rows:
            out[f"{c}_text"] = pd.array(
                [registry.value_text(m, v) for m, v in zip(metrics, rows[c].tolist(), strict=True)], dtype="string"
            )
    if "threshold" in rows and "comparison" in rows:  # the rule's condition as it reads: "> 60,000 ms"
        out["condition_text"] = pd.array(
            [registry.threshold_text(m, c, t) for m, c, t in zip(metrics, rows["comparison"].tolist(), rows["threshold"].tolist(), strict=True)],
            dtype="string",
        )
    return out


def value_text_columns(
    *, value_label: str = "value", value_help: str | None = None, last_help: str | None = "The most recent datapoint"
) -> dict[str, Any]:
    """The column config of :func:`with_value_texts`'s columns: ``value``, ``last value``, ``threshold``."""
    return {
        "value_text": st.column_config.TextColumn(value_label, help=value_help),
        "last_value_text": st.column_config.TextColumn("last value", help=last_help),
        "threshold_text": st.column_config.TextColumn("threshold", help="The rule's threshold, in the metric's unit"),
        "condition_text": st.column_config.TextColumn("fires when", help="The rule's comparison and threshold, as configured, in the metric's unit"),
    }


def ending_with_data(trends: pd.Series) -> pd.Series:
    """Sparkline values that end with the data: a trailing unknown bucket (NaN: the period still in progress,
    :func:`dashboard.figures.usage.trend`) is left out rather than drawn, so no line ends in a false drop to 0.
    None (unknown trend) stays None."""

    def cut(values):
        if values is None:
            return None
        vals = list(values)
        while vals and (vals[-1] is None or (isinstance(vals[-1], float) and vals[-1] != vals[-1])):
            vals.pop()
        return vals

    return pd.Series([cut(v) for v in trends], index=trends.index, dtype="object")


def cost_columns(range_text: str) -> dict[str, Any]:
    """The cost columns of a function table (:mod:`dashboard.figures.function_cost`): over the range and the month to date."""
    return {
        "est_cost_usd": number_column("est_cost_usd", label=f"est. cost ({range_text})", help=registry.help_text("est_cost_usd") + " Over the selected range."),
        "mtd_cost_usd": number_column("mtd_cost_usd", label="est. cost MTD"),
    }
