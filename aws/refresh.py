"""The budgeted refresh behind the pages: stale-while-revalidate within ``aws.monthly_budget_usd``.

What viewers asked for recently (:data:`RECENT_S`) is fetched again by the server shortly before it
expires, so a viewer's next load is served from memory; what nobody looks at is left to expire.
Refreshing costs money (GetMetricData bills per metric requested, Cost Explorer per request, Logs
Insights per GB scanned: the prices of :mod:`aws.meter`), so the cadence follows the budget:

- each question has a **desired interval**: a function someone is watching (a key naming one
  function) its source's TTL; a fleet view (every other key) at least :data:`FLEET_INTERVAL_S`;
- the **month's projection** is the spend so far (every AWS call this process made this month, the
  viewers' own loads included) plus the desired refresh rate (Σ cost / interval of the watched
  questions) over the month's remaining watched time (the share of time someone watches, observed,
  starting from :data:`PRIOR_WATCH_SHARE`);
- when that projection exceeds the budget the intervals are all **stretched** by the same factor, so
  it meets the budget (``binding``); past :data:`MAX_INTERVAL_S`, or with the budget spent, nothing is
  refreshed (``exhausted``).

An expired answer asked by a viewer (:meth:`Refresher.on_expired`, the :class:`aws.cache.Policy`):
within the stretched interval it is served as is — marked stale with the reason (:class:`BudgetHeld`)
while the budget binds, so the page says how old it is; past it, served while a refresh runs behind
(or fetched while the viewer waits, when older than the interval by :data:`MAX_SWR_S`). The viewer's
Refresh button (:func:`aws.cache.refresh`) always fetches.

:class:`Refresher` runs one ticking daemon thread and at most ``workers`` refreshing daemon threads,
bounded queue, stopped by :meth:`Refresher.stop`. :func:`start` runs the process's one refresher.
:func:`projected_month_usd` is the same arithmetic for one question watched a few hours a day (the
benchmark's figure). The month's spend is kept across restarts in a small JSON file when a
:class:`aws.ledger.SpendLedger` is given (the app's: ``.lambda-lens/aws-spend.json`` beside the digest
state), written at most every :data:`SAVE_EVERY_S` as it grows and when the refresher stops.
"""

from __future__ import annotations

import calendar
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aws import cache
from aws.concurrency import deadline
from aws.errors import AwsError
from aws.ledger import Spend, SpendLedger
from aws.meter import METER, ApiMeter

__all__ = ["Refresher", "Plan", "BudgetHeld", "start", "stop", "current", "projected_month_usd", "kind_of", "MonthPlan"]

log = logging.getLogger(__name__)

RECENT_S = 900.0  # a question asked by a viewer within this is kept refreshed
FLEET_INTERVAL_S = 600.0  # a fleet view (the Overview, the list, Teams) is refreshed at most this often
LEAD_S = 20.0  # refresh this long before the interval ends (at most a tenth of it)
MAX_INTERVAL_S = 24 * 3600.0  # stretched beyond this, the budget is spent: nothing is refreshed
MAX_SWR_S = 3600.0  # an answer older than its interval by more than this is fetched while the viewer waits
PRIOR_WATCH_SHARE = 8 / 24  # until observed: someone watches 8 h a day
TICK_S = 5.0
QUEUE_MAX = 64
SAVE_EVERY_S = 30.0  # the spend file is written at most this often (a restart forgets at most this much)


def kind_of(key: Hashable) -> str:
    """``function`` for a question about one function (its key ends with a one-name tuple), else ``fleet``."""
    if isinstance(key, tuple) and key and isinstance(key[-1], tuple) and len(key[-1]) == 1 and isinstance(key[-1][0], str):
        return "function"
    return "fleet"


def desired_interval_s(kind: str, ttl_s: float) -> float:
    return ttl_s if kind == "function" else max(ttl_s, FLEET_INTERVAL_S)


def month_bounds(now: float) -> tuple[float, float, str]:
    """(start, end, YYYY-MM) of the UTC month of epoch ``now``."""
    d = datetime.fromtimestamp(now, UTC)
    first = datetime(d.year, d.month, 1, tzinfo=UTC)
    days = calendar.monthrange(d.year, d.month)[1]
    return first.timestamp(), first.timestamp() + days * 86400, f"{d:%Y-%m}"


def stretch(rate_usd_s: float, left_usd: float, watch_left_s: float) -> float:
    """The factor (≥ 1) the intervals are stretched by so ``rate`` over ``watch_left_s`` fits in ``left_usd``; inf: none fits."""
    need = rate_usd_s * watch_left_s
    if need <= 0:
        return 1.0
    if left_usd <= 0:
        return float("inf")
    return max(1.0, need / left_usd)


class BudgetHeld(AwsError):
    """An answer past its TTL kept, not refreshed, to stay within the dashboard's AWS budget."""


@dataclass(frozen=True)
class Plan:
    """Where the month stands: the spend, the projection, and how the refresh cadence follows."""

    budget_usd: float
    month: str
    spent_usd: float  # this month so far (this process)
    projected_usd: float  # spent + the refreshes at the planned cadence over the month's remaining watched time
    scale: float  # intervals × this (1: as desired; > 1: the budget binds; inf: exhausted)
    watched: int  # questions viewed within RECENT_S
    refreshing: tuple[str, ...] = field(default_factory=tuple)  # what is being refreshed now (source: key summary)
    watch_share: float = PRIOR_WATCH_SHARE
    spent_note: str | None = None  # why ``spent_usd`` is lower than the month's (its record could not be read)

    @property
    def binding(self) -> bool:
        return self.scale > 1.0

    @property
    def exhausted(self) -> bool:
        return self.scale == float("inf") or self.scale * FLEET_INTERVAL_S > MAX_INTERVAL_S or self.budget_usd <= 0


class Refresher:
    """Refreshes what viewers asked for recently, before it expires, within the monthly budget (see the module)."""

    def __init__(
        self,
        budget_usd: float,
        *,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
        caches: Callable[[], dict[str, cache.SourceCache]] = cache.sources,
        meter: ApiMeter = METER,
        recent_s: float = RECENT_S,
        workers: int = 2,
        tick_s: float = TICK_S,
        refresh_deadline_s: float = 300.0,
        ledger: SpendLedger | None = None,
    ) -> None:
        self.budget_usd = float(budget_usd)
        self._ledger = ledger
        self._clock, self._timer, self._caches, self._meter = clock, timer, caches, meter
        self.recent_s, self.tick_s, self.refresh_deadline_s = recent_s, tick_s, refresh_deadline_s
        self._workers_n = max(1, workers)
        self._lock = threading.Lock()
        self._month = month_bounds(clock())[2]
        kept = ledger.load(self._month) if ledger is not None else Spend(self._month, 0.0)
        self._spent, self._spent_note = kept.spent_usd, kept.note  # this month's spend before this start (the file's)
        self._saved: tuple[str, float] = (self._month, self._spent)
        self._saved_t: float | None = None
        self._seen = meter.snapshot().cost_usd  # spend before the refresher started is not this month's ledger's
        self._watched_s = 0.0
        self._elapsed_s = 0.0
        self._last_tick: float | None = None
        self._queue: queue.Queue[tuple[cache.SourceCache, Hashable]] = queue.Queue(QUEUE_MAX)
        self._inflight: set[tuple[str, Hashable]] = set()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the ledger and the plan ----------------------------------------------------------------------

    def _account(self) -> None:
        """Add what the meter counted since the last look to this month's spend."""
        cur = self._meter.snapshot().cost_usd
        month = month_bounds(self._clock())[2]
        with self._lock:
            delta = cur - self._seen if cur >= self._seen else cur  # the meter was reset (tests): all of it is new
            self._seen = cur
            if month != self._month:
                self._month, self._spent, self._spent_note = month, 0.0, None
            self._spent += delta
        self._save()

    def _save(self, *, now: bool = False) -> None:
        """Write the month's spend to the ledger when it changed (at most every :data:`SAVE_EVERY_S`, unless ``now``)."""
        if self._ledger is None:
            return
        t = self._timer()
        with self._lock:
            state = (self._month, self._spent)
            if state == self._saved or (
                not now and state[0] == self._saved[0] and self._saved_t is not None and t - self._saved_t < SAVE_EVERY_S
            ):
                return
            self._saved, self._saved_t = state, t
            spend = Spend(self._month, self._spent, self._spent_note)
        self._ledger.save(spend, now=datetime.fromtimestamp(self._clock(), UTC))

    def _watched(self) -> list[tuple[cache.SourceCache, cache.KeyInfo]]:
        now_t = self._timer()
        return [
            (c, info)
            for c in self._caches().values()
            if c.swr
            for info in c.keys_info()
            if info.viewed_t is not None and now_t - info.viewed_t <= self.recent_s
        ]

    def plan(self) -> Plan:
        self._account()
        watched = self._watched()
        rate = sum((i.cost_usd or 0.0) / desired_interval_s(kind_of(i.key), c.ttl_s) for c, i in watched)
        now = self._clock()
        _, end, month = month_bounds(now)
        with self._lock:
            spent = self._spent
            share = (self._watched_s + PRIOR_WATCH_SHARE * 86400) / (self._elapsed_s + 86400)
            refreshing = tuple(sorted(f"{name}: {_describe(k)}" for name, k in self._inflight))
            note = self._spent_note
        watch_left = max(0.0, end - now) * share
        scale = stretch(rate, self.budget_usd - spent, watch_left) if self.budget_usd > 0 else float("inf")
        projected = spent + (rate / scale * watch_left if scale != float("inf") else 0.0)
        return Plan(self.budget_usd, month, spent, projected, scale, len(watched), refreshing, share, note)

    def interval_s(self, c: cache.SourceCache, info: cache.KeyInfo, plan: Plan) -> float:
        """How often ``info``'s question is refreshed under ``plan`` (a settled answer: its own long TTL)."""
        desired = desired_interval_s(kind_of(info.key), c.ttl_s)
        if info.cost_usd != 0:  # a free question (the function list, the tags) is not stretched by the budget
            desired *= plan.scale
        return max(desired, info.ttl_s)

    # --- the policy (aws.cache.Policy) ----------------------------------------------------------------

    def on_expired(self, c: cache.SourceCache, key: Hashable, last: cache.Cached) -> cache.Decision:
        plan = self.plan()
        info = c.info(key)
        if info is None:
            return "fetch"
        age = last.age_s(self._clock())
        free = info.cost_usd == 0
        if plan.exhausted and not free:
            return "hold"
        interval = self.interval_s(c, info, plan)
        if age < interval:
            return "hold" if plan.binding and not free else "serve"
        if age > interval + MAX_SWR_S:
            return "fetch"
        return "revalidate"

    def held_error(self, c: cache.SourceCache, key: Hashable) -> AwsError:
        plan = self.plan()
        when = "is spent" if plan.exhausted else "would be exceeded by refreshing it as often as its TTL asks"
        return BudgetHeld(
            f"not refreshed: this month's AWS budget for the dashboard (aws.monthly_budget_usd, ${plan.budget_usd:,.2f}) {when}; "
            "press Refresh for newer data, or raise the budget"
        )

    def submit(self, c: cache.SourceCache, key: Hashable) -> bool:
        """Queue a refresh of ``key`` (once however often asked); False when already queued or the queue is full."""
        with self._lock:
            if (c.name, key) in self._inflight:
                return False
            try:
                self._queue.put_nowait((c, key))
            except queue.Full:
                return False  # the next tick or ask tries again
            self._inflight.add((c.name, key))
            return True

    # --- the scheduler --------------------------------------------------------------------------------

    def tick(self) -> int:
        """Queue the refreshes due now; how many were queued."""
        now_t = self._timer()
        watched = self._watched()
        with self._lock:
            if self._last_tick is not None:
                step = max(0.0, now_t - self._last_tick)
                self._elapsed_s += step
                if watched:
                    self._watched_s += step
            self._last_tick = now_t
        plan = self.plan()
        queued = 0
        for c, info in watched:
            if info.fetched_t is None or c.in_flight(info.key) or (plan.exhausted and info.cost_usd != 0):
                continue
            interval = self.interval_s(c, info, plan)
            if now_t >= info.fetched_t + interval - min(LEAD_S, interval / 10):
                queued += self.submit(c, info.key)
        return queued

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                c, key = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                with deadline(self.refresh_deadline_s):
                    c.revalidate(key)
            except Exception:  # noqa: BLE001 - a bug in one refresh must not stop the others; the next ask fetches
                log.exception("refreshing %s %s failed", c.name, _describe(key))
            finally:
                with self._lock:
                    self._inflight.discard((c.name, key))

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001
                log.exception("the refresh scheduler's tick failed")

    def start(self) -> Refresher:
        cache.set_policy(self)
        if not self._threads:
            self._threads = [threading.Thread(target=self._run, name="refresh-tick", daemon=True)]
            self._threads += [threading.Thread(target=self._work, name=f"refresh-{i}", daemon=True) for i in range(self._workers_n)]
            for t in self._threads:
                t.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the threads (a refresh under way finishes alone) and remove the policy."""
        self._stop.set()
        cache.set_policy(None)
        for t in self._threads:
            t.join(timeout_s)
        self._threads = []
        self._account()
        self._save(now=True)


def _describe(key: Hashable) -> str:
    """A short text for a key: its account, region and question, and how many functions."""
    if not isinstance(key, tuple):
        return str(key)[:60]
    parts = []
    for item in key[:4]:
        if isinstance(item, tuple) and len(item) > 1 and all(isinstance(x, str) for x in item):
            parts.append(f"{len(item)} functions")
        elif isinstance(item, tuple) and item:
            parts.append(str(item[0]))
        else:
            parts.append(str(item))
    last = key[-1]
    if isinstance(last, tuple) and len(last) == 1:
        parts.append(str(last[0]))
    elif isinstance(last, tuple) and len(key) > 4:
        parts.append(f"{len(last)} functions")
    return " ".join(parts)[:80]


_lock = threading.Lock()
_current: Refresher | None = None


def start(budget_usd: float, *, refresh_deadline_s: float = 300.0, ledger: SpendLedger | None = None) -> Refresher | None:
    """The process's refresher, started once (its budget follows the settings); None when the budget is 0.
    ``ledger``: where the month's spend is kept across restarts (read when the refresher starts)."""
    global _current
    with _lock:
        if _current is not None:
            _current.budget_usd = float(budget_usd)
            if budget_usd <= 0:
                _current.stop()
                _current = None
            return _current
        if budget_usd <= 0:
            return None
        _current = Refresher(budget_usd, refresh_deadline_s=refresh_deadline_s, ledger=ledger).start()
        return _current


def stop() -> None:
    global _current
    with _lock:
        if _current is not None:
            _current.stop()
            _current = None


def current() -> Refresher | None:
    return _current


@dataclass(frozen=True)
class MonthPlan:
    scale: float  # the desired intervals × this
    month_usd: float
    budget_usd: float

    @property
    def binding(self) -> bool:
        return self.scale > 1.0


def projected_month_usd(
    questions: list[tuple[float, float]], *, hours_per_day: float = 8.0, budget_usd: float = 10.0, days: int = 30
) -> MonthPlan:
    """Questions (cost a fetch in USD, desired interval in s) watched ``hours_per_day``: the stretch of their
    intervals and the month's spend under the refresher's arithmetic (desired intervals, stretched to fit the budget)."""
    watched = hours_per_day * 3600 * days
    rate = sum(cost / interval for cost, interval in questions)
    scale = stretch(rate, budget_usd, watched)
    month = rate / scale * watched if scale != float("inf") else 0.0
    return MonthPlan(scale, month, budget_usd)
