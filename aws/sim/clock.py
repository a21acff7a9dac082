"""The simulated account's "now": real UTC time unless a test sets a clock.

A demo account may fix its own "now" (``simulation: {now: ...}`` in config.yaml, ``SimSpec.now``): the
router answers that account's calls inside :func:`fixed`, so every handler reads the account's clock.

The model is relative to now (62 days of history ending now: always the whole previous month, so
"last month" figures are complete, as on a real account); incidents are placed
relative to now floored to the hour (the *anchor*), so every answer is identical for
any "now" within the same hour.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

__all__ = ["set_clock", "fixed", "now", "anchor", "HISTORY", "MINUTE"]

HISTORY = timedelta(days=62)  # nothing exists before now - 62 days (≥ the previous month's first day)
MINUTE = 60

_lock = threading.Lock()
_clock: Callable[[], datetime] | None = None
_fixed: ContextVar[datetime | None] = ContextVar("sim_fixed_now", default=None)


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Override "now" (tests); ``None`` restores the real UTC clock."""
    global _clock
    with _lock:
        _clock = fn


@contextmanager
def fixed(t: datetime | None) -> Iterator[None]:
    """Inside the block (this thread or task), :func:`now` is ``t`` (a demo account's own clock); None changes nothing."""
    token = _fixed.set(t) if t is not None else None
    try:
        yield
    finally:
        if token is not None:
            _fixed.reset(token)


def now() -> datetime:
    """The current time, tz-aware UTC: the account's fixed clock inside :func:`fixed`, else the set clock, else real time."""
    fn = _clock
    t = _fixed.get()
    if t is None:
        t = fn() if fn is not None else datetime.now(UTC)
    if t.tzinfo is None:
        raise ValueError("the sim clock must return a timezone-aware datetime")
    return t.astimezone(UTC)


def anchor(t: datetime | None = None) -> datetime:
    """``now`` floored to the hour: where incidents are placed from."""
    t = now() if t is None else t
    return t.replace(minute=0, second=0, microsecond=0)
