"""REPORT log lines of the simulated functions, one per invocation, from the per-minute classes.

Each invocation of a minute gets a time slot in the minute (never on its boundary, so
minute-aligned ranges count whole minutes), a request id, its class's duration (warm
lines of a class carry a ±0.01-0.05 ms jitter in cancelling pairs that never changes
the billed millisecond), Billed Duration (INIT included on cold starts), memory, and
Init Duration on cold starts (SnapStart: Restore Duration and Billed Restore Duration)
or ``Status: timeout``. Text or JSON (``platform.report``) per the function's log format.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np

from aws.sim import clock
from aws.sim.catalog import FunctionSpec
from aws.sim.noise import hash64, uniforms
from aws.sim.series import J, K

__all__ = ["events", "minute_events", "stream_name"]

_BLOCK = 180  # minutes generated at a time


def stream_name(model, spec: FunctionSpec, minute: int) -> str:
    hour = minute // 60
    h = int(hash64(model.seed, spec.index, hour, 0x5747))
    day = datetime.fromtimestamp(hour * 3600, UTC)
    return f"{day:%Y/%m/%d}/[$LATEST]{h:016x}{(h * 0x9E3779B1) & 0xFFFFFFFFFFFFFFFF:016x}"


def _uuid(h1: int, h2: int) -> str:
    x = f"{h1:016x}{h2:016x}"
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{'89ab'[int(x[16], 16) & 3]}{x[17:20]}-{x[20:32]}"


def _fmt_json_time(ms: int) -> str:
    t = datetime.fromtimestamp(ms / 1000.0, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def minute_events(model, spec: FunctionSpec, g, row: int, col: int) -> list[dict]:
    """The REPORT events of one minute (grid row/column), in time order."""
    n = int(g.n[row, col])
    if n == 0:
        return []
    minute = int(g.minutes[col])
    cnt = g.cnt[row, col]
    cold_k = g.cold_k[row, col]
    dur = g.dur_cms[row, col]
    bw = g.billed_w[row, col]
    bc = g.billed_c[row, col]
    used = g.used_mb[row, col]
    init = int(g.init_cms[row, col])
    # invocation list: class, cold flag, jitter
    cls = np.repeat(np.arange(J), cnt)
    first = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    rank = np.arange(n) - first[cls]  # position within its class
    cold = rank < cold_k[cls]
    warm_rank = rank - cold_k[cls]
    warm_n = cnt[cls] - cold_k[cls]
    frac = dur[cls] % 100
    step = np.clip(np.minimum(np.minimum(frac - 1, 100 - frac), 5), 0, None)
    sign = np.where(warm_rank % 2 == 0, 1, -1)
    paired = (~cold) & (cls < K) & ~((warm_n % 2 == 1) & (warm_rank == warm_n - 1))
    d = dur[cls] + np.where(paired, sign * step, 0)
    # shuffle classes over the minute's time slots
    hh = hash64(model.seed, spec.index, minute, np.arange(n), 0x0E7E)
    order = np.argsort(hh, kind="stable")
    u = uniforms(hash64(model.seed, spec.index, minute, np.arange(n), 0x7153))[0]
    offs = 1 + np.floor((np.arange(n) + u) * 59998.0 / n).astype(np.int64)
    ts = minute * 60000 + offs
    ids = hash64(model.seed, spec.index, minute, np.arange(n), 0x1D)
    ids2 = hash64(model.seed, spec.index, minute, np.arange(n), 0x2D)
    stream = stream_name(model, spec, minute)
    out = []
    mem = spec.memory_mb
    for slot in range(n):
        i = int(order[slot])
        k = int(cls[i])
        is_cold = bool(cold[i])
        rid = _uuid(int(ids[slot]), int(ids2[slot]))
        billed = int(bc[k] if is_cold else bw[k])
        dms = int(d[i]) / 100.0
        timeout = k == K
        if spec.log_format == "JSON":
            metrics: dict = {
                "durationMs": dms,
                "billedDurationMs": billed,
                "memorySizeMB": mem,
                "maxMemoryUsedMB": int(used[k]),
            }
            if is_cold and spec.snapstart:
                metrics["restoreDurationMs"] = init / 100.0
                metrics["billedRestoreDurationMs"] = (init + 99) // 100
            elif is_cold:
                metrics["initDurationMs"] = init / 100.0
            rec = {
                "time": _fmt_json_time(int(ts[slot])),
                "type": "platform.report",
                "record": {"requestId": rid, "metrics": metrics, "status": "timeout" if timeout else "success"},
            }
            msg = json.dumps(rec, separators=(",", ":"))
        else:
            parts = [
                f"REPORT RequestId: {rid}",
                f"Duration: {dms:.2f} ms",
                f"Billed Duration: {billed} ms",
                f"Memory Size: {mem} MB",
                f"Max Memory Used: {int(used[k])} MB",
            ]
            if is_cold and spec.snapstart:
                parts.append(f"Restore Duration: {init / 100.0:.2f} ms")
                parts.append(f"Billed Restore Duration: {(init + 99) // 100} ms")
            elif is_cold:
                parts.append(f"Init Duration: {init / 100.0:.2f} ms")
            if timeout:
                parts.append("Status: timeout")
            msg = "\t".join(parts) + "\t"
        t = int(ts[slot])
        out.append(
            {
                "logStreamName": stream,
                "timestamp": t,
                "message": msg,
                "ingestionTime": t + 300 + int(hh[slot] % 1200),
                "eventId": f"{t:020d}{spec.index:06d}{slot:06d}{int(ids[slot]) % 10**24:024d}",
            }
        )
    return out


def events(
    model,
    spec: FunctionSpec,
    *,
    start_ms: int,
    end_ms: int,
    from_minute: int | None = None,
    skip: int = 0,
    now: datetime | None = None,
) -> Iterator[dict]:
    """REPORT events with start_ms ≤ timestamp ≤ end_ms, in time order.

    ``from_minute``/``skip`` resume after a page: start at that minute, skipping its first events.
    """
    now = clock.now() if now is None else now
    lo_hist, hi_hist = model.window(now)
    m_lo = max(start_ms // 60000, lo_hist)
    if from_minute is not None:
        m_lo = max(m_lo, from_minute)
    m_hi = min(end_ms // 60000 + 1, hi_hist)
    anchor = clock.anchor(now)
    for a in range(m_lo, m_hi, _BLOCK):
        b = min(m_hi, a + _BLOCK)
        g = model.grid([spec.index], a, b, valid=(lo_hist, hi_hist), anchor=anchor)
        for col in np.flatnonzero(g.n[0] > 0):
            minute = int(g.minutes[col])
            evs = minute_events(model, spec, g, 0, int(col))
            first = skip if (from_minute is not None and minute == from_minute) else 0
            for j in range(first, len(evs)):
                e = evs[j]
                if start_ms <= e["timestamp"] <= end_ms:
                    e["_pos"] = (minute, j)
                    yield e
