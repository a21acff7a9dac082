"""Time ranges: presets (1h … 30d) and explicit START..END, always tz-aware UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dashboard.config.echo import echo
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
        raise RangeError(f"{echo(text)} is not a date or time (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T08:00Z)") from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # year 1 at +01:00, year 9999 at -01:00: before the first or after the last UTC datetime
        return datetime.min.replace(tzinfo=UTC) if dt.year == 1 else datetime.max.replace(tzinfo=UTC)


_MAX_UNITS = {"h": MAX_AGE // timedelta(hours=1), "d": MAX_AGE.days}


def parse_range(text: str, *, now: datetime | None = None) -> TimeRange:
    """``24h`` / ``7d`` / ... or ``START..END`` (ISO 8601, UTC unless an offset is given).

    Everything is bounded before any arithmetic: the digits of ``Nh`` / ``Nd`` (a 5,000-digit number is out of
    bounds, not a ValueError), the instants (year 1 or 9999 with an offset is before or after any range, not an
    OverflowError). A refused range raises :class:`RangeError`, one sentence quoting at most 60 characters of it.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    text = (text or "").strip()
    if text in PRESETS:
        return TimeRange(now - PRESETS[text], now, text)
    m = re.fullmatch(r"(\d+)([hd])", text)
    if m:
        digits, unit = m.group(1).lstrip("0") or "0", m.group(2)
        n = int(digits) if len(digits) <= 6 else None  # more digits than any bound has: out of bounds unread
        if n is None or n == 0 or n > _MAX_UNITS[unit]:
            raise RangeError(f"{echo(text)} is out of bounds; use 1h to {MAX_AGE.days}d")
        return TimeRange(now - (timedelta(hours=n) if unit == "h" else timedelta(days=n)), now, text)
    if ".." in text:
        a, b = text.split("..", 1)
        start, end = _parse_instant(a), _parse_instant(b)
        if end <= start:
            raise RangeError(f"{echo(text)} ends before it starts; put the earlier time first")
        if start >= now:
            raise RangeError(f"{echo(text)} is in the future (now is {now:%Y-%m-%d %H:%M} UTC); give a range that starts before now")
        if now - start > MAX_AGE:
            raise RangeError(f"{echo(text)} starts more than {MAX_AGE.days} days ago, beyond CloudWatch's retention")
        return TimeRange(start, min(end, now), text)
    raise RangeError(f"{echo(text)} is not a range; use one of {', '.join(PRESETS)} or START..END")
