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
  account or region and keeps the last good answers to fall back on; the next
  ask of a dropped key fetches, whatever the refresh policy says (a viewer's
  Refresh button);
- **a TTL per answer by the age of its data** (``data_end``): an answer about a
  past that has settled (:data:`SETTLE_S` after its end: complete days do not
  change) is kept :data:`SETTLED_TTL_S`, the rest the source's TTL;
- **stale-while-revalidate** (with a :class:`Policy` installed, see
  :mod:`aws.refresh`): an expired answer is served from memory while a refresh
  runs behind it, or held (served marked stale) while the AWS budget binds.
  Each key remembers how to fetch it again, what its last fetch cost (the
  meter's prices) and when a viewer last asked for it, for the scheduler.

Cached values are shared: treat frames as read-only.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from cachetools import LRUCache, TLRUCache

from aws.errors import AwsError
from aws.meter import METER

__all__ = [
    "Cached", "SourceCache", "Memo", "DEFAULT_TTLS", "SETTLE_S", "SETTLED_TTL_S", "Policy", "KeyInfo",
    "source", "configure", "refresh", "clear_all", "sources", "set_policy", "ttl_for", "Derived", "on_clear",
]  # fmt: skip

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

# CloudWatch takes up to a few hours to settle a period (late datapoints); after that a past range's answer no longer changes.
SETTLE_S = 3 * 3600
SETTLED_TTL_S = 7 * 86400  # kept this long (the LRU bound still applies): only a settled answer is kept past its source's TTL

Decision = Literal["fetch", "revalidate", "serve", "hold"]


def ttl_for(ttl_s: float, data_end: datetime | None, now: float) -> float:
    """The TTL of an answer about data up to ``data_end``: :data:`SETTLED_TTL_S` once that has settled, else ``ttl_s``."""
    if data_end is None or data_end.timestamp() > now - SETTLE_S:
        return ttl_s
    return max(ttl_s, SETTLED_TTL_S)


@dataclass(frozen=True)
class Cached(Generic[T]):
    """An answer and where it stands: when it was fetched, whether it is stale and why."""

    value: T
    fetched_at: float  # wall-clock epoch seconds
    stale: bool = False
    error: AwsError | None = None  # the failure that made it stale (or why it is held: the AWS budget)
    hit: bool = False  # served from the cache without a fetch
    refreshing: bool = False  # served past its TTL while a refresh runs behind it

    def age_s(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.fetched_at


@dataclass(frozen=True)
class KeyInfo:
    """What the cache knows of one key, for a refresh scheduler (times on the cache's ``timer``)."""

    key: Hashable
    fetched_t: float | None  # when the last good answer was fetched (None: never)
    ttl_s: float  # that answer's TTL
    viewed_t: float | None  # when a viewer last asked for it
    cost_usd: float | None  # what its last fetch cost (the meter's prices)


class Policy(Protocol):
    """What an expired answer does when asked (see :mod:`aws.refresh`)."""

    def on_expired(self, cache: SourceCache, key: Hashable, last: Cached) -> Decision:
        """``fetch`` (wait for AWS), ``revalidate`` (serve it, refresh behind), ``serve`` (as is) or ``hold`` (marked stale)."""
        ...

    def submit(self, cache: SourceCache, key: Hashable) -> bool:
        """Refresh ``key`` behind the page (bounded: False when it was not queued)."""
        ...

    def held_error(self, cache: SourceCache, key: Hashable) -> AwsError:
        """Why a held answer is not refreshed: one sentence for the page."""
        ...


@dataclass
class _Meta:
    refetch: Callable[[], Any] | None = None
    cost_usd: float | None = None
    fetched_t: float | None = None
    ttl_s: float | None = None
    viewed_t: float | None = None


_policy: Policy | None = None
# set while a tracked computation runs (:class:`Derived`): every answer it reads, as (cache, key, version)
_READS: contextvars.ContextVar[list | None] = contextvars.ContextVar("lambda_lens_cache_reads", default=None)


def _version(got: Cached) -> tuple:
    """What tells one answer from another of the same key: its fetch time, and whether (and why) it is stale."""
    return (got.fetched_at, got.stale, None if got.error is None else str(got.error))
# set while a refresh runs behind the pages: what it asks of other caches is not a viewer's ask either
_BEHIND: contextvars.ContextVar[bool] = contextvars.ContextVar("lambda_lens_refresh_behind", default=False)


def set_policy(policy: Policy | None) -> None:
    """Install (or remove, with None) the stale-while-revalidate policy of every source cache."""
    global _policy
    _policy = policy


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
        swr: bool = True,
    ):
        self.name = name
        self.swr = swr  # follows the installed policy (a Memo does not)
        self._maxsize = maxsize
        self._timer = timer
        self._clock = clock
        self._ttl = float(ttl_s)
        self._lock = threading.Lock()
        self._fresh: TLRUCache = self._new_fresh()
        self._last: LRUCache = LRUCache(maxsize)
        self._meta: LRUCache = LRUCache(maxsize)
        self._dropped: set[Hashable] = set()
        self._inflight: dict[Hashable, Future] = {}

    def _new_fresh(self) -> TLRUCache:
        return TLRUCache(self._maxsize, lambda _k, v, now: now + v[1], timer=self._timer)

    @property
    def ttl_s(self) -> float:
        return self._ttl

    def set_ttl(self, ttl_s: float) -> None:
        with self._lock:
            if float(ttl_s) != self._ttl:
                self._ttl = float(ttl_s)
                self._fresh = self._new_fresh()

    def get(
        self,
        key: Hashable,
        fetch: Callable[[], T],
        *,
        force: bool = False,
        data_end: datetime | None = None,
        viewer: bool = True,
    ) -> Cached[T]:
        """The answer for ``key``: cached if fresh, else fetched once however many callers ask.

        ``data_end``: the end of the data the answer covers (its TTL follows its age, :func:`ttl_for`);
        ``viewer``: asked for a viewer (False: by the refresh scheduler, which does not count as a view).
        With a policy installed, an expired answer may be served while it is refreshed behind (or held).
        """
        served = self._lookup(key, force=force, viewer=viewer)
        if served is not None:
            return self._read(key, served)
        with self._lock:
            fut = self._inflight.get(key)
            leader = fut is None
            if leader:
                fut = Future()
                self._inflight[key] = fut
        if not leader:
            return self._read(key, fut.result())
        try:
            with METER.probe() as spent:
                value = fetch()
        except AwsError as e:
            with self._lock:
                self._inflight.pop(key, None)
                self._dropped.discard(key)
                last = self._last.get(key)
            if last is None:
                fut.set_exception(e)
                raise
            res = Cached(last.value, last.fetched_at, stale=True, error=e)
            fut.set_result(res)
            return self._read(key, res)
        except BaseException as e:
            with self._lock:
                self._inflight.pop(key, None)
            fut.set_exception(e)
            raise
        res = Cached(value, self._clock())
        ttl = ttl_for(self._ttl, data_end, res.fetched_at)
        with self._lock:
            self._fresh[key] = (res, ttl)
            self._last[key] = res
            meta = self._meta.get(key) or _Meta()
            meta.refetch, meta.cost_usd, meta.fetched_t, meta.ttl_s = fetch, spent.cost_usd, self._timer(), ttl
            self._meta[key] = meta
            self._dropped.discard(key)
            self._inflight.pop(key, None)
        fut.set_result(res)
        return self._read(key, res)

    def _lookup(self, key: Hashable, *, force: bool, viewer: bool) -> Cached | None:
        """What ``get`` serves without waiting for AWS (a fresh answer, or an expired one the policy serves, holds or
        refreshes behind), or None when it must fetch. Counts the view."""
        policy = _policy if self.swr else None
        viewer = viewer and not _BEHIND.get()
        with self._lock:
            meta = self._meta.get(key)
            if viewer:
                if meta is None:
                    meta = self._meta[key] = _Meta()
                meta.viewed_t = self._timer()
            dropped = key in self._dropped
            last = None
            if not force and not dropped:
                found = self._fresh.get(key)
                if found is not None:
                    return replace(found[0], hit=True)
                last = self._last.get(key) if policy is not None else None
        if last is not None and policy is not None:
            decision = policy.on_expired(self, key, last)
            if decision == "revalidate":
                policy.submit(self, key)
                return replace(last, hit=True, refreshing=True)
            if decision == "serve":
                return replace(last, hit=True)
            if decision == "hold":
                return replace(last, hit=True, stale=True, error=policy.held_error(self, key))
        return None

    def _read(self, key: Hashable, got: Cached) -> Cached:
        reads = _READS.get()
        if reads is not None and self.swr:  # an answer (not a Memo's computation) read by a tracked computation
            reads.append((self, key, _version(got)))
        return got

    def current(self, key: Hashable) -> tuple | None:
        """The version (fetch time, stale, error) of the answer ``get(key)`` would give now without asking AWS, or
        None when it would have to ask. As ``get`` does, it counts as a view and lets the policy refresh behind."""
        got = self._lookup(key, force=False, viewer=True)
        return None if got is None else _version(got)

    def revalidate(self, key: Hashable) -> bool:
        """Fetch ``key`` again as its last fetch did (for the scheduler: not a view). False when it cannot be."""
        with self._lock:
            meta = self._meta.get(key)
            refetch = None if meta is None else meta.refetch
        if refetch is None:
            return False
        token = _BEHIND.set(True)
        try:
            got = self.get(key, refetch, force=True, viewer=False)
        except AwsError:
            return False
        finally:
            _BEHIND.reset(token)
        return got.error is None

    def keys_info(self) -> list[KeyInfo]:
        """Every key that can be fetched again, with its times and cost."""
        with self._lock:
            return [
                KeyInfo(k, m.fetched_t, m.ttl_s if m.ttl_s is not None else self._ttl, m.viewed_t, m.cost_usd)
                for k, m in self._meta.items()
                if m.refetch is not None
            ]

    def info(self, key: Hashable) -> KeyInfo | None:
        with self._lock:
            m = self._meta.get(key)
            if m is None:
                return None
            return KeyInfo(key, m.fetched_t, m.ttl_s if m.ttl_s is not None else self._ttl, m.viewed_t, m.cost_usd)

    def in_flight(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._inflight

    def last(self, key: Hashable) -> Cached | None:
        """The last good answer of ``key`` (fresh or not), or None: what a caller that gave up waiting may show stale."""
        with self._lock:
            return self._last.get(key)

    def invalidate(self, match: Callable[[Hashable], bool] | None = None) -> int:
        """Drop fresh entries (all, or those whose key matches); last good answers stay for stale-on-error.

        The next ask of a dropped key fetches (a viewer asked for new data), whatever the refresh policy."""
        with self._lock:
            keys = [k for k in list(self._fresh.keys()) if match is None or match(k)]
            for k in keys:
                self._fresh.pop(k, None)
            held = set(self._last.keys())
            self._dropped = {k for k in self._dropped if k in held}  # bounded by the last answers kept
            self._dropped.update(k for k in held if match is None or match(k))
            return len(keys)

    def clear(self) -> None:
        with self._lock:
            self._fresh.clear()
            self._last.clear()
            self._meta.clear()
            self._dropped.clear()

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
        self._cache = SourceCache(name, 24 * 3600, maxsize=size, swr=False)

    def get(self, key: Hashable, compute: Callable[[], T], *, force: bool = False) -> T:
        got = self._cache.get(key, compute, force=force)
        if got.error is not None:  # the answer cache's stale-on-error fallback: not for a computation
            raise got.error
        return got.value

    def clear(self) -> None:
        self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T
    reads: tuple  # ((cache, key, version), ...): the answers it was computed from


class Derived(Generic[T]):
    """A few values computed from cached answers (a month's cost report), kept while the answers they were computed
    from still stand: once per data version however many sessions and script runs ask.

    A computation is tracked: every answer it reads through a :class:`SourceCache` is noted with its version (fetch
    time, stale, error). Asked again, the value is served when each of those answers is still the one the cache
    would serve (:meth:`SourceCache.current`: a view, and a refresh behind per the policy, as a read would be); when
    one has expired, been refreshed or dropped, it is computed again (single-flight: sessions asking together share
    one computation). The question must name everything else the value depends on (the settings, the day).
    A value served inside another tracked computation adds its reads to it. Shared: treat values as read-only.
    """

    def __init__(self, name: str, *, size: int) -> None:
        self._asks: Memo[_Entry[T]] = Memo(f"{name}-asks", size=size)
        self._lock = threading.Lock()
        self._kept: LRUCache = LRUCache(size)
        self.computed = 0  # how many times a value was computed (for tests and the benchmark)

    def get(self, question: Hashable, compute: Callable[[], T], *, force: bool = False) -> T:
        outer = _READS.get()
        if not force:
            with self._lock:
                entry = self._kept.get(question)
            if entry is not None and all(c.current(k) == v for c, k, v in entry.reads):
                if outer is not None:
                    outer.extend(entry.reads)
                return entry.value

        def tracked() -> _Entry[T]:
            reads: list = []
            token = _READS.set(reads)
            try:
                value = compute()
            finally:
                _READS.reset(token)
            self.computed += 1
            # the last version of each answer read (a part may be read twice: its first answer, then a refresh)
            return _Entry(value, tuple({(id(c), k): (c, k, v) for c, k, v in reads}.values()))

        entry = self._asks.get(question, tracked, force=True)
        with self._lock:
            self._kept[question] = entry
        if outer is not None:
            outer.extend(entry.reads)
        return entry.value

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
        self._asks.clear()


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


_clear_hooks: list[Callable[[], None]] = []


def on_clear(fn: Callable[[], None]) -> None:
    """Have :func:`clear_all` call ``fn`` too (a store of answers kept outside the source caches)."""
    _clear_hooks.append(fn)


def clear_all() -> None:
    """Forget everything, last good answers included (tests)."""
    for c in sources().values():
        c.clear()
    for fn in _clear_hooks:
        fn()
