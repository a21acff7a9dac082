"""Right-sizing: recommended memory, an arm64 what-if, idle provisioned concurrency, unused functions.

:func:`rightsize` gives one row per function (:data:`RIGHTSIZE_SCHEMA`) from the frames the
loaders already return; :func:`recommendations` turns it into one row per piece of advice
for a list, largest monthly amount first. Figures per month are the range's × 30 / days.

- Memory: the ``percentile`` of the per-bin maximum memory used over the range, plus
  ``headroom``, rounded up to 64 MB (128 MB .. 10,240 MB). The saving (or extra cost) is the
  on-demand duration cost × (1 − recommended / current), duration assumed unchanged; it is
  flagged ``duration_may_change`` where the recommendation drops the function below a full
  vCPU (1,769 MB) or raises it (memory pressure: more memory often means shorter runs).
- Compute Optimizer answers only for functions of at most 1,792 MB with at least 50
  invocations; we answer for all, and ``data_note`` says how much data the answer rests on.
- arm64 what-if (x86_64 functions): the month's on-demand GB-s × (x86 − arm64 first-tier
  rate) — an estimate to validate (the code must run on arm64, and duration may differ).
- Provisioned concurrency: the enabled cost × (1 − mean utilisation) is idle, i.e. waste.
- Unused: no invocations over the range (pass 30 days for "no invocations in 30 days").
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.figures.pricing import PriceBook

__all__ = [
    "RIGHTSIZE_SCHEMA",
    "ADVICE_SCHEMA",
    "FULL_VCPU_MB",
    "CO_MAX_MB",
    "CO_MIN_INVOCATIONS",
    "recommend_memory",
    "rightsize",
    "recommendations",
]

FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB; CPU scales with memory below
CO_MAX_MB = 1792  # Compute Optimizer's memory ceiling for Lambda recommendations
CO_MIN_INVOCATIONS = 50  # ... and its minimum invocations over the lookback
MIN_MB, MAX_MB, STEP_MB = 128, 10240, 64
_KEYS = ["account", "region", "function"]

RIGHTSIZE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "architecture": "string",
    "memory_mb": "float64",
    "invocations": "float64",  # over the range
    "memory_bins": "int64",  # bins with a memory-used figure
    "days": "float64",  # the range's length
    "used_mb_pct": "float64",  # the percentile of max memory used
    "recommended_mb": "Int64",  # <NA>: no memory data
    "monthly_compute_usd": "float64",  # on-demand duration, now
    "monthly_saving_usd": "float64",  # > 0 saves, < 0 costs more
    "duration_may_change": "boolean",
    "beyond_compute_optimizer": "boolean",
    "data_note": "string",
    "arm64_saving_usd": "float64",  # per month; NaN for arm64 or provisioned functions
    "provisioned_concurrency": "Int64",
    "pc_utilization": "float64",  # mean of the periods' maximum utilisation (0..1)
    "pc_idle_usd": "float64",  # per month
    "unused": "boolean",  # no invocations over the range
}

ADVICE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "kind": "string",  # memory | arm64 | provisioned_concurrency | unused
    "advice": "string",
    "monthly_usd": "float64",  # saving per month (negative: costs more)
    "note": "string",
}


def recommend_memory(used_mb: float, *, headroom: float = 0.2) -> int:
    """``used_mb`` × (1 + headroom), rounded up to 64 MB, within 128 .. 10,240 MB."""
    want = math.ceil(used_mb * (1 + headroom) / STEP_MB) * STEP_MB
    return int(min(MAX_MB, max(MIN_MB, want)))


def _num(frame: pd.DataFrame, col: str) -> pd.Series:
    if col not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[col], errors="coerce").astype("float64")


def _obj(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{k: frame[k].astype("object") for k in _KEYS})


def rightsize(
    *,
    inventory: pd.DataFrame,
    metrics: pd.DataFrame,
    memory: pd.DataFrame,
    estimate: pd.DataFrame,
    prices: PriceBook,
    days: float,
    percentile: float = 99.0,
    headroom: float = 0.2,
    unread: Collection[tuple[str, str]] = (),
    utilization: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per inventory function over a range of ``days`` (see the module docstring).

    A function of an ``unread`` (account, region) part, whose metrics or memory could not be read, gets no
    figure and no advice: its row says so in ``data_note`` (unknown is not "unused").
    ``utilization``: the provisioned-concurrency utilisation read at its own period (``pc_utilization_max`` per
    function and period); without it, ``metrics``' own column (then at ``metrics``' period).
    """
    gone = set(unread)
    if inventory.empty:
        return typed_frame([], RIGHTSIZE_SCHEMA)
    factor = 30.0 / days if days > 0 else float("nan")
    inv = _obj(inventory).drop_duplicates(_KEYS)
    base = inv[_KEYS].copy()
    base["architecture"] = inv["architecture"].astype("object").fillna("x86_64").to_numpy()
    base["memory_mb"] = _num(inv, "memory_mb").to_numpy()
    pc = _num(inv, "provisioned_concurrency")
    base["provisioned_concurrency"] = pc.where(pc > 0).to_numpy()

    if not metrics.empty:
        m = _obj(metrics)
        m = m.assign(inv_=_num(m, "invocations").fillna(0.0), pcu=_num(m, "pc_utilization_max").fillna(0.0))
        magg = m.groupby(_KEYS, as_index=False).agg(invocations=("inv_", "sum"), pc_utilization=("pcu", "mean"))
    else:
        magg = pd.DataFrame(columns=[*_KEYS, "invocations", "pc_utilization"])
    if utilization is not None:
        u = _obj(utilization).assign(pcu=_num(utilization, "pc_utilization_max").fillna(0.0))
        uagg = u.groupby(_KEYS, as_index=False).agg(pc_utilization=("pcu", "mean")) if len(u) else pd.DataFrame(columns=[*_KEYS, "pc_utilization"])
        magg = magg.drop(columns=["pc_utilization"]).merge(uagg, on=_KEYS, how="left")
    if not memory.empty:
        mm = _obj(memory).assign(used=_num(memory, "used_mb_max"))
        mm = mm[mm["used"].notna()]
        q = percentile / 100.0
        memagg = mm.groupby(_KEYS, as_index=False).agg(
            memory_bins=("used", "count"), used_mb_pct=("used", lambda s: float(np.quantile(s.to_numpy(), q)))
        )
    else:
        memagg = pd.DataFrame(columns=[*_KEYS, "memory_bins", "used_mb_pct"])
    if not estimate.empty:
        e = _obj(estimate)
        eagg = e.groupby(_KEYS, as_index=False).agg(
            compute_usd=("compute_usd", "sum"),
            billed_gb_s=("billed_gb_s", "sum"),
            enabled_gb_s=("provisioned_enabled_gb_s", "sum"),
        )
    else:
        eagg = pd.DataFrame(columns=[*_KEYS, "compute_usd", "billed_gb_s", "enabled_gb_s"])
    f = base.merge(magg, on=_KEYS, how="left").merge(memagg, on=_KEYS, how="left").merge(eagg, on=_KEYS, how="left")
    for c in ("invocations", "compute_usd", "billed_gb_s", "enabled_gb_s", "memory_bins"):
        f[c] = pd.to_numeric(f[c]).astype("float64").fillna(0.0)
    f["used_mb_pct"] = pd.to_numeric(f["used_mb_pct"]).astype("float64")
    f["pc_utilization"] = pd.to_numeric(f["pc_utilization"]).astype("float64")

    rows = []
    for r in f.itertuples(index=False):
        if (r.account, r.region) in gone:
            rows.append(
                {
                    "account": r.account, "region": r.region, "function": r.function, "architecture": r.architecture,
                    "memory_mb": r.memory_mb, "days": days, "memory_bins": 0, "unused": False, "duration_may_change": False,
                    "beyond_compute_optimizer": False, "data_note": f"its usage could not be read for {r.account}/{r.region}",
                }
            )  # fmt: skip
            continue
        p = prices.prices(r.region)
        has_pc = not pd.isna(r.provisioned_concurrency)
        rec = None if pd.isna(r.used_mb_pct) else recommend_memory(r.used_mb_pct, headroom=headroom)
        monthly_compute = r.compute_usd * factor
        saving = np.nan if rec is None or not r.memory_mb else monthly_compute * (1 - rec / r.memory_mb)
        may_change = rec is not None and (rec > r.memory_mb or rec < min(r.memory_mb, FULL_VCPU_MB))
        beyond = bool(r.memory_mb > CO_MAX_MB or r.invocations < CO_MIN_INVOCATIONS)
        note = f"{r.invocations:,.0f} invocations and {int(r.memory_bins)} bin(s) of memory data over {days:.0f} day(s)"
        if beyond:
            why = [
                w
                for w, c in (
                    (f"over {CO_MAX_MB:,} MB", r.memory_mb > CO_MAX_MB),
                    (f"fewer than {CO_MIN_INVOCATIONS} invocations", r.invocations < CO_MIN_INVOCATIONS),
                )
                if c
            ]
            note += f"; Compute Optimizer would not answer ({', '.join(why)})"
        arm = np.nan
        if r.architecture == "x86_64" and not has_pc:
            od_gb_s = r.billed_gb_s * factor
            arm = od_gb_s * (p.gb_second_rate("x86_64") - p.gb_second_rate("arm64"))
        idle = np.nan
        if has_pc:
            enabled_rate = p.provisioned_rates(r.architecture)[0]
            util = 0.0 if pd.isna(r.pc_utilization) else min(max(r.pc_utilization, 0.0), 1.0)
            idle = r.enabled_gb_s * enabled_rate * factor * (1 - util)
        rows.append(
            {
                "account": r.account,
                "region": r.region,
                "function": r.function,
                "architecture": r.architecture,
                "memory_mb": r.memory_mb,
                "invocations": r.invocations,
                "memory_bins": int(r.memory_bins),
                "days": days,
                "used_mb_pct": r.used_mb_pct,
                "recommended_mb": rec,
                "monthly_compute_usd": monthly_compute,
                "monthly_saving_usd": saving,
                "duration_may_change": may_change,
                "beyond_compute_optimizer": beyond,
                "data_note": note,
                "arm64_saving_usd": arm,
                "provisioned_concurrency": None if not has_pc else int(r.provisioned_concurrency),
                "pc_utilization": r.pc_utilization if has_pc else np.nan,
                "pc_idle_usd": idle,
                "unused": r.invocations == 0,
            }
        )
    out = typed_frame(rows, RIGHTSIZE_SCHEMA)
    return out.sort_values(_KEYS, ignore_index=True)


def recommendations(frame: pd.DataFrame, *, min_monthly_usd: float = 0.0) -> pd.DataFrame:
    """One row per piece of advice (memory change, arm64, idle provisioned concurrency, unused), largest first."""
    rows = []
    for r in frame.itertuples(index=False):
        key = {"account": r.account, "region": r.region, "function": r.function}
        if r.unused:
            rows.append(
                {
                    **key,
                    "kind": "unused",
                    "advice": f"No invocations in {r.days:.0f} days: delete it or confirm it is still needed",
                    "monthly_usd": 0.0,
                    "note": r.data_note,
                }
            )
        if not pd.isna(r.recommended_mb) and int(r.recommended_mb) != int(r.memory_mb) and not r.unused:
            way = "Lower" if r.recommended_mb < r.memory_mb else "Raise"
            text = f"{way} memory {r.memory_mb:,.0f} → {int(r.recommended_mb):,} MB"
            if r.duration_may_change:
                text += " (duration would likely change: measure after the change)"
            if abs(r.monthly_saving_usd) >= min_monthly_usd:
                rows.append(
                    {**key, "kind": "memory", "advice": text, "monthly_usd": r.monthly_saving_usd, "note": r.data_note}
                )
        if not pd.isna(r.arm64_saving_usd) and r.arm64_saving_usd > 0 and r.arm64_saving_usd >= min_monthly_usd:
            rows.append(
                {
                    **key,
                    "kind": "arm64",
                    "advice": "Try arm64 (an estimate to validate: same duration assumed)",
                    "monthly_usd": r.arm64_saving_usd,
                    "note": r.data_note,
                }
            )
        if not pd.isna(r.pc_idle_usd) and r.pc_idle_usd > 0 and r.pc_idle_usd >= min_monthly_usd:
            util = 0.0 if pd.isna(r.pc_utilization) else r.pc_utilization
            rows.append(
                {
                    **key,
                    "kind": "provisioned_concurrency",
                    "advice": f"Provisioned concurrency {int(r.provisioned_concurrency)} is {1 - util:.0%} idle: lower it",
                    "monthly_usd": r.pc_idle_usd,
                    "note": r.data_note,
                }
            )
    out = typed_frame(rows, ADVICE_SCHEMA)
    return out.sort_values(["monthly_usd", "function", "kind"], ascending=[False, True, True], ignore_index=True)
