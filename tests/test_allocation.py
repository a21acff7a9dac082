"""Team allocation: rounding to the cent, team sources, per-team lines, coverage, ranking, and the simulated bill."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aws import sim
from aws.frames import typed_frame
from dashboard.config.settings import Settings
from dashboard.figures import allocation, cost_report, cost_views
from dashboard.figures.allocation import (
    FREE_TIER_LINE,
    UNEXPLAINED_LINE,
    allocate,
    round_to_total,
    tag_coverage,
    team_functions,
)
from dashboard.figures.cost_estimate import ESTIMATE_SCHEMA
from dashboard.present import cost_tables
from dashboard.query.teams import assign_teams, team_sources


def test_round_to_total_gives_the_leftover_cents_to_the_largest_remainders():
    assert round_to_total([1 / 3, 1 / 3, 1 / 3], total=1.0) == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]
    # remainders .009, .004, .001 → floors 1.00 + 2.00 + 3.00 = 6.00, target 6.01: the cent goes to the first
    assert round_to_total([1.009, 2.004, 3.001]) == [Decimal("1.01"), Decimal("2.00"), Decimal("3.00")]
    # a negative line (free tier) and a total given apart (the bill): floors 5.55 (.005 left) −1.12 (.009 left) 0.50
    # = 4.93, target 4.94: the cent goes to the free-tier line's larger remainder
    assert round_to_total([5.555, -1.111, 0.5], total=4.944) == [Decimal("5.55"), Decimal("-1.11"), Decimal("0.50")]
    assert round_to_total([], total=0) == []


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=30))
def test_round_to_total_always_adds_up_to_the_cent(amounts):
    total = sum(amounts)
    got = round_to_total(amounts, total=total)
    assert sum(got) == Decimal(repr(total)).quantize(Decimal("0.01"))
    assert all(abs(g - Decimal(repr(a))) < Decimal("0.02") for g, a in zip(got, amounts, strict=True))


def _inv(*rows):
    frame = pd.DataFrame([{"account": "acme", "region": "us-east-1", **r} for r in rows])
    frame["team"] = assign_teams(
        frame, tag_keys=["team", "cost-center"], manual={"legacy": "ops"}, untagged="untagged"
    )
    return frame


INV = _inv(
    {"function": "api", "tags": {"team": "pay"}},
    {"function": "web", "tags": {"cost-center": "cc1"}},
    {"function": "legacy", "tags": {}},
    {"function": "stray", "tags": {"team": " "}},
)


def _est(rows):
    base = {
        "account": "acme",
        "region": "us-east-1",
        "architecture": "x86_64",
        "basis": "billed_duration",
        "lower_estimate": False,
    }
    return typed_frame([{**base, **r, "date": pd.Timestamp(r["date"])} for r in rows], ESTIMATE_SCHEMA)


# Nov 1-2: api $6 + $4, web $2, legacy $1, stray $0.50; the free tier took $1.20 of api's usage on Nov 1.
EST = _est(
    [
        {
            "function": "api",
            "date": "2026-11-01",
            "total_usd": 6.0,
            "free_tier_usd": 1.2,
            "requests": 10.0,
            "billed_gb_s": 5.0,
        },
        {"function": "api", "date": "2026-11-02", "total_usd": 4.0, "requests": 6.0, "billed_gb_s": 3.0},
        {"function": "web", "date": "2026-11-01", "total_usd": 2.0, "requests": 1.0, "billed_gb_s": 9.0},
        {
            "function": "legacy",
            "date": "2026-11-02",
            "total_usd": 1.0,
            "lower_estimate": True,
            "requests": 2.0,
            "billed_gb_s": 1.0,
        },
        {"function": "stray", "date": "2026-11-02", "total_usd": 0.5, "requests": 1.0, "billed_gb_s": 1.0},
    ]
)
LAST = _est(
    [
        {"function": "api", "date": "2026-10-15", "total_usd": 8.0},
        {"function": "stray", "date": "2026-10-15", "total_usd": 2.0},
    ]
)


def test_team_sources_and_coverage():
    assert team_sources(INV, tag_keys=["team", "cost-center"], manual={"legacy": "ops"}).tolist() == [
        "tag:team",
        "tag:cost-center",
        "manual",
        "untagged",
    ]
    assert INV["team"].tolist() == ["pay", "cc1", "ops", "untagged"]
    # from a tag: api $10 + web $2 of $13.50
    assert tag_coverage(EST, INV, tag_keys=["team", "cost-center"], manual={"legacy": "ops"}) == pytest.approx(
        12 / 13.5
    )
    assert pd.isna(tag_coverage(EST.iloc[0:0], INV, tag_keys=["team"], manual={}))


def test_allocation_separate_lines_add_up_to_the_bill():
    # Bill $13.00 this month: lines pay 10, cc1 2, ops 1, untagged 0.5, free tier −1.20 → explained 12.30, unexplained 0.70.
    # Last month: bill $11.00, pay 8, untagged 2, no free tier → unexplained 1.00.
    # remaining $6.75 (forecast) spread by month to date over the four team lines (13.50): pay +5.00, cc1 +1.00, ops +0.50, untagged +0.25.
    got = allocate(
        estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, last_month_actual_usd=11.0, remaining_usd=6.75,
        ce_tag_usd={"pay": 9.5, "": 3.0},
    )  # fmt: skip
    assert list(got.columns) == list(allocation.ALLOCATION_SCHEMA)
    rows = {
        t: r
        for t, *r in got[
            ["team", "line", "mtd_usd", "forecast_usd", "last_month_usd", "change_usd", "ce_tag_usd"]
        ].itertuples(index=False)
    }
    assert rows == {
        # Cost Explorer has no row for cc1 nor ops: unknown, not $0
        "cc1": ["team", 2.0, 3.0, 0.0, 3.0, pytest.approx(float("nan"), nan_ok=True)],
        "ops": ["team", 1.0, 1.5, 0.0, 1.5, pytest.approx(float("nan"), nan_ok=True)],
        "pay": ["team", 10.0, 15.0, 8.0, 7.0, 9.5],
        "untagged": ["untagged", 0.5, 0.75, 2.0, -1.25, 3.0],
        FREE_TIER_LINE: ["free_tier", -1.2, -1.2, 0.0, -1.2, pytest.approx(float("nan"), nan_ok=True)],
        UNEXPLAINED_LINE: ["unexplained", 0.7, 0.7, 1.0, -0.3, pytest.approx(float("nan"), nan_ok=True)],
    }
    assert round(got["mtd_usd"].sum(), 2) == 13.0 and round(got["last_month_usd"].sum(), 2) == 11.0
    assert round(got["forecast_usd"].sum(), 2) == 19.75
    assert got.loc[got["team"] == "pay", "functions"].item() == 1
    assert got.loc[got["team"] == "pay", "change_pct"].item() == pytest.approx(7 / 8)


def test_allocation_proportional_spreads_shared_cost_by_usage():
    # shared = free tier −1.20 + unexplained 0.70 = −0.50 over 13.50 of usage: pay 10 − 0.50 × 10/13.5 = 9.6296 …
    got = allocate(estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, shared_cost="proportional")
    assert got["team"].tolist() == ["cc1", "ops", "pay", "untagged"]
    assert got["mtd_usd"].tolist() == [1.93, 0.96, 9.63, 0.48]
    assert round(got["mtd_usd"].sum(), 2) == 13.0


def test_without_cost_explorer_the_lines_add_up_to_the_estimate():
    got = allocate(estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=None)
    assert UNEXPLAINED_LINE not in got["team"].tolist()
    assert round(got["mtd_usd"].sum(), 2) == 12.30
    assert got["ce_tag_usd"].isna().all()


def test_cost_explorer_by_tag_no_row_is_unknown_and_a_zero_row_is_zero():
    # tag key "team": pay's function carries it; cc1 comes from "cost-center", ops from the manual map
    got = allocate(
        estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_usd={"pay": 0.0}, ce_tag_key="team",
    ).set_index("team")  # fmt: skip
    assert got.loc["pay", "ce_tag_usd"] == 0.0 and pd.isna(got.loc["pay", "ce_tag_gap"])  # a row of $0.00 is a figure
    assert pd.isna(got.loc["cc1", "ce_tag_usd"]) and got.loc["cc1", "ce_tag_gap"] == "not_from_tag"
    assert pd.isna(got.loc["ops", "ce_tag_usd"]) and got.loc["ops", "ce_tag_gap"] == "not_from_tag"
    assert pd.isna(got.loc["untagged", "ce_tag_usd"]) and got.loc["untagged", "ce_tag_gap"] == "no_row"  # no "" row
    # a team whose functions carry the tag but Cost Explorer has no row for yet (activation takes up to 24 h)
    fresh = allocate(
        estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_usd={"": 1.0}, ce_tag_key="team",
    ).set_index("team")  # fmt: skip
    assert pd.isna(fresh.loc["pay", "ce_tag_usd"]) and fresh.loc["pay", "ce_tag_gap"] == "no_row"
    assert fresh.loc["untagged", "ce_tag_usd"] == 1.0 and pd.isna(fresh.loc["untagged", "ce_tag_gap"])
    # no by-tag answer at all: every team line says why, the shared lines have neither figure nor gap
    for gap in ("tag_inactive", "tag_unread", "whole_account", "no_bill"):
        none = allocate(estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_gap=gap)
        lines, shared = cost_views.team_lines(none), cost_views.shared_lines(none)
        assert lines["ce_tag_usd"].isna().all() and (lines["ce_tag_gap"] == gap).all()
        assert shared["ce_tag_usd"].isna().all() and shared["ce_tag_gap"].isna().all()
        assert gap in allocation.CE_TAG_GAPS
    # the shares still add up to 100 % of the team lines' month to date, whatever Cost Explorer knows
    assert cost_views.team_lines(got.reset_index())["share"].sum() == pytest.approx(1.0)


def test_team_functions_ranked():
    inv = _inv(
        {"function": "api", "tags": {"team": "pay"}},
        {"function": "pay-cron", "tags": {"team": "pay"}},
        {"function": "pay-idle", "tags": {"team": "pay"}},
    )
    est = _est(
        [
            {"function": "api", "date": "2026-11-01", "total_usd": 3.0, "requests": 4.0},
            {"function": "pay-cron", "date": "2026-11-01", "total_usd": 1.0, "lower_estimate": True},
        ]
    )
    got = team_functions(est, inv, team="pay")
    assert got[["rank", "function", "cost_usd", "share_of_team", "lower_estimate"]].values.tolist() == [
        [1, "api", 3.0, 0.75, False],
        [2, "pay-cron", 1.0, 0.25, True],
        [3, "pay-idle", 0.0, 0.0, False],
    ]
    assert team_functions(est, inv, team="nobody").empty


@pytest.fixture
def sim_now():
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    sim.set_clock(lambda: now)
    yield now
    sim.set_clock(None)


@pytest.mark.aws
def test_team_totals_add_up_to_the_simulated_bill_to_the_cent(sim_now):
    settings = Settings()
    report = cost_report.gather(settings, now=sim_now)
    assert report.ce_ok and report.tag_key == "team" and report.end.isoformat() == "2026-12-08"
    teams = cost_report.costs_table(report, settings, by="team")
    bill = Decimal(repr(report.actual_usd)).quantize(Decimal("0.01"))
    assert sum(Decimal(repr(v)).quantize(Decimal("0.01")) for v in teams["mtd_usd"]) == bill
    assert teams["team"].tolist() == [
        "data",
        "media",
        "payments",
        "platform",
        "search",
        "untagged",
        FREE_TIER_LINE,
        UNEXPLAINED_LINE,
    ]
    # the estimate explains the bill: the unexplained line is under 1 % of it
    unexplained = teams.loc[teams["line"] == "unexplained", "mtd_usd"].item()
    assert abs(unexplained) <= 0.01 * float(bill)
    # Cost Explorer's own by-tag figure sits beside ours; its untagged group is ours plus the free tier's share ...
    pay = teams.set_index("team").loc["payments"]
    assert pay["ce_tag_usd"] == pytest.approx(pay["mtd_usd"], rel=0.05)
    # ... and the CSV (as the page offers it) holds the same numbers
    csv = pd.read_csv(__import__("io").StringIO(teams.to_csv(index=False)))
    assert csv["mtd_usd"].tolist() == teams["mtd_usd"].tolist()


@given(
    costs=st.lists(st.floats(min_value=0.0, max_value=500.0, allow_nan=False), min_size=4, max_size=4),
    free=st.floats(min_value=0.0, max_value=1.0),
    bill=st.one_of(st.none(), st.floats(min_value=0.0, max_value=3000.0)),
    shared=st.sampled_from(["separate", "proportional"]),
)
def test_the_team_lines_shares_add_up_to_100_percent(costs, free, bill, shared):
    # four functions, one per line (pay, cc1, ops, untagged); the free tier takes a fraction of the first's cost
    rows = [
        {"function": f, "date": "2026-11-01", "total_usd": c, "free_tier_usd": free * c if f == "api" else 0.0}
        for f, c in zip(["api", "web", "legacy", "stray"], costs, strict=True)
    ]
    got = allocate(estimate=_est(rows), last_month_estimate=LAST, inventory=INV, actual_usd=bill, shared_cost=shared)
    lines = cost_views.team_lines(got)
    assert set(lines["line"]) <= {"team", "untagged"}
    if (lines["mtd_usd"] > 0).any():
        assert lines["share"].sum() == pytest.approx(1.0, abs=1e-9)
        assert (lines["share"] >= 0).all()
    else:
        assert lines["share"].isna().all()  # no base, no share (never 0 %)
    assert cost_views.shared_lines(got)["share"].isna().all()
    # what a page shows: the team lines with no internal column, no raw None, no -$0.00
    shown = cost_tables.team_rows(got)
    assert list(shown.columns) == cost_tables.TEAM_COLUMNS
    assert not shown.drop(columns=["share", "change_pct"]).isna().any().any()
    money = shown[["mtd_usd", "forecast_usd", "last_month_usd", "change_usd"]].to_numpy().ravel()
    assert not any(v == 0 and str(v).startswith("-") for v in money)


def test_cost_explorer_by_tag_says_what_it_is():
    got = allocate(
        estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_usd={"pay": 9.5, "cc1": 0.0001, "": 3.0},
    )  # fmt: skip
    shown = cost_tables.team_rows(got).set_index("team")
    assert shown.loc["pay", "ce_tag"] == "$9.50"
    assert shown.loc["cc1", "ce_tag"] == f"$0.00 {cost_tables.FREE_TIER_PAID}"  # ours $2.00: the free tier paid it
    assert shown.loc["untagged", "ce_tag"] == "$3.00"
    none = cost_tables.team_rows(allocate(estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=None))
    assert (none["ce_tag"] == "— (bill not read)").all()  # no bill: unknown, not $0.00
    inactive = allocate(estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_gap="tag_inactive")
    assert (cost_tables.team_rows(inactive)["ce_tag"] == "— (tag not activated)").all()
    assert cost_tables.ce_tag_sentence(inactive, tag_key="team") == (
        "Cost Explorer by tag team has no figure for any line. " + allocation.CE_TAG_GAPS["tag_inactive"]
    )
    # the known figures are added up and the unknown ones named, not counted as $0
    partial = allocate(
        estimate=EST, last_month_estimate=LAST, inventory=INV, actual_usd=13.0, ce_tag_usd={"pay": 9.5, "": 0.0}, ce_tag_key="team",
    )  # fmt: skip
    rows = cost_tables.team_rows(partial).set_index("team")
    assert rows.loc["cc1", "ce_tag"] == "— (team not from this tag)" and rows.loc["untagged", "ce_tag"] == "$0.00 (free tier)"
    assert cost_tables.ce_tag_sentence(partial, tag_key="team") == (
        "Cost Explorer by tag team adds up to $9.50 over 2 lines, not counting 2 lines it has no figure for. "
        f"cc1, ops: {allocation.CE_TAG_GAPS['not_from_tag']}"
    )
    sentence = cost_tables.shared_sentence(got, bill=True)
    assert sentence == (
        "The teams' lines add up to $13.50; not a team's: the free tier -$1.20 and the part of the bill our estimate does "
        "not explain $0.70; together $13.00, the bill of the month's complete days."
    )


def test_top_functions_rank_every_team_by_cost():
    fns = pd.DataFrame(
        {
            "account": "acme", "region": "us-east-1", "function": ["a", "b", "c", "d"], "team": ["x", "y", "x", "z"],
            "est_cost_usd": [1.0, 5.0, 3.0, 1.0], "last_month_usd": [0.0, 4.0, 2.0, 1.0],
        }
    )  # fmt: skip
    top = cost_views.top_functions(fns, n=3)
    assert top["function"].tolist() == ["b", "c", "a"] and top["rank"].tolist() == [1, 2, 3]
    assert top["share"].tolist() == pytest.approx([0.5, 0.3, 0.1])
    assert cost_views.top_functions(fns.iloc[0:0]).empty


def test_the_months_offered_are_this_one_and_those_cost_explorer_holds():
    got = cost_views.months(today=datetime(2026, 12, 8).date())
    assert got[0] == "2026-12" and got[1] == "2026-11" and got[-1] == "2026-01"  # its previous month is the 13th
    assert len(got) == cost_report.HISTORY_MONTHS - 1
    for m in got:
        cost_report.month_bounds(m, today=datetime(2026, 12, 8).date())  # every one is accepted
