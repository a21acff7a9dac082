"""The Teams page in AppTest: the allocation, a team's drill-down, and a CSV download holding the same numbers
as the page and ``python -m dashboard costs --by team --format csv``."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.config.settings import Settings
from dashboard.figures import cost_report
from tests.apptest import APP, run
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
    assert table["team"].tolist() == [
        "data",
        "media",
        "payments",
        "platform",
        "search",
        "untagged",
        "(free tier)",
        "(unexplained)",
    ]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Month to date"] == f"${table['mtd_usd'].sum():,.2f}" and metrics["Teams"] == "5"
    assert metrics["Tag coverage"].endswith("%")

    # the CSV download = the page's table = the CLI's CSV
    out, err = io.StringIO(), io.StringIO()
    assert main(["costs", "--by", "team", "--format", "csv"], out=out, err=err) == 0
    assert downloads[-1].decode() == out.getvalue()[:-1]  # the CLI adds one newline
    csv = pd.read_csv(io.StringIO(downloads[-1].decode()))
    assert csv["mtd_usd"].tolist() == table["mtd_usd"].tolist()
    assert csv["forecast_usd"].tolist() == table["forecast_usd"].tolist()

    # drill down: the payments team's functions ranked by cost
    at.selectbox(key="teams_pick").set_value("payments")
    run(at)
    ranked = at.dataframe[1].value
    report = cost_report.gather(Settings(), now=NOW)
    expect = cost_report.team_drilldown(report, team="payments")
    assert ranked["function"].tolist() == expect["function"].tolist() and len(ranked) == 5
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked["cost_usd"].is_monotonic_decreasing
    assert ranked["link"].iloc[0] == "functions?fn=demo/us-east-1/payments-auth-api"


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
    assert not at.error
