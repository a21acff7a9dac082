"""What changed against the previous period, and what to do: the digest's "Top movers" and "What to do", and the
alerts that started or cleared within a range — one computation the digest and the Overview both read.

- :func:`top_movers` — the largest changes per function of :data:`MOVER_METRICS` against the previous period.
- :func:`advise` — one line of advice per function where the numbers say what to do.
- :func:`alert_changes` — the alerts that entered or left ALARM within a range (the alert engine's transitions, or
  the server's alert history where an evaluation keeps states only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from aws.frames import UTC_TS, typed_frame
from dashboard.alerts import ALARM, SEVERITY_ORDER
from dashboard.alerts.history import HistoryView
from dashboard.figures.rightsizing import recommend_memory
from dashboard.present import registry
from dashboard.present.registry import Unit

__all__ = [
    "MOVER_METRICS",
    "MOVERS_SCHEMA",
    "ADVICE_SCHEMA",
    "CHANGES_SCHEMA",
    "STARTED",
    "CLEARED",
    "top_movers",
    "advise",
    "alert_changes",
]

KEY = ["account", "region", "function"]

MOVER_METRICS: dict[str, str] = {  # column → its registry label
    k: registry.label(k) for k in ("invocations", "errors", "duration_p99_ms", "est_cost_usd")
}
MOVERS_SCHEMA: dict[str, str] = {
    "metric": "string",  # a key of MOVER_METRICS
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "previous": "float64",
    "current": "float64",
    "change": "float64",
    "change_pct": "float64",  # NaN when the previous value is 0
}
ADVICE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "team": "string",
    "kind": "string",  # timeout | memory_high | throttles | errors | iterator_age | not_running | cold_starts | memory_low | idle
    "priority": "int64",  # 0 = most urgent
    "text": "string",  # one line: what to do and the figure that says so
}


# Noise floors: a change smaller than both its floor and 20 % of the previous value is not a mover.
_MOVER_FLOOR = {"invocations": 100.0, "errors": 5.0, "duration_p99_ms": 50.0, "est_cost_usd": 0.01}
_MOVER_SHARE = 0.2


def top_movers(functions: pd.DataFrame, *, n: int) -> pd.DataFrame:
    """The ``n`` largest changes per metric of :data:`MOVER_METRICS` against the previous period (:data:`MOVERS_SCHEMA`).

    ``functions`` has KEY, ``team`` and, per metric, the current column and ``<column>_prev``.
    Counts and cost missing on one side count as 0; a p99 needs both sides. A change must
    pass its noise floor (100 invocations, 5 errors, 50 ms, $0.01) and 20 % of the previous value.
    """
    rows = []
    if n <= 0 or functions.empty:
        return typed_frame([], MOVERS_SCHEMA)
    for col in MOVER_METRICS:
        cur = pd.to_numeric(functions[col], errors="coerce").astype("float64")
        prev = pd.to_numeric(functions[f"{col}_prev"], errors="coerce").astype("float64")
        if col != "duration_p99_ms":
            cur, prev = cur.fillna(0.0), prev.fillna(0.0)
        change = cur - prev
        floor = np.maximum(_MOVER_FLOOR[col], _MOVER_SHARE * prev.abs())
        ok = change.notna() & (change.abs() >= floor)
        part = functions.loc[ok, [*KEY, "team"]].assign(previous=prev[ok], current=cur[ok], change=change[ok], metric=col)
        part = part.assign(_abs=part["change"].abs()).sort_values(["_abs", "function"], ascending=[False, True], kind="stable").head(n)
        rows.append(part.drop(columns="_abs"))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if out.empty:
        return typed_frame([], MOVERS_SCHEMA)
    prev = out["previous"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = np.where(prev != 0, 100.0 * out["change"].to_numpy(dtype="float64") / np.abs(prev), np.nan)
    return typed_frame(out.reset_index(drop=True), MOVERS_SCHEMA)


_ms = Unit.MILLISECONDS.format  # a duration in advice, as every surface writes it


def _mb_step(mb: float) -> int:
    """Round up to a multiple of 64 MB within Lambda's 128 MB - 10,240 MB."""
    return int(min(10240, max(128, math.ceil(mb / 64.0) * 64)))


def advise(functions: pd.DataFrame, firing: pd.DataFrame, *, range_text: str) -> pd.DataFrame:
    """One line of advice per function where the numbers say what to do (:data:`ADVICE_SCHEMA`), most urgent first.

    ``functions`` has the :data:`FUNCTIONS_SCHEMA` columns plus ``reserved_concurrency``
    and ``log_group``; ``firing`` is the ALARM rows of the alert states (for the rules on
    metrics the summary lacks: iterator age, no invocations). In order of urgency: p99
    duration ≥ 90 % of the timeout; memory peak ≥ 90 %; throttles; error rate ≥ 5 % with ≥
    10 errors; an iterator-age alarm or a no-invocations alarm; cold starts on ≥ 20 % of
    invocations; memory peak ≤ 25 % of ≥ 512 MB; no invocations in this period nor the one
    before (and no rule saying it should run).
    """
    iter_alarm: dict[tuple[str, str, str], float] = {}
    silent: set[tuple[str, str, str]] = set()
    if not firing.empty:
        it = firing[firing["metric"] == "iterator_age_ms"]
        iter_alarm = {(a, r, f): float(v) for a, r, f, v in it[[*KEY, "last_value"]].itertuples(index=False)}
        silent = {(a, r, f) for a, r, f in firing.loc[firing["metric"] == "no_invocations", KEY].itertuples(index=False)}
    rows = []
    for rec in functions.to_dict(orient="records"):
        k = (rec["account"], rec["region"], rec["function"])
        found = _advice_for(rec, iter_alarm.get(k), k in iter_alarm, range_text, expected_to_run=k in silent)
        if found:
            kind, prio, text = found
            rows.append({"account": k[0], "region": k[1], "function": k[2], "team": rec.get("team"), "kind": kind, "priority": prio, "text": text})
    out = typed_frame(rows, ADVICE_SCHEMA)
    return out.sort_values(["priority", "function"], kind="stable", ignore_index=True)


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _advice_for(rec: Mapping, iter_age: float | None, iter_alarm: bool, range_text: str, *, expected_to_run: bool = False) -> tuple[str, int, str] | None:
    inv = _num(rec.get("invocations"))  # NaN: could not be read; no advice rests on it
    p99 = _num(rec.get("duration_p99_ms"))
    timeout_ms = _num(rec.get("timeout_s")) * 1000.0
    mem_pct = _num(rec.get("memory_used_pct"))
    mem_mb = _num(rec.get("memory_mb"))
    used = _num(rec.get("max_memory_used_mb"))
    throttles = _num(rec.get("throttles"))
    errors = _num(rec.get("errors"))
    err_rate = _num(rec.get("error_rate_pct"))
    cold = _num(rec.get("cold_starts"))
    reserved = rec.get("reserved_concurrency")
    if timeout_ms > 0 and p99 >= 0.9 * timeout_ms:
        return (
            "timeout",
            0,
            f"raise the timeout or make it faster: p99 duration {_ms(p99)} is {100 * p99 / timeout_ms:.0f} % of its {_ms(timeout_ms)} timeout",
        )
    if mem_pct >= 90:
        return "memory_high", 1, f"raise memory to {_mb_step(mem_mb * 1.5)} MB: it peaks at {mem_pct:.0f} % of its {mem_mb:.0f} MB"
    if throttles > 0:
        if reserved is not None and reserved is not pd.NA and not (isinstance(reserved, float) and math.isnan(reserved)):
            return "throttles", 2, f"raise its reserved concurrency ({int(reserved)}): {throttles:,.0f} requests were throttled"
        return "throttles", 2, f"reserve concurrency for it or ask AWS for a higher account limit: {throttles:,.0f} requests were throttled"
    if err_rate >= 5 and errors >= 10:
        where = rec.get("log_group") or f"/aws/lambda/{rec['function']}"
        return "errors", 3, f"read the errors in {where}: {err_rate:.1f} % of invocations failed ({errors:,.0f} errors)"
    if iter_alarm:
        age = f" (iterator age {_ms(iter_age)})" if iter_age is not None and not math.isnan(iter_age) else ""
        return "iterator_age", 4, f"raise its batch size or parallelization factor: it falls behind its stream{age}"
    if expected_to_run:
        return "not_running", 4, "check its trigger or schedule: a rule expects it to run, and it is not being invoked"
    if inv >= 100 and cold >= 0.2 * inv:
        return "cold_starts", 5, f"consider provisioned concurrency or SnapStart: {100 * cold / inv:.0f} % of invocations were cold starts"
    if mem_mb >= 512 and not math.isnan(used) and mem_pct <= 25:
        return "memory_low", 6, f"lower memory to {recommend_memory(used)} MB: it peaks at {mem_pct:.0f} % of its {mem_mb:.0f} MB"
    prev = _num(rec.get("invocations_prev"))
    if inv == 0 and prev == 0:  # both measured: an unknown period is not an idle one
        return "idle", 7, f"no invocations in the last {range_text} nor the {range_text} before: remove it if it is no longer used"
    return None




STARTED, CLEARED = "started", "cleared"
CHANGES_SCHEMA: dict[str, str] = {
    "change": "string",  # started: entered ALARM within the range | cleared: left ALARM within the range and is not firing now
    "severity": "string",
    "account": "string",
    "region": "string",
    "function": "string",
    "rule": "string",
    "timestamp": UTC_TS,  # when it entered (started) or left (cleared) ALARM; not exact: cleared by then (first seen clear)
    "exact": "boolean",  # the timestamp is a transition's; False: a sighting (started: at least since; cleared: by then)
    "last_firing": UTC_TS,  # cleared: the last time it was seen in ALARM (= timestamp when exact); NaT for started
    "firing_now": "boolean",
}


def _utc(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def alert_changes(states: pd.DataFrame, transitions: pd.DataFrame, *, start, end, history: HistoryView | None = None) -> pd.DataFrame:
    """The alerts that started or cleared within [start, end] (:data:`CHANGES_SCHEMA`), from the alert engine's
    states and transitions (pure): per function × rule, the last entry into ALARM within the range (``started``,
    whether or not it still fires) and, for one not firing now, the last exit from ALARM (``cleared``).

    Without transitions (a fleet evaluation keeps states only) an alarm whose ``since`` is within the range
    counts as started, and the server's alert ``history`` (:mod:`dashboard.alerts.history`) says the rest: a
    stretch of ALARM it holds that started within the range started there, and one last seen firing within the
    range cleared when the alert's state now is known and not ALARM (an unread state is not a cleared one) — at
    the transition's time when one was recorded, else by the first time it was seen clear. Without a history
    nothing can be said cleared. Critical first, then the newest."""
    t0, t1 = _utc(start), _utc(end)
    firing: set[tuple] = set()
    clear_now: set[tuple] = set()
    if states is not None and not states.empty:
        keys = states[[*KEY, "rule"]].astype(str).itertuples(index=False, name=None)
        unread = states["unread"].fillna(False).astype(bool) if "unread" in states.columns else pd.Series(False, index=states.index)
        for k, state, no_data in zip(keys, states["state"], unread, strict=True):
            if state == ALARM:
                firing.add(k)
            elif not no_data:
                clear_now.add(k)
    rows: dict[tuple, dict] = {}
    if transitions is not None and not transitions.empty:
        tr = transitions[(transitions["timestamp"] >= t0) & (transitions["timestamp"] <= t1)]
        cols = [*KEY, "rule", "severity", "timestamp", "from_state", "to_state"]
        for a, r, f, rule, sev, ts, frm, to in tr[cols].itertuples(index=False):
            k = (str(a), str(r), str(f), str(rule))
            now = k in firing
            if to == ALARM:
                rows[(*k, STARTED)] = {"change": STARTED, "severity": sev, "timestamp": ts, "exact": True, "firing_now": now}
            elif frm == ALARM and not now:
                rows[(*k, CLEARED)] = {"change": CLEARED, "severity": sev, "timestamp": ts, "exact": True, "last_firing": ts, "firing_now": now}
    else:
        if history is not None and not history.episodes.empty:
            rows |= _from_history(history.episodes, firing, clear_now, t0, t1)
        if states is not None and not states.empty:
            # states only: an alarm whose ``since`` falls in the range started there
            s = states[(states["state"] == ALARM) & (states["since"] > t0) & (states["since"] <= t1)]
            for a, r, f, rule, sev, since in s[[*KEY, "rule", "severity", "since"]].itertuples(index=False):
                k = (str(a), str(r), str(f), str(rule))
                rows[(*k, STARTED)] = {"change": STARTED, "severity": sev, "timestamp": since, "exact": False, "firing_now": True}
    out = typed_frame([dict(zip([*KEY, "rule"], k[:4], strict=True)) | v for k, v in rows.items()], CHANGES_SCHEMA)
    if out.empty:
        return out
    out = out.assign(_s=out["severity"].map(SEVERITY_ORDER).fillna(len(SEVERITY_ORDER)).astype("int64"))
    out = out.sort_values(["_s", "timestamp", "function", "rule"], ascending=[True, False, True, True], kind="stable")
    return typed_frame(out.drop(columns="_s").reset_index(drop=True), CHANGES_SCHEMA)


def _from_history(episodes: pd.DataFrame, firing: set[tuple], clear_now: set[tuple], t0: pd.Timestamp, t1: pd.Timestamp) -> dict[tuple, dict]:
    """Started and cleared rows from the history's stretches of ALARM (the newest of each alert that counts)."""
    rows: dict[tuple, dict] = {}
    ep = episodes.sort_values("last_firing", kind="stable")
    cols = [*KEY, "rule", "severity", "since", "since_exact", "last_firing", "cleared", "cleared_exact"]
    for a, r, f, rule, sev, since, since_exact, last, cleared, cleared_exact in ep[cols].itertuples(index=False):
        k = (str(a), str(r), str(f), str(rule))
        if t0 < since <= t1:
            rows[(*k, STARTED)] = {"change": STARTED, "severity": sev, "timestamp": since, "exact": bool(since_exact), "firing_now": k in firing}
        if k not in clear_now or not (t0 <= last <= t1):
            continue  # firing now, or its state now unknown (unread or no longer evaluated), or not seen firing in the range
        if pd.isna(cleared):  # seen clear now, the history not told yet (it records before it is read: not expected)
            cleared, cleared_exact = t1, False
        if cleared > t1:
            continue  # it cleared after the range
        rows[(*k, CLEARED)] = {
            "change": CLEARED, "severity": sev, "timestamp": cleared, "exact": bool(cleared_exact), "last_firing": last, "firing_now": False,
        }  # fmt: skip
    return rows
