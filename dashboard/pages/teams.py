"""Teams: the month's spend per team (month to date, forecast, last month, change) as a chart and a table whose
shares add up to 100 %, the shared lines in one sentence, the organisation's top functions by cost across teams,
a team's functions ranked, and a CSV holding the same numbers as ``python -m dashboard costs --by team --format csv``."""

from __future__ import annotations

import streamlit as st

from dashboard.figures import allocation, cost_report, cost_views
from dashboard.present import cost_tables, spend_plots
from dashboard.present.links import function_link
from dashboard.present.registry import plural
from dashboard.present.tables import spreadsheet_csv
from dashboard.present.text import escape_markdown as md
from dashboard.web import ui

FN_TEXT = r"fn=[^/&]+/[^/&]+/([^&]+)"
MONEY = {
    "mtd_usd": st.column_config.NumberColumn("month to date", format="dollar"),
    "forecast_usd": st.column_config.NumberColumn("forecast", format="dollar", help="Month to date plus the team's part of the forecast to month end"),
    "last_month_usd": st.column_config.NumberColumn("last month", format="dollar"),
    "change_usd": st.column_config.NumberColumn("change", format="dollar", help="Forecast − last month"),
    "change_pct": st.column_config.NumberColumn("change %", format="percent"),
}

cfg = st.session_state["settings"]
st.title("Teams", anchor=False)
report = ui.month_report(cfg)
alloc = cfg.allocation
st.caption(
    f"{report.first:%Y-%m-%d} → {report.end:%Y-%m-%d} (complete UTC days of the calendar month) · team from tag "
    f"{md(' then '.join(alloc.tag_keys))}, then the manual map · shared cost: {alloc.shared_cost}"
)
ui.show_statuses(cost_report.usage_statuses(report), what="Usage data")

teams = cost_report.costs_table(report, cfg, by="team")
rows = cost_tables.team_rows(teams)
coverage = allocation.tag_coverage(report.estimate, report.inventory, tag_keys=alloc.tag_keys, manual=alloc.manual)
c1, c2, c3 = st.columns(3)
c1.metric(
    "Month to date",
    f"${cost_views.team_totals(teams).total_usd:,.2f}",
    help="The bill's complete days (our estimate when Cost Explorer is unavailable), shared lines included",
)
c2.metric(
    "Tag coverage",
    "—" if coverage != coverage else f"{coverage:.1%}",
    help="Share of the estimated spend on functions whose team comes from a tag",
)
c3.metric("Teams", f"{int((teams['line'] == 'team').sum()):,}")

st.subheader("Cost by team", anchor=False)
if rows.empty:
    st.info("No team has functions in this selection.")
else:
    st.plotly_chart(spend_plots.team_figure(teams), theme="streamlit", width="stretch", key="teams_figure", config=spend_plots.PHONE_CONFIG)
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key="teams_table",
        column_config={
            "team": st.column_config.TextColumn("team", pinned=True),
            "functions": st.column_config.NumberColumn("functions", format="%d"),
            **MONEY,
            "share": st.column_config.NumberColumn("share", format="percent", help="Of the teams' month to date: the shares add up to 100 %"),
            "ce_tag": st.column_config.TextColumn(
                f"Cost Explorer by tag {report.tag_key}" if report.tag_key else "Cost Explorer by tag",
                help="Cost Explorer's own figure grouped by the active cost-allocation tag, after the free tier: where the free "
                "tier paid a team's usage it says $0.00 (free tier); — where Cost Explorer has no figure, with why (the tag not "
                "activated, no row yet for the tag value, a team not from this tag, a filter, or the bill not read); the "
                "sentence under the table says it in full",
            ),
            "note": st.column_config.TextColumn("note", help="rate assumed: part of the figure used a price not verified for its region (see the Costs page)"),
        },
    )
    st.caption(md(cost_tables.shared_sentence(teams, bill=report.ce_ok)))
    # as the CLI: only when the bill was read; otherwise the sentence at the top already says why it has no figure
    ce_note = cost_tables.ce_tag_sentence(teams, tag_key=report.tag_key) if report.ce_ok else None
    if ce_note:
        st.caption(md(ce_note))
st.download_button(
    "Download CSV",
    spreadsheet_csv(teams),
    file_name=f"teams-{report.month}.csv",
    mime="text/csv",
    key="teams_csv",
    icon=":material/download:",
)

st.subheader("Top functions by cost, every team", anchor=False)
top = cost_tables.function_rows(cost_views.top_functions(cost_report.costs_table(report, cfg, by="function")), cost="est_cost_usd")
if top.empty:
    st.caption("No function has cost this month.")
else:
    top = top.assign(link=[function_link(a, r, f) for a, r, f in top[["account", "region", "function"]].itertuples(index=False)])
    st.dataframe(
        top,
        hide_index=True,
        width="stretch",
        key="teams_top",
        column_order=["rank", "link", "team", "est_cost_usd", "share", "last_month_usd"],
        column_config={
            "rank": st.column_config.NumberColumn("#", format="%d"),
            "link": st.column_config.LinkColumn("function", display_text=FN_TEXT, pinned=True),
            "est_cost_usd": st.column_config.NumberColumn("estimate (list price)", format="dollar"),
            "share": st.column_config.NumberColumn("share of all", format="percent", help="Of every function's estimated cost this month"),
            "last_month_usd": st.column_config.NumberColumn("last month", format="dollar"),
        },
    )

names = rows["team"].tolist()
if names:
    st.subheader("A team's functions", anchor=False)
    team = st.selectbox("Team", names, key="teams_pick")
    ranked = cost_tables.function_rows(cost_report.team_drilldown(report, team=team), cost="cost_usd")
    ranked = ranked.assign(
        link=[function_link(a, r, f) for a, r, f in ranked[["account", "region", "function"]].itertuples(index=False)]
    )
    st.caption(md(f"{team}: {plural(len(ranked), 'function')}, ranked by estimated cost."))
    st.dataframe(
        ranked,
        hide_index=True,
        width="stretch",
        key="teams_functions",
        column_order=["rank", "link", "region", "requests", "billed_gb_s", "cost_usd", "share_of_team", "note"],
        column_config={
            "rank": st.column_config.NumberColumn("#", format="%d"),
            "link": st.column_config.LinkColumn("function", display_text=FN_TEXT, pinned=True),
            "requests": st.column_config.NumberColumn(format="localized"),
            "billed_gb_s": st.column_config.NumberColumn("billed GB-s", format="%,.1f"),
            "cost_usd": st.column_config.NumberColumn("estimate (list price)", format="dollar"),
            "share_of_team": st.column_config.NumberColumn("share", format="percent"),
            "note": st.column_config.TextColumn(
                "note",
                help="lower bound: the Duration metric lacks INIT, or rounding or provisioned concurrency was not seen, so the bill is "
                "probably higher; rate assumed: a price not verified for its region",
            ),
        },
    )
