"""The simulated account's statistics engine against a brute-force reference (no session: fast lane).

CloudWatch's statistics of a bin are those of its samples; ``reduce_bins`` computes them from
(key, weight) classes without expanding them, here checked against the expanded samples.
"""

from __future__ import annotations

import numpy as np
import pytest

from aws.sim import insights
from aws.sim.catalog import build_catalog
from aws.sim.metrics import reduce_bins
from aws.sim.series import Params, build_grid

STATS = [("SampleCount", None), ("Sum", None), ("Average", None), ("Minimum", None), ("Maximum", None)]
PCTS = [("p", 1.0), ("p", 50.0), ("p", 90.0), ("p", 99.0), ("p", 99.9), ("p", 100.0)]


def _reference(keys, weights, scale, b):
    """Per bin: the samples themselves (each key repeated weight times), and their statistics."""
    F, M, j = weights.shape
    k = np.broadcast_to(keys, weights.shape)
    out = {}
    for f in range(F):
        for i in range(M // b):
            sl = slice(i * b, (i + 1) * b)
            samples = np.sort(np.repeat(k[f, sl].ravel(), weights[f, sl].ravel()))
            if len(samples) == 0:
                continue
            n = len(samples)
            stats = {
                ("SampleCount", None): float(n),
                ("Sum", None): samples.sum() * scale[f],
                ("Average", None): samples.sum() * scale[f] / n,
                ("Minimum", None): samples[0] * scale[f],
                ("Maximum", None): samples[-1] * scale[f],
            }
            for st in PCTS:  # nearest rank: the smallest sample with at least q % of the samples at or below it
                rank = max(int(np.ceil(n * st[1] / 100.0 - 1e-9)), 1)
                stats[st] = samples[rank - 1] * scale[f]
            out[(f, i)] = stats
    return out


@pytest.mark.parametrize("with_pcts", [True, False])
@pytest.mark.parametrize("const_keys", [True, False])
def test_reduce_bins_equals_the_statistics_of_the_expanded_samples(with_pcts, const_keys):
    rng = np.random.default_rng(3)
    F, M, j, b = 3, 24, 5, 6
    weights = rng.integers(0, 4, (F, M, j)) * (rng.random((F, M, j)) < 0.6)
    weights[1, :b] = 0  # a bin without samples has no datapoint
    keys = np.arange(j, dtype=np.int64)[None, None, :] * 7 + 3 if const_keys else rng.integers(1, 500, (F, M, j))
    scale = np.array([1.0, 0.01, 2.5])
    stats = STATS + (PCTS if with_pcts else [])
    count, vals = reduce_bins(keys, weights, scale, b=b, stats=stats)
    ref = _reference(keys, weights, scale, b)
    assert count[1, 0] == 0
    for (f, i), want in ref.items():
        assert count[f, i] == want[("SampleCount", None)]
        for st in stats:
            assert vals[st][f, i] == pytest.approx(want[st], rel=1e-12), (f, i, st)


def test_insights_totals_equal_the_per_class_answer():
    specs = build_catalog(functions=12, seed=7, regions=("us-east-1",))
    m0 = 29_000_000  # an ordinary minute since the epoch
    g = build_grid(params=Params.of(specs), seed=7, m0=m0, m1=m0 + 240, incidents=(), valid=None)
    assert g.n.sum() > 0
    stats = sorted([("SampleCount", None), ("Sum", None), ("Average", None)], key=str)
    for quantity in ("billed", "gb_s", "memory", None):
        st = stats + ([("Maximum", None), ("Minimum", None)] if quantity in ("memory", None) else [])
        fast_c, fast = insights._reduce(g, quantity, st, 60)
        slow_c, slow = reduce_bins(*insights._keys(g, quantity), b=60, stats=st)
        assert (fast_c == slow_c).all()
        have = slow_c > 0
        for s in st:
            assert np.array_equal(fast[s][have], slow[s][have]), (quantity, s)
