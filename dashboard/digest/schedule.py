"""The long-running scheduler: each digest on its cron expression, in its time zone.

Cron expressions are read with ``croniter`` over time-zone-aware datetimes
(:mod:`zoneinfo`), so ``0 8 * * 1-5`` in ``Europe/Berlin`` is 08:00 Berlin time in
summer and in winter. On the night clocks go forward, a time that does not exist runs at
the first minute after the gap; on the night they go back, the repeated hour's slots
have the same local name (:func:`~dashboard.digest.pipeline.slot_key`), so they go out once.

Slots and restarts: the state remembers every slot handled. When the scheduler starts,
a digest's latest slot that is due but not handled, and at most ``email.catch_up_s``
old, is sent at once (the scheduler was down at 08:00 and back at 08:05); older missed
slots are logged and skipped. A slot already handled is never sent again.

Time is injected: ``clock`` returns the current aware datetime and ``sleep`` waits a
number of seconds, so tests drive a week of schedule in milliseconds. Sleeps are at most
``max_sleep_s`` long, so a changed wall clock or a stop request is noticed soon.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from aws.errors import AwsError
from dashboard.config.settings import DigestSettings
from dashboard.digest.errors import DigestError
from dashboard.digest.pipeline import Outcome, slot_key
from dashboard.digest.state import StateStore

__all__ = ["next_fire", "previous_fire", "Scheduler", "Job", "utc_now"]

log = logging.getLogger(__name__)

Job = Callable[[DigestSettings, datetime], Outcome]


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_fire(expr: str, tz: str, *, after: datetime) -> datetime:
    """The first time strictly after ``after`` that ``expr`` fires in ``tz`` (returned in UTC)."""
    local = after.astimezone(ZoneInfo(tz))
    return croniter(expr, local).get_next(datetime).astimezone(UTC)


def previous_fire(expr: str, tz: str, *, at: datetime) -> datetime:
    """The latest time at or before ``at`` that ``expr`` fires in ``tz`` (returned in UTC)."""
    local = at.astimezone(ZoneInfo(tz)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return croniter(expr, local).get_prev(datetime).astimezone(UTC)


@dataclass
class _Plan:
    digest: DigestSettings
    due: datetime  # UTC


class Scheduler:
    """Runs ``job(digest, slot_time)`` for each digest at each of its cron times.

    ``job`` sends one digest for one slot (normally :func:`dashboard.digest.pipeline.run_digest`
    with the run's settings, store and transport bound) and records it in ``store``; the
    scheduler reads ``store`` to skip slots already handled, by this process or any other.
    A job that raises :class:`DigestError` (or an AWS error) is logged and the scheduler moves on to the next
    slot; the error is also in the state (``last_error``).
    """

    def __init__(
        self,
        digests: Sequence[DigestSettings],
        *,
        store: StateStore,
        job: Job,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] | None = None,
        catch_up: timedelta = timedelta(hours=1),
        max_sleep_s: float = 60.0,
        stop: threading.Event | None = None,
    ):
        self.digests = list(digests)
        self.store = store
        self.job = job
        self.clock = clock
        self.stop = stop or threading.Event()
        self.sleep = sleep or (lambda s: self.stop.wait(s))
        self.catch_up = catch_up
        self.max_sleep_s = max_sleep_s
        self.outcomes: list[Outcome] = []
        self.failures: list[tuple[str, str, str]] = []  # (digest, slot, error)

    def _handled(self, d: DigestSettings, when: datetime) -> bool:
        return self.store.load().record(d.name).handled(slot_key(when, d.timezone))

    def _initial(self, d: DigestSettings, now: datetime, *, quiet: bool = False) -> datetime:
        last = previous_fire(d.schedule, d.timezone, at=now)
        if not self._handled(d, last):
            if now - last <= self.catch_up:
                if not quiet:
                    log.info("digest %s: slot %s was missed while the scheduler was down; sending it now", d.name, slot_key(last, d.timezone))
                return last
            if not quiet:
                log.warning("digest %s: slot %s is older than email.catch_up_s and is skipped", d.name, slot_key(last, d.timezone))
        return next_fire(d.schedule, d.timezone, after=now)

    def plan(self) -> list[tuple[str, datetime]]:
        """Each digest's next due time (UTC), as the scheduler would start with now."""
        now = self.clock()
        return [(d.name, self._initial(d, now, quiet=True)) for d in self.digests]

    def run(self, *, until: datetime | None = None, max_runs: int | None = None) -> list[Outcome]:
        """Run until ``stop`` is set, the clock passes ``until``, or ``max_runs`` jobs ran; returns the outcomes."""
        now = self.clock()
        plans = [_Plan(d, self._initial(d, now)) for d in self.digests]
        for p in plans:
            log.info("digest %s (%s, %s): next at %s", p.digest.name, p.digest.schedule, p.digest.timezone, slot_key(p.due, p.digest.timezone))
        runs = 0
        while plans and not self.stop.is_set():
            now = self.clock()
            if until is not None and now >= until:
                break
            due = sorted((p for p in plans if p.due <= now), key=lambda p: (p.due, p.digest.name))
            if not due:
                wake = min(p.due for p in plans)
                if until is not None:
                    wake = min(wake, until)
                self.sleep(max(0.0, min(self.max_sleep_s, (wake - now).total_seconds())))
                continue
            for p in due:
                slot_at = p.due
                if self._handled(p.digest, slot_at):
                    log.info("digest %s: slot %s already handled", p.digest.name, slot_key(slot_at, p.digest.timezone))
                else:
                    self._run_one(p.digest, slot_at)
                    runs += 1
                p.due = next_fire(p.digest.schedule, p.digest.timezone, after=max(slot_at, now))
                if max_runs is not None and runs >= max_runs:
                    return self.outcomes
        return self.outcomes

    def _run_one(self, d: DigestSettings, slot_at: datetime) -> None:
        slot = slot_key(slot_at, d.timezone)
        try:
            out = self.job(d, slot_at)
        except (DigestError, AwsError) as e:
            log.error("digest %s: slot %s failed: %s", d.name, slot, e)
            self.failures.append((d.name, slot, str(e)))
            return
        self.outcomes.append(out)
