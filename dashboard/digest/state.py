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
A file that is not valid state is an error, never silently replaced: starting afresh
would report every firing alert as new again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from dashboard.digest.errors import StateError

__all__ = ["AlertMemo", "DigestRecord", "State", "StateStore", "atomic_write", "KEEP_SLOTS"]

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
class DigestRecord:
    """One digest's memory."""

    slots: tuple[str, ...] = ()  # slot keys handled (sent or skipped as unchanged), oldest first
    last_slot_at: str | None = None  # ISO UTC instant of the newest handled slot
    sent_at: str | None = None  # ISO UTC of the last message handed to the transport
    message_id: str | None = None
    alerts: dict[str, AlertMemo] = field(default_factory=dict)  # key → memo, as of the last send
    budget_status: str | None = None
    pending: str | None = None  # a slot being sent; set before the send, cleared after
    last_error: str | None = None

    def handled(self, slot: str) -> bool:
        return slot in self.slots

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
            return cls({str(n): _record_from(r) for n, r in raw["digests"].items()})
        except (TypeError, KeyError, ValueError) as e:
            raise StateError(f"{where}: a digest record is malformed ({e}); move the file aside to start afresh") from None


def _record_json(r: DigestRecord) -> dict[str, Any]:
    d = asdict(r)
    d["slots"] = list(r.slots)
    d["alerts"] = {k: asdict(v) for k, v in sorted(r.alerts.items())}
    return d


def _record_from(d: dict[str, Any]) -> DigestRecord:
    alerts = {str(k): AlertMemo(**v) for k, v in (d.get("alerts") or {}).items()}
    known = {f: d[f] for f in ("last_slot_at", "sent_at", "message_id", "budget_status", "pending", "last_error") if f in d}
    return DigestRecord(slots=tuple(str(s) for s in d.get("slots") or ()), alerts=alerts, **known)


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


class StateStore:
    """The state file at ``path``: :meth:`load` to read, :meth:`update` to change it under a lock."""

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
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
            lock.close()

    def update(self, name: str, change: Callable[[DigestRecord], DigestRecord]) -> DigestRecord:
        """Apply ``change`` to digest ``name``'s record and write the file atomically; returns the new record."""
        with self._locked():
            state = self.load()
            new = change(state.record(name))
            try:
                atomic_write(self.path, state.with_record(name, new).to_json().encode("utf-8"))
            except OSError as e:
                raise StateError(f"{self.path}: cannot be written ({e.strerror}); check the disk and permissions") from None
            return new
