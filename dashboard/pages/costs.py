"""Costs: the month's spend from Cost Explorer with the forecast, by usage type, the reconciliation with our
estimate, and the right-sizing recommendations. Layout only: the numbers come from :mod:`dashboard.figures.cost_report`."""

from __future__ import annotations

import streamlit as st

from dashboard.figures import cost_report, cost_views
from dashboard.figures import reconcile as rc
from dashboard.figures.rightsizing import recommendations
from dashboard.present import cost_tables, spend_plots
from dashboard.present.links import function_link
from dashboard.present.tables import spreadsheet_csv
from dashboard.present.text import escape_markdown as md
from dashboard.web import ui

cfg = st.session_state["settings"]
st.title("Costs", anchor=False)
report = ui.month_report(cfg)
st.caption(
    f"{report.first:%Y-%m-%d} → {report.end:%Y-%m-%d} (complete UTC days of the calendar month) · prices at list, "
    "free tier as its own line"
)
ui.show_statuses(cost_report.usage_statuses(report), what="Usage data")
if report.assumed_note:
    st.info(md(report.assumed_note), icon=":material/price_change:")

rec = report.reconciliation()
month_rec = rc.month(rec)
c1, c2, c3, c4 = st.columns(4)
today_part = report.today_usd
c1.metric(
    "Bill, month to date",
    "—" if report.bill_usd is None else f"${report.bill_usd:,.2f}",
    help="Cost Explorer's AWS Lambda spend from the 1st through today, today so far included"
    + ("" if today_part is None else f" (today so far: ${today_part:,.2f}, an estimate until the bill is final)"),
)
c2.metric(
    "Forecast to month end",
    f"${report.month_end_usd:,.2f}",
    help="The complete days plus Cost Explorer's forecast for the days left (our run rate without it)",
)
c3.metric("Our estimate", f"${month_rec.explained_usd:,.2f}", help="Usage × list prices, after the free tier, over the complete days")
c4.metric("Explained", "—" if month_rec.explained_share is None else f"{month_rec.explained_share:.1%}")
if report.forecast_missing and not report.bill_hidden:
    st.warning(md(report.forecast_missing), icon=":material/trending_up:")

st.subheader("Spend this month", anchor=False)
st.plotly_chart(
    spend_plots.spend_figure(report),
    theme="streamlit",
    width="stretch",
    key="costs_figure",
    config=spend_plots.PHONE_CONFIG,
)
if note := cost_views.forecast_note(report):
    st.caption(md(note))

st.subheader("Reconciliation", anchor=False)
st.markdown(md(month_rec.sentence()))
rec_shown = cost_tables.cents(rec, ["estimate_usd", "free_tier_usd", "explained_usd", "actual_usd"])
rec_shown = cost_tables.cents(rec_shown, ["unexplained_usd"], digits=4)  # no "-$0.0000"
st.dataframe(
    rec_shown.drop(columns=["account"]) if rec["account"].nunique() <= 1 else rec_shown,
    hide_index=True,
    width="stretch",
    key="costs_reconcile",
    column_config={
        "date": st.column_config.DateColumn("day (UTC)", pinned=True),
        "estimate_usd": st.column_config.NumberColumn("estimate", format="dollar"),
        "free_tier_usd": st.column_config.NumberColumn("free tier", format="dollar"),
        "explained_usd": st.column_config.NumberColumn("explained", format="dollar"),
        "actual_usd": st.column_config.NumberColumn("bill", format="dollar"),
        "unexplained_usd": st.column_config.NumberColumn("unexplained", format="$%.4f"),
        "unexplained_share": st.column_config.NumberColumn("unexplained share", format="percent"),
        "actual_estimated": st.column_config.CheckboxColumn("bill not final"),
        "lower_estimate": st.column_config.CheckboxColumn(
            "lower bound", help="The estimate is a lower bound that day: the Duration metric lacks INIT, or rounding or provisioned concurrency was not seen"
        ),
    },
)

st.subheader("By usage type", anchor=False)
types = cost_report.costs_table(report, cfg, by="usage-type")
st.dataframe(
    types,
    hide_index=True,
    width="stretch",
    key="costs_usage_types",
    column_config={
        "usage_type": st.column_config.TextColumn("usage type", pinned=True, width="medium"),
        "est_usage_quantity": st.column_config.NumberColumn("estimated quantity", format="localized"),
        "est_cost_usd": st.column_config.NumberColumn("estimate (list price)", format="dollar"),
        "actual_usage_quantity": st.column_config.NumberColumn("billed quantity", format="localized"),
        "actual_cost_usd": st.column_config.NumberColumn("bill", format="dollar"),
    },
)
st.download_button(
    "Download CSV",
    spreadsheet_csv(types),
    file_name=f"costs-usage-types-{report.month}.csv",
    mime="text/csv",
    key="costs_csv",
    icon=":material/download:",
)

pc_rows = cost_report.provisioned_table(report)
if not pc_rows.empty:
    st.subheader("Provisioned concurrency", anchor=False)
    st.caption(
        "Enabled time and level from what AWS records: Application Auto Scaling's activities and the configs "
        "(recorded), CloudWatch's provisioned-concurrency metrics (metrics), or today's setting where nothing "
        "records it (assumed constant: see the notes above)."
    )
    st.dataframe(
        pc_rows,
        hide_index=True,
        width="stretch",
        key="costs_provisioned",
        column_config={
            "function": st.column_config.TextColumn("function", pinned=True),
            "pc_basis": st.column_config.TextColumn("rests on"),
            "level_max": st.column_config.NumberColumn("highest level"),
            "enabled_gb_s": st.column_config.NumberColumn("enabled GB-s", format="localized"),
            "executing_gb_s": st.column_config.NumberColumn("executing GB-s", format="localized"),
            "provisioned_usd": st.column_config.NumberColumn("cost (list price)", format="dollar"),
        },
    )

st.subheader("Recommendations", anchor=False)
st.caption(
    "From the last 30 days: memory from the 99th percentile of max memory used + 20 %, arm64 what-ifs (estimates to validate), idle provisioned concurrency, unused functions."
)
with st.spinner("Reading 30 days of memory use…"):
    rs, rs_loaded = cost_report.rightsizing(cfg, inventory=report.inventory)
ui.show_statuses(rs_loaded, what="Right-sizing data")
advice = recommendations(rs)
if advice.empty:
    st.caption("Nothing to recommend.")
else:
    advice = advice.assign(
        kind=advice["kind"].str.replace("_", " "),
        link=[
            function_link(a, r, f, range_text="30d")
            for a, r, f in advice[["account", "region", "function"]].itertuples(index=False)
        ]
    )
    st.dataframe(
        advice,
        hide_index=True,
        width="stretch",
        key="costs_advice",
        column_order=["link", "kind", "advice", "monthly_usd", "note"],
        row_height=72,  # taller rows let the advice and the note wrap instead of being cut off
        column_config={
            "link": st.column_config.LinkColumn("function", display_text=r"fn=[^/&]+/[^/&]+/([^&]+)", pinned=True),
            "advice": st.column_config.TextColumn("advice", width="large"),
            "note": st.column_config.TextColumn("note", width="medium"),
            "monthly_usd": st.column_config.NumberColumn(
                "per month", format="dollar", help="Saving per month (negative: costs more)"
            ),
        },
    )
