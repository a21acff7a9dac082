"""Overview: the headline tiles against the previous period, the alerts firing, and every function at a glance."""

from __future__ import annotations

import streamlit as st

from dashboard.alerts.evaluation import NO_RULES, SINCE_HELP
from dashboard.figures.fleet import FUNCTION_NAME, Partial, Tile, load_overview
from dashboard.present.text import escape_markdown
from dashboard.query.sources import Loaded
from dashboard.web import columns, ui

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


st.title("Overview")
st.caption(escape_markdown(f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({sel.range_text})"))

status = st.status("Collecting metrics, costs and alerts…", expanded=False)
tiles_slot = st.empty()  # drawn as soon as the whole-range figures are in, again when everything is
rest = st.container()  # the sentences about failures, and the alerts: once the alert rules are evaluated
table_slot = st.empty()  # the function table: once the trend, memory and cold starts are in


def draw_tiles(tiles: list[Tile]) -> None:
    with tiles_slot.container():
        for col, tile in zip(st.columns(len(tiles)), tiles, strict=True):
            with col:
                st.metric(
                    tile.label,
                    tile.value_text(),
                    tile.delta_text(),
                    delta_color=tile.delta_color,
                    delta_description=tile.delta_description if tile.delta is not None else None,
                    help=tile.help,
                    border=True,
                )
                if tile.key == "spend_mtd" and tile.error and tile.error not in shown:
                    shown.add(tile.error)
                    st.error(escape_markdown(tile.error), icon=":material/warning:")


def draw_table(table, *, alerts_known: bool) -> None:
    with table_slot.container():
        st.subheader("Functions")
        if table.empty:
            st.info("No functions match this selection.")
            return
        order = ["link", "team", "region", "invocations", "trend", "errors", "error_rate", "throttles", "duration_p99_ms", "memory_used_pct"]
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_order=order + (["alerts"] if alerts_known else []),  # not known before the alert rules: not shown as 0
            column_config={
                **columns.metric_columns(table, progress=["memory_used_pct"]),
                "link": st.column_config.LinkColumn("function", display_text=FUNCTION_NAME, help="Open the function's page", pinned=True),
                "trend": st.column_config.LineChartColumn("invocations over the range", y_min=0, width="medium"),
            },
        )


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
draw_table(ov.table, alerts_known=True)
with rest:
    show_problems(ov.summary, what="Metrics", by_source=True)
    show_problems(ov.previous, what="The previous period")
    show_problems(ov.spend, what="Lambda spend")
    show_problems(ov.spend_before, what="Last month's spend")

    st.subheader("Alerts firing")
    show_problems(ov.alerts.as_loaded(), what="Alert data")
    firing = ov.firing
    if ov.alerts_error:
        st.error(escape_markdown(ov.alerts_error), icon=":material/error:")
    elif firing.empty and not cfg.alerts.rules:
        st.info(NO_RULES, icon=":material/info:")
    elif firing.empty and ov.unchecked:  # data could not be read: no "all clear" is derived from it
        st.warning(
            f"No alert is firing among what could be read, but {ov.unchecked:,} rule × function states could not be "
            "evaluated: their data could not be read (said above).",
            icon=":material/help:",
        )
    elif firing.empty:
        st.success("No alert is firing.", icon=":material/check_circle:")
    else:
        counts = firing["severity"].value_counts()
        st.caption(" · ".join(f"{n} {sev}" for sev, n in counts.items()))
        st.dataframe(
            columns.with_value_texts(firing),  # each value in its rule's metric's unit, as the digest writes it
            hide_index=True,
            width="stretch",
            column_order=["link", "severity", "rule", "region", "team", "since", "value_text", "threshold_text", "unit"],
            column_config={
                "link": st.column_config.LinkColumn("function", display_text=FUNCTION_NAME, help="Open the chart that shows it"),
                "since": st.column_config.DatetimeColumn("since (UTC)", format="YYYY-MM-DD HH:mm", help=SINCE_HELP),
                **columns.value_text_columns(value_help="The value that put it in ALARM"),
            },
        )
    st.page_link(
        "dashboard/pages/alerts.py",
        label="All alerts and their transitions",
        icon=":material/notifications:",
        query_params={
            k: v
            for k, v in {"range": sel.range_text, "account": list(sel.accounts), "region": list(sel.regions), "team": list(sel.teams)}.items()
            if v
        },
    )
