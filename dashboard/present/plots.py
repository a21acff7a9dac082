"""Charts: the one plotly look of Lambda Lens, the colour of every metric, and the figure builders.

- Every metric's colour, label, unit, hover format and unit text are the metric registry's
  (:mod:`dashboard.present.registry`), the same on every page; :data:`REFERENCE_COLOR`,
  :data:`SEVERITY_COLORS` and :data:`ALARM_FILL` are for reference lines, thresholds and ALARM
  periods. The colours are mid-tones that read on Streamlit's light and dark backgrounds.
- :func:`base_layout` — layout defaults (hover "x unified", margins, the legend under the plot:
  :func:`legend_below`, so that on a phone it never overlaps a title and plotly's toolbar never covers it).
  Pages draw every chart with :data:`PHONE_CONFIG` (toolbar on hover only, no logo, responsive).
  Backgrounds, fonts and grid colours are left unset on purpose: pages draw with
  ``st.plotly_chart(fig, theme="streamlit")``, whose template follows the app's light or
  dark theme. Traces carry :func:`dashboard.present.registry.hovertemplate`; :func:`axis_title`
  puts the unit on an axis.
- :func:`function_figure` — one figure for one function: panels stacked on one shared time
  axis (invocations and errors with the error rate, duration avg/p50/p90/p99/max with the
  timeout, throttles with the throttle rate, concurrency with the reserved concurrency,
  memory used against memory allocated, cold starts with init duration, iterator and async
  event age when published), alert thresholds on the panel of their metric and ALARM
  periods shaded there. A panel without data is not drawn: :func:`empty_notes` gives the
  sentence to show instead.
- :func:`alarm_periods` — the time spans the alert engine says ALARM.
- :func:`sparkline_values` — a short list of values per function, for table sparklines.
- :func:`timeseries_figure` — a single-panel chart of a few metrics (for other pages).

The Costs and Teams pages' charts are :mod:`dashboard.present.spend_plots`.

Everything here is pure: frames in, ``plotly.graph_objects.Figure`` or frames out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.alerts import ALARM, DEFAULT_ACCOUNT_LIMIT
from dashboard.present import registry
from dashboard.present.registry import Unit, period_text

if TYPE_CHECKING:
    from dashboard.alerts import Evaluation
    from dashboard.config.settings import AlertRule

__all__ = [
    "REFERENCE_COLOR",
    "SEVERITY_COLORS",
    "ALARM_FILL",
    "PANELS",
    "PanelSpec",
    "base_layout",
    "legend_below",
    "PHONE_CONFIG",
    "axis_title",
    "panel_for_rule",
    "rule_condition",
    "alarm_periods",
    "drawn_panels",
    "empty_notes",
    "function_figure",
    "timeseries_figure",
]

# --- colours ----------------------------------------------------------------------------------------

REFERENCE_COLOR = "#94A3B8"  # slate: timeout, reserved concurrency, memory allocated
SEVERITY_COLORS: dict[str, str] = {"critical": "#EF4444", "warning": "#F59E0B", "info": "#64748B"}
ALARM_FILL = "#EF4444"
ALARM_OPACITY = 0.14


# --- layout, units ------------------------------------------------------------------------------------


def axis_title(what: str, metric: str, *, period_s: int | None = None) -> str:
    """``what`` with the unit of ``metric``: ``"duration (ms)"``; a count per period gets its period
    (``"invocations / 1 min"``), another count what it counts (``"max concurrency (executions)"``)."""
    m = registry.entry(metric)
    if m.unit is Unit.COUNT and m.per_period:
        return f"{what} / {period_text(period_s)}" if period_s else what
    return f"{what} ({registry.unit_text(metric)})"


# plotly's toolbar only on hover, never the plotly logo: on a phone it otherwise sits on the legend
PHONE_CONFIG: dict[str, Any] = {"displaylogo": False, "displayModeBar": "hover", "responsive": True}


def legend_below(y: float = -0.12, *, font_size: int = 12) -> dict[str, Any]:
    """A horizontal legend whose top is at paper ``y`` (under the plot): it never overlaps a title and plotly's
    toolbar never covers it, at any width (phones)."""
    return {"orientation": "h", "yanchor": "top", "y": y, "xanchor": "left", "x": 0, "title": {"text": ""}, "font": {"size": font_size}}


def base_layout(*, height: int | None = None, showlegend: bool = True, x_title: str | None = "time (UTC)") -> dict[str, Any]:
    """Layout defaults every chart shares; apply with ``fig.update_layout(**base_layout())``.

    No background, font or grid colour: Streamlit's theme (``theme="streamlit"``) sets them
    for light and dark mode; the traces carry their metric's registry colour.
    """
    out: dict[str, Any] = {
        "hovermode": "x unified",
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "showlegend": showlegend,
        "legend": legend_below(),
        "hoverlabel": {"namelength": -1},
        "bargap": 0.1,
    }
    if height is not None:
        out["height"] = height
    if x_title:
        out["xaxis"] = {"title": {"text": x_title}}
    return out


def _trace(
    x: Any,
    y: Any,
    *,
    metric: str,
    period_s: int | None = None,
    name: str | None = None,
    kind: str = "line",
    dash: str | None = None,
    legendgroup: str | None = None,
) -> go.BaseTraceType:
    """A trace of ``metric`` (a registry key) in its colour, named and hovered as the registry says."""
    color = registry.colour(metric)
    common = {
        "x": x,
        "y": y,
        "name": name or registry.short_label(metric),
        "hovertemplate": registry.hovertemplate(metric, period_s=period_s),
        "legendgroup": legendgroup,
        "meta": {"metric": metric, "unit": registry.unit(metric).code},
    }
    if kind == "bar":
        return go.Bar(marker={"color": color, "line": {"width": 0}}, **common)
    return go.Scatter(mode="lines", line={"color": color, "width": 1.6, "dash": dash}, connectgaps=False, **common)


# --- panels of the function figure -------------------------------------------------------------------


@dataclass(frozen=True)
class PanelSpec:
    """One panel of the function figure: its title, the metrics drawn on each y axis, and the sentence when empty.

    ``metrics`` and ``secondary`` are registry keys (the frames' column names); an axis is in the unit of
    its first metric, and an alert rule goes on the panel that draws the figure it watches.
    """

    key: str
    title: str
    y_title: str
    metrics: tuple[str, ...]
    secondary: tuple[str, ...] = ()
    secondary_title: str | None = None
    empty: str = ""
    optional: bool = False  # published for some functions only: no sentence when missing

    @property
    def unit(self) -> Unit:
        return registry.unit(self.metrics[0])

    @property
    def secondary_unit(self) -> Unit | None:
        return registry.unit(self.secondary[0]) if self.secondary else None


_DURATIONS = ("duration_avg_ms", "duration_p50_ms", "duration_p90_ms", "duration_p99_ms", "duration_max_ms")

PANELS: tuple[PanelSpec, ...] = (
    PanelSpec("invocations", "Invocations and errors", "invocations", ("invocations", "errors"), ("error_rate",), "error rate", "No invocations in this range."),
    PanelSpec("duration", "Duration", "duration", _DURATIONS, empty="No duration data in this range (no invocations)."),
    PanelSpec("throttles", "Throttles", "throttles", ("throttles",), ("throttle_rate",), "throttle rate", "No throttles in this range."),
    PanelSpec("concurrency", "Concurrent executions", "max concurrency", ("concurrency_max",), empty="No concurrency data in this range."),
    PanelSpec(
        "memory",
        "Memory used vs allocated",
        "memory",
        ("used_mb_max", "used_mb_mean"),
        empty="No memory figures in this range (no REPORT lines and no Lambda Insights data).",
    ),
    PanelSpec("cold_starts", "Cold starts and init duration", "cold starts", ("cold_starts",), ("init_ms_mean",), "init", "No cold starts in this range."),
    PanelSpec("iterator_age", "Iterator age", "iterator age", ("iterator_age_max_ms",), empty="No iterator age data in this range.", optional=True),
    PanelSpec(
        "async_event_age", "Async event age", "async event age", ("async_event_age_max_ms",), empty="No async event age data in this range.", optional=True
    ),
)
_PANEL = {p.key: p for p in PANELS}
_PANEL_SOURCE = {p.key: "memory" if p.key in ("memory", "cold_starts") else "metrics" for p in PANELS}
_OPS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


def _fixed_panel(metric: str) -> tuple[str, bool] | None:
    """(panel, on its secondary axis) of the panel drawing what ``metric`` watches; None when no panel does
    (cold_start_rate: its rule gets a panel of its own)."""
    watched = registry.watches(metric)
    for p in PANELS:
        if watched in p.metrics:
            return p.key, False
        if watched in p.secondary:
            return p.key, True
    return None


def _rule_panel_key(rule: AlertRule) -> str:
    return f"rule:{rule.name}"


def rule_condition(rule: AlertRule, *, config: Mapping[str, Any] | None = None, account_limit: int = DEFAULT_ACCOUNT_LIMIT) -> str:
    """The rule's condition in words, with shares also in the panel's unit: ``"p99 duration > 90.00 % of the timeout (5,400 ms)"``."""
    _, _, _, label = panel_for_rule(rule, config=config or {}, account_limit=account_limit)
    return label.split(": ", 1)[1]


def panel_for_rule(
    rule: AlertRule, *, config: Mapping[str, Any], account_limit: int = DEFAULT_ACCOUNT_LIMIT
) -> tuple[str, bool, float | None, str]:
    """Where ``rule``'s threshold goes: ``(panel key, secondary axis, y in the panel's unit, label)``.

    Shares are converted to the panel's unit: ``duration_p99_timeout_share`` 90 % of a 6 s
    timeout → 5,400 ms on the duration panel; ``memory_utilization`` 90 % of 256 MB →
    230.4 MB; ``concurrency_account_share`` 80 % of 1,000 → 800 executions. ``y`` is None when
    the conversion lacks its base (no timeout or memory size known). ``label`` is
    ``"<rule name>: <condition>"``, every number written as the registry writes it.
    """
    metric = rule.metric
    thr = float(rule.threshold)
    op = _OPS[rule.comparison]
    shown = registry.format(metric, thr)
    if registry.summed(metric):
        shown += f" per {period_text(rule.period_s)}"
    condition = f"{registry.label(metric)} {op} {shown}"
    panel, secondary = _fixed_panel(metric) or (_rule_panel_key(rule), False)
    y: float | None = thr
    if metric == "duration_p99_timeout_share":
        timeout_s = _num(config.get("timeout_s"))
        y = None if timeout_s is None else thr / 100.0 * timeout_s * 1000.0
        condition = f"p99 duration {op} {shown} of the timeout" + ("" if y is None else f" ({registry.format('duration_p99_ms', y)})")
    elif metric == "memory_utilization":
        mb = _num(config.get("memory_mb"))
        y = None if mb is None else thr / 100.0 * mb
        of = "" if mb is None or y is None else f" ({registry.format('used_mb_max', y)} of {registry.format('memory_mb', mb)})"
        condition = f"memory used {op} {shown} of the allocation{of}"
    elif metric == "concurrency_account_share":
        y = thr / 100.0 * float(account_limit)
        condition = f"concurrency {op} {shown} of the account limit ({registry.format('concurrency_max', y)})"
    return panel, secondary, y, f"{rule.name}: {condition}"


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def alarm_periods(evaluation: Evaluation, *, period_s: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The spans whose evaluation said ALARM: consecutive periods merged, ``(first start, last end)``.

    ``evaluation.states`` is indexed by each period's end; a period in ALARM covers
    ``[end - period, end)``.
    """
    states = evaluation.states
    if states is None or len(states) == 0:
        return []
    is_alarm = (states == ALARM).fillna(False).to_numpy(dtype=bool)
    ends = pd.DatetimeIndex(states.index)
    step = pd.Timedelta(seconds=int(period_s))
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    i, n = 0, len(is_alarm)
    while i < n:
        if not is_alarm[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and is_alarm[j + 1] and ends[j + 1] - ends[j] == step:
            j += 1
        out.append((ends[i] - step, ends[j]))
        i = j + 1
    return out


def _period_of(frame: pd.DataFrame | None, column: str) -> int | None:
    if frame is None or frame.empty or column not in frame:
        return None
    v = pd.to_numeric(frame[column], errors="coerce").max()
    return None if pd.isna(v) else int(v)


def _has(frame: pd.DataFrame | None, columns: Iterable[str], *, positive: bool = False) -> bool:
    if frame is None or frame.empty:
        return False
    for c in columns:
        if c not in frame:
            continue
        v = pd.to_numeric(frame[c], errors="coerce").astype("float64")
        if positive:
            if (v.fillna(0.0) > 0).any():
                return True
        elif v.notna().any():
            return True
    return False


def _panel_has_data(key: str, metrics: pd.DataFrame | None, memory: pd.DataFrame | None) -> bool:
    if key == "invocations":
        return _has(metrics, ["invocations", "errors"], positive=True)
    if key == "duration":
        return _has(metrics, _DURATIONS)
    if key == "throttles":
        return _has(metrics, ["throttles"], positive=True)
    if key == "concurrency":
        return _has(metrics, ["concurrency_max"], positive=True)
    if key == "memory":
        return _has(memory, ["used_mb_max", "used_mb_mean"])
    if key == "cold_starts":
        return _has(memory, ["cold_starts"], positive=True)
    if key == "iterator_age":
        return _has(metrics, ["iterator_age_max_ms"])
    if key == "async_event_age":
        return _has(metrics, ["async_event_age_max_ms"])
    raise KeyError(key)


def _rule_panels(rules: Sequence[Any]) -> list[Any]:
    """The rule evaluations that need a panel of their own (a metric no fixed panel has an axis for)."""
    return [r for r in rules if _fixed_panel(r.rule.metric) is None]


def _visible(series: pd.Series | None, x_range: tuple[datetime, datetime] | None) -> pd.Series:
    """A rule's series (evaluated over a window that may start before the chart) cut to the chart's range."""
    if series is None or len(series) == 0:
        return pd.Series([], dtype="float64")
    s = pd.Series(series, dtype="float64")
    if x_range is not None:
        idx = pd.DatetimeIndex(s.index)
        s = s[(idx > pd.Timestamp(x_range[0]) - pd.Timedelta(seconds=int(series.attrs.get("period_s") or 0))) & (idx < pd.Timestamp(x_range[1]))]
    return s


def drawn_panels(
    *,
    metrics: pd.DataFrame | None,
    memory: pd.DataFrame | None,
    rules: Sequence[Any] = (),
    x_range: tuple[datetime, datetime] | None = None,
) -> list[str]:
    """The keys of the panels :func:`function_figure` draws, top to bottom (those with data)."""
    keys = [p.key for p in PANELS if _panel_has_data(p.key, metrics, memory)]
    for r in _rule_panels(rules):
        if _visible(r.series, x_range).notna().any():
            keys.append(_rule_panel_key(r.rule))
    return keys


def empty_notes(
    *,
    metrics: pd.DataFrame | None,
    memory: pd.DataFrame | None,
    rules: Sequence[Any] = (),
    highlight_rule: str | None = None,
    x_range: tuple[datetime, datetime] | None = None,
    unavailable: Iterable[str] = (),
) -> list[str]:
    """One sentence per panel that is not drawn (no data), in panel order.

    Optional panels (iterator age, async event age) say so only when the highlighted rule
    watches them; a rule panel (cold-start rate) says so when its rule has no datapoint.
    ``unavailable`` names the frames ("metrics", "memory") whose source failed: their
    panels get no sentence (no data is not "no invocations"; the page says why instead).
    """
    skip = set(unavailable)
    drawn = set(drawn_panels(metrics=metrics, memory=memory, rules=rules, x_range=x_range))
    highlighted_panel = None
    for r in rules:
        if r.rule.name == highlight_rule:
            highlighted_panel = (_fixed_panel(r.rule.metric) or (_rule_panel_key(r.rule), False))[0]
    notes: list[str] = []
    for p in PANELS:
        if p.key in drawn or _PANEL_SOURCE[p.key] in skip:
            continue
        if p.key == "cold_starts" and not _has(memory, ["used_mb_max", "used_mb_mean", "cold_starts"]):
            notes.append("No cold-start figures in this range (no REPORT lines and no Lambda Insights data).")
            continue
        if p.optional and p.key != highlighted_panel:
            continue
        notes.append(p.empty)
    for r in _rule_panels(rules):
        key = _rule_panel_key(r.rule)
        alerting = registry.entry(r.rule.metric).alert
        if key not in drawn and (alerting is None or alerting.frame not in skip):
            what = registry.label(r.rule.metric)
            notes.append(f"No {what} data for rule {r.rule.name} in this range.")
    return notes


def _x(frame: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").astype("float64").to_numpy()


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * np.nan_to_num(num, nan=0.0) / den, np.nan)


def function_figure(
    *,
    metrics: pd.DataFrame | None,
    memory: pd.DataFrame | None = None,
    config: Mapping[str, Any] | None = None,
    rules: Sequence[Any] = (),
    x_range: tuple[datetime, datetime] | None = None,
    highlight_rule: str | None = None,
    account_limit: int = DEFAULT_ACCOUNT_LIMIT,
    panel_height: int = 210,
) -> go.Figure | None:
    """One function's panels on one shared time axis; None when no panel has data.

    ``metrics`` is one function's slice of ``aws.metrics.LAMBDA_SCHEMA``, ``memory`` of
    ``dashboard.query.sources.MEMORY_SCHEMA``; ``config`` its inventory row (``timeout_s``,
    ``memory_mb``, ``reserved_concurrency``); ``rules`` its rule evaluations (objects with
    ``rule``, ``series`` from :func:`dashboard.alerts.series_for` and ``evaluation`` from
    :func:`dashboard.alerts.evaluate`, e.g. :class:`dashboard.web.function_view.RuleEval`).

    Reference lines (shape ``name``): ``timeout`` (ms), ``reserved concurrency``,
    ``memory allocated`` (MB); ``threshold:<rule>`` per rule on the panel of its metric;
    ALARM periods are ``alarm:<rule>`` rectangles on that panel. ``highlight_rule`` draws
    that rule's threshold thicker and marks its panel title with "▶".
    """
    config = dict(config or {})
    metrics = metrics if metrics is not None else pd.DataFrame()
    memory = memory if memory is not None else pd.DataFrame()
    keys = drawn_panels(metrics=metrics, memory=memory, rules=rules, x_range=x_range)
    if not keys:
        return None
    rule_by_panel = {_rule_panel_key(r.rule): r for r in _rule_panels(rules)}
    placed = {r.rule.name: panel_for_rule(r.rule, config=config, account_limit=account_limit) for r in rules}
    highlighted = placed[highlight_rule][0] if highlight_rule in placed else None
    if highlighted in keys:  # the panel the visitor came for comes first
        keys = [highlighted, *(k for k in keys if k != highlighted)]

    specs: list[PanelSpec] = []
    for k in keys:
        if k in _PANEL:
            specs.append(_PANEL[k])
        else:
            r = rule_by_panel[k].rule
            what = registry.label(r.metric)
            per = period_text(int(rule_by_panel[k].series.attrs.get("period_s") or r.period_s))
            specs.append(PanelSpec(k, f"{what.capitalize()} (rule {r.name}, per {per})", what, (r.metric,)))
    titles = [("▶ " if s.key == highlighted else "") + s.title for s in specs]
    fig = make_subplots(
        rows=len(specs),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.06, 0.3 / max(len(specs), 1)),  # replaced by :func:`_stack_panels`, in px
        specs=[[{"secondary_y": s.secondary_unit is not None}] for s in specs],
        subplot_titles=titles,
    )
    row_of = {s.key: i + 1 for i, s in enumerate(specs)}
    has_secondary = {i + 1: s.secondary_unit is not None for i, s in enumerate(specs)}
    lines: list[_Line] = []
    shapes: list[dict[str, Any]] = []
    m_period = _period_of(metrics, "period_s")
    mem_period = _period_of(memory, "bin_s")
    m = metrics.sort_values("timestamp") if not metrics.empty else metrics
    mem = memory.sort_values("timestamp") if not memory.empty else memory

    for s in specs:
        row = row_of[s.key]
        period = mem_period if s.key in ("memory", "cold_starts") else m_period
        add = _adder(fig, row)
        if s.key == "invocations":
            x, inv, err = _x(m), _col(m, "invocations"), _col(m, "errors")
            add(_trace(x, inv, metric="invocations", period_s=period))
            add(_trace(x, err, metric="errors", period_s=period))
            add(_trace(x, _rate(err, inv), metric="error_rate", dash="dot"), secondary=True)
        elif s.key == "duration":
            x = _x(m)
            for c in _DURATIONS:
                add(_trace(x, _col(m, c), metric=c))
            timeout_s = _num(config.get("timeout_s"))
            if timeout_s is not None:
                _reference(lines, row, timeout_s * 1000.0, "timeout", f"timeout {Unit.MILLISECONDS.format(timeout_s * 1000.0)}")
                values = np.concatenate([_col(m, c) for c in _DURATIONS])
                values = values[np.isfinite(values) & (values > 0)]
                if values.size and timeout_s * 1000.0 > OFF_SCALE * values.max():
                    # the timeout towers over the durations: a log axis shows both, on 1-2-5 ticks
                    fig.update_yaxes(type="log", tickvals=_ticks_125(values.min(), timeout_s * 1000.0), tickformat=",~r", row=row, col=1)
        elif s.key == "throttles":
            x, thr, inv = _x(m), _col(m, "throttles"), _col(m, "invocations")
            add(_trace(x, thr, metric="throttles", period_s=period, kind="bar"))
            add(_trace(x, _rate(thr, np.nan_to_num(inv, nan=0.0) + np.nan_to_num(thr, nan=0.0)), metric="throttle_rate", dash="dot"), secondary=True)
        elif s.key == "concurrency":
            add(_trace(_x(m), _col(m, "concurrency_max"), metric="concurrency_max"))
            reserved = _num(config.get("reserved_concurrency"))
            if reserved is not None:
                _reference(lines, row, reserved, "reserved concurrency", f"reserved concurrency {registry.format('concurrency_max', reserved)}")
        elif s.key == "memory":
            x = _x(mem)
            add(_trace(x, _col(mem, "used_mb_max"), metric="used_mb_max"))
            if np.isfinite(_col(mem, "used_mb_mean")).any():
                add(_trace(x, _col(mem, "used_mb_mean"), metric="used_mb_mean", dash="dot"))
            size = _num(config.get("memory_mb"))
            if size is not None:
                _reference(lines, row, size, "memory allocated", f"memory allocated {registry.format('memory_mb', size)}")
        elif s.key == "cold_starts":
            x = _x(mem)
            add(_trace(x, _col(mem, "cold_starts"), metric="cold_starts", period_s=period, kind="bar"))
            init = _col(mem, "init_ms_mean")
            if np.isfinite(init).any():
                t = _trace(x, init, metric="init_ms_mean")
                t.update(mode="markers", marker={"color": registry.colour("init_ms_mean"), "size": 4})  # sparse: bins without a cold start have none
                add(t, secondary=True)
        elif s.key == "iterator_age":
            add(_trace(_x(m), _col(m, "iterator_age_max_ms"), metric="iterator_age_max_ms"))
        elif s.key == "async_event_age":
            add(_trace(_x(m), _col(m, "async_event_age_max_ms"), metric="async_event_age_max_ms"))
        else:  # a rule panel: the rule's own series, as the engine evaluated it
            r = rule_by_panel[s.key]
            series = _visible(r.series, x_range)
            add(
                _trace(
                    pd.DatetimeIndex(series.index),
                    series.to_numpy(),
                    metric=r.rule.metric,
                    period_s=int(r.series.attrs.get("period_s") or r.rule.period_s),
                    name=f"{registry.label(r.rule.metric)} ({r.rule.name})",
                )
            )
        fig.update_yaxes(title_text=axis_title(s.y_title, s.metrics[0], period_s=period), row=row, col=1, secondary_y=False)
        if s.secondary:
            fig.update_yaxes(
                title_text=axis_title(s.secondary_title or "", s.secondary[0]), row=row, col=1, secondary_y=True, showgrid=False, rangemode="tozero",
                tickmode="auto", nticks=5,  # its own round ticks (Streamlit's theme syncs them to the left axis: 2.77, 5.54, ...)
            )
        if s.unit in (Unit.COUNT, Unit.MEGABYTES, Unit.PERCENT):
            fig.update_yaxes(rangemode="tozero", row=row, col=1, secondary_y=False)

    # thresholds and ALARM periods, on the panel of each rule's metric
    for r in rules:
        panel, secondary, y, label = placed[r.rule.name]
        if panel not in row_of:
            continue
        row = row_of[panel]
        strong = r.rule.name == highlight_rule
        if y is not None:
            color = SEVERITY_COLORS.get(r.rule.severity, REFERENCE_COLOR)
            lines.append(
                _Line(
                    row,
                    secondary,
                    y,
                    f"threshold:{r.rule.name}",
                    label,
                    color,
                    3.0 if strong else 1.2,
                    "solid" if strong else "dash",
                    "end",
                    f"{r.rule.name} at {registry.format(registry.watches(r.rule.metric), y)}",
                )
            )
        period = int(r.series.attrs.get("period_s") or r.rule.period_s) if r.series is not None else r.rule.period_s
        sub = fig.get_subplot(row, 1)
        xref, yref = _ref(sub.xaxis), _ref(sub.yaxis)
        for x0, x1 in alarm_periods(r.evaluation, period_s=period):
            shapes.append(
                {
                    "type": "rect",
                    "name": f"alarm:{r.rule.name}",
                    "xref": xref,
                    "x0": x0.isoformat(),
                    "x1": x1.isoformat(),
                    "yref": f"{yref} domain",
                    "y0": 0,
                    "y1": 1,
                    "fillcolor": ALARM_FILL,
                    "opacity": ALARM_OPACITY * (1.6 if strong else 1.0),
                    "line": {"width": 0},
                    "layer": "below",
                }
            )

    title_text = {i + 1: t for i, t in enumerate(titles)}
    shapes.extend(_draw_lines(fig, lines, title_text, has_secondary))
    fig.update_layout(shapes=shapes)

    rows = len(specs)
    legend_px = [_legend_height([t.name for t in fig.data if (t.legend or "legend") == _legend_id(r) and t.showlegend is not False])
                 for r in range(1, rows + 1)]  # fmt: skip
    # a title with a note ("off the scale: …") puts the note on its own line: whole on a phone
    title_text = {r: t.replace("  ·  ", "<br>") for r, t in title_text.items()}
    title_px = [PANEL_TITLE + TITLE_LINE * title_text[r].count("<br>") for r in range(1, rows + 1)]
    area, tops = _stack_panels(fig, rows, panel_height, legend_px, title_px)
    top_px = PANEL_TOP + TITLE_LINE * title_text[1].count("<br>")
    layout = base_layout(height=area + top_px + LAST_LEGEND_DROP + legend_px[-1] + 10, x_title=None)
    layout["margin"] = {"l": 10, "r": 10, "t": top_px, "b": LAST_LEGEND_DROP + legend_px[-1] + 10}
    fig.update_layout(**layout)
    fig.update_xaxes(title_text="time (UTC)", row=rows, col=1)
    # the time ticks stay level and few enough to fit a phone's plot width: plotly would otherwise turn them 30° on a
    # phone, which pushes the axis title down onto the last legend (LAST_LEGEND_DROP assumes level ticks)
    fig.update_xaxes(tickangle=0, nticks=TIME_TICKS)
    if x_range is not None:
        fig.update_xaxes(range=[pd.Timestamp(x_range[0]), pd.Timestamp(x_range[1])])
    # subplot titles: left-aligned above each panel; each panel has its own legend, under it (in the gap before the
    # next panel's title, the last one under the time axis), the gap as tall as the legend's rows at 390 px: on a
    # phone a legend wraps downwards, never onto a title
    for i, a in enumerate(fig.layout.annotations[:rows]):
        a.update(text=title_text[i + 1], x=0, xanchor="left", align="left", y=tops[i], yanchor="bottom", font={"size": 13})
    for row in range(1, rows + 1):
        bottom = fig.get_subplot(row, 1).yaxis.domain[0]
        below = LAST_LEGEND_DROP if row == rows else 4
        fig.layout[_legend_id(row)] = {**legend_below(bottom - below / area, font_size=11), "bgcolor": "rgba(0,0,0,0)"}
    return fig


def _legend_id(row: int) -> str:
    return "legend" if row == 1 else f"legend{row}"


PHONE_LEGEND_WIDTH = 170  # px a legend has on a 390 px screen: the plot's width between the y axes' titles
LEGEND_ROW = 22  # px a row of entries at 11 px takes


LEGEND_LINE_CHARS = 24  # a legend entry longer than this is written on lines of at most this many characters


def _wrapped(label: str) -> str:
    """A long legend entry (a threshold's condition) on several lines: whole within a phone's width."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= LEGEND_LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _legend_height(names: Sequence[str]) -> int:
    """The px a horizontal legend of these entries takes at 390 px: entries wrapped into rows (about 6 px a
    character at 11 px, 40 px of symbol and spacing each)."""
    rows, used, tall = (1 if names else 0), 0.0, 1
    for name in names:
        parts = str(name or "").split("<br>")
        w = 40 + 6.2 * max(len(p) for p in parts)
        if used and used + w > PHONE_LEGEND_WIDTH:
            rows, used, tall = rows + tall, 0.0, 1
        used += w
        tall = max(tall, len(parts))  # a row is as tall as its entry of most lines
    rows += tall - 1 if names else 0
    return rows * LEGEND_ROW + 6


def _stack_panels(
    fig: go.Figure, rows: int, panel_height: int, legend_px: Sequence[int], title_px: Sequence[int]
) -> tuple[int, list[float]]:
    """Lay the panels out top to bottom in px (each ``panel_height``, then its legend and the next one's title);
    returns the plot area's height in px and each panel's top in paper units."""
    gaps = [legend_px[r] + 4 + title_px[r + 1] for r in range(rows - 1)]
    area = rows * panel_height + sum(gaps)
    tops: list[float] = []
    y = 0
    for r in range(1, rows + 1):
        top, bottom = 1 - y / area, 1 - (y + panel_height) / area
        tops.append(top)
        for secondary in (False, True):
            sub = fig.get_subplot(r, 1, secondary_y=secondary) if secondary else fig.get_subplot(r, 1)
            if sub is not None and sub.yaxis is not None:
                sub.yaxis.domain = [max(0.0, bottom), min(1.0, top)]
        y += panel_height + (gaps[r - 1] if r < rows else 0)
    return area, tops


PANEL_TITLE = 26  # px above a panel: its title
TITLE_LINE = 18  # px each further line of a title takes
PANEL_TOP = 30  # px above the first panel: its title
TIME_TICKS = 6  # at most this many time ticks: level labels ("06:00", then the date under the day's first) fit 230 px
LAST_LEGEND_DROP = 76  # px under the last panel to its legend: the time axis's ticks (two lines: time, then date) and title first


def _adder(fig: go.Figure, row: int):
    def add(trace: go.BaseTraceType, secondary: bool = False) -> None:
        trace.legend = "legend" if row == 1 else f"legend{row}"
        fig.add_trace(trace, row=row, col=1, secondary_y=secondary if secondary else None)

    return add


@dataclass
class _Line:
    """A horizontal line waiting to be drawn once every trace is in (its axis range may depend on it)."""

    row: int
    secondary: bool
    y: float
    name: str
    label: str
    color: str
    width: float
    dash: str
    textposition: str
    short: str = ""  # named in the panel title when the line is off the scale


def _reference(lines: list[_Line], row: int, y: float, name: str, label: str) -> None:
    lines.append(_Line(row, False, y, name, label, REFERENCE_COLOR, 1.5, "longdash", "start", label))


OFF_SCALE = 4.0  # a line more than this many times above the panel's data is named in the title, not drawn to scale


def _yref(fig: go.Figure, row: int, secondary: bool) -> str:
    sub = fig.get_subplot(row, 1, secondary_y=secondary) if secondary else fig.get_subplot(row, 1)
    return _ref(sub.yaxis)


def _data_max(fig: go.Figure, yref: str) -> float:
    top = np.nan
    for t in fig.data:
        if (t.yaxis or "y") == yref and t.y is not None:
            v = np.asarray(t.y, dtype="float64")
            if v.size and np.isfinite(v).any():
                top = np.nanmax([top, np.nanmax(v)])
    return float(top)


def _ticks_125(lo: float, hi: float) -> list[float]:
    """1, 2, 5, 10, 20, 50, … from below ``lo`` to above ``hi``."""
    out: list[float] = []
    exp = math.floor(math.log10(lo))
    while True:
        for m in (1, 2, 5):
            v = m * 10.0**exp
            if v >= lo / 5:
                out.append(v)
            if v > hi:
                return out
        exp += 1


def _ref(axis: Any) -> str:
    """``layout.xaxis2`` → ``"x2"``."""
    return axis.plotly_name.replace("axis", "")


def _draw_lines(fig: go.Figure, lines: list[_Line], titles: dict[int, str], has_secondary: dict[int, bool]) -> list[dict[str, Any]]:
    """The lines as shapes; an axis whose lines tower over its data keeps the data's scale and names them in the title."""
    off: dict[int, list[str]] = {}
    shapes: list[dict[str, Any]] = []
    by_axis: dict[tuple[int, bool], list[_Line]] = {}
    for ln in lines:
        by_axis.setdefault((ln.row, ln.secondary and has_secondary[ln.row]), []).append(ln)
    for (row, secondary), group in by_axis.items():
        yref = _yref(fig, row, secondary)
        top = _data_max(fig, yref)
        log = fig.layout[yref.replace("y", "yaxis")].type == "log"
        far = [ln for ln in group if not log and np.isfinite(top) and top > 0 and ln.y > OFF_SCALE * top]
        if far:
            fig.update_yaxes(range=[0, top * 1.15], autorange=False, row=row, col=1, secondary_y=secondary or None)
            off.setdefault(row, []).extend(ln.short or ln.label for ln in far)
        xref = _ref(fig.get_subplot(row, 1).xaxis)
        for ln in group:
            if ln not in far:  # named in the panel's legend, not written on the line over the data
                fig.add_trace(
                    go.Scatter(
                        x=[None], y=[None], mode="lines", name=_wrapped(ln.label), hoverinfo="skip", legendgroup=ln.name,
                        line={"color": ln.color, "width": ln.width, "dash": ln.dash},
                        legend="legend" if row == 1 else f"legend{row}",
                    ),
                    row=row, col=1, secondary_y=secondary or None,
                )  # fmt: skip
            shapes.append(
                {
                    "type": "line",
                    "name": ln.name,
                    "xref": f"{xref} domain",
                    "x0": 0,
                    "x1": 1,
                    "yref": yref,
                    "y0": ln.y,
                    "y1": ln.y,
                    "line": {"color": ln.color, "width": ln.width, "dash": ln.dash},
                    "layer": "above",
                }
            )
    for row, labels in off.items():
        titles[row] = f"{titles[row]}  ·  off the scale: {', '.join(labels)}"
    return shapes


# --- sparklines and simple charts ------------------------------------------------------------------------

KEY = ["account", "region", "function"]


def timeseries_figure(
    frame: pd.DataFrame,
    *,
    columns: Mapping[str, str] | Sequence[str],
    title: str | None = None,
    x: str = "timestamp",
    kind: str = "line",
    period_s: int | None = None,
    y_title: str | None = None,
    height: int = 300,
) -> go.Figure:
    """One panel of a few columns of ``frame`` over ``x``, each in its metric's colour and unit.

    ``columns`` maps a frame column to its metric (a registry key), or lists columns named like
    metrics; the metrics share one unit (the axis's). ``kind`` is ``line``, ``bar`` or ``stacked``
    (stacked bars).
    """
    mapping = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    units = {registry.unit(m) for m in mapping.values()}
    if len(units) > 1:
        raise ValueError(f"one axis, one unit: {', '.join(sorted(u.code for u in units))} given")
    fig = go.Figure()
    xs = frame[x] if x in frame else frame.index
    for col, metric in mapping.items():
        fig.add_trace(_trace(xs, _col(frame, col), metric=metric, period_s=period_s, kind="bar" if kind in ("bar", "stacked") else "line"))
    fig.update_layout(**base_layout(height=height))
    if kind == "stacked":
        fig.update_layout(barmode="stack")
    if title:
        fig.update_layout(title={"text": title, "x": 0, "xanchor": "left"})
    if mapping:
        first = next(iter(mapping.values()))
        fig.update_yaxes(title_text=y_title or axis_title(registry.label(first), first, period_s=period_s))
        if registry.unit(first) in (Unit.COUNT, Unit.MEGABYTES, Unit.PERCENT, Unit.USD):
            fig.update_yaxes(rangemode="tozero")
    return fig
