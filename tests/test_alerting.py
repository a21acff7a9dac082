"""Alerts for a selection: the evaluation window, the loads, the rows shown, and the seeded incidents.

The seeded-incident test runs the shipped config.yaml's rules on the simulated account at a
fixed clock: every incident trips the alert it should, and no other (function, rule) is ever
in ALARM over the week.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from aws import cache, sim
from aws import metrics as cw
from aws.frames import typed_frame
from dashboard.alerts import ALARM, INSUFFICIENT_DATA, OK, STATES_SCHEMA, TRANSITIONS_SCHEMA, AlertReport, evaluation
from dashboard.config import settings as settings_mod
from dashboard.config.settings import AccountSettings, AlertRule, AlertSettings, DemoSettings, Settings
from dashboard.query import sources
from dashboard.query.selection import Selection, select
from dashboard.query.timerange import TimeRange, parse_range

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)  # a Thursday afternoon (US morning)
T0 = pd.Timestamp("2026-11-26T10:00:00Z")


@pytest.fixture
def clock():
    sim.set_clock(lambda: NOW)
    yield NOW
    sim.set_clock(None)


def shipped() -> Settings:
    return settings_mod.load(settings_mod.DEFAULT_CONFIG)


def demo_settings(**sim_kw) -> Settings:
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(**sim_kw))],
        alerts=shipped().alerts,
    )


# --- the seeded incidents ------------------------------------------------------------------------------
# kind → the rules it must trip. Lambda counts a timeout as an error, so the timeout incident (40 % of
# invocations time out) is also an error-rate alarm. Low memory use is a right-sizing hint, never an alarm.
TRIPS = {
    "errors": {"error-rate"},
    "throttles": {"throttles"},
    "timeout": {"duration-near-timeout", "error-rate"},
    "iterator_age": {"iterator-age"},
    "idle": {"no-invocations"},
    "cold_starts": {"cold-start-rate"},
    "memory_high": {"memory-high"},
    "memory_low": set(),
}


def ever_alarm(got: evaluation.AlertsLoaded) -> set[tuple[str, str]]:
    """(function, rule) that were in ALARM at any time in the range: now, or entering or leaving it."""
    t = got.report.transitions
    s = got.report.states
    moved = t[(t["to_state"] == ALARM) | (t["from_state"] == ALARM)]
    return {(f, r) for f, r in moved[["function", "rule"]].itertuples(index=False)} | {
        (f, r) for f, r in s[s["state"] == ALARM][["function", "rule"]].itertuples(index=False)
    }


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2026, 11, 21, 20, 10, tzinfo=UTC), datetime(2026, 11, 18, 13, 30, tzinfo=UTC)],
    ids=["thursday-16:20", "saturday-20:10", "wednesday-13:30"],
)
@pytest.mark.aws
def test_each_seeded_incident_trips_its_alert_and_nothing_else_fires(now):
    sim.set_clock(lambda: now)
    try:
        cfg = shipped()
        model = sim.model_for(cfg.aws_accounts()[0])
        incidents = model.incidents
        assert sorted(i["kind"] for i in incidents) == sorted(TRIPS)
        week = select(cfg, range_text="7d", now=now)
        assert all(week.trange.start < i["end"] and i["start"] < week.trange.end for i in incidents)  # every incident is in range
        got = evaluation.load_alerts(cfg, week)
        assert not got.failed
        expected = {(i["function"], rule) for i in incidents for rule in TRIPS[i["kind"]]}
        assert ever_alarm(got) == expected
        # what fires at the end: only incidents' alerts, the standing conditions among them
        firing = {(f, r) for f, r in got.report.firing()[["function", "rule"]].itertuples(index=False)}
        assert firing <= expected and {("media-image-resizer", "memory-high"), ("legacy-importer", "no-invocations")} <= firing
    finally:
        sim.set_clock(None)


@pytest.mark.aws
def test_the_alert_states_since_and_values_match_the_sim_at_a_fixed_clock(clock):
    got = evaluation.load_alerts(shipped(), Selection(parse_range("24h", now=NOW), "24h", NOW))
    rows = evaluation.alert_rows(got.report.states, range_text="24h")
    assert rows[["function", "rule", "severity", "unit"]].values.tolist() == [
        ["media-image-resizer", "memory-high", "warning", "% of memory"],
        ["legacy-importer", "no-invocations", "warning", "invocations"],
        ["search-catalog-java", "cold-start-rate", "warning", "%"],
    ]
    assert rows["link"].tolist() == [
        "functions?fn=demo/eu-west-1/media-image-resizer&range=24h&rule=memory-high",
        "functions?fn=demo/eu-west-1/legacy-importer&range=24h&rule=no-invocations",
        "functions?fn=demo/us-east-1/search-catalog-java&range=24h&rule=cold-start-rate",
    ]
    importer = rows.iloc[1]
    assert (importer.value, importer.last_value, importer.threshold) == (0.0, 0.0, 1.0)
    # the error incident (14:30-16:00) entered ALARM after three breaching 5-minute periods and left it after three calm ones
    tr = got.report.transitions
    checkout = tr[(tr["function"] == "payments-checkout-api") & (tr["rule"] == "error-rate")]
    assert checkout[["timestamp", "from_state", "to_state"]].values.tolist() == [
        [pd.Timestamp("2026-11-26T14:45:00Z"), OK, ALARM],
        [pd.Timestamp("2026-11-26T16:05:00Z"), ALARM, OK],
    ]
    truth = sim.model_for(shipped().aws_accounts()[0]).series(
        "payments-checkout-api", start=NOW - timedelta(hours=2), end=NOW, period=300, region="us-east-1"
    ).set_index("timestamp")
    first = truth.loc[pd.Timestamp("2026-11-26T14:40:00Z")]
    assert checkout.iloc[0]["value"] == pytest.approx(100.0 * first["errors"] / first["invocations"])


# --- the evaluation window -----------------------------------------------------------------------------
def rules(*pairs: tuple[int, int]) -> AlertSettings:
    return AlertSettings(rules=[AlertRule(name=f"r{i}", metric="errors", threshold=0, period_s=p, evaluation_periods=n) for i, (p, n) in enumerate(pairs)])


def test_a_short_preset_is_evaluated_over_the_24h_preset_ending_at_the_same_time():
    one = parse_range("1h", now=NOW)
    w = evaluation.evaluation_window(one, rules((300, 3)))
    assert (w.start, w.end, w.label) == (NOW - timedelta(hours=24), NOW, "24h")
    week = parse_range("7d", now=NOW)
    assert evaluation.evaluation_window(week, rules((300, 3))) is week


def test_the_window_covers_n_plus_two_periods_of_the_longest_rule_and_its_overrides():
    s = rules((86400, 2))  # (2 + 2) days → the 7d preset
    w = evaluation.evaluation_window(parse_range("24h", now=NOW), s)
    assert (w.duration, w.label) == (timedelta(days=7), "7d")
    over = AlertSettings(rules=s.rules, function_overrides={"f": {"r0": {"evaluation_periods": 20}}})
    w = evaluation.evaluation_window(parse_range("24h", now=NOW), over)  # 22 days → 30d
    assert (w.duration, w.label) == (timedelta(days=30), "30d")


def test_a_fixed_range_keeps_its_end_and_gets_the_start_it_needs():
    fixed = TimeRange(NOW - timedelta(hours=2), NOW - timedelta(hours=1), "2026-11-26T14:20..2026-11-26T15:20")
    w = evaluation.evaluation_window(fixed, rules((300, 3)))
    assert (w.start, w.end) == (fixed.end - timedelta(hours=24), fixed.end)
    assert w.label == "2026-11-26T14:20..2026-11-26T15:20 (alert window)"


def test_transitions_are_those_of_the_selection_without_the_first_decision_of_each_alarm():
    ts = [T0 + pd.Timedelta(minutes=m) for m in (5, 30, 60, 65)]
    tr = typed_frame(
        [
            {"account": "a", "region": "r", "function": "f", "rule": "x", "severity": "warning", "timestamp": ts[0], "from_state": INSUFFICIENT_DATA, "to_state": OK, "value": 1.0},
            {"account": "a", "region": "r", "function": "f", "rule": "x", "severity": "warning", "timestamp": ts[1], "from_state": OK, "to_state": ALARM, "value": 9.0},
            {"account": "a", "region": "r", "function": "g", "rule": "x", "severity": "warning", "timestamp": ts[2], "from_state": INSUFFICIENT_DATA, "to_state": ALARM, "value": 8.0},
            {"account": "a", "region": "r", "function": "f", "rule": "x", "severity": "warning", "timestamp": ts[3], "from_state": ALARM, "to_state": OK, "value": 0.0},
        ],
        TRANSITIONS_SCHEMA,
    )
    sel = TimeRange(T0 + pd.Timedelta(minutes=10), T0 + pd.Timedelta(minutes=62), "x")
    out = evaluation._transitions_in(tr, sel)
    assert out[["function", "timestamp", "to_state"]].values.tolist() == [["f", ts[1], ALARM]]


# --- Lambda Insights functions: REPORT counts from Invocations -----------------------------------------
def test_insights_rows_get_their_report_count_from_the_invocations_of_the_bin():
    mem = typed_frame(
        [
            {"account": "a", "region": "r", "function": "ins", "timestamp": T0, "bin_s": 300, "cold_starts": 2, "source": "lambda_insights"},
            {"account": "a", "region": "r", "function": "ins", "timestamp": T0 + pd.Timedelta(minutes=5), "bin_s": 300, "source": "lambda_insights"},
            {"account": "a", "region": "r", "function": "logs", "timestamp": T0, "bin_s": 300, "reports": 7, "cold_starts": 1, "source": "logs_insights"},
        ],
        sources.MEMORY_SCHEMA,
    )
    met = typed_frame(
        [
            {"account": "a", "region": "r", "function": "ins", "timestamp": T0 + pd.Timedelta(minutes=m), "period_s": 60, "invocations": float(m + 1)}
            for m in range(10)
        ]
        + [{"account": "a", "region": "r", "function": "logs", "timestamp": T0, "period_s": 60, "invocations": 99.0}],
        cw.LAMBDA_SCHEMA,
    )
    out = evaluation.with_report_counts(mem, met)
    assert out["reports"].tolist() == [1 + 2 + 3 + 4 + 5, 6 + 7 + 8 + 9 + 10, 7]
    assert mem["reports"].isna().sum() == 2  # the shared input is untouched
    # a metric period wider than the bin cannot be attributed to it: the count stays unknown
    wide = met.assign(period_s=600)
    assert evaluation.with_report_counts(mem, wide)["reports"].isna().tolist() == [True, True, False]


# --- rows shown ----------------------------------------------------------------------------------------
def states_frame() -> pd.DataFrame:
    def row(fn, rule, sev, state, since_min, team="t1", metric="errors"):
        return {
            "account": "a", "region": "us-east-1", "function": fn, "team": team, "rule": rule, "metric": metric, "severity": sev,
            "state": state, "since": T0 + pd.Timedelta(minutes=since_min), "value": 1.0, "last_value": 2.0, "threshold": 0.0,
            "comparison": "GreaterThanThreshold", "note": "",
        }

    return typed_frame(
        [
            row("f1", "w", "warning", ALARM, 10),
            row("f2", "c", "critical", ALARM, 30, metric="error_rate"),
            row("f3", "c", "critical", ALARM, 20, team="t2", metric="error_rate"),
            row("f4", "i", "info", ALARM, 0),
            row("f5", "c", "critical", OK, 0, metric="error_rate"),
            row("f6", "w", "warning", INSUFFICIENT_DATA, 0),
        ],
        STATES_SCHEMA,
    )


def test_alert_rows_are_firing_by_severity_then_longest_standing_and_link_to_the_rule_chart():
    rows = evaluation.alert_rows(states_frame(), range_text="7d")
    assert list(rows.columns) == list(evaluation.ALERT_SCHEMA)
    assert rows["function"].tolist() == ["f3", "f2", "f1", "f4"]
    assert rows["link"].iloc[0] == "functions?fn=a/us-east-1/f3&range=7d&rule=c"
    assert rows["unit"].tolist() == ["%", "%", "errors", "errors"]


def test_alert_rows_filter_by_state_severity_team_and_rule():
    s = states_frame()
    assert evaluation.alert_rows(s, states_wanted=None)["function"].tolist() == ["f3", "f2", "f1", "f4", "f6", "f5"]
    assert evaluation.alert_rows(s, states_wanted=[OK, INSUFFICIENT_DATA])["function"].tolist() == ["f6", "f5"]
    assert evaluation.alert_rows(s, severities=["critical"], teams=["t1"])["function"].tolist() == ["f2"]
    assert evaluation.alert_rows(s, rules=["w"], states_wanted=None)["function"].tolist() == ["f1", "f6"]
    assert evaluation.alert_rows(s, rules=["nope"]).empty and list(evaluation.alert_rows(s, rules=["nope"]).columns) == list(evaluation.ALERT_SCHEMA)


def test_transition_rows_are_newest_first_with_team_and_unit():
    s = states_frame()
    tr = typed_frame(
        [
            {"account": "a", "region": "us-east-1", "function": "f2", "rule": "c", "severity": "critical", "timestamp": T0 + pd.Timedelta(minutes=30), "from_state": OK, "to_state": ALARM, "value": 7.5},
            {"account": "a", "region": "us-east-1", "function": "f1", "rule": "w", "severity": "warning", "timestamp": T0 + pd.Timedelta(minutes=10), "from_state": OK, "to_state": ALARM, "value": 3.0},
            {"account": "a", "region": "us-east-1", "function": "f3", "rule": "c", "severity": "critical", "timestamp": T0 + pd.Timedelta(minutes=40), "from_state": ALARM, "to_state": OK, "value": 0.0},
        ],
        TRANSITIONS_SCHEMA,
    )
    rows = evaluation.transition_rows(AlertReport(s, tr), range_text="24h")
    assert rows[["function", "team", "unit", "to_state"]].values.tolist() == [
        ["f3", "t2", "%", OK],
        ["f2", "t1", "%", ALARM],
        ["f1", "t1", "errors", ALARM],
    ]
    assert rows["link"].iloc[2] == "functions?fn=a/us-east-1/f1&range=24h&rule=w"
    assert evaluation.transition_rows(AlertReport(s, tr), teams=["t2"])["function"].tolist() == ["f3"]
    assert evaluation.transition_rows(AlertReport(s, tr.iloc[0:0])).empty


# --- the account's concurrency quota -------------------------------------------------------------------
@pytest.mark.aws
def test_the_concurrency_quota_comes_from_get_account_settings_once_per_region(clock):
    from aws.meter import METER

    cfg = demo_settings(functions=20)
    inv = sources.inventory(cfg).frame
    limits, statuses = evaluation.concurrency_limits(cfg, inv)
    assert limits == {("demo", "eu-west-1"): 1000, ("demo", "us-east-1"): 1000}
    assert [s.error for s in statuses] == [None, None]
    evaluation.concurrency_limits(cfg, inv)  # cached with the inventory
    assert METER.snapshot().count("GetAccountSettings") == 2


@pytest.mark.aws
def test_a_denied_quota_falls_back_to_1000_and_says_so(clock):
    cfg = demo_settings(functions=20, deny=["lambda:GetAccountSettings"])
    limits, statuses = evaluation.concurrency_limits(cfg, sources.inventory(cfg).frame)
    assert limits == {("demo", "eu-west-1"): 1000, ("demo", "us-east-1"): 1000}
    assert [s.error for s in statuses][0] == (
        "Access denied in demo/eu-west-1: the credentials may not call lambda:GetAccountSettings; grant it "
        "(see docs/iam-policy.json). The concurrency share uses Lambda's default quota of 1,000 there."
    )
    got = evaluation.load_alerts(cfg, Selection(parse_range("3h", now=NOW), "3h", NOW))
    assert len(got.failed) == 2 and set(got.report.states["rule"]) >= {"concurrency-share"}


@pytest.mark.aws
def test_the_concurrency_share_rule_divides_by_the_quota(clock):
    # the simulated functions peak at 1 concurrent execution a period: 0.1 % of the quota of 1,000
    cfg = demo_settings(functions=20)

    def share(threshold: float) -> pd.DataFrame:
        rule = AlertRule(
            name="share", metric="concurrency_account_share", comparison="GreaterThanOrEqualToThreshold",
            threshold=threshold, period_s=300, evaluation_periods=1, missing_data="notBreaching",
        )
        got = evaluation.load_alerts(cfg.model_copy(update={"alerts": AlertSettings(rules=[rule])}), Selection(parse_range("3h", now=NOW), "3h", NOW))
        return got.report.states

    inv = sources.inventory(cfg).frame
    met = sources.metrics(cfg, parse_range("24h", now=NOW), inv).frame
    end = pd.Timestamp(NOW).floor("300s")
    last = met[(met["timestamp"] >= end - pd.Timedelta(minutes=5)) & (met["timestamp"] < end)]
    busy = set(last[last["concurrency_max"] >= 1]["function"])
    at = share(0.1)
    assert len(busy) >= 10 and set(at[at["state"] == ALARM]["function"]) == busy
    assert set(at[at["state"] == ALARM]["last_value"]) == {0.1}
    above = share(0.1001)
    assert (above["state"] == ALARM).sum() == 0


@pytest.mark.aws
def test_memory_is_not_read_when_no_rule_needs_it(clock):
    from aws.meter import METER

    cfg = demo_settings(functions=10)
    cfg = cfg.model_copy(update={"alerts": AlertSettings(rules=[AlertRule(name="e", metric="errors", threshold=0)])})
    evaluation.load_alerts(cfg, Selection(parse_range("1h", now=NOW), "1h", NOW))
    snap = METER.snapshot()
    assert snap.count("StartQuery") == 0 and snap.count("GetAccountSettings") == 0 and snap.count("GetMetricData") > 0


@pytest.mark.aws
def test_alert_report_is_the_report_and_the_statuses(clock):
    cfg = demo_settings(functions=10)
    got = evaluation.load_alerts(cfg, select(cfg, range_text="1h", regions=["us-east-1"], now=NOW))
    report, statuses = got.report, got.statuses
    assert set(report.states["region"]) == {"us-east-1"}
    assert {s.source for s in statuses} >= {"inventory", "tags", "metrics", "logs"}
    assert np.all(report.transitions["timestamp"] > pd.Timestamp(NOW - timedelta(hours=1)))
    cache.clear_all()


def test_an_endpoint_without_get_account_settings_falls_back_to_1000(moto_url):
    # moto 5.2.5's server has no GetAccountSettings (its HTML 404 page): the quota falls back, the status says why
    from dashboard.config.settings import AwsSettings

    cfg = Settings(accounts=[AccountSettings(name="moto", endpoint_url=moto_url, regions=["us-east-1"])], aws=AwsSettings(max_attempts=1))
    inv = pd.DataFrame({"account": ["moto"], "region": ["us-east-1"], "function": ["f"]})
    limits, (status,) = evaluation.concurrency_limits(cfg, inv)
    assert limits == {("moto", "us-east-1"): 1000}
    assert status.failed and status.error_kind == "BadResponse"
    assert status.error.startswith(
        "Lambda in moto/us-east-1 answered GetAccountSettings with HTTP 404 text/html, not an AWS response; "
    )
    assert status.error.endswith(" The concurrency share uses Lambda's default quota of 1,000 there.")
