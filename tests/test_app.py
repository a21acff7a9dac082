"""The app in Streamlit's AppTest: the frame, the Functions page, filters, a deep link, a refresh."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import APP, ROOT, plain, run


@pytest.fixture(autouse=True)
def _chdir(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LAMBDA_LENS_CONFIG", raising=False)



FUNCTIONS = "dashboard/pages/functions.py"


def table(at: AppTest):
    (df,) = [d for d in at.dataframe if "function" in d.value.columns]
    return df.value


def functions_page(at: AppTest) -> AppTest:
    at.switch_page(FUNCTIONS)
    return run(at)


@pytest.mark.aws
def test_the_default_page_is_the_overview_on_the_demo_account():
    at = run(AppTest.from_file(APP, default_timeout=60))
    assert any("Demo data" in i.value for i in at.info)
    assert at.title[0].value == "Overview"
    assert not at.error


@pytest.mark.aws
def test_functions_page_lists_the_demo_functions():
    at = functions_page(AppTest.from_file(APP, default_timeout=60))
    assert at.title[0].value == "Functions"
    frame = table(at)
    assert len(frame) == 48
    assert {"function", "team", "invocations", "error_rate", "duration_p99_ms", "max_memory_used_mb"} <= set(frame.columns)
    assert frame["invocations"].sum() > 0
    assert not at.error


@pytest.mark.aws
def test_team_filter_narrows_the_table_and_goes_into_the_url():
    at = functions_page(AppTest.from_file(APP, default_timeout=60))
    at.multiselect(key="f_team").set_value(["payments"])
    run(at)
    frame = table(at)
    assert len(frame) > 0 and set(frame["team"]) == {"payments"}
    team = at.query_params["team"]
    assert (team if isinstance(team, list) else [team]) == ["payments"]


@pytest.mark.aws
def test_deep_link_selects_region_and_range():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["region"] = "eu-west-1"
    at.query_params["range"] = "7d"
    functions_page(at)
    assert at.selectbox(key="f_range").value == "7d"
    frame = table(at)
    assert set(frame["region"]) == {"eu-west-1"}
    assert "(7d)" in at.caption[0].value


@pytest.mark.aws
def test_search_box_filters_by_name():
    at = functions_page(AppTest.from_file(APP, default_timeout=60))
    at.text_input(key="fn_search").input("thumb")
    run(at)
    frame = table(at)
    assert len(frame) >= 1 and frame["function"].str.contains("thumb").all()


@pytest.mark.aws
def test_refresh_asks_aws_again(tmp_path, monkeypatch):
    import yaml

    from aws.meter import METER

    # no budgeted refresh behind the page (aws.monthly_budget_usd: 0): what is counted is the page's own asking
    doc = yaml.safe_load((ROOT / "config.yaml").read_text())
    doc.setdefault("aws", {})["monthly_budget_usd"] = 0
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(tmp_path / "config.yaml"))
    at = run(AppTest.from_file(APP, default_timeout=60))
    before = METER.snapshot().count("GetMetricData")
    run(at)  # a rerun is served from the cache
    assert METER.snapshot().count("GetMetricData") == before
    at.button(key="refresh").click()
    run(at)
    assert METER.snapshot().count("GetMetricData") > before


def test_bad_config_shows_one_line_and_no_traceback(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  - name: x\n    regions: [mars-1]\n")
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert plain(at.error[0].value) == f"{cfg}: accounts[0].regions[0]: 'mars-1' is not an AWS region (e.g. us-east-1, eu-west-1)"


@pytest.mark.aws
def test_a_denied_source_is_one_sentence_and_the_rest_still_shows(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  - name: demo\n    demo: true\n    simulation: {deny: ['cloudwatch:GetMetricData']}\n")
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    at = functions_page(AppTest.from_file(APP, default_timeout=60))
    errors = [plain(e.value) for e in at.error]
    assert errors == [
        "Data missing for demo/us-east-1: Access denied in demo/us-east-1: the credentials may not call "
        "cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    ]
    assert "Traceback" not in str([e.value for e in at.exception])
    frame = table(at)
    assert len(frame) > 0 and frame["max_memory_used_mb"].notna().any()
