"""The dashboard's own AWS spend this month, kept across restarts: a small JSON file per app.

:class:`aws.refresh.Refresher` plans the month's refreshes from what was spent so far; counted only
in memory, a restart forgot it and the projection started again at $0. The file holds one month:

    {"version": 1, "month": "2026-12", "spent_usd": 1.2345, "updated": "2026-12-03T17:20:00+00:00", "note": null}

- a file of another month (or none) starts the month at $0: the spend is counted per UTC month;
- a file that cannot be read or is not this format starts at $0 *marked as such*: :attr:`Spend.note`
  is one sentence naming the file and the cause, kept in the file with the new count, so the page
  says the figure is partial until the month ends;
- writes replace the file atomically (``write``: :func:`dashboard.digest.state.atomic_write`, the
  digest state's own), so a crash leaves the old or the new file whole.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Spend", "SpendLedger", "VERSION"]

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class Spend:
    month: str  # YYYY-MM (UTC)
    spent_usd: float
    note: str | None = None  # why the figure is partial (the record could not be read), else None


class SpendLedger:
    """The month's spend in ``path`` (read once at start, written as it grows)."""

    def __init__(self, path: Path | str, *, write: Callable[[Path, bytes], None]) -> None:
        self.path = Path(path)
        self._write = write

    def load(self, month: str) -> Spend:
        """The spend of ``month`` recorded so far: $0 for a new month or no file; $0 and a note for a bad file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Spend(month, 0.0)
        except OSError as e:
            return self._unreadable(month, e.strerror or type(e).__name__)
        try:
            data = json.loads(text)
        except ValueError:
            return self._unreadable(month, "not valid JSON")
        try:
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise ValueError("not a spend record of this version")
            spent = data["spent_usd"]
            if isinstance(spent, bool) or not isinstance(spent, int | float) or not math.isfinite(spent) or spent < 0:
                raise ValueError("spent_usd is not an amount ≥ 0")
            recorded, note = str(data["month"]), data.get("note")
        except ValueError as e:
            return self._unreadable(month, str(e))
        except (KeyError, TypeError):
            return self._unreadable(month, "not a spend record: month or spent_usd is missing")
        if recorded != month:
            return Spend(month, 0.0)
        return Spend(month, float(spent), note if isinstance(note, str) else None)

    def _unreadable(self, month: str, why: str) -> Spend:
        note = (
            f"The dashboard's AWS spend recorded in {self.path} could not be read ({why}), so {month}'s is counted "
            "from $0 since the dashboard started: the figure is lower than the month's spend."
        )
        log.warning("%s", note)
        return Spend(month, 0.0, note)

    def save(self, spend: Spend, *, now: datetime | None = None) -> None:
        """Write ``spend`` (atomically); a failure is logged, never raised (the refresh goes on, counted in memory)."""
        data = {
            "version": VERSION,
            "month": spend.month,
            "spent_usd": round(spend.spent_usd, 6),
            "updated": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "note": spend.note,
        }
        try:
            self._write(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        except OSError as e:
            log.warning("the dashboard's AWS spend could not be written to %s: %s", self.path, e)
