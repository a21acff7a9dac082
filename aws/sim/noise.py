"""Counter-based randomness: the same (seed, function, minute) always gives the same numbers.

The simulated account draws nothing from a stateful generator. Every random number is
a hash (splitmix64) of its coordinates, so the value of a metric at an absolute minute
depends only on the seed and the spec, never on when or in which order it is asked.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["hash64", "uniforms", "unit", "unit_py", "hash_py"]

_MASK = (1 << 64) - 1
_G = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_UM1, _UM2, _UG = np.uint64(_M1), np.uint64(_M2), np.uint64(_G)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on ``x`` (an array the caller owns, 0-d included): one temporary, not five."""
    t = np.right_shift(x, _S30, out=np.empty_like(x))
    x ^= t
    x *= _UM1
    np.right_shift(x, _S27, out=t)
    x ^= t
    x *= _UM2
    np.right_shift(x, _S31, out=t)
    x ^= t
    return x


def hash64(*parts, prefix: np.ndarray | None = None) -> np.ndarray:
    """splitmix64 of the parts (non-negative ints or int arrays, broadcast together).

    ``prefix``: the hash of leading parts already computed, so ``hash64(c, prefix=hash64(a, b))`` equals
    ``hash64(a, b, c)`` (several hashes sharing their first parts compute those once).
    """
    with np.errstate(over="ignore"):
        h = np.zeros((), dtype=np.uint64) if prefix is None else prefix
        for p in parts:
            a = np.asarray(p)
            if a.dtype != np.uint64:
                a = a.astype(np.int64).astype(np.uint64)
            h = _mix(np.asarray(np.bitwise_xor(h, a + _UG, dtype=np.uint64)))  # a new array: mixed in place
        return np.asarray(h, dtype=np.uint64)


def uniforms(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Four uniforms in [0, 1) (16 bits each) from one 64-bit hash array."""
    h = np.asarray(h, dtype=np.uint64)
    if sys.byteorder == "little" and h.ndim:
        # the four 16-bit words of each hash, lowest first (the same numbers as shifting and masking)
        words = np.ascontiguousarray(h).view(np.uint16).reshape(*h.shape, 4)
        out = [np.multiply(words[..., i], 1.0 / 65536.0) for i in range(4)]
    else:
        out = [((h >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0 for shift in (0, 16, 32, 48)]
    return out[0], out[1], out[2], out[3]


def unit(*parts) -> np.ndarray:
    """One uniform in [0, 1) (53 bits) per broadcast element of the parts."""
    return (hash64(*parts) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hash_py(*parts: int) -> int:
    """The same hash as :func:`hash64`, for plain Python ints (catalog choices, ids)."""
    h = 0
    for p in parts:
        x = (h ^ ((int(p) + _G) & _MASK)) & _MASK
        x ^= x >> 30
        x = (x * _M1) & _MASK
        x ^= x >> 27
        x = (x * _M2) & _MASK
        h = x ^ (x >> 31)
    return h


def unit_py(*parts: int) -> float:
    """One uniform in [0, 1) for plain Python ints."""
    return (hash_py(*parts) >> 11) / float(1 << 53)
