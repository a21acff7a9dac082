"""The metric registry: one entry per metric and figure, every surface reading it.

Coverage (every alert metric of the config schema, every numeric column of the frames), the formats
(one rule per unit), the facts the alert engine derives from it, the plotly and Streamlit formats, and
the same alert written the same on the Alerts page and in the digest.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
import typing

import numpy as np
import pandas as pd
import pytest

from aws import metrics as cw
from aws.frames import typed_frame
from dashboard import alerts
from dashboard.alerts import ALARM, STATES_SCHEMA, evaluation
from dashboard.config import settings as settings_mod
from dashboard.config.settings import AlertMetric
from dashboard.digest.compose import ALERTS_SCHEMA, MOVER_METRICS, compose
from dashboard.digest.render import render_text
from dashboard.figures import fleet, usage
from dashboard.figures.metrics import REGISTRY
from dashboard.present import registry
from dashboard.present.tables import render
from dashboard.query.sources import MEMORY_SCHEMA
from dashboard.web import columns
from tests.digest_support import inventory, metrics, synthetic_inputs

NUMERIC = ("float64", "int64", "Int64", "Float64")
KEYS = {"account", "region", "function", "timestamp", "period_s", "bin_s"}

# --- coverage ------------------------------------------------------------------------------------------------


def test_every_alert_metric_of_the_config_schema_has_an_entry_with_alert_semantics():
    literal = set(typing.get_args(AlertMetric))
    assert len(literal) == 13
    with_alerting = {k for k, m in REGISTRY.items() if m.alert is not None}
    assert with_alerting == literal  # and nothing else can be alerted on
    for key in literal:
        m = REGISTRY[key]
        assert m.alert.frame in ("metrics", "memory") and m.alert.combine in ("sum", "rate", "statistic")
        assert registry.watches(key) in REGISTRY and registry.unit_text(key)


@pytest.mark.parametrize(
    ("name", "schema"),
    [
        ("usage.SCHEMA", usage.SCHEMA),
        ("aws.metrics.LAMBDA_SCHEMA", cw.LAMBDA_SCHEMA),
        ("MEMORY_SCHEMA", MEMORY_SCHEMA),
        ("fleet.TABLE_SCHEMA", fleet.TABLE_SCHEMA),
    ],
)
def test_every_numeric_column_of_the_frames_has_an_entry(name, schema):
    numeric = {c for c, t in schema.items() if t in NUMERIC and c not in KEYS}
    assert numeric and numeric - set(REGISTRY) == set(), name


def test_every_entry_is_complete_and_cloudwatch_sources_are_the_collectors():
    for key, m in REGISTRY.items():
        assert m.key == key and m.label and m.help.endswith(".") and m.source and m.frame
        assert registry.colour(key).startswith("#") and len(registry.colour(key)) == 7
    # the AWS/Lambda columns cite the spec the collector asks CloudWatch for, not a copy of it
    for spec in (*cw.CORE_SPECS, *cw.OPTIONAL_SPECS):
        m = REGISTRY[spec.column]
        assert (m.frame, m.source, m.statistic) == ("metrics", f"AWS/Lambda {spec.metric}", spec.stat)
    with pytest.raises(KeyError, match="no metric 'nope' in the registry"):
        registry.format("nope", 1)


def test_the_alert_engine_derives_its_tables_from_the_registry():
    assert alerts.METRICS == {k: m.alert.frame for k, m in REGISTRY.items() if m.alert}
    assert alerts.METRICS["memory_utilization"] == alerts.METRICS["cold_start_rate"] == "memory"
    assert alerts.GUARDED == {"error_rate", "throttle_rate", "duration_p99_ms", "duration_p99_timeout_share", "cold_start_rate"}
    summed = {k for k, m in REGISTRY.items() if m.alert and m.alert.combine != "statistic"}
    assert summed == {"errors", "throttles", "no_invocations", "error_rate", "throttle_rate", "cold_start_rate"}


def test_one_unit_text_per_metric():
    assert {k: registry.unit_text(k) for k in typing.get_args(AlertMetric)} == {
        "error_rate": "%",
        "errors": "errors",
        "throttles": "throttles",
        "throttle_rate": "%",
        "duration_p99_ms": "ms",
        "duration_p99_timeout_share": "% of timeout",
        "memory_utilization": "% of memory",
        "cold_start_rate": "%",
        "no_invocations": "invocations",
        "iterator_age_ms": "ms",
        "async_event_age_ms": "ms",
        "concurrency": "executions",
        "concurrency_account_share": "% of account limit",
    }
    # an alert metric takes the colour of the figure it watches
    assert registry.colour("duration_p99_timeout_share") == registry.colour("duration_p99_ms")
    assert registry.colour("concurrency_account_share") == registry.colour("concurrency_max")
    assert MOVER_METRICS == {"invocations": "invocations", "errors": "errors", "duration_p99_ms": "p99 duration", "est_cost_usd": "estimated cost"}


# --- formats -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("invocations", 24996, "24,996"),
        ("invocations", 24996.0, "24,996"),
        ("errors", 0, "0"),
        ("concurrency", 2.5, "2.50"),
        ("invocations", math.nan, "—"),
        ("invocations", None, "—"),
        ("invocations", pd.NA, "—"),
        ("error_rate", np.float64("nan"), "—"),
        ("duration_p99_ms", math.inf, "—"),
        ("error_rate", 12.5, "12.50 %"),
        ("error_rate", 0.0, "0.00 %"),
        ("duration_p99_timeout_share", 98.046875, "98.05 %"),
        ("duration_p99_ms", 12.5, "12.5 ms"),
        ("duration_p99_ms", 99.96, "100 ms"),
        ("duration_p99_ms", 1234, "1,234 ms"),
        ("duration_p99_ms", 12_345, "12.3 s"),
        ("duration_p99_ms", 59_970, "1.0 min"),
        ("iterator_age_ms", 450_384, "7.5 min"),
        ("iterator_age_ms", 5_400_000, "1.5 h"),
        ("est_cost_usd", 1234.56, "$1,234.56"),
        ("spend_mtd", -6.29, "-$6.29"),
        ("est_cost_usd", 0.0012, "$0.0012"),
        ("est_cost_usd", 0.0, "$0.00"),
        ("max_memory_used_mb", 511.8, "512 MB"),
        ("memory_mb", 512, "512 MB"),
        ("timeout_s", 900, "900 s"),
        ("billed_gb_seconds", 1234.56, "1,234.6 GB-s"),
        ("pc_utilization_max", 0.5, "50.00 %"),
    ],
)
def test_format(key, value, text):
    assert registry.format(key, value) == text


def test_plotly_and_streamlit_formats_come_from_the_unit():
    assert registry.hovertemplate("invocations", period_s=60) == "%{y:,.0f} / 1 min"
    assert registry.hovertemplate("concurrency_max") == "%{y:,.0f} executions"
    assert registry.hovertemplate("error_rate") == "%{y:.2f} %"
    assert registry.hovertemplate("duration_p99_ms") == "%{y:,.2f} ms"
    assert registry.hovertemplate("est_cost_usd") == "%{y:$,.2f}"
    assert registry.d3_format("used_mb_max") == ",.1f"
    # Streamlit's NumberColumn: thousands separators for counts on every page, the unit in the cell
    assert [registry.column_format(k) for k in ("invocations", "error_rate", "duration_p99_ms", "max_memory_used_mb", "est_cost_usd")] == [
        "%,.0f",
        "%,.2f %%",
        "%,.1f ms",
        "%,.0f MB",
        "dollar",
    ]
    assert set(columns.metric_columns(["invocations", "link", "memory_used_pct"], progress=["memory_used_pct"])) == {"invocations", "memory_used_pct"}


def test_csv_writes_counts_as_integers_and_unknown_as_empty():
    frame = pd.DataFrame(
        {
            "function": ["a", "b"],
            "invocations": [24919.0, np.nan],
            "error_rate": [1.5, 0.123456789],
            "est_cost_usd": [0.0000123, 6.29],
            "something_else": [1.23456789, 3.0],
        }
    )
    assert render(frame, "csv").splitlines() == [
        "function,invocations,error_rate,est_cost_usd,something_else",
        "a,24919,1.5,0.000012,1.2346",
        "b,,0.1235,6.29,3",
    ]
    table = render(frame, "table")
    assert "24,919" in table and "1.50 %" in table and "$6.29" in table and "nan" not in table


# --- one alert, one text ---------------------------------------------------------------------------------------

T0 = pd.Timestamp("2026-11-26T05:00:00Z")
END = pd.Timestamp("2026-11-26T08:00:00Z")
ROWS = [  # (rule, metric, value, last value, threshold)
    ("slow-stream", "iterator_age_ms", 450_384.0, 451_000.0, 300_000.0),
    ("memory-high", "memory_utilization", 98.046875, 97.5, 90.0),
    ("quota", "concurrency_account_share", 81.25, np.nan, 80.0),
    ("errors", "errors", 1234.0, 12.0, 100.0),
]


def _states() -> pd.DataFrame:
    return typed_frame(
        [
            {
                "account": "a", "region": "us-east-1", "function": "api", "team": "t", "rule": rule, "metric": metric,
                "severity": "critical", "state": ALARM, "since": T0, "value": value, "last_value": last, "threshold": thr,
                "comparison": "GreaterThanThreshold", "note": "",
            }
            for rule, metric, value, last, thr in ROWS
        ],
        STATES_SCHEMA,
    )  # fmt: skip


def test_the_alerts_page_and_the_digest_write_the_same_alert_the_same(tmp_path):
    page = columns.with_value_texts(evaluation.alert_rows(_states(), range_text="3h"))
    shown = page.set_index("rule")
    assert shown.loc["slow-stream", ["value_text", "threshold_text", "unit"]].tolist() == ["7.5 min", "5.0 min", "ms"]
    assert shown.loc["memory-high", ["value_text", "threshold_text", "unit"]].tolist() == ["98.05 %", "90.00 %", "% of memory"]
    assert shown.loc["quota", "last_value_text"] == "—"

    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text(
        textwrap.dedent(
            """
            alerts:
              rules:
                - {name: errors, metric: errors, statistic: Sum, threshold: 100, period_s: 300, evaluation_periods: 1}
            email:
              digests:
                - {name: org, recipients: [ops@example.com], timezone: UTC, range: 3h}
            """
        )
    )
    cfg = settings_mod.load(cfg_file)
    inv = inventory([{"function": "api", "team": "t"}])
    d = compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, metrics({"api": [(100.0, 0.0)] * 36}, end=END), now=END))
    d = dataclasses.replace(d, alerts=typed_frame(_states().assign(category="new"), ALERTS_SCHEMA))  # the same alerts, new
    text = render_text(d)
    for rule, *_ in ROWS:
        row = shown.loc[rule]
        assert f"{rule}: {row['value_text']} > {row['threshold_text']}" in text, rule


# --- words around the numbers: plurals, conditions, deltas, CSV precision -----------------------------------


@pytest.mark.parametrize(
    ("n", "noun", "many", "text"),
    [
        (1, "function", None, "1 function"),
        (3, "warning", None, "3 warnings"),
        (0, "alert", None, "0 alerts"),
        (1204, "function", None, "1,204 functions"),
        (1.0, "day", None, "1 day"),
        (2, "query", "queries", "2 queries"),
        (None, "state", None, "— states"),
        (float("nan"), "state", None, "— states"),
    ],
)
def test_plural(n, noun, many, text):
    assert registry.plural(n, noun, many) == text


@pytest.mark.parametrize(
    ("metric", "comparison", "threshold", "text"),
    [
        ("duration_p99_ms", "GreaterThanThreshold", 60000, "> 60,000 ms"),
        ("error_rate", "GreaterThanOrEqualToThreshold", 5, "≥ 5 %"),
        ("error_rate", "GreaterThanThreshold", 2.5, "> 2.5 %"),
        ("duration_p99_timeout_share", "GreaterThanThreshold", 80, "> 80 % of timeout"),
        ("memory_utilization", "GreaterThanThreshold", 90, "> 90 % of memory"),
        ("errors", "GreaterThanThreshold", 10, "> 10 errors"),
        ("no_invocations", "LessThanThreshold", 1, "< 1 invocations"),
        ("iterator_age_ms", "LessThanOrEqualToThreshold", 1_234_567.5, "≤ 1,234,567.5 ms"),
        ("cost_usd", "GreaterThanThreshold", 1500, "> $1,500"),
        ("not-a-metric", "GreaterThanThreshold", 60000, "> 60,000"),
        ("error_rate", "GreaterThanThreshold", None, "—"),
    ],
)
def test_a_threshold_reads_as_configured_with_its_unit_and_a_sign(metric, comparison, threshold, text):
    assert registry.threshold_text(metric, comparison, threshold) == text
    assert "Threshold" not in text


def test_every_cloudwatch_comparison_has_a_sign():
    compare = typing.get_args(settings_mod.AlertRule.model_fields["comparison"].annotation)
    assert compare and set(compare) <= set(registry.COMPARISONS)
    assert registry.comparison_text("GreaterThanThreshold") == ">"


@pytest.mark.parametrize(
    ("key", "delta", "colour"),
    [
        ("errors", 0, "off"),  # unchanged is never red
        ("errors", 0.0, "off"),
        ("errors", None, "off"),
        ("errors", 3, "inverse"),  # more errors: red
        ("errors", -3, "inverse"),
        ("invocations", 500, "off"),  # neither way is worse
        ("no_invocations", 1, "normal"),  # fewer is worse
    ],
)
def test_delta_colour_is_grey_for_no_change(key, delta, colour):
    assert registry.delta_color(key, delta) == colour


@pytest.mark.parametrize("value", [-0.0, -1e-12, -0.0000000001])
def test_money_that_rounds_to_nothing_is_never_negative(value):
    assert not registry.format("cost_usd", value).startswith("-$0.00")


def test_csv_text_keeps_the_registry_precision_never_17_digits():
    from dashboard.present.tables import csv_text

    frame = pd.DataFrame(
        {"invocations": [24919.0, 3.0], "est_cost_usd": [0.1 + 0.2, 1 / 3], "share": [1 / 3, float("nan")], "team": ["a", "b"]}
    )
    text = csv_text(frame)
    rows = text.splitlines()
    assert rows[0] == "invocations,est_cost_usd,share,team"
    assert rows[1] == "24919,0.3,0.3333,a" and rows[2] == "3,0.333333,,b"
    assert "24919.0" not in text and "0.30000000000000004" not in text
    assert csv_text(frame, lineterminator="\r\n").endswith("\r\n")
