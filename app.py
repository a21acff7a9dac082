"""Lambda Lens: the router and frame. Pages live in dashboard/pages; the logic in dashboard/."""

from __future__ import annotations

import streamlit as st

from aws import cache
from dashboard import ui
from dashboard.data import inventory

st.set_page_config(page_title="Lambda Lens", page_icon=":material/monitoring:", layout="wide")

cfg = ui.load_settings()
inv = inventory(cfg)
teams = sorted(set(inv.frame["team"].dropna().tolist()))
st.session_state["selection"] = ui.sidebar(cfg, teams)
st.session_state["settings"] = cfg

if cfg.is_demo:
    st.info("Demo data: this is a simulated AWS account. Add your account to config.yaml to see your own functions.", icon=":material/science:")

with st.sidebar:
    if st.button("Refresh", key="refresh", help="Ask AWS again for the data on this page (cached answers are kept as a fallback)"):
        cache.refresh(source_name="metrics")
        cache.refresh(source_name="logs")
        cache.refresh(source_name="insights")
        cache.refresh(source_name="inventory")
        cache.refresh(source_name="tags")

pages = [st.Page("dashboard/pages/functions.py", title="Functions", icon=":material/list:", url_path="functions", default=True)]
page = st.navigation(pages)
page.run()
ui.meter_panel()
