"""The seeded incidents, placed relative to the anchor (now floored to the hour).

Time-bound incidents (errors, throttles, timeout, iterator_age) move with the anchor;
standing conditions (idle, cold_starts, memory_high, memory_low) cover the whole
history (clock.HISTORY). An incident belongs to the function that plays its role in the
catalog; a spec too small to hold that function has no such incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws.sim.catalog import FunctionSpec
from aws.sim.clock import HISTORY

__all__ = ["Incident", "place_incidents", "KINDS"]

KINDS = ("errors", "throttles", "timeout", "iterator_age", "idle", "cold_starts", "memory_high", "memory_low")


@dataclass(frozen=True)
class Incident:
    index: int  # function index in the catalog
    function: str
    region: str
    kind: str
    start: datetime
    end: datetime
    detail: str
    level: float = 0.0  # kind-specific strength (error rate, timeout share, demand factor, peak age ms)

    @property
    def start_min(self) -> int:
        return int(self.start.timestamp()) // 60

    @property
    def end_min(self) -> int:
        return int(self.end.timestamp()) // 60

    def as_dict(self) -> dict:
        return {
            "function": self.function,
            "region": self.region,
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "detail": self.detail,
        }


def place_incidents(specs: tuple[FunctionSpec, ...], anchor: datetime) -> tuple[Incident, ...]:
    """The incidents for this anchor, in catalog order."""
    out: list[Incident] = []
    h = timedelta(hours=1)
    standing = (anchor - HISTORY, anchor + h)
    for s in specs:
        role = s.role
        if role == "errors":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "errors",
                    anchor - timedelta(minutes=90),
                    anchor,
                    "error rate ~25 % for 90 minutes",
                    0.25,
                )
            )
        elif role == "throttles":
            start = anchor - timedelta(hours=26)
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "throttles",
                    start,
                    start + timedelta(minutes=45),
                    f"queue backlog hits reserved concurrency {s.reserved} for 45 minutes",
                    8.0,
                )
            )
        elif role == "timeout":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "timeout",
                    anchor - 6 * h,
                    anchor - 4 * h,
                    f"~40 % of invocations hit the {s.timeout_s} s timeout",
                    0.4,
                )
            )
        elif role == "iterator_age":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "iterator_age",
                    anchor - 7 * h,
                    anchor - 3 * h,
                    "iterator age climbs to ~2 h, then the consumer catches up",
                    7_200_000.0,
                )
            )
        elif role == "idle":
            out.append(Incident(s.index, s.name, s.region, "idle", *standing, "no invocations in 30 days"))
        elif role == "cold_starts":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "cold_starts",
                    *standing,
                    "cold start on ~30 % of invocations, init 2-4 s",
                    s.cold_rate,
                )
            )
        elif role == "memory_high":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "memory_high",
                    *standing,
                    f"uses ~95 % of its {s.memory_mb} MB",
                    s.mem_frac,
                )
            )
        elif role == "memory_low":
            out.append(
                Incident(
                    s.index,
                    s.name,
                    s.region,
                    "memory_low",
                    *standing,
                    f"uses ~15 % of its {s.memory_mb} MB",
                    s.mem_frac,
                )
            )
    return tuple(out)
