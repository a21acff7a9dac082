"""The metric registry as every surface reads it: a figure's label, unit, help, colour and text.

The table itself is :data:`dashboard.figures.metrics.REGISTRY` (one :class:`~dashboard.figures.metrics.Metric`
per key; it lives below the alert engine, which reads it too); this module is how the charts, pages, tiles,
digest and CLI ask it. Every function takes a key of the table and raises ``KeyError`` naming an unknown one.

- :func:`format` — a value with its unit, one rule per unit (``24,996``, ``12.50 %``, ``7.5 min``,
  ``512 MB``, ``-$6.29``; ``—`` when unknown, never ``nan`` or 0); :func:`value_text` the same for the
  metric a row names (alert values on the Alerts page and in the digest); :func:`unit_text` — the unit in words,
  one per metric (``% of timeout``, ``executions``); :func:`label`, :func:`short_label`, :func:`help_text`.
- :func:`colour` — one colour per metric, the same on every page; an alert metric takes the colour of
  the figure it watches (:func:`watches`).
- :func:`d3_format`, :func:`hovertemplate` — plotly's format of a value and its hover text;
  :func:`column_format` — Streamlit's ``NumberColumn`` format.
"""

from __future__ import annotations

from dashboard.figures.metrics import MISSING, REGISTRY, Alerting, Metric, Unit

__all__ = [
    "MISSING",
    "REGISTRY",
    "Alerting",
    "Metric",
    "Unit",
    "entry",
    "unit",
    "format",
    "value_text",
    "unit_text",
    "label",
    "short_label",
    "help_text",
    "colour",
    "watches",
    "higher_is_worse",
    "summed",
    "alert_metrics",
    "period_text",
    "d3_format",
    "hovertemplate",
    "column_format",
]


def entry(key: str) -> Metric:
    """The registry's entry for ``key``."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"no metric {key!r} in the registry (dashboard/figures/metrics.py)") from None


def unit(key: str) -> Unit:
    return entry(key).unit


def format(key: str, value: object) -> str:
    """``value`` of ``key`` with its unit: ``registry.format("invocations", 24996)`` → ``"24,996"``; ``—`` when unknown."""
    return entry(key).unit.format(value)


def value_text(metric: object, value: object) -> str:
    """A value of the metric a row names (an alert's ``metric`` column): as :func:`format`, or a plain number
    when the row names no metric the registry knows. The Alerts page and the digest write alert values so."""
    return format(metric, value) if isinstance(metric, str) and metric in REGISTRY else Unit.COUNT.format(value)


def unit_text(key: str) -> str:
    """The unit of ``key`` in words, the same on every surface: ``%``, ``% of timeout``, ``ms``, ``errors``, ``executions``.

    A count says what it counts (its label, unless the entry says otherwise).
    """
    m = entry(key)
    if m.unit_text:
        return m.unit_text
    return m.label if m.unit is Unit.COUNT else m.unit.code


def label(key: str) -> str:
    """Its name in a sentence or a column header: ``"error rate"``, ``"p99 duration"``."""
    return entry(key).label


def short_label(key: str) -> str:
    """Its name in a chart legend, where the panel's title says the rest: ``"p99"``."""
    m = entry(key)
    return m.short or m.label


def help_text(key: str) -> str:
    return entry(key).help


def watches(key: str) -> str:
    """The figure an alert metric's threshold is drawn against (its own key for any other metric)."""
    m = entry(key)
    return m.alert.watches if m.alert is not None and m.alert.watches is not None else key


def colour(key: str) -> str:
    """The colour of ``key`` on every chart and page; an alert metric's is that of the figure it watches."""
    m = entry(key)
    return m.colour if m.colour is not None else colour(watches(key))


def higher_is_worse(key: str) -> bool | None:
    """True when a rise is bad news, False when a fall is, None when neither (invocations)."""
    return entry(key).higher_is_worse


def summed(key: str) -> bool:
    """Whether ``key`` is a count per period (summed when periods are combined); False for an unknown key."""
    m = REGISTRY.get(key)
    return m is not None and m.per_period


def alert_metrics() -> dict[str, Alerting]:
    """Every metric an alert rule can watch, with what the engine needs of it."""
    return {k: m.alert for k, m in REGISTRY.items() if m.alert is not None}


def period_text(period_s: int | None) -> str:
    """``60`` → ``"1 min"``, ``3600`` → ``"1 h"``, ``86400`` → ``"1 d"``."""
    if not period_s:
        return "period"
    if period_s % 86400 == 0:
        return f"{period_s // 86400} d"
    if period_s % 3600 == 0:
        return f"{period_s // 3600} h"
    if period_s % 60 == 0:
        return f"{period_s // 60} min"
    return f"{period_s} s"


def d3_format(key: str) -> str:
    """plotly's (d3) format of a value of ``key`` on hover: ``",.2f"`` for ms, ``"$,.2f"`` for money."""
    return entry(key).unit.d3


def hovertemplate(key: str, *, period_s: int | None = None) -> str:
    """The value with its unit on hover: ``"%{y:,.2f} ms"``, ``"%{y:$,.2f}"``; a count per period says per what
    period (``"%{y:,.0f} / 1 min"``), any other count what it counts (``"%{y:,.0f} executions"``)."""
    m = entry(key)
    value = f"%{{y:{m.unit.d3}}}"
    if m.unit is Unit.COUNT:
        if m.per_period:
            return value + (f" / {period_text(period_s)}" if period_s else "")
        return f"{value} {unit_text(key)}"
    if m.unit in (Unit.USD, Unit.RATIO):  # the format itself writes "$" or "%"
        return value
    return f"{value} {m.unit.symbol}"


def column_format(key: str) -> str:
    """Streamlit's ``NumberColumn`` format for ``key``: printf-style (``"%,.0f"``, ``"%,.2f %%"``) or a preset (``"dollar"``)."""
    return entry(key).unit.printf
