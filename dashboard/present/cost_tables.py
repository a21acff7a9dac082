"""The Costs and Teams pages' tables as a person reads them: no internal columns, no raw ``None``, every money
value at the cent with no ``-$0.00``, flags said in words. Pure (frames in, frames out); the CSV and the CLI keep
the full frames of :func:`dashboard.figures.cost_report.costs_table`.

- :func:`team_rows` — the team lines (teams and untagged, whose shares add up to 100 %) with Cost Explorer's own
  by-tag figure as text that says what it is (``$3.64``, ``$0.00 (free tier)``, ``— (no row yet)`` when unknown,
  with :data:`GAP_WORDS` naming why).
- :func:`ce_tag_sentence` — what Cost Explorer's by-tag figures add up to, and which lines they do not cover and why.
- :func:`shared_sentence` — the shared lines (free tier, unexplained) in one sentence, and what all lines add up to.
- :func:`function_rows` — a team's functions, or the organisation's top list, with ``note`` instead of flags.
- :func:`cents` — money columns rounded to the cent, ``-0.0`` made ``0.0`` (no ``-$0.00``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from dashboard.figures import cost_views
from dashboard.figures.allocation import CE_TAG_GAPS, FREE_TIER_LINE, UNEXPLAINED_LINE
from dashboard.figures.metrics import MISSING
from dashboard.present import registry

__all__ = ["cents", "TEAM_COLUMNS", "GAP_WORDS", "team_rows", "ce_tag_sentence", "shared_sentence", "FREE_TIER_PAID", "LOWER_NOTE", "ASSUMED_NOTE", "function_rows"]

FREE_TIER_PAID = "(free tier)"  # after a Cost Explorer figure the free tier brought under a cent
LOWER_NOTE = "lower bound"  # cost_estimate's lower_estimate, in words: the bill is probably higher
ASSUMED_NOTE = "rate assumed"  # priced_by_assumption, in words: a rate not verified for its region


def cents(frame: pd.DataFrame, columns: Iterable[str], *, digits: int = 2) -> pd.DataFrame:
    """``frame`` with ``columns`` rounded to ``digits`` decimals and ``-0.0`` made ``0.0``: an amount that rounds to
    nothing is never shown as ``-$0.00``. NaN stays NaN (unknown)."""
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = pd.to_numeric(out[c]).astype("float64").round(digits) + 0.0
    return out


TEAM_COLUMNS = ["team", "functions", "mtd_usd", "share", "forecast_usd", "last_month_usd", "change_usd", "change_pct", "ce_tag", "note"]


# a CE_TAG_GAPS code in a few words, for a table cell after "—" (the sentence is under the table)
GAP_WORDS: dict[str, str] = {
    "no_bill": "bill not read",
    "whole_account": "bill not split by filter",
    "tag_inactive": "tag not activated",
    "tag_unread": "tags not read",
    "not_from_tag": "team not from this tag",
    "no_row": "no row yet",
}


def _gap(gap) -> str | None:
    return None if gap is None or gap is pd.NA or (isinstance(gap, float) and np.isnan(gap)) else str(gap)


def _ce_text(ce: float, ours: float, gap=None) -> str:
    if ce is None or (isinstance(ce, float) and np.isnan(ce)):
        why = _gap(gap)
        return f"{MISSING} ({GAP_WORDS.get(why, why)})" if why else MISSING
    if round(ce, 2) == 0 and round(ours, 2) > 0:
        return f"$0.00 {FREE_TIER_PAID}"
    return registry.format("cost_usd", round(ce, 2))


def team_rows(teams: pd.DataFrame) -> pd.DataFrame:
    """The allocation's team lines for a page (:data:`TEAM_COLUMNS`): ``functions`` an integer, ``share`` adding up
    to 100 %, ``ce_tag`` Cost Explorer's by-tag figure as text (``—`` where it has none), ``note`` in words."""
    lines = cost_views.team_lines(teams)
    out = cents(lines, ["mtd_usd", "forecast_usd", "last_month_usd", "change_usd"])
    out["functions"] = lines["functions"].fillna(0).astype("int64")
    gaps = lines["ce_tag_gap"] if "ce_tag_gap" in lines else pd.Series([None] * len(lines), dtype="object")
    out["ce_tag"] = pd.array(
        [_ce_text(c, o, g) for c, o, g in zip(lines["ce_tag_usd"], lines["mtd_usd"], gaps.astype(object), strict=True)],
        dtype="string",
    )
    out["note"] = pd.array(
        [ASSUMED_NOTE if bool(a) else "" for a in lines["priced_by_assumption"].fillna(False)], dtype="string"
    )
    return out[TEAM_COLUMNS].reset_index(drop=True)


def ce_tag_sentence(teams: pd.DataFrame, *, tag_key: str | None = None) -> str | None:
    """Cost Explorer's by-tag figures in one or two sentences: what the known ones add up to (the unknown ones are
    not counted as $0) and, per reason, the lines it has no figure for. None when there are no team lines."""
    lines = cost_views.team_lines(teams)
    if lines.empty:
        return None
    known = lines[lines["ce_tag_usd"].notna()]
    unknown = lines[lines["ce_tag_usd"].isna()]
    what = f"Cost Explorer by tag {tag_key}" if tag_key else "Cost Explorer by tag"
    if unknown.empty:
        return f"{what}: {registry.format('cost_usd', round(float(known['ce_tag_usd'].sum()), 2) + 0.0)} over every line."
    gaps = unknown["ce_tag_gap"].astype(object) if "ce_tag_gap" in unknown else pd.Series([None] * len(unknown))
    by_gap: dict[str, list[str]] = {}
    for team, gap in zip(unknown["team"], gaps, strict=True):
        by_gap.setdefault(_gap(gap) or "no_bill", []).append(str(team))
    if known.empty:
        head = f"{what} has no figure for any line"
    else:
        head = (
            f"{what} adds up to {registry.format('cost_usd', round(float(known['ce_tag_usd'].sum()), 2) + 0.0)} over "
            f"{registry.plural(len(known), 'line')}, not counting {registry.plural(len(unknown), 'line')} it has no figure for"
        )
    reasons = " ".join(
        f"{', '.join(names)}: {CE_TAG_GAPS.get(gap, gap)}" if len(by_gap) > 1 or not known.empty else CE_TAG_GAPS.get(gap, gap)
        for gap, names in by_gap.items()
    )
    return f"{head}. {reasons}"


def shared_sentence(teams: pd.DataFrame, *, bill: bool) -> str:
    """What the shared lines are and what every line adds up to, in one sentence (``bill``: Cost Explorer's)."""
    shared = cost_views.shared_lines(teams).set_index("team")["mtd_usd"]
    totals = cost_views.team_totals(teams)
    parts = []
    if FREE_TIER_LINE in shared:
        parts.append(f"the free tier {registry.format('cost_usd', round(float(shared[FREE_TIER_LINE]), 2) + 0.0)}")
    if UNEXPLAINED_LINE in shared:
        parts.append(f"the part of the bill our estimate does not explain {registry.format('cost_usd', round(float(shared[UNEXPLAINED_LINE]), 2) + 0.0)}")
    what = "the bill" if bill else "our estimate"
    teams_text = registry.format("cost_usd", totals.teams_usd)
    if not parts:
        return f"The teams' lines add up to {teams_text}, {what} of the month's complete days."
    return (
        f"The teams' lines add up to {teams_text}; not a team's: {' and '.join(parts)}; "
        f"together {registry.format('cost_usd', totals.total_usd)}, {what} of the month's complete days."
    )


def function_rows(frame: pd.DataFrame, *, cost: str) -> pd.DataFrame:
    """A ranked list of functions for a page: ``cost`` (the money column) at the cent and flags as one ``note``
    (:data:`LOWER_NOTE`, :data:`ASSUMED_NOTE`), never a raw boolean column."""
    out = cents(frame, [cost, "last_month_usd"], digits=4)
    notes = []
    for _, r in frame.iterrows():
        n = [LOWER_NOTE] if bool(r.get("lower_estimate", False) or False) else []
        if bool(r.get("priced_by_assumption", False) or False):
            n.append(ASSUMED_NOTE)
        notes.append("; ".join(n))
    out["note"] = pd.array(notes, dtype="string")
    return out.drop(columns=[c for c in ("lower_estimate", "priced_by_assumption") if c in out])
