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

import functools
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from aws.concurrency import run_concurrently
from aws.sim import kernels
from aws.sim.catalog import TZ_OFFSET_H, FunctionSpec
from aws.sim.incidents import Incident

__all__ = ["Grid", "Params", "LEVELS", "Z", "K", "J", "build_grid", "chunks", "CONC_BURST", "WORKERS", "each_chunk"]

LEVELS = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0])
# standard normal quantiles at each class's mid level (0.1, 0.3, ..., 0.995)
Z = np.array([-1.2816, -0.5244, 0.0, 0.5244, 1.0364, 1.4395, 1.8808, 2.5758])
K = len(Z)  # quantile classes
J = K + 1  # + the timeout class
assert K == kernels.CLASSES
CONC_BURST = 1.6  # peak concurrency within a minute vs. its average
# threads generating the chunks of answers at once, process-wide: numpy releases the GIL in its loops, so a fleet's
# minutes take the machine's cores rather than one (aws.sim.daily, aws.sim.recent; :func:`each_chunk`)
WORKERS = max(1, min(4, os.cpu_count() or 1))
_SPARE = threading.Semaphore(WORKERS - 1)  # threads beyond the asking ones, shared by every answer

_PATTERNS = {"business": 0, "diurnal": 1, "steady": 2, "nightly": 3, "hourly": 4, "idle": 5}
assert _PATTERNS["hourly"] == kernels.HOURLY


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


def _shape_rows(p: Params, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily/weekly load shapes over minutes ``t``: one row (P, M) per (pattern, time zone) the functions share (a
    handful), and each function's row (F,)."""
    keys, rows = np.unique(np.stack([p.pattern, p.tz_min], axis=1), axis=0, return_inverse=True)
    shapes = np.stack([_week(int(pat))[np.mod(t + int(tz), _WEEK)] for pat, tz in keys]) if len(keys) else np.zeros((0, len(t)))
    return shapes, rows.reshape(-1).astype(np.int64)


_WEEK = 7 * 1440


@functools.cache
def _week(pattern: int) -> np.ndarray:
    """The load shape of one pattern over a week of local minutes (from Thursday 00:00, as the epoch), kept: a
    shape depends only on the local minute of the day and whether the day is a weekend, so every grid reads its
    minutes from this week (the same operations on the same inputs: the same numbers), and nothing is kept per
    day or clock minute (the patterns are a handful)."""
    out = _shapes(np.array([pattern]), np.array([0]), np.arange(_WEEK, dtype=np.int64))[0]
    out.flags.writeable = False
    return out


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


def _incident_rows(p: Params, incidents: tuple[Incident, ...], m0: int, M: int) -> tuple[np.ndarray, ...]:
    """The incidents of the grid's functions that overlap its minutes, as the kernel's arrays: by row (CSR
    pointers ``ptr``, F + 1), in the order given (a later one overrides an earlier one in the same minutes)."""
    rows = {int(f): r for r, f in enumerate(p.index)}
    got = []
    for inc in incidents:
        r = rows.get(inc.index)
        if r is None or inc.kind not in kernels.N_KINDS:
            continue
        a = max(inc.start_min, m0) - m0
        b = min(inc.end_min, m0 + M) - m0
        if b > a:
            got.append((r, kernels.N_KINDS[inc.kind], a, b, inc.level, inc.start_min, inc.end_min))
    got.sort(key=lambda x: x[0])  # stable: each row's incidents keep their order
    ptr = np.searchsorted(np.array([g[0] for g in got], dtype=np.int64), np.arange(len(p.index) + 1))
    col = lambda i, dtype: np.array([g[i] for g in got], dtype=dtype)  # noqa: E731
    return ptr.astype(np.int64), col(1, np.int64), col(2, np.int64), col(3, np.int64), col(4, np.float64), col(5, np.int64), col(6, np.int64)


def build_grid(
    *,
    params: Params,
    seed: int,
    m0: int,
    m1: int,
    incidents: tuple[Incident, ...],
    valid: tuple[int, int] | None = None,
) -> Grid:
    """Generate minutes [m0, m1) for the functions in ``params`` (activity only inside ``valid``).

    Each function-minute draws from its own stream (a hash of seed, function and minute, :mod:`aws.sim.noise`):
    its demand from the load shape of its pattern and time zone and a per-day factor, its median duration,
    then timeouts, errors and cold starts (incidents raise the rates in their minutes; a throttling episode
    caps invocations at what reserved concurrency allows), INIT duration, peak concurrency, the event and
    iterator ages and the memory level. The loop is compiled (:func:`aws.sim.kernels.grid_minutes`)."""
    p = params
    M = max(0, int(m1) - int(m0))
    F = len(p.index)
    t = np.arange(m0, m0 + M, dtype=np.int64)
    i64 = lambda: np.empty((F, M), dtype=np.int64)  # noqa: E731
    f64 = lambda: np.empty((F, M), dtype=np.float64)  # noqa: E731
    out = {
        "n": i64(), "errors": i64(), "throttles": i64(), "timeouts": i64(), "cold": i64(), "init_cms": i64(),
        "conc": i64(), "iterator_age": f64(), "async_age": f64(), "mu": f64(), "strat": f64(), "mem_level": f64(),
        "mem_u": f64(),
    }  # fmt: skip
    if F and M:
        shapes, shape_of = _shape_rows(p, t)
        v0, v1 = valid if valid is not None else (np.iinfo(np.int64).min, np.iinfo(np.int64).max)
        kernels.grid_minutes(
            np.int64(seed), p.index, p.rate, p.pattern, p.dmed, p.err, p.cold, p.init_ms, p.init_spread,
            p.timeout_cms, p.reserved, p.stream, p.is_async, p.snapstart, p.hour_offset, p.mem, p.mem_frac,
            mean_factor(p.sigma), shapes, shape_of, np.int64(m0), np.int64(v0), np.int64(v1), CONC_BURST,
            *_incident_rows(p, incidents, int(m0), M), *out.values(),
        )  # fmt: skip
    return Grid(fidx=p.index, m0=int(m0), minutes=t, params=p, **out)


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
