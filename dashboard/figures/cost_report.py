"""Everything the Costs and Teams pages, ``python -m dashboard costs`` and the function page need.

:func:`gather` loads one month (and the one before it): the inventory, our estimate from
usage (:func:`dashboard.figures.cost_estimate.estimate` over the month's complete UTC days, read at one
period a day: :data:`DAY_S`, :data:`ESTIMATE_COLUMNS`), Cost
Explorer's daily total, by usage type and by the first allocation tag key that is active
in Cost Explorer, and the forecast to the month's end. Cost Explorer is asked through the
cache (one request per distinct question per TTL). When it cannot be read, every
usage-based figure still shows and :attr:`CostReport.ce_missing` is one sentence saying why
the actual spend is missing.

:func:`costs_table` builds the rows by team, function or usage type: the page tables, the
CSV download and the CLI all print these, so their numbers are the same.
:func:`rightsizing` gives the recommendations over the last 30 days.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from aws import cache
from aws import costs as ce
from aws.concurrency import deadline, run_concurrently
from aws.errors import AwsError
from aws.frames import typed_frame
from aws.session import CE_REGION, Account, call
from dashboard.config.echo import echo
from dashboard.config.settings import Settings
from dashboard.figures import allocation, organizations, reconcile
from dashboard.figures.cost_estimate import ESTIMATE_SCHEMA, assumed_note, estimate
from dashboard.figures.pricing import PriceBook, load_prices
from dashboard.figures.provisioned import BASIS_RANK, PC_NONE
from dashboard.query import days, sources
from dashboard.query.load import unread_parts
from dashboard.query.timerange import RangeError, TimeRange

__all__ = [
    "BY",
    "CostReport",
    "HISTORY_MONTHS",
    "MonthError",
    "month_bounds",
    "check_month",
    "clock",
    "prices_for",
    "with_provisioned_concurrency",
    "function_costs",
    "gather",
    "narrow",
    "costs_table",
    "team_drilldown",
    "usage_type_daily",
    "rightsizing",
    "rightsizing_range",
]

log = logging.getLogger(__name__)

BY = ("team", "function", "usage-type")
_KEYS = ["account", "region", "function"]


def _now() -> datetime:
    return datetime.now(UTC)


HISTORY_MONTHS = 13  # Cost Explorer answers for the current month and the 12 before it


class MonthError(RangeError):
    """A month that is not one, or that has no bill to show. ``str()`` is the CLI's sentence
    (``--month '2026-13' is not a month; …``); a page says :attr:`value` and :attr:`problem` its own way."""

    def __init__(self, value: str, problem: str):
        self.value = value  # as the sentence quotes it (a refused text cut to 60 characters)
        self.problem = problem  # "is not a month; use YYYY-MM, e.g. 2026-12"
        super().__init__(f"--month {value} {problem}")


def month_bounds(month: str | None, *, today: date) -> tuple[date, date, date]:
    """(first day, end of the complete days (exclusive), first day of the next month) of ``YYYY-MM``.

    ``None`` is the current month. A month that is not ``YYYY-MM``, is in the future, or whose previous month
    (the report reads it too) is beyond Cost Explorer's :data:`HISTORY_MONTHS` months of history raises
    :class:`MonthError`, before any date arithmetic (``0001-01`` and ``9999-12`` are refused, not an OverflowError).
    """
    this = today.replace(day=1)
    if month is None:
        first = this
    else:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}", month):
                raise ValueError(month)
            first = datetime.strptime(month, "%Y-%m").date()
        except ValueError:
            raise MonthError(echo(month), f"is not a month; use YYYY-MM, e.g. {today:%Y-%m}") from None
        back = this.year * 12 + this.month - 1 - (HISTORY_MONTHS - 2)  # the oldest month whose previous one CE has
        oldest = date(back // 12, back % 12 + 1, 1)
        if first > today:
            raise MonthError(month, f"is in the future; use {today:%Y-%m} or earlier")
        if first < oldest:
            raise MonthError(month, f"is too old: the report reads it and the month before, and Cost Explorer keeps {HISTORY_MONTHS} months; use {oldest:%Y-%m} to {today:%Y-%m}")
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, min(nxt, today), nxt


def check_month(settings: Settings, month: str | None, *, now: datetime | None = None) -> tuple[date, date, date]:
    """:func:`month_bounds` of ``month`` at the clock :func:`gather` reads (a page checks ``?month=`` before it loads)."""
    return month_bounds(month, today=_today(settings, now))


def clock(settings: Settings) -> datetime:
    """The moment :func:`gather` reads the month at when given no ``now``: the config's fixed clock, else now."""
    return (settings.fixed_now or _now()).astimezone(UTC)


def _today(settings: Settings, now: datetime | None) -> date:
    return (now or clock(settings)).astimezone(UTC).date()


def prices_for(settings: Settings) -> PriceBook:
    """The price book with the config's ``pricing:`` overrides applied."""
    return load_prices(settings.pricing_overrides())


def _pc_configs(account: Account, region: str, functions: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for fn in functions:
        got = call(account, "lambda", region, "list_provisioned_concurrency_configs", FunctionName=fn)
        total = sum(
            int(x.get("AllocatedProvisionedConcurrentExecutions", 0))
            for x in got.get("ProvisionedConcurrencyConfigs", ())
        )
        rows.append({"account": account.name, "region": region, "function": fn, "provisioned_concurrency": total})
    return pd.DataFrame(rows, columns=["account", "region", "function", "provisioned_concurrency"])


def with_provisioned_concurrency(
    settings: Settings, inv: pd.DataFrame, metrics: pd.DataFrame, *, force: bool = False
) -> tuple[pd.DataFrame, list[sources.SourceStatus]]:
    """The inventory plus ``provisioned_concurrency`` (all aliases and versions) of every function that
    publishes ProvisionedConcurrencyUtilization (ListProvisionedConcurrencyConfigs, cached as inventory)."""
    out = inv.copy()
    out["provisioned_concurrency"] = pd.array([pd.NA] * len(out), dtype="Int64")
    if metrics.empty or "pc_utilization_max" not in metrics.columns:
        return out, []
    seen = metrics[metrics["pc_utilization_max"].notna()][_KEYS].drop_duplicates()
    accounts = {a.name: a for a in settings.aws_accounts()}
    parts = {}
    for (acct, region), rows in seen.groupby(["account", "region"]):
        if acct in accounts:
            parts[(accounts[acct], region)] = tuple(sorted(rows["function"].astype(str)))
    frames, status = sources.fan_out(
        "inventory",
        list(parts),
        lambda a, r: (a.cache_id, r, "provisioned", parts[(a, r)]),
        lambda a, r: _pc_configs(a, r, parts[(a, r)]),
        force=force,
    )
    if frames:
        pc = pd.concat(frames, ignore_index=True)
        alloc = {(a, r, f): n for a, r, f, n in pc.itertuples(index=False)}
        out["provisioned_concurrency"] = pd.array(
            [alloc.get(k) for k in zip(out["account"], out["region"], out["function"], strict=True)], dtype="Int64"
        )
    return out, [s for s in status if s.error]


def provisioned_history(
    settings: Settings, inv: pd.DataFrame, metrics: pd.DataFrame, memory: pd.DataFrame, start: datetime, end: datetime,
    *, now: datetime, force: bool = False, range_key: Hashable | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[sources.SourceStatus], list[str]]:
    """Provisioned concurrency per function and day from what AWS records, and SnapStart's cache and restores.

    Reads (through the caches, :mod:`aws.provisioned`): Application Auto Scaling's scaling activities of every
    region; for the functions they name or whose ProvisionedConcurrencyUtilization shows in ``metrics``, the
    configs now and the hourly PC metrics; the published versions of SnapStart functions. Returns
    (:data:`dashboard.figures.provisioned.PC_DAILY_SCHEMA` frame, :data:`dashboard.figures.cost_estimate.FEATURES_SCHEMA`
    frame, statuses, sentences). Evidence that cannot be read is named in a sentence, and what it would have told
    is assumed constant (:func:`dashboard.figures.provisioned.daily`).
    ``range_key``: what the range's answers are cached by (:func:`dashboard.query.sources.range_key`: a rolling range by
    its name, as its other metrics, so a page run a minute later does not ask again); default its start and end.
    """
    from aws import provisioned as pcs
    from dashboard.figures import provisioned as pcf
    from dashboard.figures.cost_estimate import FEATURES_SCHEMA
    from dashboard.figures.pricing import SNAPSTART_MIN_S

    rkey = (start, end) if range_key is None else range_key
    accounts = {a.name: a for a in settings.aws_accounts()}
    parts = sorted({(a, r) for a, r in zip(inv["account"], inv["region"], strict=True) if a in accounts}) if len(inv) else []
    parts = [(accounts[a], r) for a, r in parts]
    sentences: list[str] = []
    acts, st1 = sources.fan_out(
        "inventory",
        parts,
        lambda a, r: (a.cache_id, r, "pc-activities"),
        lambda a, r: pcs.scaling_activities(account=a, region=r),
    )
    statuses = list(st1)
    failed_acts = {(s.account, s.region) for s in st1 if s.failed}
    for s in st1:
        if s.failed:
            sentences.append(
                f"Application Auto Scaling's record of provisioned concurrency could not be read in {s.account}/{s.region} "
                f"({s.error}); grant application-autoscaling:DescribeScalingActivities, else provisioned concurrency "
                "there rests on CloudWatch and today's settings."
            )
    act = pd.concat(acts, ignore_index=True) if acts else typed_frame([], pcs.ACTIVITY_SCHEMA)
    cand: dict[tuple, set[str]] = {}
    if len(metrics) and "pc_utilization_max" in metrics.columns:
        seen = metrics[metrics["pc_utilization_max"].notna()]
        for a, r, f in seen[_KEYS].drop_duplicates().itertuples(index=False):
            cand.setdefault((a, r), set()).add(f)
    for a, r, f in act[_KEYS].drop_duplicates().itertuples(index=False):
        cand.setdefault((a, r), set()).add(f)
    pc_parts = [(accounts[a], r) for (a, r) in sorted(cand) if a in accounts]
    names = {(accounts[a].name, r): tuple(sorted(fs)) for (a, r), fs in cand.items() if a in accounts}
    cfgs, st2 = sources.fan_out(
        "inventory",
        pc_parts,
        lambda a, r: (a.cache_id, r, "pc-configs", names[(a.name, r)]),
        lambda a, r: pcs.configs(account=a, region=r, functions=names[(a.name, r)]),
        force=force,
    )
    mets, st3 = sources.fan_out(
        "metrics",
        pc_parts,
        lambda a, r: (a.cache_id, r, "pc-metrics", names[(a.name, r)], *rkey),
        lambda a, r: _by_day(
            (a.cache_id, r, "pc-metrics-days", names[(a.name, r)]), settings, start, end, "timestamp",
            lambda lo, hi: pcs.pc_metrics(account=a, region=r, functions=names[(a.name, r)], start=lo, end=hi),
        ),
        force=force,
        data_end=end,  # a past range settles: kept, not re-read every metrics TTL
    )
    statuses += [*st2, *st3]
    cfg = pd.concat(cfgs, ignore_index=True) if cfgs else typed_frame([], pcs.CONFIG_SCHEMA)
    met = pd.concat(mets, ignore_index=True) if mets else typed_frame([], pcs.PC_METRICS_SCHEMA)
    pc = pcf.daily(
        configs=cfg,
        activities=None if failed_acts and not len(act) else act,
        metrics=None if any(s.failed for s in st3) and not len(met) else met,
        start=start,
        end=end,
        now=now,
    )
    sentences += pc.attrs.get("notes", [])
    # SnapStart: the published versions' cache while active, restores from REPORT lines where read
    snap = inv[inv["snapstart"].fillna(False).astype(bool)] if "snapstart" in inv.columns and len(inv) else inv.iloc[0:0]
    snap_names = {}
    for a, r, f in snap[_KEYS].itertuples(index=False):
        if a in accounts:
            snap_names.setdefault((a, r), []).append(f)
    vers, st4 = sources.fan_out(
        "inventory",
        [(accounts[a], r) for a, r in sorted(snap_names)],
        lambda a, r: (a.cache_id, r, "snapstart-versions", tuple(snap_names[(a.name, r)])),
        lambda a, r: pcs.snapstart_versions(account=a, region=r, functions=snap_names[(a.name, r)]),
        force=force,
    )
    statuses += st4
    rows = []
    t0, t1 = pd.Timestamp(start), min(pd.Timestamp(end), pd.Timestamp(now))
    for v in (pd.concat(vers, ignore_index=True) if vers else typed_frame([], pcs.VERSION_SCHEMA)).itertuples(index=False):
        if not v.snapstart_on:
            continue
        gb = float(v.memory_mb) / 1024.0
        pub = pd.Timestamp(v.published)
        day = max(t0, pub).floor("D")
        while day < t1:
            a, b = max(day, pub, t0), min(day + pd.Timedelta(days=1), t1)
            secs = max(0.0, (b - a).total_seconds())
            if pub >= day and (t1 - pub).total_seconds() < SNAPSTART_MIN_S:
                secs = max(secs, SNAPSTART_MIN_S)  # the 3-hour minimum, charged the day it was published
            rows.append({"account": v.account, "region": v.region, "function": v.function, "date": day.tz_localize(None), "snapstart_cache_gb_s": gb * secs})
            day += pd.Timedelta(days=1)
    # response streaming: bytes and responses per day of every function that streams
    streams, st5 = sources.fan_out(
        "metrics",
        parts,
        lambda a, r: (a.cache_id, r, "streamed", *rkey),
        lambda a, r: _by_day(
            (a.cache_id, r, "streamed-days"), settings, start, end, "timestamp",
            lambda lo, hi: pcs.streamed(
                account=a, region=r, start=lo, end=hi, now=now,
                functions=inv.loc[(inv["account"] == a.name) & (inv["region"] == r), "function"].tolist(),
            ),
        ),  # fmt: skip
        force=force,
        data_end=end,
    )
    statuses += st5
    for f in streams:
        for x in f.itertuples(index=False):
            rows.append(
                {"account": x.account, "region": x.region, "function": x.function,
                 "date": pd.Timestamp(x.timestamp).tz_convert("UTC").floor("D").tz_localize(None),
                 "streamed_bytes": x.streamed_bytes, "streamed_responses": x.invocations}
            )  # fmt: skip
    feats = typed_frame(rows, FEATURES_SCHEMA)
    if len(feats):
        sums = ["snapstart_cache_gb_s", "streamed_bytes", "streamed_responses"]
        feats = feats.groupby([*_KEYS, "date"], as_index=False)[sums].sum(min_count=1)
        feats[sums] = feats[sums].fillna(0.0)
        # restores: REPORT lines read one by one count them (FilterLogEvents); Logs Insights' query counts INIT only
        mem = memory[memory["source"] == "filter_log_events"] if len(memory) else memory
        restores = pd.Series(dtype="float64")
        if len(mem):
            m = mem.assign(date=pd.to_datetime(mem["timestamp"], utc=True).dt.floor("D").dt.tz_localize(None))
            restores = m.groupby([*_KEYS, "date"])["cold_starts"].sum().astype("float64")
        snapping = set(map(tuple, snap[_KEYS].astype(object).itertuples(index=False, name=None)))
        feats["snapstart_restores"] = [
            restores.get((a, r, f, d), np.nan) if (a, r, f) in snapping else 0.0
            for a, r, f, d in feats[[*_KEYS, "date"]].itertuples(index=False)
        ]
        feats = typed_frame(feats, FEATURES_SCHEMA)
    # evidence that could not be read is not a figure lost: the sentence names it and the figure rests on what was read
    # (pc_basis); only answers served stale are statuses (the freshness panel)
    return pc, feats, [s for s in statuses if s.error and not s.failed], sentences


def _by_day(
    base: tuple, settings: Settings, start: datetime, end: datetime, column: str, read: Callable[[datetime, datetime], pd.DataFrame]
) -> pd.DataFrame:
    """``read(start, end)``, through the days kept of ``base`` when the range is whole UTC days (:mod:`dashboard.query.days`)."""
    span = days.whole_days(start, end)
    if span is None:
        return read(start, end)
    return days.read(
        base, *span,
        fetch=lambda lo, hi: read(days.midnight(lo), days.midnight(hi)),
        day_of=lambda f: days.day_column(f, column),
        settled_before=days.settled_metrics_before(settings.now()),
        order=["function", column],
    )  # fmt: skip


FUNCTION_COST_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "est_cost_usd": "float64",  # list price over the range, before the free tier; NaN: its usage could not be read
    "lower_estimate": "boolean",
}


def function_costs(
    inventory: pd.DataFrame,
    metrics: pd.DataFrame,
    memory: pd.DataFrame,
    prices: PriceBook,
    *,
    unread: Iterable[tuple[str, str]] = (),
    provisioned: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The estimated cost of each function over the frames' range (pure): :func:`estimate` at list price (the
    free tier is the account's, not a function's), SnapStart and response streaming from ``features`` (as
    :func:`provisioned_history` gives them, as the Costs page prices them), provisioned concurrency from ``provisioned`` (:func:`provisioned_history`)
    or, without it, where ``inventory`` carries ``provisioned_concurrency`` (:func:`with_provisioned_concurrency`:
    today's allocation assumed constant). One row per inventory function; a function of an ``unread`` (account,
    region) part, whose usage could not be read, costs NaN (unknown). ``attrs["assumed_note"]``: the sentence naming
    the rates priced by assumption, or None."""
    keys = inventory[_KEYS].astype(object) if not inventory.empty else pd.DataFrame(columns=_KEYS)
    note = None
    if inventory.empty or (metrics.empty and memory.empty):
        out = keys.assign(est_cost_usd=0.0, lower_estimate=False)
    else:
        est = estimate(
            inventory=inventory, metrics=metrics, memory=memory, prices=prices, free_tier=False, provisioned=provisioned,
            features=features,
        )
        note = est.attrs.get("assumed_note")
        e = est.assign(**{k: est[k].astype(object) for k in _KEYS}, lower=est["lower_estimate"].astype(bool))
        agg = e.groupby(_KEYS, as_index=False).agg(est_cost_usd=("total_usd", "sum"), lower_estimate=("lower", "any"))
        out = keys.merge(agg, on=_KEYS, how="left")
        out["est_cost_usd"] = pd.to_numeric(out["est_cost_usd"]).astype("float64").fillna(0.0)
        out["lower_estimate"] = out["lower_estimate"].fillna(False).astype(bool)
    gone = set(unread)
    if gone and len(out):
        lost = [(a, r) in gone for a, r in zip(out["account"], out["region"], strict=True)]
        out.loc[lost, "est_cost_usd"] = np.nan
    out = typed_frame(out, FUNCTION_COST_SCHEMA)
    out.attrs["assumed_note"] = note
    return out


WHOLE_ACCOUNT_BILL = (
    "Cost Explorer's bill covers whole accounts, so with a region or team filter the figures here are our "
    "estimate from usage at list prices."
)


@dataclass
class CostReport:
    """One month of estimate and bill (complete days), and the month before it."""

    month: str
    first: date
    end: date  # complete days end here (exclusive)
    month_end: date  # first day of the next month
    today: date
    inventory: pd.DataFrame
    estimate: pd.DataFrame  # the month's complete days
    last_estimate: pd.DataFrame  # the whole previous month
    costs: pd.DataFrame  # Cost Explorer TOTAL daily, previous month's first .. month end or today (included)
    by_usage_type: pd.DataFrame  # Cost Explorer USAGE_TYPE daily, the month
    tag_key: str | None  # the allocation tag key active in Cost Explorer
    tag_costs: pd.DataFrame | None  # None: not read (tag_gap says why)
    forecast: pd.DataFrame
    prices: PriceBook
    statuses: list[sources.SourceStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ce_missing: str | None = None  # one sentence: why the actual spend is missing
    forecast_missing: str | None = None  # one sentence: why Cost Explorer's forecast is missing (the bill may be there)
    tag_gap: str | None = None  # why tag_costs is None: an allocation.CE_TAG_GAPS code ("tag_inactive", "tag_unread")
    # what was computed of this report (tables, the reconciliation), kept with it: a report is shared by sessions and
    # script runs (gather's memo), so its tables are built once; a narrowed report starts its own (init=False)
    _kept: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def kept(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once for this report (shared: treat the result as read-only)."""
        try:
            return self._kept[key]
        except KeyError:
            value = self._kept[key] = compute()
            return value

    @property
    def loaded(self) -> sources.Loaded:
        return sources.Loaded(self.estimate, self.statuses, self.warnings)

    @property
    def bill_hidden(self) -> bool:
        """The bill is missing because it covers more than the filter (see :func:`narrow`), not because it failed."""
        return self.ce_missing == WHOLE_ACCOUNT_BILL

    @property
    def ce_ok(self) -> bool:
        return self.ce_missing is None

    def _actual(self, start: date, end: date) -> float | None:
        if not self.ce_ok or self.costs.empty:
            return None
        c = self.costs[
            (self.costs["group_by"] == "TOTAL")
            & (self.costs["date"] >= pd.Timestamp(start))
            & (self.costs["date"] < pd.Timestamp(end))
        ]
        return float(c["cost_usd"].sum())

    @property
    def actual_usd(self) -> float | None:
        """Cost Explorer's spend over the month's complete days."""
        return self._actual(self.first, self.end)

    @property
    def bill_usd(self) -> float | None:
        """The bill of the month so far: the month to date, today so far included (:mod:`dashboard.figures.spend`;
        the whole month for a past one). None when Cost Explorer could not be read."""
        return self._actual(self.first, min(self.month_end, self.today + timedelta(days=1)))

    @property
    def today_usd(self) -> float | None:
        """What today (still filling) contributes to :attr:`bill_usd`; None for a past month or without the bill."""
        if not self.first <= self.today < self.month_end:
            return None
        return self._actual(self.today, self.today + timedelta(days=1))

    @property
    def month_end_usd(self) -> float | None:
        """The month-end figure: the bill's complete days plus what is still to come (:meth:`remaining_usd`); the
        estimate's complete days instead when the bill is missing."""
        base = self.actual_usd
        if base is None:
            rec = reconcile.month(self.reconciliation())
            base = rec.explained_usd
        return base + self.remaining_usd()

    @property
    def last_actual_usd(self) -> float | None:
        prev = (self.first - timedelta(days=1)).replace(day=1)
        return self._actual(prev, self.first)

    @property
    def assumed_note(self) -> str | None:
        """One sentence naming the regions and rates this month's estimate was priced with by assumption, or None."""
        return assumed_note(self.estimate, self.prices)

    def reconciliation(self) -> pd.DataFrame:
        """:func:`dashboard.figures.reconcile.daily` over the month's complete days."""
        return self.kept("reconciliation", self._reconciliation)

    def _reconciliation(self) -> pd.DataFrame:
        costs = None
        if self.ce_ok:
            costs = self.costs[
                (self.costs["date"] >= pd.Timestamp(self.first)) & (self.costs["date"] < pd.Timestamp(self.end))
            ]
        return reconcile.daily(estimate=self.estimate, costs=costs)

    def remaining_usd(self) -> float:
        """Spend expected from the end of the complete days to the month's end: Cost Explorer's
        forecast when there is one, else our last 7 complete days' mean × the days left."""
        days_left = (self.month_end - self.end).days
        if days_left <= 0:
            return 0.0
        if not self.forecast.empty:
            return float(self.forecast["mean_usd"].sum())
        rec = self.reconciliation()
        if rec.empty:
            return 0.0
        daily = rec.groupby("date")["explained_usd"].sum().sort_index().iloc[-7:]
        return float(daily.mean()) * days_left


def _ce_sentence(statuses: Iterable[sources.SourceStatus]) -> str | None:
    failed = [s for s in statuses if s.source == "costs" and s.failed]
    if not failed:
        return None
    s = failed[0]
    return f"The actual spend is missing because Cost Explorer could not be read: {s.error}"


def _forecast_sentence(statuses: Iterable[sources.SourceStatus]) -> str | None:
    failed = [s for s in statuses if s.source == "forecast" and s.failed]
    if not failed:
        return None
    return f"Cost Explorer's forecast is missing, so the month-end figure is our run rate of the last 7 days: {failed[0].error}"


DAY_S = 86_400  # the estimate's periods: UTC days (86,400 s is a multiple of every retention unit, 60/300/3600 s)
# What :func:`dashboard.figures.cost_estimate.estimate` reads of the metrics: the requests, Σ Duration as the
# average × the requests of each day, and whether provisioned concurrency shows that day.
ESTIMATE_COLUMNS = ("invocations", "duration_avg_ms", "pc_utilization_max")


def _load_estimate(
    settings: Settings, inv: pd.DataFrame, start: date, end: date, prices: PriceBook, *, force: bool
) -> tuple[pd.DataFrame, list, list[str]]:
    if end <= start:
        return typed_frame([], ESTIMATE_SCHEMA), [], []
    trange = TimeRange(datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC), "custom")
    # whole UTC days: one period a day (StartTime at 00:00 UTC lines CloudWatch's periods up on the days), only
    # the statistics a daily estimate sums (GetMetricData bills per metric, not per datapoint)
    met = sources.metrics(settings, trange, inv, period=DAY_S, columns=ESTIMATE_COLUMNS, force=force)
    mem = sources.memory(settings, trange, inv, bin_s=DAY_S, force=force)
    pc, feats, pc_status, pc_notes = provisioned_history(
        settings, inv, met.frame, mem.frame, trange.start, trange.end, now=trange.end, force=force
    )
    # members of one organisation share its free tier and duration tiers (config: accounts[].organization)
    orgs, org_warnings = organizations.resolve(settings, force=force)
    est = estimate(
        inventory=inv, metrics=met.frame, memory=mem.frame, prices=prices, provisioned=pc, features=feats, organizations=orgs
    )
    est = est[(est["date"] >= pd.Timestamp(start)) & (est["date"] < pd.Timestamp(end))].reset_index(drop=True)
    warnings = [*met.warnings, *mem.warnings, *org_warnings, *est.attrs.get("warnings", []), *pc_notes]
    return est, [*met.statuses, *mem.statuses, *pc_status], warnings


def month_to_date_costs(settings: Settings, inv: pd.DataFrame, *, today: date, force: bool = False) -> sources.Loaded:
    """:data:`FUNCTION_COST_SCHEMA`: each of ``inv``'s functions' estimate over this month's complete UTC days (the
    1st, 00:00, to ``today``, 00:00) — the Costs page's per-function figure of the current month: the same daily
    reads (their settled days kept by the day, so a later load asks AWS only for the days not kept), the same
    estimate (organisations, provisioned concurrency, SnapStart, streaming) and the same sum (:func:`per_function`).
    NaN where the usage could not be read, and for every function on the 1st (no complete day yet: not known, not
    $0). Computed once per version of the answers it reads (:data:`_MONTH_COSTS`)."""
    first, end, _ = month_bounds(None, today=today)
    keys = inv[_KEYS].astype(object) if not inv.empty else pd.DataFrame(columns=_KEYS)
    if inv.empty or end <= first:
        return sources.Loaded(typed_frame(keys.assign(est_cost_usd=np.nan, lower_estimate=pd.NA), FUNCTION_COST_SCHEMA))
    fn_key = tuple(sorted(zip(keys["account"].astype(str), keys["region"].astype(str), keys["function"].astype(str), strict=True)))
    question = ("month-to-date", settings.model_dump_json(), today, _price_key(settings), fn_key)

    def compute() -> sources.Loaded:
        with deadline(settings.aws.refresh_deadline_s):
            est, statuses, warnings = _load_estimate(settings, inv, first, end, prices_for(settings), force=force)
        agg = per_function(est)[[*_KEYS, "est_cost_usd", "lower_estimate"]]
        out = keys.merge(agg, on=_KEYS, how="left")
        out["est_cost_usd"] = pd.to_numeric(out["est_cost_usd"]).astype("float64").fillna(0.0)  # read: no usage
        out["lower_estimate"] = out["lower_estimate"].fillna(False).astype(bool)
        lost = unread_parts(sources.Loaded(est, statuses))
        if lost:
            gone = [(a, r) in lost for a, r in zip(out["account"].astype(str), out["region"].astype(str), strict=True)]
            out.loc[gone, "est_cost_usd"] = np.nan
        frame = typed_frame(out, FUNCTION_COST_SCHEMA)
        frame.attrs["assumed_note"] = est.attrs.get("assumed_note")
        return sources.Loaded(frame, statuses, warnings)

    return _MONTH_COSTS.get(question, compute, force=force)


_MONTH_COSTS: cache.Derived = cache.Derived("month-to-date-costs", size=8)


def gather(
    settings: Settings, *, month: str | None = None, now: datetime | None = None, force: bool = False
) -> CostReport:
    """Load ``month`` (``YYYY-MM``, default the current one) and the month before it; see the module docstring.
    The whole load ends within ``aws.refresh_deadline_s``.

    Computed once per data version (:data:`_REPORTS`): asked again while every answer it was computed from still
    stands, the same report is served without computing (shared by sessions: treat it as read-only)."""
    today = _today(settings, now)
    question = ("report", settings.model_dump_json(), month, today, _price_key(settings))

    def compute() -> CostReport:
        with deadline(settings.aws.refresh_deadline_s):
            return _gather(settings, month=month, now=now, force=force)

    return _REPORTS.get(question, compute, force=force)


# The month's report and the recommendations, computed once per version of the answers they read (cache.Derived):
# at 1,000 functions recomputing them from the cached frames took 12 s a script run.
_REPORTS: cache.Derived = cache.Derived("cost-reports", size=8)


def _price_key(settings: Settings) -> str:
    """The price book a report is priced with (the config's overrides on the price file), as a key."""
    return repr(prices_for(settings))


def _gather(settings: Settings, *, month: str | None, now: datetime | None, force: bool) -> CostReport:
    today = _today(settings, now)
    first, end, month_end = month_bounds(month, today=today)
    prev_first = (first - timedelta(days=1)).replace(day=1)
    prices = prices_for(settings)
    inv = sources.inventory(settings, force=force)
    statuses = list(inv.statuses)
    warnings = list(inv.warnings)
    # one metrics/logs question for both months: month-to-date tiers and free tier need every day from the first
    est_all, st, w = _load_estimate(settings, inv.frame, prev_first, end, prices, force=force)
    statuses += st
    warnings += w
    est = est_all[est_all["date"] >= pd.Timestamp(first)].reset_index(drop=True)
    last = est_all[est_all["date"] < pd.Timestamp(first)].reset_index(drop=True)

    ce_end = min(month_end, today + timedelta(days=1))
    total = sources.daily_costs(settings, start=prev_first, end=ce_end, force=force)
    statuses += total.statuses
    by_type = (
        sources.daily_costs(settings, start=first, end=ce_end, group_by="USAGE_TYPE", force=force)
        if not total.failed
        else sources.Loaded(typed_frame([], ce.SCHEMA))
    )
    statuses += by_type.statuses
    tag_key, tag_costs, tag_gap = None, None, None
    if not total.failed:
        active = _active_tags(settings, force=force)
        warnings += active.warnings
        keys = set().union(*active.frame) if active.frame else set()
        tag_key = next((k for k in settings.allocation.tag_keys if k in keys), None)
        tag_gap = None if tag_key else ("tag_unread" if active.warnings else "tag_inactive")
        if tag_key:
            tc = sources.daily_costs(settings, start=first, end=ce_end, group_by=f"TAG:{tag_key}", force=force)
            statuses += tc.statuses
            if tc.failed:  # a failed by-tag answer is no answer, not a month without rows
                tag_gap = "tag_unread"
            else:
                tag_costs = tc.frame
    forecast = typed_frame([], ce.FORECAST_SCHEMA)
    if month_end > today and not total.failed:
        fc = sources.month_forecast(settings, today=today, force=force)
        statuses += fc.statuses
        forecast = fc.frame
    report = CostReport(
        month=f"{first:%Y-%m}",
        first=first,
        end=end,
        month_end=month_end,
        today=today,
        inventory=inv.frame,
        estimate=est,
        last_estimate=last,
        costs=total.frame,
        by_usage_type=by_type.frame,
        tag_key=tag_key,
        tag_costs=tag_costs,
        tag_gap=tag_gap,
        forecast=forecast,
        prices=prices,
        statuses=statuses,
        warnings=list(dict.fromkeys(warnings)),
    )
    report.ce_missing = _ce_sentence(statuses)
    report.forecast_missing = _forecast_sentence(statuses)
    return report


def narrow(
    report: CostReport,
    *,
    accounts: Iterable[str] = (),
    regions: Iterable[str] = (),
    teams: Iterable[str] = (),
) -> CostReport:
    """The report of the functions of these accounts, regions and teams (empty: all), for the pages' filters.

    The estimate narrows to the functions chosen. Cost Explorer's figures are asked per account, so an
    account filter narrows them too; a region or team filter cannot split the bill (nor its forecast), so
    then they are left out and :attr:`CostReport.ce_missing` says why (``bill_hidden``).
    """
    accounts, regions, teams = set(accounts), set(regions), set(teams)
    if not (accounts or regions or teams):
        return report
    # kept with the report it narrows: the same filter on the same report is one object (its tables built once)
    key = ("narrow", tuple(sorted(accounts)), tuple(sorted(regions)), tuple(sorted(teams)))
    return report.kept(key, lambda: _narrow(report, accounts, regions, teams))


def _narrow(report: CostReport, accounts: set[str], regions: set[str], teams: set[str]) -> CostReport:
    inv = report.inventory
    keep = pd.Series(True, index=inv.index)
    for col, wanted in (("account", accounts), ("region", regions), ("team", teams)):
        if wanted:
            keep &= inv[col].isin(wanted).fillna(False).astype(bool)
    inv = inv[keep].reset_index(drop=True)
    keys = pd.MultiIndex.from_frame(inv[_KEYS].astype(object))

    def only(est: pd.DataFrame) -> pd.DataFrame:
        return est[pd.MultiIndex.from_frame(est[_KEYS].astype(object)).isin(keys)].reset_index(drop=True)

    def of_accounts(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None or not accounts:
            return frame
        return frame[frame["account"].isin(accounts).fillna(False).astype(bool)].reset_index(drop=True)

    whole = bool(regions or teams)
    return replace(
        report,
        inventory=inv,
        estimate=only(report.estimate),
        last_estimate=only(report.last_estimate),
        costs=of_accounts(report.costs),
        by_usage_type=of_accounts(report.by_usage_type),
        tag_costs=None if whole else of_accounts(report.tag_costs),
        forecast=report.forecast.iloc[0:0] if whole else of_accounts(report.forecast),
        ce_missing=report.ce_missing or (WHOLE_ACCOUNT_BILL if whole else None),
    )


@dataclass
class _Tags:
    frame: list[frozenset[str]]
    warnings: list[str]


def _active_tags(settings: Settings, *, force: bool) -> _Tags:
    cache.configure(settings.cache_ttl_s.model_dump())
    accts = [(a, CE_REGION) for a in settings.aws_accounts()]
    store = cache.source("costs")
    got, status = [], []
    for a, _ in accts:
        try:
            got.append(
                store.get(
                    (a.cache_id, "global", "cost-allocation-tags"), lambda a=a: ce.active_tag_keys(account=a), force=force
                ).value
            )
        except AwsError as e:  # the by-tag figure is optional: say so, keep the rest
            status.append(f"Cost Explorer's own by-tag figure is not shown for {a.name}: {e}")
    return _Tags(got, status)


# --- tables: one implementation for the pages, the CSV and the CLI ---------------------------------

TEAM_COLUMNS = [
    "team",
    "line",
    "functions",
    "mtd_usd",
    "forecast_usd",
    "last_month_usd",
    "change_usd",
    "change_pct",
    "share",
    "ce_tag_usd",
    "ce_tag_gap",
]


def _team_table(report: CostReport, settings: Settings) -> pd.DataFrame:
    alloc = settings.allocation
    ce_tag, gap = None, None
    if not report.ce_ok:
        gap = "whole_account" if report.bill_hidden else "no_bill"
    elif report.tag_costs is None:
        gap = report.tag_gap or "tag_inactive"
    else:  # one entry per tag value Cost Explorer has a row for: a value with none stays unknown (allocate)
        tc = report.tag_costs[report.tag_costs["date"] < pd.Timestamp(report.end)]
        ce_tag = {str(k): float(v) for k, v in tc.groupby(tc["group"].astype(object))["cost_usd"].sum().items()}
    return allocation.allocate(
        estimate=report.estimate,
        last_month_estimate=report.last_estimate,
        inventory=report.inventory,
        untagged=alloc.untagged_label,
        shared_cost=alloc.shared_cost,
        actual_usd=report.actual_usd,
        last_month_actual_usd=report.last_actual_usd,
        remaining_usd=report.remaining_usd(),
        ce_tag_usd=ce_tag,
        ce_tag_key=report.tag_key,
        ce_tag_gap=gap,
    )


FUNCTION_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "requests": "float64",
    "billed_gb_s": "float64",
    "est_cost_usd": "float64",  # list price, before the free tier
    "free_tier_usd": "float64",  # the free tier this function used (≤ 0)
    "last_month_usd": "float64",
    "lower_estimate": "boolean",
    "priced_by_assumption": "boolean",  # a rate it used is not verified for its region (see CostReport.assumed_note)
    "pc_basis": "string",  # provisioned concurrency rests on: none | recorded | metrics | assumed (the month's weakest)
}



def pc_basis_of(est: pd.DataFrame) -> pd.DataFrame:
    """Per function: the weakest evidence its provisioned concurrency rests on over ``est``'s days (``pc_basis``)."""
    if est.empty or "pc_basis" not in est.columns:
        return pd.DataFrame(columns=[*_KEYS, "pc_basis"])
    e = pd.DataFrame({k: est[k].astype(object) for k in _KEYS})
    e["rank"] = est["pc_basis"].astype(object).fillna(PC_NONE).map(BASIS_RANK).fillna(0).astype(int)
    out = e.groupby(_KEYS, as_index=False)["rank"].max()
    names = {v: k for k, v in BASIS_RANK.items()}
    out["pc_basis"] = out.pop("rank").map(names)
    return out


def per_function(est: pd.DataFrame) -> pd.DataFrame:
    """The estimate's rows (:data:`ESTIMATE_SCHEMA`) summed per function: requests, billed GB-s, ``est_cost_usd``
    (list price before the free tier), the free tier's share, and whether any day is a lower estimate or priced by
    assumption. The one sum behind every per-function month figure (the Costs page, the month to date)."""
    if est.empty:
        return pd.DataFrame(
            columns=[
                *_KEYS, "requests", "billed_gb_s", "est_cost_usd", "free_tier_usd", "lower_estimate",
                "priced_by_assumption",
            ]
        )  # fmt: skip
    e = est.assign(
        **{k: est[k].astype(object) for k in _KEYS},
        lower=est["lower_estimate"].astype(bool),
        assumed=est["priced_by_assumption"].astype(bool),
    )
    return e.groupby(_KEYS, as_index=False).agg(
        requests=("requests", "sum"),
        billed_gb_s=("billed_gb_s", "sum"),
        est_cost_usd=("total_usd", "sum"),
        free_tier_usd=("free_tier_usd", "sum"),
        lower_estimate=("lower", "any"),
        priced_by_assumption=("assumed", "any"),
    )


def _function_table(report: CostReport) -> pd.DataFrame:
    inv = report.inventory
    keys = pd.DataFrame({k: inv[k].astype(object) for k in _KEYS}).assign(team=inv["team"].astype(object))
    out = keys.merge(per_function(report.estimate), on=_KEYS, how="left")
    last = per_function(report.last_estimate)[[*_KEYS, "est_cost_usd"]].rename(columns={"est_cost_usd": "last_month_usd"})
    out = out.merge(last, on=_KEYS, how="left")
    for c in ("requests", "billed_gb_s", "est_cost_usd", "free_tier_usd", "last_month_usd"):
        out[c] = pd.to_numeric(out[c]).astype("float64").fillna(0.0)
    out["free_tier_usd"] = -out["free_tier_usd"]
    out["lower_estimate"] = out["lower_estimate"].fillna(False).astype(bool)
    out["priced_by_assumption"] = out["priced_by_assumption"].fillna(False).astype(bool)
    out = out.merge(pc_basis_of(report.estimate), on=_KEYS, how="left")
    out["pc_basis"] = out["pc_basis"].fillna(PC_NONE)
    out = out.sort_values(["est_cost_usd", "function"], ascending=[False, True], ignore_index=True)
    return typed_frame(out, FUNCTION_SCHEMA)


PROVISIONED_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "pc_basis": "string",  # recorded | metrics | assumed
    "days": "int64",  # days with provisioned concurrency enabled
    "level_max": "Int64",
    "enabled_gb_s": "float64",
    "executing_gb_s": "float64",
    "provisioned_usd": "float64",  # enabled + executing, list price
}


def provisioned_table(report: CostReport) -> pd.DataFrame:
    """The month's functions with provisioned concurrency: what it cost and what that rests on (the Costs page)."""
    return report.kept("provisioned", lambda: _provisioned_table(report))


def _provisioned_table(report: CostReport) -> pd.DataFrame:
    est = report.estimate
    if est.empty:
        return typed_frame([], PROVISIONED_SCHEMA)
    e = est[est["provisioned_enabled_gb_s"] > 0]
    if e.empty:
        return typed_frame([], PROVISIONED_SCHEMA)
    e = e.assign(**{k: e[k].astype(object) for k in _KEYS}, lv=e["provisioned_concurrency"].astype("Float64"))
    out = e.groupby(_KEYS, as_index=False).agg(
        days=("date", "nunique"),
        level_max=("lv", "max"),
        enabled_gb_s=("provisioned_enabled_gb_s", "sum"),
        executing_gb_s=("provisioned_executing_gb_s", "sum"),
        provisioned_usd=("provisioned_usd", "sum"),
    )
    out = out.merge(pc_basis_of(e), on=_KEYS, how="left")
    out["level_max"] = out["level_max"].round().astype("Int64")
    return typed_frame(out.sort_values(["provisioned_usd", "function"], ascending=[False, True], ignore_index=True), PROVISIONED_SCHEMA)


USAGE_TYPE_SCHEMA: dict[str, str] = {
    "usage_type": "string",
    "est_usage_quantity": "float64",
    "est_cost_usd": "float64",  # list price, before the free tier
    "actual_usage_quantity": "float64",  # Cost Explorer; NaN when unavailable
    "actual_cost_usd": "float64",
}


def _estimate_by_usage_type(report: CostReport) -> pd.DataFrame:
    est = report.estimate
    rows = []
    for r in est.itertuples(index=False):
        p = report.prices.prices(r.region)
        pre = p.usage_type_prefix or r.region
        sfx = "-ARM" if r.architecture == "arm64" else ""
        enabled_rate = p.provisioned_rates(r.architecture)[0]
        enabled_usd = r.provisioned_enabled_gb_s * enabled_rate
        executing = r.provisioned_executing_gb_s
        parts = [
            (f"{pre}-Request{sfx}", r.requests, r.requests_usd),
            (f"{pre}-Lambda-GB-Second{sfx}", r.billed_gb_s - executing, r.compute_usd),
            (f"{pre}-Lambda-Ephemeral-Storage-GB-Second{sfx}", r.ephemeral_gb_s, r.ephemeral_usd),
            (f"{pre}-Lambda-Provisioned-Concurrency{sfx}", r.provisioned_enabled_gb_s, enabled_usd),
            (f"{pre}-Lambda-Provisioned-GB-Second{sfx}", executing, r.provisioned_usd - enabled_usd),
            (f"{pre}-Lambda-SnapStart-Cache-GB-Second{sfx}", r.snapstart_cache_gb_s, r.snapstart_usd),
            (f"{pre}-Lambda-Streaming-GB", r.streaming_gb, r.streaming_usd),
        ]
        rows += [{"usage_type": u, "q": q, "c": c} for u, q, c in parts if q > 0 or c > 0]
    if not rows:
        return pd.DataFrame(columns=["usage_type", "est_usage_quantity", "est_cost_usd"])
    f = (
        pd.DataFrame(rows)
        .groupby("usage_type", as_index=False)
        .agg(est_usage_quantity=("q", "sum"), est_cost_usd=("c", "sum"))
    )
    return f


def _usage_type_table(report: CostReport) -> pd.DataFrame:
    out = _estimate_by_usage_type(report)
    if report.ce_ok and not report.by_usage_type.empty:
        bt = report.by_usage_type[report.by_usage_type["date"] < pd.Timestamp(report.end)]
        act = bt.groupby(bt["group"].astype(object), as_index=False).agg(
            actual_usage_quantity=("usage_quantity", "sum"), actual_cost_usd=("cost_usd", "sum")
        )
        out = out.merge(act.rename(columns={"group": "usage_type"}), on="usage_type", how="outer")
    else:
        out["actual_usage_quantity"] = np.nan
        out["actual_cost_usd"] = np.nan
    out = typed_frame(out, USAGE_TYPE_SCHEMA)
    for c in ("est_usage_quantity", "est_cost_usd"):
        out[c] = out[c].fillna(0.0)
    return out.sort_values(["usage_type"], ignore_index=True)


def costs_table(report: CostReport, settings: Settings, *, by: str) -> pd.DataFrame:
    """The month's rows by ``team``, ``function`` or ``usage-type`` (what the pages, CSV and CLI show; built once a
    report: treat it as read-only)."""
    if by == "team":
        return report.kept(("team", settings.allocation.model_dump_json()), lambda: _team_table(report, settings))
    if by == "function":
        return report.kept("function", lambda: _function_table(report))
    if by == "usage-type":
        return report.kept("usage-type", lambda: _usage_type_table(report))
    raise ValueError(f"--by must be one of {', '.join(BY)}, not {echo(by)}")


def team_drilldown(report: CostReport, *, team: str) -> pd.DataFrame:
    """The team's functions ranked by estimated cost over the month's complete days."""
    return report.kept(("team-functions", team), lambda: allocation.team_functions(report.estimate, report.inventory, team=team))


def usage_type_daily(report: CostReport) -> pd.DataFrame:
    """Cost Explorer's daily spend by usage type over the month's complete days (date, usage_type, cost_usd), for a chart."""
    return report.kept("usage-type-daily", lambda: _usage_type_daily(report))


def _usage_type_daily(report: CostReport) -> pd.DataFrame:
    bt = report.by_usage_type
    if not report.ce_ok or bt.empty:
        return pd.DataFrame(
            {
                "date": pd.Series(dtype="datetime64[ns]"),
                "usage_type": pd.Series(dtype="string"),
                "cost_usd": pd.Series(dtype="float64"),
            }
        )
    bt = bt[bt["date"] < pd.Timestamp(report.end)]  # complete days: the forecast covers the rest
    out = (
        bt.groupby(["date", bt["group"].astype(object)], as_index=False)["cost_usd"]
        .sum()
        .rename(columns={"group": "usage_type"})
    )
    return out


def rightsizing(
    settings: Settings, *, inventory: pd.DataFrame | None = None, now: datetime | None = None, force: bool = False
) -> tuple[pd.DataFrame, sources.Loaded]:
    """:func:`dashboard.figures.rightsizing.rightsize` over the 30 complete UTC days before ``now``'s day
    (:func:`rightsizing_range`; default: the config's clock); within ``aws.refresh_deadline_s``."""
    today = (now or settings.now()).astimezone(UTC).date()
    question = ("rightsizing", settings.model_dump_json(), today, _price_key(settings), _inventory_key(inventory))

    def compute() -> tuple[pd.DataFrame, sources.Loaded]:
        with deadline(settings.aws.refresh_deadline_s):
            return _rightsizing(settings, inventory=inventory, now=now, force=force)

    return _REPORTS.get(question, compute, force=force)


def _inventory_key(inventory: pd.DataFrame | None) -> tuple | None:
    """The functions (and their settings) an inventory passed in holds: None for the configured inventory."""
    if inventory is None:
        return None
    cols = [c for c in ("account", "region", "function", "memory_mb", "architecture", "team") if c in inventory.columns]
    return tuple(pd.util.hash_pandas_object(inventory[cols].astype(str), index=False).tolist())


RIGHTSIZE_DAYS = 30  # the recommendations' lookback: the complete UTC days before today
RIGHTSIZE_BIN_S = 3600  # memory used: the maximum of each hour (its 99th percentile is the recommendation's basis)
PC_UTILIZATION_S = 3600  # idle provisioned concurrency: the mean of each hour's maximum utilisation


def rightsizing_range(today: date) -> TimeRange:
    """The :data:`RIGHTSIZE_DAYS` complete UTC days before ``today``: a settled range (kept once read, not re-read
    every few minutes as a rolling "30d" was), whose days line up with the estimate's daily periods."""
    end = datetime.combine(today, time(), UTC)
    return TimeRange(end - timedelta(days=RIGHTSIZE_DAYS), end, "custom")


def _rightsizing(
    settings: Settings, *, inventory: pd.DataFrame | None, now: datetime | None, force: bool
) -> tuple[pd.DataFrame, sources.Loaded]:
    from dashboard.figures.rightsizing import rightsize

    trange = rightsizing_range((now or settings.now()).astimezone(UTC).date())
    inv = inventory if inventory is not None else sources.inventory(settings, force=force).frame
    # resolution follows the question: the invocations and the compute cost are sums (one period a day, the three
    # metrics the estimate reads), memory the hourly maxima; utilisation hourly, only of the functions with
    # provisioned concurrency (was: every metric of every function at 1,800 s, 1,440 points each)
    # the estimate's usage by the day (the report's days, kept); the memory maxima by the hour, and only they: of
    # Lambda Insights its maximum memory used (not its seven metrics an hour), of the REPORT lines max(used_mb) beside
    # the counts (not the init percentile and five more statistics an hour). The three are independent questions,
    # asked side by side: the Logs Insights ones wait on their queries, not on each other
    met, usage, mem = run_concurrently(
        lambda load: load(),
        [
            lambda: sources.metrics(settings, trange, inv, period=DAY_S, columns=ESTIMATE_COLUMNS, force=force),
            lambda: sources.memory(settings, trange, inv, bin_s=DAY_S, force=force),
            lambda: sources.memory(settings, trange, inv, bin_s=RIGHTSIZE_BIN_S, columns=("used_mb_max",), force=force),
        ],
        max_workers=3,
        name="rightsizing",
    )
    inv_pc, pc_status = with_provisioned_concurrency(settings, inv, met.frame, force=force)
    has_pc = inv_pc["provisioned_concurrency"].fillna(0).astype("int64") > 0 if len(inv_pc) else pd.Series(dtype=bool)
    util = None
    unread = unread_parts(met) | unread_parts(mem) | unread_parts(usage)
    statuses = [*met.statuses, *usage.statuses, *mem.statuses, *pc_status]
    if has_pc.any():
        u = sources.metrics(
            settings, trange, inv_pc[has_pc.to_numpy()], period=PC_UTILIZATION_S, columns=("pc_utilization_max",), force=force
        )
        util, statuses, unread = u.frame, [*statuses, *u.statuses], unread | unread_parts(u)
    prices = prices_for(settings)
    est = estimate(inventory=inv_pc, metrics=met.frame, memory=usage.frame, prices=prices, free_tier=False)
    frame = rightsize(
        inventory=inv_pc,
        metrics=met.frame,
        memory=mem.frame,
        estimate=est,
        prices=prices,
        days=trange.duration.total_seconds() / 86400,
        unread=unread,
        utilization=util,
    )
    return frame, sources.Loaded(frame, statuses, list(dict.fromkeys([*met.warnings, *usage.warnings, *mem.warnings])))


# --- for the pages ----------------------------------------------------------------------------------


def usage_statuses(report: CostReport) -> sources.Loaded:
    """The report's statuses without Cost Explorer's (said once, by :attr:`CostReport.ce_missing`)."""
    return sources.Loaded(
        report.estimate, [s for s in report.statuses if s.source not in ("costs", "forecast")], report.warnings
    )
