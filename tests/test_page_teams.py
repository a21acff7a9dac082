"""The Teams page in AppTest: the allocation, a team's drill-down, and a CSV download holding the same numbers
as the page and ``python -m dashboard costs --by team --format csv``."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.config.settings import Settings
from dashboard.figures import cost_report
from dashboard.web import ui
from tests.apptest import APP, plain, run
from tests.apptest import COST_NOW as NOW

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

PAGE = "dashboard/pages/teams.py"


@pytest.fixture(autouse=True)
def _env(app_dir, cost_clock):
    """Every test: the repository's app at the cost pages' clock."""


@pytest.fixture
def downloads(monkeypatch) -> list[bytes]:
    """What every st.download_button hands the browser."""
    got: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        got.append(path_or_data if isinstance(path_or_data, bytes) else str(path_or_data).encode())
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return got



def test_teams_page_allocation_drilldown_and_csv(downloads):
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(PAGE)
    run(at)
    assert at.title[0].value == "Teams" and not at.error and not at.warning
    table = at.dataframe[0].value
    # the team lines only: the shared lines (free tier, unexplained) are a sentence under the table
    assert table["team"].tolist() == ["data", "media", "payments", "platform", "search", "untagged"]
    # no internal columns, no raw flags
    assert not {"line", "priced_by_assumption", "ce_tag_usd", "lower_estimate"} & set(table.columns)
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-9)  # the shares add up to 100 %
    report = cost_report.gather(Settings(), now=NOW)
    full = cost_report.costs_table(report, Settings(), by="team")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Month to date"] == f"${full['mtd_usd'].sum():,.2f}" and metrics["Teams"] == "5"
    assert metrics["Tag coverage"].endswith("%")
    shared = [plain(c.value) for c in at.caption if "not a team's" in c.value]
    assert len(shared) == 1 and "free tier" in shared[0]
    # a chart of cost by team, largest on top
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    (bars,) = [t for c in charts for t in c["data"] if t.get("name") == "month to date" and t.get("orientation") == "h"]
    assert bars["y"][-1] == table.sort_values("mtd_usd")["team"].iloc[-1]

    # the CSV download = the CLI's CSV (every line, for programs)
    out, err = io.StringIO(), io.StringIO()
    assert main(["costs", "--by", "team", "--format", "csv"], out=out, err=err) == 0
    assert downloads[-1].decode() == out.getvalue()[:-1]  # the CLI adds one newline
    csv = pd.read_csv(io.StringIO(downloads[-1].decode()))
    lines = csv[csv["line"].isin(["team", "untagged"])].reset_index(drop=True)
    assert lines["mtd_usd"].tolist() == table["mtd_usd"].tolist()
    assert lines["forecast_usd"].tolist() == table["forecast_usd"].tolist()

    # the organisation's top functions by cost, across teams
    top = at.dataframe[1].value
    fns = cost_report.costs_table(report, Settings(), by="function")
    assert top["function"].tolist() == fns.sort_values(["est_cost_usd", "function"], ascending=[False, True])["function"].head(10).tolist()
    assert top["team"].nunique() > 1 and top["est_cost_usd"].is_monotonic_decreasing

    # drill down: the payments team's functions ranked by cost
    at.selectbox(key="teams_pick").set_value("payments")
    run(at)
    ranked = at.dataframe[2].value
    expect = cost_report.team_drilldown(report, team="payments")
    assert ranked["function"].tolist() == expect["function"].tolist() and len(ranked) == 5
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked["cost_usd"].is_monotonic_decreasing
    assert ranked["link"].iloc[0] == "functions?fn=demo/us-east-1/payments-auth-api"
    assert "lower_estimate" not in ranked.columns and ranked["note"].notna().all()
    assert "payments: 5 functions, ranked by estimated cost." in [plain(c.value) for c in at.caption]

    # nothing on the page reads "None" or "nan"
    for frame in (at.dataframe[i].value for i in range(3)):
        text = frame.astype(str)
        assert not text.isin(["None", "nan", "<NA>"]).any().any(), frame


def test_teams_page_month_picker_keeps_the_month_in_the_address():
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(PAGE)
    run(at)
    picker = at.selectbox(key="cost_month")
    assert picker.value == "2026-12" and picker.options[0] == "December 2026 (this month)"
    # this month and the months the simulated account has Lambda spend for (its history starts in October)
    assert picker.options == ["December 2026 (this month)", "November 2026", "October 2026"]
    assert at.query_params["month"] == "2026-12"
    picker.set_value("2026-11")
    run(at)
    assert at.query_params["month"] == "2026-11"
    assert any(c.value.startswith("2026-11-01 → 2026-12-01") for c in at.caption)
    # the sidebar's range is kept but says it does not apply here
    assert at.sidebar.selectbox(key="f_range").disabled
    assert ui.MONTH_ONLY in [c.value for c in at.sidebar.caption]


def test_teams_page_without_cost_explorer(tmp_path, monkeypatch):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n    simulation:\n      deny: ['ce:GetCostAndUsage']\n"
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = run(AppTest.from_file(APP, default_timeout=120))
    at.switch_page(PAGE)
    run(at)
    (warning,) = at.warning
    assert warning.value == (  # markdown-escaped: the sentence holds AWS's message
        "The actual spend is missing because Cost Explorer could not be read\\: Access denied in demo\\: the credentials may "
        "not call ce\\:GetCostAndUsage; grant it \\(see docs/iam\\-policy\\.json\\)\\."
    )
    table = at.dataframe[0].value
    assert (
        "(unexplained)" not in table["team"].tolist() and table.loc[table["team"] == "payments", "mtd_usd"].item() > 10
    )
    assert not [c for c in at.caption if c.value.startswith("Cost Explorer by tag")]  # the warning says why, once
    assert not at.error


def test_a_region_filter_says_once_that_the_bill_covers_whole_accounts():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["region"] = "eu-west-1"
    run(at)
    at.switch_page(PAGE)
    run(at)
    said = [x.value for x in (*at.info, *at.caption, *at.warning) if "whole accounts" in x.value]
    assert len(said) == 1 and said[0].startswith("Cost Explorer's bill covers whole accounts"), said
    assert at.dataframe[0].value["ce_tag"].str.len().gt(0).all()  # the column keeps its short gap word per line
    assert not at.error


def test_teams_page_says_why_cost_explorer_has_no_figure_and_keeps_a_true_zero(tmp_path, monkeypatch):
    """A team from the manual map has no row under the tag Cost Explorer groups by: "—" with its reason, never $0.00;
    a team Cost Explorer answers $0.00 for (the free tier paid it) keeps its $0.00."""
    from dashboard.query import sources

    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n    simulation: {functions: 48, seed: 7}\n"
        "allocation:\n  tag_keys: [team]\n  manual: {shared-orders-api: ops}\n"
    )
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    original = sources.daily_costs

    def platform_paid_by_the_free_tier(settings, **kw):
        got = original(settings, **kw)
        if kw.get("group_by") == "TAG:team":
            frame = got.frame.copy()
            frame.loc[frame["group"] == "platform", "cost_usd"] = 0.0  # Cost Explorer's row says $0.00
            got = sources.Loaded(frame, got.statuses, got.warnings)
        return got

    monkeypatch.setattr(sources, "daily_costs", platform_paid_by_the_free_tier)
    cost_report._REPORTS.clear()
    try:
        at = run(AppTest.from_file(APP, default_timeout=120))
        at.switch_page(PAGE)
        run(at)
    finally:
        cost_report._REPORTS.clear()
    assert not at.error
    table = at.dataframe[0].value.set_index("team")
    assert table.loc["ops", "mtd_usd"] > 0  # ours knows its cost ...
    assert table.loc["ops", "ce_tag"] == "— (team not from this tag)"  # ... Cost Explorer has no figure, and says why
    assert table.loc["platform", "ce_tag"] == "$0.00 (free tier)"  # a row of $0.00 is a figure
    assert table.loc["payments", "ce_tag"].startswith("$") and table.loc["payments", "ce_tag"] != "$0.00"
    assert table["share"].sum() == pytest.approx(1.0, abs=1e-9)  # the shares add up to 100 % of what is known
    captions = [plain(c.value) for c in at.caption]
    (sentence,) = [c for c in captions if c.startswith("Cost Explorer by tag team")]
    assert "not counting 1 line it has no figure for" in sentence and "ops: This team comes from another tag key or the manual map" in sentence


def test_a_month_without_spend_opens_from_its_address_and_says_so():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["month"] = "2026-09"  # readable, but before the simulated account's history: no Lambda spend
    run(at)
    at.switch_page(PAGE)
    run(at)
    picker = at.selectbox(key="cost_month")
    assert picker.value == "2026-09" and "September 2026" in picker.options and "August 2026" not in picker.options
    assert at.query_params["month"] == "2026-09" and not at.error
    assert "Cost Explorer has no Lambda spend nor usage for September 2026." in [plain(i.value) for i in at.info]
    # a month with spend says nothing of the kind
    picker.set_value("2026-11")
    run(at)
    assert at.query_params["month"] == "2026-11"
    assert not [i for i in at.info if "no Lambda spend" in i.value]
