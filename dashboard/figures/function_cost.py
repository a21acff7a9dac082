"""Cost per function: our estimate at list price over the selected range and over the month to date.

One definition, read by the Overview, the Functions list, a function's page and the CLI:
:func:`dashboard.figures.cost_report.function_costs` (:func:`dashboard.figures.cost_estimate.estimate` at list
price, before the account's free tier, with provisioned concurrency, SnapStart and response streaming as
:func:`dashboard.figures.cost_report.provisioned_history` records them: the Costs page's per-function estimate)
over the frames a :class:`~dashboard.query.load.Query` already reads — its functions, whole-range statistics
(invocations, average duration) and memory (billed duration from REPORT lines). The month to date is the Costs
page's own per-function figure of the current month (:func:`dashboard.figures.cost_report.month_to_date_costs`:
this month's complete UTC days, read by the day and kept, so a reload re-reads no settled day and Logs Insights
does not scan the month again for every range asked).

Unknown is not zero: a function whose usage could not be read costs NaN ("—"), and so does the total of a
list holding one (:func:`total`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from aws.cache import Memo
from aws.frames import typed_frame
from dashboard.figures.cost_report import function_costs, month_to_date_costs, prices_for, provisioned_history
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.timerange import TimeRange

__all__ = ["PER_RANGE_NOTE", "COST_SCHEMA", "COST_COLUMNS", "MTD_LABEL", "FunctionCosts", "range_costs", "costs_over", "load_costs", "with_costs", "total"]

KEY = ["account", "region", "function"]
MTD_LABEL = "this month's complete UTC days"
COST_COLUMNS = ("est_cost_usd", "mtd_cost_usd")
COST_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "est_cost_usd": "float64",  # over the selected range, list price before the free tier; NaN: not known
    "mtd_cost_usd": "float64",  # the same over the month to date; NaN: not known (or not asked)
    "prev_cost_usd": "float64",  # the same over the period before the range; NaN: not known (or not asked)
    "lower_estimate": "boolean",  # some of its cost rests on the Duration metric (no REPORT lines): a lower bound
}


def range_costs(q: Query, *, detect: pd.DataFrame | None = None) -> sources.Loaded:
    """:data:`COST_SCHEMA`'s ``est_cost_usd`` of every function of ``q`` over its range (the other costs NaN), with the
    statuses of what it read. ``detect``: the series whose ProvisionedConcurrencyUtilization names the functions
    with provisioned concurrency (default the query's own fleet series)."""
    if q.functions.empty:
        return sources.Loaded(typed_frame([], COST_SCHEMA))
    return costs_over(
        q.settings, q.functions, q.range_stats, q.memory, q.trange, now=q.selection.now,
        detect=q.metrics.frame if detect is None else detect, unread=q.unread("range_stats", "memory"), force=q.force,
    )  # fmt: skip


def costs_over(
    settings, functions: pd.DataFrame, stats: sources.Loaded, memory: sources.Loaded, trange: TimeRange, *, now: datetime,
    detect: pd.DataFrame | None = None, unread=(), force: bool = False,
) -> sources.Loaded:
    """The cost of ``functions`` over ``trange`` from their whole-range statistics and memory (the loads' frames and
    statuses): what :func:`range_costs` computes for a query, for a caller holding the loads (a function's page)."""
    pc, feats, pc_statuses, notes = provisioned_history(
        settings, functions, detect if detect is not None else pd.DataFrame(), memory.frame, trange.start, trange.end,
        now=min(trange.end, now), force=force, range_key=(sources.range_key(trange),),
    )  # fmt: skip
    got = function_costs(
        functions, _as_series(stats.frame, trange), _one_period(memory.frame, trange), prices_for(settings), unread=unread,
        provisioned=_one_day(pc, trange, PC_SUMS), features=_one_day(feats, trange, FEATURE_SUMS),
    )  # fmt: skip
    out = got.assign(mtd_cost_usd=np.nan, prev_cost_usd=np.nan)
    frame = typed_frame(out, COST_SCHEMA)
    frame.attrs["assumed_note"] = got.attrs.get("assumed_note")
    warnings = list(dict.fromkeys([*stats.warnings, *memory.warnings, *notes]))
    return sources.Loaded(frame, [*stats.statuses, *memory.statuses, *pc_statuses], warnings)


def _as_series(stats: pd.DataFrame, trange: TimeRange) -> pd.DataFrame:
    """The whole-range statistics as one period spanning the range (what the estimate reads of a series: the
    requests and Σ Duration = average × requests; the days it covers)."""
    return stats.assign(
        timestamp=pd.Timestamp(trange.start).tz_convert("UTC") if pd.Timestamp(trange.start).tzinfo else pd.Timestamp(trange.start, tz="UTC"),
        period_s=int((trange.end - trange.start).total_seconds()),
    )


# The estimate prices usage per UTC day and takes a day's requests from Invocations, else from REPORT lines: the
# whole-range statistics are one datapoint, so every part it reads is put on that one day too (else the days after
# the first would count their REPORT lines as requests a second time). What this changes against pricing day by
# day (the Costs page): provisioned concurrency's executing share is the range's (PC invocations ÷ requests over
# the range) instead of each day's. PER_RANGE_NOTE says so where the figure is shown.
PER_RANGE_NOTE = (
    "Priced over the range as a whole: with provisioned concurrency, the share of requests it served is the range's, "
    "not each day's as on the Costs page, so such a function's figure can differ from the Costs page's by a little."
)
PC_SUMS = {"environment_s": "sum", "level_max": "max", "pc_invocations": "sum", "pc_spillover": "sum"}
FEATURE_SUMS = {"snapstart_cache_gb_s": "sum", "snapstart_restores": "sum", "streamed_bytes": "sum", "streamed_responses": "sum"}


def _day_of(trange: TimeRange) -> pd.Timestamp:
    t = pd.Timestamp(trange.start)
    return (t.tz_convert("UTC") if t.tzinfo else t).floor("D").tz_localize(None)


def _one_day(frame: pd.DataFrame | None, trange: TimeRange, sums: dict[str, str]) -> pd.DataFrame | None:
    """A daily frame (provisioned concurrency, features) as one row per function dated on the range's first day."""
    if frame is None or frame.empty:
        return frame
    agg: dict[str, object] = {c: how for c, how in sums.items() if c in frame}
    for c in frame.columns:
        if c not in agg and c not in (*KEY, "date"):
            agg[c] = "first"
    out = frame.assign(**{k: frame[k].astype(object) for k in KEY})
    if "basis" in out:  # the weakest evidence of the range's days, as a month's basis is its weakest day's
        from dashboard.figures.provisioned import BASIS_RANK

        rank = out["basis"].astype(object).map(BASIS_RANK).fillna(0)
        out = out.assign(basis=out["basis"].where(rank.eq(rank.groupby([out[k] for k in KEY]).transform("max"))))
        out = out.sort_values("basis", na_position="last", kind="stable")
    num = [c for c, how in agg.items() if how in ("sum", "max")]
    out[num] = out[num].apply(pd.to_numeric, errors="coerce")
    grouped = out.groupby(KEY, as_index=False, sort=False).agg({c: (lambda x, how=how: getattr(x, how)(min_count=1) if how == "sum" else x.max()) if how != "first" else "first" for c, how in agg.items()})
    grouped["date"] = _day_of(trange)
    return grouped.astype({c: frame[c].dtype for c in grouped.columns if c in frame and c not in KEY}, errors="ignore")


def _group_sums(values: np.ndarray, order: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per group (its rows ``order[starts[i]:ends[i]]``, in their order in the frame) the sum of the known values,
    NaN with none: ``Series.sum(min_count=1)`` of each group, summed the same way (NaN as 0, numpy's sum of the
    group's values in order), so the figures are those of a per-group sum, bit for bit, without a Series a group."""
    v = values[order]
    known = ~np.isnan(v)
    filled = np.where(known, v, 0.0)
    counts = np.add.reduceat(known.astype(np.int64), starts) if len(v) else np.zeros(0, dtype=np.int64)
    sums = np.fromiter((filled[a:b].sum() for a, b in zip(starts, ends, strict=True)), dtype="float64", count=len(starts))
    return np.where(counts > 0, sums, np.nan)


def _one_period(memory: pd.DataFrame, trange: TimeRange) -> pd.DataFrame:
    """The memory rows (REPORT-line or Lambda Insights figures per bin) as one row per function and source over the range."""
    if memory.empty:
        return memory
    # per memory frame, once (the loads keep it while its answers stand: sources.built); dated on the range here
    out = sources.built("one-period", [memory], lambda: _sums_by_function(memory))
    return out.assign(
        timestamp=pd.Timestamp(trange.start).tz_convert("UTC") if pd.Timestamp(trange.start).tzinfo else pd.Timestamp(trange.start, tz="UTC"),
        bin_s=int((trange.end - trange.start).total_seconds()),
    ).astype({"timestamp": sources.MEMORY_SCHEMA["timestamp"], "bin_s": sources.MEMORY_SCHEMA["bin_s"]})


def _sums_by_function(memory: pd.DataFrame) -> pd.DataFrame:
    """:func:`_one_period` but its date (``timestamp`` and ``bin_s`` left NaT and 0)."""
    m = memory.assign(source=memory["source"].fillna(""))  # grouped as they are typed (strings): no Python object a row
    num = lambda c: pd.to_numeric(m[c], errors="coerce").astype("float64")  # noqa: E731
    cold, reports = num("cold_starts"), num("reports")
    m = m.assign(_init=num("init_ms_mean") * cold, _used=num("used_mb_mean") * reports, _cold=cold, _reports=reports)
    g = m.groupby([*KEY, "source"], as_index=False, sort=False)
    out = g.agg(init_ms_p99=("init_ms_p99", "max"), used_mb_max=("used_mb_max", "max"), memory_mb=("memory_mb", "max"))
    # the sums, one vectorised pass (a Python sum a group took seconds at 10,000 functions): the rows of each group
    # together in their order, groups in the order groupby gives them (first seen, ``sort=False``)
    codes = g.ngroup().to_numpy(dtype="float64", na_value=np.nan)
    kept = np.flatnonzero(~np.isnan(codes))  # rows of a group (groupby drops keys with NA)
    order = kept[np.argsort(codes[kept], kind="stable")]
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(order) else np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(order)].astype(np.int64)
    for name, col in (("reports", "_reports"), ("cold_starts", "_cold"), ("_init", "_init"), ("billed_ms_sum", "billed_ms_sum"),
                      ("gb_seconds", "gb_seconds"), ("_used", "_used")):  # fmt: skip
        out[name] = _group_sums(pd.to_numeric(m[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan), order, starts, ends)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["init_ms_mean"] = out.pop("_init") / out["cold_starts"].where(out["cold_starts"] > 0)
        out["used_mb_mean"] = out.pop("_used") / out["reports"].where(out["reports"] > 0)
    out["timestamp"], out["bin_s"] = pd.NaT, 0  # dated by _one_period
    return typed_frame(out, sources.MEMORY_SCHEMA)


@dataclass(frozen=True)
class FunctionCosts:
    """Cost per function (:data:`COST_SCHEMA`) and the statuses of the loads behind each figure."""

    frame: pd.DataFrame
    statuses: tuple[sources.SourceStatus, ...] = ()
    warnings: tuple[str, ...] = ()
    note: str | None = None  # the rates priced by assumption, if any (cost_estimate.assumed_note)
    periods: dict[str, str] = field(default_factory=dict)  # column → what it covers ("24h", "month to date", ...)

    @property
    def loaded(self) -> sources.Loaded:
        return sources.Loaded(self.frame, list(self.statuses), list(self.warnings))


# One computation per question and data: the estimate of every function over three ranges is most of a cost load
# once its parts are cached (seconds at 48 functions), and the Overview, the Functions list (every rerun) and the
# CLI ask it. Keyed by the question and the versions (fetch time, staleness, error) of the parts it prices from;
# provisioned concurrency's own answers are cached alongside the metrics (same TTL), so a refresh shows in the key.
_MEMO: Memo[FunctionCosts] = Memo("function-costs", size=8)


def _versions(parts: list[sources.Loaded]) -> tuple:
    return tuple((s.source, s.account, s.region, s.fetched_at, s.stale, s.error) for p in parts for s in p.statuses)


def load_costs(q: Query, *, mtd: bool = True, previous: bool = False) -> FunctionCosts:
    """The cost of each function of ``q`` over its range, and (``mtd``) over the month to date and (``previous``)
    over the period before the range, each over its own query (through the caches). Memoised per question and
    data (:data:`_MEMO`): the same question of the same cached answers is one computation, shared read-only."""
    month = month_to_date_costs(q.settings, q.functions, today=q.selection.today, force=q.force) if mtd else None
    parts = [q.inventory, q.metrics, q.range_stats, q.memory]
    if month is not None:
        parts.append(month)
    if previous:
        parts += [q.previous.range_stats, q.previous.memory]
    key = (q.settings.model_dump_json(), q.selection.key, q.selection.range_text, mtd, previous, _versions(parts))
    return _MEMO.get(key, lambda: _load_costs(q, month, previous=previous), force=q.force)


def _load_costs(q: Query, month: sources.Loaded | None, *, previous: bool) -> FunctionCosts:
    now = range_costs(q)
    frame = now.frame.copy()
    statuses, warnings = list(now.statuses), list(now.warnings)
    periods = {"est_cost_usd": q.selection.range_text}

    def merge(col: str, other: sources.Loaded) -> None:
        nonlocal frame
        right = other.frame[[*KEY, "est_cost_usd"]].rename(columns={"est_cost_usd": f"_{col}"})
        frame = frame.merge(right, on=KEY, how="left")
        frame[col] = pd.to_numeric(frame.pop(f"_{col}")).astype("float64")
        statuses.extend(s for s in other.statuses if s not in statuses)
        warnings.extend(w for w in other.warnings if w not in warnings)

    detect = q.metrics.frame
    if month is not None and not frame.empty:
        merge("mtd_cost_usd", month)
        periods["mtd_cost_usd"] = MTD_LABEL
    if previous and not frame.empty:
        merge("prev_cost_usd", range_costs(q.previous, detect=detect))
        periods["prev_cost_usd"] = q.previous.selection.range_text
    frame = typed_frame(frame, COST_SCHEMA)
    frame.attrs["assumed_note"] = now.frame.attrs.get("assumed_note")
    return FunctionCosts(frame, tuple(statuses), tuple(warnings), now.frame.attrs.get("assumed_note"), periods)


def with_costs(rows: pd.DataFrame, costs: pd.DataFrame | None, columns: tuple[str, ...] = COST_COLUMNS) -> pd.DataFrame:
    """``rows`` (with account, region, function) plus ``columns`` of ``costs`` (NaN where not known; all NaN when
    ``costs`` is None: not loaded is not $0). Rows keep their order."""
    out = rows.copy()
    if costs is None or costs.empty or rows.empty:
        for c in columns:
            out[c] = pd.Series(np.nan, index=out.index, dtype="float64")
        return out
    idx = pd.MultiIndex.from_frame(costs[KEY].astype(str))
    where = idx.get_indexer(pd.MultiIndex.from_frame(rows[KEY].astype(str)))
    for c in columns:
        vals = costs[c].to_numpy(dtype="float64", na_value=np.nan)
        out[c] = np.where(where >= 0, vals[np.clip(where, 0, None)] if len(vals) else np.nan, np.nan)
    return out


def total(values: pd.Series) -> float:
    """The sum of a cost column; NaN when any function's cost is unknown (a partial total is not the total)."""
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    if v.isna().any():
        return math.nan
    return float(v.sum())
