"""The digest as JSON (the dry run's .json): the keys and their units, missing values as null (never 0),
times ISO 8601 in UTC, and a round trip through json."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import textwrap
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from dashboard.config import settings as settings_mod
from dashboard.digest.compose import ADVICE_SCHEMA, ALERTS_SCHEMA, FUNCTIONS_SCHEMA, MOVERS_SCHEMA, compose
from dashboard.digest.export import digest_dict
from dashboard.present.tables import jsonable
from tests.digest_support import inventory, metrics, synthetic_inputs

END = pd.Timestamp("2026-11-26T08:00:00Z")
TOP = {
    "name", "team", "scope", "recipients", "generated_at", "timezone", "range", "range_start", "range_end", "previous_sent_at",
    "changed", "dashboard_url", "function_count", "firing_count", "new_count", "ongoing_count", "resolved_count",
    "alerts", "movers", "advice", "functions", "spend", "charts", "problems", "unchecked", "no_rules",
}  # fmt: skip
SPEND = {"scope", "month_start", "month_end", "today", "mtd_usd", "forecast_usd", "budget_usd", "budget_used_pct", "status", "note", "error", "daily"}


@pytest.fixture
def digest(tmp_path):
    p = tmp_path / "config.yaml"
    p.write_text(
        textwrap.dedent(
            """
            alerts:
              rules:
                - {name: error-rate, metric: error_rate, threshold: 5, period_s: 300, evaluation_periods: 1, missing_data: notBreaching, severity: critical}
            email:
              digests:
                - {name: org, recipients: [ops@example.com], timezone: Europe/Berlin, range: 3h}
            """
        )
    )
    cfg = settings_mod.load(p)
    inv = inventory([{"function": "api", "team": "payments"}, {"function": "sheet"}])
    met = metrics({"api": [(100.0, 50.0)] * 36, "sheet": [(100.0, 0.0)] * 36}, end=END)
    return compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, met, now=END))


def test_keys_with_units_frames_as_flat_objects_and_a_json_round_trip(digest):
    data = digest_dict(digest)
    assert set(data) == TOP and set(data["spend"]) == SPEND
    assert json.loads(json.dumps(data, allow_nan=False)) == data  # plain JSON: no NaN, no objects json cannot write
    assert [set(r) for r in data["alerts"]] == [set(ALERTS_SCHEMA)]
    assert {frozenset(r) for r in data["movers"]} == {frozenset(MOVERS_SCHEMA)}
    assert {frozenset(r) for r in data["advice"]} == {frozenset(ADVICE_SCHEMA)}
    assert {frozenset(r) for r in data["functions"]} == {frozenset(FUNCTIONS_SCHEMA)} and len(data["functions"]) == 2
    assert all(not isinstance(v, dict | list) for r in data["alerts"] + data["functions"] for v in r.values())  # flat
    assert (data["name"], data["scope"], data["range"], data["firing_count"], data["new_count"], data["resolved_count"]) == ("org", "all teams", "3h", 1, 1, 0)
    alert = data["alerts"][0]
    assert (alert["function"], alert["rule"], alert["value"], alert["threshold"], alert["team"]) == ("api", "error-rate", 50.0, 5.0, "payments")
    api = next(r for r in data["functions"] if r["function"] == "api")
    assert (api["invocations"], api["errors"], api["error_rate_pct"], api["memory_mb"], api["alerts_firing"]) == (3600.0, 1800.0, 50.0, 512, "error-rate")
    (chart,) = data["charts"]
    assert chart["metric"] == "error_rate" and chart["threshold"] == 5.0 and chart["points"][0]["timestamp"].endswith("+00:00")


def test_times_are_iso_8601_utc_and_days_are_dates(digest):
    berlin = dt.datetime(2026, 11, 26, 7, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    data = digest_dict(dataclasses.replace(digest, previous_sent_at=berlin))
    assert data["generated_at"] == "2026-11-26T08:00:00+00:00"
    assert data["previous_sent_at"] == "2026-11-26T06:30:00+00:00"
    assert (data["range_start"], data["range_end"]) == ("2026-11-26T05:00:00+00:00", "2026-11-26T08:00:00+00:00")
    assert data["alerts"][0]["since"] == "2026-11-26T05:05:00+00:00"
    assert (data["spend"]["month_start"], data["spend"]["month_end"], data["spend"]["today"]) == ("2026-11-01", "2026-12-01", "2026-11-26")
    daily = pd.DataFrame({"date": pd.to_datetime(["2026-11-01", "2026-11-02"]), "cost_usd": [1.5, np.nan], "estimated": pd.array([False, True], dtype="boolean")})
    spend = digest_dict(dataclasses.replace(digest, spend=dataclasses.replace(digest.spend, daily=daily)))["spend"]
    assert spend["daily"] == [{"date": "2026-11-01", "cost_usd": 1.5, "estimated": False}, {"date": "2026-11-02", "cost_usd": None, "estimated": True}]


def test_unknown_is_null_never_zero(digest):
    spend = dataclasses.replace(digest.spend, mtd_usd=None, forecast_usd=None, budget_usd=None, status="unavailable", note="", error="Cost Explorer: access denied")
    functions = digest.functions.copy()
    functions.loc[0, ["duration_p99_ms", "est_cost_usd"]] = np.nan
    functions.loc[0, "runtime"] = pd.NA
    data = digest_dict(dataclasses.replace(digest, spend=spend, functions=functions))
    assert [data["spend"][k] for k in ("mtd_usd", "forecast_usd", "budget_usd", "budget_used_pct", "note")] == [None] * 5
    assert data["spend"]["error"] == "Cost Explorer: access denied"
    row = data["functions"][0]
    assert row["duration_p99_ms"] is None and row["est_cost_usd"] is None and row["runtime"] is None
    assert data["alerts"][0]["resolved_at"] is None  # NaT: still firing
    new_mover = next(r for r in data["movers"] if r["previous"] == 0)
    assert new_mover["change_pct"] is None  # no percentage of nothing
    assert data["previous_sent_at"] is None and data["team"] is None and data["dashboard_url"] is None
    assert "NaN" not in json.dumps(data)


@pytest.mark.parametrize(
    "value,expected",
    [
        (None, None),
        (pd.NA, None),
        (pd.NaT, None),
        (math.nan, None),
        (np.float64("nan"), None),
        (np.float32("nan"), None),
        (0.0, 0.0),
        (np.int64(3), 3),
        (np.bool_(True), True),
        (pd.Timestamp("2026-11-26T09:00:00", tz="Europe/Berlin"), "2026-11-26T08:00:00+00:00"),
        (pd.Timestamp("2026-11-26T08:00:00Z"), "2026-11-26T08:00:00+00:00"),
        (dt.datetime(2026, 11, 26, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")), "2026-11-26T08:00:00+00:00"),
        (dt.date(2026, 11, 26), "2026-11-26"),
        ("text", "text"),
    ],
)
def test_jsonable_shared_with_the_cli(value, expected):
    got = jsonable(value)
    assert got == expected and type(got) is type(expected)


def test_a_digest_with_no_rule_to_check_claims_no_health(tmp_path):
    from dashboard.digest.render import render_text, subject

    p = tmp_path / "config.yaml"
    p.write_text("email:\n  digests:\n    - {name: org, recipients: [ops@example.com], range: 3h}\n")
    cfg = settings_mod.load(p)
    inv = inventory([{"function": "api", "team": "payments"}])
    met = metrics({"api": [(100.0, 50.0)] * 36}, end=END)
    d = compose(cfg, cfg.email.digests[0], synthetic_inputs(inv, met, now=END))
    assert d.no_rules and digest_dict(d)["no_rules"] is True
    assert subject(d).startswith("No alert rules configured")
    assert "No alert rules are configured for this digest" in render_text(d)
    assert "No alert fired" not in render_text(d)


def test_a_digest_with_rules_says_so(digest):
    assert digest.no_rules is False and digest_dict(digest)["no_rules"] is False
