"""Every rule over every function: the states now and the transitions over the range."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from aws.frames import UTC_TS, typed_frame
from dashboard.alerts._engine import ALARM, STATES, evaluate_matrix
from dashboard.alerts._metrics import DEFAULT_ACCOUNT_LIMIT, KEY, Derived, Source, _limits, derive
from dashboard.alerts._rules import effective_rules
from dashboard.config.settings import AlertRule, AlertSettings

__all__ = ["STATES_SCHEMA", "TRANSITIONS_SCHEMA", "SEVERITY_ORDER", "AlertReport", "evaluate_all"]

STATES_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "rule": "string",
    "metric": "string",
    "severity": "string",  # critical | warning | info
    "state": "string",  # OK | ALARM | INSUFFICIENT_DATA
    "since": UTC_TS,  # end of the period whose evaluation entered the state; range start if it never changed
    "value": "float64",  # the value that decided the entry into the state (NaN: missing-data treatment decided)
    "last_value": "float64",  # the most recent real datapoint of the rule's metric
    "threshold": "float64",
    "comparison": "string",
    "note": "string",  # "" or why the evaluation differs from the rule as written
    "unread": "boolean",  # True: its data could not be read, so it was not evaluated (INSUFFICIENT_DATA, never OK)
}
TRANSITIONS_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "rule": "string",
    "severity": "string",
    "timestamp": UTC_TS,  # end of the period whose evaluation changed the state
    "from_state": "string",
    "to_state": "string",
    "value": "float64",
}
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}
_NS = 1_000_000_000


@dataclass(frozen=True)
class AlertReport:
    """States (one row per function × enabled rule) and transitions (one row per change)."""

    states: pd.DataFrame
    transitions: pd.DataFrame

    def firing(self) -> pd.DataFrame:
        """The ALARM rows: critical, then warning, then info; within one, the longest-firing first."""
        s = self.states[self.states["state"] == ALARM]
        rank = s["severity"].map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)).astype("int64")
        order = s.assign(_rank=rank).sort_values(["_rank", "since", "account", "region", "function"], kind="stable")
        return order.drop(columns="_rank").reset_index(drop=True)


def _empty() -> AlertReport:
    return AlertReport(typed_frame([], STATES_SCHEMA), typed_frame([], TRANSITIONS_SCHEMA))


def evaluate_all(
    settings: AlertSettings,
    *,
    inventory: pd.DataFrame,
    metrics: pd.DataFrame | Mapping[int, pd.DataFrame],
    memory: pd.DataFrame | None = None,
    account_limit: int | Mapping[tuple[str, str], int] = DEFAULT_ACCOUNT_LIMIT,
    now: datetime | None = None,
    start: datetime | None = None,
    starts: Mapping[int, datetime] | None = None,
) -> AlertReport:
    """Evaluate every enabled rule (after overrides) for every function of ``inventory``.

    ``metrics`` is a frame of ``aws.metrics.LAMBDA_SCHEMA``, or one per rule period (``{period_s: frame}``: each
    rule is then evaluated on the frame of its own period, from ``starts[period_s]`` when given, else
    ``start``; a period without a frame has no data), ``memory`` one of
    ``dashboard.query.sources.MEMORY_SCHEMA`` (or None); ``account_limit`` the concurrent
    executions quota, one for all or per (account, region) (default 1000).

    The range evaluated is each source's data range: from its first period (or
    ``start``) to the end of its last period, or, with ``now``, to the last period that
    ended by ``now`` — so a function that stopped reporting is evaluated on missing
    datapoints up to now, as CloudWatch would, and a period still in progress is not
    evaluated. Pure: no AWS call, inputs are not modified.
    """
    if inventory is None or inventory.empty or not settings.rules:
        return _empty()
    inv = inventory.drop_duplicates(KEY).reset_index(drop=True)
    keys = pd.MultiIndex.from_arrays([inv[k].astype(str).to_numpy(dtype=object) for k in KEY], names=KEY)
    tags = inv["tags"] if "tags" in inv.columns else pd.Series([{}] * len(inv))
    teams = inv["team"].astype("string") if "team" in inv.columns else pd.Series(pd.NA, index=inv.index, dtype="string")

    groups: dict[AlertRule, list[int]] = {}
    for i, (fn, t) in enumerate(zip(inv["function"].astype(str), tags, strict=True)):
        for rule in effective_rules(settings, function=fn, tags=t):
            groups.setdefault(rule, []).append(i)
    if not groups:
        return _empty()

    by_period: dict[int, Source] = {}

    def msrc_for(period_s: int) -> Source:
        if not isinstance(metrics, Mapping):
            period_s = 0
        if period_s not in by_period:
            frame = metrics if not isinstance(metrics, Mapping) else metrics.get(period_s)
            first = (starts or {}).get(period_s, start)
            by_period[period_s] = Source(frame, "period_s", keys, first, now, period_s or None)
        return by_period[period_s]

    memsrc = Source(memory, "bin_s", keys, start, now)
    timeout_s = pd.to_numeric(inv["timeout_s"], errors="coerce").astype("float64").to_numpy() if "timeout_s" in inv else np.full(len(inv), np.nan)
    memory_mb = pd.to_numeric(inv["memory_mb"], errors="coerce").astype("float64").to_numpy() if "memory_mb" in inv else np.full(len(inv), np.nan)
    limits = _limits(keys, account_limit)
    derived: dict[tuple, Derived] = {}
    rule_order = {r.name: i for i, r in enumerate(settings.rules)}

    state_parts: list[dict[str, np.ndarray]] = []
    trans_parts: list[dict[str, np.ndarray]] = []
    names = np.asarray(STATES, dtype=object)
    for rule, idx in groups.items():
        dkey = (rule.metric, rule.period_s, rule.statistic, rule.min_invocations)
        if dkey not in derived:
            derived[dkey] = derive(rule, metrics=msrc_for(rule.period_s), memory=memsrc, timeout_s=timeout_s, memory_mb=memory_mb, account_limit=limits)
        d = derived[dkey]
        rows = np.asarray(idx, dtype=np.int64)
        values = d.values[rows]
        codes, decided = evaluate_matrix(
            values,
            comparison=rule.comparison,
            threshold=rule.threshold,
            evaluation_periods=rule.evaluation_periods,
            datapoints_to_alarm=rule.datapoints_to_alarm,
            missing_data=rule.missing_data,
        )
        k = len(rows)
        cols = codes.shape[1]
        if cols == 0:
            state = np.zeros(k, dtype=np.int8)
            since = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
            value = np.full(k, np.nan)
            last_value = np.full(k, np.nan)
        else:
            assert d.grid is not None
            ends = d.grid.starts + d.grid.period_s * _NS
            prev = np.concatenate([np.zeros((k, 1), dtype=np.int8), codes[:, :-1]], axis=1)
            changed = codes != prev
            last_change = np.where(changed, np.arange(cols), -1).max(axis=1)
            has = last_change >= 0
            state = codes[:, -1]
            since = np.where(has, ends[np.maximum(last_change, 0)], d.grid.starts[0])
            value = np.where(has, decided[np.arange(k), np.maximum(last_change, 0)], np.nan)
            real = ~np.isnan(values)
            last_real = np.where(real, np.arange(cols), -1).max(axis=1)
            last_value = np.where(last_real >= 0, values[np.arange(k), np.maximum(last_real, 0)], np.nan)
            tr, tc = np.nonzero(changed)
            if tr.size:
                trans_parts.append(
                    {
                        "_row": rows[tr],
                        "rule": np.full(tr.size, rule.name, dtype=object),
                        "severity": np.full(tr.size, rule.severity, dtype=object),
                        "timestamp": ends[tc],
                        "from_state": names[prev[tr, tc]],
                        "to_state": names[codes[tr, tc]],
                        "value": decided[tr, tc],
                        "_order": np.full(tr.size, rule_order[rule.name]),
                    }
                )
        state_parts.append(
            {
                "_row": rows,
                "rule": np.full(k, rule.name, dtype=object),
                "metric": np.full(k, rule.metric, dtype=object),
                "severity": np.full(k, rule.severity, dtype=object),
                "state": names[state],
                "since": since,
                "value": value,
                "last_value": last_value,
                "threshold": np.full(k, float(rule.threshold)),
                "comparison": np.full(k, rule.comparison, dtype=object),
                "note": np.full(k, "; ".join(d.notes), dtype=object),
                "unread": np.zeros(k, dtype=bool),
                "_order": np.full(k, rule_order[rule.name]),
            }
        )

    states = _assemble(state_parts, inv, teams, with_team=True)
    states = states.sort_values(["account", "region", "function", "_order"], kind="stable")
    # reset_index: typed_frame realigns on the index, which would undo the sort
    states = typed_frame(states.drop(columns="_order").reset_index(drop=True), STATES_SCHEMA)
    if trans_parts:
        trans = _assemble(trans_parts, inv, teams, with_team=False)
        trans = trans.sort_values(["timestamp", "account", "region", "function", "_order"], kind="stable")
        transitions = typed_frame(trans.drop(columns="_order").reset_index(drop=True), TRANSITIONS_SCHEMA)
    else:
        transitions = typed_frame([], TRANSITIONS_SCHEMA)
    return AlertReport(states, transitions)


def _assemble(parts: list[dict[str, np.ndarray]], inv: pd.DataFrame, teams: pd.Series, *, with_team: bool) -> pd.DataFrame:
    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    row = cols.pop("_row")
    out = {k: inv[k].astype(str).to_numpy(dtype=object)[row] for k in KEY}
    if with_team:
        out["team"] = teams.to_numpy(dtype=object)[row]
    for c in ("since", "timestamp"):
        if c in cols:
            cols[c] = pd.to_datetime(cols[c].astype(np.int64), utc=True)
    out.update(cols)
    return pd.DataFrame(out)
