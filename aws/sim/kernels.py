"""The simulated account's hot loops, compiled (numba): a grid's minutes, their duration-class sums, and the
day statistics and order statistics read from them.

Written with numpy's whole-array operations, generating a grid of F functions × M minutes took ~100 passes over
(F, M) temporaries and summing its nine duration classes as many again: ~300 ns a function-minute, the most of
every cold page (a month's bill is 44 M function-minutes at 1,000 functions). Here each function-minute is
computed once, in registers, by the same IEEE operations in the same order (numba compiles without fast-math,
so nothing is reassociated or fused): the same hashes, the same float32 and float64 roundings, so the same
integers and floats as the array code they replace. ``tests/test_sim_daily.py`` checks the class sums against
the grid's (F, M, J) arrays, ``tests/test_sim_kernels.py`` the grid's uniforms against
:func:`aws.sim.noise.hash64` and its minutes against the model's rules, and ``bench/sim_equivalence.py`` every
CLI answer against the code before. The transcendental parts (the load shape's sines, exp(σ·z)) stay in numpy,
computed once per pattern or per function and passed in.

The loops release the GIL (``nogil``): the chunks of a day (:func:`aws.sim.series.each_chunk`) run on both
cores. Compiled code is cached beside this file (``__pycache__``), so only a new checkout's first process
compiles (a few seconds).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from aws.sim import noise

__all__ = ["grid_minutes", "class_sums", "row_stats", "ranked_keys", "N_KINDS", "CLASSES"]

# splitmix64's constants, aws.sim.noise's own (numba freezes them as compile-time constants)
_G, _M1, _M2, _S30, _S27, _S31 = noise._UG, noise._UM1, noise._UM2, noise._S30, noise._S27, noise._S31
_WORD = np.uint64(0xFFFF)  # a uniform is one 16-bit word of a hash × 2**-16 (noise.uniforms)
_INV = 1.0 / 65536.0
# incident kinds in the arrays handed to grid_minutes (aws.sim.incidents.Incident.kind)
N_KINDS = {"errors": 0, "timeout": 1, "throttles": 2, "iterator_age": 3}
HOURLY = 4  # the hourly job's pattern code (aws.sim.series._PATTERNS, checked there)
CLASSES = 8  # quantile classes of a minute's durations (aws.sim.series.K): a constant, so class loops unroll


@njit(inline="always", cache=True)
def _mix(x):
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


@njit(inline="always", cache=True)
def _step(h, part):
    """One part of :func:`aws.sim.noise.hash64`: the part (a non-negative int) as uint64, plus the golden gamma."""
    return _mix(h ^ (np.uint64(part) + _G))


@njit(inline="always", cache=True)
def _word(h, i):
    return np.float64((h >> np.uint64(16 * i)) & _WORD) * _INV


@njit(nogil=True, cache=True)
def grid_minutes(
    seed, index, rate, pattern, dmed, err, cold_p, init_ms, init_spread, timeout_cms, reserved, stream, is_async,
    snapstart, hour_offset, mem, mem_frac, mean_f, shapes, shape_of, m0, v0, v1, conc_burst,
    inc_ptr, inc_kind, inc_a, inc_b, inc_level, inc_start, inc_end,
    n_out, errors_out, throttles_out, timeouts_out, cold_out, init_out, conc_out, iter_out, async_out, mu_out,
    strat_out, mem_level_out, mem_u_out,
):
    """Every per-minute array of :func:`aws.sim.series.build_grid`, minutes [m0, m0 + M) of F functions, into the
    ``*_out`` arrays (F, M). ``shapes`` (P, M): the load shape of each (pattern, time zone), ``shape_of`` (F,) the
    row of each function's; activity only inside [v0, v1). Incidents: parallel arrays, row by row (row ``r``'s at
    ``inc_ptr[r]:inc_ptr[r + 1]``), ``inc_a``/``inc_b`` the minutes of the grid they cover, applied in order (a
    later one overrides an earlier one)."""
    F, M = n_out.shape
    for r in range(F):
        fi = index[r]
        h_fn = _step(_step(np.uint64(0), seed), fi)
        d_prev = -1
        day_factor = 0.0
        sh = shapes[shape_of[r]]
        for j in range(M):
            t = m0 + j
            d = t // 1440
            if d != d_prev:
                day_factor = 0.88 + 0.24 * _word(_step(_step(_step(_step(np.uint64(0), seed), fi), d), 4), 0)
                d_prev = d
            cell = _step(h_fn, t)
            h1 = _mix(cell ^ (np.uint64(1) + _G))
            h2 = _mix(cell ^ (np.uint64(2) + _G))
            h3 = _mix(cell ^ (np.uint64(3) + _G))
            u1, u2, u3, u4 = _word(h1, 0), _word(h1, 1), _word(h1, 2), _word(h1, 3)
            u5, u6, u7, u8 = _word(h2, 0), _word(h2, 1), _word(h2, 2), _word(h2, 3)
            u9, u10, u11 = _word(h3, 0), _word(h3, 1), _word(h3, 2)

            shape = sh[j]
            lam = rate[r] * shape * day_factor
            n = np.int64(np.floor(lam * (0.8 + 0.4 * u1) + u2))
            if pattern[r] == HOURLY:
                n = np.int64(1) if t % 60 == hour_offset[r] else np.int64(0)
            if t < v0 or t >= v1:
                n = np.int64(0)
            load = 1.0 + 0.08 * min(max(shape - 1.0, -1.0), 2.0)
            mu = dmed[r] * (0.92 + 0.16 * u3) * load
            mean_ms = mu * mean_f[r]

            err_p = err[r]
            tmo_p = 0.0
            age_extra = 0.0
            throttle_win = False
            for i in range(inc_ptr[r], inc_ptr[r + 1]):
                if j < inc_a[i] or j >= inc_b[i]:
                    continue
                kind = inc_kind[i]
                if kind == 0:
                    err_p = inc_level[i]
                elif kind == 1:
                    tmo_p = inc_level[i]
                elif kind == 2:
                    throttle_win = True
                else:
                    age_extra = inc_level[i] * ((t - inc_start[i]) / max(1, inc_end[i] - inc_start[i]))

            throttles = np.int64(0)
            if throttle_win and n > 0:
                res = reserved[r] if reserved[r] > 0 else 10
                cap = np.int64(np.floor(res * 60000.0 / (conc_burst * mean_ms)))
                spiked = np.int64(np.floor(cap * (1.3 + 0.5 * u4)))
                throttles = spiked - cap
                n = cap
            timeouts = np.int64(0)
            if tmo_p > 0.0:
                timeouts = min(n, np.int64(np.floor(n * tmo_p + u4)))
            nn = n - timeouts
            errors = timeouts + min(nn, np.int64(np.floor(nn * err_p + u5)))
            cold = min(nn, np.int64(np.floor(nn * cold_p[r] + u6)))
            s = init_spread[r]
            init = np.int64(np.rint(init_ms[r] * (1.0 - s + 2.0 * s * u7) * 100.0)) if cold != 0 else np.int64(0)

            exec_ms = nn * mean_ms + timeouts * (timeout_cms[r] / 100.0)
            exec_ms += (cold * init * (0 if snapstart[r] else 1)) / 100.0
            conc = np.int64(0)
            if n > 0:
                conc = np.int64(max(1.0, np.ceil(exec_ms / 60000.0 * conc_burst)))
            if reserved[r] > 0:
                conc = min(conc, reserved[r])
            if throttles > 0:
                conc = reserved[r]

            n_out[r, j] = n
            errors_out[r, j] = errors
            throttles_out[r, j] = throttles
            timeouts_out[r, j] = timeouts
            cold_out[r, j] = cold
            init_out[r, j] = init
            conc_out[r, j] = conc
            iter_out[r, j] = np.rint(150.0 + 700.0 * u10 + age_extra) if stream[r] else 0.0
            async_out[r, j] = np.rint(25.0 + 300.0 * u11) if is_async[r] else 0.0
            mu_out[r, j] = mu
            strat_out[r, j] = u8
            mem_level_out[r, j] = mem[r] * mem_frac[r] * (0.96 + 0.08 * u9)
            mem_u_out[r, j] = u9


@njit(nogil=True, cache=True)
def class_sums(
    n, timeouts, cold, init_cms, strat, mu, mem_level, spread, cap, timeout_cms, mem, snapstart, levels, lift,
    billed_out, dur_out, used_sum_out, used_max_out,
):
    """:func:`aws.sim.daily._classes`, function-minute by function-minute: Billed Duration (INIT of the cold
    starts included, which take the fastest classes first), Σ count × Duration (1/100 ms), Σ count × Max Memory
    Used and the largest Max Memory Used with a count (-1: none), each (F, M).

    ``spread`` (F, CLASSES) float32: exp(σ·z) × 100; ``cap`` (F,) float32: the timeout less 1 ms, in 1/100 ms;
    ``levels`` (CLASSES + 1,) float32; ``lift`` (CLASSES + 1,) float64. The classes are a constant count and every
    class is summed, empty or not (adding 0), so the loop over a function's minutes runs in vector registers; the
    cold starts' INIT is added in a second pass over the minutes that have some."""
    F, M = n.shape
    for r in range(F):
        mem_r = np.float64(mem[r])
        cap_r = cap[r]
        tmo_d = np.float64(timeout_cms[r])
        tmo_b = np.ceil(tmo_d / 100.0)
        sp = spread[r]
        for j in range(M):
            t = timeouts[r, j]
            nn = n[r, j] - t
            nn32 = np.float32(nn)
            strat32 = np.float32(strat[r, j])
            mu32 = np.float32(mu[r, j])
            level = mem_level[r, j]
            billed = 0.0
            dur_sum = 0.0
            used_sum = 0.0
            u_top = -1.0  # Max Memory Used of the highest class with a count (it rises with the class)
            prev = np.float32(0.0)
            for k in range(CLASSES):
                cum = np.float32(nn) if k + 1 == CLASSES else np.float32(np.ceil(np.float32(levels[k + 1] * nn32) - strat32))
                cnt = np.float64(cum) - np.float64(prev)
                prev = cum
                dur = np.float64(max(min(np.float32(np.rint(np.float32(mu32 * sp[k]))), cap_r), np.float32(1.0)))
                billed += np.ceil(dur / 100.0) * cnt
                dur_sum += dur * cnt
                u = min(max(np.rint(level * lift[k]), 1.0), mem_r)
                used_sum += u * cnt
                u_top = u if cnt > 0.0 else u_top
            tf = np.float64(t)  # the timeout class
            billed += tmo_b * tf
            dur_sum += tmo_d * tf
            u = min(max(np.rint(level * lift[CLASSES]), 1.0), mem_r)
            used_sum += u * tf
            u_top = u if tf > 0.0 else u_top
            billed_out[r, j] = np.int64(billed)
            dur_out[r, j] = np.int64(dur_sum)
            used_sum_out[r, j] = np.int64(used_sum)
            used_max_out[r, j] = np.int64(u_top)
        for j in range(M):  # the cold starts, in the fastest classes first, bill their INIT (a SnapStart restore not)
            cs = cold[r, j]
            if cs <= 0:
                continue
            nn = n[r, j] - timeouts[r, j]
            nn32 = np.float32(nn)
            strat32 = np.float32(strat[r, j])
            mu32 = np.float32(mu[r, j])
            with_init = 0 if snapstart[r] else init_cms[r, j]
            b = billed_out[r, j]
            lo = np.int64(0)
            for k in range(CLASSES):
                hi = nn if k + 1 == CLASSES else np.int64(np.ceil(np.float32(levels[k + 1] * nn32) - strat32))
                ck = min(max(cs - lo, 0), hi - lo)
                lo = hi
                if ck > 0:
                    d = np.int64(max(min(np.float32(np.rint(np.float32(mu32 * sp[k]))), cap_r), np.float32(1.0)))
                    b += ck * ((d + with_init + 99) // 100 - (d + 99) // 100)
            billed_out[r, j] = b


@njit(nogil=True, cache=True)
def row_stats(keys, weights, count_out, total_out, min_out, max_out):
    """Per row of (R, M) integer ``keys`` and ``weights``: Σ weights, Σ keys × weights, and the smallest and the
    largest key with a weight (int64 max and -1 when none): :func:`aws.sim.metrics.reduce_bins` of a one-key-a-minute
    metric over one bin, before its scale."""
    R, M = weights.shape
    for r in range(R):
        c = np.int64(0)
        t = np.int64(0)
        lo = np.iinfo(np.int64).max
        hi = np.int64(-1)
        for j in range(M):
            w = np.int64(weights[r, j])
            if w > 0:
                k = np.int64(keys[r, j])
                c += w
                t += k * w
                lo = min(lo, k)
                hi = max(hi, k)
        count_out[r] = c
        total_out[r] = t
        min_out[r] = lo
        max_out[r] = hi


_KEY_BITS = 36  # a sample's weight in the low 36 bits of its packed sort key, its key above
_WMASK = (1 << _KEY_BITS) - 1
_KMAX = 1 << (63 - _KEY_BITS)


@njit(nogil=True, cache=True)
def ranked_keys(keys, weights, ranks, out):
    """The key of the ``ranks[i, q]``-th sample (1-based) of each row ``i`` of (N, L) non-negative integer ``keys``
    with sample counts ``weights``, the samples in key order, into ``out`` (N, Q). A row's samples (those with a
    weight) are packed key-above-weight into one int64 each and sorted; a row without samples gets -1 (it has no
    datapoint). Keys of 2**27 or more, or weights of 2**36 or more, take an index sort instead."""
    N, L = weights.shape
    Q = ranks.shape[1]
    packed = np.empty(L, np.int64)
    buf_k = np.empty(L, np.int64)
    buf_w = np.empty(L, np.int64)
    for i in range(N):
        m = 0
        wide = False
        for j in range(L):
            w = np.int64(weights[i, j])
            if w > 0:
                k = np.int64(keys[i, j])
                buf_k[m] = k
                buf_w[m] = w
                wide = wide or k < 0 or k >= _KMAX or w > _WMASK
                packed[m] = (k << _KEY_BITS) | w
                m += 1
        if m == 0:
            for q in range(Q):
                out[i, q] = -1
            continue
        if wide:
            order = np.argsort(buf_k[:m])
            for o in range(m):
                packed[o] = order[o]
        else:
            packed[:m].sort()
        for q in range(Q):
            target = ranks[i, q]
            cum = np.int64(0)
            value = np.int64(-1)
            for o in range(m):
                if wide:
                    k, w = buf_k[packed[o]], buf_w[packed[o]]
                else:
                    k, w = packed[o] >> _KEY_BITS, packed[o] & _WMASK
                value = k  # a rank beyond the samples: the largest key
                cum += w
                if cum >= target:
                    break
            out[i, q] = value
