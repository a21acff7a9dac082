"""The facts of a digest: alerts new / ongoing / resolved, top movers, spend, and what to do.

Two steps, so that every figure comes from the implementation the dashboard and the CLI
use and the arithmetic is testable on small frames:

- :func:`gather` loads everything once for all digests of a run (the loaders of
  :mod:`dashboard.query.sources`, cached and fanned out): the inventory; the metrics, memory and
  range statistics of the digest's range and of the period just before it; Cost
  Explorer's daily spend this month (total, and by the first allocation tag key when a
  team digest needs it) and its month-end forecast.
  The alert states come from :func:`dashboard.alerts.evaluation.load_alerts`, the report the Alerts
  page and ``python -m dashboard alerts`` show (same evaluation window, account quotas and
  caches).
- :func:`compose` is pure: it narrows those frames to one digest's functions (its team),
  takes their alert states (or, for inputs built without a report, evaluates the rules with
  :func:`dashboard.alerts.evaluate_all` over the given frames), summarises with
  :func:`dashboard.figures.usage.summarize`, prices with :func:`dashboard.figures.cost_estimate.estimate`, and
  compares the alerts firing now with those the state remembers from the previous send.

Alert categories, per function × rule (``window`` = since the previous send, or the
digest's range for the first one):

- **new**: firing now, and not firing at the previous send, or it left ALARM and came
  back within the window;
- **ongoing**: firing now and at the previous send, without leaving ALARM in between
  (its ``since`` is carried from the state, so a standing alarm keeps its first time);
- **resolved**: firing at the previous send and not now, or it entered and left ALARM
  within the window (it fired and cleared between two digests).

An alert whose account × region could not be read this time (a failed source) is kept
as it was, with a note, rather than reported resolved.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from aws.frames import UTC_TS, typed_frame
from dashboard.alerts import (
    ALARM,
    INSUFFICIENT_DATA,
    SEVERITY_ORDER,
    AlertReport,
    effective_rules,
    evaluate_all,
    series_for,
)
from dashboard.config.echo import echo
from dashboard.config.settings import ConfigError, DigestSettings, Settings
from dashboard.digest.state import AlertMemo, DigestRecord
from dashboard.figures import function_cost
from dashboard.figures.changes import ADVICE_SCHEMA, MOVER_METRICS, MOVERS_SCHEMA, advise, top_movers
from dashboard.figures.cost_report import function_costs
from dashboard.figures.pricing import PriceBook, load_prices
from dashboard.figures.usage import summarize
from dashboard.present.links import function_key
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import select
from dashboard.query.sources import SourceStatus
from dashboard.query.timerange import TimeRange

__all__ = [
    "Inputs",
    "Spend",
    "AlertChart",
    "Digest",
    "ALERTS_SCHEMA",
    "MOVERS_SCHEMA",
    "ADVICE_SCHEMA",
    "FUNCTIONS_SCHEMA",
    "MOVER_METRICS",
    "NEW",
    "ONGOING",
    "RESOLVED",
    "check_settings",
    "gather",
    "compose",
    "classify_alerts",
    "top_movers",
    "advise",
    "spend_facts",
    "alert_key",
]

log = logging.getLogger(__name__)

NEW, ONGOING, RESOLVED = "new", "ongoing", "resolved"
KEY = ["account", "region", "function"]
UNCHECKED = "not re-checked: its data could not be read this time"
MAX_CHARTS = 3  # alert charts per digest (the newest and most severe firing alerts)

ALERTS_SCHEMA: dict[str, str] = {
    "category": "string",  # new | ongoing | resolved
    "severity": "string",
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "rule": "string",
    "metric": "string",
    "state": "string",  # the state now (OK / ALARM / INSUFFICIENT_DATA); <NA> when no longer evaluated
    "since": UTC_TS,  # firing since (carried across digests for ongoing alerts); for resolved: when it fired
    "resolved_at": UTC_TS,  # when it left ALARM (resolved only)
    "value": "float64",  # the value that decided the alarm
    "last_value": "float64",  # the latest datapoint of the rule's metric
    "threshold": "float64",
    "comparison": "string",
    "note": "string",
}
FUNCTIONS_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "runtime": "string",
    "memory_mb": "int64",
    "timeout_s": "int64",
    "invocations": "float64",
    "invocations_prev": "float64",
    "errors": "float64",
    "errors_prev": "float64",
    "error_rate_pct": "float64",
    "throttles": "float64",
    "duration_p99_ms": "float64",
    "duration_p99_ms_prev": "float64",
    "max_memory_used_mb": "float64",
    "memory_used_pct": "float64",
    "cold_starts": "float64",
    "est_cost_usd": "float64",
    "est_cost_usd_prev": "float64",
    "alerts_firing": "string",  # rule names firing now, "; "-separated
    "advice": "string",
}


def alert_key(account: str, region: str, function: str, rule: str) -> str:
    """The state's key of one alert: ``account/region/function/rule``."""
    return f"{function_key(account, region, function)}/{rule}"


def check_settings(settings: Settings) -> None:
    """Cross-checks the settings model cannot make alone; raises :class:`ConfigError` with the key path."""
    rules = [r.name for r in settings.alerts.rules]
    for i, d in enumerate(settings.email.digests):
        for j, name in enumerate(d.rules or ()):
            if name not in rules:
                raise ConfigError(
                    f"{settings.source}: email.digests[{i}].rules[{j}]: no alert rule named {echo(name)} "
                    f"(rules: {', '.join(rules) or 'none'})"
                )
    ses = settings.email.ses_account
    if ses is not None:
        found = [a for a in settings.accounts if a.name == ses]
        if not found:
            raise ConfigError(f"{settings.source}: email.ses_account: no account named {echo(ses)} under accounts")
        if found[0].demo:
            raise ConfigError(f"{settings.source}: email.ses_account: {echo(ses)} is the simulated account, which sends no mail; name a real account")


# --- loading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """Everything a run's digests are composed from, loaded once (organisation-wide)."""

    now: datetime
    trange: TimeRange
    previous: TimeRange
    inventory: pd.DataFrame
    metrics: pd.DataFrame
    memory: pd.DataFrame
    stats: pd.DataFrame
    prev_metrics: pd.DataFrame
    prev_memory: pd.DataFrame
    prev_stats: pd.DataFrame
    costs: pd.DataFrame  # Cost Explorer daily TOTAL, month to date (aws.costs.SCHEMA)
    team_costs: pd.DataFrame | None  # the same by TAG:<first allocation tag key>; None when not asked
    forecast: pd.DataFrame  # aws.costs.FORECAST_SCHEMA, today → month end
    today: date
    statuses: tuple[SourceStatus, ...] = ()
    warnings: tuple[str, ...] = ()
    # provisioned concurrency per function and day of this period and the one before, from what AWS records
    # (dashboard.figures.cost_report.provisioned_history); None: today's allocation on ``inventory``, assumed constant
    provisioned: pd.DataFrame | None = None
    prev_provisioned: pd.DataFrame | None = None
    prices: PriceBook | None = None
    alerts: AlertReport | None = None  # organisation-wide, from dashboard.alerts.evaluation; None: evaluated in compose
    # what the alerts were decided on (AlertsLoaded.rule_metrics, .memory): each rule's own period, for the charts
    alert_metrics: Mapping[int, pd.DataFrame] | None = None
    alert_memory: pd.DataFrame | None = None
    # the (account, region) parts whose metrics / memory could not be read, this period and the one before
    unread: tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]] = (frozenset(), frozenset())
    prev_unread: tuple[frozenset[tuple[str, str]], frozenset[tuple[str, str]]] = (frozenset(), frozenset())
    # cost per function over this period and the one before (dashboard.figures.function_cost.COST_SCHEMA: the
    # Overview's and the CLI's figure); None: priced in compose from the frames above
    function_costs: pd.DataFrame | None = None


def gather(settings: Settings, *, now: datetime | None = None, range_text: str = "24h", team_costs: bool = True, force: bool = False) -> Inputs:
    """Load the frames every digest of one range needs, through the one load (:class:`~dashboard.query.load.Query`)
    of the whole organisation over ``range_text`` at ``now`` (default: the config's clock) and the period before."""
    from dashboard.alerts import evaluation
    from dashboard.figures.cost_report import prices_for, provisioned_history, with_provisioned_concurrency

    q = Query(settings, select(settings, range_text=range_text, now=now), force=force)
    prev = q.previous
    now, today = q.selection.now, q.selection.today
    frame = q.functions
    parts = [q.inventory, q.metrics, q.memory, q.range_stats, prev.metrics, prev.memory, prev.range_stats]
    priced, pc_status = with_provisioned_concurrency(settings, frame, q.metrics.frame, force=force)
    both = pd.concat([q.metrics.frame, prev.metrics.frame], ignore_index=True)
    pc_now, _, st_now, notes_now = provisioned_history(
        settings, frame, both, q.memory.frame, q.trange.start, q.trange.end, now=now, force=force
    )
    pc_prev, _, st_prev, _ = provisioned_history(
        settings, frame, both, prev.memory.frame, prev.trange.start, prev.trange.end, now=now, force=force
    )
    pc_status = [*pc_status, *st_now, *st_prev]
    month_start = today.replace(day=1)
    costs = sources.daily_costs(settings, start=month_start, end=today + timedelta(days=1), force=force)
    statuses = [s for p in parts for s in p.statuses] + [*pc_status, *costs.statuses]
    tcosts = None
    if team_costs:
        tc = sources.daily_costs(
            settings, start=month_start, end=today + timedelta(days=1), group_by=f"TAG:{settings.allocation.tag_keys[0]}", force=force
        )
        tcosts = tc.frame
        statuses += tc.statuses
    fc = sources.month_forecast(settings, today=today, force=force)
    statuses += fc.statuses
    got = evaluation.load_alerts(settings, q.selection, query=q)  # the Alerts page's report: same window, quotas, caches
    statuses += [s for s in got.statuses if s not in statuses]
    priced_fns = function_cost.load_costs(q, mtd=False, previous=True)  # the Overview's cost per function
    statuses += [s for s in priced_fns.statuses if s not in statuses]
    return Inputs(
        now=now,
        trange=q.trange,
        previous=prev.trange,
        inventory=priced,
        metrics=q.metrics.frame,
        memory=q.memory.frame,
        stats=q.range_stats.frame,
        prev_metrics=prev.metrics.frame,
        prev_memory=prev.memory.frame,
        prev_stats=prev.range_stats.frame,
        costs=costs.frame,
        team_costs=tcosts,
        forecast=fc.frame,
        today=today,
        statuses=tuple(statuses),
        warnings=tuple(dict.fromkeys([*(w for p in parts for w in p.warnings), *got.warnings, *notes_now])),
        provisioned=pc_now,
        prev_provisioned=pc_prev,
        prices=prices_for(settings),
        alerts=got.report,
        alert_metrics=got.rule_metrics,
        alert_memory=got.memory,
        unread=(q.unread("metrics"), q.unread("memory")),
        prev_unread=(prev.unread("metrics"), prev.unread("memory")),
        function_costs=priced_fns.frame,
    )


# --- the facts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spend:
    """Lambda spend this month against the forecast and the budget (Cost Explorer)."""

    scope: str  # "all functions" or "team payments"
    month_start: date
    month_end: date  # exclusive
    today: date
    mtd_usd: float | None  # month to date, today's partial (estimated) day included
    forecast_usd: float | None  # the whole month: complete days + Cost Explorer's forecast from today
    budget_usd: float | None
    status: str  # over | forecast_over | under | no_budget | unavailable
    daily: pd.DataFrame  # date (naive midnight), cost_usd, estimated
    note: str = ""  # how the figure was made (tag grouping, pro-rata forecast)
    error: str | None = None  # one sentence when Cost Explorer could not be read

    @property
    def budget_used_pct(self) -> float | None:
        if self.budget_usd is None or self.mtd_usd is None:
            return None
        return 100.0 * self.mtd_usd / self.budget_usd


@dataclass(frozen=True)
class AlertChart:
    """One firing alert's metric over the range, for a small inline chart."""

    key: str
    title: str  # "payments-checkout-api · error-rate"
    metric: str
    series: pd.Series  # period start (UTC) → value
    threshold: float
    comparison: str
    alarm_spans: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]  # ALARM intervals within the range


@dataclass(frozen=True)
class Digest:
    """What one digest says, before it is rendered."""

    name: str
    team: str | None
    recipients: tuple[str, ...]
    generated_at: datetime  # UTC
    timezone: str
    range_text: str
    trange: TimeRange
    previous_sent_at: datetime | None
    alerts: pd.DataFrame  # ALERTS_SCHEMA, new first, then ongoing, then resolved; severity, since within
    movers: pd.DataFrame  # MOVERS_SCHEMA
    advice: pd.DataFrame  # ADVICE_SCHEMA, one row per function, most urgent first
    functions: pd.DataFrame  # FUNCTIONS_SCHEMA: the CSV attachment
    spend: Spend
    charts: tuple[AlertChart, ...] = ()
    problems: tuple[str, ...] = ()  # one sentence per source that could not be read
    memo: Mapping[str, AlertMemo] = field(default_factory=dict)  # the alerts firing now, for the state
    changed: bool = True
    dashboard_url: str | None = None
    function_count: int = 0
    # one sentence per source the alerts read (functions, metrics, logs) that could not be read: while any is
    # here, the digest claims no health ("no alerts firing"), it says what it could not check
    unchecked: tuple[str, ...] = ()
    no_rules: bool = False  # no alert rule applies to this digest: nothing was checked, so no health is claimed
    # one sentence when a cost figure was priced with rates not verified for its region (figures' assumed_note)
    prices_note: str | None = None

    @property
    def all_checked(self) -> bool:
        return not self.unchecked

    @property
    def scope(self) -> str:
        return self.team if self.team is not None else "all teams"

    @property
    def local_time(self) -> datetime:
        return self.generated_at.astimezone(ZoneInfo(self.timezone))

    def count(self, category: str) -> int:
        return int((self.alerts["category"] == category).sum())

    @property
    def firing(self) -> int:
        return self.count(NEW) + self.count(ONGOING)


def _keys_index(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame[k].astype(str).to_numpy(dtype=object) for k in KEY])


def _only(frame: pd.DataFrame, keys: pd.MultiIndex) -> pd.DataFrame:
    if frame is None or frame.empty:
        return frame
    return frame[_keys_index(frame).isin(keys)]


def _ts(value) -> pd.Timestamp:
    if value is None or value is pd.NaT:
        return pd.NaT
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def classify_alerts(
    report: AlertReport,
    *,
    previous: Mapping[str, AlertMemo],
    window_start: datetime,
    unchecked_parts: Iterable[tuple[str, str]] = (),
    teams: Mapping[tuple[str, str, str], str] | None = None,
) -> pd.DataFrame:
    """New / ongoing / resolved alerts (:data:`ALERTS_SCHEMA`) from a report and the alerts firing at the previous send.

    ``window_start`` is the previous send (or the range start for a first digest); a
    transition after it is "since the previous digest". Alerts remembered for an account ×
    region in ``unchecked_parts`` (whose data could not be read) stay as they were.
    """
    window = pd.Timestamp(window_start).tz_convert("UTC")
    states = report.states
    trans = report.transitions
    recent = trans[trans["timestamp"] > window] if not trans.empty else trans
    left: dict[str, pd.Timestamp] = {}
    entered: dict[str, tuple[pd.Timestamp, float]] = {}
    cols = ["account", "region", "function", "rule", "timestamp", "from_state", "to_state", "value"]
    for a, r, f, rule, ts, frm, to, v in recent[cols].itertuples(index=False):
        k = alert_key(a, r, f, rule)
        if frm == ALARM:
            left[k] = max(left.get(k, ts), ts)
        if to == ALARM:
            entered.setdefault(k, (ts, v))  # the first entry within the window, and the value that decided it
    unchecked = set(unchecked_parts)
    rows: list[dict] = []
    seen: set[str] = set()
    for rec in states.to_dict(orient="records"):
        k = alert_key(rec["account"], rec["region"], rec["function"], rec["rule"])
        seen.add(k)
        now_alarm = rec["state"] == ALARM
        was = k in previous
        base = {c: rec.get(c) for c in ("severity", "account", "region", "function", "team", "rule", "metric", "state", "value", "last_value", "threshold", "comparison")}
        note = str(rec.get("note") or "")
        if not now_alarm and (rec["account"], rec["region"]) in unchecked:
            if was:  # its data could not be read: not evidence that it cleared
                rows.append(base | {"category": ONGOING, "since": _ts(previous[k].since), "resolved_at": pd.NaT, "value": previous[k].value, "note": UNCHECKED})
            continue
        if now_alarm and was and k not in left:
            rows.append(base | {"category": ONGOING, "since": _ts(previous[k].since), "resolved_at": pd.NaT, "note": note})
        elif now_alarm:
            rows.append(base | {"category": NEW, "since": _ts(rec["since"]), "resolved_at": pd.NaT, "note": note})
        elif was or k in entered:
            if was:
                since, value = _ts(previous[k].since), previous[k].value
            else:
                since, value = entered[k]
            why = "no data now" if rec["state"] == INSUFFICIENT_DATA else ""
            rows.append(
                base
                | {
                    "category": RESOLVED,
                    "since": since,
                    "resolved_at": left.get(k, _ts(rec["since"])),
                    "value": np.nan if value is None else value,
                    "note": "; ".join(x for x in (why, note) if x),
                }
            )
    for k, memo in previous.items():
        if k in seen:
            continue
        account, region, function, rule = k.split("/", 3)
        team = (teams or {}).get((account, region, function), pd.NA)
        common = {
            "severity": memo.severity,
            "account": account,
            "region": region,
            "function": function,
            "team": team,
            "rule": rule,
            "metric": pd.NA,
            "state": pd.NA,
            "since": _ts(memo.since),
            "value": memo.value,
            "last_value": np.nan,
            "threshold": np.nan,
            "comparison": pd.NA,
        }
        if (account, region) in unchecked:
            rows.append(common | {"category": ONGOING, "resolved_at": pd.NaT, "note": UNCHECKED})
        else:
            rows.append(common | {"category": RESOLVED, "resolved_at": pd.NaT, "note": "no longer evaluated (function, rule or team changed)"})
    out = typed_frame(rows, ALERTS_SCHEMA)
    if out.empty:
        return out
    order = {NEW: 0, ONGOING: 1, RESOLVED: 2}
    out = out.assign(
        _c=out["category"].map(order).astype("int64"),
        _s=out["severity"].map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)).astype("int64"),
    )
    out = out.sort_values(["_c", "_s", "since", "account", "region", "function", "rule"], kind="stable")
    return typed_frame(out.drop(columns=["_c", "_s"]).reset_index(drop=True), ALERTS_SCHEMA)


def spend_facts(
    costs: pd.DataFrame,
    forecast: pd.DataFrame,
    *,
    today: date,
    budget_usd: float | None,
    team: str | None = None,
    team_costs: pd.DataFrame | None = None,
    tag_key: str = "team",
    untagged_label: str = "untagged",
    error: str | None = None,
) -> Spend:
    """Month to date, the month-end forecast and the budget status, for everything or one team.

    The month-end figure is the complete days so far plus Cost Explorer's forecast from today
    (which covers today). A team's spend is Cost Explorer grouped by the first allocation tag
    key (the untagged label reads Cost Explorer's empty group); its forecast is the remaining
    forecast shared pro rata to the team's part of this month's spend.
    """
    month_start = today.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    t0 = pd.Timestamp(today)
    scope = "all functions" if team is None else f"team {team}"
    empty_daily = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "cost_usd": pd.Series(dtype="float64"), "estimated": pd.Series(dtype="boolean")})
    if error is not None:
        return Spend(scope, month_start, month_end, today, None, None, budget_usd, "unavailable", empty_daily, error=error)
    org = costs[(costs["group_by"] == "TOTAL")] if not costs.empty else costs
    note = ""
    src = org
    if team is not None:
        if team_costs is None:
            return Spend(scope, month_start, month_end, today, None, None, budget_usd, "unavailable", empty_daily, error="the team's spend was not loaded")
        group = "" if team == untagged_label else team
        src = team_costs[team_costs["group"] == group]
        note = f"Cost Explorer, tag {tag_key} = {team or '(untagged)'}"
        if src.empty:  # no row for the tag value is no figure, not $0 (allocation.CE_TAG_GAPS)
            why = (
                f"Cost Explorer has no spend under the tag {tag_key} = {team or '(untagged)'} this month: the tag may not be "
                "activated as a cost-allocation tag, or Cost Explorer has not attributed the spend yet (up to 24 hours)"
            )
            return Spend(scope, month_start, month_end, today, None, None, budget_usd, "unavailable", empty_daily, note=note, error=why)
    daily = (
        src.groupby("date", as_index=False).agg(cost_usd=("cost_usd", "sum"), estimated=("estimated", "max"))
        if not src.empty
        else empty_daily
    )
    mtd = float(daily["cost_usd"].sum())
    complete = float(daily.loc[daily["date"] < t0, "cost_usd"].sum())
    fc = float(forecast["mean_usd"].sum()) if not forecast.empty else None
    if fc is None or math.isnan(fc):
        projected = None
    elif team is None:
        projected = complete + fc
    else:
        org_complete = float(org.loc[org["date"] < t0, "cost_usd"].sum()) if not org.empty else 0.0
        share = complete / org_complete if org_complete > 0 else 0.0
        projected = complete + fc * share
        note += f"; month-end forecast pro rata ({share:.0%} of the total)"
    if budget_usd is None:
        status = "no_budget"
    elif mtd > budget_usd:
        status = "over"
    elif projected is not None and projected > budget_usd:
        status = "forecast_over"
    else:
        status = "under"
    return Spend(scope, month_start, month_end, today, mtd, projected, budget_usd, status, daily.reset_index(drop=True), note=note)


def _problems(statuses: Iterable[SourceStatus], warnings: Iterable[str]) -> tuple[str, ...]:
    lines = [s.error for s in statuses if s.failed and s.error]
    lines += [f"{s.source} for {s.account}/{s.region} is from an earlier read: {s.error}" for s in statuses if s.stale and s.error]
    lines += list(warnings)
    return tuple(dict.fromkeys(lines))


def _alarm_spans(trans: pd.DataFrame, state_now: str, start: pd.Timestamp, end: pd.Timestamp) -> tuple[tuple[pd.Timestamp, pd.Timestamp], ...]:
    spans = []
    opened = None
    for ts, frm, to in trans[["timestamp", "from_state", "to_state"]].itertuples(index=False):
        if to == ALARM:
            opened = ts
        elif frm == ALARM and opened is not None:
            spans.append((max(opened, start), ts))
            opened = None
        elif frm == ALARM:
            spans.append((start, ts))
    if state_now == ALARM:
        spans.append((max(opened if opened is not None else start, start), end))
    return tuple(spans)


def compose(
    settings: Settings,
    digest: DigestSettings,
    inputs: Inputs,
    *,
    previous: DigestRecord | None = None,
) -> Digest:
    """The facts of ``digest`` from ``inputs`` and the state of its previous send. Pure: no AWS call."""
    inv = inputs.inventory
    if digest.team is not None and not inv.empty:
        inv = inv[inv["team"] == digest.team]
    inv = inv.reset_index(drop=True)
    keys = _keys_index(inv)
    met, mem, stats = (_only(f, keys) for f in (inputs.metrics, inputs.memory, inputs.stats))
    pmet, pmem, pstats = (_only(f, keys) for f in (inputs.prev_metrics, inputs.prev_memory, inputs.prev_stats))
    now = inputs.trange.end

    if inputs.alerts is not None:
        report = _scoped(inputs.alerts, keys)
    else:
        report = evaluate_all(settings.alerts, inventory=inv, metrics=met, memory=mem, now=now)
    wanted = set(digest.rules) if digest.rules is not None else None
    floor = SEVERITY_ORDER[digest.min_severity]

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame
        ok = frame["severity"].map(SEVERITY_ORDER).fillna(99) <= floor
        if wanted is not None:
            ok &= frame["rule"].isin(wanted)
        return frame[ok].reset_index(drop=True)

    report = AlertReport(keep(report.states), keep(report.transitions))
    prev_alerts = dict(previous.alerts) if previous is not None else {}
    prev_alerts = {k: m for k, m in prev_alerts.items() if (wanted is None or k.rsplit("/", 1)[-1] in wanted) and SEVERITY_ORDER.get(m.severity, 99) <= floor}
    sent_at = _ts(previous.sent_at) if previous is not None and previous.sent_at else None
    window = inputs.trange.start if sent_at is None or sent_at < inputs.trange.start else sent_at.to_pydatetime()
    failed_parts = {(s.account, s.region) for s in inputs.statuses if s.failed and s.source in ("inventory", "metrics", "logs")}
    teams = {(a, r, f): t for a, r, f, t in inputs.inventory[[*KEY, "team"]].itertuples(index=False)} if not inputs.inventory.empty else {}
    alerts = classify_alerts(report, previous=prev_alerts, window_start=window, unchecked_parts=failed_parts, teams=teams)

    # Per-function numbers, this period and the one before.
    (um, uy), (pum, puy) = inputs.unread, inputs.prev_unread
    cur = summarize(inv, met, mem, stats, unread_metrics=um, unread_memory=uy)
    prv = summarize(inv, pmet, pmem, pstats, unread_metrics=pum, unread_memory=puy)
    prices = inputs.prices or load_prices()
    if inputs.function_costs is not None:  # the Overview's and the CLI's cost per function (one definition)
        costed = _only(inputs.function_costs, keys).reset_index(drop=True)
        cost_now = costed[[*KEY, "est_cost_usd"]]
        cost_prev = costed[[*KEY, "prev_cost_usd"]].rename(columns={"prev_cost_usd": "est_cost_usd"})
        costed.attrs["assumed_note"] = inputs.function_costs.attrs.get("assumed_note")
    else:
        costed = function_costs(inv, met, mem, prices, unread=um | uy, provisioned=inputs.provisioned)
        cost_now = costed[[*KEY, "est_cost_usd"]]
        cost_prev = function_costs(inv, pmet, pmem, prices, unread=pum | puy, provisioned=inputs.prev_provisioned)[
            [*KEY, "est_cost_usd"]
        ]
    firing = report.states[report.states["state"] == ALARM] if not report.states.empty else report.states
    funcs = _functions(inv, cur, prv, cost_now, cost_prev, firing)
    movers = top_movers(funcs, n=digest.top_movers)
    extra = inv[[*KEY, "reserved_concurrency", "log_group"]] if not inv.empty else pd.DataFrame(columns=[*KEY, "reserved_concurrency", "log_group"])
    advice = advise(funcs.merge(extra, on=KEY, how="left"), firing, range_text=digest.range)
    if not advice.empty:
        by_key = {(a, r, f): t for a, r, f, t in advice[[*KEY, "text"]].itertuples(index=False)}
        funcs["advice"] = pd.array([by_key.get((a, r, f), "") for a, r, f in funcs[KEY].itertuples(index=False)], dtype="string")

    # Spend.
    cost_status = [s for s in inputs.statuses if s.source in ("costs", "forecast") and s.failed]
    budget = digest.monthly_budget_usd if digest.monthly_budget_usd is not None else (settings.email.monthly_budget_usd if digest.team is None else None)
    spend = spend_facts(
        inputs.costs,
        inputs.forecast,
        today=inputs.today,
        budget_usd=budget,
        team=digest.team,
        team_costs=inputs.team_costs,
        tag_key=settings.allocation.tag_keys[0],
        untagged_label=settings.allocation.untagged_label,
        error=next((s.error for s in cost_status if s.source == "costs"), None),
    )

    charts = _charts(settings, inv, met, mem, alerts, report, now=now, start=inputs.trange.start, by_period=inputs.alert_metrics, decided_memory=inputs.alert_memory)
    memo = {
        alert_key(a, r, f, rule): AlertMemo(since=pd.Timestamp(s).isoformat() if not pd.isna(s) else now.isoformat(), severity=str(sev), value=None if pd.isna(v) else float(v))
        for a, r, f, rule, s, sev, v in alerts.loc[alerts["category"].isin([NEW, ONGOING]), [*KEY, "rule", "since", "severity", "value"]].itertuples(index=False)
    }
    if previous is None or previous.sent_at is None:
        changed = bool(len(memo)) or spend.status in ("over", "forecast_over")
    else:
        budget_moved = spend.status != previous.budget_status and "unavailable" not in (spend.status, previous.budget_status)
        changed = bool((alerts["category"] != ONGOING).any()) or budget_moved
    return Digest(
        name=digest.name,
        team=digest.team,
        recipients=tuple(digest.recipients),
        generated_at=inputs.now,
        timezone=digest.timezone,
        range_text=digest.range,
        trange=inputs.trange,
        previous_sent_at=None if sent_at is None else sent_at.to_pydatetime(),
        alerts=alerts,
        movers=movers,
        advice=advice,
        functions=funcs,
        spend=spend,
        charts=charts,
        problems=_problems(inputs.statuses, inputs.warnings),
        no_rules=not any(wanted is None or r.name in wanted for r in settings.alerts.rules),
        unchecked=tuple(dict.fromkeys(s.error for s in inputs.statuses if s.failed and s.error and s.source in ("inventory", "metrics", "logs"))),
        memo=memo,
        changed=changed,
        dashboard_url=settings.email.dashboard_url,
        function_count=len(inv),
        prices_note=costed.attrs.get("assumed_note"),
    )


def _scoped(report: AlertReport, keys: pd.MultiIndex) -> AlertReport:
    return AlertReport(_only(report.states, keys).reset_index(drop=True), _only(report.transitions, keys).reset_index(drop=True))


def _functions(inv, cur, prv, cost_now, cost_prev, firing) -> pd.DataFrame:
    if inv.empty:
        return typed_frame([], FUNCTIONS_SCHEMA)
    f = cur.rename(columns={"error_rate": "error_rate_pct"})
    p = prv[[*KEY, "invocations", "errors", "duration_p99_ms"]].rename(
        columns={"invocations": "invocations_prev", "errors": "errors_prev", "duration_p99_ms": "duration_p99_ms_prev"}
    )
    f = f.merge(p, on=KEY, how="left")
    f = f.merge(cost_now.astype({k: "string" for k in KEY}), on=KEY, how="left")
    f = f.merge(cost_prev.rename(columns={"est_cost_usd": "est_cost_usd_prev"}).astype({k: "string" for k in KEY}), on=KEY, how="left")
    rules: dict[tuple, list[str]] = {}
    for a, r, fn, rule in firing[[*KEY, "rule"]].itertuples(index=False) if not firing.empty else ():
        rules.setdefault((a, r, fn), []).append(rule)
    f["alerts_firing"] = ["; ".join(rules.get((a, r, fn), [])) for a, r, fn in f[KEY].itertuples(index=False)]
    f["advice"] = ""
    out = typed_frame(f, FUNCTIONS_SCHEMA)
    return out.sort_values(["est_cost_usd", "function"], ascending=[False, True], na_position="last", ignore_index=True)


def _charts(settings, inv, met, mem, alerts, report, *, now, start, by_period=None, decided_memory=None) -> tuple[AlertChart, ...]:
    from dashboard.alerts.evaluation import with_report_counts

    firing = alerts[alerts["category"].isin([NEW, ONGOING]) & alerts["metric"].notna()]
    if firing.empty or inv.empty:
        return ()
    # as the Alerts page does: each rule at its own period, Lambda Insights rows with their REPORT counts
    mem = decided_memory if decided_memory is not None else with_report_counts(mem, met)
    by_key = {(a, r, f): row for (a, r, f), row in zip(inv[KEY].itertuples(index=False), inv.to_dict(orient="records"), strict=True)}
    out = []
    t0, t1 = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(now).tz_convert("UTC")
    for rec in firing.to_dict(orient="records"):
        if len(out) == MAX_CHARTS:
            break
        row = by_key.get((rec["account"], rec["region"], rec["function"]))
        if row is None:
            continue
        rule = next((r for r in effective_rules(settings.alerts, function=rec["function"], tags=row.get("tags")) if r.name == rec["rule"]), None)
        if rule is None:
            continue
        own = by_period.get(rule.period_s) if by_period else None
        s = series_for(
            rule, function_row=row, metrics=met if own is None else own, memory=mem, now=now, period_s=None if own is None else rule.period_s
        )
        if s.dropna().empty:
            continue
        t = report.transitions
        mine = t[(t["account"] == rec["account"]) & (t["region"] == rec["region"]) & (t["function"] == rec["function"]) & (t["rule"] == rec["rule"])]
        out.append(
            AlertChart(
                key=alert_key(rec["account"], rec["region"], rec["function"], rec["rule"]),
                title=f"{rec['function']} · {rec['rule']}",
                metric=str(rec["metric"]),
                series=s,
                threshold=float(rule.threshold),
                comparison=rule.comparison,
                alarm_spans=_alarm_spans(mine, str(rec["state"]), t0, t1),
            )
        )
    return tuple(out)
