"""The Overview: headline tiles with their change against the previous period, and the function table.

Pure functions over frames (tiles, sparklines, the table) and one loader,
:func:`load_overview`, that gathers what they need through the cached loaders. It is memoised
and single-flight per question: however many sessions ask the same question of the same cached
data, one Overview is built and shared (read-only); a refresh gives a new one.

Tiles (:class:`Tile`), each against the period of the same length just before the range
(``trange.previous()``, read as whole-range CloudWatch statistics, one datapoint per
function and column):

- **Invocations**, **Error rate** (Σ errors / Σ invocations of the selection) and
  **Throttles**: sums over the selected functions (the same numbers as the summary table).
- **Weighted p99** (p99 duration, invocation-weighted): each function's p99 over the range, averaged with
  its invocations as weights — the p99 of the function a typical invocation ran in. It is
  not a percentile of all invocations together: CloudWatch cannot merge percentiles across
  functions. The tile's help names the slowest function and its p99.
- **Lambda spend MTD** (month to date, :mod:`dashboard.figures.spend`): Cost Explorer's AWS Lambda cost of
  the selected accounts (all regions and teams: Cost Explorer is asked per account) from the 1st of the
  month through today (UTC days, today so far included), against the same days of the previous month.

The function table's trend is :func:`dashboard.figures.usage.trend`, the Functions list's too.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from aws import costs as ce
from aws.cache import Memo
from aws.frames import typed_frame
from dashboard.alerts import STATES_SCHEMA, TRANSITIONS_SCHEMA, AlertReport, evaluation
from dashboard.config.settings import ConfigError, Settings
from dashboard.figures import function_cost
from dashboard.figures import spend as spend_figures
from dashboard.figures.changes import alert_changes, top_movers
from dashboard.figures.usage import TREND_POINTS, summarize, trend, usage
from dashboard.present import links, registry
from dashboard.present.registry import Unit
from dashboard.present.text import escape_markdown
from dashboard.query import progress as progress_mod
from dashboard.query import sources
from dashboard.query.load import PREVIOUS_COLUMNS, Query
from dashboard.query.selection import Selection
from dashboard.query.timerange import TimeRange

__all__ = [
    "PREVIOUS_COLUMNS",
    "FUNCTION_NAME",
    "SPARK_POINTS",
    "TABLE_SCHEMA",
    "Tile",
    "comparison_text",
    "Overview",
    "escape_markdown",
    "fleet_totals",
    "health_tiles",
    "spend_tile",
    "cost_tile",
    "top_functions",
    "movers_input",
    "function_table",
    "load_overview",
]

# For st.column_config.LinkColumn(display_text=...): shows the function name of a links.function_link URL.
FUNCTION_NAME = r"fn=[^/&]+/[^/&]+/([^&]+)"
SPARK_POINTS = TREND_POINTS
KEY = ["account", "region", "function"]

TABLE_SCHEMA: dict[str, str] = {
    "link": "string",  # functions?fn=account/region/name&range=...
    "function": "string",
    "account": "string",
    "region": "string",
    "team": "string",
    "invocations": "float64",
    "trend": "object",  # invocations per bucket over the range, ≤ SPARK_POINTS numbers (0 where none); None: unknown
    "errors": "float64",
    "error_rate": "float64",  # %
    "throttles": "float64",
    "duration_p99_ms": "float64",
    "memory_used_pct": "float64",
    "cold_starts": "float64",
    "est_cost_usd": "float64",  # estimated cost over the range (dashboard.figures.function_cost); NaN: unknown or not yet loaded
    "mtd_cost_usd": "float64",  # the same over the month to date
    "alerts": "int64",  # alerts firing now
}
TOP_N = 5  # the Overview's first-screen lists
TOP_COLUMNS = ("est_cost_usd", "errors", "throttles", "duration_p99_ms")  # what its top lists rank by


@dataclass(frozen=True)
class Tile:
    """One headline number, its value in the previous period, and how to show both.

    ``value`` None means unknown (its source failed: ``error`` says why in one sentence);
    ``previous`` None means no comparison. ``metric`` is the registry key whose unit, format and
    direction (which way is worse) the tile shows.
    """

    key: str
    label: str
    value: float | None
    previous: float | None
    metric: str
    help: str
    error: str | None = None
    period: str = "previous period"

    @property
    def unit(self) -> Unit:
        return registry.unit(self.metric)

    @property
    def higher_is_worse(self) -> bool | None:
        """True: a rise is bad news; None: neither (the delta is shown grey)."""
        return registry.higher_is_worse(self.metric)

    @property
    def delta(self) -> float | None:
        if _missing(self.value) or _missing(self.previous):
            return None
        return float(self.value) - float(self.previous)  # type: ignore[arg-type]

    def value_text(self) -> str:
        return registry.format(self.metric, self.value)

    def delta_text(self) -> str | None:
        """``+12.5 %`` (relative) for amounts, ``+0.40 pp`` for rates, or None without a comparison."""
        d = self.delta
        if d is None:
            return None
        prev = float(self.previous)  # type: ignore[arg-type]
        if d == 0:
            return "±0"  # unchanged: no arrow either way (delta_color greys it)
        if self.unit is Unit.PERCENT:
            return f"{d:+.2f} pp"
        if prev == 0:
            return ("+" if d > 0 else "") + registry.format(self.metric, d)
        return f"{100.0 * d / prev:+.1f} %"

    @property
    def delta_color(self) -> str:
        """For ``st.metric``: red when it got worse, green when better, grey when neither or unchanged."""
        return registry.delta_color(self.metric, self.delta)

    @property
    def delta_description(self) -> str:
        """Short enough for a tile at 1440 px (six in a row): "vs prior 24h"."""
        return "vs " + re.sub(r"^previous\b", "prior", self.period)


def comparison_text(tiles: list[Tile]) -> str | None:
    """What the tiles' changes compare with, said once (a tile at 1440 px, six in a row, cut its own caption):
    ``"changes vs prior 24h; Lambda spend MTD vs Nov 1–4"``; None when no tile has a change."""
    by: dict[str, list[str]] = {}
    for t in tiles:
        if t.delta is not None:
            by.setdefault(t.delta_description, []).append(t.label)
    if not by:
        return None
    main = max(by, key=lambda d: len(by[d]))
    others = [f"{', '.join(labels)} {d}" for d, labels in by.items() if d != main]
    return "; ".join([f"changes {main}", *others])


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _title(metric: str) -> str:
    """A tile's title: the registry's label, capitalised (``"Error rate"``)."""
    label = registry.label(metric)
    return label[:1].upper() + label[1:]


def fleet_totals(frame: pd.DataFrame) -> dict[str, float | str | None]:
    """Totals over functions (rows with invocations, errors, throttles, duration_p99_ms).

    ``error_rate`` is Σ errors / Σ invocations (%), NaN with no invocations;
    ``duration_p99_ms`` the invocation-weighted mean of the functions' p99 (functions with
    invocations and a p99); ``slowest`` / ``slowest_p99_ms`` the function with the highest p99.
    """
    def col(name: str) -> pd.Series:
        return pd.to_numeric(frame[name], errors="coerce").astype("float64") if len(frame) else pd.Series(dtype="float64")

    inv, errs, thr = (col(c).fillna(0.0) for c in ("invocations", "errors", "throttles"))
    p99 = col("duration_p99_ms")
    total = float(inv.sum())
    weighted = p99.notna() & (inv > 0)
    wsum = float(inv[weighted].sum())
    slowest = None
    slowest_p99 = float("nan")
    if p99.notna().any():
        i = p99.idxmax()
        slowest, slowest_p99 = str(frame.loc[i, "function"]), float(p99[i])
    return {
        "invocations": total,
        "errors": float(errs.sum()),
        "error_rate": 100.0 * float(errs.sum()) / total if total > 0 else float("nan"),
        "throttles": float(thr.sum()),
        "duration_p99_ms": float((p99[weighted] * inv[weighted]).sum() / wsum) if wsum > 0 else float("nan"),
        "slowest": slowest,
        "slowest_p99_ms": slowest_p99,
    }


def health_tiles(
    current: pd.DataFrame,
    previous: pd.DataFrame | None,
    *,
    period: str = "previous period",
    current_error: str | None = None,
    comparable: bool = True,
) -> list[Tile]:
    """Invocations, error rate, throttles and p99 tiles (pure).

    ``current``: one row per function (the summary); ``previous``: the previous period's range
    statistics (None when they failed). ``current_error``: the sentence to show when the
    current figures are unknown (every metrics part failed): the tiles then read "—".
    ``comparable`` False (a part failed in one period only) drops the deltas.
    """
    now = fleet_totals(current)
    before = fleet_totals(previous) if previous is not None and comparable else None
    unknown = current_error is not None

    def val(k: str) -> float | None:
        return None if unknown else float(now[k])  # type: ignore[arg-type]

    def prev(k: str) -> float | None:
        return None if before is None else float(before[k])  # type: ignore[arg-type]

    slowest = now["slowest"]
    slow = "" if slowest is None else f" Slowest: {escape_markdown(str(slowest))}, p99 {registry.format('duration_p99_ms', now['slowest_p99_ms'])}."
    return [
        Tile("invocations", _title("invocations"), val("invocations"), prev("invocations"), "invocations",
             "Invocations of the selected functions over the range (CloudWatch Invocations, Sum).",
             current_error, period),
        Tile("error_rate", _title("error_rate"), val("error_rate"), prev("error_rate"), "error_rate",
             "Errors ÷ invocations over the range, all selected functions together (timeouts count as errors).",
             current_error, period),
        Tile("throttles", _title("throttles"), val("throttles"), prev("throttles"), "throttles",
             "Throttled requests over the range (CloudWatch Throttles, Sum); throttled requests are not invocations.",
             current_error, period),
        Tile("duration_p99", "Typical p99 duration", val("duration_p99_ms"), prev("duration_p99_ms"), "duration_p99_ms",
             "p99 duration, invocation-weighted. Each function's p99 duration over the range, averaged with its invocations as weights: the p99 of the "
             "function a typical invocation ran in. Not a percentile of all invocations together (CloudWatch cannot "
             f"merge percentiles across functions).{slow}",
             current_error, period),
    ]


def _cost_total(loaded: sources.Loaded | None) -> tuple[float | None, str | None]:
    if loaded is None:
        return None, None
    failed = loaded.failed
    if failed:
        return None, failed[0].error
    frame = spend_figures.total_rows(loaded.frame)
    return float(frame["cost_usd"].sum()) if frame is not None and len(frame) else 0.0, None


WHOLE_ACCOUNTS = "whole accounts"  # the spend tile's label suffix when a region or team filter is set: the bill is per account


def spend_tile(this_month: sources.Loaded, last_month: sources.Loaded | None, *, today: date, filtered: bool = False) -> Tile:
    """Month-to-date AWS Lambda spend vs the same days of the previous month (pure over the two loads).

    When Cost Explorer fails for any selected account the total would be partial: the tile
    reads "—" and ``error`` is the failure's sentence (the other tiles do not depend on it).
    ``filtered`` (a region or team filter is set, which Cost Explorer's account total does not follow): the label
    says plainly that the figure covers the whole accounts.
    """
    start, end, prev_start, prev_end = spend_figures.month_to_date(today)
    value, error = _cost_total(this_month)
    previous, _ = _cost_total(last_month)
    est = bool(len(this_month.frame)) and bool(this_month.frame["estimated"].fillna(False).any())
    help_text = (
        f"Lambda spend month to date: AWS Lambda cost from Cost Explorer (unblended), {start:%d %b} – {today:%d %b %Y} (UTC days, today so "
        f"far included), for the selected accounts in every region and team; compared with {prev_start:%d %b} – "
        f"{prev_end - timedelta(days=1):%d %b}."
        + (" Recent days are Cost Explorer estimates until the bill is final." if est else "")
    )
    label = _title("spend_mtd") + (f" · {WHOLE_ACCOUNTS}" if filtered else "")
    if filtered:
        help_text += " The region and team filters do not apply to it: Cost Explorer's Lambda total is per account (Est. cost follows the filters)."
    return Tile(
        "spend_mtd", label, value, previous, "spend_mtd", help_text, error,
        f"{prev_start:%b} 1–{(prev_end - timedelta(days=1)).day}",
    )


def cost_tile(costs: pd.DataFrame | None, *, range_text: str, period: str = "previous period", error: str | None = None) -> Tile:
    """The selected functions' estimated cost over the range against the period before (pure over
    :data:`dashboard.figures.function_cost.COST_SCHEMA`): unknown when any function's cost is (a partial sum is not the total)."""
    value = previous = None
    if costs is not None and error is None:
        v = function_cost.total(costs["est_cost_usd"])
        p = function_cost.total(costs["prev_cost_usd"])
        value = None if math.isnan(v) else v
        previous = None if math.isnan(p) else p
    return Tile(
        "est_cost", f"Est. cost ({range_text})", value, previous, "est_cost_usd",
        "Estimated Lambda cost of the selected functions over the range, at list price before the free tier (requests, GB-seconds from "
        "REPORT lines' Billed Duration, ephemeral storage, provisioned concurrency, SnapStart, streaming): the sum of the table's "
        f"est. cost column, the Costs page's per-function estimate. It follows every filter. {function_cost.PER_RANGE_NOTE}",
        error, period,
    )


def function_table(
    summary: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    range_text: str | None,
    firing: pd.DataFrame | None = None,
    points: int = SPARK_POINTS,
    unread: Iterable[tuple[str, str]] = (),
    costs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per function of ``summary`` (its order kept) with a link, a trend (:func:`~dashboard.figures.usage.trend`;
    None for a function of an ``unread`` part), its cost (``costs``: :data:`dashboard.figures.function_cost.COST_SCHEMA`;
    NaN where unknown or not given) and the alerts firing (pure)."""
    if summary.empty:
        return typed_frame([], TABLE_SCHEMA)
    spark = trend(metrics, start=start, end=end, points=points, functions=summary, unread=unread)
    keys = list(zip(summary["account"].astype(str), summary["region"].astype(str), summary["function"].astype(str), strict=True))
    counts: dict[tuple[str, str, str], int] = {}
    if firing is not None and len(firing):
        for k in zip(firing["account"].astype(str), firing["region"].astype(str), firing["function"].astype(str), strict=True):
            counts[k] = counts.get(k, 0) + 1
    cols = ["function", "account", "region", "team", "invocations", "errors", "error_rate", "throttles", "duration_p99_ms", "memory_used_pct"]
    out = summary[cols].copy()
    out["cold_starts"] = summary["cold_starts"] if "cold_starts" in summary else float("nan")
    out = function_cost.with_costs(out, costs)
    out["link"] = [links.function_link(a, r, f, range_text=range_text) for a, r, f in keys]
    out["trend"] = pd.Series([spark.get(k) for k in keys], index=out.index, dtype="object")
    out["alerts"] = [counts.get(k, 0) for k in keys]
    # what is on fire first, then what costs most, then the busiest (the summary's order)
    out = out.assign(_order=range(len(out))).sort_values(
        ["alerts", "est_cost_usd", "_order"], ascending=[False, False, True], na_position="last", kind="stable"
    ).drop(columns="_order")
    return typed_frame(out.reset_index(drop=True), TABLE_SCHEMA)


def top_functions(table: pd.DataFrame, column: str, *, n: int = TOP_N) -> pd.DataFrame:
    """The ``n`` rows of a function table highest in ``column``, known and above 0 only (pure): a list of what
    costs most or fails most has no room for unknowns or nothing. Ties by name."""
    if table.empty or column not in table:
        return table.iloc[0:0]
    v = pd.to_numeric(table[column], errors="coerce").astype("float64")
    keep = table[v.notna() & (v > 0)].assign(_v=v)
    return keep.sort_values(["_v", "function"], ascending=[False, True], kind="stable").head(n).drop(columns="_v").reset_index(drop=True)


def movers_input(summary: pd.DataFrame, previous: pd.DataFrame | None, costs: pd.DataFrame | None) -> pd.DataFrame:
    """Per function the current and previous figures :func:`dashboard.figures.changes.top_movers` compares (pure):
    the summary, the previous period's range statistics (``<column>_prev``) and the costs of both periods."""
    cols = [c for c in ("invocations", "errors", "duration_p99_ms") if c in summary]
    out = summary[[*KEY, "team", *cols]].copy()
    out = function_cost.with_costs(out, costs, ("est_cost_usd", "prev_cost_usd")).rename(columns={"prev_cost_usd": "est_cost_usd_prev"})
    if previous is not None and len(previous):
        p = previous[[*KEY, *cols]].astype({k: "string" for k in KEY}).rename(columns={c: f"{c}_prev" for c in cols})
        out = out.astype({k: "string" for k in KEY}).merge(p, on=KEY, how="left")
    else:
        for c in cols:
            out[f"{c}_prev"] = float("nan")
    return out


@dataclass
class Overview:
    """Everything the Overview page shows, with the loads it came from (for their statuses).

    One object is shared by every session that asks the same question of the same cached data
    (see :func:`load_overview`): read it, never modify it or its frames.
    """

    trange: TimeRange
    tiles: list[Tile]
    table: pd.DataFrame
    summary: sources.Loaded
    previous: sources.Loaded
    spend: sources.Loaded
    spend_before: sources.Loaded
    alerts: evaluation.AlertsLoaded
    firing: pd.DataFrame  # evaluation.ALERT_SCHEMA: the ALARM rows, critical first, linked to their charts
    alerts_error: str | None = None  # the config's alert overrides are invalid (one line)
    costs: sources.Loaded | None = None  # function_cost.COST_SCHEMA with the statuses of what it read
    changes: pd.DataFrame | None = None  # changes.CHANGES_SCHEMA: alerts that started or cleared within the range
    movers: pd.DataFrame | None = None  # changes.MOVERS_SCHEMA: the largest changes against the previous period

    def top(self, column: str, n: int = TOP_N) -> pd.DataFrame:
        """The table's ``n`` functions highest in ``column`` (:func:`top_functions`)."""
        return top_functions(self.table, column, n=n)

    @property
    def unchecked(self) -> int:
        """Rule × function states not evaluated because their data could not be read (no health is claimed then)."""
        states = self.alerts.report.states
        return int(states["unread"].fillna(False).sum()) if len(states) else 0


TILE_ROW_SCHEMA: dict[str, str] = {
    "key": "string",  # invocations | error_rate | throttles | duration_p99 | spend_mtd
    "label": "string",
    "value": "float64",  # NaN / null: unknown (its source could not be read)
    "unit": "string",  # the registry unit's code (count, %, ms, USD)
    "previous": "float64",  # the previous period's value; null: no comparison
    "metric": "string",  # the registry entry whose label, unit and format the tile shows (dashboard.figures.metrics)
}
FUNCTION_ROW_SCHEMA: dict[str, str] = {
    "function": "string",
    "account": "string",
    "region": "string",
    "team": "string",
    "invocations": "float64",
    "errors": "float64",
    "error_rate": "float64",
    "throttles": "float64",
    "duration_p99_ms": "float64",
    "memory_used_pct": "float64",
    "cold_starts": "float64",
    "est_cost_usd": "float64",  # estimated cost over the range, list price (dashboard.figures.function_cost); null: unknown
    "mtd_cost_usd": "float64",  # the same over the month to date
    "alerts_firing": "int64",
    "trend": "object",  # invocations per bucket over the range (dashboard.figures.usage.trend); None: unknown
}


def tile_rows(tiles: Iterable[Tile]) -> pd.DataFrame:
    """The tiles as rows (:data:`TILE_ROW_SCHEMA`), for the CLI: the numbers the page shows, unformatted."""
    return typed_frame(
        [{"key": t.key, "label": t.label, "value": t.value, "unit": t.unit.code, "previous": t.previous, "metric": t.metric} for t in tiles],
        TILE_ROW_SCHEMA,
    )


def function_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The function table's rows (:data:`FUNCTION_ROW_SCHEMA`), for the CLI: the page's columns without the link."""
    return typed_frame(table.rename(columns={"alerts": "alerts_firing"}), FUNCTION_ROW_SCHEMA)


def _metric_failures(loaded: sources.Loaded) -> list[sources.SourceStatus]:
    return [s for s in loaded.failed if s.source == "metrics"]


# One Overview per question, however many sessions ask (building the merged frames is most of an Overview's
# memory: at 1,000 functions the metrics frame alone is ~120 MB a copy; 20 sessions each building their own
# peaked at 5.1 GB RSS). Two memos:
# - _ASKS, keyed by the question alone and always asked with force, so it never serves a kept answer (and
#   keeps one at most): sessions asking the same question while one of them is loading wait for that load
#   and share its result, loaders included;
# - _MEMO, keyed by the question plus every part's status (source, account, region, fetch time, stale,
#   error): the loaders rebuild their frames on each ask, and a part's fetch time says whether it is the
#   same data; a refresh, an expired entry or a failed part answered on retry changes it, hence a new
#   Overview. The same question of the same data is one object.
_ASKS: Memo[Overview] = Memo("overview-asks", size=1)
_MEMO: Memo[Overview] = Memo("overviews", size=4)


class _Steps:
    """The caller's callbacks (``progress``, ``counts``, ``partial``), made safe to call inside a computation other
    sessions wait for.

    In Streamlit a widget update is where a rerun or stop of *that* session is raised
    (``RerunException``, a ``BaseException``). Raised inside the shared load it would reach every
    waiting session; instead the load goes on (without further callbacks) and the exception is
    raised in the caller's own thread once the load is done (:meth:`reraise`).
    """

    def __init__(
        self,
        progress: Callable[[str], None] | None,
        counts: Callable[[str], None] | None = None,
        partial: Callable[[Partial], None] | None = None,
    ) -> None:
        self._progress = progress
        self._counts = counts
        self._partial = partial
        self._interrupt: BaseException | None = None
        self._started = time.monotonic()

    def _call(self, fn: Callable[[Any], None] | None, arg: Any) -> None:
        if fn is None or self._interrupt is not None:
            return
        try:
            fn(arg)
        except BaseException as e:  # noqa: BLE001 - kept and re-raised in the caller's thread (reraise)
            self._interrupt = e

    def __call__(self, label: str) -> None:
        self._call(self._progress, label)

    @property
    def wants_partial(self) -> bool:
        """A page draws as parts arrive: only worth it (computing twice) when the load is slow so far, not when
        the parts are answered from the caches (a warm page computes once, as before)."""
        return self._partial is not None and self._interrupt is None and time.monotonic() - self._started >= PARTIAL_AFTER_S

    def count(self, line: str) -> None:
        self._call(self._counts, line)

    def drawn(self, part: Partial) -> None:
        self._call(self._partial, part)

    def reraise(self) -> None:
        if self._interrupt is not None:
            raise self._interrupt


PARTIAL_AFTER_S = 1.0  # a load slower than this so far hands over what it has (Partial)


@dataclass(frozen=True)
class Partial:
    """What of an Overview is known while the rest still loads (for a page that draws as parts arrive).

    ``tiles``: the health tiles from the whole-range statistics of both periods (:func:`health_tiles`, as the
    finished Overview's, which replace them); ``table``: the function table once the trend, memory and cold
    starts are in, before the alert rules (its ``alerts`` column is not known yet: not to be shown).
    """

    tiles: list[Tile]
    table: pd.DataFrame | None = None


def _versions(*statuses: Iterable[sources.SourceStatus]) -> tuple:
    return tuple((s.source, s.account, s.region, s.fetched_at, s.stale, s.error) for part in statuses for s in part)


def load_overview(
    settings: Settings,
    selection: Selection,
    *,
    spend: bool = True,
    progress: Callable[[str], None] | None = None,
    counts: Callable[[str], None] | None = None,
    partial: Callable[[Partial], None] | None = None,
) -> Overview:
    """Load (through the caches) and compute the Overview of a selection.

    ``progress`` is called with a short label before each step (for a status widget); ``counts`` with the parts
    answered so far whenever they change ("metrics (trend): 3 of 8 account-regions",
    :mod:`dashboard.query.progress`), in the caller's thread, and once done with every part's count; ``partial`` with the tiles, then the table, as soon
    as their parts are in (:class:`Partial`). None of them is called for a session that waits for another's load.
    The spend tile covers the month of ``selection.today`` (UTC). ``spend`` False leaves out the spend
    tile and its Cost Explorer requests (a team-scoped viewer: the bill covers whole accounts).

    Memoised and single-flight per question (``_ASKS``, ``_MEMO``): the settings, the selection (its
    filters, range to the minute and day) and ``spend``. Sessions asking it while another loads wait
    for that load (their ``progress`` is not called) and get the same :class:`Overview` object; asked
    again on the same cached data, the same object is returned without computing. It is shared: treat
    it as read-only.
    """
    question = (settings.model_dump_json(), selection.key, selection.range_text, spend)
    steps = _Steps(progress, counts, partial)
    tracker = progress_mod.Progress(steps.count) if counts is not None else None

    def load() -> Overview:
        with progress_mod.tracking(tracker):
            return _load(settings, selection, question, spend=spend, step=steps)

    ov = _ASKS.get(question, load, force=True)
    if tracker is not None:
        steps.count(tracker.summary())  # everything this load asked, in counts
    steps.reraise()
    return ov


_NO_MEMORY = typed_frame([], sources.MEMORY_SCHEMA)


def _tiles(summary: pd.DataFrame, q: Query, previous: sources.Loaded, *, trend: bool) -> list[Tile]:
    """The health tiles of ``summary`` against ``previous``; the metric failures of the range statistics, and of the
    trend when ``trend`` (read by then), make them unknown or not comparable."""
    failed_now = _metric_failures(q.range_stats) + (_metric_failures(q.metrics) if trend else [])
    asked = {(s.account, s.region) for s in q.range_stats.statuses}
    all_failed = bool(asked) and {(s.account, s.region) for s in failed_now} >= asked
    failed_before = _metric_failures(previous)
    return health_tiles(
        summary,
        previous.frame,
        period=q.trange.previous().label or "previous period",
        current_error=failed_now[0].error if all_failed else None,
        comparable=not failed_now and not failed_before,
    )


def _bill(settings: Settings, start: date, end: date, prev_start: date, prev_end: date, accounts: list[str] | None) -> tuple:
    """Cost Explorer's Lambda spend of the month to date and of the same days of the month before."""
    with progress_mod.stage("this month"):
        this_month = sources.daily_costs(settings, start=start, end=end, accounts=accounts)
    with progress_mod.stage("last month"):
        month_before = sources.daily_costs(settings, start=prev_start, end=prev_end, accounts=accounts)
    return this_month, month_before


def _trend_and_memory(q: Query) -> tuple[sources.Loaded, sources.Loaded]:
    with progress_mod.stage("trend"):
        series = q.metrics
    return series, q.memory


def _load(settings: Settings, selection: Selection, question: tuple, *, spend: bool, step: _Steps) -> Overview:
    """Ask the loaders (their caches), then the memoised Overview of what they answered.

    The cheap parts first, so a page can draw as they arrive (``step.drawn``): the whole-range statistics of both
    periods give the tiles; the trend, memory and cold starts the table; then the bill and the alert rules."""
    trange, today = selection.trange, selection.today
    q = Query(settings, selection)
    step("The functions and their figures over the range…")
    inventory = q.inventory
    q.functions  # noqa: B018 - read here, before the parts that need it run side by side
    behind = progress_mod.Behind(lambda: _trend_and_memory(q))  # asked meanwhile: a part slow in one account-region is waited for once, not per step
    start, end, prev_start, prev_end = spend_figures.month_to_date(today)
    accounts = list(selection.accounts) or None
    bill = progress_mod.Behind(lambda: _bill(settings, start, end, prev_start, prev_end, accounts)) if spend else None
    with progress_mod.stage("whole range"):
        stats = q.range_stats
    step("The previous period, for comparison…")
    with progress_mod.stage("previous period"):
        previous = q.previous_stats
    if step.wants_partial:
        early = summarize(q.functions, pd.DataFrame(), _NO_MEMORY, q.range_stats.frame, unread_metrics=q.unread("range_stats"))
        step.drawn(Partial(_tiles(early, q, previous, trend=False)))
    step("The trend, memory and cold starts of the selected functions…")
    series, memory = behind.result()
    coster = progress_mod.Behind(lambda: function_cost.load_costs(q, mtd=True, previous=True))  # the range, the month, the period before
    parts = [inventory, series, stats, memory]
    if step.wants_partial:
        summary = usage(q)
        t_start, t_end = q.trend_range
        table = function_table(summary.frame, q.metrics.frame, start=t_start, end=t_end, range_text=selection.range_text, unread=q.unread("metrics"))
        step.drawn(Partial(_tiles(summary.frame, q, previous, trend=True), table))
    if bill is not None:
        step("Lambda spend from Cost Explorer…")
        this_month, month_before = bill.result()
    else:
        this_month = month_before = sources.Loaded(typed_frame([], ce.SCHEMA))
    step("Alert rules…")
    alerts_error = None
    try:
        with progress_mod.stage("alert rules"):
            alerts = evaluation.load_alerts(settings, selection, query=q, fleet=True)
    except ConfigError as e:  # overrides that together leave a rule invalid: the rest of the page still works
        alerts_error = str(e)
        empty = AlertReport(typed_frame([], STATES_SCHEMA), typed_frame([], TRANSITIONS_SCHEMA))
        alerts = evaluation.AlertsLoaded(empty, [], trange, trange)
    step("Cost per function…")
    with progress_mod.stage("costs"):
        costs = coster.result()
    key = question + (
        _versions(*(p.statuses for p in parts), previous.statuses, this_month.statuses, month_before.statuses, alerts.statuses, costs.statuses),
        None if alerts.history is None else alerts.history.version,  # what the alert history held: the cleared alerts
    )

    def compute() -> Overview:
        summary = usage(q)
        met = q.metrics
        tiles = _tiles(summary.frame, q, previous, trend=True)
        cost_failed = [st for st in costs.statuses if st.failed]
        cost_error = cost_failed[0].error if cost_failed and costs.frame["est_cost_usd"].isna().all() else None
        tiles.append(cost_tile(costs.frame, range_text=selection.range_text, period=q.trange.previous().label or "previous period", error=cost_error))
        if spend:
            tiles.append(spend_tile(this_month, month_before, today=today, filtered=bool(selection.regions or selection.teams)))
        firing = evaluation.alert_rows(alerts.report.states, range_text=selection.range_text)
        t_start, t_end = q.trend_range
        table = function_table(
            summary.frame, met.frame, start=t_start, end=t_end, range_text=selection.range_text, firing=firing,
            unread=q.unread("metrics"), costs=costs.frame,
        )  # fmt: skip
        changed = alert_changes(alerts.report.states, alerts.report.transitions, start=trange.start, end=trange.end, history=alerts.history)
        movers = top_movers(movers_input(summary.frame, previous.frame, costs.frame), n=TOP_N)
        return Overview(
            trange, tiles, table, summary, previous, this_month, month_before, alerts, firing, alerts_error,
            costs=costs.loaded, changes=changed, movers=movers,
        )  # fmt: skip

    return _MEMO.get(key, compute)
