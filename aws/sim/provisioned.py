"""Provisioned concurrency over time, and response streaming, in the simulated account.

A function's provisioned concurrency (PC) is a level per minute (:func:`levels`): constant
(``FunctionSpec.provisioned``), a working-hours schedule kept by Application Auto Scaling
(``pc_schedule="daily"``: ``provisioned`` from ``pc_from_h`` to ``pc_to_h`` UTC, ``pc_low`` otherwise),
or set by hand for a few hours on one day of each month and then removed (``"monthly"``).
Invocations a minute's PC can hold are served by it; the rest spill over to on-demand
(:func:`split`): with the minute's peak concurrency ``conc`` above the level, ``n × level // conc``
invocations run on PC. The metrics (ProvisionedConcurrency*), the bill and the Application Auto
Scaling and Lambda answers all read these two functions, so they agree.

Response streaming (:func:`streamed`): every invocation writes ``stream_bytes``; every
``stream_big_every``-th invocation of a minute writes ``stream_big_bytes`` instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

__all__ = ["levels", "has_pc", "beyond_six_mb", "split", "streamed", "level_at", "changes", "SIX_MB"]

SIX_MB = 6 * 1024 * 1024  # streamed free per request


def _day_of_month(minutes: np.ndarray) -> np.ndarray:
    d = (np.asarray(minutes, dtype=np.int64) // 1440).astype("datetime64[D]")
    return (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1


def levels(p, minutes: np.ndarray) -> np.ndarray:
    """(F, M) provisioned concurrency of the functions of ``p`` (a ``series.Params``) at absolute ``minutes``."""
    t = np.asarray(minutes, dtype=np.int64)
    F = len(p.index)
    out = np.broadcast_to(p.pc[:, None], (F, len(t))).copy()
    kinds = getattr(p, "pc_kind", None)
    if kinds is None or not kinds.any():
        return out
    mod = t % 1440
    inside = (mod[None, :] >= p.pc_from[:, None]) & (mod[None, :] < p.pc_to[:, None])
    daily = kinds == 1
    if daily.any():
        out[daily] = np.where(inside[daily], p.pc[daily, None], p.pc_low[daily, None])
    monthly = kinds == 2
    if monthly.any():
        dom = _day_of_month(t)
        on = inside[monthly] & (dom[None, :] == p.pc_day[monthly, None])
        out[monthly] = np.where(on, p.pc[monthly, None], 0)
    return out


def has_pc(p) -> np.ndarray:
    """(F,) whether a function of ``p`` has provisioned concurrency at any time (elsewhere :func:`levels` is 0)."""
    return (p.pc > 0) | (p.pc_low > 0)


def beyond_six_mb(p) -> np.ndarray:
    """(F,) whether a function of ``p`` writes responses over 6 MB (elsewhere :func:`streamed`'s second part is 0)."""
    every = getattr(p, "stream_every", None)
    if every is None:
        return np.zeros(len(p.index), dtype=bool)
    return (p.stream_bytes > SIX_MB) | ((every > 0) & (p.stream_big > SIX_MB))


def split(g) -> tuple[np.ndarray, np.ndarray]:
    """(F, M) invocations served by provisioned concurrency and spilled over to on demand, of a grid."""
    lv = levels(g.params, g.minutes)
    conc = np.maximum(g.conc, 1)
    on_pc = np.where(conc <= lv, g.n, g.n * lv // conc)
    on_pc = np.where(lv > 0, on_pc, 0)
    return on_pc, g.n - on_pc


def streamed(g) -> tuple[np.ndarray, np.ndarray]:
    """(F, M) bytes written to response streams, and bytes beyond the first 6 MB of each response."""
    p = g.params
    every = getattr(p, "stream_every", None)
    if every is None:
        z = np.zeros_like(g.n, dtype=np.float64)
        return z, z
    big = np.where(every[:, None] > 0, g.n // np.maximum(every, 1)[:, None], 0)
    small = g.n - big
    total = small * p.stream_bytes[:, None].astype(np.float64) + big * p.stream_big[:, None].astype(np.float64)
    beyond = big * np.clip(p.stream_big - SIX_MB, 0, None)[:, None].astype(np.float64)
    beyond = beyond + small * np.clip(p.stream_bytes - SIX_MB, 0, None)[:, None].astype(np.float64)
    return total, beyond


def level_at(spec, t: datetime) -> int:
    """The provisioned concurrency of one function at ``t``."""
    m = int(t.timestamp() // 60)
    mod = m % 1440
    if not spec.provisioned:
        return 0
    if spec.pc_schedule == "":
        return int(spec.provisioned)
    inside = spec.pc_from_h * 60 <= mod < spec.pc_to_h * 60
    if spec.pc_schedule == "daily":
        return int(spec.provisioned if inside else spec.pc_low)
    day = t.astimezone(UTC).day
    return int(spec.provisioned) if inside and day == spec.pc_day else 0


def changes(spec, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """Every change of a scheduled function's level in [start, end): (time, new level), in order."""
    if spec.pc_schedule != "daily":
        return []
    out = []
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        for h, level in ((spec.pc_from_h, spec.provisioned), (spec.pc_to_h, spec.pc_low)):
            t = day + timedelta(hours=h)
            if start <= t < end:
                out.append((t, int(level)))
        day += timedelta(days=1)
    return out
