"""Durable digest state: what was sent for which slot, and which alerts were firing then.

One JSON file (``email.state_path``) holds a :class:`DigestRecord` per digest name. It
is what makes "new" and "resolved" right (the alerts firing at the previous send), keeps
a slot from being sent twice after a restart (the slots already handled), and backs the
"only when something changed" mode (the budget status sent last).

Writes are atomic: the new content goes to a temporary file in the same folder, is
flushed and ``fsync``-ed, then ``os.replace``-d over the old file, and the folder is
``fsync``-ed so the rename itself survives a power cut. A crash before the rename leaves
the old file whole (and a stray ``.tmp`` file that loading ignores); a crash after it
leaves the new one. Read-modify-write cycles hold an exclusive ``flock`` on a sibling
``.lock`` file, so a scheduler and a one-shot run from cron do not overwrite each other.
A file system that cannot lock is an error (:class:`StateError`), never a reason to go on
unlocked. A file that is not valid state is an error, never silently replaced: starting
afresh would report every firing alert as new again.

Claims: before a digest is composed for a slot, :meth:`StateStore.claim` records a
:class:`Lease` on it under the same lock: the slot, a token, the claimant (host, pid,
and on Linux its boot, pid namespace and start time) and a deadline. While the lease is
live no other sender builds or sends that digest: one that wants the same slot leaves it
to the holder, one that wants another slot waits. A lease ends when its holder records
the outcome (:meth:`StateStore.finish`, :meth:`StateStore.release`), when its deadline
passes, or at once when the holder is known to be dead (the same machine and pid
namespace, and that pid is gone or is another process now). The holder renews it just
before sending (:meth:`StateStore.renew`) and gives up if someone took it over.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboard.digest.errors import StateError

__all__ = ["AlertMemo", "Claim", "DigestRecord", "Lease", "State", "StateStore", "atomic_write", "process_key", "KEEP_SLOTS"]

log = logging.getLogger(__name__)

VERSION = 1
KEEP_SLOTS = 64  # slots remembered per digest (more than any catch-up window needs)


@dataclass(frozen=True)
class AlertMemo:
    """An alert that was firing when a digest was sent."""

    since: str  # ISO 8601 UTC: when it was first seen firing (carried across digests)
    severity: str
    value: float | None = None  # the value that decided it


@dataclass(frozen=True)
class Lease:
    """A claim on one slot of a digest: who is composing and sending it, and until when the claim holds."""

    slot: str
    token: str  # new for every claim; only its holder renews or releases it
    host: str
    pid: int
    until: str  # ISO 8601 UTC; after it another run may take the slot over
    process: str | None = None  # "<boot id>/<pid namespace>/<start time>" of the holder (Linux), else None

    @property
    def owner(self) -> str:
        return f"pid {self.pid} on {self.host}" if self.pid > 0 and self.host else "an earlier run"

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.until)

    def holder_gone(self) -> bool:
        """True only when the holder is certainly not running: same boot and pid namespace as us, and its pid is gone or reused."""
        if not self.process or self.pid <= 0:
            return False
        here = process_key(os.getpid())
        if here is None or here.rsplit("/", 1)[0] != self.process.rsplit("/", 1)[0]:
            return False  # another machine, boot or container: its pids are not ours to look at
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's
        now_there = process_key(self.pid)
        return now_there is not None and now_there != self.process  # the pid was reused by another process

    def live(self, now: datetime) -> bool:
        return not self.expired(now) and not self.holder_gone()


def _boot_and_namespace() -> str | None:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
    return f"{boot}/{ns}"


_HERE = _boot_and_namespace()


def process_key(pid: int) -> str | None:
    """``<boot id>/<pid namespace>/<start time>`` of ``pid`` in our namespace (Linux), None when unknown or gone."""
    if _HERE is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return f"{_HERE}/{fields[19]}" if len(fields) > 19 else None  # field 22 of stat: start time in clock ticks


@dataclass(frozen=True)
class DigestRecord:
    """One digest's memory."""

    slots: tuple[str, ...] = ()  # slot keys handled (sent or skipped as unchanged), oldest first
    last_slot_at: str | None = None  # ISO UTC instant of the newest handled slot
    sent_at: str | None = None  # ISO UTC of the last message handed to the transport
    message_id: str | None = None
    alerts: dict[str, AlertMemo] = field(default_factory=dict)  # key → memo, as of the last send
    budget_status: str | None = None
    lease: Lease | None = None  # the slot being composed and sent, and by whom; cleared after
    last_error: str | None = None

    @property
    def pending(self) -> str | None:
        """The slot claimed for sending, if any."""
        return self.lease.slot if self.lease else None

    def handled(self, slot: str) -> bool:
        return slot in self.slots

    def released(self, token: str) -> DigestRecord:
        """This record without the lease, if ``token`` holds it (another claimant's lease stays)."""
        return replace(self, lease=None) if self.lease is not None and self.lease.token == token else self

    def with_slot(self, slot: str, at_iso: str) -> DigestRecord:
        slots = tuple(s for s in self.slots if s != slot) + (slot,)
        newest = at_iso if self.last_slot_at is None or at_iso > self.last_slot_at else self.last_slot_at
        return replace(self, slots=slots[-KEEP_SLOTS:], last_slot_at=newest)


@dataclass(frozen=True)
class State:
    digests: dict[str, DigestRecord] = field(default_factory=dict)

    def record(self, name: str) -> DigestRecord:
        return self.digests.get(name, DigestRecord())

    def with_record(self, name: str, record: DigestRecord) -> State:
        return State({**self.digests, name: record})

    def to_json(self) -> str:
        body = {"version": VERSION, "digests": {n: _record_json(r) for n, r in sorted(self.digests.items())}}
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str = "state") -> State:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise StateError(f"{where}: not valid JSON ({e.msg}, line {e.lineno}); move it aside to start afresh") from None
        if not isinstance(raw, dict) or raw.get("version") != VERSION or not isinstance(raw.get("digests"), dict):
            raise StateError(f"{where}: not a Lambda Lens digest state file (version {VERSION}); move it aside to start afresh")
        try:
            return cls({str(n): _record_from(str(n), r) for n, r in raw["digests"].items()})
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise StateError(f"{where}: a digest record is malformed ({e}); move the file aside to start afresh") from None


def _record_json(r: DigestRecord) -> dict[str, Any]:
    d = asdict(r)
    d["slots"] = list(r.slots)
    d["alerts"] = {k: asdict(v) for k, v in sorted(r.alerts.items())}
    return d


_TEXT_FIELDS = ("last_slot_at", "sent_at", "message_id", "budget_status", "last_error")
_EPOCH = "1970-01-01T00:00:00+00:00"


def _kind(v: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(type(v), "null" if v is None else type(v).__name__)


def _record_from(name: str, d: Any) -> DigestRecord:
    """One digest's record from JSON; a ``ValueError`` naming what is wrong when its shape is not a record's."""
    if not isinstance(d, dict):
        raise ValueError(f"digest {name!r} is {_kind(d)}, not an object")
    slots = d.get("slots") or []
    if not isinstance(slots, list) or not all(isinstance(s, str) for s in slots):
        raise ValueError(f"digest {name!r}: slots is not a list of slot names")
    alerts = d.get("alerts") or {}
    if not isinstance(alerts, dict) or not all(isinstance(v, dict) for v in alerts.values()):
        raise ValueError(f"digest {name!r}: alerts is not an object of alert objects")
    known = {f: d[f] for f in _TEXT_FIELDS if f in d}
    for f, v in known.items():
        if v is not None and not isinstance(v, str):
            raise ValueError(f"digest {name!r}: {f} is {_kind(v)}, not a string")
    lease = d.get("lease")
    if lease is not None:
        if not isinstance(lease, dict):
            raise ValueError(f"digest {name!r}: lease is {_kind(lease)}, not an object")
        lease = Lease(**lease)
        if not (isinstance(lease.slot, str) and isinstance(lease.token, str) and isinstance(lease.pid, int) and isinstance(lease.until, str)):
            raise ValueError(f"digest {name!r}: lease has a field of the wrong type")
        if datetime.fromisoformat(lease.until).tzinfo is None:
            raise ValueError(f"digest {name!r}: lease.until {lease.until!r} has no UTC offset")
    elif isinstance(d.get("pending"), str):  # written before leases: the claimant is unknown, so the claim has expired
        lease = Lease(slot=d["pending"], token="", host="", pid=0, until=_EPOCH)
    return DigestRecord(slots=tuple(slots), alerts={str(k): AlertMemo(**v) for k, v in alerts.items()}, lease=lease, **known)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash at any point leaves either the old or the new file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class Claim:
    """What :meth:`StateStore.claim` found.

    ``status``: ``claimed`` (``lease`` is ours; ``record`` is the digest's record as read
    under the lock), ``handled`` (the slot was already handled), ``busy`` (a live sender
    holds this very slot: ``lease`` is theirs) or ``wait`` (a live sender holds another
    slot of this digest: ``lease`` is theirs). ``took_over`` is a stale lease ours replaced.
    """

    status: str
    record: DigestRecord
    lease: Lease | None = None
    took_over: Lease | None = None


_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EINVAL}


class StateStore:
    """The state file at ``path``: :meth:`load` to read, :meth:`update` to change it under a lock, and slot claims."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> State:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return State()
        except OSError as e:
            raise StateError(f"{self.path}: cannot be read ({e.strerror}); check its permissions") from None
        return State.from_json(text, where=str(self.path))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_name(self.path.name + ".lock"), "a+b")  # noqa: SIM115 - closed below
        except OSError as e:
            raise StateError(f"{self.path}: its folder is not writable ({e.strerror}); set email.state_path to a writable place") from None
        try:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            except OSError as e:
                if e.errno in _NO_LOCKS:
                    raise StateError(
                        f"{self.path}: its file system cannot lock files ({e.strerror}), so two senders could send a digest twice; "
                        "put email.state_path on a local disk or a shared volume with working locks (e.g. NFSv4)"
                    ) from None
                raise StateError(f"{self.path}: cannot be locked ({e.strerror}); check the file system of email.state_path") from None
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        finally:
            lock.close()

    def check_lock(self) -> None:
        """Take and drop the lock once: a :class:`StateError` now rather than at the first send."""
        with self._locked():
            pass

    def _write(self, state: State) -> None:
        try:
            atomic_write(self.path, state.to_json().encode("utf-8"))
        except OSError as e:
            raise StateError(f"{self.path}: cannot be written ({e.strerror}); check the disk and permissions") from None

    def update(self, name: str, change: Callable[[DigestRecord], DigestRecord]) -> DigestRecord:
        """Apply ``change`` to digest ``name``'s record and write the file atomically; returns the new record."""
        with self._locked():
            state = self.load()
            new = change(state.record(name))
            self._write(state.with_record(name, new))
            return new

    def claim(self, name: str, slot: str, *, lease_s: float, force: bool = False, now: datetime | None = None) -> Claim:
        """Claim ``slot`` of digest ``name`` for ``lease_s`` seconds, unless it was handled (and not ``force``) or a live sender holds the digest."""
        now = now or datetime.now(UTC)
        with self._locked():
            state = self.load()
            record = state.record(name)
            if record.handled(slot) and not force:
                return Claim("handled", record)
            held = record.lease
            if held is not None and held.live(now):
                return Claim("busy" if held.slot == slot else "wait", record, held)
            mine = Lease(
                slot=slot,
                token=secrets.token_hex(8),
                host=socket.gethostname(),
                pid=os.getpid(),
                until=(now + timedelta(seconds=lease_s)).isoformat(),
                process=process_key(os.getpid()),
            )
            self._write(state.with_record(name, replace(record, lease=mine)))
            return Claim("claimed", record, mine, took_over=held)

    def renew(self, name: str, lease: Lease, *, lease_s: float, now: datetime | None = None) -> Lease | None:
        """Extend our ``lease`` to ``lease_s`` seconds from now; None when it is no longer ours (taken over after it expired)."""
        now = now or datetime.now(UTC)
        with self._locked():
            state = self.load()
            record = state.record(name)
            if record.lease is None or record.lease.token != lease.token:
                return None
            longer = replace(lease, until=(now + timedelta(seconds=lease_s)).isoformat())
            self._write(state.with_record(name, replace(record, lease=longer)))
            return longer

    def finish(self, name: str, lease: Lease, change: Callable[[DigestRecord], DigestRecord]) -> bool:
        """Apply ``change`` and drop our ``lease`` in one write; False when the lease was no longer ours (``change`` is applied anyway)."""
        ours = []

        def apply(r: DigestRecord) -> DigestRecord:
            ours.append(r.lease is not None and r.lease.token == lease.token)
            return change(r.released(lease.token))

        self.update(name, apply)
        return ours[0]

    def release(self, name: str, lease: Lease) -> None:
        """Drop our ``lease`` without recording anything (the digest was not sent)."""
        self.update(name, lambda r: r.released(lease.token))
