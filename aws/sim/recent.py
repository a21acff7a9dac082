"""The last two days of every function, generated once and kept compactly: the grids of every recent answer.

A fleet view asks about the last 24 hours and the 24 before in several ways at once — whole-range
statistics (period = range), a ~60-point trend, Lambda Insights at 5 minutes, Logs Insights at 5 minutes,
the bill's today and yesterday — and each answer used to generate its functions' minutes again (at 1,000
functions the 48 hours are 2.9 M function-minutes, far more than the grid cache holds). Here the minutes of
the window [now - 49 h, now + 1 h) are generated once per function (:func:`aws.sim.series.build_grid`, the
very same numbers) and kept packed: counts in the smallest integer type that holds them, rows that are zero
all along (throttles, timeouts, event ages of the functions without them) not at all, the median execution
time as the float32 every consumer reads, and the two uniforms the grid derives from (the stratification
offset and the memory level's draw) as their 16-bit words, and on first use the per-minute sums over the
duration classes (``aws.sim.daily.classes``). About 30 bytes a function-minute: ~86 MB per 1,000 functions.

Any grid over minutes inside the window is then a slice of it (:func:`grid`): a minute's activity depends
only on the function, the minute, the seed and the incidents (placed from the anchor), never on the range
asked, and a request's minutes outside its valid range carry no activity, as ``build_grid`` makes them.
So every statistic, percentile and Logs Insights row is computed by the same code from the same arrays.

Keys: the model (its catalog and seed, :attr:`Model._number`), the clock minute it was made at and the anchor.
Its minutes carry activity through its last one (:data:`_MARGIN` + :data:`_AHEAD` past the clock it was made at)
and each answer zeroes the minutes past its own clock, so a clock that moves on reads the same window until its
answers reach past the window's end (a load of 10,000 functions lasting minutes generated the fleet's two days
once a minute); another anchor (incidents placed anew) starts a new window and lets go of the earlier anchors'.
Windows of every model share one LRU bounded by :data:`MAX_BYTES` (and :data:`MAX_WINDOWS`); a window that would
pass it stops taking rows (the rest are generated per answer, as before).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

import numpy as np

from aws.sim.series import Grid, build_grid, chunks, each_chunk

__all__ = ["MAX_BYTES", "MAX_WINDOWS", "PER_MODEL", "SPAN", "grid", "covers", "stats"]

SPAN = 2 * 1440  # the minutes a fleet view reads: the last 24 hours and the 24 before
_MARGIN = 60  # minutes either side (bins lined up on a start that is not on the minute grid)
_AHEAD = 30  # minutes more past the end: the clock a window serves may move on this far (a load lasting minutes)
_MIN_FILL = 720  # a request generates the window's rows only if it spans at least this many minutes
MAX_BYTES = 1 << 30  # every model's windows together
MAX_WINDOWS = 32  # windows kept (an account model and a clock minute each)
PER_MODEL = 2  # windows kept per account model: its newest clock minutes (a load may straddle a minute)
_BUDGET = 1_000_000  # (F, M, J) elements a generation chunk, as aws.sim.series.chunks counts them
_ZEROED = ("n", "errors", "throttles", "timeouts", "cold", "init_cms", "conc")  # no activity outside valid
_INTS = _ZEROED
_FLOAT_INTS = ("iterator_age", "async_age")  # float64, integer-valued (np.rint)
_CLASSES = ("billed", "dur_sum", "used_sum", "used_max")  # aws.sim.daily.classes, all int64
_WORD = 1.0 / 65536.0  # aws.sim.noise.uniforms: a uniform is a 16-bit word × 2**-16


def _pack(x: np.ndarray):
    """(rows with any non-zero value or None for all, their values in the smallest exact type, dtype)."""
    nz = np.flatnonzero(x.any(axis=1))
    if len(nz) == 0:
        return (np.zeros(0, np.int64), None, x.dtype)
    v = x[nz] if len(nz) < len(x) else x
    lo, hi = float(v.min()), float(v.max())
    for dt in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dt)
        if info.min <= lo and hi <= info.max:
            break
    packed = v.astype(dt)
    if not np.array_equal(packed, v):  # not integer-valued: kept as it is
        packed = v
    return (None if len(nz) == len(x) else nz, packed, x.dtype)


def _nbytes(item) -> int:
    rows, vals, _ = item
    return (0 if rows is None else rows.nbytes) + (0 if vals is None else vals.nbytes)


class _Chunk:
    def __init__(self, g: Grid, rows: np.ndarray) -> None:
        self.rows = rows  # catalog indices, in order
        self.packed = {name: _pack(getattr(g, name)) for name in _INTS + _FLOAT_INTS}
        self.mu = g.mu.astype(np.float32)  # every consumer reads the median as float32 (Grid.dur_cms, daily)
        self.strat = np.rint(g.strat / _WORD).astype(np.uint16)
        self.mem_u = np.rint(g.mem_u / _WORD).astype(np.uint16)
        self.nbytes = sum(_nbytes(v) for v in self.packed.values()) + self.mu.nbytes + self.strat.nbytes + self.mem_u.nbytes
        self.classes: dict | None = None  # aws.sim.daily.classes of the chunk's whole window, packed (on first use)
        self.lock = threading.Lock()

    def with_classes(self, g: Grid) -> int:
        """Compute (once) the per-minute sums over the duration classes of ``g``, this chunk's whole window;
        returns the bytes added."""
        from aws.sim import daily

        with self.lock:
            if self.classes is not None:
                return 0
            cls = daily.classes(g)
            self.classes = {name: _pack(v) for name, v in cls.items()}
            added = sum(_nbytes(v) for v in self.classes.values())
            self.nbytes += added
            return added

    def take(self, name: str, pos: np.ndarray, c0: int, c1: int, packed: dict | None = None) -> np.ndarray:
        rows, vals, dtype = (self.packed if packed is None else packed)[name]
        out = np.zeros((len(pos), c1 - c0), dtype=dtype)
        if vals is None:
            return out
        if rows is None:
            out[:] = vals[pos, c0:c1]
            return out
        at = np.searchsorted(rows, pos)
        hit = (at < len(rows)) & (rows[np.minimum(at, len(rows) - 1)] == pos)
        if hit.any():
            out[hit] = vals[at[hit], c0:c1]
        return out


class Window:
    """Minutes [w0, w1) of a model's functions, generated with activity inside ``valid``."""

    def __init__(self, w0: int, w1: int, valid: tuple[int, int]) -> None:
        self.w0, self.w1, self.valid = w0, w1, valid
        self.where: dict[int, tuple[_Chunk, int]] = {}  # catalog index → (chunk, row in it)
        self.nbytes = 0
        self.full = False  # stopped taking rows (the byte bound)
        self.filling = threading.Lock()

    def fill(self, model, rows: np.ndarray, anchor: datetime) -> None:
        missing = np.array([r for r in np.unique(rows).tolist() if r not in self.where], dtype=np.int64)
        if len(missing) == 0 or self.full:
            return
        with self.filling:
            missing = np.array([r for r in missing.tolist() if r not in self.where], dtype=np.int64)
            M = self.w1 - self.w0
            incidents = model.incident_objects(anchor)

            def one(part: np.ndarray) -> None:  # chunks are independent (aws.sim.series.each_chunk)
                if self.full:
                    return
                g = build_grid(
                    params=model.params.take(part), seed=model.seed, m0=self.w0, m1=self.w1,
                    incidents=incidents, valid=self.valid,
                )
                c = _Chunk(g, part)
                del g
                with _lock:
                    # twice the chunk: its class sums come later (about as large)
                    if _total() + 2 * c.nbytes > MAX_BYTES:
                        _evict(keep=self)
                    if self.full or _total() + 2 * c.nbytes > MAX_BYTES:
                        self.full = True
                        return
                    for i, f in enumerate(part.tolist()):
                        self.where[f] = (c, i)
                    self.nbytes += c.nbytes

            # chunks() counts (F, M, J) elements: ~37 functions
            each_chunk(one, [missing[sl] for sl in chunks(len(missing), M, _BUDGET)])

    def has(self, rows: np.ndarray) -> bool:
        return all(r in self.where for r in rows.tolist())

    def grid(self, model, rows: np.ndarray, m0: int, m1: int, valid: tuple[int, int]) -> Grid:
        """The grid of catalog ``rows`` over [m0, m1) with activity inside ``valid``, its per-minute sums over the
        duration classes (``aws.sim.daily.classes``, ``Grid.billed_ms``) included."""
        chunks_of = {id(self.where[f][0]): self.where[f][0] for f in rows.tolist()}

        def add_classes(c: _Chunk) -> None:
            whole = self._slice(model, c.rows, self.w0, self.w1, self.valid, classes=False)
            added = c.with_classes(whole)
            with _lock:
                self.nbytes += added

        each_chunk(add_classes, [c for c in chunks_of.values() if c.classes is None])
        return self._slice(model, rows, m0, m1, valid, classes=True)

    def _slice(self, model, rows: np.ndarray, m0: int, m1: int, valid: tuple[int, int], *, classes: bool) -> Grid:
        by_chunk: dict[int, tuple[_Chunk, list, list]] = {}
        for j, f in enumerate(rows.tolist()):
            c, i = self.where[f]
            got = by_chunk.setdefault(id(c), (c, [], []))
            got[1].append(j)
            got[2].append(i)
        parts = [(c, np.array(js), np.array(ii)) for c, js, ii in by_chunk.values()]
        minutes = np.arange(m0, m1, dtype=np.int64)
        outside = (minutes < max(valid[0], m0)) | (minutes >= min(valid[1], m1))
        p = model.params.take(rows)
        return _Slice(
            parts=parts, c0=m0 - self.w0, c1=m1 - self.w0, outside=outside if outside.any() else None,
            with_classes=classes, fidx=p.index, m0=int(m0), minutes=minutes, params=p,
        )


class _Slice(Grid):
    """A grid read from a window: each per-minute array is unpacked on first use (most answers read a few)."""

    def _gather(self, take, dtype) -> np.ndarray:
        out = np.empty((len(self.fidx), self.c1 - self.c0), dtype)
        for c, js, ii in self.parts:
            out[js] = take(c, ii)
        return out

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("parts", "c0", "c1", "outside", "with_classes"):
            raise AttributeError(name)
        c0, c1 = self.c0, self.c1
        if name in _INTS or name in _FLOAT_INTS:
            value = self._gather(lambda c, ii: c.take(name, ii, c0, c1), np.int64 if name in _INTS else np.float64)
            if name in _ZEROED and self.outside is not None:
                value[:, self.outside] = 0  # no activity outside the valid minutes
        elif name == "mu":  # every consumer reads the median as float32
            value = self._gather(lambda c, ii: c.mu[ii, c0:c1], np.float32)
        elif name in ("strat", "mem_u"):  # a uniform: its 16-bit word × 2**-16, as aws.sim.noise.uniforms
            value = self._gather(lambda c, ii: np.multiply(getattr(c, name)[ii, c0:c1], _WORD), np.float64)
        elif name == "mem_level":  # aws.sim.series.build_grid's, from the same uniform by the same operations
            p = self.params
            value = p.mem[:, None] * p.mem_frac[:, None] * (0.96 + 0.08 * self.mem_u)
        elif name == "_classes" and self.with_classes:  # aws.sim.daily.classes, minute by minute
            value = {}
            for key in _CLASSES:
                v = self._gather(lambda c, ii, key=key: c.take(key, ii, c0, c1, c.classes), np.int64)
                if self.outside is not None:  # no invocation: nothing summed, no largest memory (-1)
                    v[:, self.outside] = -1 if key == "used_max" else 0
                value[key] = v
        elif name == "billed_ms" and self.with_classes:
            value = self._classes["billed"]
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value

    @property
    def billed_ms(self) -> np.ndarray:  # type: ignore[override]
        if "billed_ms" in self.__dict__:
            return self.__dict__["billed_ms"]
        if self.with_classes:
            return self.__getattr__("billed_ms")
        value = self.__dict__["billed_ms"] = Grid.billed_ms.fn(self)
        return value


_lock = threading.Lock()
_windows: OrderedDict[tuple, Window] = OrderedDict()


def _total() -> int:
    return sum(w.nbytes for w in _windows.values())


def _evict(keep: Window) -> None:
    for key in list(_windows):
        if _total() <= MAX_BYTES * 3 // 4:
            return
        if _windows[key] is not keep:
            del _windows[key]


def _forget_passed(number: int, made: tuple) -> None:
    """Keep a model's windows of its :data:`PER_MODEL` newest clock minutes (every anchor of them) and the window
    just ``made``: a clock that moved on does not ask a passed minute's window again (kept, a dashboard left open
    held up to :data:`MAX_WINDOWS` stale windows, tests/load/test_soak.py). A clock set back (tests) keeps its new
    window too."""
    his = sorted({k[1] for k in _windows if k[0] == number}, reverse=True)[:PER_MODEL]
    for key in [k for k in _windows if k[0] == number and k[1] not in his and k != made]:
        del _windows[key]


def _forget_anchors(number: int, anchor: datetime) -> None:
    """Let go of a model's windows of anchors before ``anchor``: the clock is in a later hour, every answer from now on
    places its incidents from the new anchor (a window is reused for up to :data:`_AHEAD` minutes, so the last hour's
    window, kept among the newest clock minutes, held a second copy of the fleet's two days for half an hour: 860 MB
    at 10,000 functions; tests/load/test_soak.py caught it at 50). A clock set back keeps the later windows."""
    for key in [k for k in _windows if k[0] == number and k[2] < anchor]:
        del _windows[key]


def _window(model, now: datetime, anchor: datetime, m0: int, m1: int, v0: int) -> Window:
    """The window at ``now`` that holds minutes [m0, m1) with activity from ``v0``: the newest of the model and anchor
    that does (a window's minutes carry activity through its last one, and each answer zeroes those past its own
    clock, so a clock that moved on by less than :data:`_MARGIN` reads the window it made), else a new one."""
    lo_hist, hi = model.window(now)
    with _lock:
        _forget_anchors(model._number, anchor)
        for key in reversed(_windows):
            w = _windows[key]
            if key[0] == model._number and key[2] == anchor and w.w0 <= m0 and m1 <= w.w1 and w.valid[0] <= v0:
                break
        else:
            w0, w1 = hi - SPAN - _MARGIN, hi + _MARGIN + _AHEAD
            key = (model._number, hi, anchor)
            w = _windows[key] = Window(w0, w1, (max(lo_hist, w0), w1))
            _forget_passed(model._number, key)
            while len(_windows) > MAX_WINDOWS:  # models gone and clocks passed (a test run makes hundreds)
                _windows.popitem(last=False)
        _windows.move_to_end(key)
    return w


def covers(model, m0: int, m1: int, valid: tuple[int, int], now: datetime) -> bool:
    """Whether the window at ``now`` holds minutes [m0, m1) with activity inside ``valid``."""
    lo_hist, hi = model.window(now)
    w0, w1 = hi - SPAN - _MARGIN, hi + _MARGIN
    if not (w0 <= m0 < m1 <= w1):
        return False
    v0, v1 = max(valid[0], m0), min(valid[1], m1)
    return v1 <= v0 or (max(lo_hist, w0) <= v0 and v1 <= hi)


def grid(model, rows, m0: int, m1: int, *, valid: tuple[int, int], anchor: datetime, now: datetime | None) -> Grid | None:
    """The grid of catalog ``rows`` over [m0, m1) from the window at ``now``, or None (not in it: generate it)."""
    if now is None or not covers(model, m0, m1, valid, now):
        return None
    rows = np.asarray(rows, dtype=np.int64)
    w = _window(model, now, anchor, m0, m1, max(valid[0], m0))
    if not w.has(rows):
        if m1 - m0 < _MIN_FILL:
            return None  # a short read does not generate two days
        w.fill(model, rows, anchor)
        if not w.has(rows):
            return None
    return w.grid(model, rows, m0, m1, valid)


def stats() -> dict:
    """Windows kept, function rows and bytes (for benchmarks and tests)."""
    with _lock:
        return {
            "windows": len(_windows),
            "rows": sum(len(w.where) for w in _windows.values()),
            "bytes": _total(),
        }
