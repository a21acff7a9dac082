"""Per-minute activity of a set of functions: the one source every answer is built from.

A :class:`Grid` holds, for F functions × M absolute minutes, the invocations, errors,
throttles, timeouts and cold starts, and each minute's execution times as J = 9
duration classes (counts and values): eight quantile classes of the function's
distribution (levels 0-20-40-60-80-90-95-99-100 %) and one class for invocations that
hit the timeout. A minute's invocations are spread over the classes by stratified
sampling, so counts are integers that add up exactly. Every REPORT line, CloudWatch
statistic, Logs Insights row and billed GB-second is derived from these classes, which
keeps them consistent: Invocations equal REPORT lines, Billed Duration sums match to
the millisecond, and CloudWatch's percentiles are those of the same discrete
distribution the REPORT lines' durations come from (lines carry a ±0.01-0.05 ms
jitter that cancels in pairs and never changes the billed millisecond).

Durations are integers in 1/100 ms ("cms"), so ceil() for Billed Duration is exact.
Build grids for chunks of functions (:func:`chunks`): small arrays avoid the page
faults of huge temporaries and keep a 1,000-function refresh fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from aws.concurrency import run_concurrently
from aws.sim.catalog import TZ_OFFSET_H, FunctionSpec
from aws.sim.incidents import Incident
from aws.sim.noise import hash64, uniforms

__all__ = ["Grid", "Params", "LEVELS", "Z", "K", "J", "build_grid", "chunks", "CONC_BURST", "WORKERS", "each_chunk"]

LEVELS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0])
# standard normal quantiles at each class's mid level (0.1, 0.3, ..., 0.995)
Z = np.array([-1.2816, -0.5244, 0.0, 0.5244, 1.0364, 1.4395, 1.8808, 2.5758])
K = len(Z)  # quantile classes
J = K + 1  # + the timeout class
CONC_BURST = 1.6  # peak concurrency within a minute vs. its average
# threads generating the chunks of answers at once, process-wide: numpy releases the GIL in its loops, so a fleet's
# minutes take the machine's cores rather than one (aws.sim.daily, aws.sim.recent; :func:`each_chunk`)
WORKERS = max(1, min(4, os.cpu_count() or 1))
_SPARE = threading.Semaphore(WORKERS - 1)  # threads beyond the asking ones, shared by every answer

_PATTERNS = {"business": 0, "diurnal": 1, "steady": 2, "nightly": 3, "hourly": 4, "idle": 5}


@dataclass(frozen=True)
class Params:
    """The catalog as numpy arrays (one entry per function), for vectorised generation."""

    index: np.ndarray
    rate: np.ndarray
    pattern: np.ndarray
    tz_min: np.ndarray
    dmed: np.ndarray
    sigma: np.ndarray
    mem: np.ndarray
    mem_frac: np.ndarray
    err: np.ndarray
    cold: np.ndarray
    init_ms: np.ndarray
    init_spread: np.ndarray
    timeout_cms: np.ndarray
    reserved: np.ndarray  # 0 = none
    pc: np.ndarray  # 0 = none
    stream: np.ndarray
    is_async: np.ndarray
    snapstart: np.ndarray
    insights: np.ndarray
    hour_offset: np.ndarray
    # provisioned concurrency over time and response streaming (aws.sim.provisioned)
    pc_kind: np.ndarray  # 0 constant, 1 daily schedule, 2 one day a month
    pc_low: np.ndarray
    pc_from: np.ndarray  # minute of the UTC day
    pc_to: np.ndarray
    pc_day: np.ndarray
    stream_bytes: np.ndarray
    stream_big: np.ndarray
    stream_every: np.ndarray

    @classmethod
    def of(cls, specs: tuple[FunctionSpec, ...]) -> Params:
        def arr(fn, dtype):
            return np.array([fn(s) for s in specs], dtype=dtype)

        return cls(
            index=arr(lambda s: s.index, np.int64),
            rate=arr(lambda s: s.rate, np.float64),
            pattern=arr(lambda s: _PATTERNS[s.pattern], np.int64),
            tz_min=arr(lambda s: TZ_OFFSET_H.get(s.region, 0) * 60, np.int64),
            dmed=arr(lambda s: s.duration_ms, np.float64),
            sigma=arr(lambda s: s.sigma, np.float64),
            mem=arr(lambda s: s.memory_mb, np.int64),
            mem_frac=arr(lambda s: s.mem_frac, np.float64),
            err=arr(lambda s: s.err_rate, np.float64),
            cold=arr(lambda s: 0.0 if s.provisioned else s.cold_rate, np.float64),
            init_ms=arr(lambda s: s.init_ms, np.float64),
            init_spread=arr(lambda s: 0.333 if s.role == "cold_starts" else 0.25, np.float64),
            timeout_cms=arr(lambda s: s.timeout_s * 100_000, np.int64),
            reserved=arr(lambda s: s.reserved or 0, np.int64),
            pc=arr(lambda s: s.provisioned or 0, np.int64),
            stream=arr(lambda s: s.stream, bool),
            is_async=arr(lambda s: s.is_async, bool),
            snapstart=arr(lambda s: s.snapstart, bool),
            insights=arr(lambda s: s.insights, bool),
            hour_offset=arr(lambda s: s.hour_offset, np.int64),
            pc_kind=arr(lambda s: {"": 0, "daily": 1, "monthly": 2}[s.pc_schedule], np.int64),
            pc_low=arr(lambda s: s.pc_low, np.int64),
            pc_from=arr(lambda s: s.pc_from_h * 60, np.int64),
            pc_to=arr(lambda s: s.pc_to_h * 60, np.int64),
            pc_day=arr(lambda s: s.pc_day, np.int64),
            stream_bytes=arr(lambda s: s.stream_bytes, np.int64),
            stream_big=arr(lambda s: s.stream_big_bytes, np.int64),
            stream_every=arr(lambda s: s.stream_big_every, np.int64),
        )

    def take(self, idx) -> Params:
        return Params(**{k: getattr(self, k)[idx] for k in self.__dataclass_fields__})


class cached_property:  # noqa: N801 - a drop-in for functools.cached_property
    """``functools.cached_property`` without its lock: in Python 3.11 that lock is one per property for every
    instance together, so threads answering different requests waited on each other's grids. Two threads
    computing the same property of the same grid compute the same value (the grid is deterministic)."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.name] = value
        return value


def mean_factor(sigma: np.ndarray) -> np.ndarray:
    """Mean of the discrete class distribution relative to the median, per function."""
    w = np.diff(LEVELS)
    return (w[None, :] * np.exp(np.asarray(sigma)[:, None] * Z[None, :])).sum(axis=1) / w.sum()


class Grid:
    """Activity of F functions over minutes [m0, m0 + M).

    Per-minute arrays are (F, M); the duration-class arrays (F, M, J) are computed on
    first use only (most answers need only some of them).
    """

    fidx: np.ndarray  # (F,) catalog indices
    m0: int
    minutes: np.ndarray  # (M,) absolute minutes since the epoch
    n: np.ndarray  # invocations (throttled requests not included)
    errors: np.ndarray  # incl. timeouts
    throttles: np.ndarray
    timeouts: np.ndarray
    cold: np.ndarray  # cold starts (SnapStart: restores)
    init_cms: np.ndarray  # init (or restore) duration of this minute's cold starts, 1/100 ms
    conc: np.ndarray  # peak concurrent executions
    iterator_age: np.ndarray  # ms (stream consumers)
    async_age: np.ndarray  # ms (async triggers)
    mu: np.ndarray  # median execution ms of the minute
    strat: np.ndarray  # stratification offset of the minute
    mem_level: np.ndarray  # memory level of the minute (MB)
    mem_u: np.ndarray  # the uniform the memory level is drawn from (aws.sim.recent keeps it, not the level)
    params: Params

    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)

    @property
    def shape(self) -> tuple[int, int]:
        return self.n.shape

    def row(self, fidx: int) -> int:
        """Row of catalog function ``fidx`` in this grid."""
        pos = np.flatnonzero(self.fidx == fidx)
        if len(pos) == 0:
            raise KeyError(fidx)
        return int(pos[0])

    @cached_property
    def dur_cms(self) -> np.ndarray:
        """(F, M, J) duration of each class, 1/100 ms (the last class: the timeout)."""
        p = self.params
        F, M = self.n.shape
        spread = (np.exp(p.sigma[:, None] * Z[None, :]) * 100.0).astype(np.float32)  # (F, K)
        dur = np.empty((F, M, J), dtype=np.int64)
        cls = np.rint(self.mu.astype(np.float32)[:, :, None] * spread[:, None, :])
        np.minimum(cls, (p.timeout_cms - 100).astype(np.float32)[:, None, None], out=cls)
        np.maximum(cls, 1.0, out=cls)
        dur[:, :, :K] = cls
        dur[:, :, K] = p.timeout_cms[:, None]
        return dur

    @cached_property
    def _cum(self) -> np.ndarray:
        nn = (self.n - self.timeouts).astype(np.float32)
        levels = LEVELS.astype(np.float32)
        tmp = np.multiply(levels[None, None, :], nn[:, :, None])  # float32, in place from here on
        np.subtract(tmp, self.strat.astype(np.float32)[:, :, None], out=tmp)
        np.ceil(tmp, out=tmp)
        cum = tmp.astype(np.int32)
        cum[:, :, 0] = 0
        cum[:, :, -1] = self.n - self.timeouts
        return cum

    @cached_property
    def cnt(self) -> np.ndarray:
        """(F, M, J) invocations per duration class."""
        F, M = self.n.shape
        cnt = np.empty((F, M, J), dtype=np.int32)
        cum = self._cum
        np.subtract(cum[:, :, 1:], cum[:, :, :-1], out=cnt[:, :, :K])
        cnt[:, :, K] = self.timeouts
        return cnt

    @cached_property
    def cold_k(self) -> np.ndarray:
        """(F, M, J) cold starts per class (cold starts take the fastest classes first)."""
        cold_k = np.zeros_like(self.cnt)
        cold_k[:, :, :K] = np.clip(self.cold[:, :, None] - self._cum[:, :, :K], 0, self.cnt[:, :, :K])
        return cold_k

    @cached_property
    def billed_w(self) -> np.ndarray:
        """(F, M, J) Billed Duration (ms) of a warm invocation of each class."""
        return (self.dur_cms + 99) // 100

    @cached_property
    def billed_c(self) -> np.ndarray:
        """(F, M, J) Billed Duration (ms) of a cold invocation: INIT is billed (a SnapStart restore is not)."""
        with_init = np.where(self.params.snapstart[:, None], 0, self.init_cms)
        return (self.dur_cms + with_init[:, :, None] + 99) // 100

    @cached_property
    def billed_ms(self) -> np.ndarray:
        """(F, M) Billed Duration of the minute, ms, all invocations."""
        # Σ (cnt - cold) × warm + cold × cold-billed = Σ cnt × warm + Σ cold × (cold-billed - warm): the second
        # sum only over the minutes with cold starts (integers: the same total)
        total = np.einsum("ijk,ijk->ij", self.cnt, self.billed_w, dtype=np.int64)
        fi, mi = np.nonzero(self.cold > 0)
        if len(fi):
            cnt = self.cnt[fi, mi, :K]
            ck = np.clip(self.cold[fi, mi, None] - self._cum[fi, mi, :K], 0, cnt)
            dur = self.dur_cms[fi, mi, :K]
            with_init = np.where(self.params.snapstart[fi], 0, self.init_cms[fi, mi])
            extra = (dur + with_init[:, None] + 99) // 100 - (dur + 99) // 100
            total[fi, mi] += (ck * extra).sum(axis=1)
        return total

    @cached_property
    def used_mb(self) -> np.ndarray:
        """(F, M, J) Max Memory Used (MB) of each class (rises slightly with the duration class)."""
        lift = np.concatenate([0.94 + 0.015 * np.arange(K), [0.94 + 0.015 * (K - 1)]])
        used = np.multiply(self.mem_level[:, :, None], lift[None, None, :])
        np.rint(used, out=used)
        np.clip(used, 1, self.params.mem[:, None, None], out=used)
        return used.astype(np.int64)


def _shape(p: Params, t: np.ndarray) -> np.ndarray:
    """Daily/weekly load shape (F, M) from each function's local time: computed once per (pattern, time zone)
    the functions share (a handful), then one row per function."""
    keys, rows = np.unique(np.stack([p.pattern, p.tz_min], axis=1), axis=0, return_inverse=True)
    return _shapes(keys[:, 0], keys[:, 1], t)[rows.reshape(-1)]


def _shapes(pattern: np.ndarray, tz_min: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The load shape (len(pattern), M) of each (pattern, time-zone offset) over absolute minutes ``t``."""
    tloc = t[None, :] + tz_min[:, None]
    mod = tloc % 1440
    hour = mod / 60.0
    weekend = (((tloc // 1440) + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    out = np.zeros(tloc.shape)
    for code, fn in (
        (0, lambda h, w: (0.22 + 1.9 * np.clip(np.sin(np.pi * (h - 7.0) / 12.0), 0.0, None)) * np.where(w, 0.45, 1.0)),
        (1, lambda h, w: (0.55 + 0.45 * np.sin(2 * np.pi * (h - 12.0) / 24.0)) * np.where(w, 1.1, 1.0)),
        (2, lambda h, w: 0.9 + 0.15 * np.sin(2 * np.pi * h / 24.0)),
    ):
        rows = np.flatnonzero(pattern == code)
        if len(rows):
            out[rows] = fn(hour[rows], weekend[rows])
    nightly = np.flatnonzero(pattern == 3)
    if len(nightly):
        out[nightly] = ((mod[nightly] >= 120) & (mod[nightly] < 140)).astype(np.float64)
    return out


def build_grid(
    *,
    params: Params,
    seed: int,
    m0: int,
    m1: int,
    incidents: tuple[Incident, ...],
    valid: tuple[int, int] | None = None,
) -> Grid:
    """Generate minutes [m0, m1) for the functions in ``params`` (activity only inside ``valid``)."""
    p = params
    M = max(0, int(m1) - int(m0))
    F = len(p.index)
    t = np.arange(m0, m0 + M, dtype=np.int64)
    fi = p.index[:, None]
    cell = hash64(seed, fi, t[None, :])  # each (function, minute)'s own stream, drawn from three times
    u1, u2, u3, u4 = uniforms(hash64(1, prefix=cell))
    u5, u6, u7, u8 = uniforms(hash64(2, prefix=cell))
    u9, u10, u11, _ = uniforms(hash64(3, prefix=cell))
    del cell
    if M:
        days = t // 1440
        d0 = int(days[0])
        u_day = uniforms(hash64(seed, fi, np.arange(d0, int(days[-1]) + 1)[None, :], 4))[0]
        day_factor = 0.88 + 0.24 * u_day[:, days - d0]
    else:
        day_factor = np.zeros((F, 0))

    shape = _shape(p, t)
    lam = p.rate[:, None] * shape * day_factor
    demand = np.floor(lam * (0.8 + 0.4 * u1) + u2).astype(np.int64)
    hourly = np.flatnonzero(p.pattern == _PATTERNS["hourly"])
    if len(hourly):
        demand[hourly] = (t[None, :] % 60) == p.hour_offset[hourly, None]
    if valid is not None:
        demand[:, (t < valid[0]) | (t >= valid[1])] = 0

    load = 1.0 + 0.08 * np.clip(shape - 1.0, -1.0, 2.0)
    mu = p.dmed[:, None] * (0.92 + 0.16 * u3) * load  # median execution ms of the minute
    mean_ms = mu * mean_factor(p.sigma)[:, None]

    n = demand
    throttles = np.zeros_like(n)
    err_p = np.broadcast_to(p.err[:, None], (F, M)).copy()
    tmo_p = np.zeros((F, M))
    age_extra = np.zeros((F, M))
    throttle_win = np.zeros((F, M), dtype=bool)
    rows = {int(f): r for r, f in enumerate(p.index)}
    for inc in incidents:
        r = rows.get(inc.index)
        if r is None:
            continue
        a = max(inc.start_min, m0) - m0
        b = min(inc.end_min, m0 + M) - m0
        if b <= a:
            continue
        if inc.kind == "errors":
            err_p[r, a:b] = inc.level
        elif inc.kind == "timeout":
            tmo_p[r, a:b] = inc.level
        elif inc.kind == "throttles":
            throttle_win[r, a:b] = True
        elif inc.kind == "iterator_age":
            frac = (t[a:b] - inc.start_min) / max(1, inc.end_min - inc.start_min)
            age_extra[r, a:b] = inc.level * frac

    if throttle_win.any():
        # the episode: a backlog drains faster than reserved concurrency allows; the excess is throttled
        res = np.where(p.reserved > 0, p.reserved, 10)[:, None]
        cap = np.floor(res * 60000.0 / (CONC_BURST * mean_ms)).astype(np.int64)
        spiked = np.floor(cap * (1.3 + 0.5 * u4)).astype(np.int64)
        busy = throttle_win & (n > 0)
        throttles = np.where(busy, spiked - cap, 0)
        n = np.where(busy, cap, n)

    if tmo_p.any():
        timeouts = np.minimum(n, np.floor(n * tmo_p + u4 * (tmo_p > 0)).astype(np.int64))
    else:  # no timeout incident in these minutes: floor(n × 0 + 0) = 0
        timeouts = np.zeros_like(n)
    nn = n - timeouts
    errors = timeouts + np.minimum(nn, np.floor(nn * err_p + u5).astype(np.int64))
    cold = np.minimum(nn, np.floor(nn * p.cold[:, None] + u6).astype(np.int64))
    spread_i = p.init_spread[:, None]
    init_cms = np.rint(p.init_ms[:, None] * (1.0 - spread_i + 2.0 * spread_i * u7) * 100.0).astype(np.int64)
    init_cms[cold == 0] = 0

    # peak concurrency ≈ busy execution time in the minute / 60 s × a burst factor
    exec_ms = nn * mean_ms + timeouts * (p.timeout_cms[:, None] / 100.0)
    exec_ms += cold * init_cms * (~p.snapstart[:, None]) / 100.0
    conc = np.where(n > 0, np.maximum(1, np.ceil(exec_ms / 60000.0 * CONC_BURST)), 0).astype(np.int64)
    limited = p.reserved[:, None] > 0
    conc = np.where(limited, np.minimum(conc, p.reserved[:, None]), conc)
    conc = np.where(throttles > 0, p.reserved[:, None], conc)

    # only stream consumers have an iterator age and only async functions an event age (0.0 elsewhere)
    iterator_age = np.zeros((F, M))
    rows_s = np.flatnonzero(p.stream)
    if len(rows_s):
        iterator_age[rows_s] = np.rint(150.0 + 700.0 * u10[rows_s] + age_extra[rows_s])
    async_age = np.zeros((F, M))
    rows_a = np.flatnonzero(p.is_async)
    if len(rows_a):
        async_age[rows_a] = np.rint(25.0 + 300.0 * u11[rows_a])
    mem_level = p.mem[:, None] * p.mem_frac[:, None] * (0.96 + 0.08 * u9)

    return Grid(
        fidx=p.index,
        m0=int(m0),
        minutes=t,
        n=n,
        errors=errors,
        throttles=throttles,
        timeouts=timeouts,
        cold=cold,
        init_cms=init_cms,
        conc=conc,
        iterator_age=iterator_age,
        async_age=async_age,
        mu=mu,
        strat=u8,
        mem_level=mem_level,
        mem_u=u9,
        params=p,
    )


def chunks(n_functions: int, minutes: int, budget: int = 1_000_000) -> list[slice]:
    """Row slices so one chunk's (F, M, J) arrays hold about ``budget`` elements."""
    per = max(1, budget // max(1, minutes * J))
    return [slice(i, min(n_functions, i + per)) for i in range(0, n_functions, per)]


def each_chunk(fn: Callable[[object], None], items: Sequence) -> None:
    """``fn(x)`` for every chunk ``x``: on spare threads too while the process has some (:data:`WORKERS` in all),
    else in this thread alone. Spare threads are taken without waiting, so answers asked side by side (a page's
    many requests) keep one chunk each in flight, as before, and a lone large answer takes the machine's cores;
    never more than ``WORKERS - 1`` chunks beyond the askers' own are held in memory at once."""
    extra = 0
    while extra < min(WORKERS, len(items)) - 1 and _SPARE.acquire(blocking=False):
        extra += 1
    try:
        if extra == 0:
            for x in items:
                fn(x)
        else:
            run_concurrently(fn, items, max_workers=extra + 1, name="sim-chunks")
    finally:
        for _ in range(extra):
            _SPARE.release()
