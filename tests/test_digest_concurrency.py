"""Exactly once under concurrency, against a real SMTP server (aiosmtpd on 127.0.0.1).

Several senders of one slot at the same moment (``python -m dashboard digest --send`` as
separate OS processes, forked processes, threads) send its Message-ID once; a slow send is
not raced by a second sender, with ``--force`` neither; a sender that died leaves its slot
to the next run; a live sender's claim is never taken; another slot of the same digest
waits for the claim; a file system without locks is refused before anything is sent.
Two ``schedule`` processes are in test_digest_schedule.py.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.config import settings as settings_mod
from dashboard.digest import pipeline
from dashboard.digest import state as state_mod
from dashboard.digest.commands import add_parsers, cmd_digest, cmd_schedule
from dashboard.digest.compose import gather
from dashboard.digest.errors import DeliveryError
from dashboard.digest.pipeline import lease_seconds, message_id, run_digest, state_path
from dashboard.digest.state import Lease, StateStore, process_key
from dashboard.digest.transport import SmtpTransport, TransientError
from tests.digest_support import SmtpSink, write_config

pytestmark = pytest.mark.aws  # the simulated account composes the digests

ROOT = Path(__file__).resolve().parent.parent
SIM = "2026-12-08T15:30:00Z"  # the demo account's fixed clock: every sender composes the same slot
SIM_AT = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
SLOT = "2026-12-08T15:30 UTC"
SENDER = "lambda-lens@example.com"
MID = message_id("org", SLOT, SENDER)
FORK = multiprocessing.get_context("fork")


def config(folder: Path, port: int, **digest) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(
        folder,
        {
            "sender": SENDER,
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout_s": 20},
            "retry_backoff_s": 0,
            "state_path": "state.json",
            "digests": [{"name": "org", "recipients": ["ops@example.com"], "timezone": "UTC", "range": "3h", **digest}],
        },
        accounts=[{"name": "demo", "demo": True, "regions": ["us-east-1"], "simulation": {"functions": 8, "now": SIM}}],
    )


def args(cfg: Path, *extra: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    return p.parse_args(["digest", "--config", str(cfg), "--send", *extra])


@pytest.fixture(scope="module")
def sim_inputs(tmp_path_factory):
    """The demo account's inputs at SIM, gathered once (the forked and threaded senders compose from them)."""
    cfg = settings_mod.load(config(tmp_path_factory.mktemp("inputs"), 25))
    return gather(cfg, now=cfg.fixed_now, range_text="3h")


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def composed(monkeypatch, sim_inputs):
    monkeypatch.setattr(pipeline, "gather", lambda *a, **k: sim_inputs)


def state(cfg: Path) -> StateStore:
    return StateStore(state_path(settings_mod.load(cfg)))


def assert_sent_once(cfg: Path, sink: SmtpSink) -> None:
    assert sink.message_ids() == {MID: 1}
    rec = state(cfg).load().record("org")
    assert rec.slots == (SLOT,) and rec.lease is None and rec.message_id == MID


def assert_one_sent_rest_skipped(outs: list[str]) -> None:
    sent = [o for o in outs if o.startswith("sent org")]
    skipped = [o for o in outs if o.startswith(f"skipped org ({SLOT}): ")]
    assert len(sent) == 1 and len(skipped) == len(outs) - 1, outs
    for o in skipped:  # a live sender had it, or had already sent it
        assert "being sent by pid" in o or "already sent for this slot" in o, o


# --- separate OS processes --------------------------------------------------------------------------------

CLI_TRIALS, CLI_SENDERS = 2, 3


@pytest.mark.slow
def test_concurrent_cli_processes_send_each_slot_once(tmp_path):
    """``python -m dashboard digest --send`` three times at once, twice over: one message per trial."""
    for trial in range(CLI_TRIALS):
        sink = SmtpSink().start()
        try:
            cfg = config(tmp_path / f"trial{trial}", sink.port)
            cmd = [sys.executable, "-m", "dashboard", "digest", "--send", "--config", str(cfg)]
            procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(CLI_SENDERS)]
            done = [(*p.communicate(timeout=120), p.returncode) for p in procs]
            for _out, err, code in done:
                assert code == 0 and "Traceback" not in err, err
            assert_one_sent_rest_skipped([out.strip() for out, _err, _code in done])
            assert_sent_once(cfg, sink)
        finally:
            sink.stop()


def _send_in_child(go, results, cfg: str, extra: tuple[str, ...], transport=None) -> None:
    go.wait(60)
    out, err = io.StringIO(), io.StringIO()
    code = cmd_digest(args(Path(cfg), *extra), out, err, transport=transport)
    results.put((os.getpid(), code, out.getvalue().strip(), err.getvalue()))


def start_senders(cfg: Path, n: int, *extra: str, transport=None, go=None):
    go = go or FORK.Event()
    results = FORK.Queue()
    procs = [FORK.Process(target=_send_in_child, args=(go, results, str(cfg), extra, transport)) for _ in range(n)]
    for p in procs:
        p.start()
    return go, results, procs


def collect(results, procs) -> list[tuple[int, int, str, str]]:
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return got


FORK_TRIALS, FORK_SENDERS = 5, 4


@pytest.mark.slow
def test_forked_processes_started_together_send_each_slot_once(tmp_path, composed):
    """Four processes wait on one event and are released together; five trials, each slot's Message-ID once."""
    for trial in range(FORK_TRIALS):
        sink = SmtpSink().start()
        try:
            cfg = config(tmp_path / f"trial{trial}", sink.port)
            go, results, procs = start_senders(cfg, FORK_SENDERS)
            go.set()
            got = collect(results, procs)
            assert [code for _pid, code, _o, _e in got] == [0] * FORK_SENDERS, got
            assert_one_sent_rest_skipped([out for _pid, _c, out, _e in got])
            assert_sent_once(cfg, sink)
        finally:
            sink.stop()


THREAD_TRIALS, THREADS = 5, 8


def test_threads_in_one_process_send_each_slot_once(tmp_path, sim_inputs, sink):
    """Eight threads of one process (one pid: the claim's token tells them apart), five slots."""
    cfg = settings_mod.load(config(tmp_path, sink.port))
    store = StateStore(tmp_path / "state.json")
    digest = cfg.email.digests[0]
    statuses: list[str] = []
    for trial in range(THREAD_TRIALS):
        at = SIM_AT + timedelta(minutes=trial)
        gate = threading.Barrier(THREADS)

        def send(at=at, gate=gate) -> None:
            gate.wait(30)
            o = run_digest(cfg, digest, slot_at=at, inputs=sim_inputs, store=store, transport=SmtpTransport(cfg.email.smtp))
            statuses.append(o.status)

        threads = [threading.Thread(target=send) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    ids = sink.message_ids()
    assert len(ids) == THREAD_TRIALS and set(ids.values()) == {1}
    assert sorted(statuses).count("sent") == THREAD_TRIALS and len(statuses) == THREAD_TRIALS * THREADS
    assert set(statuses) <= {"sent", "busy", "already_sent"}
    assert len(store.load().record("org").slots) == THREAD_TRIALS


# --- a slow send, a dead sender, leases --------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_a_slow_send_is_not_raced_by_a_second_sender(tmp_path, composed, force):
    """The server takes 3 s over the message; a second sender (with --force too) started meanwhile leaves the slot to it."""
    sink = SmtpSink(delay_s=3.0).start()
    try:
        cfg = config(tmp_path, sink.port)
        go, first_results, first = start_senders(cfg, 1)
        go.set()
        deadline = time.monotonic() + 60
        while sink.attempts == 0:  # the first sender is inside DATA, the server sleeping
            assert time.monotonic() < deadline, "the first sender never reached the server"
            time.sleep(0.05)
        go2, second_results, second = start_senders(cfg, 1, *(["--force"] if force else []))
        go2.set()
        ((_pid2, code2, out2, _err2),) = collect(second_results, second)
        assert sink.received == []  # the second sender finished while the first was still sending
        ((pid1, code1, out1, _err1),) = collect(first_results, first)
        assert (code1, code2) == (0, 0)
        assert out1.startswith("sent org")
        assert out2.startswith(f"skipped org ({SLOT}): being sent by pid {pid1} on {socket.gethostname()} (claimed until ")
        assert_sent_once(cfg, sink)
    finally:
        sink.stop()


class Dies:
    """A transport that kills its process in the middle of the send (no clean-up, no state written)."""

    name = "smtp"

    def send(self, msg, *, sender, recipients):
        os._exit(9)


def test_a_sender_that_died_leaves_its_slot_to_the_next_run(tmp_path, composed, sink, caplog):
    cfg = config(tmp_path, sink.port)
    go, results, procs = start_senders(cfg, 1, transport=Dies())
    go.set()
    procs[0].join(60)
    assert procs[0].exitcode == 9 and results.empty()
    lease = state(cfg).load().record("org").lease
    assert lease is not None and lease.slot == SLOT and lease.pid == procs[0].pid
    assert not lease.expired(datetime.now(UTC))  # its deadline is far: only the dead pid frees the slot now

    out, err = io.StringIO(), io.StringIO()
    with caplog.at_level("WARNING", logger="dashboard.digest"):
        assert cmd_digest(args(cfg), out, err) == 0, err.getvalue()
    assert out.getvalue().startswith("sent org")
    assert f"slot {SLOT} was being sent by pid {lease.pid} on {lease.host}, which stopped before recording it" in caplog.text
    assert_sent_once(cfg, sink)


def write_lease(cfg: Path, **fields) -> Lease:
    lease = Lease(**{"slot": SLOT, "token": "theirs", "host": "replica-b", "pid": 4242, "until": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(), **fields})
    state(cfg).update("org", lambda r: replace(r, lease=lease))
    return lease


def test_an_expired_claim_is_sent_by_the_next_run_and_a_live_one_is_left_alone(tmp_path, composed, sink):
    cfg = config(tmp_path, sink.port)
    write_lease(cfg)  # another machine's sender, still within its lease
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(args(cfg), out, err) == 0 and cmd_digest(args(cfg, "--force"), out, err) == 0
    assert out.getvalue().splitlines() == [f"skipped org ({SLOT}): being sent by pid 4242 on replica-b (claimed until {state(cfg).load().record('org').lease.until[:19].replace('T', ' ')} UTC)"] * 2
    assert sink.received == []

    write_lease(cfg, until=(datetime.now(UTC) - timedelta(seconds=1)).isoformat())  # its lease ran out
    out = io.StringIO()
    assert cmd_digest(args(cfg), out, err) == 0
    assert out.getvalue().startswith("sent org")
    assert_sent_once(cfg, sink)


def dead_pid() -> tuple[int, str]:
    """The pid and process key of a process that has exited."""
    p = subprocess.Popen(["sleep", "30"])
    key = process_key(p.pid)
    p.kill()
    p.wait()
    return p.pid, key


@pytest.mark.skipif(process_key(os.getpid()) is None, reason="process identities need /proc (Linux)")
def test_which_claims_a_run_may_take(tmp_path):
    store = StateStore(tmp_path / "state.json")
    here, me = socket.gethostname(), process_key(os.getpid())
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    earlier = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    pid, gone = dead_pid()
    cases = [
        (Lease(SLOT, "t", "replica-b", 4242, later), "busy"),  # another machine, within its lease
        (Lease(SLOT, "t", here, os.getpid(), later, me), "busy"),  # a live process here (this one)
        (Lease(SLOT, "t", here, pid, later, gone), "claimed"),  # a dead process here
        (Lease(SLOT, "t", here, os.getpid(), later, me.rsplit("/", 1)[0] + "/1"), "claimed"),  # its pid now another process
        (Lease(SLOT, "t", here, pid, later, None), "busy"),  # a dead pid, but no identity to be sure: wait for the deadline
        (Lease(SLOT, "t", here, pid, later, "another-boot/pid:[1]/5"), "busy"),  # another boot or container: not our pids
        (Lease("2026-12-08T15:29 UTC", "t", "replica-b", 4242, later), "wait"),  # another slot, live: wait for it
        (Lease("2026-12-08T15:29 UTC", "t", "replica-b", 4242, earlier), "claimed"),  # another slot, expired
        (Lease(SLOT, "t", "replica-b", 4242, earlier), "claimed"),  # another machine's, expired
    ]
    for lease, expected in cases:
        store.update("org", lambda r, lease=lease: replace(r, lease=lease))
        got = store.claim("org", SLOT, lease_s=60)
        assert got.status == expected, lease
        assert got.took_over == (lease if expected == "claimed" else None)


def test_a_state_file_from_before_leases_resends_its_pending_slot(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "digests": {"org": {"slots": [], "pending": SLOT}}}))
    got = StateStore(path).claim("org", SLOT, lease_s=60)
    assert got.status == "claimed" and got.took_over.slot == SLOT and got.took_over.pid == 0


def test_another_slot_waits_for_the_claim_then_is_sent(tmp_path, sim_inputs, sink):
    cfg = settings_mod.load(config(tmp_path, sink.port))
    store = StateStore(tmp_path / "state.json")
    held = store.claim("org", "2026-12-08T15:29 UTC", lease_s=60)
    assert held.status == "claimed"
    threading.Timer(1.0, store.release, args=("org", held.lease)).start()
    t0 = time.monotonic()
    o = run_digest(cfg, cfg.email.digests[0], slot_at=SIM_AT, inputs=sim_inputs, store=store, transport=SmtpTransport(cfg.email.smtp))
    assert o.status == "sent" and time.monotonic() - t0 >= 1.0
    assert sink.message_ids() == {MID: 1}


def test_a_claim_taken_over_while_composing_is_not_sent(tmp_path, sim_inputs, sink, monkeypatch):
    """Our lease ran out while composing and another run claimed the slot: we must not send it too."""
    cfg = settings_mod.load(config(tmp_path, sink.port))
    store = StateStore(tmp_path / "state.json")
    real_build = pipeline.build

    def slow_build(*a, **k):
        store.update("org", lambda r: replace(r, lease=Lease(SLOT, "theirs", "replica-b", 4242, (datetime.now(UTC) + timedelta(minutes=5)).isoformat())))
        return real_build(*a, **k)

    monkeypatch.setattr(pipeline, "build", slow_build)
    o = run_digest(cfg, cfg.email.digests[0], slot_at=SIM_AT, inputs=sim_inputs, store=store, transport=SmtpTransport(cfg.email.smtp))
    assert o.status == "busy" and "pid 4242 on replica-b" in o.note
    assert sink.received == [] and store.load().record("org").lease.token == "theirs"


def test_a_failed_send_drops_its_claim(tmp_path, sim_inputs):
    class Refused:
        name = "smtp"

        def send(self, msg, *, sender, recipients):
            raise TransientError("the SMTP server 127.0.0.1:1 did not answer")

    cfg = settings_mod.load(config(tmp_path, 1))
    store = StateStore(tmp_path / "state.json")
    with pytest.raises(DeliveryError):
        run_digest(cfg, cfg.email.digests[0], slot_at=SIM_AT, inputs=sim_inputs, store=store, transport=Refused(), sleep=lambda s: None)
    rec = store.load().record("org")
    assert rec.lease is None and rec.slots == () and rec.last_error.startswith(SLOT)


def test_the_lease_outlasts_the_longest_send_with_its_retries(tmp_path):
    cfg = settings_mod.load(config(tmp_path, 25))
    e = cfg.email
    longest = e.retry_attempts * pipeline.SMTP_STEPS * e.smtp.timeout_s + sum(e.retry_backoff_s * 2**i for i in range(e.retry_attempts - 1))
    assert lease_seconds(cfg) == 2 * longest + 60
    defaults = settings_mod.Settings()
    assert lease_seconds(defaults) == 2 * (4 * 10 * 30 + (2 + 4 + 8)) + 60  # about 41 minutes
    ses = defaults.model_copy(update={"email": defaults.email.model_copy(update={"transport": "ses"})})
    assert lease_seconds(ses) == 2 * (4 * 8 * (5 + 30) + 14) + 60


# --- a file system without locks ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_file_system_that_cannot_lock_is_refused_before_anything_is_sent(tmp_path, sink, monkeypatch, code):
    cfg = config(tmp_path, sink.port)

    def no_locks(fd, op):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(state_mod.fcntl, "flock", no_locks)
    path = tmp_path / "state.json"
    sentence = f"error: {path}: its file system cannot lock files ({os.strerror(code)}), so two senders could send a digest twice; put email.state_path on a local disk or a shared volume with working locks (e.g. NFSv4)\n"
    out, err = io.StringIO(), io.StringIO()
    assert cmd_digest(args(cfg), out, err) == 1
    assert err.getvalue() == sentence and out.getvalue() == ""

    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    assert cmd_schedule(p.parse_args(["schedule", "--config", str(cfg)]), out, err) == 1
    assert err.getvalue() == sentence and out.getvalue() == ""
    assert sink.attempts == 0 and not path.exists()
