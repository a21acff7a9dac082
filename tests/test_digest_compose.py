"""The digest's facts on small frames: movers, advice, spend against forecast and budget, alert
categories when data is missing, "only when changed", and the settings cross-checks."""

from __future__ import annotations

import datetime as dt
import textwrap

import numpy as np
import pandas as pd
import pytest

from aws import costs as ce
from aws.frames import typed_frame
from dashboard.alerts import STATES_SCHEMA, TRANSITIONS_SCHEMA, AlertReport
from dashboard.config import settings as settings_mod
from dashboard.config.settings import ConfigError, DigestSettings
from dashboard.digest.compose import (
    ADVICE_SCHEMA,
    FUNCTIONS_SCHEMA,
    MOVERS_SCHEMA,
    advise,
    check_settings,
    classify_alerts,
    compose,
    spend_facts,
    top_movers,
)
from dashboard.digest.pipeline import run_digest
from dashboard.digest.state import AlertMemo, DigestRecord, StateStore
from dashboard.query.sources import SourceStatus
from tests.digest_support import inventory, metrics, synthetic_inputs

NAN = float("nan")


def funcs(rows: list[dict]) -> pd.DataFrame:
    base = {"account": "a", "region": "us-east-1", "team": "web", "memory_mb": 512, "timeout_s": 30}
    return typed_frame([{**base, **r} for r in rows], FUNCTIONS_SCHEMA)


def test_top_movers_largest_changes_per_metric_above_the_noise_floor():
    f = funcs(
        [
            {"function": "a", "invocations": 5000, "invocations_prev": 1000, "errors": 3, "errors_prev": 0, "duration_p99_ms": 900, "duration_p99_ms_prev": 300, "est_cost_usd": 2.0, "est_cost_usd_prev": 1.0},
            {"function": "b", "invocations": 1000, "invocations_prev": 3000, "errors": 40, "errors_prev": 10, "duration_p99_ms": 330, "duration_p99_ms_prev": 300, "est_cost_usd": 1.0, "est_cost_usd_prev": 1.005},
            {"function": "c", "invocations": 150, "invocations_prev": 100, "errors": NAN, "errors_prev": 6, "duration_p99_ms": 500, "duration_p99_ms_prev": NAN, "est_cost_usd": 0.5, "est_cost_usd_prev": NAN},
        ]
    )
    m = top_movers(f, n=2)
    assert list(m.columns) == list(MOVERS_SCHEMA)
    got = [(r.metric, r.function, r.previous, r.current, r.change, None if np.isnan(r.change_pct) else round(r.change_pct, 1)) for r in m.itertuples()]
    assert got == [
        ("invocations", "a", 1000.0, 5000.0, 4000.0, 400.0),
        ("invocations", "b", 3000.0, 1000.0, -2000.0, -66.7),  # c: +50 is under the floor of 100
        ("errors", "b", 10.0, 40.0, 30.0, 300.0),  # a: +3 and c: -6 (missing = 0) are under 5 / 20 %
        ("errors", "c", 6.0, 0.0, -6.0, -100.0),
        ("duration_p99_ms", "a", 300.0, 900.0, 600.0, 200.0),  # b: +30 ms under 50 ms; c: no previous p99
        ("est_cost_usd", "a", 1.0, 2.0, 1.0, 100.0),
        ("est_cost_usd", "c", 0.0, 0.5, 0.5, None),  # new cost: no percentage
    ]
    assert top_movers(f, n=0).empty and list(top_movers(f.iloc[0:0], n=3).columns) == list(MOVERS_SCHEMA)


def test_advice_one_line_per_function_most_urgent_first():
    f = funcs(
        [
            {"function": "slow", "timeout_s": 6, "duration_p99_ms": 5900, "memory_used_pct": 95, "invocations": 100},
            {"function": "tight", "memory_mb": 256, "memory_used_pct": 97.2, "max_memory_used_mb": 249, "invocations": 100},
            {"function": "queue", "throttles": 1234, "invocations": 100},
            {"function": "burst", "throttles": 5, "invocations": 100},
            {"function": "broken", "errors": 40, "error_rate_pct": 8.0, "invocations": 500},
            {"function": "stream", "invocations": 100},
            {"function": "cold", "cold_starts": 30, "invocations": 100},
            {"function": "big", "memory_mb": 3008, "max_memory_used_mb": 450, "memory_used_pct": 15.0, "invocations": 100},
            {"function": "idle", "invocations": 0, "invocations_prev": 0},
            {"function": "hourly", "invocations": 0, "invocations_prev": 0},
            {"function": "fine", "invocations": 100, "memory_used_pct": 50},
        ]
    )
    f["reserved_concurrency"] = pd.array([None, None, None, 10, None, None, None, None, None, None, None], dtype="Int64")
    f["log_group"] = pd.array(["/aws/lambda/" + n for n in f["function"]], dtype="string")
    firing = typed_frame(
        [
            {"account": "a", "region": "us-east-1", "function": "stream", "rule": "iterator-age", "metric": "iterator_age_ms", "state": "ALARM", "last_value": 5_400_000.0},
            {"account": "a", "region": "us-east-1", "function": "hourly", "rule": "no-invocations", "metric": "no_invocations", "state": "ALARM", "last_value": 0.0},
        ],
        STATES_SCHEMA,
    )
    a = advise(f, firing, range_text="24h")
    assert list(a.columns) == list(ADVICE_SCHEMA)
    assert a[["function", "kind", "text"]].values.tolist() == [
        ["slow", "timeout", "raise the timeout or make it faster: p99 duration 5,900 ms is 98 % of its 6,000 ms timeout"],
        ["tight", "memory_high", "raise memory to 384 MB: it peaks at 97 % of its 256 MB"],
        ["burst", "throttles", "raise its reserved concurrency (10): 5 requests were throttled"],
        ["queue", "throttles", "reserve concurrency for it or ask AWS for a higher account limit: 1,234 requests were throttled"],
        ["broken", "errors", "read the errors in /aws/lambda/broken: 8.0 % of invocations failed (40 errors)"],
        ["hourly", "not_running", "check its trigger or schedule: a rule expects it to run, and it is not being invoked"],
        ["stream", "iterator_age", "raise its batch size or parallelization factor: it falls behind its stream (iterator age 1.5 h)"],
        ["cold", "cold_starts", "consider provisioned concurrency or SnapStart: 30 % of invocations were cold starts"],
        ["big", "memory_low", "lower memory to 576 MB: it peaks at 15 % of its 3008 MB"],
        ["idle", "idle", "no invocations in the last 24h nor the 24h before: remove it if it is no longer used"],
    ]


def test_no_advice_rests_on_figures_that_could_not_be_read():
    # NaN = could not be read (dashboard.figures.usage): not an idle function, not a memory to lower
    f = funcs(
        [
            {"function": "unread", "invocations": NAN, "invocations_prev": NAN},
            {"function": "half", "invocations": 0, "invocations_prev": NAN},
            {"function": "mem", "memory_mb": 3008, "invocations": NAN, "max_memory_used_mb": NAN, "memory_used_pct": NAN},
        ]
    )
    assert advise(f, typed_frame([], STATES_SCHEMA), range_text="24h").empty


def daily(rows: list[tuple[str, str, float, bool]], group_by: str = "TOTAL") -> pd.DataFrame:
    return typed_frame(
        [{"account": "demo", "date": pd.Timestamp(d), "group_by": group_by, "group": g, "cost_usd": c, "usage_quantity": 0.0, "estimated": e} for d, g, c, e in rows],
        ce.SCHEMA,
    )


TODAY = dt.date(2026, 11, 26)
ORG = daily([("2026-11-01", "", 40.0, False), ("2026-11-25", "", 20.0, False), ("2026-11-26", "", 5.0, True)])
TEAMS = daily(
    [("2026-11-01", "payments", 30.0, False), ("2026-11-25", "payments", 0.0, False), ("2026-11-26", "payments", 2.0, True), ("2026-11-01", "", 30.0, False)],
    group_by="TAG:team",
)
FORECAST = typed_frame([{"account": "demo", "start": pd.Timestamp("2026-11-26"), "end": pd.Timestamp("2026-12-01"), "mean_usd": 40.0, "lower_usd": 35.0, "upper_usd": 45.0}], ce.FORECAST_SCHEMA)


@pytest.mark.parametrize(
    "budget,status",
    [(None, "no_budget"), (120.0, "under"), (90.0, "forecast_over"), (60.0, "over")],
)
def test_spend_month_to_date_forecast_and_budget(budget, status):
    s = spend_facts(ORG, FORECAST, today=TODAY, budget_usd=budget)
    # MTD includes today's estimated part; the month end = complete days (60) + the forecast from today (40).
    assert (s.mtd_usd, s.forecast_usd, s.status, s.scope) == (65.0, 100.0, status, "all functions")
    assert (s.month_start, s.month_end) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert s.daily["cost_usd"].tolist() == [40.0, 20.0, 5.0]


def test_a_teams_spend_comes_from_its_tag_and_its_forecast_pro_rata():
    s = spend_facts(ORG, FORECAST, today=TODAY, budget_usd=50.0, team="payments", team_costs=TEAMS)
    assert s.mtd_usd == 32.0
    assert s.forecast_usd == pytest.approx(30.0 + 40.0 * 30.0 / 60.0)  # half of the complete days → half the forecast
    assert s.status == "under" and s.budget_used_pct == pytest.approx(64.0)
    assert s.note == "Cost Explorer, tag team = payments; month-end forecast pro rata (50% of the total)"
    untagged = spend_facts(ORG, FORECAST, today=TODAY, budget_usd=None, team="untagged", team_costs=TEAMS)
    assert untagged.mtd_usd == 30.0  # Cost Explorer's empty group is the untagged label
    down = spend_facts(ORG, FORECAST, today=TODAY, budget_usd=50.0, error="Access denied: the credentials may not call ce:GetCostAndUsage.")
    assert (down.status, down.mtd_usd, down.error) == ("unavailable", None, "Access denied: the credentials may not call ce:GetCostAndUsage.")
    # a team Cost Explorer has no row for under the tag is unknown, not $0.00; a row of $0.00 is a figure
    search = spend_facts(ORG, FORECAST, today=TODAY, budget_usd=50.0, team="search", team_costs=TEAMS)
    assert (search.status, search.mtd_usd, search.forecast_usd) == ("unavailable", None, None)
    assert "no spend under the tag team = search" in search.error and "24 hours" in search.error
    zero = daily([("2026-11-25", "search", 0.0, False)], group_by="TAG:team")
    assert spend_facts(ORG, FORECAST, today=TODAY, budget_usd=50.0, team="search", team_costs=zero).mtd_usd == 0.0


def test_alerts_of_an_unreadable_part_are_kept_and_vanished_ones_resolved():
    empty = AlertReport(typed_frame([], STATES_SCHEMA), typed_frame([], TRANSITIONS_SCHEMA))
    previous = {
        "a/us-east-1/api/error-rate": AlertMemo(since="2026-11-26T06:00:00+00:00", severity="critical", value=12.0),
        "a/eu-west-1/gone/throttles": AlertMemo(since="2026-11-26T05:00:00+00:00", severity="warning", value=3.0),
    }
    out = classify_alerts(empty, previous=previous, window_start=dt.datetime(2026, 11, 26, 7, tzinfo=dt.UTC), unchecked_parts={("a", "us-east-1")}, teams={("a", "us-east-1", "api"): "web"})
    got = out[["category", "function", "team", "rule", "value", "note"]].astype(object).where(out.notna(), None).values.tolist()
    assert got == [
        ["ongoing", "api", "web", "error-rate", 12.0, "not re-checked: its data could not be read this time"],
        ["resolved", "gone", None, "throttles", 3.0, "no longer evaluated (function, rule or team changed)"],
    ]


CFG = """
alerts:
  rules:
    - {name: error-rate, metric: error_rate, threshold: 5, period_s: 300, evaluation_periods: 1, missing_data: notBreaching, severity: critical}
    - {name: errors, metric: errors, statistic: Sum, threshold: 1000, period_s: 300, evaluation_periods: 1, severity: info}
email:
  digests:
    - {name: web, team: web, recipients: [web@example.com], timezone: UTC, range: 3h, only_when_changed: true, min_severity: warning}
"""


def load(tmp_path, text: str = CFG):
    p = tmp_path / "config.yaml"
    p.write_text(textwrap.dedent(text))
    return settings_mod.load(p)


END = pd.Timestamp("2026-11-26T08:00:00Z")
INV = inventory([{"function": "api", "team": "web"}, {"function": "billing", "team": "payments"}])


def inputs(api_bad: bool, *, statuses=()):
    per = {"api": [(100.0, 50.0 if api_bad else 0.0)] * 36, "billing": [(100.0, 90.0)] * 36}
    base = synthetic_inputs(INV, metrics(per, end=END), now=END)
    return base.__class__(**{**base.__dict__, "statuses": tuple(statuses)})


class Transport:
    name = "fake"

    def __init__(self):
        self.sent = []

    def send(self, msg, *, sender, recipients):
        self.sent.append(msg)
        return "id"


def test_a_team_digest_covers_its_functions_and_rules_only(tmp_path):
    cfg = load(tmp_path)
    d = compose(cfg, cfg.email.digests[0], inputs(True))
    assert d.function_count == 1 and d.functions["function"].tolist() == ["api"]
    assert d.alerts[["category", "function", "rule"]].values.tolist() == [["new", "api", "error-rate"]]  # billing: another team; errors: info
    scoped = compose(cfg, cfg.email.digests[0].model_copy(update={"rules": ["errors"], "min_severity": "info"}), inputs(True))
    assert scoped.alerts.empty


def test_only_when_changed_skips_a_digest_with_nothing_new_or_resolved(tmp_path):
    cfg = load(tmp_path)
    digest = cfg.email.digests[0]
    store = StateStore(tmp_path / "state.json")
    t = Transport()
    slot = END.to_pydatetime()
    assert run_digest(cfg, digest, slot_at=slot, inputs=inputs(True), store=store, transport=t).status == "sent"
    later = slot + dt.timedelta(hours=1)
    skipped = run_digest(cfg, digest, slot_at=later, inputs=inputs(True), store=store, transport=t)
    assert skipped.status == "skipped_unchanged" and len(t.sent) == 1
    assert store.load().record("web").slots == ("2026-11-26T08:00 UTC", "2026-11-26T09:00 UTC")
    forced = run_digest(cfg, digest, slot_at=later + dt.timedelta(hours=1), inputs=inputs(True), store=store, transport=t, force=True)
    assert forced.status == "sent"
    resolved = run_digest(cfg, digest, slot_at=later + dt.timedelta(hours=2), inputs=inputs(False), store=store, transport=t)
    assert resolved.status == "sent" and t.sent[-1]["Subject"] == "No alerts firing, 1 resolved — web, 2026-11-26"


def test_failed_metrics_keep_the_alerts_firing_instead_of_resolving_them(tmp_path):
    cfg = load(tmp_path)
    digest = cfg.email.digests[0]
    prev = DigestRecord(sent_at=(END - pd.Timedelta(hours=1)).isoformat(), budget_status="no_budget", alerts={"acct/us-east-1/api/error-rate": AlertMemo(since="2026-11-26T06:00:00+00:00", severity="critical", value=50.0)})
    failed = SourceStatus("metrics", "acct", "us-east-1", error="Access denied in acct/us-east-1: the credentials may not call cloudwatch:GetMetricData; grant it (see docs/iam-policy.json).")
    base = inputs(False)
    down = base.__class__(**{**base.__dict__, "metrics": base.metrics.iloc[0:0], "statuses": (failed,)})
    d = compose(cfg, digest, down, previous=prev)
    assert d.alerts[["category", "function", "note"]].values.tolist() == [["ongoing", "api", "not re-checked: its data could not be read this time"]]
    assert d.problems == (failed.error,)
    assert not d.changed


def test_settings_cross_checks_name_the_key(tmp_path):
    bad_rule = CFG.replace("min_severity: warning}", "min_severity: warning, rules: [error-rate, eror-rate]}")
    with pytest.raises(ConfigError, match=r"^.*config.yaml: email.digests\[0\].rules\[1\]: no alert rule named 'eror-rate' \(rules: error-rate, errors\)$"):
        check_settings(load(tmp_path, bad_rule))
    with pytest.raises(ConfigError, match=r"email.ses_account: no account named 'mail' under accounts"):
        check_settings(load(tmp_path, CFG + "  ses_account: mail\n"))
    with pytest.raises(ConfigError, match=r"email.ses_account: 'demo' is the simulated account, which sends no mail"):
        check_settings(load(tmp_path, CFG + "  ses_account: demo\n"))
    check_settings(load(tmp_path))


def test_a_digest_on_its_own_settings_defaults():
    d = DigestSettings(name="org", recipients=["a@example.com"])
    assert (d.schedule, d.timezone, d.range, d.rules, d.min_severity, d.top_movers, d.only_when_changed) == ("0 8 * * 1-5", "UTC", "24h", None, "info", 5, False)
