"""Time ranges: presets (1h … 30d) and explicit START..END, always tz-aware UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.config.ranges import MAX_AGE, PRESETS

__all__ = ["PRESETS", "TimeRange", "parse_range", "RangeError"]



class RangeError(ValueError):
    """A range that cannot be read or is out of bounds; ``str()`` says which and how to fix it."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    label: str = ""

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def minutes(self) -> tuple[int, int]:
        """Start and end as whole minutes since the epoch: a memo key that ignores the seconds of "now"."""
        return int(self.start.timestamp()) // 60, int(self.end.timestamp()) // 60

    def previous(self) -> TimeRange:
        """The period of the same length just before this one (for "change vs previous")."""
        return TimeRange(self.start - self.duration, self.start, f"previous {self.label}".strip())


def _parse_instant(text: str) -> datetime:
    t = text.strip()
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise RangeError(f"{text!r} is not a date or time (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T08:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_range(text: str, *, now: datetime | None = None) -> TimeRange:
    """``24h`` / ``7d`` / ... or ``START..END`` (ISO 8601, UTC unless an offset is given)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    text = (text or "").strip()
    if text in PRESETS:
        return TimeRange(now - PRESETS[text], now, text)
    m = re.fullmatch(r"(\d+)([hd])", text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = timedelta(hours=n) if unit == "h" else timedelta(days=n)
        if n == 0 or delta > MAX_AGE:
            raise RangeError(f"{text!r} is out of bounds; use 1h to {MAX_AGE.days}d")
        return TimeRange(now - delta, now, text)
    if ".." in text:
        a, b = text.split("..", 1)
        start, end = _parse_instant(a), _parse_instant(b)
        if end > now:
            end = now
        if end <= start:
            raise RangeError(f"{text!r} ends before it starts; put the earlier time first")
        if now - start > MAX_AGE:
            raise RangeError(f"{text!r} starts more than {MAX_AGE.days} days ago, beyond CloudWatch's retention")
        return TimeRange(start, end, text)
    raise RangeError(f"{text!r} is not a range; use one of {', '.join(PRESETS)} or START..END")
