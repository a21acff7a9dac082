"""The server's alert history (dashboard/alerts/history.py) and the cleared alerts read from it
(dashboard/figures/changes.py alert_changes): what each evaluation saw, kept in a bounded file."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from aws.frames import typed_frame
from dashboard.alerts import ALARM, INSUFFICIENT_DATA, OK, STATES_SCHEMA, TRANSITIONS_SCHEMA
from dashboard.alerts import history as hist
from dashboard.config.settings import Settings
from dashboard.figures.changes import CLEARED, STARTED, alert_changes

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
FN = ("demo", "us-east-1", "payments-api")


def states(*rows: tuple) -> pd.DataFrame:
    """(function, rule, state, since[, unread]) → a STATES_SCHEMA frame."""
    out = []
    for row in rows:
        function, rule, state, since, *rest = row
        out.append(
            {"account": "demo", "region": "us-east-1", "function": function, "team": "t", "rule": rule, "metric": "error_rate",
             "severity": "critical", "state": state, "since": since, "unread": bool(rest and rest[0]), "note": ""}
        )  # fmt: skip
    return typed_frame(out, STATES_SCHEMA)


def transitions(*rows: tuple) -> pd.DataFrame:
    """(function, rule, timestamp, from, to) → a TRANSITIONS_SCHEMA frame."""
    return typed_frame(
        [{"account": "demo", "region": "us-east-1", "function": f, "rule": r, "severity": "critical", "timestamp": t, "from_state": a, "to_state": b}
         for f, r, t, a, b in rows],
        TRANSITIONS_SCHEMA,
    )  # fmt: skip


NO_TRANSITIONS = transitions()


@pytest.fixture
def store(tmp_path) -> hist.AlertHistory:
    return hist.AlertHistory(tmp_path / "state" / hist.FILE)


def episodes(store: hist.AlertHistory, function: str = "payments-api", rule: str = "error-rate") -> pd.DataFrame:
    e = store.view().episodes
    return e[(e["function"] == function) & (e["rule"] == rule)].reset_index(drop=True)


def test_an_alarm_then_a_known_ok_state_is_an_episode_cleared_by_the_first_sighting(store):
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN)), NO_TRANSITIONS, at=T0)
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN)), NO_TRANSITIONS, at=T0 + 5 * MIN)
    e = episodes(store)
    assert len(e) == 1 and pd.isna(e.loc[0, "cleared"])
    assert e.loc[0, "since"] == pd.Timestamp(T0 - 20 * MIN) and e.loc[0, "last_firing"] == pd.Timestamp(T0 + 5 * MIN)
    # OK since a time before it was last seen firing says nothing more precise than the sighting itself
    store.record(states(("payments-api", "error-rate", OK, T0 - 60 * MIN)), NO_TRANSITIONS, at=T0 + 15 * MIN)
    e = episodes(store)
    assert e.loc[0, "cleared"] == pd.Timestamp(T0 + 15 * MIN) and not e.loc[0, "cleared_exact"]
    # a later sighting of it clear moves nothing: cleared by the first one
    store.record(states(("payments-api", "error-rate", OK, T0 - 60 * MIN)), NO_TRANSITIONS, at=T0 + 30 * MIN)
    assert episodes(store).loc[0, "cleared"] == pd.Timestamp(T0 + 15 * MIN)
    assert store.view().watching_since == T0


def test_an_ok_state_since_after_the_last_firing_is_the_tighter_bound(store):
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN)), NO_TRANSITIONS, at=T0)
    store.record(states(("payments-api", "error-rate", OK, T0 + 5 * MIN)), NO_TRANSITIONS, at=T0 + 30 * MIN)
    assert episodes(store).loc[0, "cleared"] == pd.Timestamp(T0 + 5 * MIN)


def test_an_unread_state_is_not_a_cleared_one(store):
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN)), NO_TRANSITIONS, at=T0)
    unread = states(("payments-api", "error-rate", INSUFFICIENT_DATA, T0, True))
    store.record(unread, NO_TRANSITIONS, at=T0 + 10 * MIN)
    assert pd.isna(episodes(store).loc[0, "cleared"])
    changes = alert_changes(unread, NO_TRANSITIONS, start=T0 - timedelta(hours=1), end=T0 + 10 * MIN, history=store.view())
    assert CLEARED not in set(changes["change"])
    # evaluated and without data (INSUFFICIENT_DATA, read): that is a state CloudWatch would leave ALARM for
    evaluated = states(("payments-api", "error-rate", INSUFFICIENT_DATA, T0 + 15 * MIN))
    store.record(evaluated, NO_TRANSITIONS, at=T0 + 20 * MIN)
    changes = alert_changes(evaluated, NO_TRANSITIONS, start=T0 - timedelta(hours=1), end=T0 + 20 * MIN, history=store.view())
    assert changes[["function", "change"]].values.tolist() == [["payments-api", CLEARED], ["payments-api", STARTED]]  # newest first
    assert changes.loc[0, "timestamp"] == pd.Timestamp(T0 + 15 * MIN)


def test_transitions_give_exact_times_and_re_firing_is_a_new_episode(store):
    window = [
        ("payments-api", "error-rate", T0 - 120 * MIN, INSUFFICIENT_DATA, OK),  # the window's first decision
        ("payments-api", "error-rate", T0 - 90 * MIN, OK, ALARM),
        ("payments-api", "error-rate", T0 - 60 * MIN, ALARM, OK),
        ("payments-api", "error-rate", T0 - 30 * MIN, OK, ALARM),
    ]
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 30 * MIN)), transitions(*window), at=T0)
    e = episodes(store)
    assert e[["since", "since_exact", "last_firing", "cleared", "cleared_exact"]].values.tolist() == [
        [pd.Timestamp(T0 - 90 * MIN), True, pd.Timestamp(T0 - 60 * MIN), pd.Timestamp(T0 - 60 * MIN), True],
        [pd.Timestamp(T0 - 30 * MIN), True, pd.Timestamp(T0), pd.NaT, False],
    ]
    # the same evaluation seen again (another page asking) changes nothing
    version, before = store.view().version, episodes(store)
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 30 * MIN)), transitions(*window), at=T0)
    pd.testing.assert_frame_equal(episodes(store), before)
    assert store.view().version == version  # nothing new: nothing written, the same version


def test_the_window_first_decision_into_alarm_is_not_an_exact_start(store):
    store.record(
        states(("payments-api", "error-rate", OK, T0 - 10 * MIN)),
        transitions(("payments-api", "error-rate", T0 - 120 * MIN, INSUFFICIENT_DATA, ALARM), ("payments-api", "error-rate", T0 - 10 * MIN, ALARM, OK)),
        at=T0,
    )  # fmt: skip
    e = episodes(store)
    assert not e.loc[0, "since_exact"] and e.loc[0, "cleared_exact"] and e.loc[0, "cleared"] == pd.Timestamp(T0 - 10 * MIN)


def test_cleared_alerts_from_the_history_on_a_fleet_evaluation(store):
    """The Overview's case: states only; the history says what it saw firing earlier in the range."""
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN), ("orders", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0)
    now = states(("payments-api", "error-rate", OK, T0 - 20 * MIN), ("orders", "error-rate", ALARM, T0 - 5 * MIN))
    store.record(now, NO_TRANSITIONS, at=T0 + 30 * MIN)
    view = store.view()
    got = alert_changes(now, NO_TRANSITIONS, start=T0 - timedelta(hours=24), end=T0 + 30 * MIN, history=view)
    cleared = got[got["change"] == CLEARED]
    assert cleared[["function", "rule"]].values.tolist() == [["payments-api", "error-rate"]]
    row = cleared.iloc[0]
    assert row["timestamp"] == pd.Timestamp(T0 + 30 * MIN) and not row["exact"] and row["last_firing"] == pd.Timestamp(T0)
    assert not row["firing_now"]
    started = got[got["change"] == STARTED].set_index("function")
    assert set(started.index) == {"payments-api", "orders"} and started.loc["orders", "firing_now"]
    # without the history nothing is said cleared; a range that starts after it was last seen firing has none
    assert CLEARED not in set(alert_changes(now, NO_TRANSITIONS, start=T0 - timedelta(hours=24), end=T0 + 30 * MIN)["change"])
    later = alert_changes(now, NO_TRANSITIONS, start=T0 + 10 * MIN, end=T0 + 30 * MIN, history=view)
    assert CLEARED not in set(later["change"])
    # an alert the current evaluation does not know (its rule disabled, the function gone) is not cleared either
    gone = states(("orders", "error-rate", ALARM, T0 - 5 * MIN))
    assert CLEARED not in set(alert_changes(gone, NO_TRANSITIONS, start=T0 - timedelta(hours=24), end=T0 + 30 * MIN, history=view)["change"])


def test_firing_again_now_is_not_cleared(store):
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 20 * MIN)), NO_TRANSITIONS, at=T0)
    store.record(states(("payments-api", "error-rate", OK, T0 + 5 * MIN)), NO_TRANSITIONS, at=T0 + 10 * MIN)
    again = states(("payments-api", "error-rate", ALARM, T0 + 15 * MIN))
    store.record(again, NO_TRANSITIONS, at=T0 + 20 * MIN)
    assert len(episodes(store)) == 2
    got = alert_changes(again, NO_TRANSITIONS, start=T0 - timedelta(hours=1), end=T0 + 20 * MIN, history=store.view())
    assert got["change"].tolist() == [STARTED] and got.loc[0, "timestamp"] == pd.Timestamp(T0 + 15 * MIN)


def test_the_file_survives_a_restart_and_is_bounded(tmp_path, monkeypatch):
    path = tmp_path / hist.FILE
    first = hist.AlertHistory(path)
    for day in range(40):  # one short alarm a day
        at = T0 + timedelta(days=day)
        first.record(states(("payments-api", "error-rate", ALARM, at - 10 * MIN)), NO_TRANSITIONS, at=at)
        first.record(states(("payments-api", "error-rate", OK, at + 5 * MIN)), NO_TRANSITIONS, at=at + 10 * MIN)
    again = hist.AlertHistory(path).view()  # a restart reads what the first one wrote
    newest = T0 + timedelta(days=39, minutes=10)
    assert len(again.episodes) == len(first.view().episodes)
    assert (again.episodes["cleared"] >= pd.Timestamp(newest - hist.KEEP)).all() and len(again.episodes) == 35
    assert again.watching_since == newest - hist.KEEP  # what ended before that is forgotten: complete from then on
    assert not again.covers(T0) and again.covers(T0 + timedelta(days=10))
    # at most MAX_EPISODES, the newest
    monkeypatch.setattr(hist, "MAX_EPISODES", 10)
    capped = hist.AlertHistory(path)
    capped.record(states(("orders", "error-rate", ALARM, newest)), NO_TRANSITIONS, at=newest + MIN)
    view = capped.view()
    assert len(view.episodes) == 10 and "orders" in set(view.episodes["function"])
    assert view.watching_since > newest - timedelta(days=10)
    assert len(json.loads(path.read_text())["episodes"]) == 10


@pytest.mark.parametrize(
    "content, why",
    [
        ("{not json", "not valid JSON"),
        ('{"version": 99, "episodes": []}', "not an alert history of version 1"),
        ('{"version": 1, "episodes": [{"account": "demo"}]}', "an episode is malformed"),
        ('{"version": 1, "episodes": [{"account": "a", "region": "r", "function": "f", "rule": "x", "since": "2026-11-27T12:00:00", "last_firing": "2026-11-27T12:00:00+00:00"}]}',
         "has no UTC offset"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_read_starts_empty_with_one_sentence(tmp_path, content, why):
    path = tmp_path / hist.FILE
    path.write_text(content)
    store = hist.AlertHistory(path)
    view = store.view()
    assert view.episodes.empty and view.watching_since is None
    assert view.note.startswith(f"The alert history in {path} could not be read (") and why in view.note
    assert view.note.count(". ") == 0 and view.note.endswith("are on Alerts.")  # one sentence
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0)
    assert json.loads(path.read_text())["version"] == hist.VERSION  # written anew, whole
    assert len(store.view().episodes) == 1


def test_a_file_that_cannot_be_written_keeps_the_history_in_memory(tmp_path, caplog):
    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    store = hist.AlertHistory(tmp_path / hist.FILE, write=refuse)
    store.record(states(("payments-api", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0)
    store.record(states(("orders", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0 + MIN)
    assert len(store.view().episodes) == 2
    assert caplog.text.count("could not be written") == 1  # said once, not at every evaluation


def test_sessions_recording_together_lose_nothing(tmp_path):
    path = tmp_path / hist.FILE
    store = hist.AlertHistory(path)
    errors: list[BaseException] = []

    def session(i: int) -> None:
        try:
            for j in range(5):
                at = T0 + timedelta(minutes=10 * j)
                store.record(states((f"fn-{i}", "error-rate", ALARM, T0 - MIN)), NO_TRANSITIONS, at=at)
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for view in (store.view(), hist.AlertHistory(path).view()):  # in memory and on disk
        assert sorted(view.episodes["function"]) == sorted(f"fn-{i}" for i in range(8))
        assert (view.episodes["last_firing"] == pd.Timestamp(T0 + 40 * MIN)).all()


def test_another_process_writing_the_file_is_read_before_recording(tmp_path):
    path = tmp_path / hist.FILE
    ours, theirs = hist.AlertHistory(path), hist.AlertHistory(path)
    ours.record(states(("payments-api", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0)
    theirs.record(states(("orders", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0 + MIN)
    ours.record(states(("billing", "error-rate", ALARM, T0 - 5 * MIN)), NO_TRANSITIONS, at=T0 + 2 * MIN)
    assert sorted(hist.AlertHistory(path).view().episodes["function"]) == ["billing", "orders", "payments-api"]


def test_the_history_lives_in_the_state_folder_of_the_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1]\nemail:\n  state_path: st/digest-state.json\n")
    from dashboard.config import settings as settings_mod

    loaded: Settings = settings_mod.load(cfg)
    assert hist.default_file(loaded) == (tmp_path / "st" / hist.FILE).resolve()


# --- any sequence of truthful sightings --------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hs  # noqa: E402

STEP = timedelta(minutes=5)
_SIGHTINGS: dict[tuple[str, int], pd.DataFrame] = {}


def _sighting(state: str, start: int) -> pd.DataFrame:
    """One alert's state since step ``start`` (the frames are reused across examples: treat as read-only)."""
    key = (state, start)
    if key not in _SIGHTINGS:
        _SIGHTINGS[key] = states(("payments-api", "error-rate", state, T0 + start * STEP))
    return _SIGHTINGS[key]


@settings(max_examples=60)
@given(truth=hs.lists(hs.booleans(), min_size=2, max_size=40), picks=hs.data())
def test_episodes_of_any_truthful_sightings_are_disjoint_and_agree_with_the_truth(truth, picks):
    """Sightings of one alert whose state is ``truth[i]`` (ALARM or OK) over step i, each with the since of its run,
    recorded in time order: the episodes are disjoint, start and end where the truth fires, are cleared only where the
    truth is OK, and hold every ALARM sighting; recording them all again changes nothing."""
    seen = sorted(picks.draw(hs.sets(hs.integers(0, len(truth) - 1), min_size=1)))
    store = hist.AlertHistory("/nonexistent/never-written.json", write=lambda path, data: None)

    def run_start(i: int) -> int:
        while i > 0 and truth[i - 1] == truth[i]:
            i -= 1
        return i

    def sighting(i: int) -> pd.DataFrame:
        return _sighting(ALARM if truth[i] else OK, run_start(i))

    for i in seen:
        store.record(sighting(i), NO_TRANSITIONS, at=T0 + i * STEP)
    eps = episodes(store)
    firing = {T0 + i * STEP for i, f in enumerate(truth) if f}
    for k, e in eps.iterrows():
        assert e["since"].to_pydatetime() in firing and e["last_firing"].to_pydatetime() in firing
        if not pd.isna(e["cleared"]):
            assert e["cleared"] > e["last_firing"] and e["cleared"].to_pydatetime() not in firing
        if k:
            before = eps.loc[k - 1]
            assert before["last_firing"] < e["since"] and (pd.isna(before["cleared"]) or before["cleared"] <= e["since"])
    for i in seen:
        if truth[i]:
            t = pd.Timestamp(T0 + i * STEP)
            assert ((eps["since"] <= t) & (t <= eps["last_firing"])).sum() == 1
    for i in seen:
        store.record(sighting(i), NO_TRANSITIONS, at=T0 + i * STEP)
    pd.testing.assert_frame_equal(episodes(store), eps)
