"""The scheduler under a controlled clock: the right digests at the right times, time zones and DST,
restarts that never resend a slot, catch-up of a slot missed while down; and `schedule` end to end."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.config.settings import DigestSettings
from dashboard.digest import pipeline
from dashboard.digest.commands import add_parsers, cmd_schedule
from dashboard.digest.errors import DeliveryError
from dashboard.digest.pipeline import Outcome, slot_key
from dashboard.digest.schedule import Scheduler, next_fire, previous_fire
from dashboard.digest.state import StateStore
from tests.digest_support import SIM_NOW, SmtpSink, demo_inputs, write_config

ROOT = Path(__file__).resolve().parent.parent

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


class Clock:
    """A clock that only moves when the scheduler sleeps."""

    def __init__(self, start: dt.datetime):
        self.now = start
        self.slept = 0.0

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept += seconds
        self.now += dt.timedelta(seconds=seconds)


ORG = DigestSettings(name="org", recipients=["ops@example.com"], schedule="0 8 * * 1-5", timezone="Europe/Berlin")
TEAM = DigestSettings(name="payments", team="payments", recipients=["pay@example.com"], schedule="0 7,19 * * *", timezone="America/New_York")


class Recorder:
    """A job that records (digest, slot, clock time) and marks the slot handled, as run_digest does."""

    def __init__(self, store: StateStore, clock: Clock, *, fail: set[str] = frozenset()):
        self.store, self.clock, self.fail = store, clock, fail
        self.calls: list[tuple[str, str, str]] = []

    def __call__(self, d: DigestSettings, slot_at: dt.datetime) -> Outcome:
        slot = slot_key(slot_at, d.timezone)
        self.calls.append((d.name, slot, self.clock().strftime("%a %H:%M")))
        if slot in self.fail:
            raise DeliveryError("Not sent after 4 attempts: refused.", transport="fake", attempts=4)
        self.store.update(d.name, lambda r: r.with_slot(slot, slot_at.isoformat()))
        return Outcome(d.name, slot, "sent")


def scheduler(store, clock, job, digests=(ORG, TEAM)) -> Scheduler:
    return Scheduler(list(digests), store=store, job=job, clock=clock, sleep=clock.sleep, catch_up=dt.timedelta(hours=1))


def test_the_right_digests_at_the_right_local_times_over_a_weekend(tmp_path):
    store = StateStore(tmp_path / "state.json")
    clock = Clock(at("2026-11-27T06:00:00+00:00"))  # Friday 07:00 in Berlin, 01:00 in New York
    job = Recorder(store, clock)
    scheduler(store, clock, job).run(until=at("2026-12-01T00:00:00+00:00"))
    assert job.calls == [
        ("org", "2026-11-27T08:00 Europe/Berlin", "Fri 07:00"),
        ("payments", "2026-11-27T07:00 America/New_York", "Fri 12:00"),
        ("payments", "2026-11-27T19:00 America/New_York", "Sat 00:00"),
        ("payments", "2026-11-28T07:00 America/New_York", "Sat 12:00"),
        ("payments", "2026-11-28T19:00 America/New_York", "Sun 00:00"),
        ("payments", "2026-11-29T07:00 America/New_York", "Sun 12:00"),
        ("payments", "2026-11-29T19:00 America/New_York", "Mon 00:00"),
        ("org", "2026-11-30T08:00 Europe/Berlin", "Mon 07:00"),  # no org digest on Saturday or Sunday
        ("payments", "2026-11-30T07:00 America/New_York", "Mon 12:00"),
    ]  # Monday 19:00 in New York is Tuesday 00:00 UTC: the run stops at `until`, before it
    assert clock.slept == pytest.approx(4 * 86400 - 6 * 3600)


def test_a_restart_does_not_resend_a_slot_and_catches_up_only_a_recent_miss(tmp_path):
    store = StateStore(tmp_path / "state.json")
    clock = Clock(at("2026-11-27T06:00:00+00:00"))
    first = Recorder(store, clock)
    scheduler(store, clock, first).run(until=at("2026-11-27T12:30:00+00:00"))
    assert [c[:2] for c in first.calls] == [("org", "2026-11-27T08:00 Europe/Berlin"), ("payments", "2026-11-27T07:00 America/New_York")]

    # Restarted ten minutes later: both of today's slots were sent, so nothing goes out again.
    clock.now = at("2026-11-27T12:40:00+00:00")
    second = Recorder(store, clock)
    s2 = scheduler(store, clock, second)
    assert s2.plan() == [("org", at("2026-11-30T07:00:00+00:00")), ("payments", at("2026-11-28T00:00:00+00:00"))]
    s2.run(until=at("2026-11-28T00:01:00+00:00"))
    assert second.calls == [("payments", "2026-11-27T19:00 America/New_York", "Sat 00:00")]

    # Down from 11:50 to 12:20 UTC: the 07:00 New York slot (12:00 UTC) is 20 min late, within catch_up_s.
    clock.now = at("2026-11-28T12:20:00+00:00")
    third = Recorder(store, clock)
    scheduler(store, clock, third).run(until=at("2026-11-28T12:21:00+00:00"))
    assert third.calls == [("payments", "2026-11-28T07:00 America/New_York", "Sat 12:20")]

    # Down for hours: the missed slot (2 h late) is skipped; the next one goes out on time.
    clock.now = at("2026-11-29T14:00:00+00:00")
    fourth = Recorder(store, clock)
    scheduler(store, clock, fourth).run(until=at("2026-11-30T00:01:00+00:00"))
    assert fourth.calls == [("payments", "2026-11-29T19:00 America/New_York", "Mon 00:00")]
    handled = store.load().record("payments").slots
    assert len(handled) == len(set(handled)) == 4


def test_two_schedulers_sharing_a_state_file_send_each_slot_once(tmp_path):
    store = StateStore(tmp_path / "state.json")
    clock = Clock(at("2026-11-27T06:59:00+00:00"))
    a = Recorder(store, clock)
    b = Recorder(store, clock)
    sa = scheduler(store, clock, a, digests=(ORG,))
    sb = scheduler(store, clock, b, digests=(ORG,))
    sa.run(until=at("2026-11-27T07:01:00+00:00"))
    clock.now = at("2026-11-27T06:59:00+00:00")  # the second one wakes for the same slot, later in real terms
    sb.run(until=at("2026-11-27T07:01:00+00:00"))
    assert len(a.calls) + len(b.calls) == 1


def test_a_failed_slot_is_reported_and_the_scheduler_goes_on(tmp_path, caplog):
    store = StateStore(tmp_path / "state.json")
    clock = Clock(at("2026-11-27T06:00:00+00:00"))
    job = Recorder(store, clock, fail={"2026-11-27T08:00 Europe/Berlin"})
    s = scheduler(store, clock, job, digests=(ORG,))
    with caplog.at_level("ERROR", logger="dashboard.digest"):
        s.run(until=at("2026-12-01T00:00:00+00:00"))
    assert s.failures == [("org", "2026-11-27T08:00 Europe/Berlin", "Not sent after 4 attempts: refused.")]
    assert [c[1] for c in job.calls] == ["2026-11-27T08:00 Europe/Berlin", "2026-11-30T08:00 Europe/Berlin"]
    assert "slot 2026-11-27T08:00 Europe/Berlin failed: Not sent after 4 attempts: refused." in caplog.text


def test_daylight_saving_time_changes(tmp_path):
    # Clocks go back in Berlin on 2026-10-25 (03:00 CEST → 02:00 CET): 02:30 happens twice, the digest goes once.
    store = StateStore(tmp_path / "state.json")
    clock = Clock(at("2026-10-24T00:00:00+00:00"))
    nightly = DigestSettings(name="nightly", recipients=["ops@example.com"], schedule="30 2 * * *", timezone="Europe/Berlin")
    job = Recorder(store, clock)
    scheduler(store, clock, job, digests=(nightly,)).run(until=at("2026-10-27T00:00:00+00:00"))
    assert job.calls == [
        ("nightly", "2026-10-24T02:30 Europe/Berlin", "Sat 00:30"),
        ("nightly", "2026-10-25T02:30 Europe/Berlin", "Sun 00:30"),
        ("nightly", "2026-10-26T02:30 Europe/Berlin", "Mon 01:30"),
    ]
    # Clocks go forward on 2026-03-29 (02:00 CET → 03:00 CEST): 02:30 does not exist; it runs at 03:00.
    assert next_fire("30 2 * * *", "Europe/Berlin", after=at("2026-03-28T12:00:00+00:00")) == at("2026-03-29T03:00:00+02:00")
    # 08:00 Berlin is 07:00 UTC in winter and 06:00 UTC in summer.
    assert next_fire("0 8 * * *", "Europe/Berlin", after=at("2026-07-01T00:00:00+00:00")) == at("2026-07-01T06:00:00+00:00")
    assert previous_fire("0 8 * * *", "Europe/Berlin", at=at("2026-12-01T07:00:30+00:00")) == at("2026-12-01T07:00:00+00:00")


# --- `python -m dashboard schedule` end to end ------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_inputs():
    return demo_inputs("24h")


def schedule_args(config: Path) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    return p.parse_args(["schedule", "--config", str(config)])


def test_schedule_command_sends_at_the_slot_logs_it_and_a_restart_sends_nothing(tmp_path, monkeypatch, sim_inputs):
    sink = SmtpSink().start()
    try:
        config = write_config(
            tmp_path,
            {
                "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"},
                "state_path": "state/digests.json",
                "digests": [{"name": "org", "recipients": ["ops@example.com", "finance@example.com"], "schedule": "0 8 * * *", "timezone": "Europe/Berlin"}],
            },
        )
        monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
        clock = Clock(at("2026-11-26T06:59:30+00:00"))
        out, err = io.StringIO(), io.StringIO()
        code = cmd_schedule(schedule_args(config), out, err, clock=clock, sleep=clock.sleep, until=at("2026-11-26T07:01:00+00:00"))
        assert code == 0, err.getvalue()
        assert len(sink.received) == 1
        got = sink.received[0]
        assert got.rcpt_tos == ["ops@example.com", "finance@example.com"]
        assert got.message["Subject"] == "4 alerts firing, 3 resolved — all teams, 2026-11-26"
        assert "next at 2026-11-26 07:00 UTC" in out.getvalue()
        assert "digest org: sent slot 2026-11-26T08:00 Europe/Berlin via smtp to 2 recipient(s) in 1 attempt(s): 4 alerts firing, 3 resolved — all teams, 2026-11-26" in err.getvalue()
        state = StateStore(tmp_path / "state" / "digests.json").load().record("org")
        assert state.slots == ("2026-11-26T08:00 Europe/Berlin",) and state.sent_at == SIM_NOW.isoformat()

        # Restarted at 08:05 Berlin: the 08:00 slot is in the state, so nothing is sent again.
        clock.now = at("2026-11-26T07:05:00+00:00")
        out2, err2 = io.StringIO(), io.StringIO()
        assert cmd_schedule(schedule_args(config), out2, err2, clock=clock, sleep=clock.sleep, until=at("2026-11-26T08:00:00+00:00")) == 0
        assert len(sink.received) == 1
        assert "next at 2026-11-27 07:00 UTC" in out2.getvalue()
        assert "stopped after 0 digest run(s), 0 failure(s)" in out2.getvalue()
    finally:
        sink.stop()


def test_schedule_logs_each_line_once_when_the_root_logger_has_a_handler(tmp_path, monkeypatch, sim_inputs):
    """The CLI configures the root logger (basicConfig); `schedule`'s own handler must be the only one to say each line."""
    sink = SmtpSink().start()
    root_stream = io.StringIO()
    root_handler = logging.StreamHandler(root_stream)  # what logging.basicConfig adds to the root logger
    logging.getLogger().addHandler(root_handler)
    try:
        config = write_config(
            tmp_path,
            {
                "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"},
                "digests": [{"name": "org", "recipients": ["ops@example.com"], "schedule": "0 8 * * *", "timezone": "Europe/Berlin"}],
            },
        )
        monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)
        clock = Clock(at("2026-11-26T06:59:30+00:00"))
        out, err = io.StringIO(), io.StringIO()
        assert cmd_schedule(schedule_args(config), out, err, clock=clock, sleep=clock.sleep, until=at("2026-11-26T07:01:00+00:00")) == 0
    finally:
        logging.getLogger().removeHandler(root_handler)
        sink.stop()
    lines = err.getvalue().splitlines()
    assert len(lines) == len(set(lines)) == 3  # yesterday's slot too old to catch up, "next at", then "sent slot"
    assert [line for line in lines if "sent slot" in line][0].endswith("digest org: sent slot 2026-11-26T08:00 Europe/Berlin via smtp to 1 recipient(s) in 1 attempt(s): 4 alerts firing, 3 resolved — all teams, 2026-11-26")
    assert "dashboard.digest" not in root_stream.getvalue() and "sent slot" not in root_stream.getvalue()
    assert logging.getLogger("dashboard.digest").propagate  # restored when the command returns


@pytest.mark.aws
@pytest.mark.slow
def test_two_schedule_processes_send_each_slot_once_and_log_each_line_once(tmp_path):
    """Two `python -m dashboard schedule` with `* * * * *` start together: both catch up the current minute's slot at
    once, and one of them sends it. Every line each one logs is logged once (not again through the root logger)."""
    sink = SmtpSink().start()
    procs = []
    try:
        config = write_config(
            tmp_path,
            {
                "smtp": {"host": "127.0.0.1", "port": sink.port, "security": "none"},
                "state_path": "state.json",
                "digests": [{"name": "org", "recipients": ["ops@example.com"], "schedule": "* * * * *", "timezone": "UTC", "range": "3h"}],
            },
            accounts=[{"name": "demo", "demo": True, "regions": ["us-east-1"], "simulation": {"functions": 8, "now": "2026-12-08T15:30:00Z"}}],
        )
        logs = [tmp_path / f"schedule-{i}.log" for i in range(2)]
        cmd = [sys.executable, "-m", "dashboard", "schedule", "--config", str(config)]
        for log_path in logs:
            with log_path.open("w") as f:
                procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=f, text=True))
        deadline = time.monotonic() + 90
        while not (sink.received and all("next at" in p.read_text() for p in logs)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.read_text() for p in logs]
            time.sleep(0.2)
        time.sleep(1.0)  # the loser has looked at the slot by now
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=60)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [p.read_text() for p in logs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        sink.stop()
    ids = sink.message_ids()
    assert ids and set(ids.values()) == {1}  # each minute's slot once (two, should the test straddle a minute)
    texts = [p.read_text() for p in logs]
    sent_lines = [line for t in texts for line in t.splitlines() if "digest org: sent slot" in line]
    assert len(sent_lines) == len(ids)
    for t in texts:
        lines = [line.split(" ", 2)[2] for line in t.splitlines() if line[:4].isdigit()]  # without the timestamp
        assert lines and len(lines) == len(set(lines)), t
        assert "INFO dashboard.digest" not in t and "Traceback" not in t, t
    assert all(o.startswith("scheduling 1 digest(s)") for o in outs)
    assert StateStore(tmp_path / "state.json").load().record("org").lease is None
