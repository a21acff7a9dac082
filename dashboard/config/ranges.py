"""The ranges a person can name (``24h``, ``7d``, ...) and how far back CloudWatch lets anyone look."""

from __future__ import annotations

from datetime import timedelta

__all__ = ["PRESETS", "MAX_AGE"]

PRESETS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "3h": timedelta(hours=3),
    "12h": timedelta(hours=12),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
# CloudWatch keeps Lambda metrics 15 months; our collectors ask no further back than that.
MAX_AGE = timedelta(days=455)
