"""Digest state: new / ongoing / resolved across three digests, atomic writes, crashes, slots."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pytest

from dashboard.config import settings as settings_mod
from dashboard.digest import state as state_mod
from dashboard.digest.errors import StateError
from dashboard.digest.pipeline import message_id, run_digest, slot_key
from dashboard.digest.state import AlertMemo, DigestRecord, State, StateStore, atomic_write
from tests.digest_support import inventory, metrics, synthetic_inputs

ROOT = Path(__file__).resolve().parent.parent
T1 = pd.Timestamp("2026-11-26T08:00:00Z")
T2 = T1 + pd.Timedelta(hours=1)
T3 = T2 + pd.Timedelta(hours=1)
M = pd.Timedelta(minutes=1)
BAD, GOOD = (100.0, 50.0), (100.0, 0.0)  # (invocations, errors) of one 5-minute period


def cfg(tmp_path: Path) -> settings_mod.Settings:
    p = tmp_path / "config.yaml"
    p.write_text(
        textwrap.dedent(
            """
            alerts:
              rules:
                - {name: error-rate, metric: error_rate, threshold: 5, period_s: 300, evaluation_periods: 1,
                   missing_data: notBreaching, severity: critical}
            email:
              digests:
                - {name: org, recipients: [ops@example.com], timezone: UTC, range: 3h}
            """
        )
    )
    return settings_mod.load(p)


class FakeTransport:
    name = "fake"

    def __init__(self):
        self.sent: list[EmailMessage] = []

    def send(self, msg, *, sender, recipients):
        self.sent.append(msg)
        return str(msg["Message-ID"])


INV = inventory([{"function": f, "team": "web"} for f in ("api", "worker", "cron", "db")])


def periods(*runs: tuple[int, tuple[float, float]]) -> list[tuple[float, float]]:
    """36 five-minute periods (3 h) built from (count, point) runs, oldest first."""
    out = [p for n, p in runs for _ in range(n)]
    assert len(out) == 36
    return out


def inputs_at(when: pd.Timestamp):
    if when == T1:  # api fails for the last 30 minutes
        per = {"api": periods((30, GOOD), (6, BAD)), "worker": periods((36, GOOD)), "cron": periods((36, GOOD)), "db": periods((36, GOOD))}
    elif when == T2:  # api still failing; worker starts failing 15 minutes before T2
        per = {"api": periods((18, GOOD), (18, BAD)), "worker": periods((33, GOOD), (3, BAD)), "cron": periods((36, GOOD)), "db": periods((36, GOOD))}
    else:  # T3: api recovered 30 min ago; worker still failing; cron failed T2+10..T2+20 and recovered
        per = {
            "api": periods((6, GOOD), (24, BAD), (6, GOOD)),
            "worker": periods((21, GOOD), (15, BAD)),
            "cron": periods((26, GOOD), (2, BAD), (8, GOOD)),
            "db": periods((36, GOOD)),
        }
    return synthetic_inputs(INV, metrics(per, end=when), now=when)


def send(settings, store, transport, when: pd.Timestamp):
    out = run_digest(settings, settings.email.digests[0], slot_at=when.to_pydatetime(), inputs=inputs_at(when), store=store, transport=transport, sleep=lambda s: None)
    d = out.facts
    rows = [] if d is None else [(c, f, s, r) for c, f, s, r in d.alerts[["category", "function", "since", "resolved_at"]].astype(object).where(d.alerts.notna(), None).itertuples(index=False)]
    return out, rows


def test_new_ongoing_resolved_across_three_digests(tmp_path):
    settings = cfg(tmp_path)
    store = StateStore(tmp_path / "state.json")
    tr = FakeTransport()

    out1, rows1 = send(settings, store, tr, T1)
    assert out1.status == "sent"
    assert rows1 == [("new", "api", T1 - 25 * M, None)]
    assert tr.sent[-1]["Subject"] == "1 alert firing — all teams, 2026-11-26"

    out2, rows2 = send(settings, store, tr, T2)
    assert rows2 == [("new", "worker", T2 - 10 * M, None), ("ongoing", "api", T1 - 25 * M, None)]
    assert tr.sent[-1]["Subject"] == "2 alerts firing (1 new) — all teams, 2026-11-26"

    out3, rows3 = send(settings, store, tr, T3)
    assert rows3 == [
        ("ongoing", "worker", T2 - 10 * M, None),
        ("resolved", "api", T1 - 25 * M, T3 - 25 * M),  # firing at the previous send, not now
        ("resolved", "cron", T2 + 15 * M, T2 + 25 * M),  # fired and cleared between two digests
    ]
    assert tr.sent[-1]["Subject"] == "1 alert firing, 2 resolved — all teams, 2026-11-26"
    rec = store.load().record("org")
    assert rec.slots == ("2026-11-26T08:00 UTC", "2026-11-26T09:00 UTC", "2026-11-26T10:00 UTC")
    assert rec.alerts == {"acct/us-east-1/worker/error-rate": AlertMemo(since=(T2 - 10 * M).isoformat(), severity="critical", value=50.0)}
    assert rec.sent_at == T3.isoformat() and rec.pending is None and rec.last_error is None


def test_a_slot_already_sent_is_not_sent_again(tmp_path):
    settings = cfg(tmp_path)
    store = StateStore(tmp_path / "state.json")
    tr = FakeTransport()
    send(settings, store, tr, T1)
    again, _ = send(settings, store, tr, T1)
    assert again.status == "already_sent" and len(tr.sent) == 1


class Crash(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def test_a_crash_before_the_rename_keeps_the_previous_state_and_the_rerun_is_right(tmp_path, monkeypatch):
    settings = cfg(tmp_path)
    path = tmp_path / "state.json"
    store = StateStore(path)
    tr = FakeTransport()
    send(settings, store, tr, T1)
    after_first = path.read_text()

    real_replace = state_mod.os.replace
    calls = []

    def dying_replace(src, dst):
        calls.append(src)
        if len(calls) == 3:  # digest 2: the claim, its renewal before the send, then the record of the send → die before renaming
            raise Crash
        return real_replace(src, dst)

    monkeypatch.setattr(state_mod.os, "replace", dying_replace)
    with pytest.raises(Crash):
        send(settings, store, tr, T2)
    monkeypatch.setattr(state_mod.os, "replace", real_replace)

    # The file is whole: digest 1's record, with slot 2 claimed (the message went out).
    rec = store.load().record("org")
    assert rec.pending == "2026-11-26T09:00 UTC"
    assert replace(rec, lease=None) == State.from_json(after_first).record("org")
    # The process "died": its claim runs out (a real dead pid is test_digest_concurrency's).
    store.update("org", lambda r: replace(r, lease=replace(r.lease, until="2026-01-01T00:00:00+00:00")))
    first_id = tr.sent[-1]["Message-ID"]
    assert first_id == message_id("org", "2026-11-26T09:00 UTC", settings.email.sender)

    # Restarted, slot 2 is sent again (same Message-ID, so mail systems see one message) and is still right.
    out2, rows2 = send(settings, store, tr, T2)
    assert out2.status == "sent" and tr.sent[-1]["Message-ID"] == first_id
    assert rows2 == [("new", "worker", T2 - 10 * M, None), ("ongoing", "api", T1 - 25 * M, None)]
    _, rows3 = send(settings, store, tr, T3)
    assert [r[:2] for r in rows3] == [("ongoing", "worker"), ("resolved", "api"), ("resolved", "cron")]


def test_a_real_crash_between_write_and_rename_loses_nothing(tmp_path):
    """A child process dies (os._exit, no clean-up) after writing and fsyncing the temporary file, before the rename."""
    path = tmp_path / "state.json"
    before = State().with_record("org", DigestRecord(slots=("s1",), alerts={"a/r/f/rule": AlertMemo(since="2026-11-26T08:00:00+00:00", severity="critical", value=7.0)}))
    atomic_write(path, before.to_json().encode())
    child = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from dashboard.digest import state
        store = state.StateStore({str(path)!r})
        state.os.replace = lambda src, dst: os._exit(3)
        store.update("org", lambda r: r.with_slot("s2", "2026-11-26T09:00:00+00:00"))
        """
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the new content, never renamed
    assert json.loads((tmp_path / leftovers[0]).read_text())["digests"]["org"]["slots"] == ["s1", "s2"]
    store = StateStore(path)
    assert store.load() == before  # the old file is whole; the stray temporary file is ignored
    store.update("org", lambda r: r.with_slot("s2", "2026-11-26T09:00:00+00:00"))
    assert store.load().record("org").slots == ("s1", "s2")


def test_state_round_trips_and_keeps_the_newest_slots(tmp_path):
    rec = DigestRecord()
    for i in range(70):
        rec = rec.with_slot(f"slot-{i:02d}", f"2026-11-26T{i // 60:02d}:{i % 60:02d}:00+00:00")
    s = State().with_record("org", rec)
    back = State.from_json(s.to_json())
    assert back == s
    assert back.record("org").slots[0] == "slot-06" and len(back.record("org").slots) == 64
    assert back.record("org").last_slot_at == "2026-11-26T01:09:00+00:00"
    assert back.record("nobody") == DigestRecord()


@pytest.mark.parametrize(
    "text,message",
    [
        ("{not json", "not valid JSON"),
        ('{"version": 9, "digests": {}}', "not a Lambda Lens digest state file"),
        ('{"version": 1, "digests": {"org": {"alerts": {"k": {"sev": 1}}}}}', "a digest record is malformed"),
        ('{"version": 1, "digests": {"x": []}}', r"a digest record is malformed \(digest 'x' is a list, not an object\)"),
        ('{"version": 1, "digests": {"x": {"slots": 5}}}', r"digest 'x': slots is not a list of slot names"),
        ('{"version": 1, "digests": {"x": {"lease": {"slot": "s"}}}}', "a digest record is malformed"),
        ('{"version": 1, "digests": {"x": {"lease": {"slot": "s", "token": "t", "host": "h", "pid": 1, "until": "2026-12-08T15:00"}}}}', "has no UTC offset"),
    ],
)
def test_a_damaged_state_file_is_an_error_never_silently_replaced(tmp_path, text, message):
    path = tmp_path / "state.json"
    path.write_text(text)
    store = StateStore(path)
    with pytest.raises(StateError, match=message):
        store.load()
    with pytest.raises(StateError, match="move it aside|move the file aside"):
        store.update("org", lambda r: r)
    assert path.read_text() == text


def test_slot_keys_are_local_wall_clock_minutes():
    import datetime as dt

    first = dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)  # 02:30 CEST
    second = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)  # 02:30 CET, the repeated hour
    assert slot_key(first, "Europe/Berlin") == slot_key(second, "Europe/Berlin") == "2026-10-25T02:30 Europe/Berlin"
    assert slot_key(first, "UTC") == "2026-10-25T00:30 UTC"


def test_a_state_file_of_the_wrong_shape_is_one_sentence_and_exit_1_like_any_damaged_state(tmp_path):
    """Valid JSON, not a record: one line naming the file, what is wrong and the fix; nothing sent, the file kept."""
    import argparse
    import io

    from dashboard.digest.commands import add_parsers, cmd_digest
    from tests.digest_support import write_config

    config = write_config(tmp_path, {"smtp": {"host": "127.0.0.1", "port": 1, "security": "none"}, "state_path": "state.json", "digests": [{"name": "org", "recipients": ["ops@example.com"]}]})
    path = tmp_path / "state.json"
    path.write_text('{"version":1,"digests":{"x":[]}}')
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    for mode in (["--send"], ["--dry-run", "--out", str(tmp_path / "out")]):
        out, err = io.StringIO(), io.StringIO()
        assert cmd_digest(p.parse_args(["digest", "--config", str(config), *mode]), out, err) == 1
        assert err.getvalue() == f"error: {path}: a digest record is malformed (digest 'x' is a list, not an object); move the file aside to start afresh\n"
        assert out.getvalue() == ""
    assert path.read_text() == '{"version":1,"digests":{"x":[]}}'
