"""The simulated account's truth: functions, incidents, per-minute activity, metric answers.

:func:`model_for` gives the one :class:`Model` of an account (cached per sim spec,
regions and account name). Tests and benchmarks read the truth here; the API
handlers answer from the same methods, so an answer and its truth cannot drift.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cached_property

import numpy as np
import pandas as pd

from aws.sim import clock, daily, recent
from aws.sim.catalog import ACCOUNT_ID, FunctionSpec, build_catalog, catalog_frame
from aws.sim.incidents import Incident, place_incidents
from aws.sim.metrics import METRICS, Metric, parse_stat, reduce_bins
from aws.sim.series import Grid, Params, build_grid, chunks

__all__ = ["Model", "model_for", "MetricRequest", "retention_start"]

_GRID_CACHE_CELLS = 250_000  # function-minutes of grids kept, all models together (bounds memory: ~100 MB worst case)
# One LRU for every model's grids: a budget per model grew with every simulated account (each session keeps
# its model alive), 2 MB an account for a few functions.
_grids: OrderedDict[tuple, Grid] = OrderedDict()
_grids_lock = threading.Lock()
_model_numbers = itertools.count()  # a model's key in the grid cache (an id() could be reused after a model is gone)


@dataclass(frozen=True)
class MetricRequest:
    """One series to compute: a function, a metric, a period and the statistics wanted."""

    fidx: int
    metric: Metric
    period: int
    stats: tuple[tuple[str, float | None], ...]


def retention_start(period: int, now: datetime) -> datetime:
    """The oldest time CloudWatch still holds datapoints of ``period`` for (data here is ≤ clock.HISTORY old)."""
    if period < 60:
        return now - timedelta(hours=3)
    if period % 300 != 0:
        return now - timedelta(days=15)
    if period % 3600 != 0:
        return now - timedelta(days=63)
    return now - timedelta(days=455)


_DURATION_TOTALS = {("SampleCount", None), ("Sum", None), ("Average", None)}


def _duration_totals(g: Grid, b: int, stats: list) -> tuple[np.ndarray, dict]:
    """reduce_bins' SampleCount, Sum and Average of Duration over bins of ``b`` minutes, from the per-minute sums
    over the duration classes (every invocation is a sample; the same integers summed)."""
    F, M = g.n.shape
    B = M // b
    count = g.n.reshape(F, B, b).sum(axis=2)
    total = daily.classes(g)["dur_sum"].reshape(F, B, b).sum(axis=2) * (np.ones(F) / 100.0)[:, None]
    out = {}
    for st in stats:
        if st[0] == "SampleCount":
            out[st] = count.astype(np.float64)
        elif st[0] == "Sum":
            out[st] = total
        else:
            out[st] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return count, out


def _ceil_min(t: datetime) -> int:
    return math.ceil(t.timestamp() / 60.0)


class Model:
    """Deterministic model of one simulated account (see the package docstring)."""

    def __init__(self, *, spec, regions: tuple[str, ...], name: str) -> None:
        self.spec = spec
        self.regions = tuple(regions)
        self.account_name = name
        self.account_id = getattr(spec, "aws_account_id", None) or ACCOUNT_ID
        self.seed = int(spec.seed)
        self.specs: tuple[FunctionSpec, ...] = build_catalog(
            functions=spec.functions, seed=self.seed, regions=self.regions
        )
        if self.account_id != ACCOUNT_ID:
            self.specs = tuple(replace(s, account_id=self.account_id) for s in self.specs)
        extra = tuple(getattr(spec, "extra_tags", ()) or ())
        if extra:  # every function carries these tags too (hostile values for the injection tests)
            self.specs = tuple(
                replace(s, tags=tuple({**dict(s.tags), **dict(extra)}.items())) for s in self.specs
            )
        self.params = Params.of(self.specs)
        self._by_name = {(s.region, s.name): s for s in self.specs}
        self._by_group = {(s.region, s.log_group): s for s in self.specs}
        self._lock = threading.Lock()
        self._incidents: dict[datetime, tuple[Incident, ...]] = {}
        self._number = next(_model_numbers)

    # ---- catalog -------------------------------------------------------------------------
    @cached_property
    def functions(self) -> pd.DataFrame:
        """One row per function (configuration and behaviour); read-only."""
        return catalog_frame(self.specs)

    def in_region(self, region: str) -> list[FunctionSpec]:
        return [s for s in self.specs if s.region == region]

    def lookup(self, name_or_arn: str, region: str | None = None) -> FunctionSpec | None:
        """A function by name, ARN (qualifier ignored) or partial ARN, in ``region`` (or any)."""
        name = name_or_arn
        if name.startswith("arn:"):
            parts = name.split(":")
            if len(parts) < 7:
                return None
            region = parts[3] if region is None else region
            if parts[3] != region:
                return None
            name = parts[6]
        elif ":" in name:  # 123456789012:function:name[:qualifier] or name:qualifier
            parts = name.split(":")
            name = parts[2] if len(parts) >= 3 and parts[1] == "function" else parts[0]
        if region is not None:
            return self._by_name.get((region, name))
        for r in self.regions:
            s = self._by_name.get((r, name))
            if s is not None:
                return s
        return None

    def by_log_group(self, group: str, region: str) -> FunctionSpec | None:
        if group.startswith("arn:"):
            # arn:aws:logs:<region>:<acct>:log-group:<name>[:*]
            parts = group.split(":")
            if len(parts) < 7 or parts[3] != region:
                return None
            group = parts[6]
        return self._by_group.get((region, group))

    # ---- time ----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The account's own fixed clock (``SimSpec.now``) when it has one, else the simulator's clock."""
        return self.spec.now or clock.now()

    def incident_objects(self, anchor: datetime | None = None) -> tuple[Incident, ...]:
        a = clock.anchor(self.now()) if anchor is None else anchor
        with self._lock:
            got = self._incidents.get(a)
            if got is None:
                if len(self._incidents) > 4:
                    self._incidents.clear()
                got = self._incidents[a] = place_incidents(self.specs, a)
        return got

    @property
    def incidents(self) -> list[dict]:
        """The seeded incidents at the current clock (function, region, kind, start, end, detail)."""
        return [i.as_dict() for i in self.incident_objects()]

    def window(self, now: datetime | None = None) -> tuple[int, int]:
        """Minutes that have data: [ceil(now - 30 d), floor(now)) (complete minutes only)."""
        t = self.now() if now is None else now
        return _ceil_min(t - clock.HISTORY), int(t.timestamp() // 60)

    # ---- activity ------------------------------------------------------------------------
    def grid(
        self,
        rows: Sequence[int] | np.ndarray,
        m0: int,
        m1: int,
        *,
        valid: tuple[int, int],
        anchor: datetime,
        now: datetime | None = None,
    ) -> Grid:
        """Activity of catalog functions ``rows`` over minutes [m0, m1) (cached, small LRU).

        With ``now`` (the clock the answer is for), minutes of the last two days come from the window of
        recent minutes (:mod:`aws.sim.recent`), generated once per function.
        """
        rows = np.asarray(rows, dtype=np.int64)
        g = recent.grid(self, rows, m0, m1, valid=valid, anchor=anchor, now=now)
        if g is not None:
            return g
        key = (self._number, rows.tobytes(), int(m0), int(m1), valid, anchor)
        with _grids_lock:
            g = _grids.get(key)
            if g is not None:
                _grids.move_to_end(key)
                return g
        g = build_grid(
            params=self.params.take(rows),
            seed=self.seed,
            m0=m0,
            m1=m1,
            incidents=self.incident_objects(anchor),
            valid=valid,
        )
        cells = len(rows) * max(0, int(m1) - int(m0))
        if cells <= _GRID_CACHE_CELLS:
            with _grids_lock:
                _grids[key] = g
                while sum(v.n.size for v in _grids.values()) > _GRID_CACHE_CELLS:
                    _grids.popitem(last=False)
        return g

    def grids(
        self,
        rows: Sequence[int],
        m0: int,
        m1: int,
        *,
        valid: tuple[int, int],
        anchor: datetime,
        budget: int = 1_000_000,
        now: datetime | None = None,
    ) -> Iterable[tuple[np.ndarray, Grid]]:
        """Grids for ``rows`` in chunks small enough to be fast; yields (rows of the chunk, grid)."""
        rows = np.asarray(rows, dtype=np.int64)
        if now is not None and len(rows) and recent.covers(self, m0, m1, valid, now):
            recent.grid(self, rows, m0, m1, valid=valid, anchor=anchor, now=now)  # every row generated at once
        for sl in chunks(len(rows), max(1, m1 - m0), budget):
            part = rows[sl]
            yield part, self.grid(part, m0, m1, valid=valid, anchor=anchor, now=now)

    # ---- CloudWatch ----------------------------------------------------------------------
    def evaluate(
        self, requests: Sequence[MetricRequest], *, start: datetime, end: datetime, now: datetime | None = None
    ) -> dict[MetricRequest, tuple[np.ndarray, dict]]:
        """CloudWatch's answer for each request: (bin start epoch seconds, {stat: values}).

        Only bins with samples are returned; retention by period and the simulated history (clock.HISTORY) apply.
        """
        now = self.now() if now is None else now
        anchor = clock.anchor(now)
        lo_hist, hi_hist = self.window(now)
        out: dict[MetricRequest, tuple[np.ndarray, dict]] = {}
        by_period: dict[int, list[MetricRequest]] = {}
        for r in requests:
            by_period.setdefault(r.period, []).append(r)
        ms, me = _ceil_min(start), _ceil_min(end)
        for period, reqs in by_period.items():
            lo = max(ms, lo_hist, _ceil_min(retention_start(period, now)))
            hi = min(me, hi_hist)
            if hi <= lo:
                for r in reqs:
                    out[r] = (np.zeros(0, np.int64), {st: np.zeros(0) for st in r.stats})
                continue
            if period >= 60:
                # CloudWatch lines periods up on the (minute-rounded) StartTime, not on midnight:
                # a period as long as the range gives one datapoint
                b = period // 60
                a0 = ms + (lo - ms) // b * b
                a1 = a0 + -(-(hi - a0) // b) * b
            else:
                b, a0, a1 = 1, lo, hi
            if period == 86400 and a0 % 1440 == 0:
                # one-day bins from 00:00 UTC: the daily totals (aws.sim.daily), shared with the bill
                by_day = [r for r in reqs if daily.served(r.metric, r.stats)]
                if by_day:
                    out.update(self._evaluate_days(by_day, a0, a1, lo, hi, anchor, now))
                    reqs = [r for r in reqs if r not in out]
                    if not reqs:
                        continue
            fset = sorted({r.fidx for r in reqs})
            wanted: dict[tuple[int, Metric], set] = {}
            for r in reqs:
                wanted.setdefault((r.fidx, r.metric), set()).update(r.stats)
            results: dict[tuple[int, Metric], tuple[np.ndarray, dict]] = {}
            for part, g in self.grids(fset, a0, a1, valid=(lo, hi), anchor=anchor, now=now):
                here = set(part.tolist())
                metrics = {m for (f, m) in wanted if f in here}
                for metric in metrics:
                    rows_here = [i for i, f in enumerate(part) if (int(f), metric) in wanted]
                    stats = set().union(*(wanted[(int(part[i]), metric)] for i in rows_here))
                    if metric.name == "Duration" and stats <= _DURATION_TOTALS:
                        # counts, sums and averages of Duration from the class-by-class sums (aws.sim.daily)
                        count, vals = _duration_totals(g, b, sorted(stats, key=str))
                        sel = np.array(rows_here)
                        count, vals = count[sel], {st: v[sel] for st, v in vals.items()}
                        ts = (a0 + np.arange(count.shape[1]) * b) * 60
                        for j, i in enumerate(rows_here):
                            have = count[j] > 0
                            results[(int(part[i]), metric)] = (ts[have], {st: v[j][have] for st, v in vals.items()})
                        continue
                    keys, w, scale = metric.keys(g)
                    if len(rows_here) == len(part):  # every row of the chunk: no copies
                        keys_s, w_s, scale_s = keys, w, scale
                    else:
                        sel = np.array(rows_here)
                        keys_s, w_s, scale_s = (keys[sel] if keys.shape[0] > 1 else keys), w[sel], scale[sel]
                    count, vals = reduce_bins(keys_s, w_s, scale_s, b=b, stats=sorted(stats, key=str))
                    ts = (a0 + np.arange(count.shape[1]) * b) * 60
                    for j, i in enumerate(rows_here):
                        have = count[j] > 0
                        results[(int(part[i]), metric)] = (ts[have], {st: v[j][have] for st, v in vals.items()})
            for r in reqs:
                ts, vals = results[(r.fidx, r.metric)]
                out[r] = (ts, {st: vals[st] for st in r.stats})
        return out

    def _evaluate_days(
        self, reqs: list[MetricRequest], a0: int, a1: int, lo: int, hi: int, anchor: datetime, now: datetime
    ) -> dict[MetricRequest, tuple[np.ndarray, dict]]:
        """``evaluate`` for one-day bins from 00:00 UTC over minutes [a0, a1), valid [lo, hi)."""
        rows = np.array(sorted({r.fidx for r in reqs}), dtype=np.int64)
        where = {int(f): j for j, f in enumerate(rows)}
        days = [
            daily.day(self, d, max(d, lo), min(d + 1440, hi), anchor, rows, now=now) for d in range(a0, a1, 1440)
        ]
        ts = np.arange(a0, a1, 1440, dtype=np.int64) * 60
        count: dict[Metric, np.ndarray] = {}
        values: dict[tuple[Metric, tuple], np.ndarray] = {}
        out: dict[MetricRequest, tuple[np.ndarray, dict]] = {}
        for r in reqs:
            m = r.metric
            if m not in count:
                count[m] = np.stack([d.metric(m, ("SampleCount", None), rows) for d in days], axis=1)
            for st in r.stats:
                if (m, st) not in values:
                    values[(m, st)] = np.stack([d.metric(m, st, rows) for d in days], axis=1)
            j = where[r.fidx]
            have = count[m][j] > 0
            out[r] = (ts[have], {st: values[(m, st)][j][have] for st in r.stats})
        return out

    def metric(
        self,
        function: str,
        metric: str,
        stat: str,
        *,
        start: datetime,
        end: datetime,
        period: int,
        namespace: str = "AWS/Lambda",
        region: str | None = None,
    ) -> pd.Series:
        """Exactly what CloudWatch answers for one metric and statistic: values indexed by UTC timestamp."""
        spec = self._need(function, region)
        m = METRICS[(namespace, metric)]
        st = parse_stat(stat)
        if st is None:
            raise ValueError(f"unknown statistic {stat!r}")
        req = MetricRequest(spec.index, m, int(period), (st,))
        ts, vals = self.evaluate([req], start=start, end=end)[req]
        return pd.Series(vals[st], index=pd.to_datetime(ts, unit="s", utc=True), name=f"{metric}:{stat}", dtype=float)

    def series(
        self, function: str, *, start: datetime, end: datetime, period: int = 60, region: str | None = None
    ) -> pd.DataFrame:
        """The truth per period bin that has invocations or throttles, as CloudWatch would answer it.

        Columns: timestamp, invocations, errors, throttles, timeouts, cold_starts, duration_avg_ms,
        duration_p50_ms, duration_p90_ms, duration_p99_ms, duration_max_ms, concurrency_max,
        iterator_age_max_ms, async_event_age_max_ms, pc_utilization_max, billed_ms_sum, gb_seconds,
        used_mb_max, used_mb_mean, init_ms_mean (NaN where the function has no such metric or no cold start).
        """
        spec = self._need(function, region)
        lam = "AWS/Lambda"
        p = lambda q: ("p", float(q))  # noqa: E731
        cols = {
            "invocations": (lam, "Invocations", ("Sum", None)),
            "errors": (lam, "Errors", ("Sum", None)),
            "throttles": (lam, "Throttles", ("Sum", None)),
            "duration_avg_ms": (lam, "Duration", ("Average", None)),
            "duration_p50_ms": (lam, "Duration", p(50)),
            "duration_p90_ms": (lam, "Duration", p(90)),
            "duration_p99_ms": (lam, "Duration", p(99)),
            "duration_max_ms": (lam, "Duration", ("Maximum", None)),
            "concurrency_max": (lam, "ConcurrentExecutions", ("Maximum", None)),
            "iterator_age_max_ms": (lam, "IteratorAge", ("Maximum", None)),
            "async_event_age_max_ms": (lam, "AsyncEventAge", ("Maximum", None)),
            "pc_utilization_max": (lam, "ProvisionedConcurrencyUtilization", ("Maximum", None)),
        }
        reqs: dict[tuple[str, str], MetricRequest] = {}
        for ns, name, st in cols.values():
            m = METRICS[(ns, name)]
            key = (ns, name)
            prev = reqs.get(key)
            stats = (prev.stats if prev else ()) + (st,)
            reqs[key] = MetricRequest(spec.index, m, int(period), stats)
        got = self.evaluate(list(reqs.values()), start=start, end=end)
        frames = []
        for col, (ns, name, st) in cols.items():
            ts, vals = got[reqs[(ns, name)]]
            frames.append(pd.Series(vals[st], index=ts, name=col, dtype=float))
        frame = pd.concat(frames, axis=1).sort_index()
        extra = self.bin_totals(spec, start=start, end=end, period=period)
        frame = frame.join(extra, how="left")
        frame.index = pd.to_datetime(frame.index, unit="s", utc=True)
        frame.index.name = "timestamp"
        return frame.reset_index()

    def bin_totals(self, spec: FunctionSpec, *, start: datetime, end: datetime, period: int) -> pd.DataFrame:
        """Per-bin log-side totals (timeouts, cold starts, billed ms, GB-s, memory, init), CloudWatch retention."""
        now = self.now()
        lo_hist, hi_hist = self.window(now)
        lo = max(_ceil_min(start), lo_hist, _ceil_min(retention_start(period, now)))
        hi = min(_ceil_min(end), hi_hist)
        cols = ["timeouts", "cold_starts", "billed_ms_sum", "gb_seconds", "used_mb_max", "used_mb_mean", "init_ms_mean"]
        if hi <= lo:
            return pd.DataFrame(columns=cols, dtype=float)
        b = max(1, period // 60)
        ms = _ceil_min(start)  # periods line up on the start, as in evaluate()
        a0 = ms + (lo - ms) // b * b if period >= 60 else lo
        a1 = a0 + -(-(hi - a0) // b) * b if period >= 60 else hi
        g = self.grid([spec.index], a0, a1, valid=(lo, hi), anchor=clock.anchor(now))
        B = (a1 - a0) // b

        def binned(x):
            return x[0].reshape(B, -1).sum(axis=1) if x.ndim == 2 else x[0].reshape(B, -1, x.shape[2]).sum(axis=1)

        n = binned(g.n)
        cold = binned(g.cold)
        billed = binned(g.billed_ms)
        used = g.used_mb[0].reshape(B, -1)
        cnt = g.cnt[0].reshape(B, -1)
        used_max = np.where(cnt > 0, used, 0).max(axis=1).astype(float)
        used_sum = (used * cnt).sum(axis=1)
        init_sum = binned(g.init_cms * g.cold) / 100.0
        ts = (a0 + np.arange(B) * b) * 60
        frame = pd.DataFrame(
            {
                "timeouts": binned(g.timeouts).astype(float),
                "cold_starts": cold.astype(float),
                "billed_ms_sum": billed.astype(float),
                "gb_seconds": billed * spec.memory_mb / 1_024_000.0,
                "used_mb_max": np.where(n > 0, used_max, np.nan),
                "used_mb_mean": np.divide(used_sum, n, out=np.full(B, np.nan), where=n > 0),
                "init_ms_mean": np.divide(init_sum, cold, out=np.full(B, np.nan), where=cold > 0),
            },
            index=ts,
        )
        return frame[(n > 0) | (binned(g.throttles) > 0)]

    def _need(self, function: str, region: str | None) -> FunctionSpec:
        spec = self.lookup(function, region)
        if spec is None:
            raise KeyError(f"no simulated function {function!r}" + (f" in {region}" if region else ""))
        return spec

    # ---- logs and costs (see aws.sim.reports / aws.sim.billing) --------------------------
    def report_lines(self, function: str, *, start: datetime, end: datetime, region: str | None = None) -> list[str]:
        """The function's REPORT log lines with timestamps in [start, end) (events' messages, in order)."""
        from aws.sim import reports

        spec = self._need(function, region)
        return [
            e["message"]
            for e in reports.events(
                self, spec, start_ms=int(start.timestamp() * 1000), end_ms=int(end.timestamp() * 1000) - 1, now=self.now()
            )
        ]

    def daily_costs(self, *, start: date | None = None, end: date | None = None) -> pd.DataFrame:
        """Cost truth: one row per (day, function, usage type) — see :func:`aws.sim.billing.daily_costs`."""
        from aws.sim import billing

        return billing.daily_costs(self, start=start, end=end, now=self.now())


_models: dict[tuple, Model] = {}
_models_lock = threading.Lock()


def model_for(account) -> Model:
    """The model of a demo account (cached per (sim spec, regions, account name))."""
    key = (account.sim, tuple(account.regions), account.name)
    with _models_lock:
        m = _models.get(key)
        if m is None:
            if len(_models) > 16:
                _models.clear()
            m = _models[key] = Model(spec=account.sim, regions=tuple(account.regions), name=account.name)
    return m
