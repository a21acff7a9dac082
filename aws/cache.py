"""The answer cache: a TTL per source, single-flight, stale-on-error, targeted refresh.

Keys are built from the question: ``(account, region, what, *params)`` with time
ranges already rounded to the period by the caller, so two sessions asking the
same question share one entry. Built on cachetools (``TTLCache`` for fresh
answers, ``LRUCache`` for the last good answer of each key), guarded by a lock
(cachetools classes are not thread-safe; every Streamlit session is a thread).

- **single-flight**: while a key is being fetched, other callers of that key
  wait for the same fetch instead of making their own AWS call;
- **failures are never cached**: the next caller tries again;
- **stale-on-error**: when a refresh fails with an :class:`aws.errors.AwsError`
  and an older answer exists, that answer is returned marked ``stale`` with its
  age and the error; other exceptions (bugs) propagate;
- **targeted refresh**: :func:`refresh` drops the fresh entries of one source,
  account or region and keeps the last good answers to fall back on.

Cached values are shared: treat frames as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache, TTLCache

from aws.errors import AwsError

__all__ = ["Cached", "SourceCache", "Memo", "DEFAULT_TTLS", "source", "configure", "refresh", "clear_all", "sources"]

T = TypeVar("T")

# Seconds. Cost Explorer changes ≤ 3 times a day and costs $0.01 a request.
DEFAULT_TTLS: dict[str, float] = {
    "inventory": 900,
    "tags": 900,
    "metrics": 120,
    "insights": 300,
    "logs": 300,
    "costs": 6 * 3600,
    "forecast": 6 * 3600,
    "pricing": 24 * 3600,  # the Price List API changes rarely
}


@dataclass(frozen=True)
class Cached(Generic[T]):
    """An answer and where it stands: when it was fetched, whether it is stale and why."""

    value: T
    fetched_at: float  # wall-clock epoch seconds
    stale: bool = False
    error: AwsError | None = None  # the failure that made it stale
    hit: bool = False  # served from the cache without a fetch

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at


class SourceCache:
    """One source's cache (e.g. "metrics"), with its own TTL."""

    def __init__(
        self,
        name: str,
        ttl_s: float,
        *,
        maxsize: int = 512,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ):
        self.name = name
        self._maxsize = maxsize
        self._timer = timer
        self._clock = clock
        self._lock = threading.Lock()
        self._fresh: TTLCache = TTLCache(maxsize, ttl_s, timer=timer)
        self._last: LRUCache = LRUCache(maxsize)
        self._inflight: dict[Hashable, Future] = {}

    @property
    def ttl_s(self) -> float:
        return self._fresh.ttl

    def set_ttl(self, ttl_s: float) -> None:
        with self._lock:
            if ttl_s != self._fresh.ttl:
                self._fresh = TTLCache(self._maxsize, ttl_s, timer=self._timer)

    def get(self, key: Hashable, fetch: Callable[[], T], *, force: bool = False) -> Cached[T]:
        """The answer for ``key``: cached if fresh, else fetched once however many callers ask."""
        with self._lock:
            if not force:
                found = self._fresh.get(key)
                if found is not None:
                    return Cached(found.value, found.fetched_at, hit=True)
            fut = self._inflight.get(key)
            leader = fut is None
            if leader:
                fut = Future()
                self._inflight[key] = fut
        if not leader:
            return fut.result()
        try:
            value = fetch()
        except AwsError as e:
            with self._lock:
                self._inflight.pop(key, None)
                last = self._last.get(key)
            if last is None:
                fut.set_exception(e)
                raise
            res = Cached(last.value, last.fetched_at, stale=True, error=e)
            fut.set_result(res)
            return res
        except BaseException as e:
            with self._lock:
                self._inflight.pop(key, None)
            fut.set_exception(e)
            raise
        res = Cached(value, self._clock())
        with self._lock:
            self._fresh[key] = res
            self._last[key] = res
            self._inflight.pop(key, None)
        fut.set_result(res)
        return res

    def last(self, key: Hashable) -> Cached | None:
        """The last good answer of ``key`` (fresh or not), or None: what a caller that gave up waiting may show stale."""
        with self._lock:
            return self._last.get(key)

    def invalidate(self, match: Callable[[Hashable], bool] | None = None) -> int:
        """Drop fresh entries (all, or those whose key matches); last good answers stay for stale-on-error."""
        with self._lock:
            keys = [k for k in list(self._fresh.keys()) if match is None or match(k)]
            for k in keys:
                self._fresh.pop(k, None)
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._fresh.clear()
            self._last.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._fresh)


_registry_lock = threading.Lock()
_registry: dict[str, SourceCache] = {}


class Memo(Generic[T]):
    """A few values computed from cached answers (an alert report, an Overview), kept by key and single-flight.

    The answer cache's own mechanism (:class:`SourceCache`), so N sessions asking the same question
    together share one computation; unlike an answer, a computation that fails is never served from an
    older one: the error reaches every waiting asker and the next ask computes again. Entries live a
    day (keys carry the versions of the parts read, so new data is a new key anyway); ``size`` bounds
    what the memo holds. ``force`` computes afresh, still once for everyone asking at that moment.
    """

    def __init__(self, name: str, *, size: int) -> None:
        self._cache = SourceCache(name, 24 * 3600, maxsize=size)

    def get(self, key: Hashable, compute: Callable[[], T], *, force: bool = False) -> T:
        got = self._cache.get(key, compute, force=force)
        if got.error is not None:  # the answer cache's stale-on-error fallback: not for a computation
            raise got.error
        return got.value

    def clear(self) -> None:
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


def source(name: str) -> SourceCache:
    """The process-wide cache of one source, created with its default TTL on first use."""
    with _registry_lock:
        c = _registry.get(name)
        if c is None:
            c = _registry[name] = SourceCache(name, DEFAULT_TTLS.get(name, 300))
        return c


def sources() -> dict[str, SourceCache]:
    with _registry_lock:
        return dict(_registry)


def configure(ttls: dict[str, float]) -> None:
    """Apply TTLs from the settings (seconds per source)."""
    for name, ttl in ttls.items():
        source(name).set_ttl(float(ttl))


def refresh(*, source_name: str | None = None, account: str | None = None, region: str | None = None) -> int:
    """Targeted refresh: drop fresh answers of one source and/or account and/or region.

    Keys start with ``(account, region, ...)``, the account as its name or its
    :attr:`aws.session.Account.cache_id` (whose first item is the name). Returns how many entries were dropped.
    """

    def match(key: Hashable) -> bool:
        if not isinstance(key, tuple) or len(key) < 2:
            return account is None and region is None
        name = key[0][0] if isinstance(key[0], tuple) and key[0] else key[0]
        return (account is None or name == account) and (region is None or key[1] == region)

    n = 0
    for name, c in sources().items():
        if source_name is None or name == source_name:
            n += c.invalidate(match)
    return n


def clear_all() -> None:
    """Forget everything, last good answers included (tests)."""
    for c in sources().values():
        c.clear()
