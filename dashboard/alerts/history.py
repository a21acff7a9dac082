"""What the alert evaluations saw, kept across restarts: the server's alert history.

Alerting tools keep a state history (Grafana's, Prometheus' ``ALERTS`` series); so does Lambda Lens, so an alert
that cleared is known without reading more CloudWatch data. The Overview's fleet evaluation reads each rule over
its own short window (:data:`dashboard.alerts.evaluation.STATE_PERIODS`) and keeps states, not transitions: what
it saw firing a while ago and sees clear now is here.

Every evaluation :func:`dashboard.alerts.evaluation.load_alerts` computes (not a memoised rerun) is recorded once:

- its states at the evaluation's end time: an ALARM is a sighting of the alert firing (from its ``since`` to that
  time); a known state that is not ALARM (OK, or INSUFFICIENT_DATA that was evaluated) is a sighting of it clear.
  A state whose data could not be read (``unread``) says nothing: unknown is not cleared;
- its transitions when it has them (a whole-window evaluation: the Alerts page, a function's page, a digest): each
  stretch in ALARM with the exact times it entered and left.

The history holds *episodes*, one per stretch of ALARM of an (account, region, function, rule): when it started
(``since``; "at least since" unless a transition said exactly), when it was last seen firing, and when it was seen
clear (``cleared``: exact from a transition, else the first sighting of it clear, an upper bound). Nothing is kept of
alerts that never fired. A fleet evaluation's states are samples: a stretch of ALARM that began and ended between two
of them is known only if a whole-window evaluation (with transitions) covered it.

The file (``alert-history.json`` in the app's state folder, beside the digest state and the AWS spend ledger) is
bounded: episodes whose last sighting is more than :data:`KEEP` before the newest are dropped, and at most
:data:`MAX_EPISODES` are kept (the newest). :attr:`HistoryView.watching_since` says from when it is complete: the
first evaluation it recorded (moved later when episodes are dropped). Writes are atomic
(:func:`dashboard.digest.state.atomic_write`) under a process lock and an ``flock`` on a sibling ``.lock`` file
(a digest run from cron writes to it too); a file that cannot be read starts the history empty, with one sentence
(:attr:`HistoryView.note`); a file that cannot be written leaves the history in memory (logged).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from aws import cache
from aws.frames import UTC_TS, typed_frame
from dashboard.alerts import ALARM, INSUFFICIENT_DATA, OK
from dashboard.digest.state import atomic_write

if TYPE_CHECKING:
    from dashboard.config.settings import Settings

__all__ = [
    "FILE",
    "KEEP",
    "MAX_EPISODES",
    "VERSION",
    "EPISODES_SCHEMA",
    "Episode",
    "HistoryView",
    "add_alarm",
    "see_clear",
    "AlertHistory",
    "default_file",
    "file_for",
    "store_for",
]

log = logging.getLogger(__name__)

VERSION = 1
FILE = "alert-history.json"
KEEP = timedelta(days=35)  # episodes last seen within this of the newest sighting are kept
MAX_EPISODES = 5000  # and at most this many (the newest): ~1 MB of JSON

Key = tuple[str, str, str, str]  # account, region, function, rule
EPISODES_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "rule": "string",
    "severity": "string",
    "since": UTC_TS,  # when it entered ALARM (at least since then, unless since_exact)
    "since_exact": "boolean",  # a transition said when
    "last_firing": UTC_TS,  # the last time it was seen in ALARM (exact: when it left, from a transition)
    "cleared": UTC_TS,  # when it was seen clear: exact from a transition, else the first sighting (an upper bound); NaT: not yet
    "cleared_exact": "boolean",
}


@dataclass(frozen=True)
class Episode:
    """One stretch of ALARM of one alert."""

    severity: str
    since: datetime
    since_exact: bool
    last_firing: datetime
    cleared: datetime | None = None
    cleared_exact: bool = False

    @property
    def end(self) -> datetime:
        return self.cleared if self.cleared is not None else self.last_firing


def _meets(first: Episode, second: Episode) -> bool:
    """Whether ``second`` (starting no earlier than ``first``) is the same stretch of ALARM: it starts while
    ``first`` was seen firing, or before ``first`` was seen clear."""
    return second.since <= first.last_firing or (first.cleared is not None and second.since < first.cleared)


def _merge(a: Episode, b: Episode) -> Episode:
    """One episode of two sightings of the same stretch (``a`` starts first)."""
    last = max(a.last_firing, b.last_firing)
    clears = [(e.cleared, e.cleared_exact) for e in (a, b) if e.cleared is not None and e.cleared >= last]  # = : a transition's
    # an exact clear before any upper bound; of two bounds the earlier (both were seen clear then)
    cleared, exact = min(clears, key=lambda c: (not c[1], c[0])) if clears else (None, False)
    newest = a if a.last_firing >= b.last_firing else b
    since_exact = a.since_exact or (b.since == a.since and b.since_exact)
    return Episode(newest.severity, a.since, since_exact, last, cleared, exact)


def add_alarm(episodes: list[Episode], new: Episode) -> list[Episode]:
    """``episodes`` (disjoint, by start) with a sighting of ALARM merged into the stretch it belongs to (pure)."""
    out: list[Episode] = []
    for e in sorted([*episodes, new], key=lambda e: (e.since, e.last_firing)):
        if out and _meets(out[-1], e):
            out[-1] = _merge(out[-1], e)
        else:
            out.append(e)
    return out


def see_clear(episodes: list[Episode], at: datetime, since: datetime | None) -> list[Episode]:
    """``episodes`` after a sighting of the alert clear at ``at`` (in that state ``since``) (pure): the last stretch
    seen firing before ``at`` was over by then — by ``since`` when that is after it was last seen firing. A
    sighting inside a stretch seen firing before and after it is contradicted by them and changes nothing."""
    if any(e.since <= at <= e.last_firing for e in episodes):
        return episodes
    before = [i for i, e in enumerate(episodes) if e.last_firing < at]
    if not before:
        return episodes
    i = max(before, key=lambda j: episodes[j].last_firing)
    e = episodes[i]
    bound = since if since is not None and e.last_firing < since <= at else at
    if e.cleared is not None and (e.cleared_exact or e.cleared <= bound):
        return episodes
    out = list(episodes)
    out[i] = replace(e, cleared=bound, cleared_exact=False)
    return out


@dataclass(frozen=True)
class HistoryView:
    """What the history holds at one moment (read-only)."""

    episodes: pd.DataFrame  # EPISODES_SCHEMA
    watching_since: datetime | None  # complete from then on (the first evaluation recorded); None: nothing recorded yet
    note: str | None = None  # why it started empty (its file could not be read), else None
    version: int = 0  # changes with every recorded evaluation (a key for what is computed from it)

    def covers(self, start: datetime) -> bool:
        """Whether the history is complete from ``start`` on."""
        return self.watching_since is not None and pd.Timestamp(self.watching_since) <= pd.Timestamp(start)


def _ts(v) -> datetime | None:
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    t = pd.Timestamp(v)
    if pd.isna(t):
        return None
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.to_pydatetime()


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat()


def _parse(t: object, what: str) -> datetime:
    if not isinstance(t, str):
        raise ValueError(f"{what} is not a time")
    d = datetime.fromisoformat(t)
    if d.tzinfo is None:
        raise ValueError(f"{what} {t!r} has no UTC offset")
    return d.astimezone(UTC)


class AlertHistory:
    """The history in ``path``: :meth:`record` what an evaluation saw, :meth:`view` what is known."""

    def __init__(self, path: Path | str, *, write: Callable[[Path, bytes], None] = atomic_write) -> None:
        self.path = Path(path)
        self._write = write
        self._lock = threading.Lock()
        self._episodes: dict[Key, list[Episode]] = {}
        self._watching: datetime | None = None
        self._note: str | None = None
        self._seen: tuple | None = None  # the file's (inode, size, mtime) when last read or written; None: not read yet
        self._version = 0
        self._view: HistoryView | None = None
        self._warned: set[str] = set()  # what was logged already (a read-only folder is said once, not per evaluation)

    def _warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            log.warning("%s", message)

    # --- the file ----------------------------------------------------------------------------------------
    def _signature(self) -> tuple | None:
        try:
            s = os.stat(self.path)
        except OSError:
            return ()
        return (s.st_ino, s.st_size, s.st_mtime_ns)

    def _load(self) -> None:
        """Read the file when another process (or nobody yet) wrote it since we last did."""
        sig = self._signature()
        if self._seen is not None and sig == self._seen:
            return
        self._seen = sig
        self._episodes, self._watching = {}, None
        self._version += 1
        self._view = None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as e:
            return self._unreadable(e.strerror or type(e).__name__)
        try:
            data = json.loads(text)
        except ValueError:
            return self._unreadable("not valid JSON")
        try:
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError(f"not an alert history of version {VERSION}")
            watching = data.get("watching_since")
            self._watching = None if watching is None else _parse(watching, "watching_since")
            for row in data.get("episodes") or []:
                key = (str(row["account"]), str(row["region"]), str(row["function"]), str(row["rule"]))
                cleared = row.get("cleared")
                e = Episode(
                    str(row.get("severity") or ""),
                    _parse(row["since"], "since"),
                    bool(row.get("since_exact")),
                    _parse(row["last_firing"], "last_firing"),
                    None if cleared is None else _parse(cleared, "cleared"),
                    bool(row.get("cleared_exact")),
                )
                self._episodes[key] = add_alarm(self._episodes.get(key, []), e)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            self._episodes, self._watching = {}, None
            return self._unreadable(str(e) if isinstance(e, ValueError) else f"an episode is malformed ({type(e).__name__}: {e})")

    def _unreadable(self, why: str) -> None:
        self._note = (
            f"The alert history in {self.path} could not be read ({why}), so it starts again from this evaluation: "
            "alerts cleared before then are on Alerts."
        )
        log.warning("%s", self._note)

    def _dump(self, updated: datetime) -> bytes:
        rows = []
        for (a, r, f, rule), eps in sorted(self._episodes.items()):
            for e in eps:
                rows.append(
                    {
                        "account": a,
                        "region": r,
                        "function": f,
                        "rule": rule,
                        "severity": e.severity,
                        "since": _iso(e.since),
                        "since_exact": e.since_exact,
                        "last_firing": _iso(e.last_firing),
                        "cleared": _iso(e.cleared),
                        "cleared_exact": e.cleared_exact,
                    }
                )
        body = {"version": VERSION, "watching_since": _iso(self._watching), "updated": _iso(updated), "episodes": rows}
        return (json.dumps(body, indent=0, ensure_ascii=False) + "\n").encode("utf-8")

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """An exclusive ``flock`` on ``<file>.lock`` (other processes: a digest from cron); without one, in-process only."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_name(self.path.name + ".lock"), "a+b")  # noqa: SIM115 - closed below
        except OSError as e:
            self._warn(f"the alert history's lock {self.path}.lock cannot be opened ({e.strerror}): other processes may overwrite it")
            yield
            return
        try:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            except OSError as e:
                self._warn(f"the alert history {self.path} cannot be locked ({e.strerror}): other processes may overwrite it")
                yield
                return
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        finally:
            lock.close()

    # --- recording -----------------------------------------------------------------------------------------
    def record(self, states: pd.DataFrame, transitions: pd.DataFrame | None, *, at: datetime) -> None:
        """What one evaluation ending at ``at`` saw: its states (:data:`dashboard.alerts.STATES_SCHEMA`) and, for a
        whole-window evaluation, its transitions over the window (:data:`dashboard.alerts.TRANSITIONS_SCHEMA`; an
        alert's first decision out of INSUFFICIENT_DATA is the window's start, not a change). Never raises for the
        file: a write that fails is logged and the history kept in memory."""
        at = _ts(at)
        if at is None:
            return
        with self._lock, self._file_lock():
            self._load()
            changed = self._apply(states, transitions, at)
            if self._watching is None:
                self._watching, changed = at, True
            if not changed:
                return
            self._prune(at)
            self._version += 1
            self._view = None
            try:
                self._write(self.path, self._dump(at))
            except OSError as e:
                self._warn(f"the alert history could not be written to {self.path} ({e.strerror or e}): it is kept in memory only")
                return
            self._seen = self._signature()

    def _apply(self, states: pd.DataFrame, transitions: pd.DataFrame | None, at: datetime) -> bool:
        changed = False
        if transitions is not None and not transitions.empty:
            changed |= self._apply_transitions(transitions)
        if states is None or states.empty:
            return changed
        cols = [states[c].to_numpy(dtype=object) for c in ("account", "region", "function", "rule", "severity", "state", "since")]
        unread = states["unread"].to_numpy(dtype=object) if "unread" in states.columns else [False] * len(states)
        for a, r, f, rule, sev, state, since, no_data in zip(*cols, unread, strict=True):
            if no_data is True:
                continue  # its data could not be read: nothing is known of it
            key = (str(a), str(r), str(f), str(rule))
            if state == ALARM:
                start = _ts(since) or at
                changed |= self._add(key, Episode(str(sev), min(start, at), False, at))  # the same sighting again: no change
            elif key in self._episodes and state in (INSUFFICIENT_DATA, OK):
                before = self._episodes[key]
                after = see_clear(before, at, _ts(since))
                if after is not before:
                    self._episodes[key], changed = after, True
        return changed

    def _apply_transitions(self, transitions: pd.DataFrame) -> bool:
        """Each stretch in ALARM the transitions show, with the times it entered (exact unless it is the window's first
        decision) and left (exact)."""
        tr = transitions.sort_values("timestamp", kind="stable")
        opened: dict[Key, tuple[datetime, bool, str]] = {}
        first: set[Key] = set()
        changed = False
        cols = ["account", "region", "function", "rule", "severity", "timestamp", "from_state", "to_state"]
        for a, r, f, rule, sev, ts, frm, to in tr[cols].itertuples(index=False):
            key = (str(a), str(r), str(f), str(rule))
            t = _ts(ts)
            if t is None:
                continue
            initial = key not in first and frm == INSUFFICIENT_DATA
            first.add(key)
            if to == ALARM:
                opened[key] = (t, not initial, str(sev))
            elif frm == ALARM and key in opened:
                since, exact, severity = opened.pop(key)
                changed |= self._add(key, Episode(severity, since, exact, t, t, True))
        for key, (since, exact, severity) in opened.items():  # still firing at the end: the states say until when
            changed |= self._add(key, Episode(severity, since, exact, since))
        return changed

    def _add(self, key: Key, sighting: Episode) -> bool:
        before = self._episodes.get(key, [])
        after = add_alarm(before, sighting)
        if after == before:
            return False
        self._episodes[key] = after
        return True

    def _prune(self, at: datetime) -> None:
        """Forget the episodes that ended more than :data:`KEEP` before the newest sighting (``at`` or a later one
        recorded before), then all but the :data:`MAX_EPISODES` newest; from when it is complete moves to match."""
        ends = [e.end for eps in self._episodes.values() for e in eps]
        if not ends:
            return
        cut = max(at, *ends) - KEEP
        kept = {k: [e for e in eps if e.end >= cut] for k, eps in self._episodes.items()}
        kept = {k: eps for k, eps in kept.items() if eps}
        if sum(map(len, kept.values())) < len(ends):  # what ended before the cut is forgotten: complete from the cut on
            self._watching = max(self._watching or cut, cut)
        flat = sorted(((e.end, k, e) for k, eps in kept.items() for e in eps), key=lambda x: x[0])
        if len(flat) > MAX_EPISODES:
            dropped, flat = flat[: len(flat) - MAX_EPISODES], flat[len(flat) - MAX_EPISODES :]
            self._watching = max(self._watching or dropped[-1][0], dropped[-1][0])
            kept = {}
            for _, k, e in flat:
                kept.setdefault(k, []).append(e)
            kept = {k: sorted(eps, key=lambda e: e.since) for k, eps in kept.items()}
        self._episodes = kept

    # --- reading -------------------------------------------------------------------------------------------
    def view(self) -> HistoryView:
        """The episodes and from when they are complete (read again when another process wrote the file)."""
        with self._lock:
            self._load()
            if self._view is None:
                rows = [
                    {
                        "account": a,
                        "region": r,
                        "function": f,
                        "rule": rule,
                        "severity": e.severity,
                        "since": e.since,
                        "since_exact": e.since_exact,
                        "last_firing": e.last_firing,
                        "cleared": e.cleared,
                        "cleared_exact": e.cleared_exact,
                    }
                    for (a, r, f, rule), eps in self._episodes.items()
                    for e in eps
                ]
                self._view = HistoryView(typed_frame(rows, EPISODES_SCHEMA), self._watching, self._note, self._version)
            return self._view


# --- where the app keeps it ----------------------------------------------------------------------------------
def default_file(settings: Settings) -> Path:
    """``alert-history.json`` in the app's state folder: the digest state's (``email.state_path``), where the AWS
    spend ledger is kept too."""
    from dashboard.digest.pipeline import state_path  # the digest pulls in the evaluation: imported when asked

    return state_path(settings).parent / FILE


# where load_alerts keeps the history of a config (tests point it at their own folder: tests/conftest.py)
file_for: Callable[[Settings], Path] = default_file

_stores: dict[Path, AlertHistory] = {}
_stores_lock = threading.Lock()


def store_for(settings: Settings) -> AlertHistory:
    """The process's one :class:`AlertHistory` of a config's state folder (every session shares it)."""
    path = Path(file_for(settings))
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = _stores[path] = AlertHistory(path)
        return store


def _forget() -> None:
    with _stores_lock:
        _stores.clear()


cache.on_clear(_forget)  # tests start from the file, not from another test's memory
