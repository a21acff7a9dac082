"""Access denied for each source in turn: every page names the IAM action where the data would be,
the rest of the page still works, and the CLI exits 1 with the same sentence."""

from __future__ import annotations

import re

import pytest

from tests.apptest import plain
from tests.faults.conftest import demo_yaml, run_cli, run_page, shown, write

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane


def sentence(action: str) -> str:
    where = "demo" if action.startswith("ce:") else "demo/us-east-1"  # Cost Explorer is global
    return f"Access denied in {where}: the credentials may not call {action}; grant it (see docs/iam-policy.json)."


# action → {page: the prefix the page puts before the sentence}; a page missing from the map must show no
# error at all (it does not use that source).
CASES = {
    "cloudwatch:GetMetricData": {
        "overview": "Metrics missing for demo/us-east-1: ",
        "functions": "Data missing for demo/us-east-1: ",
        "alerts": "Alert data missing for demo/us-east-1: ",
    },
    "logs:StartQuery": {
        "overview": "Memory and cold starts missing for demo/us-east-1: ",
        "functions": "Data missing for demo/us-east-1: ",
        "alerts": "Alert data missing for demo/us-east-1: ",
    },
    "tag:GetResources": {
        "overview": "Tags missing for demo/us-east-1: ",
        "functions": "Data missing for demo/us-east-1: ",
        "alerts": "Alert data missing for demo/us-east-1: ",
    },
    "lambda:ListFunctions": {
        "overview": "Functions missing for demo/us-east-1: ",
        "functions": "Data missing for demo/us-east-1: ",
        "alerts": "Alert data missing for demo/us-east-1: ",
    },
    "ce:GetCostAndUsage": {"overview": ""},
}


def function_rows(at) -> int:
    tables = [d.value for d in at.dataframe if "function" in d.value.columns or "link" in d.value.columns]
    return max((len(t) for t in tables), default=0)


@pytest.mark.parametrize("action", list(CASES))
def test_each_page_names_the_denied_action_and_the_rest_still_shows(action, app_env, tmp_path, fast_backoff):
    cfg = write(tmp_path, demo_yaml(deny=[action]))
    app_env.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    for page in ("overview", "functions", "alerts"):
        at = run_page(page)
        errors = [plain(e.value) for e in at.error]
        if page in CASES[action]:
            assert errors == [CASES[action][page] + sentence(action)], (page, errors)
        else:
            assert errors == [], (page, errors)
        assert not any("Traceback" in t for t in shown(at))
        if page == "functions" and action != "lambda:ListFunctions":
            assert function_rows(at) == 12  # the functions are listed whatever else is missing
        if page == "overview" and action == "lambda:ListFunctions":
            spend = [m for m in at.metric if "spend" in m.label.lower()]
            assert spend and all(m.value not in ("", "—", "-") for m in spend)  # Cost Explorer still answers


@pytest.mark.parametrize("action", [a for a in CASES if not a.startswith("ce:")])
def test_summary_exits_1_with_the_sentence(action, tmp_path, fast_backoff):
    cfg = write(tmp_path, demo_yaml(deny=[action]))
    code, out, err = run_cli("summary", "--config", str(cfg), "--range", "1h", "--format", "json")
    assert code == 1
    assert f"error: {sentence(action)}" in err.splitlines()
    assert "Traceback" not in err
    if action != "lambda:ListFunctions":
        assert out.count('"function":') == 12  # what could be fetched is still printed


def test_digest_exits_1_when_cost_explorer_is_denied(tmp_path, fast_backoff):
    cfg = write(tmp_path, demo_yaml(deny=["ce:GetCostAndUsage"]))  # config.yaml's digests
    code, out, err = run_cli("digest", "--config", str(cfg), "--dry-run", "--out", str(tmp_path / "out"))
    assert code == 1, (out, err)
    assert sentence("ce:GetCostAndUsage") in err
    assert "Traceback" not in err


# The Costs and Teams pages (being built alongside this suite): the sources they read must be named
# when denied; whatever else they say about a denial names the action too. Their sentences may be
# markdown-escaped (``ce\\:GetCostAndUsage``), so they are compared unescaped.
COST_PAGES_READ = {"ce:GetCostAndUsage", "cloudwatch:GetMetricData", "lambda:ListFunctions"}


@pytest.mark.parametrize("action", list(CASES))
def test_costs_and_teams_pages_name_the_denied_action(action, app_env, tmp_path, fast_backoff):
    cfg = write(tmp_path, demo_yaml(deny=[action]))
    app_env.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    for page in ("costs", "teams"):
        at = run_page(page)
        said = [re.sub(r"\\(.)", r"\1", t) for t in shown(at)]
        denials = [t for t in said if "Access denied" in t]
        assert all(sentence(action) in t for t in denials), (page, denials)
        if action in COST_PAGES_READ:
            assert denials, (page, said)
