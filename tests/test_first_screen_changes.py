"""The first screen's "What changed" lines (dashboard/web/first_screen.py): what the alert counts rest on, and how a
cleared alert is written when its time is exact (a transition) or a sighting (the server's alert history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd

from aws.frames import typed_frame
from dashboard.alerts import TRANSITIONS_SCHEMA
from dashboard.alerts.history import EPISODES_SCHEMA, HistoryView
from dashboard.figures.changes import CHANGES_SCHEMA, CLEARED, STARTED
from dashboard.query.timerange import TimeRange
from dashboard.web.first_screen import alerts_line, change_label, shown_changes

NOW = datetime(2026, 11, 27, 12, 20, tzinfo=UTC)
RANGE = TimeRange(NOW - timedelta(hours=24), NOW, "24h")


def change(kind: str, minutes_ago: int, *, exact: bool, last: int | None = None, severity: str = "warning", function: str = "fn") -> dict:
    return {
        "change": kind, "severity": severity, "account": "demo", "region": "us-east-1", "function": function, "rule": "memory-high",
        "timestamp": NOW - timedelta(minutes=minutes_ago), "exact": exact,
        "last_firing": pd.NaT if last is None else NOW - timedelta(minutes=last), "firing_now": kind == STARTED,
    }  # fmt: skip


def overview(changes: list[dict], *, history: HistoryView | None, transitions: int = 0) -> SimpleNamespace:
    tr = typed_frame(
        [{"account": "demo", "region": "us-east-1", "function": "fn", "rule": "r", "timestamp": NOW, "from_state": "OK", "to_state": "ALARM"}] * transitions,
        TRANSITIONS_SCHEMA,
    )  # fmt: skip
    alerts = SimpleNamespace(history=history, report=SimpleNamespace(transitions=tr))
    return SimpleNamespace(changes=typed_frame(changes, CHANGES_SCHEMA), alerts=alerts, trange=RANGE)


def view(watching_since: datetime | None) -> HistoryView:
    return HistoryView(typed_frame([], EPISODES_SCHEMA), watching_since)


def test_the_alert_counts_say_what_the_cleared_ones_rest_on():
    rows = [change(STARTED, 30, exact=False), change(CLEARED, 5, exact=False, last=20)]
    # a history that covers the whole range: counts without a caveat
    assert alerts_line(overview(rows, history=view(NOW - timedelta(days=3))), NOW) == "Alerts over the range: 1 started, 1 cleared"
    # one that started watching within the range: from when, the rest on Alerts
    assert alerts_line(overview(rows, history=view(NOW - timedelta(minutes=49))), NOW) == (
        "Alerts over the range: 1 started, 1 cleared since 11:31, when this server started watching (earlier: on Alerts)"
    )
    # another day is written with its date
    assert "cleared since Nov 26 20:31," in alerts_line(overview(rows, history=view(datetime(2026, 11, 26, 20, 31, tzinfo=UTC))), NOW)
    # no history (nothing recorded yet, or the rules could not be evaluated): the cleared ones are on Alerts
    assert alerts_line(overview(rows[:1], history=view(None)), NOW) == "Alerts started over the range: 1 (cleared ones: on Alerts)"
    assert alerts_line(overview(rows[:1], history=None), NOW) == "Alerts started over the range: 1 (cleared ones: on Alerts)"
    # an evaluation with transitions (the whole window) knows them all
    assert alerts_line(overview(rows, history=None, transitions=2), NOW) == "Alerts over the range: 1 started, 1 cleared"


def test_a_cleared_alert_says_whether_its_time_is_exact():
    exact = pd.Series(change(CLEARED, 15, exact=True, last=15))
    assert change_label(exact, NOW) == ("fn · memory-high cleared 12:05", None)
    seen = pd.Series(change(CLEARED, 0, exact=False, last=20))
    assert change_label(seen, NOW) == (
        "fn · memory-high cleared by 12:20",
        "last seen firing 12:00, seen clear at 12:20 by this server's alert evaluations",
    )
    assert change_label(pd.Series(change(STARTED, 80, exact=False)), NOW) == ("fn · memory-high started 11:00", None)


def test_a_cleared_alert_is_listed_even_when_more_started():
    started = [change(STARTED, 10 + i, exact=False, severity="critical", function=f"s{i}") for i in range(4)]
    cleared = change(CLEARED, 2, exact=False, last=10, function="c")
    frame = typed_frame([*started, cleared], CHANGES_SCHEMA)
    shown = shown_changes(frame, 3)
    assert shown["function"].tolist() == ["s0", "s1", "c"]
    only_started = typed_frame(started, CHANGES_SCHEMA)
    assert shown_changes(only_started, 3)["function"].tolist() == ["s0", "s1", "s2"]
