"""What the Functions page shows, as frames and figures: the searchable list and one function's view.

- :func:`load_list` — the list: :func:`dashboard.figures.usage.usage` rows with tags,
  the invocations trend (:func:`dashboard.figures.usage.trend`, as on the Overview) and a link to each function's page (all from the cached loaders;
  no call per function). :func:`filter_functions` (search text over name, runtime, team and
  tags; filters by runtime, architecture, team) and :func:`filter_options` are pure.
- :func:`load_function` — one function (``account/region/name``): its configuration row with
  tags, its slice of the metrics and memory frames, and each of its alert rules evaluated
  by the alert engine (:func:`dashboard.alerts.effective_rules`, ``series_for``,
  ``evaluate``), as a :class:`FunctionView`. The view gives the tables the page lays out
  (:meth:`FunctionView.config_table`, ``tags_table``, ``states``), the figure
  (:meth:`FunctionView.figure`) and the sentences for panels without data
  (:meth:`FunctionView.notes`). Its alert states are the Alerts page's
  (:mod:`dashboard.alerts.evaluation`: same evaluation window, concurrency quota and REPORT counts).

A function's page asks CloudWatch for its own series alone, at a period that draws a readable chart
(:func:`aws.metrics.chart_period`: 24 h at 300 s), and for each alert rule's data at the rule's period; the
memory loader is asked with the same inventory slice the list uses (every function of the function's
account × region, or of the selected teams), so that part is served from the cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from aws.frames import UTC_TS, typed_frame
from aws.metrics import LAMBDA_SCHEMA, chart_period
from dashboard.alerts import (
    DEFAULT_ACCOUNT_LIMIT,
    METRICS,
    Evaluation,
    effective_rules,
    evaluate,
    evaluation,
    series_for,
)
from dashboard.config.echo import cut, echo
from dashboard.config.settings import AlertRule, ConfigError, Settings
from dashboard.figures.cost_report import month_to_date_costs
from dashboard.figures.function_cost import costs_over, load_costs, with_costs
from dashboard.figures.usage import summarize, trend, usage
from dashboard.present import plots, registry
from dashboard.present.links import function_key, function_link, parse_function_key
from dashboard.present.registry import Unit
from dashboard.query import sources
from dashboard.query.load import Query, unread_parts
from dashboard.query.selection import Selection
from dashboard.query.timerange import PRESETS, TimeRange

__all__ = [
    "KEY",
    "NO_RUNTIME",
    "LIST_COLUMNS",
    "HEALTH_COLUMNS",
    "RULE_STATES_SCHEMA",
    "RuleEval",
    "FunctionView",
    "ListView",
    "load_function",
    "load_list",
    "evaluate_rules",
    "list_frame",
    "tags_text",
    "filter_functions",
    "filter_options",
]

KEY = ["account", "region", "function"]
NO_RUNTIME = "container image"  # the runtime shown for functions deployed as images (no runtime)

RULE_STATES_SCHEMA: dict[str, str] = {
    "rule": "string",
    "metric": "string",
    "severity": "string",
    "state": "string",  # OK | ALARM | INSUFFICIENT_DATA
    "since": UTC_TS,  # end of the period whose evaluation entered the state
    "value": "float64",  # the value that decided the entry into the state
    "last_value": "float64",  # the most recent real datapoint
    "comparison": "string",
    "threshold": "float64",
    "period_s": "int64",  # the period evaluated (the data's when coarser than the rule's)
    "alarm_periods": "int64",  # periods in ALARM over the range
    "note": "string",
}


@dataclass(frozen=True)
class RuleEval:
    """One alert rule of one function: the rule (overrides applied), its series and the engine's verdict."""

    rule: AlertRule
    series: pd.Series  # period start → value (NaN = missing), from dashboard.alerts.series_for
    evaluation: Evaluation

    @property
    def period_s(self) -> int:
        return int(self.series.attrs.get("period_s") or self.rule.period_s)


_NO_METRICS = typed_frame([], LAMBDA_SCHEMA)


def evaluate_rules(
    rules: Sequence[AlertRule],
    *,
    function_row: Mapping[str, Any] | pd.Series,
    metrics: pd.DataFrame | Mapping[int, pd.DataFrame],
    memory: pd.DataFrame | None,
    start: datetime | None = None,
    now: datetime | None = None,
    account_limit: int = DEFAULT_ACCOUNT_LIMIT,
    starts: Mapping[int, datetime] | None = None,
) -> list[RuleEval]:
    """Each rule over one function's frames, as the alert engine evaluates it (pure).

    ``metrics``: one frame, or one per rule period (``{period_s: frame}``, each rule read from its own period's,
    from ``starts[period_s]`` when given). ``start`` / ``now`` bound the periods evaluated as in
    :func:`dashboard.alerts.evaluate_all`.
    """
    out = []
    for rule in rules:
        frame = metrics.get(rule.period_s, _NO_METRICS) if isinstance(metrics, Mapping) else metrics
        first = (starts or {}).get(rule.period_s, start)
        s = series_for(
            rule,
            function_row=function_row,
            metrics=frame,
            memory=memory,
            account_limit=account_limit,
            start=first,
            now=now,
            period_s=rule.period_s if isinstance(metrics, Mapping) else None,
        )
        out.append(RuleEval(rule, s, evaluate(s, rule)))
    return out


def tags_text(tags: Mapping[str, str] | None) -> str:
    """``{"team": "payments", "env": "prod"}`` → ``"env=prod, team=payments"`` (sorted by key)."""
    if not isinstance(tags, Mapping) or not tags:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


@dataclass(frozen=True)
class FunctionView:
    """Everything the page shows about one function over one range."""

    key: str
    trange: TimeRange
    config: pd.Series | None  # the inventory row (tags: dict, team), None when not found
    metrics: pd.DataFrame  # this function's rows of aws.metrics.LAMBDA_SCHEMA
    memory: pd.DataFrame  # this function's rows of dashboard.query.sources.MEMORY_SCHEMA
    rules: tuple[RuleEval, ...] = ()
    statuses: tuple[sources.SourceStatus, ...] = ()
    warnings: tuple[str, ...] = ()
    problem: str | None = None  # why there is no view (bad key, unknown function) or why rules are missing
    account_limit: int = DEFAULT_ACCOUNT_LIMIT
    alert_states: pd.DataFrame | None = None  # this function's rows of dashboard.alerts.STATES_SCHEMA
    totals: pd.Series | None = None  # its summary row over the range (dashboard.figures.usage.SCHEMA) plus p50/p90 and reports
    cost_usd: float = float("nan")  # estimated cost over the range (dashboard.figures.function_cost); NaN: unknown
    mtd_cost_usd: float = float("nan")  # the same over the month to date

    @property
    def found(self) -> bool:
        return self.config is not None

    @property
    def name(self) -> str:
        parts = parse_function_key(self.key)
        return parts[2] if parts else self.key

    @property
    def loaded(self) -> sources.Loaded:
        """The sources' statuses, for :func:`dashboard.web.ui.show_statuses`."""
        return sources.Loaded(pd.DataFrame(), list(self.statuses), list(self.warnings))

    def header(self) -> list[tuple[str, str, str | None, str]]:
        """The header's tiles: (label, value, detail, help), every figure written by the registry ("—" when unknown);
        the value short enough to show whole in a tile, the detail (a second, smaller line) saying what it is of."""
        t = self.totals if self.totals is not None else pd.Series(dtype="object")

        def num(k: str) -> float:
            v = t.get(k)
            return float("nan") if v is None or pd.isna(v) else float(v)

        f = registry.format
        reports, cold = num("reports"), num("cold_starts")
        if not reports > 0:  # Lambda Insights counts no REPORT lines: the invocations are the same count
            reports = num("invocations")
        cold_pct = 100.0 * cold / reports if reports > 0 else float("nan")
        size, used = num("memory_mb"), num("max_memory_used_mb")
        used_pct = 100.0 * used / size if size > 0 else float("nan")
        return [
            ("Invocations", f("invocations", num("invocations")), f"{f('throttles', num('throttles'))} throttled", registry.help_text("invocations")),
            ("Error rate", f("error_rate", num("error_rate")), f"{f('errors', num('errors'))} errors", registry.help_text("error_rate")),
            ("p99 duration", f("duration_p99_ms", num("duration_p99_ms")),
             f"p50 {f('duration_p50_ms', num('duration_p50_ms'))} · p90 {f('duration_p90_ms', num('duration_p90_ms'))}",
             "Duration percentiles over the whole range (CloudWatch Duration, one datapoint each)."),
            ("Cold starts", f("cold_start_rate", cold_pct), f"{f('cold_starts', cold)} of {f('reports', reports)}", registry.help_text("cold_start_rate")),
            ("Max memory used", f("max_memory_used_mb", used), f"of {f('memory_mb', size)} ({f('memory_used_pct', used_pct)})",
             registry.help_text("max_memory_used_mb") + " Against the configured memory size."),
            ("Est. cost", f("est_cost_usd", self.cost_usd), f"over {self.trange.label or 'the range'}", registry.help_text("est_cost_usd") + " Over the selected range."),
            ("Est. cost MTD", f("est_cost_usd", self.mtd_cost_usd), "this month to yesterday (UTC)", registry.help_text("mtd_cost_usd")),
        ]  # fmt: skip

    def rule(self, name: str | None) -> RuleEval | None:
        return next((r for r in self.rules if r.rule.name == name), None)

    def states(self) -> pd.DataFrame:
        """One row per rule of the function (:data:`RULE_STATES_SCHEMA`): its state now, since when, the deciding value.

        State, since, value, last value and note are the alert report's (the numbers the
        Alerts page shows); ``alarm_periods`` counts the periods drawn shaded.
        """
        report = {}
        if self.alert_states is not None and not self.alert_states.empty:
            report = {str(r["rule"]): r for _, r in self.alert_states.iterrows()}
        rows = []
        for r in self.rules:
            ev = r.evaluation
            got = report.get(r.rule.name)
            rows.append(
                {
                    "rule": r.rule.name,
                    "metric": r.rule.metric,
                    "severity": r.rule.severity,
                    "state": ev.state if got is None else got["state"],
                    "since": ev.since if got is None else got["since"],
                    "value": ev.value if got is None else got["value"],
                    "last_value": ev.last_value if got is None else got["last_value"],
                    "comparison": r.rule.comparison,
                    "threshold": float(r.rule.threshold),
                    "period_s": r.period_s,
                    "alarm_periods": int((ev.states == "ALARM").sum()) if len(ev.states) else 0,
                    "note": ev.note if got is None else got["note"],
                }
            )
        return typed_frame(rows, RULE_STATES_SCHEMA)

    def state_of(self, rule: str) -> pd.Series | None:
        """The :meth:`states` row of one rule, or None when the rule does not apply."""
        s = self.states()
        hit = s[s["rule"] == rule]
        return None if hit.empty else hit.iloc[0]

    def config_table(self) -> pd.DataFrame:
        """Setting → value (text), in the order the page shows them."""
        c = self.config
        if c is None:
            return pd.DataFrame({"setting": pd.Series([], dtype="string"), "value": pd.Series([], dtype="string")})
        reserved = c.get("reserved_concurrency")
        modified = c.get("last_modified")
        runtime = c.get("runtime")
        rows = [
            ("account / region", f"{c['account']} / {c['region']}"),
            ("team", str(c.get("team") or "")),
            ("runtime", NO_RUNTIME if runtime is None or runtime is pd.NA else str(runtime)),
            ("architecture", str(c.get("architecture") or "")),
            ("memory", registry.format("memory_mb", c.get("memory_mb"))),
            ("timeout", registry.format("timeout_s", c.get("timeout_s"))),
            ("ephemeral storage", Unit.MEGABYTES.format(c.get("ephemeral_storage_mb"))),
            ("reserved concurrency", "none (shares the account's pool)" if reserved is None or reserved is pd.NA else Unit.COUNT.format(reserved)),
            ("last modified", "—" if modified is None or pd.isna(modified) else pd.Timestamp(modified).strftime("%Y-%m-%d %H:%M UTC")),
            ("log group", str(c.get("log_group") or "")),
            ("log format", str(c.get("log_format") or "")),
            ("package", str(c.get("package_type") or "")),
            ("handler", "" if pd.isna(c.get("handler")) else str(c.get("handler"))),
            ("SnapStart", "on" if c.get("snapstart") is True else "off"),
            ("description", "" if pd.isna(c.get("description")) else str(c.get("description"))),
        ]
        return pd.DataFrame({"setting": [k for k, _ in rows], "value": [v for _, v in rows]}, dtype="string")

    def tags_table(self) -> pd.DataFrame:
        tags = self.config.get("tags") if self.config is not None else None
        items = sorted(tags.items()) if isinstance(tags, Mapping) else []
        return pd.DataFrame({"key": [k for k, _ in items], "value": [v for _, v in items]}, dtype="string")

    def notes(self, *, highlight_rule: str | None = None) -> list[str]:
        """The sentences for the panels not drawn (no data in the range)."""
        return plots.empty_notes(
            metrics=self.metrics,
            memory=self.memory,
            rules=self.rules,
            highlight_rule=highlight_rule,
            x_range=(self.trange.start, self.trange.end),
            unavailable=self.unavailable,
        )

    @property
    def unavailable(self) -> tuple[str, ...]:
        """The frames ("metrics", "memory") whose source failed for this function's account × region."""
        parts = parse_function_key(self.key)
        if parts is None:
            return ()
        failed = {s.source for s in self.statuses if s.failed and (s.account, s.region) == parts[:2]}
        return tuple(frame for frame, source in (("metrics", "metrics"), ("memory", "logs")) if source in failed)

    def figure(self, *, highlight_rule: str | None = None) -> go.Figure | None:
        """The function's figure (None when no panel has data)."""
        return plots.function_figure(
            metrics=self.metrics,
            memory=self.memory,
            config=self.config.to_dict() if self.config is not None else {},
            rules=self.rules,
            x_range=(self.trange.start, self.trange.end),
            highlight_rule=highlight_rule,
            account_limit=self.account_limit,
        )


def _finished(metrics: pd.DataFrame, end: datetime) -> pd.DataFrame:
    """The periods over by ``end``: a period still in progress holds part of its counts and would draw a false drop
    at the chart's end (its line ends with the data instead)."""
    if metrics.empty or "period_s" not in metrics:
        return metrics
    ends = pd.to_datetime(metrics["timestamp"], utc=True) + pd.to_timedelta(pd.to_numeric(metrics["period_s"]), unit="s")
    return metrics[(ends <= pd.Timestamp(end)).to_numpy()].reset_index(drop=True)


def _only(frame: pd.DataFrame, key: tuple[str, str, str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    a, r, f = key
    out = frame[(frame["account"] == a) & (frame["region"] == r) & (frame["function"] == f)]
    return out.sort_values("timestamp", ignore_index=True)


def load_function(
    settings: Settings,
    selection: Selection,
    key: str | tuple[str, str, str],
    *,
    only_teams: Iterable[str] | None = None,
    force: bool = False,
) -> FunctionView:
    """One function's view from the cached loaders; ``view.found`` is False for an unknown key.

    ``selection.teams`` is the team filter of the list the user came from: when the function belongs
    to one of them, the loaders are asked for exactly the list's slice (a cache hit);
    otherwise for every function of the function's account × region.

    ``only_teams`` (a team-scoped viewer's teams): a function of another team is answered as
    not found, with the same sentence whether or not it exists, before any metric is read.

    The charts cover ``trange``; the rules are evaluated exactly as the Alerts page does
    (:func:`dashboard.alerts.evaluation.load_alerts`): over
    :func:`~dashboard.alerts.evaluation.evaluation_window`, with the account's concurrency quota, so
    the state shown here is the state listed there.
    """
    trange, teams = selection.trange, selection.teams
    text = key if isinstance(key, str) else function_key(*key)
    parts = parse_function_key(text)
    empty = pd.DataFrame()
    if parts is None:
        return FunctionView(text, trange, None, empty, empty, problem=f"{echo(text)} is not a function key (account/region/name).")
    account, region, name = parts
    inv = sources.inventory(settings, accounts=[account], regions=[region], force=force)
    frame = inv.frame
    hit = frame[frame["function"] == name] if not frame.empty else frame
    if only_teams is not None and (hit.empty or hit.iloc[0].get("team") not in set(only_teams)):
        why = f"No function named {echo(name)} among your teams' functions in {cut(account)}/{cut(region)}."
        return FunctionView(text, trange, None, empty, empty, statuses=tuple(inv.statuses), problem=why)
    if hit.empty:
        known = {a.name for a in settings.accounts}
        if account not in known:
            why = f"No account named {echo(account)} is configured (accounts: {', '.join(sorted(known))})."
        elif not any(region in a.regions for a in settings.accounts if a.name == account):
            why = f"Account {echo(account)} is not configured for region {echo(region)}."
        elif inv.failed:
            why = f"The functions of {account}/{region} could not be listed, so {echo(name)} cannot be shown."
        else:
            why = f"No function named {echo(name)} in {account}/{region}: it may have been deleted or renamed."
        return FunctionView(text, trange, None, empty, empty, statuses=tuple(inv.statuses), warnings=tuple(inv.warnings), problem=why)
    row = hit.iloc[0]
    peers = frame
    team_list = list(teams or [])
    if team_list and row.get("team") in team_list:
        peers = frame[frame["team"].isin(team_list)]
    # its own charts at a readable period (hundreds of points), its own metrics only
    step = chart_period(start=trange.start, end=trange.end, now=trange.end if trange.label in PRESETS else None)
    met = sources.metrics(settings, trange, hit, period=step, force=force)
    mem = sources.memory(settings, trange, peers, force=force)
    k = (account, region, name)
    m_one, mem_one = _finished(_only(met.frame, k), trange.end), _only(mem.frame, k)
    statuses = inv.statuses + met.statuses + mem.statuses
    warnings = inv.warnings + met.warnings + mem.warnings
    problem = None
    try:
        rules = effective_rules(settings.alerts, function=name, tags=row.get("tags"))
    except ConfigError as e:
        rules, problem = [], str(e)
    # The rules are evaluated as the Alerts page evaluates them (dashboard.alerts.evaluation): each at its own
    # period over the evaluation window (the selection stretched to enough history), with REPORT counts filled
    # from Invocations where Lambda Insights gives none, and the account's concurrency quota.
    window = evaluation.evaluation_window(trange, settings.alerts)
    mem_all = mem.frame
    if window != trange and any(METRICS[r.metric] == "memory" for r in rules):
        mem_w = sources.memory(settings, window, peers, force=force)
        mem_all = mem_w.frame
        statuses += mem_w.statuses
    data = evaluation.rule_data(settings, trange, hit, force=force) if rules else None
    if data is not None:
        statuses += [s for s in data.statuses if s not in statuses]
        warnings += data.warnings
    mem_eval = _only(mem_all, k)
    reports = evaluation.report_invocations(settings, window, hit, mem_eval, force=force) if rules else None
    if reports is not None:
        statuses += [s for s in reports.statuses if s not in statuses]
    limit = DEFAULT_ACCOUNT_LIMIT
    if any(r.metric == "concurrency_account_share" for r in rules):
        limits, quota_status = evaluation.concurrency_limits(settings, hit, force=force)
        limit = limits.get((account, region), DEFAULT_ACCOUNT_LIMIT)
        statuses += quota_status
    mem_eval = evaluation.with_report_counts(mem_eval, None if reports is None else _only(reports.frame, k))
    evals = evaluate_rules(
        rules,
        function_row=row,
        metrics={p: _only(f, k) for p, f in data.frames.items()} if data is not None else {},
        memory=mem_eval,
        start=window.start,
        now=window.end,
        account_limit=limit,
        starts=None if data is None else data.starts,
    )
    # The states are the Alerts page's: the same evaluation (window, data, quota, unread marking) of this function.
    report = None
    if rules:
        scope = dataclasses.replace(selection, accounts=(account,), regions=(region,), teams=tuple(teams) if row.get("team") in teams else ())
        got = evaluation.load_alerts(settings, scope, only=k, force=force)
        report = got.report
    totals, cost, mtd, more = _totals(settings, selection, hit, met, mem, k, force=force)
    statuses += [s for s in more.statuses if s not in statuses]
    warnings += more.warnings
    return FunctionView(
        text,
        trange,
        row,
        m_one,
        mem_one,
        tuple(evals),
        tuple(statuses),
        tuple(dict.fromkeys(warnings)),
        problem,
        limit,
        None if report is None else report.states,
        totals,
        cost,
        mtd,
    )


HEADER_STATS = ("invocations", "errors", "throttles", "duration_avg_ms", "duration_p50_ms", "duration_p90_ms", "duration_p99_ms", "duration_max_ms", "concurrency_max")


def _totals(settings, selection: Selection, hit: pd.DataFrame, met: sources.Loaded, mem: sources.Loaded, k, *, force: bool):
    """The header's figures of one function: its summary over the range (whole-range statistics, memory) and its
    cost over the range (:func:`dashboard.figures.function_cost.costs_over`, the Overview's) and this month's complete
    days (:func:`dashboard.figures.cost_report.month_to_date_costs`, the Costs page's)."""
    trange = selection.trange
    stats = sources.range_stats(settings, trange, hit, columns=HEADER_STATS, force=force)
    mem_one = sources.Loaded(_only(mem.frame, k), mem.statuses, mem.warnings)
    unread_m, unread_y = unread_parts(stats), unread_parts(mem)
    summary = summarize(hit, pd.DataFrame(), mem_one.frame, stats.frame, unread_metrics=unread_m, unread_memory=unread_y)
    totals = summary.iloc[0].copy() if len(summary) else pd.Series(dtype="object")
    sf = stats.frame
    for c in ("duration_p50_ms", "duration_p90_ms"):
        totals[c] = float(sf[c].iloc[0]) if len(sf) and c in sf and not pd.isna(sf[c].iloc[0]) and k[:2] not in unread_m else float("nan")
    r = pd.to_numeric(mem_one.frame["reports"], errors="coerce") if len(mem_one.frame) else pd.Series(dtype="float64")
    totals["reports"] = float(r.sum()) if r.notna().any() and k[:2] not in unread_y else float("nan")
    cost = costs_over(settings, hit, stats, mem_one, trange, now=selection.now, detect=met.frame, unread=unread_m | unread_y, force=force)
    mtd = month_to_date_costs(settings, hit, today=selection.today, force=force)  # the Costs page's figure
    first = lambda f: float(f["est_cost_usd"].iloc[0]) if len(f) and not pd.isna(f["est_cost_usd"].iloc[0]) else float("nan")  # noqa: E731
    more = sources.Loaded(pd.DataFrame(), [*stats.statuses, *cost.statuses, *mtd.statuses], [*cost.warnings, *mtd.warnings])
    return totals, first(cost.frame), first(mtd.frame), more


# --- the list ---------------------------------------------------------------------------------------------

HEALTH_COLUMNS: tuple[str, ...] = (
    "invocations",
    "errors",
    "error_rate",
    "throttles",
    "duration_p99_ms",
    "cold_starts",
    "memory_used_pct",
    "est_cost_usd",
    "mtd_cost_usd",
)  # first, after the pinned name: how each function is doing and what it costs
LIST_COLUMNS: tuple[str, ...] = (
    "function",
    *HEALTH_COLUMNS,
    "trend",
    "team",
    "region",
    "account",
    "runtime",
    "architecture",
    "memory_mb",
    "max_memory_used_mb",
    "timeout_s",
    "duration_avg_ms",
    "duration_max_ms",
    "concurrency_max",
    "billed_gb_seconds",
    "tags",
    "link",
)


def list_frame(
    summary: pd.DataFrame,
    inventory: pd.DataFrame,
    *,
    range_text: str | None = None,
    sparklines: Mapping[tuple[str, str, str], list[float] | None] | None = None,
    costs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The list's rows (pure): the summary with ``tags`` as text, a ``trend`` sparkline, a ``link`` and the cost over the
    range and the month to date (``costs``: :data:`dashboard.figures.function_cost.COST_SCHEMA`).

    ``link`` is the relative URL of the function's page keeping the range
    (``functions?fn=account/region/name&range=24h``); runtime is "container image" where
    the function has none. Columns are :data:`LIST_COLUMNS`, in the summary's order of rows.
    """
    out = summary.copy()
    if inventory is not None and not inventory.empty and "tags" in inventory:
        tag_map = {
            (a, r, f): tags_text(t)
            for a, r, f, t in inventory[[*KEY, "tags"]].itertuples(index=False)
        }
    else:
        tag_map = {}
    keys = list(zip(out["account"], out["region"], out["function"], strict=True))
    out["tags"] = pd.array([tag_map.get(k, "") for k in keys], dtype="string")
    out["runtime"] = out["runtime"].fillna(NO_RUNTIME)
    out["link"] = pd.array([function_link(a, r, f, range_text=range_text) for a, r, f in keys], dtype="string")
    spark = sparklines or {}
    out["trend"] = pd.Series([spark.get(k) for k in keys], dtype=object, index=out.index)
    out = with_costs(out, costs)  # NaN where unknown or not loaded
    return out[list(LIST_COLUMNS)].reset_index(drop=True)


def filter_functions(
    frame: pd.DataFrame,
    *,
    query: str = "",
    runtimes: Iterable[str] = (),
    architectures: Iterable[str] = (),
    teams: Iterable[str] = (),
) -> pd.DataFrame:
    """The rows matching every filter (pure).

    ``query``: every whitespace-separated word must occur (case-insensitive, as text, not a
    pattern) in the function's name, runtime, team or tags (``key=value``). An empty filter
    keeps everything.
    """
    mask = pd.Series(True, index=frame.index)
    words = [w.casefold() for w in (query or "").split()]
    if words:
        cols = [c for c in ("function", "runtime", "team", "tags") if c in frame]
        hay = frame[cols].astype("string").fillna("").agg(" ".join, axis=1).str.casefold()
        for w in words:
            mask &= hay.str.contains(w, regex=False)
    for col, wanted in (("runtime", runtimes), ("architecture", architectures), ("team", teams)):
        values = list(wanted)
        if values and col in frame:
            mask &= frame[col].isin(values).fillna(False).astype(bool)
    return frame[mask.to_numpy(dtype=bool)]


def filter_options(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The distinct runtimes, architectures and teams of the list, sorted (for the filters)."""
    return {
        col: sorted({str(v) for v in frame[col].dropna()}) if col in frame else []
        for col in ("runtime", "architecture", "team")
    }


@dataclass
class ListView:
    """The list's rows and the statuses of the sources behind them."""

    frame: pd.DataFrame
    loaded: sources.Loaded = field(repr=False)

    @property
    def count(self) -> int:
        return len(self.frame)


def load_list(settings: Settings, selection: Selection, *, force: bool = False) -> ListView:
    """The list from the cached loaders: the usage summary, tags, the invocations trend, links."""
    q = Query(settings, selection, force=force)
    loaded = usage(q)
    start, end = q.trend_range
    spark = trend(q.metrics.frame, start=start, end=end, functions=loaded.frame, unread=q.unread("metrics"))
    costs = load_costs(q)
    rows = list_frame(loaded.frame, q.functions, range_text=selection.range_text, sparklines=spark, costs=costs.frame)
    merged = sources.Loaded(
        loaded.frame, [*loaded.statuses, *(s for s in costs.statuses if s not in loaded.statuses)], [*loaded.warnings, *costs.warnings]
    )
    return ListView(rows, merged)
