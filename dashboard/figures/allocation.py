"""Team allocation: which team owns a function, and each team's share of the Lambda bill.

- Which team owns a function is decided when the inventory is loaded (:mod:`dashboard.query.teams`).
- :func:`round_to_total`: amounts to the cent whose sum is exactly a total (largest remainder).
- :func:`allocate`: per team the month to date, the forecast to month end, last month and the
  change, plus the "untagged", "free tier" and "unexplained" lines, adding up to the bill to
  the cent; :func:`tag_coverage` (share of spend whose team comes from a tag) and
  :func:`team_functions` (a team's functions ranked by cost).
- Cost Explorer's own by-tag figure beside a team (``ce_tag_usd``) is known only where Cost Explorer has a row
  for the team's tag value; elsewhere it is NaN and ``ce_tag_gap`` names why (:data:`CE_TAG_GAPS`): a row of
  $0.00 (the free tier paid it) is a figure, no row is not.

Costs per function are :func:`dashboard.figures.cost_estimate.estimate`'s ``total_usd`` (list price). The
account's free tier and the part of the bill the estimate does not explain are shared lines:
shown apart (``shared_cost="separate"``) or spread over the teams in proportion to their
usage cost (``"proportional"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.query.teams import team_sources

__all__ = [
    "round_to_total",
    "ALLOCATION_SCHEMA",
    "TEAM_FUNCTIONS_SCHEMA",
    "FREE_TIER_LINE",
    "UNEXPLAINED_LINE",
    "CE_TAG_GAPS",
    "allocate",
    "tag_coverage",
    "team_functions",
]

FREE_TIER_LINE = "(free tier)"
UNEXPLAINED_LINE = "(unexplained)"
_CENT = Decimal("0.01")

# Why Cost Explorer's by-tag figure is unknown for a team line (``ce_tag_gap``), code → one sentence. The first
# four hold for every line (the caller says which: ``ce_tag_gap=``); the last two are decided per line.
CE_TAG_GAPS: dict[str, str] = {
    "no_bill": "Cost Explorer could not be read.",
    "whole_account": "Cost Explorer's bill covers whole accounts; a region or team filter cannot split it.",
    "tag_inactive": "None of the allocation tag keys is activated as a cost-allocation tag in Cost Explorer "
    "(Billing → Cost allocation tags), so Cost Explorer cannot group the bill by team.",
    "tag_unread": "Cost Explorer's cost-allocation tags or its spend by tag could not be read.",
    "not_from_tag": "This team comes from another tag key or the manual map, not from the tag Cost Explorer groups by: "
    "Cost Explorer counts its spend under the untagged value.",
    "no_row": "Cost Explorer has no spend under this tag value for these days: it has not attributed it yet (a newly "
    "activated cost-allocation tag, or a tag newly put on a function, takes up to 24 hours to show).",
}
_KEYS = ["account", "region", "function"]


def round_to_total(amounts: Sequence[float], *, total: float | Decimal | None = None) -> list[Decimal]:
    """Each amount to the cent so that they add up exactly to ``total`` rounded to the cent.

    ``total`` defaults to the amounts' exact sum. Every amount is floored to the cent, and the
    cents left over go one each to the amounts with the largest remainders (ties: first in
    order). Amounts may be negative (a free-tier credit); NaN counts as 0.
    """
    exact = [
        Decimal(0) if (a is None or (isinstance(a, float) and np.isnan(a))) else Decimal(repr(float(a)))
        for a in amounts
    ]
    target = (Decimal(repr(float(total))) if total is not None else sum(exact, Decimal(0))).quantize(_CENT)
    if not exact:
        return []
    floors = [a.quantize(_CENT, rounding=ROUND_FLOOR) for a in exact]
    left = int((target - sum(floors, Decimal(0))) / _CENT)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    out = list(floors)
    n = len(out)
    step = _CENT if left >= 0 else -_CENT
    for j in range(abs(left)):  # |left| ≤ n unless total differs from the sum: then spread round-robin
        out[order[j % n] if left >= 0 else order[n - 1 - (j % n)]] += step
    return out


ALLOCATION_SCHEMA: dict[str, str] = {
    "team": "string",  # a team, the untagged label, "(free tier)" or "(unexplained)"
    "line": "string",  # team | untagged | free_tier | unexplained
    "functions": "Int64",
    "mtd_usd": "float64",  # the month's complete days, to the cent
    "forecast_usd": "float64",  # to the month's end
    "last_month_usd": "float64",
    "change_usd": "float64",  # forecast − last month
    "change_pct": "float64",
    "share": "float64",  # of the teams' month to date (teams and untagged; they add up to 100 %); NaN for shared lines or no base
    "ce_tag_usd": "float64",  # Cost Explorer's own figure for this tag value where it has a row (0.0 is a row), else NaN
    "ce_tag_gap": "string",  # why ce_tag_usd is NaN on a team line (a CE_TAG_GAPS code); <NA> where known or a shared line
    "priced_by_assumption": "boolean",  # some of the month's figure used a rate not verified for its region
}

TEAM_FUNCTIONS_SCHEMA: dict[str, str] = {
    "rank": "int64",
    "account": "string",
    "region": "string",
    "function": "string",
    "requests": "float64",
    "billed_gb_s": "float64",
    "cost_usd": "float64",
    "share_of_team": "float64",
    "lower_estimate": "boolean",
}


def _team_costs(estimate: pd.DataFrame, teams: pd.DataFrame) -> pd.Series:
    if estimate.empty:
        return pd.Series(dtype="float64")
    per_fn = (
        estimate.assign(**{k: estimate[k].astype("object") for k in _KEYS})
        .groupby(_KEYS, as_index=False)["total_usd"]
        .sum()
    )
    per_fn = per_fn.merge(teams, on=_KEYS, how="left")
    return per_fn.groupby("team")["total_usd"].sum()


def _assumed_lines(estimate: pd.DataFrame, teams: pd.DataFrame) -> set[str]:
    """The lines (teams, and the free tier) whose month to date includes a row priced by assumption."""
    if estimate.empty or "priced_by_assumption" not in estimate.columns:
        return set()
    flagged = estimate[estimate["priced_by_assumption"].fillna(False).astype(bool)]
    if flagged.empty:
        return set()
    keys = flagged.assign(**{k: flagged[k].astype("object") for k in _KEYS}).merge(teams, on=_KEYS, how="left")
    out = {str(t) for t in keys["team"].dropna()}
    if (flagged["free_tier_usd"] > 0).any():
        out.add(FREE_TIER_LINE)
    return out


def _lines(
    estimate: pd.DataFrame, teams: pd.DataFrame, *, actual: float | None, untagged: str, shared_cost: str
) -> tuple[dict[str, float], float]:
    """Line name → amount for one period, and the period's total (the bill, or our estimate without it)."""
    team_cost = _team_costs(estimate, teams)
    free = -float(estimate["free_tier_usd"].sum()) if not estimate.empty else 0.0
    explained = float(team_cost.sum()) + free
    total = explained if actual is None or np.isnan(actual) else float(actual)
    unexplained = total - explained
    lines = {str(t): float(v) for t, v in team_cost.items()}
    if shared_cost == "proportional" and sum(lines.values()) > 0:
        base = sum(lines.values())
        lines = {t: v + (free + unexplained) * v / base for t, v in lines.items()}
    else:
        lines[FREE_TIER_LINE] = free
        if actual is not None and not np.isnan(actual):
            lines[UNEXPLAINED_LINE] = unexplained
    return lines, total


def _rounded(lines: Mapping[str, float], total: float) -> dict[str, float]:
    names = list(lines)
    cents = round_to_total([lines[n] for n in names], total=total)
    return {n: float(c) for n, c in zip(names, cents, strict=True)}


def allocate(
    *,
    estimate: pd.DataFrame,
    last_month_estimate: pd.DataFrame,
    inventory: pd.DataFrame,
    untagged: str = "untagged",
    shared_cost: str = "separate",
    actual_usd: float | None = None,
    last_month_actual_usd: float | None = None,
    remaining_usd: float | None = None,
    ce_tag_usd: Mapping[str, float] | None = None,
    ce_tag_key: str | None = None,
    ce_tag_gap: str | None = None,
) -> pd.DataFrame:
    """Per team: month to date, forecast to month end, last month and the change; one frame of :data:`ALLOCATION_SCHEMA`.

    ``estimate`` / ``last_month_estimate``: :func:`dashboard.figures.cost_estimate.estimate` rows of the
    month's complete days and of the whole previous month; ``inventory`` has ``team``.
    ``actual_usd`` / ``last_month_actual_usd``: Cost Explorer's Lambda spend over the same
    days (None when unavailable: the lines then add up to our estimate, with no
    "unexplained" line). ``remaining_usd``: the spend expected from the end of the complete
    days to the month's end (Cost Explorer's forecast, or a run rate); a team's forecast is
    its month to date plus its share of it (in proportion to the teams' month to date; the
    free-tier and unexplained lines keep their month to date). ``ce_tag_usd``: Cost Explorer's by-tag figure per
    tag value (``""`` = untagged) for the tag key ``ce_tag_key``, one entry per row Cost Explorer gave: a value it
    has no row for is unknown (NaN, ``ce_tag_gap`` ``"not_from_tag"`` when none of the team's functions carries
    ``ce_tag_key``, else ``"no_row"``), never $0. When ``ce_tag_usd`` is None, ``ce_tag_gap`` (a
    :data:`CE_TAG_GAPS` code, default ``"no_bill"``) says why for every team line.

    Every money column is rounded to the cent so that the lines add up exactly to the
    period's total: Σ ``mtd_usd`` = the bill's month to date (to the cent).
    """
    teams = pd.DataFrame({k: inventory[k].astype("object") for k in _KEYS}).assign(
        team=inventory["team"].astype("object")
    )
    teams = teams.drop_duplicates(_KEYS)
    now, total = _lines(estimate, teams, actual=actual_usd, untagged=untagged, shared_cost=shared_cost)
    prev, prev_total = _lines(
        last_month_estimate, teams, actual=last_month_actual_usd, untagged=untagged, shared_cost=shared_cost
    )
    names = list(
        dict.fromkeys(
            [
                *sorted(n for n in now if not n.startswith("(")),
                *sorted(n for n in prev if not n.startswith("(") and n not in now),
            ]
        )
    )
    names += [n for n in (FREE_TIER_LINE, UNEXPLAINED_LINE) if n in now or n in prev]
    now_c = _rounded({n: now.get(n, 0.0) for n in names}, total)
    prev_c = _rounded({n: prev.get(n, 0.0) for n in names}, prev_total)
    remaining = 0.0 if remaining_usd is None or np.isnan(remaining_usd) else float(remaining_usd)
    usage = {n: max(now.get(n, 0.0), 0.0) for n in names if not n.startswith("(")}
    base = sum(usage.values())
    fc = _rounded(
        {n: now.get(n, 0.0) + (remaining * usage.get(n, 0.0) / base if base else 0.0) for n in names}, total + remaining
    )
    counts = teams.groupby("team")["function"].count()
    assumed = _assumed_lines(estimate, teams)
    # a share is of the teams' lines (teams and untagged; the free tier and the unexplained part are not a
    # team's): they add up to 100 %; with no positive base there is no share
    share_base = sum(now_c[n] for n in names if not n.startswith("("))
    carriers = _tag_carriers(inventory, ce_tag_key)
    rows = []
    for n in names:
        line = {FREE_TIER_LINE: "free_tier", UNEXPLAINED_LINE: "unexplained", untagged: "untagged"}.get(n, "team")
        change = fc[n] - prev_c[n]
        ce_usd, gap = _ce_figure(n, line, ce_tag_usd, carriers, ce_tag_gap)
        rows.append(
            {
                "team": n,
                "line": line,
                "functions": int(counts.get(n, 0)) if line in ("team", "untagged") else None,
                "mtd_usd": now_c[n],
                "forecast_usd": fc[n],
                "last_month_usd": prev_c[n],
                "change_usd": round(change, 2),
                "change_pct": change / prev_c[n] if prev_c[n] else np.nan,
                "share": now_c[n] / share_base if line in ("team", "untagged") and share_base > 0 else np.nan,
                "ce_tag_usd": ce_usd,
                "ce_tag_gap": gap,
                "priced_by_assumption": n in assumed,
            }
        )
    return typed_frame(rows, ALLOCATION_SCHEMA)


def _tag_carriers(inventory: pd.DataFrame, key: str | None) -> set[str] | None:
    """The teams with at least one function carrying the tag ``key`` (None: not known, no key or no tags)."""
    if key is None or "tags" not in inventory.columns:
        return None
    return {
        str(t)
        for t, tags in zip(inventory["team"], inventory["tags"], strict=True)
        if isinstance(tags, Mapping) and str(tags.get(key) or "").strip()
    }


def _ce_figure(
    name: str, line: str, ce: Mapping[str, float] | None, carriers: set[str] | None, gap: str | None
) -> tuple[float, str | None]:
    """Cost Explorer's by-tag figure for one line and, when it is unknown, why (a :data:`CE_TAG_GAPS` code)."""
    if line not in ("team", "untagged"):
        return np.nan, None  # a shared line has no tag value
    if ce is None:
        return np.nan, gap if gap in CE_TAG_GAPS else "no_bill"
    value = "" if line == "untagged" else name
    if value in ce and ce[value] is not None and not np.isnan(ce[value]):
        return float(ce[value]), None
    if line == "team" and carriers is not None and name not in carriers:
        return np.nan, "not_from_tag"
    return np.nan, "no_row"


def tag_coverage(
    estimate: pd.DataFrame, inventory: pd.DataFrame, *, tag_keys: list[str], manual: Mapping[str, str]
) -> float:
    """The share of the estimated spend (list price) on functions whose team comes from a tag (NaN: no spend)."""
    if estimate.empty or inventory.empty:
        return float("nan")
    src = pd.DataFrame({k: inventory[k].astype("object") for k in _KEYS})
    src["source"] = team_sources(inventory, tag_keys=tag_keys, manual=manual).astype("object").to_numpy()
    per_fn = (
        estimate.assign(**{k: estimate[k].astype("object") for k in _KEYS})
        .groupby(_KEYS, as_index=False)["total_usd"]
        .sum()
    )
    per_fn = per_fn.merge(src.drop_duplicates(_KEYS), on=_KEYS, how="left")
    total = float(per_fn["total_usd"].sum())
    if total <= 0:
        return float("nan")
    return float(per_fn.loc[per_fn["source"].fillna("").str.startswith("tag:"), "total_usd"].sum()) / total


def team_functions(estimate: pd.DataFrame, inventory: pd.DataFrame, *, team: str) -> pd.DataFrame:
    """The team's functions ranked by estimated cost (list price) over ``estimate``'s days."""
    members = inventory[inventory["team"] == team]
    keys = pd.DataFrame({k: members[k].astype("object") for k in _KEYS}).drop_duplicates()
    if keys.empty:
        return typed_frame([], TEAM_FUNCTIONS_SCHEMA)
    est = estimate.assign(**{k: estimate[k].astype("object") for k in _KEYS})
    agg = (
        est.groupby(_KEYS, as_index=False).agg(
            requests=("requests", "sum"),
            billed_gb_s=("billed_gb_s", "sum"),
            cost_usd=("total_usd", "sum"),
            lower_estimate=("lower_estimate", "any"),
        )
        if not est.empty
        else pd.DataFrame(columns=[*_KEYS, "requests", "billed_gb_s", "cost_usd", "lower_estimate"])
    )
    out = keys.merge(agg, on=_KEYS, how="left")
    out[["requests", "billed_gb_s", "cost_usd"]] = (
        out[["requests", "billed_gb_s", "cost_usd"]].astype("float64").fillna(0.0)
    )
    out["lower_estimate"] = out["lower_estimate"].fillna(False).astype(bool)
    out = out.sort_values(["cost_usd", "function"], ascending=[False, True], ignore_index=True)
    total = float(out["cost_usd"].sum())
    out["share_of_team"] = out["cost_usd"] / total if total else np.nan
    out["rank"] = np.arange(1, len(out) + 1)
    return typed_frame(out, TEAM_FUNCTIONS_SCHEMA)
