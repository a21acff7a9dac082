"""The Alerts page in Streamlit's AppTest: what fires, the filters, the links, the transitions, a deep link.

The rows shown are checked against :mod:`dashboard.alerts.evaluation` asked the same question right
after the run (same caches, same selection): they must be identical.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.alerts import ALARM, INSUFFICIENT_DATA, OK, evaluation
from dashboard.figures import fleet
from dashboard.web import columns
from tests.apptest import APP, ROOT, run

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

PAGE = "dashboard/pages/alerts.py"


@pytest.fixture(autouse=True)
def _chdir(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LAMBDA_LENS_CONFIG", raising=False)



def open_alerts(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    run(at)  # registers the pages (the Overview is the default)
    at.switch_page(PAGE)
    return run(at)


def domain(at: AppTest) -> evaluation.AlertsLoaded:
    sel = at.session_state["selection"]
    return evaluation.load_alerts(at.session_state["settings"], sel)


def frames_equal(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def test_the_page_lists_what_fires_by_severity_with_links_to_the_rule_chart_and_the_transitions():
    at = open_alerts()
    assert at.title[0].value == "Alerts"
    got = domain(at)
    firing = evaluation.alert_rows(got.report.states, range_text="24h")
    assert at.subheader[0].value == f"{len(firing)} firing"
    rows, trans = at.dataframe
    frames_equal(rows.value, columns.with_value_texts(firing))
    assert {("media-image-resizer", "memory-high"), ("legacy-importer", "no-invocations")} <= set(
        zip(rows.value["function"], rows.value["rule"], strict=True)
    )
    assert rows.value.set_index("function").loc["legacy-importer", "link"] == (
        "functions?fn=demo/eu-west-1/legacy-importer&range=24h&rule=no-invocations"
    )
    assert json.loads(rows.proto.columns)["link"]["type_config"] == {"type": "link", "display_text": fleet.FUNCTION_NAME}
    # the condition reads as a sign and the configured threshold in the metric's unit, never "GreaterThanThreshold"
    shown = rows.value.set_index("rule")
    assert shown.loc["no-invocations", "condition_text"] == "< 1 invocations"
    assert shown.loc["memory-high", "condition_text"].startswith("> ") and shown["condition_text"].str.endswith("% of memory").any()
    assert not shown["condition_text"].str.contains("Threshold").any()
    assert at.subheader[1].value == "Transitions in the range"
    frames_equal(trans.value, columns.with_value_texts(evaluation.transition_rows(got.report, range_text="24h")))
    assert len(trans.value) > 0 and (trans.value["from_state"] != INSUFFICIENT_DATA).any()


def test_filters_by_state_severity_team_and_rule():
    at = open_alerts()
    at.multiselect(key="al_state").set_value([])  # every state
    run(at)
    got = domain(at)
    states = got.report.states
    assert at.subheader[0].value == f"{len(states):,} of {len(states):,} states"
    frames_equal(at.dataframe[0].value, columns.with_value_texts(evaluation.alert_rows(states, states_wanted=None, range_text="24h")))
    shown = at.dataframe[0].value["state"].tolist()
    order = [ALARM, INSUFFICIENT_DATA, OK]
    assert shown == sorted(shown, key=order.index)  # firing first

    at.multiselect(key="al_rule").set_value(["memory-high"])
    at.multiselect(key="al_team").set_value(["media"])
    run(at)
    rows = at.dataframe[0].value
    assert set(rows["rule"]) == {"memory-high"} and set(rows["team"]) == {"media"}
    frames_equal(rows, columns.with_value_texts(evaluation.alert_rows(states, states_wanted=None, rules=["memory-high"], teams=["media"], range_text="24h")))

    at.multiselect(key="al_state").set_value([ALARM])
    at.multiselect(key="al_severity").set_value(["critical"])
    run(at)
    assert evaluation.alert_rows(states, severities=["critical"], rules=["memory-high"]).empty
    assert [i.value for i in at.info][-2:] == ["No alert matches these filters.", "No alert changed state in this range."]


def test_a_short_range_is_evaluated_over_a_day_and_says_so():
    at = open_alerts(range="1h", region="eu-west-1")
    got = domain(at)
    assert (got.window.duration.total_seconds(), got.window.label) == (86400, "24h")
    note = [c.value for c in at.caption if c.value.startswith("States are evaluated over")]
    assert note == [
        f"States are evaluated over {got.window.start:%Y-%m-%d %H:%M} → {got.window.end:%Y-%m-%d %H:%M} UTC "
        "(enough history for every rule's evaluation periods); transitions are those of the selected range."
    ]
    rows = at.dataframe[0].value
    assert set(rows["region"]) == {"eu-west-1"} and rows["link"].str.contains("&range=1h&rule=").all()
    frames_equal(rows, columns.with_value_texts(evaluation.alert_rows(got.report.states, range_text="1h")))


def test_with_no_rule_configured_nothing_is_called_all_clear(tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n"
        "    simulation: {functions: 8, seed: 7, now: '2026-12-08T15:30:00Z'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = open_alerts()
    assert not at.exception
    assert [i.value for i in at.info if i.value == evaluation.NO_RULES] == [evaluation.NO_RULES]
    assert not [s.value for s in at.success], "no rule checked is not 'No alert is firing'"
    at.switch_page("dashboard/pages/overview.py")
    run(at)
    assert evaluation.NO_RULES in [i.value for i in at.info]
    assert not [s.value for s in at.success]

    from dashboard.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(["alerts"], out=out, err=err)
    assert code == 0 and f"note: {evaluation.NO_RULES}" in err.getvalue().splitlines()
