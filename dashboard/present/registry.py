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
- :func:`plural` — a count with its noun (``1 function``, ``3 warnings``, ``1,204 functions``);
  :func:`comparison_text` (``>``, ``≥``) and :func:`threshold_text` — a rule's threshold as it reads
  (``> 60,000 ms``, ``≥ 80 %``), the number as configured, with thousands separators and its unit.
- :func:`delta_color` — ``st.metric``'s ``delta_color`` for a change of ``key``: ``"off"`` (grey) when
  the change is nil or neither way is worse, so an unchanged value is never red.
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
    "plural",
    "COMPARISONS",
    "comparison_text",
    "threshold_text",
    "delta_color",
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


def plural(n: object, noun: str, many: str | None = None) -> str:
    """``n`` with ``noun`` in the singular or plural: ``1 function``, ``3 warnings``, ``1,204 functions``,
    ``0 alerts``; ``many`` when the plural is not ``noun + "s"`` (``plural(2, "day", "days")``). Unknown: ``— <plural>``."""
    v = _finite_number(n)
    word = noun if v is not None and abs(v) == 1 else (many or noun + "s")
    return f"{MISSING if v is None else Unit.COUNT.format(v)} {word}"


def _finite_number(v: object) -> float | None:
    text = Unit.COUNT.format(v)
    return None if text == MISSING else float(v)  # type: ignore[arg-type]


COMPARISONS: dict[str, str] = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": "≥",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "≤",
}


def comparison_text(comparison: object) -> str:
    """CloudWatch's comparison operator as a sign: ``GreaterThanThreshold`` → ``>``; an unknown one as given."""
    return COMPARISONS.get(str(comparison), str(comparison)) if comparison is not None else ""


def _exact(v: float) -> str:
    """A configured number as written, with thousands separators: ``60,000``, ``2.5``, ``0.05``."""
    if v == int(v):
        return f"{v:,.0f}"
    return f"{v:,.6f}".rstrip("0").rstrip(".")


def threshold_text(metric: object, comparison: object, threshold: object) -> str:
    """A rule's condition as it reads: ``> 60,000 ms``, ``≥ 80 % of timeout``, ``> 5 errors``, ``< 1 invocations``.

    The threshold is written as configured (its exact number in the metric's unit, thousands separated), not
    rescaled, so it matches config.yaml; ``—`` when unknown. An unknown metric gets the bare number."""
    v = _finite_number(threshold)
    if v is None:
        return MISSING
    sign = comparison_text(comparison)
    number = _exact(v + 0.0)
    if isinstance(metric, str) and metric in REGISTRY:
        m = entry(metric)
        if m.unit is Unit.USD:
            number = ("-" if v < 0 else "") + "$" + _exact(abs(v))
        elif m.unit is Unit.RATIO:
            number = _exact(100.0 * v) + " %"
        else:
            number = f"{number} {unit_text(metric)}"
    return f"{sign} {number}".strip()


def delta_color(key: str, delta: object) -> str:
    """``st.metric``'s ``delta_color`` for a change of ``key``: ``"off"`` when the change is nil or unknown or
    neither way is worse (invocations), ``"inverse"`` when a rise is bad news, ``"normal"`` when a fall is."""
    worse = higher_is_worse(key)
    v = _finite_number(delta)
    if worse is None or v is None or v == 0:
        return "off"
    return "inverse" if worse else "normal"
