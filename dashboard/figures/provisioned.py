"""Provisioned concurrency over a range, from what AWS records (:mod:`aws.provisioned`), per function and day.

:func:`daily` builds each function's level on a 5-minute grid over [start, min(end, now)):

- **recorded**: from the first change on record (an Application Auto Scaling activity, or the config's
  ``LastModified`` when the level was last set), each alias/version holds the level it was set to until the
  next change; the config now gives the last one. A level lasts to the end of the 5-minute step in which it
  is lowered or removed, so each stretch is billed rounded up to five minutes, as AWS does;
- before the first record: **metrics** in an hour where CloudWatch shows PC serving invocations (level =
  ProvisionedConcurrentExecutions ÷ ProvisionedConcurrencyUtilization, hourly maxima); an hour without is
  taken as without PC (PC that served nothing there is not seen: the figure may be low by it);
- with the metrics not read (permission denied, endpoint down), the level first on record is **assumed**
  constant before it, and a sentence names the stretch.

One row per function and day with PC enabled some of the day: ``environment_s`` (Σ environments × seconds),
the day's invocations on PC and spilled over (CloudWatch; NaN when unread), ``basis`` (recorded | metrics |
assumed: the weakest evidence used that day) and ``note`` (one sentence naming the assumed stretch).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.figures.pricing import PC_STEP_S

__all__ = ["PC_DAILY_SCHEMA", "PC_NONE", "BASIS_RECORDED", "BASIS_METRICS", "BASIS_ASSUMED", "BASIS_RANK", "daily"]

BASIS_RECORDED = "recorded"
BASIS_METRICS = "metrics"
BASIS_ASSUMED = "assumed"
PC_NONE = "none"  # no provisioned concurrency (the estimate's pc_basis)
# the weaker the evidence, the higher: a month's basis is its weakest day's
BASIS_RANK = {PC_NONE: 0, BASIS_RECORDED: 1, BASIS_METRICS: 2, BASIS_ASSUMED: 3}
_NAMES = {v: k for k, v in BASIS_RANK.items() if k != PC_NONE}  # a day with PC and no rank is recorded (daily)
_KEYS = ["account", "region", "function"]

PC_DAILY_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "date": "datetime64[ns]",
    "environment_s": "float64",  # Σ environments × seconds enabled (5-minute steps)
    "level_max": "Int64",  # the day's highest level
    "pc_invocations": "float64",  # CloudWatch ProvisionedConcurrencyInvocations; NaN: not read
    "pc_spillover": "float64",  # ProvisionedConcurrencySpilloverInvocations (billed on demand)
    "basis": "string",  # recorded | metrics | assumed
    "note": "string",  # "" or one sentence: what was assumed
}


def _ts(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _fn_grid(
    key: tuple,
    cfg: pd.DataFrame,
    act: pd.DataFrame,
    met: pd.DataFrame | None,
    t0: pd.Timestamp,
    n: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(level per slot, basis rank per slot (0 none), note) of one function."""
    level = np.zeros(n)
    rank = np.zeros(n, dtype=np.int64)
    first_known = np.full(n, False)
    assumed_level = 0.0
    quals = sorted(set(cfg["qualifier"].dropna().astype(str)) | set(act["qualifier"].dropna().astype(str)))
    known_from = n
    for q in quals:
        c = cfg[cfg["qualifier"] == q]
        a = act[(act["qualifier"] == q) & act["level"].notna() & (act["status"].fillna("Successful") == "Successful")]
        pts = [(_ts(t), float(v)) for t, v in zip(a["time"], a["level"], strict=True)]
        now_level = 0.0
        if len(c):
            r = c.iloc[0]
            now_level = float(r["allocated"] if pd.notna(r["allocated"]) else (r["requested"] if pd.notna(r["requested"]) else 0))
            if pd.notna(r["last_modified"]) and not any(abs((p - _ts(r["last_modified"])).total_seconds()) < 600 for p, _ in pts):
                pts.append((_ts(r["last_modified"]), now_level))
        pts.sort()
        if not pts:
            continue
        # slot of each change (can be < 0: before the range, or ≥ n)
        offs = np.array([(p - t0).total_seconds() for p, _ in pts])
        idx = (offs // PC_STEP_S).astype(np.int64)
        inside = offs % PC_STEP_S > 0  # a change within a step, not on its boundary
        vals = np.array([v for _, v in pts])
        slots = np.arange(n)
        pos = np.searchsorted(idx, slots, side="right") - 1  # last change at or before each slot
        q_level = np.where(pos >= 0, vals[np.clip(pos, 0, None)], np.nan)
        # a level lowered within a slot holds to the slot's end (rounded up)
        for j, (i, v, mid) in enumerate(zip(idx, vals, inside, strict=True)):
            if mid and 0 <= i < n:  # every level in effect some of the step bills the whole step
                before = vals[j - 1] if j > 0 else 0.0
                q_level[i] = np.nanmax([q_level[i], v, before])
        start_known = max(0, int(idx[0]))
        known_from = min(known_from, start_known)
        level += np.nan_to_num(q_level)
        assumed_level += vals[0] if idx[0] >= 0 else 0.0
        first_known[start_known:] = True
    rank[first_known & (level > 0)] = BASIS_RANK[BASIS_RECORDED]
    gap = ~first_known
    note = ""
    if gap.any():
        hour_level = np.full(n, np.nan)
        if met is not None and len(met):
            ex = pd.to_numeric(met["pc_executions_max"], errors="coerce").to_numpy(dtype="float64")
            ut = pd.to_numeric(met["pc_utilization_max"], errors="coerce").to_numpy(dtype="float64")
            lv = np.where((ut > 0) & (ex > 0), np.round(ex / np.where(ut > 0, ut, 1.0)), np.nan)
            for t, p, v in zip(met["timestamp"], met["period_s"], lv, strict=True):
                if np.isnan(v):
                    continue
                a = int((_ts(t) - t0).total_seconds() // PC_STEP_S)
                b = a + max(1, int(p) // PC_STEP_S)
                hour_level[max(a, 0) : max(min(b, n), 0)] = v
        from_metrics = gap & ~np.isnan(hour_level)
        level[from_metrics] = hour_level[from_metrics]
        rank[from_metrics & (level > 0)] = BASIS_RANK[BASIS_METRICS]
        rest = gap & np.isnan(hour_level)
        if met is not None:
            assumed_level = 0.0  # the metrics were read: PC that served nothing there is not assumed
        if assumed_level > 0 and rest.any():
            level[rest] = assumed_level
            rank[rest] = BASIS_RANK[BASIS_ASSUMED]
            first = t0 + pd.Timedelta(seconds=int(np.flatnonzero(rest)[0]) * PC_STEP_S)
            last = t0 + pd.Timedelta(seconds=(int(np.flatnonzero(rest)[-1]) + 1) * PC_STEP_S)
            note = (
                f"{key[0]}/{key[1]}/{key[2]}: provisioned concurrency {assumed_level:g} assumed constant from "
                f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC (nothing records it there)"
            )
    return level, rank, note


def daily(
    *,
    configs: pd.DataFrame,
    activities: pd.DataFrame | None,
    metrics: pd.DataFrame | None,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Per function and UTC day of [start, end): the provisioned concurrency enabled (see the module docstring).

    ``configs`` / ``activities`` / ``metrics`` are :mod:`aws.provisioned`'s frames; None for one that could not
    be read (its evidence is then missing, and what it would have told is assumed). ``attrs["notes"]`` lists the
    sentences of every assumed stretch.
    """
    t0 = _ts(start).floor("D")
    stop = min(_ts(end), _ts(now)) if now is not None else _ts(end)
    n = max(0, int((stop - t0).total_seconds() // PC_STEP_S))
    act = activities if activities is not None else pd.DataFrame(columns=["account", "region", "function", "qualifier", "time", "level", "status"])
    met = metrics if metrics is not None else None
    keys = set()
    for f in (configs, act, met):
        if f is not None and len(f):
            keys |= set(map(tuple, f[_KEYS].astype(object).itertuples(index=False, name=None)))
    if met is not None and len(met):  # a function only in the metrics: PC seen serving invocations
        keys = {k for k in keys if k in set(map(tuple, configs[_KEYS].astype(object).itertuples(index=False, name=None))) or k in set(map(tuple, act[_KEYS].astype(object).itertuples(index=False, name=None))) or _served(met, k)}
    rows, notes = [], []
    slot_day = (t0 + pd.to_timedelta(np.arange(n) * PC_STEP_S, unit="s")).floor("D").tz_localize(None) if n else pd.DatetimeIndex([])
    first_slot = max(0, int((_ts(start) - t0).total_seconds() // PC_STEP_S))  # a range starting within a day
    for key in sorted(keys):
        sel = lambda f, key=key: f[(f["account"] == key[0]) & (f["region"] == key[1]) & (f["function"] == key[2])] if f is not None and len(f) else f  # noqa: E731
        level, rank, note = _fn_grid(key, sel(configs), sel(act), sel(met), t0, n)
        level[:first_slot] = 0.0
        rank[:first_slot] = 0
        if note:
            notes.append(note)
        if not (level > 0).any():
            continue
        frame = pd.DataFrame({"date": slot_day, "env": level * PC_STEP_S, "lv": level, "rank": rank})
        by_day = frame.groupby("date").agg(environment_s=("env", "sum"), level_max=("lv", "max"), rank=("rank", "max"))
        by_day = by_day[by_day["environment_s"] > 0]
        inv = spill = None
        if met is not None:
            m = sel(met)
            if m is not None and len(m):
                day = pd.to_datetime(m["timestamp"], utc=True).dt.floor("D").dt.tz_localize(None)
                inv = pd.to_numeric(m["pc_invocations"], errors="coerce").groupby(day).sum()
                spill = pd.to_numeric(m["pc_spillover"], errors="coerce").groupby(day).sum()
        for d, r in by_day.iterrows():
            rows.append(
                {
                    "account": key[0],
                    "region": key[1],
                    "function": key[2],
                    "date": d,
                    "environment_s": r["environment_s"],
                    "level_max": int(round(r["level_max"])),
                    "pc_invocations": (float(inv.get(d, 0.0)) if inv is not None else (0.0 if met is not None else np.nan)),
                    "pc_spillover": (float(spill.get(d, 0.0)) if spill is not None else (0.0 if met is not None else np.nan)),
                    "basis": _NAMES.get(int(r["rank"]), BASIS_RECORDED),
                    "note": note if int(r["rank"]) == BASIS_RANK[BASIS_ASSUMED] else "",
                }
            )
    out = typed_frame(rows, PC_DAILY_SCHEMA)
    out.attrs["notes"] = notes
    return out


def _served(met: pd.DataFrame, key: tuple) -> bool:
    m = met[(met["account"] == key[0]) & (met["region"] == key[1]) & (met["function"] == key[2])]
    return bool((pd.to_numeric(m["pc_utilization_max"], errors="coerce") > 0).any())
