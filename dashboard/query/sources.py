"""Cached, fanned-out access to every source: the one place pages, the CLI and digests load data.

Each loader asks every configured account × region concurrently, through the
cache of its source (``aws.cache``), and returns a :class:`Loaded`: the merged
frame plus one :class:`SourceStatus` per account × region saying how fresh the
part is, whether it is stale, and the one-sentence error when it failed. One
part failing never stops the others.

Cache keys name the question, not the clock: a rolling range ("24h") is keyed by
its label and period, so the answer of two minutes ago is the one served stale
if a refresh fails; a fixed range is keyed by its start and end.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from aws import cache
from aws import costs as ce
from aws import functions as lam
from aws import tags as tagging
from aws.concurrency import run_within
from aws.errors import AwsError, TimedOut
from aws.frames import typed_frame
from aws.session import CE_REGION, Account
from dashboard.config.settings import Settings
from dashboard.query import days, progress
from dashboard.query.teams import assign_teams
from dashboard.query.timerange import PRESETS, TimeRange

__all__ = ["SourceStatus", "Loaded", "inventory", "fan_out", "daily_costs", "month_forecast", "built"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceStatus:
    """How one source's part (one account × region) stands."""

    source: str
    account: str
    region: str
    fetched_at: float | None = None
    stale: bool = False
    error: str | None = None  # one sentence: the cause and the fix
    error_kind: str | None = None  # AccessDenied, Throttled, ...
    iam_action: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None and not self.stale

    def age_s(self, now: float | None = None) -> float | None:
        return None if self.fetched_at is None else (now or time.time()) - self.fetched_at


@dataclass
class Loaded:
    """A merged frame and the status of each part it was built from."""

    frame: pd.DataFrame
    statuses: list[SourceStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # (account, region) → columns that part could not read although the rest of it was (e.g. refused percentiles)
    unknown: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        return [s.error for s in self.statuses if s.error]

    @property
    def failed(self) -> list[SourceStatus]:
        return [s for s in self.statuses if s.failed]

    @property
    def stale(self) -> list[SourceStatus]:
        return [s for s in self.statuses if s.stale]


Part = tuple[Account, str]  # account × region


def fan_out(
    source: str,
    parts: Iterable[Part],
    key: Callable[[Account, str], Hashable],
    fetch: Callable[[Account, str], pd.DataFrame],
    *,
    force: bool = False,
    max_workers: int = 8,
    data_end: datetime | None = None,
) -> tuple[list[pd.DataFrame], list[SourceStatus]]:
    """Fetch every part concurrently through ``source``'s cache; failures become statuses.
    ``data_end``: where the data asked for ends (an answer about a settled past is kept longer: :func:`aws.cache.ttl_for`)."""
    parts = list(parts)
    store = cache.source(source)
    tracker = progress.current()  # a page's count of the parts answered ("metrics: 3 of 8 account-regions")
    batch = tracker.begin(source, len(parts)) if tracker is not None and parts else None

    def one(part: Part) -> tuple[pd.DataFrame | None, SourceStatus]:
        account, region = part
        try:
            got = store.get(key(account, region), lambda: fetch(account, region), force=force, data_end=data_end)
        except AwsError as e:
            return None, _failed(source, account, region, e)
        finally:
            if batch is not None:
                tracker.answered(batch, part)
        return got.value, _status(source, account, region, got)

    def gave_up(part: Part, seconds: float) -> tuple[pd.DataFrame | None, SourceStatus]:
        account, region = part
        if batch is not None:
            tracker.answered(batch, part, late=True)
        which = "aws.deadline_s" if seconds >= account.deadline_s - 0.5 else "aws.refresh_deadline_s (the whole load's)"
        e = TimedOut(
            f"{SOURCE_TITLES.get(source, source)} in {account.name}/{region} did not finish within {seconds:.0f} s "
            f"(the endpoint is slow, throttling or trickling); check the network or the endpoint, or raise {which}.",
            account=account.name,
            region=region,
        )
        last = store.last(key(account, region))
        if last is None:
            return None, _failed(source, account, region, e)
        return last.value, _status(source, account, region, cache.Cached(last.value, last.fetched_at, stale=True, error=e))

    if not parts:
        return [], []
    results = run_within(
        one, parts, timeout_s=lambda p: p[0].deadline_s, on_timeout=gave_up, max_workers=max_workers, name=f"load-{source}",
        on_wait=None if tracker is None else tracker.tick,
    )  # fmt: skip
    if tracker is not None:
        tracker.tick()
    return [f for f, _ in results if f is not None], [s for _, s in results]


SOURCE_TITLES = {  # what a part holds, for the sentence of one that timed out
    "inventory": "The function list (Lambda)",
    "tags": "The tags (Resource Groups Tagging API)",
    "metrics": "The metrics (CloudWatch)",
    "logs": "Memory and cold starts (CloudWatch Logs)",
    "insights": "Lambda Insights (CloudWatch)",
    "costs": "The bill (Cost Explorer)",
    "forecast": "The forecast (Cost Explorer)",
}


def _failed(source: str, account: Account, region: str, e: AwsError) -> SourceStatus:
    log.warning("%s %s/%s failed: %s", source, account.name, region, e)
    return SourceStatus(source, account.name, region, error=str(e), error_kind=type(e).__name__, iam_action=getattr(e, "iam_action", None))


def _status(source: str, account: Account, region: str, got: cache.Cached) -> SourceStatus:
    err = got.error
    return SourceStatus(
        source,
        account.name,
        region,
        fetched_at=got.fetched_at,
        stale=got.stale,
        error=None if err is None else str(err),
        error_kind=None if err is None else type(err).__name__,
        iam_action=None if err is None else getattr(err, "iam_action", None),
    )


def _parts(settings: Settings, accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None) -> list[Part]:
    want_a = set(accounts) if accounts else None
    want_r = set(regions) if regions else None
    return [
        (a, r)
        for a in settings.aws_accounts()
        if want_a is None or a.name in want_a
        for r in a.regions
        if want_r is None or r in want_r
    ]


class _Built:
    """Frames built from cached answers, kept while the answers they were built from live.

    A cached answer is one shared, read-only object until it is refreshed: the frame built from the same
    objects is the same frame, so a script run (every widget change, every page view) reuses it instead of
    concatenating every account × region again (seconds and a new copy of the fleet's series at 10,000
    functions); a refresh gives new objects, hence a new build. The inputs are held weakly: once the cache
    lets go of an answer (refreshed, expired, cleared), every build made from it is dropped with it — a build
    held the replaced answers alive until 32 newer builds pushed it out, and a dashboard left open grew by a
    fleet's answers per refresh (tests/load/test_soak.py). An input that cannot be referenced weakly is held.
    A build is dropped at the latest on the next ``get`` after its input went; the id of an input that went is
    never looked up again (its key is dropped before the id can be reused). Bounded as well: the last ``size``
    builds, and the older ones dropped while all together hold more than ``max_bytes`` (the newest is kept).
    """

    def __init__(self, size: int, max_bytes: int) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._kept: OrderedDict[Hashable, tuple[tuple, Any, int]] = OrderedDict()
        self._gone: list[Hashable] = []  # keys whose inputs went (appended by weakref callbacks: no lock taken)

    def get(self, kind: Hashable, inputs: Iterable[Any], build: Callable[[], Any]) -> Any:
        inputs = tuple(inputs)
        key = (kind, tuple(id(x) for x in inputs))
        with self._lock:
            self._drop_gone()
            got = self._kept.get(key)
            if got is not None:
                self._kept.move_to_end(key)
                return got[1]
        value = build()
        size = int(value.memory_usage(index=False).sum()) if isinstance(value, pd.DataFrame) else 0
        held = tuple(self._hold(x, key) for x in inputs)
        with self._lock:
            self._kept[key] = (held, value, size)
            self._kept.move_to_end(key)
            total = sum(v[2] for v in self._kept.values())
            while len(self._kept) > 1 and (len(self._kept) > self._size or total > self._max_bytes):
                total -= self._kept.popitem(last=False)[1][2]
            self._drop_gone()
        return value

    def _hold(self, x: Any, key: Hashable) -> Any:
        gone = self._gone
        try:
            return weakref.ref(x, lambda _ref: gone.append(key))
        except TypeError:
            return x

    def _drop_gone(self) -> None:
        while self._gone:  # dropping a build may let go of a build made from it: its key is appended
            self._kept.pop(self._gone.pop(), None)

    def __len__(self) -> int:
        with self._lock:
            self._drop_gone()
            return len(self._kept)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._gone.clear()


_BUILT = _Built(size=32, max_bytes=1 << 30)  # a few fleet frames at 10,000 functions
cache.on_clear(_BUILT.clear)


def built(kind: Hashable, inputs: Iterable[Any], build: Callable[[], Any]) -> Any:
    """``build()`` of ``inputs`` (frames of cached answers, or frames built from them), kept while they are the same
    objects (:class:`_Built`): what a figure derives from the loads alone is derived once per answer, not per run.
    ``kind`` names the build and anything else it depends on. The value is shared: read-only."""
    return _BUILT.get(kind, inputs, build)


def _concat(frames: list[pd.DataFrame], schema_frame: pd.DataFrame) -> pd.DataFrame:
    """The parts' frames as one (kept while the parts are the same answers, :class:`_Built`: shared, read-only)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return schema_frame.iloc[0:0].copy()
    return _BUILT.get("concat", frames, lambda: pd.concat(frames, ignore_index=True))


def _in_part(frame: pd.DataFrame, account: Account, region: str) -> pd.DataFrame:
    """``frame``, labelled with the part it answers (``attrs["part"]``), so its unknown columns can be told apart."""
    frame.attrs["part"] = (account.name, region)
    return frame


def _unknown_columns(frames: list[pd.DataFrame]) -> dict[tuple[str, str], tuple[str, ...]]:
    return {f.attrs["part"]: tuple(f.attrs["unknown_columns"]) for f in frames if f.attrs.get("unknown_columns") and "part" in f.attrs}


def _frame_warnings(frames: list[pd.DataFrame]) -> list[str]:
    """The collectors' one-sentence warnings about what they could not read in part (e.g. refused percentiles)."""
    return list(dict.fromkeys(w for f in frames for w in f.attrs.get("warnings", [])))


INVENTORY_EXTRA = ["tags", "team"]


def inventory(
    settings: Settings, *, accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None, force: bool = False
) -> Loaded:
    """Every function of the selected accounts × regions with its tags (dict) and team.

    Tags come from the Tagging API; when that fails the functions still show, with
    no tags and the team from the manual map or "untagged", and the tag status says why.
    """
    cache.configure(settings.cache_ttl_s.model_dump())
    parts = _parts(settings, accounts, regions)
    fn_frames, fn_status = fan_out(
        "inventory", parts, lambda a, r: (a.cache_id, r, "functions"), lambda a, r: lam.functions(account=a, region=r), force=force
    )
    tag_frames, tag_status = fan_out(
        "tags", parts, lambda a, r: (a.cache_id, r, "tags"), lambda a, r: tagging.function_tags(account=a, region=r), force=force
    )
    alloc = settings.allocation

    def build() -> pd.DataFrame:
        funcs = _concat(fn_frames, typed_frame([], lam.SCHEMA))
        tags = _concat(tag_frames, typed_frame([], tagging.SCHEMA))
        by_arn: dict[str, dict[str, str]] = {}
        for arn, k, v in tags[["arn", "key", "value"]].itertuples(index=False):
            by_arn.setdefault(arn, {})[k] = v
        funcs = funcs.copy()
        funcs["tags"] = [by_arn.get(a, {}) for a in funcs["arn"]]
        funcs["team"] = assign_teams(funcs, tag_keys=alloc.tag_keys, manual=alloc.manual, untagged=alloc.untagged_label)
        return funcs.sort_values(["account", "region", "function"], ignore_index=True)

    # the same answers and allocation settings: the same frame (kept, shared read-only: _Built)
    funcs = _BUILT.get(("inventory", alloc.model_dump_json(), len(fn_frames)), [*fn_frames, *tag_frames], build)
    return Loaded(funcs, fn_status + tag_status, _frame_warnings(fn_frames))


def settles(trange: TimeRange) -> datetime | None:
    """The end of a fixed range (its answer is kept once that has settled); None for a rolling preset, which moves."""
    return None if trange.label.removeprefix("previous ") in PRESETS else trange.end


def range_key(trange: TimeRange) -> Hashable:
    """A rolling preset (or the period before one, or a rule's rolling window, labelled ``rolling …``) is keyed by
    its label; a fixed range by its bounds (to the minute)."""
    if trange.label.removeprefix("previous ") in PRESETS or trange.label.startswith("rolling "):
        return trange.label
    return (int(trange.start.timestamp()) // 60 * 60, int(trange.end.timestamp()) // 60 * 60)


def daily_costs(
    settings: Settings,
    *,
    start: date,
    end: date,
    group_by: str | None = None,
    accounts: Iterable[str] | None = None,
    force: bool = False,
) -> Loaded:
    """Cost Explorer daily Lambda spend per account (asked once per question per TTL)."""
    cache.configure(settings.cache_ttl_s.model_dump())
    accts = [(a, CE_REGION) for a in settings.aws_accounts() if not accounts or a.name in set(accounts)]
    # the days before yesterday are kept by the day (dashboard.query.days): a refresh inside a day asks only for
    # yesterday and today, a range of kept days (the month before) asks nothing; the kept days are read again daily
    settled = settings.now().astimezone(UTC).date() - timedelta(days=1)

    def fetch(a: Account) -> pd.DataFrame:
        return days.read(
            (a.cache_id, "global", "costs-days", group_by or "TOTAL"),
            start,
            end,
            fetch=lambda lo, hi: ce.daily_costs(account=a, start=lo, end=hi, group_by=group_by),
            day_of=lambda f: days.day_column(f, "date"),
            settled_before=settled,
            max_age_s=days.CE_MAX_AGE_S,
            order=["date"],
        )

    frames, status = fan_out(
        "costs",
        accts,
        lambda a, r: (a.cache_id, "global", "costs", group_by or "TOTAL", start.isoformat(), end.isoformat()),
        lambda a, r: fetch(a),
        force=force,
    )
    return Loaded(_concat(frames, typed_frame([], ce.SCHEMA)), status)


def month_forecast(settings: Settings, *, today: date | None = None, force: bool = False) -> Loaded:
    """Cost Explorer's forecast of Lambda spend from today to the end of this month."""
    cache.configure(settings.cache_ttl_s.model_dump())
    today = today or datetime.now(UTC).date()
    month_end = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    accts = [(a, CE_REGION) for a in settings.aws_accounts()]
    frames, status = fan_out(
        "forecast",
        accts,
        lambda a, r: (a.cache_id, "global", "forecast", today.isoformat(), month_end.isoformat()),
        lambda a, r: ce.forecast(account=a, start=today, end=month_end),
        force=force,
    )
    return Loaded(_concat(frames, typed_frame([], ce.FORECAST_SCHEMA)), status)


# --- metrics, memory and cold starts --------------------------------------------------------------

MEMORY_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "timestamp": "datetime64[ns, UTC]",
    "bin_s": "int64",
    "reports": "Int64",  # REPORT lines seen; <NA> where the figures come from Lambda Insights
    "cold_starts": "Int64",
    "init_ms_mean": "float64",
    "init_ms_p99": "float64",
    "billed_ms_sum": "float64",
    "gb_seconds": "float64",
    "used_mb_max": "float64",
    "used_mb_mean": "float64",
    "memory_mb": "float64",
    "source": "string",  # logs_insights | filter_log_events | lambda_insights
}


def _by_part(settings: Settings, inv: pd.DataFrame) -> dict[Part, pd.DataFrame]:
    accounts = {a.name: a for a in settings.aws_accounts()}
    out: dict[Part, pd.DataFrame] = {}
    if inv.empty:
        return out
    for (acct, region), rows in inv.groupby(["account", "region"], sort=True):
        if acct in accounts:
            out[(accounts[acct], region)] = rows
    return out


def _fn_key(rows: pd.DataFrame) -> tuple[str, ...]:
    return tuple(sorted(rows["function"].tolist()))


FLEET = "fleet"  # the ``period`` of a fleet view's series: aws.metrics.fleet_window (about 60 points a function)


def _fleet_window(trange: TimeRange) -> tuple[datetime, datetime, int]:
    from aws import metrics as cw

    return cw.fleet_window(start=trange.start, end=trange.end, now=trange.end if trange.label in PRESETS else None)


def fleet_range(trange: TimeRange) -> tuple[datetime, datetime]:
    """``(start, end)`` of a fleet view's series over ``trange`` (:data:`FLEET`): what its trend is binned over."""
    start, end, _ = _fleet_window(trange)
    return start, end


def metrics(
    settings: Settings,
    trange: TimeRange,
    inv: pd.DataFrame,
    *,
    period: int | str | None = None,
    columns: tuple[str, ...] | None = None,
    force: bool = False,
) -> Loaded:
    """The AWS/Lambda metric series of the inventory's functions over ``trange`` (one period for all).

    ``period``: None — the finest the range allows (:func:`aws.metrics.choose_period`); :data:`FLEET` — a
    fleet view's trend, about 60 periods ending at the range's end (:func:`aws.metrics.fleet_window`); a
    number of seconds — that period (a function page's charts, an alert rule's). ``columns``: only those
    metrics are asked for (GetMetricData bills per metric), the others are NaN.
    """
    from aws import metrics as cw

    cache.configure(settings.cache_ttl_s.model_dump())
    groups = _by_part(settings, inv)
    start, end, anchored = trange.start, trange.end, False
    rolling = trange.label in PRESETS
    if period == FLEET:
        start, end, step = _fleet_window(trange)
        anchored = True
    elif period is None:
        step = cw.choose_period(start=trange.start, end=trange.end)
        if rolling:
            # "The last 24 h" ends at the current period's end: exactly span / period points a query, so
            # the queries pack into the fewest GetMetricData calls (100,800 is a multiple of 1,440 and 2,016).
            start, end, step = cw.recent_window(span=trange.duration, now=trange.end)
    else:
        step = int(period)
    cols = None if columns is None else tuple(sorted(set(columns)))

    def optional(a: Account, r: str) -> pd.DataFrame:
        return cache.source("inventory").get((a.cache_id, r, "optional-metrics"), lambda: cw.discover_optional(account=a, region=r)).value

    wants_optional = cols is None or bool(set(cols) & {s.column for s in cw.OPTIONAL_SPECS})

    def read(a: Account, r: str, lo: datetime, hi: datetime) -> pd.DataFrame:
        return cw.lambda_metrics(
            account=a,
            region=r,
            functions=_fn_key(groups[(a, r)]),
            start=lo,
            end=hi,
            period=step,
            optional=optional(a, r) if wants_optional else None,
            columns=cols,
            anchored=anchored,
        )

    # whole UTC days at one period a day (the cost estimate's, the recommendations'): the settled days are kept by
    # the day, so a new day reads only the days not kept (dashboard.query.days)
    span = days.whole_days(start, end) if step == days.DAY_S and not anchored and not rolling else None

    def fetch(a: Account, r: str) -> pd.DataFrame:
        if span is None:
            return read(a, r, start, end)
        return days.read(
            (a.cache_id, r, "metrics-days", step, cols, _fn_key(groups[(a, r)])),
            *span,
            fetch=lambda lo, hi: read(a, r, days.midnight(lo), days.midnight(hi)),
            day_of=lambda f: days.day_column(f, "timestamp"),
            settled_before=days.settled_metrics_before(settings.now()),
            order=["function", "timestamp"],
        )

    frames, status = fan_out(
        "metrics",
        groups,
        lambda a, r: (a.cache_id, r, "metrics", range_key(trange), step, anchored, cols, _fn_key(groups[(a, r)])),
        lambda a, r: _in_part(fetch(a, r), a, r),
        force=force,
        data_end=settles(trange),
    )
    return Loaded(_concat(frames, typed_frame([], cw.LAMBDA_SCHEMA)), status, _frame_warnings(frames), _unknown_columns(frames))


def range_stats(
    settings: Settings, trange: TimeRange, inv: pd.DataFrame, *, columns: tuple[str, ...] = ("duration_p99_ms",), force: bool = False
) -> Loaded:
    """Statistics over the whole range, one row per function (exact, not derived from periods).

    The default is the p99 the summary needs (one metric per function); the Overview asks for the
    previous period's totals too (``invocations``, ``errors``, ``throttles``, ``duration_p99_ms``).
    """
    from aws import metrics as cw

    cache.configure(settings.cache_ttl_s.model_dump())
    groups = _by_part(settings, inv)
    # a rolling range ends now: its end is the clock (a simulated account's too) the data's age is read by
    now = trange.end if trange.label in PRESETS else None
    frames, status = fan_out(
        "metrics",
        groups,
        lambda a, r: (a.cache_id, r, "range-stats", range_key(trange), columns, _fn_key(groups[(a, r)])),
        lambda a, r: _in_part(
            cw.range_statistics(
                account=a, region=r, functions=_fn_key(groups[(a, r)]), start=trange.start, end=trange.end, columns=columns, now=now
            ),
            a,
            r,
        ),
        force=force,
        data_end=settles(trange),
    )
    return Loaded(_concat(frames, typed_frame([], cw.RANGE_SCHEMA)), status, _frame_warnings(frames), _unknown_columns(frames))


# the Lambda Insights metric columns each memory figure is read from (:func:`_insights_as_memory`)
_INSIGHTS_GIVES: dict[str, tuple[str, ...]] = {
    "used_mb_max": ("used_memory_max_mb",),
    "memory_mb": ("total_memory_mb",),
    "cold_starts": ("init_duration_count",),
    "init_ms_mean": ("init_duration_avg_ms",),
    "init_ms_p99": ("init_duration_max_ms",),
}


def _insights_as_memory(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "account": frame["account"],
            "region": frame["region"],
            "function": frame["function"],
            "timestamp": frame["timestamp"],
            "bin_s": frame["period_s"],
            "used_mb_max": frame["used_memory_max_mb"],
            "memory_mb": frame["total_memory_mb"],
            "cold_starts": frame["init_duration_count"].round().astype("Int64"),
            "init_ms_mean": frame["init_duration_avg_ms"],
            "init_ms_p99": frame["init_duration_max_ms"],  # an upper bound: Insights gives the maximum
            "source": "lambda_insights",
        }
    )
    return typed_frame(out, MEMORY_SCHEMA)


def memory(
    settings: Settings,
    trange: TimeRange,
    inv: pd.DataFrame,
    *,
    bin_s: int | None = None,
    columns: tuple[str, ...] | None = None,
    force: bool = False,
) -> Loaded:
    """Memory used, cold starts, init and billed duration per function and bin (``bin_s``, default
    :func:`aws.logs.choose_bin` of the range; the cost estimate asks for UTC days, 86,400).

    Functions with Lambda Insights are read from its metrics (cheap); the others from their
    REPORT lines (Logs Insights, or FilterLogEvents where the endpoint lacks it, per
    ``logs.source`` in the settings). ``columns``: only these figures (of :data:`MEMORY_SCHEMA`, e.g.
    ``("used_mb_max",)`` for the recommendations' hourly maxima) are asked for, of Lambda Insights (its metrics that
    give them) and of Logs Insights (those statistics besides the counts); the others are NaN.
    """
    from aws import logs as cwl
    from aws import metrics as cw

    cache.configure(settings.cache_ttl_s.model_dump())
    groups = _by_part(settings, inv)
    prefer = "events" if settings.logs.source == "filter" else "insights"
    bin_s = cwl.choose_bin(start=trange.start, end=trange.end) if bin_s is None else int(bin_s)
    insights_columns = report_fields = None
    if columns is not None:
        unknown = set(columns) - set(MEMORY_SCHEMA)
        if unknown:
            raise ValueError(f"unknown memory figures {sorted(unknown)}")
        insights_columns = tuple(dict.fromkeys(c for f in columns for c in _INSIGHTS_GIVES.get(f, ()))) or None
        report_fields = tuple(f for f in columns if f in cwl.REPORT_FIGURES)

    def insights_set(a: Account, r: str) -> frozenset[str]:
        return cache.source("insights").get((a.cache_id, r, "insights-functions"), lambda: frozenset(cw.insights_functions(account=a, region=r))).value

    def read(a: Account, r: str, lo: datetime, hi: datetime) -> pd.DataFrame:
        rows = groups[(a, r)]
        parts = []
        warnings = []
        try:
            with_insights = insights_set(a, r) if settings.logs.source == "auto" else frozenset()
        except AwsError as e:  # CloudWatch unreadable: every function's REPORT lines still tell
            warnings.append(f"Lambda Insights metrics unavailable, read from REPORT lines instead: {e}")
            with_insights = frozenset()
        ins = [f for f in rows["function"] if f in with_insights]
        if ins:
            try:
                m = cw.insights_metrics(account=a, region=r, functions=ins, start=lo, end=hi, period=bin_s, available=set(ins), columns=insights_columns)
            except AwsError as e:  # Lambda Insights unreadable: those functions' REPORT lines still tell
                warnings.append(f"Lambda Insights metrics unavailable, read from REPORT lines instead: {e}")
                with_insights = frozenset()
            else:
                parts.append(_insights_as_memory(m))
        rest = rows[~rows["function"].isin(with_insights)]
        if not rest.empty:
            groups_map = dict(zip(rest["function"], rest["log_group"], strict=True))
            parts.append(
                typed_frame(
                    cwl.memory_and_cold_starts(account=a, region=r, log_groups=groups_map, start=lo, end=hi, bin_s=bin_s, prefer=prefer, fields=report_fields),
                    MEMORY_SCHEMA,
                )
            )
        out = _concat(parts, typed_frame([], MEMORY_SCHEMA))
        out.attrs["warnings"] = warnings
        return out

    # whole UTC days in bins that divide a day (the estimate's days, the recommendations' hours): the settled days
    # are kept by the day, so a new day reads (and Logs Insights scans) only the days not kept (dashboard.query.days)
    span = days.whole_days(trange.start, trange.end) if trange.label not in PRESETS and days.DAY_S % bin_s == 0 else None

    def fetch(a: Account, r: str) -> pd.DataFrame:
        if span is None:
            return read(a, r, trange.start, trange.end)
        return days.read(
            (a.cache_id, r, "memory-days", bin_s, settings.logs.source, columns, _fn_key(groups[(a, r)])),
            *span,
            fetch=lambda lo, hi: read(a, r, days.midnight(lo), days.midnight(hi)),
            day_of=lambda f: days.day_column(f, "timestamp"),
            settled_before=days.settled_metrics_before(settings.now()),
            order=["function", "timestamp"],
        )

    frames, status = fan_out(
        "logs", groups, lambda a, r: (a.cache_id, r, "memory", range_key(trange), bin_s, settings.logs.source, *((columns,) if columns else ()), _fn_key(groups[(a, r)])), fetch, force=force,
        data_end=settles(trange),
    )  # fmt: skip
    return Loaded(_concat(frames, typed_frame([], MEMORY_SCHEMA)), status, _frame_warnings(frames))
