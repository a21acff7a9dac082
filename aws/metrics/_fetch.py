"""The CloudWatch calls and the frame assembly shared by every metrics collector.

- :func:`list_metrics`: yields ListMetrics records, all pages;
- :func:`get_metric_data`: packs queries into GetMetricData calls (:func:`plan_calls`),
  issues them concurrently on a small pool, follows ``NextToken`` and collects each
  query's timestamps and values;
- :func:`run_concurrently`: the pool (≤ :data:`MAX_WORKERS` threads; GetMetricData allows 50 TPS);
- :func:`assemble`: series → one wide frame, one row per (function, timestamp) with data.

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
    status: str = "Complete"

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

    def fetch(batch: list[int]) -> None:
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

    run_concurrently(fetch, batches)
    return results


def incomplete(queries: Sequence[Query], results: Sequence[Series]) -> list[tuple[str, str]]:
    """(function, column) pairs whose answer was not Complete (InternalError, Forbidden, PartialData)."""
    bad = sorted({(q.function, q.column) for q, s in zip(queries, results, strict=True) if s.status != "Complete"})
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
