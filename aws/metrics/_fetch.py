"""The CloudWatch calls and the frame assembly shared by every metrics collector.

- :func:`list_metrics`: yields ListMetrics records, all pages;
- :func:`get_metric_data`: packs queries into GetMetricData calls (:func:`plan_calls`),
  issues them concurrently on a small pool, follows ``NextToken`` and collects each
  query's timestamps and values;
- :func:`run_concurrently`: the pool (≤ :data:`MAX_WORKERS` threads; GetMetricData allows 50 TPS);
- :func:`assemble`: series → one wide frame, one row per (function, timestamp) with data;
- :func:`refused_statistic`, :func:`refusals`: the percentiles an endpoint refused.

Percentiles refused. A GetMetricData error answers the whole call, so an endpoint that refuses
a percentile statistic (moto 5.2.5 answers any pNN with an HTTP 500 page; an account or region
may refuse one as InvalidParameterValue) would take the counts asked in the same call with it.
The percentile queries stay in the same calls as the counts: apart, they would cost calls on
every refresh (measured with the simulated account: 15 GetMetricData calls instead of 14 for
100 functions × 2 regions over 24 h, 21 instead of 19 over 7 d, 136 / 190 instead of 135 / 188
for 1,000 functions; a small account's one call becomes two), while the packing of
:func:`plan_calls` already meets the lower bound. Only a call that fails with a refusal the
statistic can cause (:func:`refused_statistic`: InvalidRequest or HTTP 500, never denial,
throttling, credentials, an unreachable endpoint or another bad answer) is asked once more
without its percentile queries — the same limits hold, as it is a subset. If that succeeds the
percentiles are unknown (series status ``"Refused"``, the frames' ``unknown_columns`` and one
warning); if it fails too, the first error fails the part as before. The normal path makes exactly
the calls it made before; a refusing endpoint costs one more call per call refused.

botocore failures leave here as :mod:`aws.errors` types, raised ``from`` the original.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import botocore.exceptions as bce
import numpy as np
import pandas as pd

from aws import concurrency, errors, session
from aws.frames import typed_frame
from aws.metrics._specs import Query
from aws.metrics._time import plan_calls
from aws.session import Account

__all__ = [
    "MAX_WORKERS",
    "Series",
    "translated",
    "run_concurrently",
    "list_metrics",
    "get_metric_data",
    "refused_statistic",
    "refusals",
    "incomplete",
    "assemble",
]

log = logging.getLogger(__name__)

MAX_WORKERS = 8  # threads per account × region; GetMetricData allows 50 TPS, ListMetrics 25

T = TypeVar("T")
R = TypeVar("R")

_BOTO_ERRORS = (bce.ClientError, bce.BotoCoreError)


@dataclass
class Series:
    """The datapoints CloudWatch returned for one query (pages appended in order).

    Each page is kept as numpy arrays (epoch ns, float64) as soon as it arrives: 16 bytes a
    datapoint instead of a datetime and a float object each — 15 M datapoints (1,000 functions
    over 7 d) would otherwise hold over a gigabyte until the frame is built.
    """

    ts_chunks: list = field(default_factory=list)
    value_chunks: list = field(default_factory=list)
    status: str = "Complete"  # or PartialData, InternalError, Forbidden (CloudWatch's), Refused (ours: see get_metric_data)
    refusal: errors.AwsError | None = None  # why a Refused series was not answered

    def add(self, timestamps, values) -> None:
        if len(timestamps) != len(values):
            raise ValueError("CloudWatch answered a series with different numbers of timestamps and values")
        if len(values):
            self.ts_chunks.append(_to_ns(list(timestamps)))
            self.value_chunks.append(np.asarray(values, dtype="float64"))

    def __len__(self) -> int:
        return sum(len(v) for v in self.value_chunks)

    @property
    def values(self) -> np.ndarray:
        return np.concatenate(self.value_chunks) if self.value_chunks else np.empty(0)

    @property
    def ts_ns(self) -> np.ndarray:
        return np.concatenate(self.ts_chunks) if self.ts_chunks else np.empty(0, dtype="int64")


@contextmanager
def translated(*, account: Account, region: str, operation: str, service: str = "cloudwatch") -> Iterator[None]:
    """Inside, botocore errors become :mod:`aws.errors` types, raised ``from`` the original."""
    try:
        yield
    except _BOTO_ERRORS as e:
        raise errors.translate(e, service=service, operation=operation, account=account.name, region=region) from e


def run_concurrently(fn: Callable[[T], R], items: Sequence[T], *, max_workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]`` on a small thread pool (at most :data:`MAX_WORKERS` threads)."""
    return concurrency.run_concurrently(fn, items, max_workers=MAX_WORKERS if max_workers is None else max_workers, name="cloudwatch")


def list_metrics(*, account: Account, region: str, namespace: str, metric_name: str) -> Iterator[dict]:
    """Every ListMetrics record (``{Namespace, MetricName, Dimensions}``) of one metric name, all pages."""
    cw = session.client(account, "cloudwatch", region)
    with translated(account=account, region=region, operation="ListMetrics"):
        paginator = cw.get_paginator("list_metrics")
        for page in paginator.paginate(Namespace=namespace, MetricName=metric_name):
            yield from page.get("Metrics", ())


def get_metric_data(
    *,
    account: Account,
    region: str,
    queries: Sequence[Query],
    start: datetime,
    end: datetime,
    period: int,
    points: int,
) -> list[Series]:
    """One :class:`Series` per query (same order), fetched in as few GetMetricData calls as possible.

    ``start``/``end`` are already aligned to ``period``; ``points`` is the number of periods
    between them (what each query counts against the 100,800 datapoints of a call).

    A call refused in a way a percentile can cause (:func:`refused_statistic`) is asked once more
    without its percentile queries; if that succeeds, the percentiles' series are empty with status
    ``"Refused"`` and the refusal in ``Series.refusal`` (see :func:`refusals`). Any other failure,
    or a failure of the second call, fails the whole request as before.
    """
    if not queries:
        return []
    cw = session.client(account, "cloudwatch", region)
    batches: list[list[int]] = []
    offset = 0
    for size in plan_calls(len(queries), points):
        batches.append(list(range(offset, offset + size)))
        offset += size
    results = [Series() for _ in queries]

    def ask(batch: list[int]) -> None:
        ids = {f"q{i}": i for i in batch}
        params = {
            "MetricDataQueries": [queries[i].metric_data_query(f"q{i}", period) for i in batch],
            "StartTime": start,
            "EndTime": end,
        }
        with translated(account=account, region=region, operation="GetMetricData"):
            for page in cw.get_paginator("get_metric_data").paginate(**params):
                for message in page.get("Messages", ()):
                    log.warning("GetMetricData in %s/%s: %s", account.name, region, message)
                for r in page.get("MetricDataResults", ()):
                    i = ids.get(r.get("Id", ""))
                    if i is None:
                        log.warning("GetMetricData answered an unknown query id %r", r.get("Id"))
                        continue
                    s = results[i]
                    s.add(r.get("Timestamps", ()), r.get("Values", ()))
                    if s.status in ("Complete", "PartialData"):  # an error status sticks
                        s.status = r.get("StatusCode", "Complete")

    def fetch(batch: list[int]) -> None:
        try:
            ask(batch)
        except errors.AwsError as refusal:
            plain = [i for i in batch if not queries[i].extended]
            if not refused_statistic(refusal) or len(plain) == len(batch) or not plain:
                raise
            for i in batch:  # pages read before the refusal are asked again
                results[i] = Series()
            try:
                ask(plain)
                confirmed = True
            except errors.AwsError:
                confirmed = False
            if not confirmed:
                raise refusal  # the percentiles were not the cause: the call's own failure stands
            log.info("GetMetricData in %s/%s refused percentiles (%s); asked again without them", account.name, region, refusal)
            for i in set(batch) - set(plain):
                results[i].status = "Refused"
                results[i].refusal = refusal

    run_concurrently(fetch, batches)
    return results


def refused_statistic(e: errors.AwsError) -> bool:
    """Whether a failed GetMetricData may be a refusal of its percentile statistics.

    Narrow: AWS refusing the request (:class:`aws.errors.InvalidRequest`: InvalidParameterValue,
    InternalFailure, ...) or an HTTP 500 whatever its body (moto 5.2.5 answers any percentile with
    its HTML 500 page). Denial, throttling, credentials, an unreachable endpoint and every other bad
    answer (a 200 page, a proxy's 403/502, a cut-short body) are the endpoint's, not the statistic's.
    """
    if isinstance(e, errors.InvalidRequest):
        return True
    return isinstance(e, errors.BadResponse) and e.status == 500


def refusals(
    *, account: Account, region: str, queries: Sequence[Query], results: Sequence[Series]
) -> tuple[list[str], tuple[str, ...]]:
    """``(warnings, unknown columns)`` of the queries whose statistic CloudWatch refused (status ``"Refused"``).

    One sentence per metric, e.g. "CloudWatch in prod/us-east-1 refused the Duration percentiles
    (p50, p90, p99): HTTP 500 text/html, not an AWS response; they are shown as unknown."
    """
    by_metric: dict[str, dict[str, None]] = {}
    columns: dict[str, None] = {}
    reason: dict[str, str] = {}
    for q, s in zip(queries, results, strict=True):
        if s.status != "Refused":
            continue
        by_metric.setdefault(q.metric, {})[q.stat] = None
        columns[q.column] = None
        if q.metric not in reason and s.refusal is not None:
            reason[q.metric] = s.refusal.detail or str(s.refusal)
    warnings = [
        f"CloudWatch in {account.name}/{region} refused the {metric} percentiles ({', '.join(stats)}): "
        f"{errors.short(reason.get(metric, 'refused'))}; they are shown as unknown."
        for metric, stats in by_metric.items()
    ]
    return warnings, tuple(columns)


def incomplete(queries: Sequence[Query], results: Sequence[Series]) -> list[tuple[str, str]]:
    """(function, column) pairs whose answer was not Complete (InternalError, Forbidden, PartialData); refused ones are :func:`refusals`'."""
    bad = sorted(
        {(q.function, q.column) for q, s in zip(queries, results, strict=True) if s.status not in ("Complete", "Refused")}
    )
    for fn, col in bad:
        log.warning("CloudWatch returned incomplete data for %s %s; missing points read as NaN", fn, col)
    return bad


def _to_ns(timestamps: list) -> np.ndarray:
    """Epoch nanoseconds of botocore's timestamps (tz-aware datetimes)."""
    if not timestamps:
        return np.empty(0, dtype="int64")
    idx = pd.DatetimeIndex(np.asarray(timestamps, dtype=object))
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return idx.as_unit("ns").asi8


def _slots(ts_ns: np.ndarray, period: int) -> tuple[np.ndarray, np.ndarray]:
    """``(slot times, slot index of each timestamp)``: a period grid when timestamps sit on it, else the distinct times."""
    step = period * 1_000_000_000
    origin = int(ts_ns.min())
    offsets = ts_ns - origin
    if not (offsets % step).any():
        codes = offsets // step
        return origin + np.arange(int(codes.max()) + 1, dtype="int64") * step, codes
    return np.unique(ts_ns, return_inverse=True)


def assemble(
    *,
    account: Account,
    region: str,
    period: int,
    schema: Mapping[str, str],
    series: Sequence[tuple[Query, Series]],
) -> pd.DataFrame:
    """One wide frame: a row per (function, timestamp) that has any datapoint, NaN where a column has none.

    Several series feeding one (function, column) (e.g. per-alias series of a Maximum) are
    combined with their maximum.
    """
    value_cols = [c for c, t in schema.items() if t == "float64"]
    col_index = {c: k for k, c in enumerate(value_cols)}
    used = [(q, s) for q, s in series if len(s)]
    if not used:
        return typed_frame([], schema)
    functions = sorted({q.function for q, _ in used})
    fn_index = {f: k for k, f in enumerate(functions)}
    lengths = np.fromiter((len(s) for _, s in used), dtype="int64", count=len(used))
    fn_codes = np.repeat(np.fromiter((fn_index[q.function] for q, _ in used), dtype="int64", count=len(used)), lengths)
    col_codes = np.repeat(np.fromiter((col_index[q.column] for q, _ in used), dtype="int64", count=len(used)), lengths)
    ts_ns = np.concatenate([c for _, s in used for c in s.ts_chunks])
    values = np.concatenate([c for _, s in used for c in s.value_chunks])
    slot_times, ts_codes = _slots(ts_ns, period)
    n_slots = len(slot_times)
    keys = fn_codes * n_slots + ts_codes
    if len(functions) * n_slots <= 4 * len(keys) + 1_000_000:  # dense marks: O(n), no sort
        present = np.zeros(len(functions) * n_slots, dtype=bool)
        present[keys] = True
        row_keys = np.flatnonzero(present)
        rows = (np.cumsum(present) - 1)[keys]
    else:
        row_keys, rows = np.unique(keys, return_inverse=True)
    table = np.full((len(row_keys), len(value_cols)), np.nan)
    if len({(q.function, q.column) for q, _ in used}) < len(used):
        np.fmax.at(table, (rows, col_codes), values)  # several series feed one cell: keep the maximum
    else:
        table[rows, col_codes] = values
    n = len(row_keys)
    out: dict[str, Any] = {
        "account": pd.array(np.full(n, account.name, dtype=object), dtype="string"),
        "region": pd.array(np.full(n, region, dtype=object), dtype="string"),
        "function": pd.array(np.asarray(functions, dtype=object)[row_keys // n_slots], dtype="string"),
        "timestamp": pd.DatetimeIndex(slot_times[row_keys % n_slots], tz="UTC").as_unit("ns"),
        "period_s": np.full(n, period, dtype="int64"),
    }
    for c, k in col_index.items():
        out[c] = table[:, k]
    frame = pd.DataFrame(out)
    if {c: str(t) for c, t in frame.dtypes.items()} != dict(schema):  # a schema this builder does not know
        frame = typed_frame(frame, schema)
    return frame
