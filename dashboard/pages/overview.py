"""Overview: the headline tiles against the previous period; what is firing, what costs or fails most and what
changed (the first screen, :mod:`dashboard.web.first_screen`); then every function at a glance."""

from __future__ import annotations

import streamlit as st

from dashboard.alerts.evaluation import NO_RULES, SINCE_HELP
from dashboard.figures.fleet import Partial, Tile, comparison_text, load_overview
from dashboard.present.text import escape_markdown
from dashboard.query.sources import Loaded
from dashboard.web import columns, drill, first_screen, ui

sel = ui.selection()
cfg = st.session_state["settings"]
shown: set[str] = set()  # each failure's sentence is said once, where its data would first be


# the summary merges several sources: a failure is named by what it lost, not all as "Metrics"
SOURCE_WHAT = {"inventory": "Functions", "tags": "Tags", "logs": "Memory and cold starts", "insights": "Memory and cold starts"}


def show_problems(loaded: Loaded, *, what: str, by_source: bool = False) -> None:
    fresh = [s for s in loaded.statuses if (s.failed or s.stale) and s.error not in shown]
    warnings = [w for w in loaded.warnings if w not in shown]
    shown.update(s.error for s in fresh if s.error)
    shown.update(warnings)
    groups: dict[str, list] = {what: []}
    for s in fresh:
        groups.setdefault(SOURCE_WHAT.get(s.source, what) if by_source else what, []).append(s)
    for label, statuses in groups.items():
        ui.show_statuses(Loaded(loaded.frame, statuses, warnings if label == what else []), what=label)


st.title("Overview", anchor=False)
RANGE_TEXT = f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({sel.range_text})"
range_slot = st.empty()  # the range, then (with the tiles) what their changes compare with
range_slot.caption(escape_markdown(RANGE_TEXT))

status = st.status("Collecting metrics, costs and alerts…", expanded=False)
tiles_slot = st.empty()  # drawn as soon as the whole-range figures are in, again when everything is
first_slot = st.container()  # what is firing, the top functions, what changed: once everything is in
rest = st.container()  # the sentences about failures, and the alerts: once the alert rules are evaluated
table_slot = st.empty()  # the function table: once the trend, memory and cold starts are in


def draw_tiles(tiles: list[Tile]) -> None:
    compared = comparison_text(tiles)
    range_slot.caption(escape_markdown(RANGE_TEXT + (f" · {compared}" if compared else "")))
    with tiles_slot.container():
        for col, tile in zip(st.columns(len(tiles)), tiles, strict=True):
            with col:
                st.metric(
                    tile.label,
                    tile.value_text(),
                    tile.delta_text(),
                    delta_color=tile.delta_color,
                    help=tile.help,
                    border=True,
                )
                if tile.key == "spend_mtd" and tile.error and tile.error not in shown:
                    shown.add(tile.error)
                    st.error(escape_markdown(tile.error), icon=":material/warning:")


TABLE_ORDER = [
    "function", "est_cost_usd", "mtd_cost_usd", "invocations", "trend", "errors", "error_rate", "throttles", "duration_p99_ms",
    "cold_starts", "memory_used_pct",
]  # fmt: skip


def draw_table(table, *, alerts_known: bool) -> None:
    with table_slot.container():
        st.subheader("Functions", anchor=False)
        if table.empty:
            st.info("No functions match this selection.")
            return
        st.caption("Most alerts firing first, then the costliest. Select a row to open the function.")
        shown = table.assign(trend=columns.ending_with_data(table["trend"]))
        event = st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(shown), 460),
            key="ov_table" if alerts_known else None,
            on_select="rerun" if alerts_known else "ignore",
            selection_mode="single-row",
            column_order=TABLE_ORDER + (["alerts"] if alerts_known else []) + ["team", "region"],  # alerts unknown before the rules: not 0
            column_config={
                **columns.metric_columns(table, progress=["memory_used_pct"]),
                **columns.cost_columns(sel.range_text),
                "function": st.column_config.TextColumn("function", pinned=True, help="Select the row to open the function's page"),
                "trend": st.column_config.LineChartColumn("invocations", y_min=0, width="small", help="Invocations over the range"),
            },
        )
        if alerts_known:
            drill.open_selected(event, shown, sel)


def drawn(part: Partial) -> None:
    draw_tiles(part.tiles)
    if part.table is not None:
        draw_table(part.table, alerts_known=False)


with status:
    doing = ui.LoadProgress(status)
    ov = load_overview(
        cfg,
        sel,
        spend=not ui.viewer().scoped,  # the bill covers whole accounts: not for a team-scoped viewer
        progress=doing.step,
        counts=doing.count,
        partial=drawn,
    )
    doing.finish(f"{len(ov.table)} functions · {len(ov.firing)} alerts firing")

for part in (ov.summary, ov.previous, ov.spend, ov.spend_before, ov.alerts.as_loaded()):
    ui.note(part)  # the sidebar's freshness panel

draw_tiles(ov.tiles)
with first_slot:
    first_screen.draw(ov, sel, no_rules=NO_RULES if not cfg.alerts.rules else None)
draw_table(ov.table, alerts_known=True)
with rest:
    show_problems(ov.summary, what="Metrics", by_source=True)
    show_problems(ov.previous, what="The previous period")
    if ov.costs is not None:
        show_problems(ov.costs, what="Cost per function")
    show_problems(ov.spend, what="Lambda spend")
    show_problems(ov.spend_before, what="Last month's spend")
    show_problems(ov.alerts.as_loaded(), what="Alert data")
    if ov.alerts_error:
        st.error(escape_markdown(ov.alerts_error), icon=":material/error:")
    elif ov.firing.empty and ov.unchecked:  # data could not be read: no "all clear" is derived from it
        st.warning(
            f"No alert is firing among what could be read, but {ov.unchecked:,} rule × function states could not be "
            "evaluated: their data could not be read (said above).",
            icon=":material/help:",
        )

st.subheader("Alerts firing", anchor=False)
firing = ov.firing
if firing.empty and not cfg.alerts.rules:
    st.info(NO_RULES, icon=":material/info:")
elif firing.empty and (ov.alerts_error or ov.unchecked):  # not all checked: no "all clear" (the sentence is above)
    st.caption("Nothing firing among what could be checked; not every alert could be (said above).")
elif firing.empty:
    st.success("No alert is firing.", icon=":material/check_circle:")
else:
    counts = firing["severity"].value_counts()
    st.caption(" · ".join(f"{n} {sev}" for sev, n in counts.items()) + " · select a row to open the function at the rule's chart")
    alerts_event = st.dataframe(
        columns.with_value_texts(firing),  # each value in its rule's metric's unit, as the digest writes it
        hide_index=True,
        width="stretch",
        key="ov_firing",
        on_select="rerun",
        selection_mode="single-row",
        column_order=["function", "severity", "rule", "region", "team", "since", "value_text", "condition_text"],
        column_config={
            "function": st.column_config.TextColumn("function", pinned=True),
            "since": st.column_config.DatetimeColumn("since (UTC)", format="YYYY-MM-DD HH:mm", help=SINCE_HELP),
            **columns.value_text_columns(value_help="The value that put it in ALARM"),
        },
    )
    picked = alerts_event.selection.rows if alerts_event is not None else []
    if picked:
        row = firing.iloc[picked[0]]
        st.switch_page(drill.FUNCTIONS_PAGE, query_params=drill.function_params(sel, row["account"], row["region"], row["function"], rule=str(row["rule"])))
st.page_link(
    "dashboard/pages/alerts.py",
    label="All alerts and their transitions",
    icon=":material/notifications:",
    query_params=drill.params(sel),
)
