"""Daily totals of every function: one pass over a UTC day's minutes, reused by every answer at one-day bins.

The Cost Explorer bill (:mod:`aws.sim.billing`), GetMetricData at a period of one day from 00:00 UTC
(:meth:`aws.sim.model.Model.evaluate`) and Logs Insights ``stats ... by @log, bin(1d)``
(:mod:`aws.sim.insights`) all read the same per-minute activity of the same days. Built per answer, each
generated those minutes again (a month of 1,000 functions is 44 M function-minutes, three times a load).
Here a day's minutes are generated once per function, every day-level figure is reduced from them at
once, and the few numbers per function and day are kept (:class:`Day`), with a few per hour (:data:`HOURLY`:
what the recommendations' hourly REPORT query asks, so a month of it reads the days the bill generated).

Each figure is computed by the function the per-answer path calls (``Metric.keys`` and ``reduce_bins``,
``insights._reduce``, ``provisioned.split`` / ``streamed``), or for the sums over the duration classes by
:func:`classes` (the same integers, class by class; ``tests/test_sim_daily.py``), over a grid of the day's
minutes inside the valid window, so an answer is the same number: counts and sums are integers summed
exactly, a minimum, maximum or percentile is the same order statistic, and minutes outside the window
(no activity) carry no weight. Only what is asked is generated: the functions of a request that the day
does not hold yet (a function's page does not generate the fleet).

A day is keyed by its valid minutes [v0, v1) and, when incidents can fall on it (the last 27 hours
before the anchor), by the anchor. Complete days that no incident can touch depend on the catalog and
the seed only: with ``LAMBDA_LENS_SIM_CACHE`` set to a folder they are also written there (one ``.npz``
per account and day, named by a digest of the catalog, the seed and this package's source) and read back
by later processes. Unset (the default), nothing is written.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from aws.sim import kernels, provisioned
from aws.sim.metrics import METRICS
from aws.sim.series import build_grid, chunks, each_chunk

__all__ = ["Day", "day", "DAY_METRICS", "served", "insights_served", "hourly_served", "INSIGHTS_WANT", "HOURLY", "recent", "CACHE_ENV"]

CACHE_ENV = "LAMBDA_LENS_SIM_CACHE"
DAY = 1440
_SC, _SUM, _AVG, _MIN, _MAX = ("SampleCount", None), ("Sum", None), ("Average", None), ("Minimum", None), ("Maximum", None)
# the statistics of a metric GetMetricData can be answered with from daily totals (Average = Sum / SampleCount);
# Duration's minimum and maximum are not kept (an order statistic over every class of every minute, asked by
# no one-day read): they are answered from the minutes
DAY_METRICS = {
    METRICS[("AWS/Lambda", name)]: stats
    for name, stats in (
        ("Invocations", (_SC, _SUM, _MIN, _MAX)),
        ("Errors", (_SC, _SUM, _MIN, _MAX)),
        ("Throttles", (_SC, _SUM, _MIN, _MAX)),
        ("Duration", (_SC, _SUM)),
        ("ConcurrentExecutions", (_SC, _SUM, _MIN, _MAX)),
        ("ProvisionedConcurrencyUtilization", (_SC, _SUM, _MIN, _MAX)),
    )
} | {
    # Lambda Insights (functions with the extension): what a week's one-day read asks, from the class sums
    METRICS[("LambdaInsights", name)]: stats
    for name, stats in (
        ("cpu_total_time", (_SC, _SUM)),
        ("init_duration", (_SC, _SUM, _MAX)),
        ("memory_utilization", (_SC, _MAX)),
        ("used_memory_max", (_SC, _MAX)),
        ("total_memory", (_SC, _MAX)),
    )
}
# what the collectors' REPORT query asks per quantity (aws/logs/_insights.py QUERY); a query asking
# anything else is answered from the minutes
INSIGHTS_WANT: dict[str | None, tuple] = {
    None: (_SC,),
    "init": (_AVG, _SC, ("p", 99.0)),
    "billed": (_SUM,),
    "gb_s": (_SUM,),
    "used": (_AVG, _MAX),
    "memory": (_MAX,),
}
# per function and UTC hour of the day, (F, 24): what the recommendations' hourly REPORT query asks (count(*),
# count(init_ms), max(used_mb); aws/logs/_insights.py build_query(3600, ["used_mb_max"])), so a month of it is
# read from the days the bill generates instead of generating the month's minutes again. ~240 bytes a function-day.
HOURLY = {"h:n": np.int32, "h:cold": np.int32, "h:used_max": np.int16}
HOURLY_WANT: dict[str | None, tuple] = {None: (_SC,), "init": (_SC,), "used": (_MAX,)}
_DAYS_KEPT = 100  # days kept per model (two months of complete days, and the recent ones under each anchor)
_BUDGET = 1_000_000  # (F, M, J) elements a chunk of the pass (its arrays are (F, M): ~80 functions a day)


def served(metric, stats) -> bool:
    """Whether GetMetricData's ``stats`` of ``metric`` at one-day bins are answered from daily totals."""
    have = DAY_METRICS.get(metric)
    return have is not None and all(st in have or (st == _AVG and _SUM in have) for st in stats)


def insights_served(want: dict) -> bool:
    """Whether a Logs Insights query's statistics per quantity (``insights.run``'s ``want``) at one-day bins are
    answered from daily totals."""
    return all(set(st) <= set(INSIGHTS_WANT.get(q, ())) for q, st in want.items())


def hourly_served(want: dict) -> bool:
    """Whether a Logs Insights query's statistics per quantity at one-hour bins are answered from the days'
    hourly figures (:data:`HOURLY`)."""
    return all(set(st) <= set(HOURLY_WANT.get(q, ())) for q, st in want.items())


def recent(d0: int, anchor_min: int) -> bool:
    """Whether a time-bound incident can fall on the day starting at minute ``d0`` (see aws.sim.incidents)."""
    return d0 + DAY > anchor_min - 27 * 60


def _name(st: tuple) -> str:
    return f"{st[0]}{'' if st[1] is None else st[1]}"


FIELDS = (
    ["n", "cold", "billed_ms", "pc_billed_ms", "env_s", "restores", "beyond"]
    + [f"m:{m.name}:{st[0]}" for m, stats in DAY_METRICS.items() for st in stats]
    + ["i:n", "i:cold"]
    + [f"i:{q}:{x}" for q, sts in INSIGHTS_WANT.items() for x in ["count", *map(_name, sts)]]
    + list(HOURLY)
)


class Day:
    """Per-function totals of one day's valid minutes [v0, v1): arrays over the model's catalog rows."""

    def __init__(self, n_functions: int, v0: int, v1: int) -> None:
        self.v0, self.v1 = v0, v1
        self.have = np.zeros(n_functions, dtype=bool)  # rows whose figures are in
        self.a: dict[str, np.ndarray] = {}
        self.lock = threading.Lock()  # guards the arrays
        self.filling = threading.Lock()  # one generation of the day at a time (a second asker waits, then reads)

    def metric(self, metric, st: tuple, rows: np.ndarray) -> np.ndarray:
        """A statistic of ``metric`` per function ``rows`` (as reduce_bins gives it for a one-day bin)."""
        if st == _AVG:
            total, count = self.a[f"m:{metric.name}:Sum"][rows], self.a[f"m:{metric.name}:SampleCount"][rows]
            return np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        return self.a[f"m:{metric.name}:{st[0]}"][rows]

    def insight(self, quantity, st: tuple | None, rows: np.ndarray) -> np.ndarray:
        return self.a[f"i:{quantity}:{'count' if st is None else _name(st)}"][rows]


def _const(per_class: np.ndarray, kvec: np.ndarray, scale: np.ndarray, stats) -> dict:
    """reduce_bins' statistics of a metric with the same keys every minute, from its per-class day totals
    (F, j): the same formulas, without the (F, M, j) weights."""
    count = per_class.sum(axis=-1)
    out = {}
    for st in stats:
        if st == _SC:
            out[st] = count.astype(np.float64)
        elif st == _SUM:
            out[st] = (per_class @ kvec) * scale
        else:
            present = per_class > 0
            fill = np.iinfo(np.int64).max if st == _MIN else -1
            masked = np.where(present, kvec[None, :], fill)
            out[st] = (masked.min(axis=-1) if st == _MIN else masked.max(axis=-1)) * scale
    return out


def _classes(g) -> dict[str, np.ndarray]:
    """(F, M) sums over a minute's duration classes — Billed Duration (INIT included), Σ count × Duration (1/100
    ms), Σ count × Max Memory Used and the largest Max Memory Used with a count — class by class
    (:func:`aws.sim.kernels.class_sums`).

    The same numbers as ``Grid.billed_ms`` and the einsums and maxima over ``Grid.dur_cms`` / ``cnt`` /
    ``used_mb``: each class's duration and memory come from the same float32/float64 operations as those
    (F, M, J) arrays, one class at a time. The products and sums are integers held in float64 (exact below
    2**53: a minute's billed milliseconds are ~1e10 at most); ceil(d / 100.0) is (d + 99) // 100 for an integer
    d (the quotient is correctly rounded and an integer is never missed by 1/100).
    """
    from aws.sim.series import LEVELS, Z

    p = g.params
    K = len(Z)
    shape = g.n.shape
    out = {k: np.empty(shape, dtype=np.int64) for k in ("billed", "dur_sum", "used_sum", "used_max")}
    if g.n.size:
        kernels.class_sums(
            g.n, g.timeouts, g.cold, g.init_cms, g.strat, g.mu, g.mem_level,
            (np.exp(p.sigma[:, None] * Z[None, :]) * 100.0).astype(np.float32),  # (F, K)
            (p.timeout_cms - 100).astype(np.float32), p.timeout_cms, p.mem, p.snapstart, LEVELS.astype(np.float32),
            np.concatenate([0.94 + 0.015 * np.arange(K), [0.94 + 0.015 * (K - 1)]]), *out.values(),
        )  # fmt: skip
    return out


def classes(g) -> dict[str, np.ndarray]:
    """:func:`_classes` of a grid, computed once per grid; the grid's ``billed_ms`` is taken from it."""
    cls = g.__dict__.get("_classes")
    if cls is None and getattr(g, "with_classes", False):  # a slice of a recent window (aws.sim.recent) has them
        cls = g._classes
    if cls is None:
        cls = g.__dict__["_classes"] = _classes(g)
        g.__dict__.setdefault("billed_ms", cls["billed"])
    return cls


def _metrics(g, cls: dict) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    one = np.ones(g.n.shape[0])
    n = g.n.sum(axis=1)
    const = {
        "Invocations": (n[:, None], np.ones(1, np.int64)),
        "Errors": (np.stack([n - g.errors.sum(axis=1), g.errors.sum(axis=1)], axis=1), np.arange(2, dtype=np.int64)),
        "Throttles": (np.stack([n, g.throttles.sum(axis=1)], axis=1), np.arange(2, dtype=np.int64)),
    }
    for m, stats in DAY_METRICS.items():
        if m.name in const:
            per_class, kvec = const[m.name]
            vals = _const(per_class, kvec, one, stats)
        elif m.name == "Duration":  # every invocation is a sample; keys in 1/100 ms
            vals = {_SC: n.astype(np.float64), _SUM: cls["dur_sum"].sum(axis=1) * (one / 100.0)}
        elif m.namespace == "LambdaInsights":
            vals = _insights_metric(g, m.name, n, cls, one)
        else:  # one key a minute (ConcurrentExecutions, ProvisionedConcurrencyUtilization)
            vals = _one_key(m, g, stats)
        for st in stats:
            out[f"m:{m.name}:{st[0]}"] = vals[st]
    return out


def _rows(g, rows: np.ndarray):
    """The grid's functions ``rows`` (their per-minute activity; what ``Metric.keys`` and :mod:`aws.sim.provisioned`
    read of a grid)."""
    from aws.sim.series import Grid

    return Grid(
        fidx=g.fidx[rows], m0=g.m0, minutes=g.minutes, params=g.params.take(rows),
        n=g.n[rows], conc=g.conc[rows], throttles=g.throttles[rows],
    )  # fmt: skip


def _one_key(m, g, stats) -> dict:
    """reduce_bins' day statistics of a metric with one key a minute, over the functions it exists for: the same
    integers summed and the same smallest and largest key (:func:`aws.sim.kernels.row_stats`). A function without
    the metric has no sample (count 0: no datapoint, whatever the value)."""
    F = g.n.shape[0]
    has = np.flatnonzero(m.exists_in(g.params))
    count, total = np.zeros(F, np.int64), np.zeros(F, np.int64)
    lo, hi = np.full(F, np.iinfo(np.int64).max), np.full(F, -1, np.int64)
    scale = np.ones(F)
    if len(has):
        sub = g if len(has) == F else _rows(g, has)
        keys, w, sc = m.keys(sub)
        R, M = sub.n.shape
        got = [np.empty(R, np.int64) for _ in range(4)]
        kernels.row_stats(np.broadcast_to(keys, w.shape)[:, :, 0], w[:, :, 0], *got)
        for arr, v in zip((count, total, lo, hi), got, strict=True):
            arr[has] = v
        scale[has] = sc
    out = {}
    for st in stats:
        out[st] = {_SC: count.astype(np.float64), _SUM: total * scale, _MIN: lo * scale, _MAX: hi * scale}[st]
    return out


def _insights_metric(g, name: str, n: np.ndarray, cls: dict, one: np.ndarray) -> dict:
    """reduce_bins' day statistics of a Lambda Insights metric (``Metric.keys``: weights only where the function
    has the extension), from per-minute sums and maxima: the same integers summed, the same largest key."""
    p = g.params
    has = p.insights.astype(np.int64)
    if name in ("cpu_total_time", "memory_utilization", "used_memory_max", "total_memory"):
        count = n * has  # every invocation is a sample
        if name == "cpu_total_time":  # keys: Duration in 1/100 ms
            return {_SC: count.astype(np.float64), _SUM: (cls["dur_sum"].sum(axis=1) * has) * (one * 0.0055)}
        if name == "total_memory":  # the configured size in every sample
            return {_SC: count.astype(np.float64), _MAX: np.where(count > 0, p.mem, -1) * one}
        top = np.where(count > 0, cls["used_max"].max(axis=1), -1)  # Max Memory Used rises with the class
        return {_SC: count.astype(np.float64), _MAX: top * (100.0 / p.mem if name == "memory_utilization" else one)}
    # init_duration: one sample per cold start (a SnapStart restore included), keys in 1/100 ms
    w = g.cold * has[:, None]
    count = w.sum(axis=1)
    total = (g.init_cms * w).sum(axis=1)
    top = np.where(w > 0, g.init_cms, -1).max(axis=1)
    return {_SC: count.astype(np.float64), _SUM: total * (one / 100.0), _MAX: top * (one / 100.0)}


def _fill(model, d: Day, rows: np.ndarray, anchor, now=None) -> None:
    """Generate the day's minutes for catalog ``rows`` and reduce every group's figures from them (a recent day's
    minutes from the window of the last two days, aws.sim.recent, when ``now`` is given).

    The chunks of functions are independent: they take the process's spare threads while it has some
    (:func:`aws.sim.series.each_chunk`)."""
    incidents = model.incident_objects(anchor)
    parts = [rows[sl] for sl in chunks(len(rows), d.v1 - d.v0, _BUDGET)]

    def one(part: np.ndarray) -> None:
        out = _totals(model, part, d.v0, d.v1, anchor, now, incidents)
        with d.lock:
            for k, v in out.items():
                arr = d.a.get(k)
                if arr is None:
                    arr = d.a[k] = np.zeros((len(d.have), *v.shape[1:]), dtype=v.dtype)
                arr[part] = v
            d.have[part] = True

    each_chunk(one, parts)


def _hourly(g, cls: dict, v0: int) -> dict[str, np.ndarray]:
    """The :data:`HOURLY` figures of a grid inside one UTC day (minutes from ``v0``): invocations, cold starts
    (SnapStart restores included) and the largest Max Memory Used (-1: no invocation) per hour, as
    ``insights._reduce`` reduces them at 60-minute bins."""
    F, M = g.n.shape
    at = v0 % DAY  # the grid's first minute in its day

    def by_hour(x: np.ndarray, fill, reduce) -> np.ndarray:
        full = np.full((F, DAY), fill, dtype=x.dtype)
        full[:, at : at + M] = x
        return reduce(full.reshape(F, 24, 60), axis=2)

    return {
        "h:n": by_hour(g.n, 0, np.sum).astype(HOURLY["h:n"]),
        "h:cold": by_hour(g.cold, 0, np.sum).astype(HOURLY["h:cold"]),
        "h:used_max": by_hour(cls["used_max"], -1, np.max).astype(HOURLY["h:used_max"]),
    }


def _totals(model, part: np.ndarray, v0: int, v1: int, anchor, now, incidents) -> dict[str, np.ndarray]:
    """Every figure of :class:`Day` for catalog rows ``part`` over minutes [v0, v1)."""
    from aws.sim import recent
    from aws.sim.insights import _reduce

    M = v1 - v0
    g = recent.grid(model, part, v0, v1, valid=(v0, v1), anchor=anchor, now=now)
    if g is None:
        g = build_grid(params=model.params.take(part), seed=model.seed, m0=v0, m1=v1, incidents=incidents, valid=(v0, v1))
    cls = classes(g)
    bm = g.billed_ms  # computed class by class
    out: dict[str, np.ndarray] = {}
    n = g.n.sum(axis=1)
    out["n"] = n
    out["cold"] = g.cold.sum(axis=1)
    out["billed_ms"] = bm.sum(axis=1)
    # provisioned concurrency and streaming beyond 6 MB, over the functions that have them (the others: 0)
    p = g.params
    out["pc_billed_ms"], out["env_s"], out["beyond"] = np.zeros(len(part)), np.zeros(len(part)), np.zeros(len(part))
    pc = np.flatnonzero(provisioned.has_pc(p))
    if len(pc):
        sub = _rows(g, pc)
        on_pc, _ = provisioned.split(sub)
        n_pc = sub.n
        out["pc_billed_ms"][pc] = (bm[pc] * np.divide(on_pc, n_pc, out=np.zeros(on_pc.shape), where=n_pc > 0)).sum(axis=1)
        out["env_s"][pc] = provisioned.levels(sub.params, g.minutes).sum(axis=1) * 60.0
    big = np.flatnonzero(provisioned.beyond_six_mb(p))
    if len(big):
        out["beyond"][big] = provisioned.streamed(_rows(g, big))[1].sum(axis=1)
    out["restores"] = (g.cold * p.snapstart[:, None]).sum(axis=1)
    out.update(_metrics(g, cls))
    out["i:n"] = n
    out["i:cold"] = out["cold"]
    out.update(_hourly(g, cls, v0))
    one = np.ones(len(part))
    for q, sts in INSIGHTS_WANT.items():
        if q == "used":  # Max Memory Used of every invocation (count = invocations)
            total = cls["used_sum"].sum(axis=1) * one
            count, vals = n, {
                _AVG: np.divide(total, n, out=np.zeros_like(total), where=n > 0),
                _MAX: cls["used_max"].max(axis=1) * one,
            }
        else:
            count, vals = _reduce(g, q, sorted(sts, key=str), M)
            count, vals = count[:, 0], {k: v[:, 0] for k, v in vals.items()}
        out[f"i:{q}:count"] = count
        for st in sts:
            out[f"i:{q}:{_name(st)}"] = vals[st]
    return out


# ---- the optional folder of complete days --------------------------------------------------------------
_code_digest: str | None = None


def _code() -> str:
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for f in sorted(here.glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
        _code_digest = h.hexdigest()[:16]
    return _code_digest


def _folder(model) -> Path | None:
    root = os.environ.get(CACHE_ENV, "").strip()
    if not root:
        return None
    digest = model.__dict__.get("_daily_digest")
    if digest is None:
        h = hashlib.sha256()
        h.update(_code().encode())
        h.update(repr((model.seed, model.account_id, model.specs)).encode())
        digest = model.__dict__["_daily_digest"] = h.hexdigest()[:24]
    return Path(root).expanduser() / digest


def _load(d: Day, path: Path) -> None:
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - a missing, partial or stale file: the day is generated again
        return
    if set(arrays) != set(FIELDS) or any(len(v) != len(d.have) for v in arrays.values()):
        return
    with d.lock:
        d.a.update(arrays)
        d.have[:] = True


def _save(d: Day, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.npz")
        with d.lock:
            arrays = {k: d.a[k].copy() for k in FIELDS}
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is no cache


# ---- the days of a model -----------------------------------------------------------------------------
_lock = threading.Lock()


def day(model, d0: int, v0: int, v1: int, anchor, rows, now=None) -> Day:
    """The totals of the day starting at minute ``d0`` over its valid minutes [v0, v1), holding at least catalog
    ``rows`` (generated now if missing; ``now``: the clock of the answer, for the window of recent minutes)."""
    anchor_min = int(anchor.timestamp() // 60)
    moving = recent(d0, anchor_min)
    key = (v0, v1, anchor if moving else None)
    F = len(model.specs)
    with _lock:
        days: OrderedDict = model.__dict__.setdefault("_daily", OrderedDict())
        d = days.get(key)
        if d is None:
            d = days[key] = Day(F, v0, v1)
        days.move_to_end(key)
        while len(days) > _DAYS_KEPT:
            days.popitem(last=False)
    rows = np.asarray(rows, dtype=np.int64)
    if d.have[rows].all():
        return d
    folder = None if moving or (v0, v1) != (d0, d0 + DAY) else _folder(model)
    with d.filling:
        if folder is not None and not d.have.any():
            _load(d, folder / f"{d0}.npz")
        missing = np.unique(rows[~d.have[rows]])
        if len(missing):
            _fill(model, d, missing, anchor, now)
            if folder is not None and d.have.all():
                _save(d, folder / f"{d0}.npz")
    return d
