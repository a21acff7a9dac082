"""Functions: the searchable list, or one function's page when the URL has ``?fn=account/region/name``.

Layout only: the rows, the figure, the tables and the sentences come from
:mod:`dashboard.web.function_view` and :mod:`dashboard.present.plots`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.present import plots, registry
from dashboard.present.tables import spreadsheet_csv
from dashboard.present.text import escape_markdown as md
from dashboard.web import columns, drill, ui
from dashboard.web import function_view as fv

PAGE = "dashboard/pages/functions.py"
HEADER_PER_ROW = 4


def show_function(view: fv.FunctionView, sel: ui.Selection, rule_name: str | None) -> None:
    st.page_link(PAGE, label="All functions", icon=":material/arrow_back:", query_params=drill.params(sel))
    st.title(md(view.name), anchor=False)
    cfg = view.config
    assert cfg is not None
    st.caption(
        f"{md(cfg['account'])} / {md(cfg['region'])} · team {md(cfg.get('team') or '')} · "
        f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({md(sel.range_text)})"
    )
    header = view.header()
    for start in range(0, len(header), HEADER_PER_ROW):  # two rows: every value whole at 1440 px beside the sidebar
        for col, (label, value, detail, help_text) in zip(st.columns(HEADER_PER_ROW), header[start : start + HEADER_PER_ROW], strict=False):
            col.metric(label, value, detail, delta_color="off", delta_arrow="off", help=help_text, border=True)
    ui.show_statuses(view.loaded, what="Data")
    if view.problem:
        st.error(md(view.problem), icon=":material/error:")

    highlight = None
    if rule_name:
        r = view.rule(rule_name)
        st.subheader(f"Rule {md(rule_name)}", anchor="rule", divider="red")
        if r is None:
            st.warning(f"Rule {md(rule_name)} does not apply to this function (unknown, or disabled for it).", icon=":material/rule:")
        else:
            highlight = rule_name
            now = view.state_of(rule_name)  # the Alerts page's verdict
            assert now is not None
            since = "" if pd.isna(now["since"]) else f" since {now['since']:%Y-%m-%d %H:%M} UTC"
            condition = plots.rule_condition(r.rule, config=cfg.to_dict(), account_limit=view.account_limit)
            st.markdown(
                f"**{now['state']}**{since} · {md(condition)} "
                f"· {r.rule.datapoints_to_alarm or r.rule.evaluation_periods} of {r.rule.evaluation_periods} periods of "
                f"{registry.period_text(r.period_s)} · missing data: {r.rule.missing_data} · severity {r.rule.severity}"
            )

    fig = view.figure(highlight_rule=highlight)
    if fig is not None:  # the charts get the page's whole width; the configuration and tags sit below them
        st.plotly_chart(fig, theme="streamlit", width="stretch", key="fn_figure", config=plots.PHONE_CONFIG)
    for note in view.notes(highlight_rule=highlight):
        st.info(md(note), icon=":material/info:")
    left, right = st.columns(2, gap="medium")
    with left:
        st.subheader("Configuration", anchor=False)
        st.dataframe(view.config_table(), hide_index=True, width="stretch", height="content", key="fn_config")
    with right:
        st.subheader("Tags", anchor=False)
        tags = view.tags_table()
        if tags.empty:
            st.caption("No tags.")
        else:
            st.dataframe(tags, hide_index=True, width="stretch", height="content", key="fn_tags")

    st.subheader("Alert rules", anchor=False)
    states = view.states()
    if states.empty:
        st.caption("No alert rule applies to this function.")
    else:
        st.dataframe(
            columns.with_value_texts(states),  # each value in its rule's metric's unit, as on the Alerts page
            hide_index=True,
            width="stretch",
            key="fn_states",
            column_order=[
                "rule", "metric", "severity", "state", "since", "value_text", "last_value_text", "comparison", "threshold_text",
                "period_s", "alarm_periods", "note",
            ],
            column_config={
                "since": st.column_config.DatetimeColumn("since (UTC)", format="YYYY-MM-DD HH:mm"),
                **columns.value_text_columns(value_label="deciding value", value_help="The value that decided the entry into this state"),
                "period_s": st.column_config.NumberColumn("period (s)", format="%d"),
                "alarm_periods": st.column_config.NumberColumn("periods in ALARM", format="%d"),
            },
        )


def show_rightsizing(view: fv.FunctionView, cfg) -> None:
    """The function's right-sizing advice over the last 30 days (:mod:`dashboard.figures.rightsizing`)."""
    from dashboard.figures import cost_report
    from dashboard.figures.rightsizing import recommendations
    from dashboard.query import sources

    st.subheader("Right-sizing", anchor=False)
    c = view.config
    assert c is not None
    with st.spinner("Reading 30 days of memory use…"):
        inv = sources.inventory(cfg, accounts=[c["account"]], regions=[c["region"]]).frame
        inv = inv[inv["function"] == view.name]  # this function only: one small query per source
        frame, loaded = cost_report.rightsizing(cfg, inventory=inv)
    if loaded.failed:  # the sources' own sentences are shown above
        st.caption("Right-sizing needs 30 days of metrics and memory use, which could not all be read.")
        return
    mine = frame[frame["function"] == view.name]
    if mine.empty:
        st.caption("No right-sizing data for this function.")
        return
    r = mine.iloc[0]
    st.caption(md(str(r["data_note"])))
    advice = recommendations(mine)
    if advice.empty:
        st.caption("Nothing to recommend: memory, architecture and provisioned concurrency fit the last 30 days.")
    else:
        st.dataframe(
            advice[["kind", "advice", "monthly_usd"]],
            hide_index=True,
            width="stretch",
            key="fn_advice",
            column_config={"monthly_usd": st.column_config.NumberColumn("per month", format="dollar", help="Saving per month (negative: costs more)")},
        )


def show_list(sel: ui.Selection, cfg) -> None:
    st.title("Functions", anchor=False)
    st.caption(f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({md(sel.range_text)})")
    with ui.loading("Collecting metrics, memory and cold starts…") as doing:
        view = fv.load_list(cfg, sel)
        doing.finish(f"{view.count} functions")
    ui.show_statuses(view.loaded, what="Data")

    options = fv.filter_options(view.frame)
    c1, c2, c3 = st.columns([2, 1, 1])
    query = c1.text_input("Search functions", key="fn_search", placeholder="name, runtime, team or tag…")
    runtimes = c2.multiselect("Runtime", options["runtime"], key="fn_runtime", placeholder="All runtimes")
    archs = c3.multiselect("Architecture", options["architecture"], key="fn_arch", placeholder="All architectures")
    frame = fv.filter_functions(view.frame, query=query, runtimes=runtimes, architectures=archs)

    if frame.empty:
        st.info("No functions match this selection.", icon=":material/search_off:")
        return
    if len(frame) != view.count:
        st.caption(f"{len(frame)} of {view.count} functions")
    st.caption("Select a row to open the function.")
    shown = frame.assign(trend=columns.ending_with_data(frame["trend"])).reset_index(drop=True)
    small = {c: columns.number_column(c, width="small") for c in fv.HEALTH_COLUMNS if c in registry.REGISTRY}
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="fn_table",
        on_select="rerun",
        selection_mode="single-row",
        column_order=[c for c in fv.LIST_COLUMNS if c != "link"],
        column_config={
            **columns.metric_columns(frame, progress=["memory_used_pct"]),
            **small,
            "memory_used_pct": columns.progress_column("memory_used_pct", width="small"),
            **{k: v for k, v in columns.cost_columns(sel.range_text).items()},
            "function": st.column_config.TextColumn("function", pinned=True, width="medium", help="Select the row to open the function's page"),
            "trend": st.column_config.LineChartColumn("trend", y_min=0, color=registry.colour("invocations"), help="Invocations over the range"),
        },
    )
    drill.open_selected(event, shown, sel)
    csv = spreadsheet_csv(frame.drop(columns=["link", "trend"]))  # a tag may be "=HYPERLINK(...)"
    st.download_button("Download CSV", csv, file_name="functions.csv", mime="text/csv", key="fn_csv", icon=":material/download:")


sel = ui.selection()
cfg = st.session_state["settings"]
fn = st.query_params.get("fn")
if fn:
    with st.spinner("Loading the function's metrics, memory and alerts…"):
        who = ui.viewer()
        view = fv.load_function(cfg, sel, fn, only_teams=who.teams)
    if view.found:
        show_function(view, sel, st.query_params.get("rule"))
        show_rightsizing(view, cfg)
    else:
        st.warning(md(view.problem or f"No function {fn}."), icon=":material/search_off:")
        show_list(sel, cfg)
else:
    show_list(sel, cfg)
