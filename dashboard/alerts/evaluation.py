"""Alerts for a selection: load what the rules need, evaluate them, and shape the rows to show.

The one place the Alerts page, the Overview, ``python -m dashboard alerts`` and the e-mail
digests get alert states from (the engine itself is :mod:`dashboard.alerts`, pure).

- :func:`evaluation_window` — the range the rules are evaluated over: the selection,
  stretched to at least :data:`MIN_WINDOW` and to ``N + 2`` periods of every rule.
  CloudWatch evaluates an alarm continuously; we keep no state between runs, so the state
  at the end of a short selection (1 h) is computed from enough history to be the one
  CloudWatch would show. Transitions are reported over the selection only.
- :func:`load_alerts` / :func:`alert_report` — inventory, metrics, memory (only when a
  rule reads it) and the account concurrency quotas (only when a rule reads them), all
  through the caches, then :func:`dashboard.alerts.evaluate_all`.
- :func:`with_report_counts` — memory rows read from Lambda Insights carry no REPORT
  count; each invocation writes one REPORT line, so the AWS/Lambda ``Invocations`` of the
  same bin stand in and the cold-start rate is defined for those functions too.
- :func:`alert_rows`, :func:`transition_rows` — filtered, sorted rows with a deep link to
  the chart that shows each alert (:data:`ALERT_SCHEMA`, :data:`TRANSITION_ROW_SCHEMA`).

Every evaluation :func:`load_alerts` computes (not a memoised rerun) is recorded in the server's alert
history (:mod:`dashboard.alerts.history`), and :attr:`AlertsLoaded.history` is what it holds: the alerts
seen firing earlier and clear now, which a fleet evaluation (states only) cannot tell by itself.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from aws import account as lambda_account
from aws.cache import Memo
from aws.frames import UTC_TS, typed_frame
from dashboard.alerts import (
    ALARM,
    COLUMNS,
    EXTRA_RANGE_PERIODS,
    INSUFFICIENT_DATA,
    METRICS,
    OK,
    SEVERITY_ORDER,
    STATES_SCHEMA,
    AlertReport,
    effective_rules,
    evaluate_all,
)
from dashboard.alerts import history as alert_history
from dashboard.config.settings import AlertRule, AlertSettings, Settings
from dashboard.present import links, registry
from dashboard.query import sources
from dashboard.query.load import Query, unread_parts
from dashboard.query.selection import Selection
from dashboard.query.timerange import PRESETS, TimeRange

__all__ = [
    "MIN_WINDOW",
    "SINCE_HELP",
    "STATE_CHOICES",
    "SEVERITIES",
    "ALERT_SCHEMA",
    "TRANSITION_ROW_SCHEMA",
    "AlertsLoaded",
    "evaluation_window",
    "concurrency_limits",
    "with_report_counts",
    "load_alerts",
    "report_invocations",
    "RuleData",
    "rule_data",
    "STATE_PERIODS",
    "mark_unread",
    "alert_rows",
    "transition_rows",
]

log = logging.getLogger(__name__)

MIN_WINDOW = timedelta(hours=24)  # history evaluated at least, whatever the selection
SINCE_HELP = (
    "When the alarm entered this state. Near the start of the evaluated window it means “at least since then”: "
    "the state before the window is not known."
)
STATE_CHOICES: tuple[str, str, str] = (ALARM, INSUFFICIENT_DATA, OK)
# with no rule there is nothing to fire: said instead of an "all clear" (pages and the CLI)
NO_RULES = "No alert rules are configured, so nothing is checked: add them under alerts.rules in config.yaml (the shipped config.yaml has examples)."
_STATE_ORDER = {state: i for i, state in enumerate(STATE_CHOICES)}
SEVERITIES: tuple[str, ...] = tuple(SEVERITY_ORDER)
KEY = ["account", "region", "function"]

ALERT_SCHEMA: dict[str, str] = {
    "link": "string",  # functions?fn=account/region/name&range=...&rule=...: the chart that shows it
    "severity": "string",
    "state": "string",
    "rule": "string",
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "metric": "string",
    "since": UTC_TS,
    "value": "float64",
    "last_value": "float64",
    "threshold": "float64",
    "comparison": "string",
    "unit": "string",  # the registry's unit text of the metric: "%", "% of timeout", "errors", "ms"
    "note": "string",
    "unread": "boolean",  # its data could not be read: not evaluated
}
TRANSITION_ROW_SCHEMA: dict[str, str] = {
    "link": "string",
    "timestamp": UTC_TS,
    "severity": "string",
    "rule": "string",
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "metric": "string",  # the rule's metric: the unit of value
    "from_state": "string",
    "to_state": "string",
    "value": "float64",
    "unit": "string",
}


@dataclass
class AlertsLoaded:
    """An alert report for a selection and how its sources stood.

    ``report.states`` are the states at the end of ``window``; ``report.transitions`` those
    inside ``trange`` (the selection). ``window`` ⊇ ``trange`` (see :func:`evaluation_window`).
    """

    report: AlertReport
    statuses: list[sources.SourceStatus]
    trange: TimeRange
    window: TimeRange
    warnings: list[str] = field(default_factory=list)
    # what the rules were read from: each rule period's metrics (over ``rule_starts[period]`` … the window's end) and
    # the memory frame with its REPORT counts, so a chart of an alert draws the series the alert was decided on
    rule_metrics: dict[int, pd.DataFrame] = field(default_factory=dict)
    rule_starts: dict[int, object] = field(default_factory=dict)
    memory: pd.DataFrame | None = None
    # what the server's evaluations saw before (dashboard.alerts.history), this one included: the alerts that cleared
    history: alert_history.HistoryView | None = None

    @property
    def failed(self) -> list[sources.SourceStatus]:
        return [s for s in self.statuses if s.failed]

    def as_loaded(self) -> sources.Loaded:
        """The statuses and warnings as a :class:`dashboard.query.sources.Loaded` (for ``ui.show_statuses``)."""
        return sources.Loaded(self.report.states, list(self.statuses), list(self.warnings))


def _lookback(settings: AlertSettings) -> timedelta:
    """The longest ``(N + 2) × period`` of any rule, with the largest N any override gives it."""
    longest = timedelta(0)
    for rule in settings.rules:
        n = rule.evaluation_periods
        layers = [o for rules in settings.function_overrides.values() for name, o in rules.items() if name == rule.name]
        layers += [
            o for values in settings.tag_overrides.values() for rules in values.values() for name, o in rules.items() if name == rule.name
        ]
        n = max([n] + [o.evaluation_periods for o in layers if o.evaluation_periods])
        longest = max(longest, timedelta(seconds=(n + EXTRA_RANGE_PERIODS) * rule.period_s))
    return longest


def evaluation_window(trange: TimeRange, settings: AlertSettings, *, minimum: timedelta = MIN_WINDOW) -> TimeRange:
    """The range to evaluate the rules over: ``trange`` stretched back to ``max(minimum, N + 2 periods)``.

    It ends where ``trange`` ends. A rolling preset is stretched to the smallest preset that is
    long enough (so its data is cached under that preset's label); anything else keeps its end
    and gets the start it needs. A selection already long enough is returned as it is.
    """
    need = max(trange.duration, minimum, _lookback(settings))
    if need <= trange.duration:
        return trange
    if trange.label in PRESETS:
        for label, span in sorted(PRESETS.items(), key=lambda kv: kv[1]):
            if span >= need:
                return TimeRange(trange.end - span, trange.end, label)
    hours = -(-int(need.total_seconds()) // 3600)
    return TimeRange(trange.end - timedelta(hours=hours), trange.end, f"{trange.label} (alert window)".strip())


def concurrency_limits(
    settings: Settings, inventory: pd.DataFrame, *, force: bool = False
) -> tuple[dict[tuple[str, str], int], list[sources.SourceStatus]]:
    """Each account × region's concurrent-executions quota (GetAccountSettings, cached with the inventory).

    A part that cannot be read falls back to Lambda's default quota of 1,000, and its status
    says so in its one sentence.
    """
    accounts = {a.name: a for a in settings.aws_accounts()}
    parts = [] if inventory.empty else sorted({(a, r) for a, r in zip(inventory["account"], inventory["region"], strict=True)})
    parts = [(accounts[a], r) for a, r in parts if a in accounts]
    frames, statuses = sources.fan_out(
        "inventory",
        parts,
        lambda a, r: (a.cache_id, r, "account-settings"),
        lambda a, r: lambda_account.account_settings(account=a, region=r),
        force=force,
    )
    limits = {(a.name, r): lambda_account.DEFAULT_CONCURRENCY for a, r in parts}
    for f in frames:
        for acct, region, quota in f[["account", "region", "concurrent_executions"]].itertuples(index=False):
            limits[(str(acct), str(region))] = int(quota)
    fallback = f" The concurrency share uses Lambda's default quota of {lambda_account.DEFAULT_CONCURRENCY:,} there."
    statuses = [dataclasses.replace(s, error=s.error + fallback) if s.failed and s.error else s for s in statuses]
    return limits, statuses


def with_report_counts(memory: pd.DataFrame | None, metrics: pd.DataFrame) -> pd.DataFrame | None:
    """``memory`` with ``reports`` filled where Lambda Insights left it <NA>: the bin's Invocations.

    Lambda writes one REPORT line per invocation, so AWS/Lambda ``Invocations`` summed over the
    memory bin is the count the REPORT lines would give. A bin is filled only when the metric
    periods fit inside it; rows that already have a count, or no metric data, are left as they
    are. Returns a new frame (inputs are shared and not modified).
    """
    if memory is None or memory.empty or metrics is None or metrics.empty:
        return memory
    missing = memory["reports"].isna()
    if not missing.any():
        return memory
    need = memory.loc[missing, KEY + ["timestamp", "bin_s"]]
    met = metrics[metrics["function"].isin(need["function"].unique()) & metrics["invocations"].notna()]
    if met.empty:
        return memory
    # one integer per function (account, region, name) of the rows that need a count
    funcs = pd.MultiIndex.from_frame(need[KEY].astype(str)).unique()
    left = pd.DataFrame(
        {
            "fid": funcs.get_indexer(pd.MultiIndex.from_frame(need[KEY].astype(str))),
            "bin_ts": pd.DatetimeIndex(need["timestamp"]).as_unit("ns").asi8,
            "bin_end": pd.DatetimeIndex(need["timestamp"]).as_unit("ns").asi8 + need["bin_s"].to_numpy(dtype="int64") * 1_000_000_000,
            "row": need.index.to_numpy(),
        }
    ).sort_values("bin_ts", kind="stable")
    m_ts = pd.DatetimeIndex(met["timestamp"]).as_unit("ns").asi8
    right = pd.DataFrame(
        {
            "fid": funcs.get_indexer(pd.MultiIndex.from_frame(met[KEY].astype(str))),
            "m_ts": m_ts,
            "m_end": m_ts + met["period_s"].to_numpy(dtype="int64") * 1_000_000_000,
            "invocations": met["invocations"].to_numpy(dtype="float64"),
        }
    )
    right = right[right["fid"] >= 0].sort_values("m_ts", kind="stable")
    # every metric period → the memory bin of the same function that starts at or before it
    joined = pd.merge_asof(right, left, left_on="m_ts", right_on="bin_ts", by="fid", direction="backward")
    joined = joined[joined["row"].notna() & (joined["m_end"] <= joined["bin_end"])]
    if joined.empty:
        return memory
    counts = joined.groupby(joined["row"].astype("int64"))["invocations"].sum()
    out = memory.copy()
    out.loc[counts.index, "reports"] = pd.array(np.rint(counts.to_numpy()).astype("int64"), dtype="Int64")
    return out


# The last few evaluations, keyed by the question and the version of every cached part read. A page rerun
# (every widget change) asks the same question of the same cached answers: the report is reused instead of
# evaluating every rule × function again. The loaders rebuild their frames from the cached parts on each
# call, so the key holds each part's status (source, account, region, fetch time, stale, error): new data
# (a refresh, an expired cache entry) changes a fetch time, hence a new evaluation. Single-flight, so N
# sessions opening the same page together share one evaluation (at 1,000 functions ~4 s and ~450 MB of heap
# each: 20 sessions peaked at 7.7 GB RSS without it); failures are not kept.
_MEMO: Memo[AlertReport] = Memo("alert-evaluations", size=8)


def _needs(settings: AlertSettings) -> tuple[bool, bool]:
    """Whether any rule (enabled by default or by an override) reads the memory frame / the account quota."""
    metrics = {r.metric for r in settings.rules}
    return any(METRICS[m] == "memory" for m in metrics), "concurrency_account_share" in metrics


# A fleet view asks what fires now: each rule's state at the end is decided by its last N + 2 periods (AWS's
# evaluation range) whatever came before, unless its missing data is "ignore" (the state is kept). So a fleet
# view reads each rule over its own window, this many periods at least (N + 2 when larger), at the rule's
# period; the functions found in ALARM are then read over the whole evaluation window, so their "since" and
# value are the Alerts page's.
STATE_PERIODS = 12


@dataclass
class RuleData:
    """The metrics each rule period needs: ``frames[period_s]`` over ``starts[period_s]`` … ``end``."""

    frames: dict[int, pd.DataFrame]
    starts: dict[int, object]
    statuses: list[sources.SourceStatus]
    warnings: list[str]
    unread: frozenset[tuple[str, str]]
    unknown: dict[tuple[str, str], tuple[str, ...]]


def _rules_by_function(settings: AlertSettings, frame: pd.DataFrame) -> list[tuple[tuple[str, str, str], list[AlertRule]]]:
    tags = frame["tags"] if "tags" in frame.columns else pd.Series([{}] * len(frame), index=frame.index)
    keys = frame[KEY].astype(str).itertuples(index=False, name=None)
    return [(k, effective_rules(settings, function=k[2], tags=t)) for k, t in zip(keys, tags, strict=True)]


def _window_of(trange: TimeRange, length: timedelta, period_s: int) -> TimeRange:
    """The ``length`` ending where ``trange`` ends; a rolling range keeps a rolling cache key (by its name)."""
    label = f"rolling {int(length.total_seconds())}s@{period_s}" if trange.label in PRESETS else f"{trange.label} (rule window)".strip()
    return TimeRange(trange.end - length, trange.end, label)


def rule_data(
    settings: Settings,
    trange: TimeRange,
    functions: pd.DataFrame,
    *,
    fleet: bool = False,
    force: bool = False,
) -> RuleData:
    """Each rule period's metrics (:func:`dashboard.query.sources.metrics` at that period, only the columns its
    rules read, only the functions one of them is enabled for), over :func:`evaluation_window` of ``trange`` —
    or, ``fleet``, over each period's own window: :data:`STATE_PERIODS` (or N + 2) of its periods, the whole
    evaluation window where a rule keeps its state on missing data ("ignore") or where the own window would be
    more than half of it (hourly rules over a day).
    """
    window = evaluation_window(trange, settings.alerts)
    need: dict[int, dict] = {}
    for key, rules in _rules_by_function(settings.alerts, functions):
        for rule in rules:
            if METRICS[rule.metric] != "metrics":
                continue
            ask = need.setdefault(rule.period_s, {"columns": set(), "functions": set(), "periods": 0, "whole": False})
            ask["columns"] |= set(COLUMNS[rule.metric])
            ask["functions"].add(key)
            ask["periods"] = max(ask["periods"], rule.evaluation_periods + EXTRA_RANGE_PERIODS)
            ask["whole"] |= rule.missing_data == "ignore"
    frames, starts, statuses, warnings, unread, unknown = {}, {}, [], [], set(), {}
    for period, ask in sorted(need.items()):
        span = window
        own = period * max(STATE_PERIODS, ask["periods"])
        if fleet and not ask["whole"] and 2 * own < window.duration.total_seconds():  # else the whole window costs little more
            span = _window_of(trange, timedelta(seconds=own), period)
        rows = functions[pd.MultiIndex.from_frame(functions[KEY].astype(str)).isin(list(ask["functions"]))]
        got = sources.metrics(settings, span, rows, period=period, columns=tuple(sorted(ask["columns"])), force=force)
        frames[period], starts[period] = got.frame, span.start
        statuses += got.statuses
        warnings += got.warnings
        unread |= unread_parts(got)
        for part, cols in got.unknown.items():
            unknown[part] = tuple(dict.fromkeys([*unknown.get(part, ()), *cols]))
    return RuleData(frames, starts, statuses, list(dict.fromkeys(warnings)), frozenset(unread), unknown)


def report_invocations(
    settings: Settings, window: TimeRange, functions: pd.DataFrame, memory: pd.DataFrame | None, *, force: bool = False
) -> sources.Loaded | None:
    """Invocations at the memory frame's bin over ``window``, of the ``functions`` whose memory rows lack a REPORT
    count (Lambda Insights): what :func:`with_report_counts` fills them from. None when none lacks one."""
    if memory is None or memory.empty or not memory["reports"].isna().any():
        return None
    lacking = pd.MultiIndex.from_frame(memory.loc[memory["reports"].isna(), KEY].astype(str)).unique()
    rows = functions[pd.MultiIndex.from_frame(functions[KEY].astype(str)).isin(lacking)]
    if rows.empty:
        return None
    bin_s = int(memory["bin_s"].max())
    return sources.metrics(settings, window, rows, period=bin_s, columns=("invocations",), force=force)


def load_alerts(
    settings: Settings,
    selection: Selection,
    *,
    query: Query | None = None,
    only: tuple[str, str, str] | None = None,
    fleet: bool = False,
    force: bool = False,
) -> AlertsLoaded:
    """Every rule × function of the selection, each rule at its own period, evaluated over :func:`evaluation_window`.

    Raises :class:`dashboard.config.settings.ConfigError` when overrides leave a rule invalid.
    ``query``: the caller's :class:`~dashboard.query.load.Query` of this very selection; its inventory is
    shared, and its metrics too when the window is the selection's range (it saves rebuilding a large frame).
    ``only`` (account, region, function): that function's states alone, evaluated exactly as for the whole
    selection (the same window, data, quota and unread marking) — the function page's; only its own metrics are read.
    ``fleet`` (the Overview: what fires now): the states only, no transitions. Each rule is read over its own
    window (:func:`rule_data`), which decides its state at the end exactly; the rules found in ALARM are then
    evaluated over the whole window, so their "since" and value are those the Alerts page shows.

    A rule whose data could not be read for a function's account × region (its source failed, with no
    earlier answer) is not evaluated there: its state is INSUFFICIENT_DATA with ``unread`` set and a note
    naming the source; it is never OK, never ALARM (a missing-data treatment of "breaching" does not fire on
    data that could not be read), and no figure or headline treats it as healthy.
    """
    q = query if query is not None and query.selection == selection else Query(settings, selection, force=force)
    trange = selection.trange
    window = evaluation_window(trange, settings.alerts)
    wq = q if window == trange else Query(settings, dataclasses.replace(selection, trange=window), force=force, inventory=q.inventory)
    frame = q.functions
    if only is not None:
        a, r, f = only
        frame = frame[(frame["account"] == a) & (frame["region"] == r) & (frame["function"] == f)]
    statuses = list(q.inventory.statuses)
    warnings = list(q.inventory.warnings)
    wants_memory, wants_quota = _needs(settings.alerts)
    memory = None
    unread_memory: frozenset[tuple[str, str]] = frozenset()
    if wants_memory:
        mem = wq.memory
        statuses += mem.statuses
        warnings += mem.warnings
        memory = mem.frame
        unread_memory = unread_parts(mem)
    # each rule at its own period: only the functions asked about (one function's page asks for its own)
    data = rule_data(settings, trange, frame, fleet=fleet, force=force)
    statuses += [s for s in data.statuses if s not in statuses]
    warnings += data.warnings
    got = report_invocations(settings, window, frame, memory, force=force)
    reports = None if got is None else got.frame  # Invocations per memory bin where Lambda Insights gives no REPORT count
    if got is not None:
        statuses += [s for s in got.statuses if s not in statuses]
        warnings += got.warnings
    limits: dict[tuple[str, str], int] | int = lambda_account.DEFAULT_CONCURRENCY
    if wants_quota:
        limits, quota_status = concurrency_limits(settings, frame, force=force)
        statuses += quota_status
    unread = _unread_by_metric(data.unread, unread_memory, data.unknown)
    # The frames are rebuilt from cached parts on every call; the parts' fetch times say whether
    # they are the same data as last time (see _MEMO).
    key = (
        settings.alerts.model_dump_json(),
        settings.allocation.model_dump_json(),
        selection.accounts,
        selection.regions,
        selection.teams,
        only,
        fleet,
        tuple(sorted(limits.items())) if isinstance(limits, dict) else limits,
        *window.minutes,
        tuple((s.source, s.account, s.region, s.fetched_at, s.stale, s.error) for s in statuses),
    )
    reasons = {(s.account, s.region, s.source): s.error for s in statuses if s.failed}
    reasons |= {(a, r, "metrics"): f"CloudWatch did not give {', '.join(cols)}" for (a, r), cols in data.unknown.items()}
    # once per memory frame and Invocations answer (kept while they stand: sources.built), not twice a call
    counted = (
        memory if memory is None or reports is None
        else sources.built("report-counts", [memory, reports], lambda: with_report_counts(memory, reports))
    )  # fmt: skip

    def run(functions: pd.DataFrame, rd: RuleData) -> AlertReport:
        report = evaluate_all(
            settings.alerts,
            inventory=functions,
            metrics=rd.frames,
            memory=counted,
            account_limit=limits,
            now=window.end,
            start=window.start,
            starts=rd.starts,
        )
        return mark_unread(report, unread, reasons=reasons)

    def evaluate() -> AlertReport:
        report = states_and_transitions()
        store.record(report.states, report.transitions, at=window.end)  # once per evaluation, not per memoised rerun
        return report

    def states_and_transitions() -> AlertReport:
        report = run(frame, data)
        if not fleet or report.states.empty:
            return report
        # The states are exact; the alarms' "since" and value come from the whole window, as on the Alerts page.
        short = {p for p, t in data.starts.items() if t != window.start}
        alarm = report.states[(report.states["state"] == ALARM) & (report.states["metric"].map(METRICS) == "metrics")]
        alarm = alarm[alarm["rule"].map({r.name: r.period_s for r in settings.alerts.rules}).isin(short)]
        if alarm.empty:
            return AlertReport(report.states, report.transitions.iloc[0:0])
        firing = frame[pd.MultiIndex.from_frame(frame[KEY].astype(str)).isin(pd.MultiIndex.from_frame(alarm[KEY].astype(str)))]
        whole = run(firing, rule_data(settings, trange, firing, force=force))
        keys = [*KEY, "rule"]
        redo = pd.MultiIndex.from_frame(whole.states[keys].astype(str))
        rest = report.states[~pd.MultiIndex.from_frame(report.states[keys].astype(str)).isin(redo)]
        states = pd.concat([rest, whole.states], ignore_index=True)
        order = {r.name: i for i, r in enumerate(settings.alerts.rules)}
        states = states.assign(_o=states["rule"].map(order)).sort_values([*KEY, "_o"], kind="stable").drop(columns="_o")
        return AlertReport(typed_frame(states.reset_index(drop=True), STATES_SCHEMA), report.transitions.iloc[0:0])

    store = alert_history.store_for(settings)
    full = _MEMO.get(key, evaluate)
    report = AlertReport(full.states, _transitions_in(full.transitions, trange))
    return AlertsLoaded(
        report, statuses, trange, window, list(dict.fromkeys(warnings)), data.frames, data.starts, counted,
        store.view(),
    )  # fmt: skip


_SOURCE_OF = {"metrics": "metrics", "memory": "logs"}  # an alert metric's frame → the source that fills it
# alert metrics that rest on one column a part may lack while the rest of it was read (refused percentiles)
_COLUMNS_OF: dict[str, tuple[str, ...]] = {"duration_p99_ms": ("duration_p99_ms",), "duration_p99_timeout_share": ("duration_p99_ms",)}


def _unread_by_metric(
    metrics: frozenset[tuple[str, str]],
    memory: frozenset[tuple[str, str]],
    unknown: Mapping[tuple[str, str], tuple[str, ...]],
) -> dict[str, frozenset[tuple[str, str]]]:
    """Alert metric → the (account, region) parts where it cannot be evaluated: its source failed there, or the
    part lacks a column the metric rests on."""
    out = {}
    for metric, frame in METRICS.items():
        parts = set(metrics if frame == "metrics" else memory)
        parts |= {part for part, cols in unknown.items() if set(_COLUMNS_OF.get(metric, ())) & set(cols)}
        out[metric] = frozenset(parts)
    return out


def mark_unread(
    report: AlertReport,
    unread: Mapping[str, Iterable[tuple[str, str]]],
    *,
    reasons: Mapping[tuple[str, str, str], str | None] | None = None,
) -> AlertReport:
    """The report with every state whose data could not be read set to INSUFFICIENT_DATA, ``unread`` True and a
    note naming the source (pure). ``unread``: alert metric → the (account, region) parts where its data could
    not be read. Their transitions are dropped: nothing was evaluated there."""
    states = report.states
    if states.empty or not any(unread.values()):
        return report
    mask = np.zeros(len(states), dtype=bool)
    for metric, parts in unread.items():
        pairs = set(parts)
        if pairs:
            inside = [(a, r) in pairs for a, r in zip(states["account"], states["region"], strict=True)]
            mask |= (states["metric"] == metric).fillna(False).to_numpy(dtype=bool) & np.asarray(inside, dtype=bool)
    if not mask.any():
        return report
    out = states.copy()
    notes = []
    for a, r, metric in zip(out.loc[mask, "account"], out.loc[mask, "region"], out.loc[mask, "metric"], strict=True):
        frame = METRICS.get(metric, "metrics")
        why = (reasons or {}).get((a, r, _SOURCE_OF.get(frame, frame)))
        notes.append(f"not evaluated: its {frame} could not be read for {a}/{r}" + (f" ({why})" if why else ""))
    out.loc[mask, "state"] = INSUFFICIENT_DATA
    out.loc[mask, "value"] = np.nan
    out.loc[mask, "last_value"] = np.nan
    out.loc[mask, "note"] = notes
    out.loc[mask, "unread"] = True
    gone = pd.MultiIndex.from_frame(out.loc[mask, [*KEY, "rule"]].astype(object))
    tr = report.transitions
    if not tr.empty:
        tr = tr[~pd.MultiIndex.from_frame(tr[[*KEY, "rule"]].astype(object)).isin(gone)].reset_index(drop=True)
    return AlertReport(out, tr)


def _transitions_in(transitions: pd.DataFrame, trange: TimeRange) -> pd.DataFrame:
    """The transitions inside ``trange``, without each alarm's first decision out of INSUFFICIENT_DATA.

    That first decision is where the evaluated window starts, not a change: the state before
    the window is unknown to us (CloudWatch, evaluating all along, had one).
    """
    if transitions.empty:
        return transitions
    first = transitions.groupby(KEY + ["rule"], sort=False).cumcount() == 0
    initial = first & (transitions["from_state"] == INSUFFICIENT_DATA)
    ts = transitions["timestamp"]
    inside = (ts > pd.Timestamp(trange.start)) & (ts <= pd.Timestamp(trange.end))
    return transitions[inside & ~initial].reset_index(drop=True)


def _pick(frame: pd.DataFrame, column: str, wanted: Iterable[str] | None) -> pd.DataFrame:
    wanted = [w for w in (wanted or []) if w]
    return frame[frame[column].isin(wanted)] if wanted else frame


def _severity_rank(severity: pd.Series) -> pd.Series:
    return severity.map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)).astype("int64")


def _unit_texts(metrics: pd.Series) -> list[str]:
    """Each alert metric's unit in words, as the registry says it ("" for a metric it does not know)."""
    return [registry.unit_text(m) if isinstance(m, str) and m in registry.REGISTRY else "" for m in metrics]


def _links(frame: pd.DataFrame, range_text: str | None) -> list[str]:
    return [
        links.function_link(str(a), str(r), str(f), range_text=range_text, rule=str(rule))
        for a, r, f, rule in frame[["account", "region", "function", "rule"]].itertuples(index=False)
    ]


def alert_rows(
    states: pd.DataFrame,
    *,
    states_wanted: Iterable[str] | None = (ALARM,),
    severities: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    rules: Iterable[str] | None = None,
    functions: Iterable[str] | None = None,
    range_text: str | None = None,
) -> pd.DataFrame:
    """Alert states to show (pure): filtered (None or empty = all); ALARM, then INSUFFICIENT_DATA, then OK;
    within each, critical first, then the longest-standing.

    ``states`` is :data:`dashboard.alerts.STATES_SCHEMA`; the result :data:`ALERT_SCHEMA`, each
    row linking to the function page scrolled to the rule's chart over ``range_text``.
    """
    s = _pick(states, "state", states_wanted)
    s = _pick(s, "severity", severities)
    s = _pick(s, "team", teams)
    s = _pick(s, "rule", rules)
    s = _pick(s, "function", functions)
    if s.empty:
        return typed_frame([], ALERT_SCHEMA)
    s = s.assign(_state=s["state"].map(_STATE_ORDER).fillna(len(_STATE_ORDER)), _rank=_severity_rank(s["severity"]))
    s = s.sort_values(["_state", "_rank", "since", "account", "region", "function", "rule"], kind="stable").drop(columns=["_state", "_rank"])
    s = s.assign(link=_links(s, range_text), unit=_unit_texts(s["metric"]))
    return typed_frame(s.reset_index(drop=True), ALERT_SCHEMA)


def transition_rows(
    report: AlertReport,
    *,
    severities: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    rules: Iterable[str] | None = None,
    functions: Iterable[str] | None = None,
    range_text: str | None = None,
) -> pd.DataFrame:
    """The report's transitions (pure), newest first, filtered like :func:`alert_rows` (no state filter)."""
    tr = report.transitions
    if tr.empty:
        return typed_frame([], TRANSITION_ROW_SCHEMA)
    info = report.states[KEY + ["rule", "team", "metric"]].drop_duplicates(KEY + ["rule"])
    t = tr.merge(info, on=KEY + ["rule"], how="left")
    t = _pick(t, "severity", severities)
    t = _pick(t, "team", teams)
    t = _pick(t, "rule", rules)
    t = _pick(t, "function", functions)
    if t.empty:
        return typed_frame([], TRANSITION_ROW_SCHEMA)
    t = t.sort_values(["timestamp", "account", "region", "function", "rule"], ascending=[False, True, True, True, True], kind="stable")
    t = t.assign(link=_links(t, range_text), unit=_unit_texts(t["metric"]))
    return typed_frame(t.reset_index(drop=True), TRANSITION_ROW_SCHEMA)
