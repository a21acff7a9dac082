"""Reconciliation: the estimate against Cost Explorer per day, the free-tier line, the month view."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from aws import costs as ce
from aws import sim
from aws.frames import typed_frame
from dashboard.config.settings import Settings
from dashboard.figures import cost_report, reconcile
from dashboard.figures.cost_estimate import ESTIMATE_SCHEMA


def _est(rows):
    base = {
        "account": "acme",
        "region": "us-east-1",
        "architecture": "x86_64",
        "basis": "billed_duration",
        "lower_estimate": False,
    }
    return typed_frame([{**base, **r, "date": pd.Timestamp(r["date"])} for r in rows], ESTIMATE_SCHEMA)


def _ce(rows):
    return typed_frame(
        [
            {
                "account": "acme",
                "group_by": "TOTAL",
                "group": "",
                "estimated": False,
                **r,
                "date": pd.Timestamp(r["date"]),
            }
            for r in rows
        ],
        ce.SCHEMA,
    )


# Nov 1: f1 $3 + f2 $1 at list price, $2.50 of it free; the bill says $1.60 → explained $1.50, unexplained $0.10 (6.25 %).
# Nov 2: f1 $4, no free tier; the bill $4.00 (estimated: not final) → nothing unexplained.
EST = _est(
    [
        {"function": "f1", "date": "2026-11-01", "total_usd": 3.0, "free_tier_usd": 2.0, "requests_free": 1.0},
        {
            "function": "f2",
            "date": "2026-11-01",
            "total_usd": 1.0,
            "free_tier_usd": 0.5,
            "gb_s_free": 1.0,
            "lower_estimate": True,
        },
        {"function": "f1", "date": "2026-11-02", "total_usd": 4.0},
    ]
)
COSTS = _ce([{"date": "2026-11-01", "cost_usd": 1.6}, {"date": "2026-11-02", "cost_usd": 4.0, "estimated": True}])


def test_daily_by_hand():
    got = reconcile.daily(estimate=EST, costs=COSTS)
    assert list(got.columns) == list(reconcile.RECONCILE_SCHEMA)
    assert got[["estimate_usd", "free_tier_usd", "explained_usd", "actual_usd"]].values.tolist() == [
        [4.0, -2.5, 1.5, 1.6],
        [4.0, 0.0, 4.0, 4.0],
    ]
    assert got["unexplained_usd"].tolist() == pytest.approx([0.1, 0.0])
    assert got["unexplained_share"].tolist() == pytest.approx([0.0625, 0.0])
    assert got["actual_estimated"].tolist() == [False, True] and got["lower_estimate"].tolist() == [True, False]


def test_month_view_says_how_much_the_estimate_explains():
    m = reconcile.month(reconcile.daily(estimate=EST, costs=COSTS))
    assert (m.days, m.estimate_usd, m.free_tier_usd, m.explained_usd, m.actual_usd) == (2, 8.0, -2.5, 5.5, 5.6)
    assert m.unexplained_usd == pytest.approx(0.1) and m.explained_share == pytest.approx(5.5 / 5.6)
    assert (
        m.sentence()
        == "The estimate explains 98.2% of the bill: $5.50 of $5.60 over 2 days (free tier $2.50, unexplained $0.10)."
    )


def test_without_cost_explorer_the_estimate_still_shows():
    got = reconcile.daily(estimate=EST, costs=None)
    assert got["explained_usd"].tolist() == [1.5, 4.0]
    assert got["actual_usd"].isna().all() and got["unexplained_usd"].isna().all()
    m = reconcile.month(got)
    assert m.actual_usd is None and m.unexplained_usd is None
    assert m.sentence() == "Estimated $5.50 over 2 days (free tier $2.50); the actual bill is not available."
    # a day only Cost Explorer knows (no usage seen) is all unexplained
    only_bill = reconcile.daily(estimate=EST.iloc[0:0], costs=COSTS)
    assert only_bill["unexplained_usd"].tolist() == [1.6, 4.0] and only_bill["unexplained_share"].tolist() == [1.0, 1.0]
    assert np.isnan(
        reconcile.daily(estimate=EST.iloc[0:0], costs=_ce([{"date": "2026-11-01", "cost_usd": 0.0}]))[
            "unexplained_share"
        ].item()
    )


@pytest.mark.aws
def test_the_estimate_explains_the_simulated_month_within_1_percent_a_day():
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    sim.set_clock(lambda: now)
    try:
        report = cost_report.gather(Settings(), now=now)
    finally:
        sim.set_clock(None)
    rec = report.reconciliation()
    assert [d.day for d in rec["date"]] == [1, 2, 3, 4, 5, 6, 7]
    assert rec["unexplained_share"].abs().max() < 0.01, rec
    # the free tier is its own line: it pays Dec 1-4 and runs out on Dec 5
    assert (rec["free_tier_usd"].iloc[:4] < -1.0).all() and rec["free_tier_usd"].iloc[5:].eq(0).all()
    m = reconcile.month(rec)
    assert 0.99 < m.explained_share <= 1.0
    assert m.sentence().startswith("The estimate explains 100.0% of the bill:")

