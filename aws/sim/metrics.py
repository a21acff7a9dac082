"""CloudWatch metrics of the simulated functions: the registry and the statistics engine.

Every metric is defined on a :class:`~aws.sim.series.Grid` as integer *keys* with
weights (samples) and a per-function scale (value = key × scale): Duration is keyed
in 1/100 ms, memory utilisation by MB used, and so on. Statistics are computed on the
keys, so sums are exact and a percentile is an exact order statistic of the samples
(CloudWatch's nearest-rank definition: the smallest value with at least q % of the
samples at or below it). A datapoint exists only where the bin has samples, as AWS
omits periods without data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from aws.sim import kernels, provisioned
from aws.sim.series import Grid

__all__ = ["METRICS", "Metric", "reduce_bins", "parse_stat", "STANDARD_STATS", "metric_for"]

STANDARD_STATS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PCT = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100(?:\.0+)?)$")


def parse_stat(stat: str) -> tuple[str, float | None] | None:
    """("Sum", None) for a standard statistic, ("p", 99.9) for a percentile, None if unknown."""
    if stat in STANDARD_STATS:
        return stat, None
    m = _PCT.match(stat)
    if m:
        return "p", float(m.group(1))
    return None


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    unit: str
    dimension: str  # FunctionName (AWS/Lambda) or function_name (LambdaInsights)
    applies: str  # "all", "stream", "async", "pc", "insights"

    def exists_for(self, spec) -> bool:
        """Whether the metric exists for a function (ListMetrics), activity aside."""
        return {
            "all": True,
            "stream": spec.stream,
            "async": spec.is_async,
            "pc": bool(spec.provisioned),
            "streaming": spec.stream_bytes > 0,
            "insights": spec.insights,
        }[self.applies]

    def exists_in(self, p) -> np.ndarray:
        """(F,) whether the metric exists for each function of ``p`` (a ``series.Params``): :meth:`exists_for`,
        vectorised; ``keys`` weighs no sample of the others."""
        return self._mask_of(p).astype(bool)

    def keys(self, g: Grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, weights, scale): keys/weights (F, M, j) int64, scale (F,) float (value = key × scale)."""
        p = g.params
        F = g.n.shape[0]
        one = np.ones(F)
        m = self._mask(g)
        if m.all():
            def masked(x):  # every function has the metric: the weights as they are (no copy)
                return x
        else:
            def masked(x):
                return x * m[:, None, None]
        n = g.n[:, :, None]
        name = self.name
        if name == "Invocations" or name == "AsyncEventsReceived":
            return np.ones((1, 1, 1), np.int64), masked(n), one
        if name in ("ProvisionedConcurrencyInvocations", "ProvisionedConcurrencySpilloverInvocations"):
            # one datapoint a minute with invocations while PC is configured; Sum = those on PC / spilled over
            on_pc, spill = provisioned.split(g)
            has = provisioned.levels(p, g.minutes) > 0
            w = np.stack([on_pc * has, spill * has], axis=2)
            first = 1 if name == "ProvisionedConcurrencyInvocations" else 0
            return np.array([first, 1 - first], np.int64)[None, None, :], masked(w), one
        if name == "StreamedOutgoingBytes":
            total, _ = provisioned.streamed(g)
            return total.astype(np.int64)[:, :, None], masked((g.n > 0)[:, :, None]), one
        if name == "Errors":
            w = np.stack([g.n - g.errors, g.errors], axis=2)
            return np.arange(2, dtype=np.int64)[None, None, :], masked(w), one
        if name == "Throttles":
            w = np.stack([g.n, g.throttles], axis=2)
            return np.arange(2, dtype=np.int64)[None, None, :], masked(w), one
        if name in ("DeadLetterErrors", "DestinationDeliveryFailures"):
            return np.zeros((1, 1, 1), np.int64), masked(n), one
        if name == "Duration":
            return g.dur_cms, masked(g.cnt), one / 100.0
        if name == "ConcurrentExecutions":
            return g.conc[:, :, None], masked(((g.n + g.throttles) > 0)[:, :, None]), one
        if name == "IteratorAge":
            return g.iterator_age.astype(np.int64)[:, :, None], masked(n), one
        if name == "AsyncEventAge":
            return g.async_age.astype(np.int64)[:, :, None], masked(n), one
        if name in ("ProvisionedConcurrencyUtilization", "ProvisionedConcurrentExecutions"):
            lv = provisioned.levels(p, g.minutes)
            busy = np.minimum(g.conc, lv)
            if name == "ProvisionedConcurrentExecutions":
                return busy[:, :, None], masked(((g.n > 0) & (lv > 0))[:, :, None]), one
            key = (busy * 10_000 // np.maximum(lv, 1))[:, :, None]  # utilisation in 1/10,000
            return key, masked(((g.n > 0) & (lv > 0))[:, :, None]), one / 10_000.0
        if name == "memory_utilization":
            return g.used_mb, masked(g.cnt), 100.0 / p.mem
        if name == "used_memory_max":
            return g.used_mb, masked(g.cnt), one
        if name == "total_memory":
            return p.mem[:, None, None] * np.ones((1, 1, 1), np.int64), masked(n), one
        if name == "init_duration":
            return g.init_cms[:, :, None], masked(g.cold[:, :, None]), one / 100.0
        if name == "cpu_total_time":
            return g.dur_cms, masked(g.cnt), one * 0.0055
        raise KeyError(name)

    def _mask(self, g: Grid) -> np.ndarray:
        return self._mask_of(g.params)

    def _mask_of(self, p) -> np.ndarray:
        if self.applies == "stream":
            return p.stream.astype(np.int64)
        if self.applies == "async":
            return p.is_async.astype(np.int64)
        if self.applies == "pc":
            return (p.pc > 0).astype(np.int64)
        if self.applies == "insights":
            return p.insights.astype(np.int64)
        if self.applies == "streaming":
            return (p.stream_bytes > 0).astype(np.int64)
        return np.ones(len(p.index), np.int64)


def _m(ns: str, name: str, unit: str, applies: str = "all") -> Metric:
    return Metric(ns, name, unit, "FunctionName" if ns == "AWS/Lambda" else "function_name", applies)


METRICS: dict[tuple[str, str], Metric] = {
    (m.namespace, m.name): m
    for m in (
        _m("AWS/Lambda", "Invocations", "Count"),
        _m("AWS/Lambda", "Errors", "Count"),
        _m("AWS/Lambda", "Throttles", "Count"),
        _m("AWS/Lambda", "Duration", "Milliseconds"),
        _m("AWS/Lambda", "ConcurrentExecutions", "Count"),
        _m("AWS/Lambda", "IteratorAge", "Milliseconds", "stream"),
        _m("AWS/Lambda", "AsyncEventAge", "Milliseconds", "async"),
        _m("AWS/Lambda", "AsyncEventsReceived", "Count", "async"),
        _m("AWS/Lambda", "ProvisionedConcurrencyUtilization", "None", "pc"),
        _m("AWS/Lambda", "ProvisionedConcurrentExecutions", "Count", "pc"),
        _m("AWS/Lambda", "ProvisionedConcurrencyInvocations", "Count", "pc"),
        _m("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "Count", "pc"),
        _m("AWS/Lambda", "StreamedOutgoingBytes", "Bytes", "streaming"),
        _m("LambdaInsights", "memory_utilization", "Percent", "insights"),
        _m("LambdaInsights", "used_memory_max", "Megabytes", "insights"),
        _m("LambdaInsights", "total_memory", "Megabytes", "insights"),
        _m("LambdaInsights", "init_duration", "Milliseconds", "insights"),
        _m("LambdaInsights", "cpu_total_time", "Milliseconds", "insights"),
    )
}


def metric_for(namespace: str, name: str) -> Metric | None:
    return METRICS.get((namespace, name))


def _ranked(k: np.ndarray, w: np.ndarray, ranks: list[np.ndarray]) -> list[np.ndarray]:
    """The key of each bin's rank-th sample (1-based, in key order; weights count samples) for each array of ranks
    (F, B): :func:`aws.sim.kernels.ranked_keys` over the bins' (F, B, L) keys and weights."""
    F, B, L = w.shape
    out = np.empty((F * B, len(ranks)), np.int64)
    kernels.ranked_keys(k.reshape(F * B, L), w.reshape(F * B, L), np.stack([r.reshape(-1) for r in ranks], axis=1).astype(np.int64), out)
    return [out[:, q].reshape(F, B) for q in range(len(ranks))]


def reduce_bins(
    keys: np.ndarray,
    weights: np.ndarray,
    scale: np.ndarray,
    *,
    b: int,
    stats: Iterable[tuple[str, float | None]],
) -> tuple[np.ndarray, dict[tuple[str, float | None], np.ndarray]]:
    """Statistics per bin of ``b`` minutes: (sample counts (F, B), {stat: values (F, B)}).

    ``keys`` (broadcastable to ``weights``) and ``weights`` are (F, M, j) with M a multiple of b;
    a bin with count 0 has no datapoint.
    """
    F, M, j = weights.shape
    B = M // b
    w = weights.reshape(F, B, b * j)
    stats = list(stats)
    count = w.sum(axis=-1)
    out: dict[tuple[str, float | None], np.ndarray] = {}
    sc = scale[:, None]
    const = keys.shape[0] == 1 and keys.shape[1] == 1  # the same keys every minute (counts, 0/1 flags)
    per_class = kvec = k = None
    if const:
        per_class = weights.reshape(F, B, b, j).sum(axis=2)  # (F, B, j)
        kvec = keys.reshape(j).astype(np.int64)
    else:
        k = np.broadcast_to(keys, weights.shape).reshape(F, B, b * j)
    pcts = [st for st in stats if st[0] == "p"]
    ranked: dict = {}
    if pcts:  # every order statistic from one sort of each bin's samples: the first, the last, the nearest ranks
        kk, ww = (np.broadcast_to(kvec[None, None, :], (F, B, j)), per_class) if const else (k, w)
        order = [("Minimum", None), ("Maximum", None), *pcts]
        ranks = [np.ones_like(count), np.maximum(count, 1)]
        ranks += [np.maximum(np.ceil(count * (st[1] / 100.0) - 1e-9), 1).astype(np.int64) for st in pcts]  # nearest rank
        ranked = dict(zip(order, _ranked(np.ascontiguousarray(kk), np.ascontiguousarray(ww), ranks), strict=True))
    total = None
    for st in stats:
        kind, _q = st
        if kind == "SampleCount":
            out[st] = count.astype(np.float64)
        elif kind in ("Sum", "Average"):
            if total is None:
                if const:
                    total = (per_class @ kvec) * sc
                else:
                    total = np.einsum("ijk,ijk->ij", k, w, dtype=np.int64) * sc
            out[st] = total if kind == "Sum" else np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        elif kind in ("Minimum", "Maximum"):
            if ranked:
                # the first and the last sample in key order (rank 1 and rank count); bins without samples
                # have no datapoint, whatever their value here
                out[st] = ranked[st] * sc
                continue
            if const:
                present = per_class > 0
                fill = np.iinfo(np.int64).max if kind == "Minimum" else -1
                masked = np.where(present, kvec[None, None, :], fill)
            else:
                fill = np.iinfo(np.int64).max if kind == "Minimum" else -1
                masked = np.where(w > 0, k, fill)
            out[st] = (masked.min(axis=-1) if kind == "Minimum" else masked.max(axis=-1)) * sc
    for st in pcts:
        out[st] = ranked[st] * sc
    return count, out
