"""Lambda Lens: the router and frame. Pages live in dashboard/pages; the logic in dashboard/."""

from __future__ import annotations

import uuid

import streamlit as st

from aws import cache, refresh
from aws.concurrency import deadline
from aws.meter import METER
from dashboard.query.sources import inventory
from dashboard.web import ui

FRAME_WAIT_S = 10.0  # the team filter waits this long for the function list; the page's own load waits its deadline

st.set_page_config(page_title="Lambda Lens", page_icon=":material/monitoring:", layout="wide")

scope = st.session_state.setdefault("meter_scope", uuid.uuid4().hex)
st.session_state["_statuses"] = []

with METER.scope(scope):
    cfg = ui.load_settings()
    refresh.start(cfg.aws.monthly_budget_usd, refresh_deadline_s=cfg.aws.refresh_deadline_s, ledger=ui.spend_ledger(cfg))  # what viewers look at, kept fresh
    who = ui.sign_in(cfg)  # with sign-in on, stops at the sign-in page before any AWS call
    with deadline(FRAME_WAIT_S):  # the frame (sidebar, navigation) never waits long on one slow account
        inv = inventory(cfg)
    ui.note(inv)
    teams = sorted(set(inv.frame["team"].dropna().tolist()))
    st.session_state["settings"] = cfg
    st.session_state["viewer"] = who
    pages = [
        st.Page("dashboard/pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("dashboard/pages/functions.py", title="Functions", icon=":material/list:", url_path="functions"),
        st.Page("dashboard/pages/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
        st.Page("dashboard/pages/costs.py", title="Costs", icon=":material/payments:", url_path="costs"),
        st.Page("dashboard/pages/teams.py", title="Teams", icon=":material/groups:", url_path="teams"),
    ]
    page = st.navigation(pages)  # first, so the sidebar knows whether the page shows a calendar month
    st.session_state["selection"] = ui.sidebar(cfg, teams, who, month_page=page.url_path in ui.MONTH_PAGES)

    if cfg.is_demo:
        st.info(
            "Demo data: this is a simulated AWS account. Add your account to config.yaml to see your own functions.",
            icon=":material/science:",
        )

    with st.sidebar:
        if st.button("Refresh", key="refresh", icon=":material/refresh:", help="Ask AWS again for metrics, logs and the inventory (Cost Explorer keeps its 6 h cache; its answers change ≤ 3 times a day)"):
            for source in ("metrics", "logs", "insights", "inventory", "tags"):
                cache.refresh(source_name=source)

    ui.page_style()
    page.run()

ui.freshness_panel()
ui.meter_panel(scope)
