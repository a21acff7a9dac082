"""Teams: the month's spend per team (month to date, forecast, last month, change), tag coverage, a team's
functions ranked, and a CSV holding the same numbers as ``python -m dashboard costs --by team --format csv``."""

from __future__ import annotations

import streamlit as st

from dashboard.figures import allocation, cost_report
from dashboard.present.links import function_link
from dashboard.present.tables import render
from dashboard.present.text import escape_markdown as md
from dashboard.web import ui

cfg = st.session_state["settings"]
st.title("Teams", anchor=False)
report = ui.month_report(cfg)
alloc = cfg.allocation
st.caption(
    f"{report.first:%Y-%m-%d} → {report.end:%Y-%m-%d} (complete UTC days) · team from tag "
    f"{md(' then '.join(alloc.tag_keys))}, then the manual map · shared cost: {alloc.shared_cost}"
)
ui.show_statuses(cost_report.usage_statuses(report), what="Usage data")

teams = cost_report.costs_table(report, cfg, by="team")
coverage = allocation.tag_coverage(report.estimate, report.inventory, tag_keys=alloc.tag_keys, manual=alloc.manual)
c1, c2, c3 = st.columns(3)
c1.metric(
    "Month to date",
    f"${teams['mtd_usd'].sum():,.2f}",
    help="The bill's complete days (our estimate when Cost Explorer is unavailable)",
)
c2.metric(
    "Tag coverage",
    "—" if coverage != coverage else f"{coverage:.1%}",
    help="Share of the estimated spend on functions whose team comes from a tag",
)
c3.metric("Teams", f"{int((teams['line'] == 'team').sum())}")
if report.tag_key:
    st.caption(f"Cost Explorer's own figure by the active tag {md(report.tag_key)} is shown beside ours.")

st.dataframe(
    teams,
    hide_index=True,
    width="stretch",
    key="teams_table",
    column_config={
        "functions": st.column_config.NumberColumn(format="%d"),
        "mtd_usd": st.column_config.NumberColumn("month to date", format="dollar"),
        "forecast_usd": st.column_config.NumberColumn("forecast", format="dollar"),
        "last_month_usd": st.column_config.NumberColumn("last month", format="dollar"),
        "change_usd": st.column_config.NumberColumn("change", format="dollar"),
        "change_pct": st.column_config.NumberColumn("change %", format="percent"),
        "share": st.column_config.NumberColumn("share", format="percent"),
        "ce_tag_usd": st.column_config.NumberColumn(
            "Cost Explorer by tag", format="dollar", help="Cost Explorer grouped by the active tag: after the free tier, so below ours where the free tier paid"
        ),
    },
)
st.download_button(
    "Download CSV",
    render(teams, "csv"),
    file_name=f"teams-{report.month}.csv",
    mime="text/csv",
    key="teams_csv",
    icon=":material/download:",
)

names = teams.loc[teams["line"].isin(["team", "untagged"]), "team"].tolist()
if names:
    st.subheader("A team's functions", anchor=False)
    team = st.selectbox("Team", names, key="teams_pick")
    ranked = cost_report.team_drilldown(report, team=team)
    ranked = ranked.assign(
        link=[function_link(a, r, f) for a, r, f in ranked[["account", "region", "function"]].itertuples(index=False)]
    )
    st.dataframe(
        ranked,
        hide_index=True,
        width="stretch",
        key="teams_functions",
        column_order=[
            "rank",
            "link",
            "region",
            "requests",
            "billed_gb_s",
            "cost_usd",
            "share_of_team",
            "lower_estimate",
        ],
        column_config={
            "link": st.column_config.LinkColumn("function", display_text=r"fn=[^/&]+/[^/&]+/([^&]+)"),
            "requests": st.column_config.NumberColumn(format="localized"),
            "billed_gb_s": st.column_config.NumberColumn("billed GB-s", format="%.1f"),
            "cost_usd": st.column_config.NumberColumn("estimate (list price)", format="dollar"),
            "share_of_team": st.column_config.NumberColumn("share", format="percent"),
        },
    )
