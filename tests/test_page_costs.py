"""The Costs page in AppTest: the bill with the forecast, the reconciliation, usage types, recommendations;
and with Cost Explorer denied, the usage figures with one sentence on why the bill is missing."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.config.settings import Settings
from dashboard.figures import cost_report, cost_views, reconcile
from dashboard.present import spend_plots
from dashboard.present.text import escape_markdown as md
from tests.apptest import APP, plain, run
from tests.apptest import COST_NOW as NOW

PAGE = "dashboard/pages/costs.py"


@pytest.fixture(autouse=True)
def _env(app_dir, cost_clock):
    """Every test: the repository's app at the cost pages' clock."""



def costs_page() -> AppTest:
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(PAGE)
    return run(at)


@pytest.mark.aws
def test_costs_page_shows_the_bill_forecast_reconciliation_and_recommendations():
    at = costs_page()
    assert at.title[0].value == "Costs" and not at.error and not at.warning
    report = cost_report.gather(Settings(), now=NOW)  # from the cache the page filled
    month = reconcile.month(report.reconciliation())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Bill, month to date": f"${report.bill_usd:,.2f}",  # today so far included, as the Overview's spend tile
        "Forecast to month end": f"${report.actual_usd + report.remaining_usd():,.2f}",
        "Our estimate": f"${month.explained_usd:,.2f}",
        "Explained": f"{month.explained_share:.1%}",
    }
    assert report.remaining_usd() > 0 and month.explained_share > 0.99
    rec, types, pcs, advice = (d.value for d in at.dataframe)
    assert len(rec) == 7 and rec["unexplained_share"].abs().max() < 0.01
    # the demo's two functions with provisioned concurrency, and what their figures rest on
    assert pcs.equals(cost_report.provisioned_table(report)) and len(pcs) == 2
    assert set(pcs["pc_basis"]) <= {"recorded", "metrics"}
    assert (
        types["usage_type"].tolist()
        == cost_report.costs_table(report, Settings(), by="usage-type")["usage_type"].tolist()
    )
    assert {"memory", "arm64", "provisioned concurrency", "unused"} <= set(advice["kind"])
    assert advice["monthly_usd"].iloc[0] == advice["monthly_usd"].max()
    assert md(month.sentence()) in [m.value for m in at.markdown]
    # the demo's eu-west-1 provisioned-concurrency arm64 rates are assumed (not verified): one info line says so
    assert report.assumed_note and "eu-west-1 (provisioned_concurrency_gb_second_arm" in report.assumed_note
    assert [i.value for i in at.info if not i.value.startswith("Demo data")] == [md(report.assumed_note)]
    (chart,) = at.get("plotly_chart")
    traces = json.loads(chart.proto.spec)["data"]
    names = [t.get("name") for t in traces]
    assert spend_plots.ESTIMATE_NAME in names and "forecast a day" in names and "forecast total" in names
    # the bill's bars: one per kind of usage, in stacking order, adding up to Cost Explorer's daily spend
    kinds = [n for n in names if n in spend_plots.USAGE_KINDS]
    assert kinds == [k for k in spend_plots.USAGE_KINDS if k in kinds] and {"requests", "compute (GB-s)"} <= set(kinds)
    billed = sum(float(np.sum(values(t["y"]))) for t in traces if t.get("name") in kinds)
    assert billed == pytest.approx(cost_report.usage_type_daily(report)["cost_usd"].sum())


def values(y) -> np.ndarray:
    """A trace's numbers, as plotly serialises them: a list, or a typed array ({"dtype", "bdata"} in base64)."""
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


@pytest.mark.aws
def test_costs_page_without_cost_explorer_keeps_the_estimate(tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n    simulation:\n      down: [ce]\n"
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = costs_page()
    (warning,) = at.warning
    assert warning.value.startswith("The actual spend is missing because Cost Explorer could not be read")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Bill, month to date"] == "—" and metrics["Explained"] == "—"
    assert metrics["Our estimate"].startswith("$") and metrics["Our estimate"] != "$0.00"
    rec, types, _pcs, advice = (d.value for d in at.dataframe)
    assert len(rec) == 7 and rec["actual_usd"].isna().all() and (rec["explained_usd"] > 0).all()
    assert types["est_cost_usd"].sum() > 10 and types["actual_cost_usd"].isna().all()
    assert not advice.empty and not at.error
    (chart,) = at.get("plotly_chart")
    names = [t.get("name") for t in json.loads(chart.proto.spec)["data"]]
    assert names[0] == spend_plots.ESTIMATE_NAME and "forecast total" in names


@pytest.mark.aws
def test_function_page_shows_its_right_sizing():
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.query_params["fn"] = "demo/us-east-1/payments-auth-api"
    at.switch_page("dashboard/pages/functions.py")
    run(at)
    assert at.title[0].value == "payments\\-auth\\-api"
    assert any(s.value == "Right-sizing" for s in at.subheader)
    advice = [d.value for d in at.dataframe if "advice" in d.value.columns]
    assert len(advice) == 1
    assert advice[0]["kind"].tolist()[0] == "provisioned_concurrency"
    assert advice[0]["advice"].iloc[0].startswith("Provisioned concurrency 5 is ")


@pytest.mark.parametrize(
    ("usage_type", "kind"),
    [
        ("Request", "requests"),  # us-east-1: no region prefix
        ("USE1-Request-ARM", "requests"),
        ("EUW1-Lambda-GB-Second", "compute (GB-s)"),
        ("Lambda-GB-Second-ARM", "compute (GB-s)"),
        ("APN1-Lambda-Provisioned-Concurrency-ARM", "provisioned concurrency"),
        ("USE2-Lambda-Provisioned-GB-Second", "provisioned compute (GB-s)"),
        ("EU-Lambda-Ephemeral-Storage-GB-Second-ARM", "ephemeral storage"),
        ("USE1-DataTransfer-Out-Bytes", "other"),
    ],
)
def test_the_spend_chart_groups_usage_types_by_what_they_bill(usage_type, kind):
    assert spend_plots.usage_kind(usage_type) == kind


def spend_spec(at: AppTest) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if "costs_figure" in c.proto.id]
    return json.loads(chart.proto.spec)


@pytest.mark.aws
def test_the_spend_chart_puts_the_days_spent_first_and_explains_the_forecast():
    at = costs_page()
    spec = spend_spec(at)
    traces = spec["data"]
    # the forecast is never bars (it would dwarf the days spent) and never in a usage kind's colour
    forecast = [t for t in traces if "forecast" in (t.get("name") or "")]
    assert forecast and all(t["type"] == "scatter" for t in forecast)
    bars = [t for t in traces if t["type"] == "bar"]
    assert bars and all(t["name"] in spend_plots.USAGE_KINDS for t in bars)
    assert spend_plots.FORECAST_COLOR not in {t["marker"]["color"] for t in bars}
    # the largest component of the bill is drawn in a colour of its own
    largest = max(bars, key=lambda t: float(np.sum(values(t["y"]))))
    assert largest["marker"]["color"] == spend_plots.USAGE_KINDS[largest["name"]] != spend_plots.FORECAST_COLOR
    # day ticks over the month, axes from $0
    layout = spec["layout"]
    assert layout["xaxis"]["dtick"] == 7 * 86_400_000 and layout["xaxis"]["tickformat"] == "%b %-d"
    assert layout["yaxis"]["rangemode"] == "nonnegative" and layout["yaxis2"]["rangemode"] == "nonnegative"
    assert layout["legend"]["y"] < 0  # under the plot: no title or toolbar on it
    # the demo's free tier pays the first days, so the forecast runs above them: a sentence says why
    report = cost_report.gather(Settings(), now=NOW)
    note = cost_views.forecast_note(report)
    assert note and "free tier" in note
    assert md(note) in [c.value for c in at.caption]
    assert [a["text"] for a in layout["annotations"] if "free tier" in a["text"]] == [cost_views.forecast_label(report)]


@pytest.mark.aws
def test_with_a_team_filter_the_chart_shows_days_from_zero_and_no_zero_line():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["team"] = "payments"
    run(at)
    at.switch_page(PAGE)
    run(at)
    spec = spend_spec(at)
    layout = spec["layout"]
    assert layout["xaxis"]["dtick"] == 7 * 86_400_000  # days, never hourly ticks
    assert layout["yaxis"]["rangemode"] == "nonnegative"
    (bars,) = [t for t in spec["data"] if t["type"] == "bar"]
    assert bars["name"] == spend_plots.ESTIMATE_NAME and (values(bars["y"]) > 0).all()  # no $0 line
    # the bill's forecast cannot be split by team: the run rate of our estimate stands in, as a line, never bars
    assert all(t["type"] == "scatter" for t in spec["data"] if "forecast" in (t.get("name") or ""))


@pytest.mark.aws
def test_the_month_picker_changes_the_month_and_the_address():
    at = costs_page()
    picker = at.selectbox(key="cost_month")
    assert picker.value == "2026-12" and at.query_params["month"] == "2026-12"
    picker.set_value("2026-11")
    run(at)
    assert at.query_params["month"] == "2026-11" and not at.error
    assert any(c.value.startswith("2026-11-01 → 2026-12-01") for c in at.caption)
    spec = spend_spec(at)
    assert not [t for t in spec["data"] if "forecast" in (t.get("name") or "")]  # a past month has no forecast
    # ?month= still opens a month; a bad one is one sentence
    again = run(AppTest.from_file(APP, default_timeout=120))
    again.query_params["month"] = "2026-10"
    again.switch_page(PAGE)
    run(again)
    assert again.selectbox(key="cost_month").value == "2026-10"
    bad = run(AppTest.from_file(APP, default_timeout=120))
    bad.query_params["month"] = "2026-13"
    bad.switch_page(PAGE)
    run(bad)
    assert [plain(e.value) for e in bad.error] == ["The address asks for the month '2026-13', which is not a month; use YYYY-MM, e.g. 2026-12."]


@pytest.mark.aws
def test_a_second_run_of_the_page_computes_nothing_again():
    at = costs_page()
    n = cost_report._REPORTS.computed
    run(at)  # the same session's next script run (a widget change, a rerun), on the same cached answers
    shown = {m.label: m.value for m in at.metric}
    second = run(AppTest.from_file(APP, default_timeout=120))  # another session
    second.switch_page(PAGE)
    run(second)
    assert cost_report._REPORTS.computed == n  # the month's report and the recommendations: computed once
    assert {m.label: m.value for m in second.metric} == shown


@pytest.mark.aws
def test_the_months_report_is_read_while_the_picker_reads_the_months(monkeypatch):
    """The month shown is read beside the picker's months (two Cost Explorer requests side by side, not one after
    the other); a month the address gets wrong starts nothing."""
    import threading

    from dashboard.figures import cost_months

    started, seen = threading.Event(), []
    gather, month_choice = cost_report.gather, cost_months.month_choice

    def gathering(*a, **kw):
        started.set()
        return gather(*a, **kw)

    def choosing(*a, **kw):
        seen.append(started.wait(timeout=60))  # asked one after the other, the report would start only after this
        return month_choice(*a, **kw)

    monkeypatch.setattr(cost_report, "gather", gathering)
    monkeypatch.setattr(cost_months, "month_choice", choosing)
    at = costs_page()
    assert seen and all(seen) and not at.error
    assert at.selectbox(key="cost_month").value == "2026-12" and at.metric[0].value.startswith("$")
    started.clear()
    bad = run(AppTest.from_file(APP, default_timeout=120))
    bad.query_params["month"] = "2026-13"
    bad.switch_page(PAGE)
    run(bad)
    assert bad.error and not started.is_set()
