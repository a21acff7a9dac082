"""The Costs page in AppTest: the bill with the forecast, the reconciliation, usage types, recommendations;
and with Cost Explorer denied, the usage figures with one sentence on why the bill is missing."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.config.settings import Settings
from dashboard.figures import cost_report, reconcile
from dashboard.present import plots
from dashboard.present.text import escape_markdown as md
from tests.apptest import APP, run
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
    assert {"memory", "arm64", "provisioned_concurrency", "unused"} <= set(advice["kind"])
    assert advice["monthly_usd"].iloc[0] == advice["monthly_usd"].max()
    assert md(month.sentence()) in [m.value for m in at.markdown]
    # the demo's eu-west-1 provisioned-concurrency arm64 rates are assumed (not verified): one info line says so
    assert report.assumed_note and "eu-west-1 (provisioned_concurrency_gb_second_arm" in report.assumed_note
    assert [i.value for i in at.info if not i.value.startswith("Demo data")] == [md(report.assumed_note)]
    (chart,) = at.get("plotly_chart")
    traces = json.loads(chart.proto.spec)["data"]
    names = [t.get("name") for t in traces]
    assert "our estimate (after the free tier)" in names and "forecast" in names
    # the bill's bars: one per kind of usage, in stacking order, adding up to Cost Explorer's daily spend
    kinds = [n for n in names if n in plots.USAGE_KINDS]
    assert kinds == [k for k in plots.USAGE_KINDS if k in kinds] and {"requests", "compute (GB-s)"} <= set(kinds)
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
    assert names[0] == "our estimate (after the free tier)" and "forecast" in names


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
    assert plots.usage_kind(usage_type) == kind
