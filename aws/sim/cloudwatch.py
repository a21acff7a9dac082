"""CloudWatch: GetMetricData, GetMetricStatistics and ListMetrics for the simulated functions.

Limits as AWS enforces them: ≤ 500 queries a GetMetricData call, ≤ 100,800 datapoints a
page (``MaxDatapoints``, paging with ``NextToken`` split in query order), ≤ 1,440
datapoints a GetMetricStatistics call, retention by period (< 60 s: 3 h; 60 s: 15 days;
300 s: 63 days), 500 metrics a ListMetrics page. Metric math (``Expression``) is not
simulated and is refused with ``UnsupportedOperation``.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

import numpy as np
from botocore.utils import parse_to_aware_datetime
from dateutil.tz import tzutc

from aws.sim import tokens
from aws.sim.metrics import METRICS, STANDARD_STATS, Metric, parse_stat
from aws.sim.model import MetricRequest
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

__all__ = ["MAX_QUERIES", "MAX_DATAPOINTS", "MAX_GMS_DATAPOINTS"]

MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
MAX_GMS_DATAPOINTS = 1_440
LIST_PAGE = 500
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_UTC = tzutc()
_HIGH_RES = (1, 5, 10, 20, 30)


def _time(value) -> datetime:
    return parse_to_aware_datetime(value).astimezone(_UTC)


def _check_period(period: int, where: str) -> None:
    if period <= 0 or (period not in _HIGH_RES and period % 60 != 0):
        raise ApiError(
            "InvalidParameterValue",
            f"The parameter {where} must be 1, 5, 10, 20, 30, 60, or any multiple of 60.",
        )


def _function_of(call: Call, metric: Metric, dimensions: list[dict]) -> int | None:
    """Catalog index of the function a metric's dimensions name (None: no such series)."""
    if len(dimensions) != 1 or dimensions[0].get("Name") != metric.dimension:
        return None
    spec = call.model.lookup(dimensions[0].get("Value", ""), call.region)
    if spec is None or not metric.exists_for(spec):
        return None
    return spec.index


class _Timestamps:
    """Shared datetime objects per epoch second (one object per bin, reused across queries).

    A series is usually a contiguous run of bins: then its list is a slice of one prebuilt list.
    """

    def __init__(self) -> None:
        self._d: dict[int, datetime] = {}
        self._grid: np.ndarray | None = None
        self._objs: list[datetime] = []

    def prepare(self, series: list[np.ndarray]) -> None:
        allts = [ts for ts in series if len(ts)]
        if not allts:
            return
        lo = min(int(ts.min()) for ts in allts)
        hi = max(int(ts.max()) for ts in allts)
        steps = [int(abs(ts[1] - ts[0])) for ts in allts if len(ts) > 1]
        step = int(np.gcd.reduce(np.array(steps, dtype=np.int64))) if steps else 60
        if (hi - lo) // max(step, 1) > 500_000:
            grid = np.unique(np.concatenate(allts))
        else:
            grid = np.arange(lo, hi + step, step, dtype=np.int64)
        self._grid = grid
        self._objs = [datetime.fromtimestamp(int(s), _UTC) for s in grid.tolist()]

    def __call__(self, secs: np.ndarray) -> list[datetime]:
        n = len(secs)
        if n == 0:
            return []
        if self._grid is not None:
            pos = np.searchsorted(self._grid, secs)
            if pos[-1] < len(self._grid) and (self._grid[np.minimum(pos, len(self._grid) - 1)] == secs).all():
                a, b = int(pos[0]), int(pos[-1])
                if b - a == n - 1:
                    return self._objs[a : b + 1]
                if a - b == n - 1:
                    return self._objs[b : a + 1][::-1]
                objs = self._objs
                return [objs[i] for i in pos.tolist()]
        d = self._d
        out = []
        for s in secs.tolist():
            t = d.get(s)
            if t is None:
                t = d[s] = datetime.fromtimestamp(s, _UTC)
            out.append(t)
        return out


_cache_lock = threading.Lock()
# The answers being paged through (NextToken), for every simulated account together: kept per account they
# grew with every configured account. 16 covers the parts a refresh pages through at once; an answer dropped
# before its last page is computed again (the same answer: the model is deterministic).
_pages: OrderedDict[tuple, object] = OrderedDict()
_PAGES_KEPT = 16


def _cached(call: Call, key: str, compute):
    full = (call.account.name, call.account.sim.account_id, call.region, key)
    with _cache_lock:
        if full in _pages:
            _pages.move_to_end(full)
            return _pages[full]
    value = compute()
    with _cache_lock:
        _pages[full] = value
        while len(_pages) > _PAGES_KEPT:
            _pages.popitem(last=False)
    return value


@handles("cloudwatch", "GetMetricData")
def get_metric_data(call: Call, params: dict) -> dict:
    queries = params.get("MetricDataQueries") or []
    if len(queries) > MAX_QUERIES:
        raise ApiError(
            "ValidationError", f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )
    if not queries:
        raise ApiError("ValidationError", "The collection MetricDataQueries must not be empty.")
    start, end = _time(params["StartTime"]), _time(params["EndTime"])
    if start >= end:
        raise ApiError("ValidationError", "The parameter StartTime must be less than the parameter EndTime.")
    max_points = min(int(params.get("MaxDatapoints") or MAX_DATAPOINTS), MAX_DATAPOINTS)
    descending = params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    fp = tokens.fingerprint(params, drop=("NextToken",))
    pos = tokens.read(params.get("NextToken"), fp)
    offset = int(pos["o"]) if pos else 0

    parsed = []
    seen: set[str] = set()
    for i, q in enumerate(queries, start=1):
        qid = q.get("Id", "")
        if not _ID.match(qid):
            raise ApiError(
                "ValidationError", f"The value {qid} for parameter MetricDataQueries.member.{i}.Id is not valid."
            )
        if qid in seen:
            raise ApiError(
                "ValidationError", f"The value {qid} for parameter MetricDataQueries.member.{i}.Id is duplicated."
            )
        seen.add(qid)
        if "Expression" in q or "MetricStat" not in q:
            raise ApiError(
                "UnsupportedOperation",
                f"the simulated account does not implement cloudwatch GetMetricData metric math (query {qid})",
            )
        ms = q["MetricStat"]
        period = int(ms["Period"])
        _check_period(period, f"MetricDataQueries.member.{i}.MetricStat.Period")
        stat = parse_stat(ms["Stat"])
        if stat is None:
            raise ApiError(
                "ValidationError",
                f"The value {ms['Stat']} for parameter MetricDataQueries.member.{i}.MetricStat.Stat is not "
                f"a valid statistic.",
            )
        m = ms["Metric"]
        metric = METRICS.get((m.get("Namespace", ""), m.get("MetricName", "")))
        fidx = None
        if metric is not None and (not ms.get("Unit") or ms["Unit"] == metric.unit):
            fidx = _function_of(call, metric, m.get("Dimensions") or [])
        label = q.get("Label") or m.get("MetricName", "")
        parsed.append((qid, label, q.get("ReturnData", True), metric, fidx, period, stat))

    def compute():
        reqs = {}
        for _qid, _label, ret, metric, fidx, period, stat in parsed:
            if ret and fidx is not None:
                key = (fidx, metric, period)
                reqs.setdefault(key, set()).add(stat)
        mreqs = {k: MetricRequest(k[0], k[1], k[2], tuple(sorted(v, key=str))) for k, v in reqs.items()}
        got = call.model.evaluate(list(mreqs.values()), start=start, end=end, now=call.now)
        series = []
        for qid, label, ret, metric, fidx, period, stat in parsed:
            if not ret:
                continue
            if fidx is None:
                series.append((qid, label, np.zeros(0, np.int64), np.zeros(0)))
                continue
            ts, vals = got[mreqs[(fidx, metric, period)]]
            v = vals[stat]
            if descending:
                ts, v = ts[::-1], v[::-1]
            series.append((qid, label, ts, v))
        return series

    series = _cached(call, f"{fp}:{call.now.replace(second=0, microsecond=0).isoformat()}", compute)
    stamps = _Timestamps()
    stamps.prepare([ts for _, _, ts, _ in series])
    results = []
    cursor = 0
    page_end = offset + max_points
    total = sum(len(ts) for _, _, ts, _ in series)
    for qid, label, ts, v in series:
        n = len(ts)
        a, b = cursor, cursor + n
        cursor = b
        lo, hi = max(a, offset), min(b, page_end)
        if n == 0:
            include = offset <= a < page_end or (a == page_end and total <= page_end)
        else:
            include = hi > lo
        if not include:
            continue
        part_ts, part_v = ts[lo - a : hi - a], v[lo - a : hi - a]
        results.append(
            {
                "Id": qid,
                "Label": label,
                "Timestamps": stamps(part_ts),
                "Values": part_v.tolist(),
                "StatusCode": "PartialData" if b > page_end else "Complete",
            }
        )
    out: dict = {"MetricDataResults": results, "Messages": []}
    if total > page_end:
        out["NextToken"] = tokens.make({"o": page_end}, fp)
    return out


@handles("cloudwatch", "GetMetricStatistics")
def get_metric_statistics(call: Call, params: dict) -> dict:
    start, end = _time(params["StartTime"]), _time(params["EndTime"])
    if start >= end:
        raise ApiError("InvalidParameterValue", "The parameter StartTime must be less than the parameter EndTime.")
    period = int(params["Period"])
    _check_period(period, "Period")
    statistics = params.get("Statistics") or []
    extended = params.get("ExtendedStatistics") or []
    if bool(statistics) == bool(extended):  # AWS: "either Statistics or ExtendedStatistics, but not both"
        raise ApiError("InvalidParameterCombination", "Must specify either Statistics or ExtendedStatistics, but not both.")
    for i, s in enumerate(statistics, start=1):
        if s not in STANDARD_STATS:
            raise ApiError(
                "InvalidParameterValue",
                f"The parameter Statistics.member.{i} must be a value in the set "
                f"[SampleCount, Average, Sum, Minimum, Maximum].",
            )
    for i, s in enumerate(extended, start=1):
        if parse_stat(s) is None or s in STANDARD_STATS:
            raise ApiError(
                "InvalidParameterValue",
                f"The value {s} for parameter ExtendedStatistics.member.{i} is not a valid statistic.",
            )
    requested = -(-int((end - start).total_seconds()) // period)
    if requested > MAX_GMS_DATAPOINTS:
        raise ApiError(
            "InvalidParameterCombination",
            f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
            f"{MAX_GMS_DATAPOINTS:,}. You may reduce the datapoints requested by increasing Period, "
            f"or decreasing the time range.",
        )
    name = params.get("MetricName", "")
    metric = METRICS.get((params.get("Namespace", ""), name))
    out: dict = {"Label": name, "Datapoints": []}
    if metric is None or (params.get("Unit") and params["Unit"] != metric.unit):
        return out
    fidx = _function_of(call, metric, params.get("Dimensions") or [])
    if fidx is None:
        return out
    stats = [parse_stat(s) for s in list(statistics) + list(extended)]
    req = MetricRequest(fidx, metric, period, tuple(stats))
    ts, vals = call.model.evaluate([req], start=start, end=end, now=call.now)[req]
    stamps = _Timestamps()(ts)
    for i, t in enumerate(stamps):
        dp: dict = {"Timestamp": t, "Unit": metric.unit}
        for s in statistics:
            dp[s] = float(vals[parse_stat(s)][i])
        if extended:
            dp["ExtendedStatistics"] = {s: float(vals[parse_stat(s)][i]) for s in extended}
        out["Datapoints"].append(dp)
    return out


def _active(call: Call, specs, recent: bool) -> set[int]:
    """Functions with any invocation (or throttle) in the last 3 h (recent) or 14 days."""
    now = call.now
    lo_hist, hi = call.model.window(now)
    since = now - (timedelta(hours=3) if recent else timedelta(days=14))
    lo = max(lo_hist, int(since.timestamp() // 60))
    rows = [s.index for s in specs if s.pattern != "idle" and s.rate > 0]
    if not rows or hi <= lo:
        return set()
    if not recent:
        # an ordinary function runs daily at least; only the idle one never does
        return set(rows)
    active: set[int] = set()
    for part, g in call.model.grids(rows, lo, hi, valid=(lo, hi), anchor=_anchor(now), now=now):
        busy = ((g.n + g.throttles) > 0).any(axis=1)
        active.update(int(f) for f, b in zip(part, busy, strict=True) if b)
    return active


def _anchor(now: datetime) -> datetime:
    from aws.sim.clock import anchor

    return anchor(now)


@handles("cloudwatch", "ListMetrics")
def list_metrics(call: Call, params: dict) -> dict:
    ns = params.get("Namespace")
    name = params.get("MetricName")
    dims = params.get("Dimensions") or []
    recent = params.get("RecentlyActive") == "PT3H"
    fp = tokens.fingerprint(params, drop=("NextToken",))
    pos = tokens.read(params.get("NextToken"), fp)
    start = int(pos["i"]) if pos else 0
    specs = call.model.in_region(call.region)
    active = _active(call, specs, recent)
    rows = []
    for metric in METRICS.values():
        if (ns and metric.namespace != ns) or (name and metric.name != name):
            continue
        for s in specs:
            if s.index not in active or not metric.exists_for(s):
                continue
            ok = True
            for d in dims:
                if d.get("Name") != metric.dimension or ("Value" in d and d["Value"] != s.name):
                    ok = False
            if ok:
                rows.append(
                    {
                        "Namespace": metric.namespace,
                        "MetricName": metric.name,
                        "Dimensions": [{"Name": metric.dimension, "Value": s.name}],
                    }
                )
    page = rows[start : start + LIST_PAGE]
    out: dict = {"Metrics": page}
    if start + LIST_PAGE < len(rows):
        out["NextToken"] = tokens.make({"i": start + LIST_PAGE}, fp)
    return out
