"""The simulated account's "now": real UTC time unless a test sets a clock.

The model is relative to now (62 days of history ending now: always the whole previous month, so
"last month" figures are complete, as on a real account); incidents are placed
relative to now floored to the hour (the *anchor*), so every answer is identical for
any "now" within the same hour.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["set_clock", "now", "anchor", "HISTORY", "MINUTE"]

HISTORY = timedelta(days=62)  # nothing exists before now - 62 days (≥ the previous month's first day)
MINUTE = 60

_lock = threading.Lock()
_clock: Callable[[], datetime] | None = None


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Override "now" (tests); ``None`` restores the real UTC clock."""
    global _clock
    with _lock:
        _clock = fn


def now() -> datetime:
    """The current time, tz-aware UTC."""
    fn = _clock
    t = fn() if fn is not None else datetime.now(UTC)
    if t.tzinfo is None:
        raise ValueError("the sim clock must return a timezone-aware datetime")
    return t.astimezone(UTC)


def anchor(t: datetime | None = None) -> datetime:
    """``now`` floored to the hour: where incidents are placed from."""
    t = now() if t is None else t
    return t.replace(minute=0, second=0, microsecond=0)
