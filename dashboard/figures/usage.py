"""One row per function over a range: the headline numbers the CLI, the first page and digests share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.config.settings import Settings
from dashboard.query import sources
from dashboard.query.timerange import TimeRange

__all__ = ["SCHEMA", "SummaryParts", "summarize", "load_parts", "function_summary"]

SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "runtime": "string",
    "architecture": "string",
    "memory_mb": "int64",
    "timeout_s": "int64",
    "team": "string",
    "invocations": "float64",
    "errors": "float64",
    "error_rate": "float64",  # errors / invocations, %; NaN with no invocations
    "throttles": "float64",
    "duration_avg_ms": "float64",  # invocation-weighted mean of the period averages
    "duration_p99_ms": "float64",  # p99 over the whole range (one CloudWatch datapoint per function)
    "duration_max_ms": "float64",
    "concurrency_max": "float64",
    "cold_starts": "float64",
    "max_memory_used_mb": "float64",
    "memory_used_pct": "float64",  # max memory used / memory size, %
    "billed_gb_seconds": "float64",
}

KEY = ["account", "region", "function"]


def summarize(
    inventory: pd.DataFrame,
    metrics: pd.DataFrame,
    memory: pd.DataFrame,
    range_stats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pure: the summary rows from the inventory, the metric series, the memory series and range stats.

    ``range_stats`` (account, region, function, duration_p99_ms) gives the exact p99 over the range; without
    it the p99 column is the highest period p99 (an upper bound).
    """
    inv = inventory[KEY + ["runtime", "architecture", "memory_mb", "timeout_s", "team"]]
    if metrics.empty:
        agg = pd.DataFrame(columns=KEY)
    else:
        m = metrics.assign(_dur_w=metrics["duration_avg_ms"] * metrics["invocations"])
        agg = m.groupby(KEY, as_index=False).agg(
            invocations=("invocations", "sum"),
            errors=("errors", "sum"),
            throttles=("throttles", "sum"),
            _dur_w=("_dur_w", "sum"),
            duration_p99_ms=("duration_p99_ms", "max"),
            duration_max_ms=("duration_max_ms", "max"),
            concurrency_max=("concurrency_max", "max"),
        )
        agg["duration_avg_ms"] = np.where(agg["invocations"] > 0, agg["_dur_w"] / agg["invocations"].where(agg["invocations"] > 0), np.nan)
        agg = agg.drop(columns="_dur_w")
    if range_stats is not None and not range_stats.empty and not agg.empty:
        agg = agg.drop(columns="duration_p99_ms").merge(range_stats[KEY + ["duration_p99_ms"]], on=KEY, how="left")
    if memory.empty:
        mem = pd.DataFrame(columns=KEY)
    else:
        # min_count=1: a function whose figures come from Lambda Insights has no REPORT counts → NaN, not 0
        g = memory.astype({"cold_starts": "float64"}).groupby(KEY)
        mem = pd.DataFrame(
            {
                "cold_starts": g["cold_starts"].sum(min_count=1),
                "max_memory_used_mb": g["used_mb_max"].max(),
                "billed_gb_seconds": g["gb_seconds"].sum(min_count=1),
            }
        ).reset_index()
    out = inv.merge(agg, on=KEY, how="left").merge(mem, on=KEY, how="left")
    for col in ("invocations", "errors", "throttles"):
        out[col] = pd.to_numeric(out.get(col), errors="coerce").fillna(0.0) if col in out else 0.0
    out["error_rate"] = np.where(out["invocations"] > 0, 100.0 * out["errors"] / out["invocations"].where(out["invocations"] > 0), np.nan)
    used = pd.to_numeric(out.get("max_memory_used_mb"), errors="coerce") if "max_memory_used_mb" in out else np.nan
    out["memory_used_pct"] = 100.0 * used / out["memory_mb"].astype("float64")
    return typed_frame(out, SCHEMA).sort_values(["invocations", "function"], ascending=[False, True], ignore_index=True)


@dataclass(frozen=True)
class SummaryParts:
    """The loads a summary is built from (their statuses say how fresh each part is) and the functions selected."""

    inventory: sources.Loaded
    functions: pd.DataFrame  # the inventory's rows of the selected teams
    metrics: sources.Loaded
    range_stats: sources.Loaded
    memory: sources.Loaded

    @property
    def statuses(self) -> list[sources.SourceStatus]:
        return self.inventory.statuses + self.metrics.statuses + self.range_stats.statuses + self.memory.statuses

    def summary(self) -> sources.Loaded:
        """One row per function (:func:`summarize`), with every part's status and warning."""
        out = summarize(self.functions, self.metrics.frame, self.memory.frame, self.range_stats.frame)
        return sources.Loaded(out, self.statuses, self.inventory.warnings + self.metrics.warnings + self.memory.warnings)


def load_parts(
    settings: Settings,
    trange: TimeRange,
    *,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    force: bool = False,
) -> SummaryParts:
    """Load (cached, concurrent) everything a summary of the selection needs."""
    inv = sources.inventory(settings, accounts=accounts, regions=regions, force=force)
    frame = inv.frame
    if teams:
        frame = frame[frame["team"].isin(list(teams))]
    met = sources.metrics(settings, trange, frame, force=force)
    stats = sources.range_stats(settings, trange, frame, force=force)
    mem = sources.memory(settings, trange, frame, force=force)
    return SummaryParts(inv, frame, met, stats, mem)


def function_summary(
    settings: Settings,
    trange: TimeRange,
    *,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    force: bool = False,
) -> sources.Loaded:
    """Load everything the summary needs (cached, concurrent) and summarize it."""
    return load_parts(settings, trange, accounts=accounts, regions=regions, teams=teams, force=force).summary()
