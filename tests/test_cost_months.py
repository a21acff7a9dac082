"""The months the Costs and Teams pages offer: the readable months with Lambda spend or usage, from one cached Cost
Explorer request a day (against the simulated account, whose history starts 62 days before its clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from aws import sim
from aws.frames import typed_frame
from aws.meter import METER
from aws.sim import billing
from dashboard.config import settings as settings_mod
from dashboard.config.settings import Settings
from dashboard.figures import cost_months, cost_views

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


def _monthly(rows):
    from aws import costs as ce

    return typed_frame(
        [
            {"account": a, "date": pd.Timestamp(m + "-01"), "group_by": "TOTAL", "group": "", "cost_usd": c, "usage_quantity": u, "estimated": False}
            for a, m, c, u in rows
        ],
        ce.SCHEMA,
    )


def test_a_month_with_spend_or_usage_is_offered_and_an_empty_one_is_not():
    got = cost_months.spend_months(
        _monthly(
            [
                ("a", "2026-09", 0.0, 0.0),  # nothing
                ("a", "2026-10", 0.0, 1200.0),  # the free tier paid it all: usage, no spend
                ("a", "2026-11", 3.5, 9000.0),
                ("a", "2026-08", 0.0, 0.0),
                ("b", "2026-08", 0.02, 0.0),  # another account's spend
                ("a", "2026-07", 0.001, 0.0),  # under a cent, no usage: nothing to show
            ]
        )
    )
    assert got == {"2026-08", "2026-10", "2026-11"}
    assert cost_months.spend_months(_monthly([])) == frozenset()
    assert cost_months.no_spend_sentence("2026-03") == "Cost Explorer has no Lambda spend nor usage for March 2026."


@pytest.fixture
def sim_now():
    sim.set_clock(lambda: NOW)
    yield NOW
    sim.set_clock(None)


def _ce_calls() -> int:
    return METER.snapshot().count(operation="GetCostAndUsage", service="ce")


@pytest.mark.aws
def test_the_simulated_account_offers_this_month_and_the_months_of_its_history(sim_now):
    today = NOW.date()
    choice = cost_months.month_choice(Settings(), today=today)
    assert choice.readable == cost_views.months(today=today)
    # the simulated bill starts at its history's first day: the readable months from that one on had spend
    first = billing.data_start(NOW).replace(day=1)
    expected = [m for m in choice.readable if date.fromisoformat(m + "-01") >= first]
    assert len(expected) < len(choice.readable)  # some readable months are before the history: not offered
    assert choice.offered == expected and choice.note is None
    assert choice.has_spend(choice.readable[-1]) is False and choice.has_spend(expected[1]) is True
    assert choice.has_spend(choice.readable[0]) is None  # this month: the page reads it itself
    # one request ($0.01, metered); asked again the same day, the cache answers
    assert _ce_calls() == 1 and METER.snapshot().cost_usd == pytest.approx(0.01)
    assert cost_months.month_choice(Settings(), today=today) == choice
    assert _ce_calls() == 1
    # the next day is a new question
    cost_months.month_choice(Settings(), today=date(2026, 12, 9))
    assert _ce_calls() == 2


@pytest.mark.aws
def test_without_cost_explorer_every_readable_month_is_offered_with_one_sentence(sim_now, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\n    simulation:\n      deny: ['ce:GetCostAndUsage']\n"
    )
    choice = cost_months.month_choice(settings_mod.load(str(path)), today=NOW.date())
    assert choice.offered == choice.readable and choice.with_spend is None
    assert choice.note.startswith("Every month Cost Explorer holds is offered, as which of them had Lambda spend could not be read: ")
    assert "ce:GetCostAndUsage" in choice.note
    assert all(choice.has_spend(m) is None for m in choice.readable)  # unknown, never "no spend"
