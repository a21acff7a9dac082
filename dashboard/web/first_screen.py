"""The Overview's first screen: what is firing (worst first), what costs or fails most, and what changed.

Three compact columns under the tiles, every entry an in-app link to the function's page
(:mod:`dashboard.web.drill`): no scrolling at 1440 × 900 and no new browser tab. The figures come from
:class:`dashboard.figures.fleet.Overview` (its firing rows, :meth:`~dashboard.figures.fleet.Overview.top`,
its alert changes and movers); this module only writes them.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from dashboard.figures.changes import CLEARED, STARTED
from dashboard.figures.fleet import TOP_COLUMNS, TOP_N, Overview
from dashboard.present import registry
from dashboard.present.text import escape_markdown
from dashboard.query.selection import Selection
from dashboard.web import drill

__all__ = [
    "SEVERITY_ICON", "TOP_LABELS", "firing_label", "duration_text", "clock_text", "alerts_line", "change_label", "shown_changes", "draw_firing", "draw_top",
    "draw_changes", "draw",
]  # fmt: skip

SEVERITY_ICON = {"critical": ":material/error:", "warning": ":material/warning:", "info": ":material/info:"}
TOP_LABELS = {"est_cost_usd": "cost", "errors": "errors", "throttles": "throttl.", "duration_p99_ms": "p99"}
SHOWN_FIRING = 5
SHOWN_CHANGES = 3


def duration_text(since: object, now: datetime) -> str:
    """How long something has lasted, in the largest whole unit: ``3 h``, ``2 d``, ``12 min``; "" when unknown."""
    if since is None or pd.isna(since):
        return ""
    s = (pd.Timestamp(now) - pd.Timestamp(since)).total_seconds()
    if s < 3600:
        return f"{max(0, int(s // 60))} min"
    if s < 172_800:
        return f"{int(s // 3600)} h"
    return f"{int(s // 86_400)} d"


def firing_label(row: pd.Series, now: datetime) -> str:
    """One firing alert on one line: function · rule · value · for how long (the threshold is in the link's help)."""
    value = registry.value_text(row.get("metric"), row.get("value"))
    lasted = duration_text(row.get("since"), now)
    return f"{row['function']} · {row['rule']} · {value}" + (f" · {lasted}" if lasted else "")


def draw_firing(ov: Overview, sel: Selection, *, no_rules: str | None) -> None:
    firing = ov.firing
    n = len(firing)
    st.markdown(f"**Firing now** · {n:,}" if n else "**Firing now**")
    if ov.alerts_error:
        st.caption("The alert rules could not be evaluated (said below).")
    elif n == 0 and no_rules:
        st.caption(no_rules)
    elif n == 0 and ov.unchecked:
        st.caption(f"Nothing firing among what could be read; {ov.unchecked:,} rule × function states could not be evaluated.")
    elif n == 0:
        st.caption("No alert is firing.")
    for _, row in firing.head(SHOWN_FIRING).iterrows():
        drill.function_link(
            sel, row, firing_label(row, sel.now), icon=SEVERITY_ICON.get(str(row["severity"]), ":material/notifications:"),
            rule=str(row["rule"]),
            help=f"{row['severity']} · threshold {registry.value_text(row.get('metric'), row.get('threshold'))}: open the function at the chart of rule {row['rule']}",
        )  # fmt: skip
    if n > SHOWN_FIRING:
        st.caption(f"and {n - SHOWN_FIRING:,} more (all in the table below and on Alerts)")


def draw_top(ov: Overview, sel: Selection) -> None:
    by = st.segmented_control(
        "Top functions by", list(TOP_COLUMNS), default=TOP_COLUMNS[0], format_func=TOP_LABELS.get, key="ov_top_by",
        label_visibility="collapsed",
    ) or TOP_COLUMNS[0]  # fmt: skip
    what = "estimated cost" if by == "est_cost_usd" else registry.label(by)
    st.markdown(f"**Top {TOP_N} by {what}** · {sel.range_text}")
    top = ov.top(by)
    if top.empty:
        known = by in ov.table and pd.to_numeric(ov.table[by], errors="coerce").notna().any()
        st.caption(f"No function has any {what} over the range." if known else f"The {what} of the functions is not known (said below).")
    for _, row in top.iterrows():
        drill.function_link(sel, row, f"{row['function']} · {registry.format(by, row[by])}", help=f"{row['team']} · {row['region']}")


def clock_text(t: object, now: datetime) -> str:
    """A time on the first screen: ``14:05`` today (UTC, as the rows' times), ``Nov 30 14:05`` another day."""
    ts = pd.Timestamp(t)
    return f"{ts:%H:%M}" if ts.date() == pd.Timestamp(now).date() else f"{ts:%b %d %H:%M}"


def alerts_line(ov: Overview, now: datetime) -> str:
    """How many alerts started and cleared over the range, and what the cleared ones rest on: the evaluation's
    transitions, or the server's alert history (from when it has watched), or nothing (then: on Alerts)."""
    changes = ov.changes if ov.changes is not None else pd.DataFrame()
    started = int((changes["change"] == STARTED).sum()) if len(changes) else 0
    cleared = int((changes["change"] == CLEARED).sum()) if len(changes) else 0
    hist = ov.alerts.history
    if len(ov.alerts.report.transitions) > 0 or (hist is not None and hist.covers(ov.trange.start)):
        return f"Alerts over the range: {started:,} started, {cleared:,} cleared"
    if hist is not None and hist.watching_since is not None:
        since = clock_text(hist.watching_since, now)
        return f"Alerts over the range: {started:,} started, {cleared:,} cleared since {since}, when this server started watching (earlier: on Alerts)"
    return f"Alerts started over the range: {started:,} (cleared ones: on Alerts)"


def change_label(row: pd.Series, now: datetime) -> tuple[str, str | None]:
    """One alert change on one line, and its help: ``fn · rule cleared 14:05`` (a transition's time) or ``cleared by
    14:10`` (first seen clear then; the help says when it was last seen firing)."""
    verb = "started" if row["change"] == STARTED else "cleared"
    if pd.isna(row["timestamp"]):
        return f"{row['function']} · {row['rule']} {verb}", None
    when = clock_text(row["timestamp"], now)
    if verb == "started" or bool(row.get("exact")) is True:
        return f"{row['function']} · {row['rule']} {verb} {when}", None
    last = row.get("last_firing")
    seen = f"last seen firing {clock_text(last, now)}, " if last is not None and not pd.isna(last) else ""
    return f"{row['function']} · {row['rule']} cleared by {when}", f"{seen}seen clear at {when} by this server's alert evaluations"


def shown_changes(changes: pd.DataFrame, n: int = SHOWN_CHANGES) -> pd.DataFrame:
    """The ``n`` alert changes listed (critical first, then the newest), a cleared one among them when any cleared:
    what started and what was resolved both answer "what changed"."""
    head = changes.head(n)
    if n < 1 or len(head) == len(changes) or (head["change"] == CLEARED).any() or not (changes["change"] == CLEARED).any():
        return head
    return pd.concat([head.head(n - 1), changes[changes["change"] == CLEARED].head(1)])


def draw_changes(ov: Overview, sel: Selection) -> None:
    st.markdown(f"**What changed** · vs {ov.trange.previous().label or 'the previous period'}")
    lines: list[str] = []
    cost = next((t for t in ov.tiles if t.key == "est_cost"), None)
    if cost is not None and cost.value is not None:
        before = "unknown before" if cost.previous is None else f"{registry.format('est_cost_usd', cost.previous)} before ({cost.delta_text()})"
        lines.append(f"Est. cost {registry.format('est_cost_usd', cost.value)}, {before}")
    changes = ov.changes if ov.changes is not None else pd.DataFrame()
    lines.append(alerts_line(ov, sel.now))
    st.caption(" · ".join(lines))
    if ov.alerts.history is not None and ov.alerts.history.note:
        st.caption(escape_markdown(ov.alerts.history.note))  # it names a file path
    for _, row in shown_changes(changes).iterrows():
        icon = SEVERITY_ICON.get(str(row["severity"])) if row["change"] == STARTED else ":material/check_circle:"
        text, why = change_label(row, sel.now)
        drill.function_link(sel, row, text, icon=icon, rule=str(row["rule"]), help=why)
    movers = ov.movers if ov.movers is not None else pd.DataFrame()
    if len(movers):
        m = movers.assign(_abs=movers["change_pct"].abs().fillna(float("inf"))).sort_values("_abs", ascending=False).head(SHOWN_CHANGES)
        for _, row in m.iterrows():
            pct = "new" if pd.isna(row["change_pct"]) else f"{row['change_pct']:+.0f} %"
            metric = str(row["metric"])
            was = f"{registry.label(metric)}: {registry.format(metric, row['previous'])} → {registry.format(metric, row['current'])}"
            text = f"{row['function']} · {registry.short_label(metric)} {pct}"
            drill.function_link(sel, row, text, icon=":material/trending_up:" if row["change"] > 0 else ":material/trending_down:", help=was)
    elif not len(changes):
        st.caption("No function moved beyond its noise floor.")


def draw(ov: Overview, sel: Selection, *, no_rules: str | None) -> None:
    """The three columns: firing, top, what changed."""
    left, middle, right = st.columns([1, 1, 1], gap="small", border=True)
    with left:
        draw_firing(ov, sel, no_rules=no_rules)
    with middle:
        draw_top(ov, sel)
    with right:
        draw_changes(ov, sel)
