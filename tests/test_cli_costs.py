"""``python -m dashboard costs``: the numbers, Cost Explorer asked once per question per TTL with every page
followed, and a denied or unreachable Cost Explorer leaving every usage-based figure in place."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from aws import costs as ce
from aws import sim
from aws.meter import METER
from dashboard.cli import main
from dashboard.config.settings import Settings
from dashboard.figures import cost_report
from dashboard.query import sources

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    sim.set_clock(lambda: NOW)
    monkeypatch.setattr(cost_report, "_now", lambda: NOW)
    yield
    sim.set_clock(None)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _config(tmp_path, sim_lines: str = "") -> str:
    path = tmp_path / "config.yaml"
    path.write_text("accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n" + sim_lines)
    return str(path)


# The demo's eu-west-1 provisioned-concurrency arm64 rates are not verified (the price file lists them as
# assumed), so `costs` says so once on stderr, and the rows priced with them carry priced_by_assumption.
PRICE_NOTE = (
    "note: Priced by assumption, with rates not verified for the region: eu-west-1 (provisioned_concurrency_gb_second_arm, "
    "provisioned_duration_gb_second_arm). Set them under pricing: in config.yaml, or refresh them with "
    "`python -m dashboard prices --refresh`."
)


def _lines(err: str) -> list[str]:
    """stderr's lines without the price note (asserted once, in the first test)."""
    return [line for line in err.strip().splitlines() if line != PRICE_NOTE]


def ce_calls() -> dict[str, int]:
    snap = METER.snapshot()
    return {
        op: snap.count(operation=op, service="ce")
        for op in ("GetCostAndUsage", "GetCostForecast", "ListCostAllocationTags")
    }


@pytest.mark.aws
def test_costs_by_team_add_up_to_the_bill_and_cost_explorer_is_asked_once_per_question(tmp_path):
    cfg = _config(tmp_path)
    code, out, err = run("costs", "--config", cfg, "--format", "json")
    assert (code, err) == (0, PRICE_NOTE + "\n")
    rows = json.loads(out)
    assert [r["team"] for r in rows] == [
        "data",
        "media",
        "payments",
        "platform",
        "search",
        "untagged",
        "(free tier)",
        "(unexplained)",
    ]
    # three questions (total over two months, by usage type, by the active tag "team"), the tag list, the forecast
    assert ce_calls() == {"GetCostAndUsage": 3, "GetCostForecast": 1, "ListCostAllocationTags": 1}
    # the other views and a second run are answered from the cache: no new Cost Explorer request
    for by in ("function", "usage-type", "team"):
        code, again, _ = run("costs", "--config", cfg, "--by", by, "--format", "csv")
        assert code == 0
    assert ce_calls() == {"GetCostAndUsage": 3, "GetCostForecast": 1, "ListCostAllocationTags": 1}
    # the lines add up to Cost Explorer's December 1-7 to the cent (read here apart from the cache)
    bill = ce.daily_costs(account=Settings().aws_accounts()[0], start=date(2026, 12, 1), end=date(2026, 12, 8))[
        "cost_usd"
    ].sum()
    assert sum(Decimal(repr(r["mtd_usd"])) for r in rows) == Decimal(repr(float(bill))).quantize(Decimal("0.01"))
    # the CSV of the team view holds the same numbers as the JSON
    csv = pd.read_csv(io.StringIO(again))
    assert csv["mtd_usd"].tolist() == [r["mtd_usd"] for r in rows]

    # by function and by usage type (from the same cache)
    code, out, _ = run("costs", "--config", cfg, "--by", "function", "--month", "2026-12", "--format", "json")
    fns = json.loads(out)
    assert code == 0 and len(fns) == 48
    assert set(fns[0]) == set(cost_report.FUNCTION_SCHEMA)
    # the flag is per row: only eu-west-1's arm64 functions with provisioned concurrency used the assumed rates
    flagged = [f for f in fns if f["priced_by_assumption"]]
    assert flagged and all(f["region"] == "eu-west-1" for f in flagged)
    assert any(not f["priced_by_assumption"] for f in fns if f["region"] == "eu-west-1")
    assert fns[0]["function"] == "payments-auth-api" and fns[0]["est_cost_usd"] == max(f["est_cost_usd"] for f in fns)
    code, out, _ = run("costs", "--config", cfg, "--by", "usage-type", "--format", "json")
    types = {r["usage_type"]: r for r in json.loads(out)}
    assert code == 0 and "USE1-Lambda-Provisioned-Concurrency" in types
    pc = types["USE1-Lambda-Provisioned-Concurrency"]
    # provisioned concurrency is never free: estimate and bill agree to the cent
    assert round(pc["est_cost_usd"], 2) == round(pc["actual_cost_usd"], 2) and pc["actual_cost_usd"] > 0
    # Σ over functions = Σ over usage types (one estimate)
    assert sum(f["est_cost_usd"] for f in fns) == pytest.approx(sum(r["est_cost_usd"] for r in types.values()))


@pytest.mark.aws
def test_every_page_of_cost_explorer_is_followed():
    # by the "service" tag: 32 values × 37 days (Nov 1 – Dec 7) = 1,184 (day × group) cells: three pages of at most 500
    got = sources.daily_costs(Settings(), start=date(2026, 11, 1), end=date(2026, 12, 8), group_by="TAG:service")
    assert not got.errors
    assert ce_calls()["GetCostAndUsage"] == 3
    assert len(got.frame) == 1184 and got.frame["group"].nunique() == 32
    assert (got.frame["date"].min(), got.frame["date"].max()) == (
        pd.Timestamp("2026-11-01"),
        pd.Timestamp("2026-12-07"),
    )


@pytest.mark.parametrize(
    "sim_lines,cause",
    [
        ("    simulation:\n      deny: ['ce:GetCostAndUsage']\n", "Access denied"),
        ("    simulation:\n      down: [ce]\n", "ce"),
    ],
    ids=["denied", "unreachable"],
)
@pytest.mark.aws
def test_without_cost_explorer_every_usage_figure_still_works(tmp_path, sim_lines, cause):
    cfg = _config(tmp_path, sim_lines)
    code, out, err = run("costs", "--config", cfg, "--format", "json")
    assert code == 1
    lines = _lines(err)
    assert len(lines) == 1 and lines[0].startswith(
        "warning: The actual spend is missing because Cost Explorer could not be read: "
    )
    assert cause in lines[0]
    rows = json.loads(out)
    assert [r["team"] for r in rows] == ["data", "media", "payments", "platform", "search", "untagged", "(free tier)"]
    assert all(r["ce_tag_usd"] is None for r in rows)
    assert all(r["ce_tag_gap"] == "no_bill" for r in rows if not r["team"].startswith("("))  # unknown, and why
    assert rows[2]["mtd_usd"] > 10 and rows[-1]["mtd_usd"] < 0  # payments, and the free tier line
    code, out, err = run("costs", "--config", cfg, "--by", "usage-type", "--format", "json")
    types = json.loads(out)
    assert code == 1 and len(_lines(err)) == 1
    assert all(t["actual_cost_usd"] is None for t in types) and sum(t["est_cost_usd"] for t in types) > 10


def test_bad_month_is_bad_input(tmp_path):
    cfg = _config(tmp_path)
    assert run("costs", "--config", cfg, "--month", "2026-13") == (
        2,
        "",
        "error: --month '2026-13' is not a month; use YYYY-MM, e.g. 2026-12\n",
    )
    assert run("costs", "--config", cfg, "--month", "2027-01") == (
        2,
        "",
        "error: --month 2027-01 is in the future; use 2026-12 or earlier\n",
    )
    with pytest.raises(SystemExit) as info:
        run("costs", "--config", cfg, "--by", "region")
    assert info.value.code == 2


def test_pricing_overrides_from_the_config_reach_the_estimate(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("pricing:\n  us-east-1:\n    request: 0.0000004\n")
    from dashboard.config import settings as settings_mod

    book = cost_report.prices_for(settings_mod.load(str(path)))
    p = book.prices("us-east-1")
    assert (p.request, p.source, p.gb_second) == (0.0000004, "config", 0.0000166667)
    assert book.prices("eu-west-1").request == 0.0000002


@pytest.mark.aws
def test_a_failed_forecast_leaves_the_bill(tmp_path):
    cfg = _config(tmp_path, "    simulation:\n      deny: ['ce:GetCostForecast']\n")
    code, out, err = run("costs", "--config", cfg, "--format", "json")
    assert code == 1
    (line,) = _lines(err)
    assert line.startswith("warning: Cost Explorer's forecast is missing, so the month-end figure is our run rate")
    assert "ce:GetCostForecast" in line
    rows = json.loads(out)
    assert [r["team"] for r in rows][-2:] == ["(free tier)", "(unexplained)"]  # the bill is there: it is reconciled
    assert all(r["ce_tag_usd"] is not None for r in rows if not r["team"].startswith("("))


@pytest.mark.aws
def test_a_team_cost_explorer_has_no_row_for_is_unknown_with_its_reason(tmp_path):
    # shared-orders-api has no team tag: the manual map names its team, which Cost Explorer cannot group by
    cfg = _config(tmp_path, "    simulation: {functions: 48, seed: 7}\nallocation:\n  tag_keys: [team]\n  manual: {shared-orders-api: ops}\n")
    code, out, err = run("costs", "--config", cfg, "--format", "json")
    assert code == 0
    rows = {r["team"]: r for r in json.loads(out)}
    assert rows["ops"]["mtd_usd"] > 0 and rows["ops"]["ce_tag_usd"] is None and rows["ops"]["ce_tag_gap"] == "not_from_tag"
    assert rows["payments"]["ce_tag_usd"] > 0 and rows["payments"]["ce_tag_gap"] is None
    (note,) = [line for line in _lines(err) if "Cost Explorer by tag" in line]
    known = sum(r["ce_tag_usd"] for r in rows.values() if r["ce_tag_usd"] is not None)
    assert note.startswith(f"note: Cost Explorer by tag team adds up to ${known:,.2f} over 6 lines, not counting 1 line")
    code, out, _ = run("costs", "--config", cfg, "--format", "csv")
    csv = pd.read_csv(io.StringIO(out)).set_index("team")
    assert pd.isna(csv.loc["ops", "ce_tag_usd"]) and csv.loc["ops", "ce_tag_gap"] == "not_from_tag"  # blank, not 0
