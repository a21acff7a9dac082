"""The Functions page in Streamlit's AppTest, on the simulated account: the list (search, filters, links,
CSV), a deep link to one function (its figure, configuration, tags and alert states), ?rule= highlighting,
an unknown function, and the idle function's sentences instead of empty axes."""

from __future__ import annotations

import json
import os
from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import APP, ROOT, plain, run

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

PAGE = "dashboard/pages/functions.py"

CONFIG = """
accounts:
  - name: demo
    demo: true
    regions: [us-east-1, eu-west-1]
    simulation: {now: "2026-12-08T15:30:00Z"}   # the seeded incidents stay put: every surface reads this clock
default_range: 24h
alerts:
  rules:
    - {name: error-rate, metric: error_rate, threshold: 5, period_s: 300, evaluation_periods: 3, datapoints_to_alarm: 2,
       missing_data: notBreaching, min_invocations: 20, severity: critical}
    - {name: duration-near-timeout, metric: duration_p99_timeout_share, threshold: 90, period_s: 300,
       evaluation_periods: 3, datapoints_to_alarm: 2, missing_data: notBreaching, severity: critical}
    - {name: throttles, metric: throttles, statistic: Sum, threshold: 0, period_s: 300, evaluation_periods: 3,
       datapoints_to_alarm: 2, missing_data: notBreaching}
    - {name: no-invocations, metric: no_invocations, comparison: LessThanThreshold, threshold: 1, period_s: 3600,
       evaluation_periods: 3, missing_data: breaching, enabled: false}
  function_overrides:
    legacy-importer: {no-invocations: {enabled: true}}
"""


def md(text: str) -> str:
    from dashboard.present.text import escape_markdown

    return escape_markdown(text)


@pytest.fixture(autouse=True)
def _setup(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(CONFIG)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    yield


def open_page(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    return run(at)



TABLES = {"fn_table": "link", "fn_config": "setting", "fn_tags": "key", "fn_states": "rule"}  # a column only that table has


def table(at: AppTest, key: str):
    (frame,) = [d.value for d in at.dataframe if TABLES[key] in d.value.columns]
    return frame


def spec(at: AppTest) -> dict:
    (chart,) = at.get("plotly_chart")
    return json.loads(chart.proto.spec)


def infos(at: AppTest) -> list[str]:
    return [plain(i.value) for i in at.info if not i.value.startswith("Demo data")]


def load_settings():
    from dashboard.config import settings

    return settings.load(os.environ["LAMBDA_LENS_CONFIG"])


def inventory():
    from dashboard.query import sources

    return sources.inventory(load_settings()).frame


# --- the list ----------------------------------------------------------------------------------------------------


def test_list_links_every_function_to_its_page_keeping_the_range():
    at = open_page(range="7d")
    assert at.title[0].value == "Functions"
    assert "(7d)" in at.caption[0].value
    rows = table(at, "fn_table")
    inv = inventory()
    assert len(rows) == len(inv) == 48
    assert set(rows["function"]) == set(inv["function"])
    expected = {f"functions?fn=demo/{r}/{f}&range=7d" for r, f in zip(inv["region"], inv["function"], strict=True)}
    assert set(rows["link"]) == expected
    assert all(len(v) == 60 and min(v) >= 0 for v in rows["trend"])  # the Overview's trend: ≤ 60 buckets of whole periods
    one = rows[rows["function"] == "payments-checkout-api"].iloc[0]
    assert one["tags"] == "env=prod, service=checkout-api, team=payments" and one["team"] == "payments"
    (download,) = at.get("download_button")
    assert download.proto.label == "Download CSV"
    (element,) = [d for d in at.dataframe if "link" in d.value.columns]
    cols = json.loads(element.proto.columns)  # metric columns as the registry says, as on the Overview
    assert cols["invocations"]["type_config"] == {"type": "number", "format": "%,.0f"}
    assert (cols["timeout_s"]["label"], cols["timeout_s"]["type_config"]["format"]) == ("timeout", "%,.0f s")


def test_search_covers_name_runtime_team_and_tags_and_filters_narrow():
    at = open_page()
    inv = inventory()
    at.text_input(key="fn_search").input("service=checkout")
    run(at)
    assert list(table(at, "fn_table")["function"]) == ["payments-checkout-api"]

    at.text_input(key="fn_search").input("PAYMENTS python")  # every word, any field, any case
    run(at)
    want = inv[(inv["team"] == "payments") & inv["runtime"].str.contains("python")]
    assert sorted(table(at, "fn_table")["function"]) == sorted(want["function"]) and len(want) >= 1
    assert f"{len(want)} of 48 functions" in [c.value for c in at.caption]

    at.text_input(key="fn_search").input("")
    at.multiselect(key="fn_runtime").set_value(["python3.12"])
    at.multiselect(key="fn_arch").set_value(["arm64"])
    run(at)
    want = inv[(inv["runtime"] == "python3.12") & (inv["architecture"] == "arm64")]
    got = table(at, "fn_table")
    assert sorted(got["function"]) == sorted(want["function"])
    assert set(got["runtime"]) == {"python3.12"} and set(got["architecture"]) == {"arm64"}

    at.text_input(key="fn_search").input("no-such-function")
    run(at)
    assert infos(at) == ["No functions match this selection."]
    assert not at.get("download_button")


# --- one function ------------------------------------------------------------------------------------------------


def test_deep_link_shows_that_functions_figure_configuration_tags_and_alerts():
    from aws import sim
    from dashboard.alerts import evaluation
    from dashboard.query.selection import select

    at = open_page(fn="demo/us-east-1/payments-checkout-api", range="24h")
    assert at.title[0].value == md("payments-checkout-api")
    assert not at.warning and not at.error
    fig = spec(at)
    names = [t["name"] for t in fig["data"]]
    assert names[:8] == ["invocations", "errors", "error rate", "avg", "p50", "p90", "p99", "max"]
    shapes = {s["name"]: s for s in fig["layout"]["shapes"]}
    assert shapes["timeout"]["y0"] == 15_000  # the function's 15 s timeout, in ms
    assert shapes["memory allocated"]["y0"] == 512
    error_rate = next(t for t in fig["data"] if t["name"] == "error rate")
    assert (shapes["threshold:error-rate"]["yref"], shapes["threshold:error-rate"]["y0"]) == (error_rate["yaxis"], 5)
    # the error incident, shaded on the invocations-and-errors panel, where it happened
    incident = {i["kind"]: i for i in sim.model_for(load_settings().aws_accounts()[0]).incidents}["errors"]
    alarms = [s for s in fig["layout"]["shapes"] if s["name"] == "alarm:error-rate"]
    assert len(alarms) == 1 and alarms[0]["yref"] == "y domain"
    x0, x1 = (datetime.fromisoformat(alarms[0][k]) for k in ("x0", "x1"))
    assert incident["start"] <= x0 and x1 <= incident["end"] + (x1 - x0) / 4

    config = dict(zip(*table(at, "fn_config").to_dict("list").values(), strict=True))
    assert config["timeout"] == "15 s" and config["memory"] == "512 MB" and config["account / region"] == "demo / us-east-1"
    assert config["log group"] == "/aws/lambda/payments-checkout-api" and config["team"] == "payments"
    assert table(at, "fn_tags").to_dict("records") == [
        {"key": "env", "value": "prod"},
        {"key": "service", "value": "checkout-api"},
        {"key": "team", "value": "payments"},
    ]
    states = table(at, "fn_states")
    assert list(states["rule"]) == ["error-rate", "duration-near-timeout", "throttles"]
    # the states are the Alerts page's, number for number
    cfg = load_settings()
    report = evaluation.load_alerts(cfg, select(cfg, range_text="24h")).report.states
    theirs = report[report["function"] == "payments-checkout-api"].set_index("rule")
    for row in states.itertuples():
        assert (row.state, row.since) == (theirs.loc[row.rule, "state"], theirs.loc[row.rule, "since"])
    assert infos(at) == ["No throttles in this range."]


def test_rule_link_highlights_the_rules_panel():
    at = open_page(fn="demo/us-east-1/search-reindex-worker", rule="duration-near-timeout")
    assert [s.value for s in at.subheader][0] == md("Rule duration-near-timeout")
    states = table(at, "fn_states").set_index("rule")
    state = states.loc["duration-near-timeout", "state"]
    assert at.markdown[0].value.startswith(f"**{state}**")
    assert md("p99 duration > 90.00 % of the timeout (5,400 ms)") in at.markdown[0].value
    fig = spec(at)
    line = next(s for s in fig["layout"]["shapes"] if s["name"] == "threshold:duration-near-timeout")
    assert (line["y0"], line["line"]["width"], line["line"]["dash"]) == (5400, 3, "solid")
    assert [a["text"] for a in fig["layout"]["annotations"]][0] == "▶ Duration"  # the panel the visitor came for comes first
    assert states.loc["duration-near-timeout", "alarm_periods"] > 0  # the timeout incident

    at.query_params["rule"] = "no-such-rule"
    run(at)
    assert [w.value for w in at.warning] == [f"Rule {md('no-such-rule')} does not apply to this function (unknown, or disabled for it)."]
    assert len(at.get("plotly_chart")) == 1


def test_unknown_or_malformed_function_is_one_sentence_and_the_list():
    at = open_page(fn="demo/us-east-1/nope")
    assert [w.value for w in at.warning] == [md("No function named 'nope' in demo/us-east-1: it may have been deleted or renamed.")]
    assert at.title[0].value == "Functions" and len(table(at, "fn_table")) == 48
    at.query_params["fn"] = "prod/us-east-1/x"
    run(at)
    assert [w.value for w in at.warning] == [md("No account named 'prod' is configured (accounts: demo).")]
    at.query_params["fn"] = "<b>garbage</b>"
    run(at)
    assert [w.value for w in at.warning] == [md("'<b>garbage</b>' is not a function key (account/region/name).")]
    assert "\\<b\\>" in at.warning[0].value  # shown as text, never as HTML


def test_a_function_without_invocations_shows_sentences_not_empty_axes():
    at = open_page(fn="demo/eu-west-1/legacy-importer")
    assert at.title[0].value == md("legacy-importer")
    assert not at.get("plotly_chart")
    assert infos(at) == [
        "No invocations in this range.",
        "No duration data in this range (no invocations).",
        "No throttles in this range.",
        "No concurrency data in this range.",
        "No memory figures in this range (no REPORT lines and no Lambda Insights data).",
        "No cold-start figures in this range (no REPORT lines and no Lambda Insights data).",
    ]
    states = table(at, "fn_states").set_index("rule")
    assert states.loc["no-invocations", "state"] == "ALARM"  # enabled for it alone: it should run hourly
    assert list(states.index) == ["error-rate", "duration-near-timeout", "throttles", "no-invocations"]


def test_a_denied_source_is_one_sentence_and_the_other_panels_still_draw(tmp_path, monkeypatch):
    cfg = tmp_path / "denied.yaml"
    cfg.write_text(CONFIG.replace('simulation: {now: "2026-12-08T15:30:00Z"}', "simulation: {now: \"2026-12-08T15:30:00Z\", deny: ['cloudwatch:GetMetricData']}"))
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = open_page(fn="demo/us-east-1/payments-checkout-api")
    assert [plain(e.value) for e in at.error] == [
        "Data missing for demo/us-east-1: Access denied in demo/us-east-1: the credentials may not call "
        "cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    ]
    # no "No invocations in this range.": the metrics are missing, not zero
    assert infos(at) == [
        "Lambda Insights metrics unavailable, read from REPORT lines instead: Access denied in demo/us-east-1: "
        "the credentials may not call cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    ]
    names = [t["name"] for t in spec(at)["data"]]
    assert names[:2] == ["max memory used", "mean memory used"] and "invocations" not in names  # REPORT lines still tell


def test_the_list_puts_health_and_cost_first_with_the_name_pinned():
    from dashboard.figures import function_cost
    from dashboard.query.load import Query
    from dashboard.query.selection import select

    at = open_page(range="24h")
    (element,) = [d for d in at.dataframe if "link" in d.value.columns]
    order = list(element.proto.column_order)
    assert order[:10] == ["function", "invocations", "errors", "error_rate", "throttles", "duration_p99_ms", "cold_starts", "memory_used_pct", "est_cost_usd", "mtd_cost_usd"]
    assert "link" not in order and order.index("runtime") > order.index("mtd_cost_usd")  # configuration after
    cols = json.loads(element.proto.columns)
    assert cols["function"]["pinned"] is True
    assert cols["est_cost_usd"]["label"] == "est. cost (24h)" and cols["mtd_cost_usd"]["label"] == "est. cost MTD"
    cfg = load_settings()
    costs = function_cost.load_costs(Query(cfg, select(cfg, range_text="24h"))).frame
    rows = element.value
    want = {f: c for f, c in zip(costs["function"], costs["est_cost_usd"], strict=True)}
    assert {f: c for f, c in zip(rows["function"], rows["est_cost_usd"], strict=True)} == want
    assert rows["est_cost_usd"].notna().all() and (rows["mtd_cost_usd"] >= rows["est_cost_usd"] - 1e-12).all()


def test_the_function_page_opens_with_a_header_of_totals_and_its_costs():
    from dashboard.query.selection import select
    from dashboard.web import function_view as fv

    at = open_page(fn="demo/us-east-1/payments-checkout-api", range="24h")
    labels = [m.label for m in at.metric]
    assert labels == ["Invocations", "Error rate", "p99 duration", "Cold starts", "Max memory used", "Est. cost", "Est. cost MTD"]
    cfg = load_settings()
    sel = select(cfg, range_text="24h")
    view = fv.load_function(cfg, sel, "demo/us-east-1/payments-checkout-api")
    assert [(m.value, m.delta) for m in at.metric] == [(v, d) for _, v, d, _ in view.header()]
    # the same figures as the list's row: one definition of each
    rows = fv.load_list(cfg, sel).frame.set_index("function").loc["payments-checkout-api"]
    from dashboard.present import registry

    shown = {m.label: m.value for m in at.metric}
    assert shown["Invocations"] == registry.format("invocations", rows["invocations"])
    assert shown["Est. cost"] == registry.format("est_cost_usd", rows["est_cost_usd"])
    assert shown["Est. cost MTD"] == registry.format("est_cost_usd", rows["mtd_cost_usd"])
    assert shown["Max memory used"] == registry.format("max_memory_used_mb", rows["max_memory_used_mb"])
    assert {m.label: m.delta for m in at.metric}["Max memory used"].startswith(f"of {registry.format('memory_mb', rows['memory_mb'])}")
    assert all(v != "—" for v in shown.values())
