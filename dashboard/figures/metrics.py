"""Every metric and derived figure, defined once: where it comes from, its unit, its name, colour and help,
which way is worse, and how the alert engine treats it.

:data:`REGISTRY` holds one :class:`Metric` per key, the key being the column or figure name as the frames
spell it (``invocations``, ``duration_p99_ms``, ``memory_used_pct``, ``spend_mtd``) or an alert metric of
``config.yaml`` (``duration_p99_timeout_share``, ``no_invocations``, …). No surface keeps a table of its
own: the charts, the alert engine, the Overview's tiles, the pages' columns, the digest and the CLI's CSV
all read this one (the surfaces through :mod:`dashboard.present.registry`).

- :class:`Unit` — units as data, after aws-powertools' ``MetricUnit``: each unit knows its symbol, how a
  value of it is written (:meth:`Unit.format`: one rule per unit, e.g. durations ``12.5 ms``, ``1,234 ms``,
  ``12.3 s``, ``7.5 min``, ``1.2 h``), its plotly d3 format and its Streamlit ``NumberColumn`` format.
- :class:`Alerting` — what the alert engine needs of an alert metric: the frame it is derived from, how
  sub-periods combine, whether the minimum-invocations guard applies, and the figure its threshold is
  drawn against on the function page.

Sources of the ``AWS/Lambda`` columns are read from :data:`aws.metrics.CORE_SPECS` (the specs the
collector asks CloudWatch for), not restated. This module imports nothing from ``dashboard``: the alert
engine reads it as well as the presentation, so it sits below both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from aws.metrics import CORE_SPECS, OPTIONAL_SPECS

__all__ = ["MISSING", "Unit", "Alerting", "Metric", "REGISTRY"]

MISSING = "—"  # unknown: None, NA, NaN (never "nan", never 0)


def _finite(value: object) -> float | None:
    """``value`` as a float, or None when it is missing or not a finite number."""
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # pd.NA and other non-numbers
        return None
    return v if math.isfinite(v) else None


def _count(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:,.2f}"


def _milliseconds(v: float) -> str:
    """``12.5 ms`` below 100 ms, ``1,234 ms`` below 10 s, then ``12.3 s``, ``7.5 min``, ``1.2 h``.

    A value is written in the larger unit as soon as its rounded text would reach the next step
    (59,970 ms is ``1.0 min``, not ``60.0 s``).
    """
    a = abs(v)
    if round(a, 1) < 100:
        return f"{v:.1f} ms"
    if round(a) < 10_000:
        return f"{v:,.0f} ms"
    for scale, symbol, below in ((1_000.0, "s", 60.0), (60_000.0, "min", 60.0)):
        if round(a / scale, 1) < below:
            return f"{v / scale:.1f} {symbol}"
    return f"{v / 3_600_000:,.1f} h"


def _usd(v: float) -> str:
    """``$1,234.56``; ``-$6.29`` (the sign before the $); below a cent two significant digits: ``$0.0012``,
    ``$0.000012`` (a function's cost of a day can be that small)."""
    a = abs(v)
    text = f"{a:,.{min(8, max(4, 1 - math.floor(math.log10(a))))}f}" if 0 < a < 0.01 else f"{a:,.2f}"
    sign = "-" if v < 0 and text.strip("0.,") else ""
    return f"{sign}${text}"


class Unit(Enum):
    """A unit: its code (what an axis title or unit column says), its symbol, and how its values are written.

    ``d3`` is plotly's format of a value on hover (finer than :meth:`format`: hover shows the number as
    drawn); ``printf`` is Streamlit's ``NumberColumn`` format (printf-style with ``,`` for thousands, or
    one of its presets); ``digits`` the decimals a CSV keeps.
    """

    COUNT = ("count", "", ",.0f", "%,.0f", 0)
    PERCENT = ("%", "%", ".2f", "%,.2f %%", 4)
    RATIO = ("ratio", "%", ".2%", "percent", 4)  # a fraction 0..1, shown as a percentage
    MILLISECONDS = ("ms", "ms", ",.2f", "%,.1f ms", 3)
    SECONDS = ("s", "s", ",.0f", "%,.0f s", 0)
    MEGABYTES = ("MB", "MB", ",.1f", "%,.0f MB", 1)
    GB_SECONDS = ("GB-s", "GB-s", ",.1f", "%,.1f GB-s", 3)
    USD = ("USD", "$", "$,.2f", "dollar", 6)

    def __init__(self, code: str, symbol: str, d3: str, printf: str, digits: int) -> None:
        self.code = code
        self.symbol = symbol
        self.d3 = d3
        self.printf = printf
        self.digits = digits

    def format(self, value: object) -> str:
        """``value`` written in this unit: ``24,996``, ``12.50 %``, ``7.5 min``, ``512 MB``, ``-$6.29``; ``—`` when missing."""
        v = _finite(value)
        if v is None:
            return MISSING
        v += 0.0  # no "-0"
        if self is Unit.COUNT:
            return _count(v)
        if self is Unit.PERCENT:
            return f"{v:,.2f} %"
        if self is Unit.RATIO:
            return f"{100.0 * v:,.2f} %"
        if self is Unit.MILLISECONDS:
            return _milliseconds(v)
        if self is Unit.SECONDS:
            return f"{v:,.0f} s"
        if self is Unit.MEGABYTES:
            return f"{v:,.0f} MB"
        if self is Unit.GB_SECONDS:
            return f"{v:,.1f} GB-s"
        return _usd(v)


@dataclass(frozen=True)
class Alerting:
    """What the alert engine needs of an alert metric (``dashboard.alerts._metrics`` derives it per period)."""

    frame: Literal["metrics", "memory"]  # the source frame it is derived from
    # how the sub-periods of a coarser rule period combine: summed ("sum"), recomputed from the summed
    # counts ("rate"), or by the rule's statistic ("statistic": Minimum, Average, Maximum, pNN)
    combine: Literal["sum", "rate", "statistic"]
    guarded: bool = False  # the rule's min_invocations applies (a period with fewer is missing)
    watches: str | None = None  # the figure its threshold is drawn against (None: itself)


@dataclass(frozen=True)
class Metric:
    """One metric or derived figure: every fact a surface needs to read, draw, format or alert on it."""

    key: str
    label: str  # lower case, as in a sentence: "error rate", "p99 duration"
    unit: Unit
    help: str  # one or two sentences: what it is, from where
    frame: str  # where it is read or computed: metrics, memory, inventory, summary, estimate, costs, alerts
    source: str  # the AWS metric it comes from, or how it is derived
    statistic: str | None  # the statistic over a period: Sum, Average, Maximum, pNN; None for a ratio
    colour: str | None = None  # None: the colour of what it watches (an alert metric)
    higher_is_worse: bool | None = True  # None: neither (invocations)
    short: str | None = None  # its name in a chart legend, where the panel's title says the rest
    unit_text: str | None = None  # the unit in words when the code is not enough: "% of timeout", "executions"
    alert: Alerting | None = None

    @property
    def per_period(self) -> bool:
        """A count per period (summed: CloudWatch's Sum), as opposed to a gauge or a ratio."""
        return self.statistic == "Sum"


# --- colours: mid-tones that read on Streamlit's light and dark backgrounds ----------------------------------

BLUE, RED, ORANGE, AMBER, DARK_AMBER = "#3B82F6", "#EF4444", "#F97316", "#F59E0B", "#D97706"
SKY, GREEN, LIGHT_VIOLET, PURPLE, ROSE = "#0EA5E9", "#22C55E", "#A78BFA", "#9333EA", "#DB2777"
CYAN, EMERALD, LIGHT_EMERALD, PINK, DARK_PINK = "#06B6D4", "#10B981", "#6EE7B7", "#EC4899", "#BE185D"
LIME, DARK_LIME, GOLD, DARK_GOLD, VIOLET, SLATE = "#84CC16", "#65A30D", "#EAB308", "#A16207", "#8B5CF6", "#64748B"

_CLOUDWATCH = {s.column: s for s in (*CORE_SPECS, *OPTIONAL_SPECS)}


def _cw(column: str) -> dict[str, str]:
    """frame, source and statistic of an ``AWS/Lambda`` column, as the collector asks CloudWatch for it."""
    spec = _CLOUDWATCH[column]
    return {"frame": "metrics", "source": f"AWS/Lambda {spec.metric}", "statistic": spec.stat}


_COUNT, _RATE, _STAT = "sum", "rate", "statistic"

_TABLE: tuple[Metric, ...] = (
    # --- AWS/Lambda, per period (the metrics frame) -----------------------------------------------------------
    Metric("invocations", "invocations", Unit.COUNT, "Times the function's code ran (CloudWatch Invocations, Sum); throttled requests are not invocations.",
           **_cw("invocations"), colour=BLUE, higher_is_worse=None),
    Metric("errors", "errors", Unit.COUNT, "Invocations that ended in an error, timeouts included (CloudWatch Errors, Sum).",
           **_cw("errors"), colour=RED, alert=Alerting("metrics", _COUNT)),
    Metric("throttles", "throttles", Unit.COUNT, "Requests Lambda refused for lack of concurrency (CloudWatch Throttles, Sum).",
           **_cw("throttles"), colour=AMBER, alert=Alerting("metrics", _COUNT)),
    Metric("duration_avg_ms", "avg duration", Unit.MILLISECONDS, "Mean duration of the invocations (CloudWatch Duration, Average).",
           **_cw("duration_avg_ms"), colour=SKY, short="avg"),
    Metric("duration_p50_ms", "p50 duration", Unit.MILLISECONDS, "Median duration (CloudWatch Duration, p50).",
           **_cw("duration_p50_ms"), colour=GREEN, short="p50"),
    Metric("duration_p90_ms", "p90 duration", Unit.MILLISECONDS, "90th-percentile duration (CloudWatch Duration, p90).",
           **_cw("duration_p90_ms"), colour=LIGHT_VIOLET, short="p90"),
    Metric("duration_p99_ms", "p99 duration", Unit.MILLISECONDS, "99th-percentile duration (CloudWatch Duration, p99): 1 invocation in 100 took longer.",
           **_cw("duration_p99_ms"), colour=PURPLE, short="p99", alert=Alerting("metrics", _STAT, guarded=True)),
    Metric("duration_max_ms", "max duration", Unit.MILLISECONDS, "The longest invocation (CloudWatch Duration, Maximum).",
           **_cw("duration_max_ms"), colour=ROSE, short="max"),
    Metric("concurrency_max", "peak concurrency", Unit.COUNT, "Most instances running at once (CloudWatch ConcurrentExecutions, Maximum).",
           **_cw("concurrency_max"), colour=CYAN, higher_is_worse=None, short="concurrent executions (max)", unit_text="executions"),
    Metric("iterator_age_max_ms", "iterator age", Unit.MILLISECONDS, "Age of the last record read from the stream (CloudWatch IteratorAge, Maximum): how far behind the function is.",
           **_cw("iterator_age_max_ms"), colour=LIME, short="iterator age (max)"),
    Metric("async_event_age_max_ms", "async event age", Unit.MILLISECONDS, "Time an asynchronous event waited before it ran (CloudWatch AsyncEventAge, Maximum).",
           **_cw("async_event_age_max_ms"), colour=DARK_LIME, short="async event age (max)"),
    Metric("pc_utilization_max", "provisioned concurrency utilization", Unit.RATIO,
           "Share of the provisioned concurrency in use (CloudWatch ProvisionedConcurrencyUtilization, Maximum).",
           **_cw("pc_utilization_max"), colour=CYAN, higher_is_worse=None),
    # --- derived per period from the metrics frame ---------------------------------------------------------------
    Metric("error_rate", "error rate", Unit.PERCENT, "Errors ÷ invocations (timeouts count as errors).",
           "metrics", "100 × Errors ÷ Invocations", None, colour=ORANGE, alert=Alerting("metrics", _RATE, guarded=True)),
    Metric("throttle_rate", "throttle rate", Unit.PERCENT, "Throttles ÷ requests (invocations + throttles): the share of requests refused.",
           "metrics", "100 × Throttles ÷ (Invocations + Throttles)", None, colour=DARK_AMBER, alert=Alerting("metrics", _RATE, guarded=True)),
    # --- REPORT lines or Lambda Insights, per bin (the memory frame) ----------------------------------------------
    Metric("reports", "REPORT lines", Unit.COUNT, "REPORT lines in the function's log: one per invocation.",
           "memory", "REPORT lines (Logs Insights or FilterLogEvents)", "Sum", colour=SLATE, higher_is_worse=None),
    Metric("cold_starts", "cold starts", Unit.COUNT, "Invocations that started a new instance (REPORT lines with an Init Duration).",
           "memory", "REPORT lines with an Init Duration, or Lambda Insights init_duration SampleCount", "Sum", colour=PINK),
    Metric("cold_start_rate", "cold-start rate", Unit.PERCENT, "Cold starts ÷ REPORT lines: the share of invocations that started a new instance.",
           "memory", "100 × cold starts ÷ REPORT lines", None, colour=PINK, alert=Alerting("memory", _RATE, guarded=True)),
    Metric("init_ms_mean", "mean init duration", Unit.MILLISECONDS, "Mean Init Duration of the cold starts.",
           "memory", "REPORT Init Duration, or Lambda Insights init_duration", "Average", colour=DARK_PINK, short="init (mean)"),
    Metric("init_ms_p99", "p99 init duration", Unit.MILLISECONDS, "99th-percentile Init Duration of the cold starts.",
           "memory", "REPORT Init Duration", "p99", colour=DARK_PINK),
    Metric("billed_ms_sum", "billed duration", Unit.MILLISECONDS, "Billed Duration of the invocations, summed.",
           "memory", "REPORT Billed Duration", "Sum", colour=VIOLET),
    Metric("gb_seconds", "GB-seconds", Unit.GB_SECONDS, "Billed Duration × memory size: what compute is charged by.",
           "memory", "REPORT Billed Duration × Memory Size", "Sum", colour=VIOLET),
    Metric("used_mb_max", "max memory used", Unit.MEGABYTES, "Most memory an invocation used (REPORT Max Memory Used, or Lambda Insights used_memory_max).",
           "memory", "REPORT Max Memory Used, or Lambda Insights used_memory_max", "Maximum", colour=EMERALD),
    Metric("used_mb_mean", "mean memory used", Unit.MEGABYTES, "Mean of the invocations' Max Memory Used.",
           "memory", "REPORT Max Memory Used", "Average", colour=LIGHT_EMERALD),
    # --- configuration (the inventory) ----------------------------------------------------------------------------
    Metric("memory_mb", "memory", Unit.MEGABYTES, "Memory allocated to the function (its configuration; CPU scales with it).",
           "inventory", "GetFunctionConfiguration MemorySize", None, colour=SLATE, higher_is_worse=None),
    Metric("timeout_s", "timeout", Unit.SECONDS, "Longest an invocation may run before Lambda stops it (its configuration).",
           "inventory", "GetFunctionConfiguration Timeout", None, colour=SLATE, higher_is_worse=None),
    # --- one row per function over the range (dashboard.figures.usage) ----------------------------------------------
    Metric("max_memory_used_mb", "max memory used", Unit.MEGABYTES, "Most memory any invocation used over the range.",
           "summary", "the highest max memory used of the range's bins", "Maximum", colour=EMERALD),
    Metric("memory_used_pct", "memory used", Unit.PERCENT, "Max memory used ÷ memory allocated, over the range.",
           "summary", "100 × max memory used ÷ memory size", None, colour=EMERALD),
    Metric("billed_gb_seconds", "billed GB-s", Unit.GB_SECONDS, "GB-seconds billed over the range: Billed Duration × memory size, summed.",
           "summary", "Σ GB-seconds of the range's bins", "Sum", colour=VIOLET),
    # --- money ----------------------------------------------------------------------------------------------------
    Metric("est_cost_usd", "estimated cost", Unit.USD, "Our estimate at list price: requests, GB-seconds, ephemeral storage and provisioned concurrency.",
           "estimate", "dashboard.figures.cost_estimate, at the region's list prices", "Sum", colour=GOLD),
    Metric("mtd_cost_usd", "estimated cost MTD", Unit.USD, "Our estimate at list price over this month's complete UTC days (the 1st to yesterday): the Costs page's per-function figure for the month.",
           "estimate", "dashboard.figures.function_cost, at the region's list prices", "Sum", colour=GOLD),
    Metric("cost_usd", "Lambda cost", Unit.USD, "AWS Lambda cost from Cost Explorer (unblended).",
           "costs", "Cost Explorer UnblendedCost, service AWS Lambda", "Sum", colour=GOLD),
    Metric("spend_mtd", "Lambda spend MTD", Unit.USD, "AWS Lambda cost from Cost Explorer from the 1st of the month through today (UTC days).",
           "costs", "Cost Explorer UnblendedCost, service AWS Lambda, month to date", "Sum", colour=GOLD),
    Metric("forecast_usd", "forecast", Unit.USD, "The month's complete days plus Cost Explorer's forecast to the month's end.",
           "costs", "Cost Explorer GetCostForecast", "Sum", colour=DARK_GOLD),
    # --- alerts ---------------------------------------------------------------------------------------------------
    Metric("alerts", "alerts firing", Unit.COUNT, "Alert rules in ALARM for the function now.",
           "alerts", "rule × function states in ALARM", None, colour=RED, unit_text="alerts"),
    # --- alert metrics that are no column of their own (config.yaml alerts.rules[].metric) --------------------------
    Metric("duration_p99_timeout_share", "p99 duration / timeout", Unit.PERCENT, "p99 duration as a share of the function's timeout.",
           "metrics", "100 × p99 Duration ÷ (timeout_s × 1000)", None, unit_text="% of timeout",
           alert=Alerting("metrics", _STAT, guarded=True, watches="duration_p99_ms")),
    Metric("memory_utilization", "memory used", Unit.PERCENT, "Max memory used as a share of the memory allocated, per period.",
           "memory", "100 × max memory used ÷ memory size", None, unit_text="% of memory",
           alert=Alerting("memory", _STAT, watches="used_mb_max")),
    Metric("no_invocations", "invocations", Unit.COUNT, "Invocations per period, a period without a datapoint counting 0: for functions expected to run.",
           "metrics", "AWS/Lambda Invocations, missing → 0", "Sum", higher_is_worse=False,
           alert=Alerting("metrics", _COUNT, watches="invocations")),
    Metric("iterator_age_ms", "iterator age", Unit.MILLISECONDS, "Age of the last record read from the stream (CloudWatch IteratorAge, Maximum).",
           "metrics", "AWS/Lambda IteratorAge", "Maximum", alert=Alerting("metrics", _STAT, watches="iterator_age_max_ms")),
    Metric("async_event_age_ms", "async event age", Unit.MILLISECONDS, "Time an asynchronous event waited before it ran (CloudWatch AsyncEventAge, Maximum).",
           "metrics", "AWS/Lambda AsyncEventAge", "Maximum", alert=Alerting("metrics", _STAT, watches="async_event_age_max_ms")),
    Metric("concurrency", "concurrency", Unit.COUNT, "Instances running at once (CloudWatch ConcurrentExecutions, Maximum).",
           "metrics", "AWS/Lambda ConcurrentExecutions", "Maximum", unit_text="executions",
           alert=Alerting("metrics", _STAT, watches="concurrency_max")),
    Metric("concurrency_account_share", "concurrency / account limit", Unit.PERCENT,
           "Concurrent executions as a share of the account's concurrency limit in the region (GetAccountSettings).",
           "metrics", "100 × ConcurrentExecutions ÷ the account's concurrent-executions quota", None, unit_text="% of account limit",
           alert=Alerting("metrics", _STAT, watches="concurrency_max")),
)  # fmt: skip


def _index(table: tuple[Metric, ...]) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    for m in table:
        if m.key in out:
            raise ValueError(f"metric {m.key!r} is defined twice")
        out[m.key] = m
    for m in table:
        if m.colour is None and (m.alert is None or m.alert.watches is None):
            raise ValueError(f"metric {m.key!r} has no colour and watches nothing")
        if m.alert is not None and m.alert.watches is not None and m.alert.watches not in out:
            raise ValueError(f"metric {m.key!r} watches {m.alert.watches!r}, which is not defined")
    return out


REGISTRY: dict[str, Metric] = _index(_TABLE)
