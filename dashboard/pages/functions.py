"""Functions: every function of the selection with its headline numbers over the range."""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.summary import function_summary

sel = ui.selection()
cfg = st.session_state["settings"]

st.title("Functions")
st.caption(f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({sel.range_text})")

with st.status("Collecting metrics, memory and cold starts…", expanded=False) as status:
    loaded = function_summary(cfg, sel.trange, accounts=sel.accounts or None, regions=sel.regions or None, teams=sel.teams or None)
    status.update(label=f"{len(loaded.frame)} functions", state="complete")

ui.show_statuses(loaded, what="Data")

query = st.text_input("Search functions", key="fn_search", placeholder="name contains…")
frame = loaded.frame
if query:
    frame = frame[frame["function"].str.contains(query, case=False, regex=False)]

if frame.empty:
    st.info("No functions match this selection.")
else:
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "memory_mb": st.column_config.NumberColumn("memory (MB)", format="%d"),
            "invocations": st.column_config.NumberColumn(format="%d"),
            "errors": st.column_config.NumberColumn(format="%d"),
            "error_rate": st.column_config.NumberColumn("error rate", format="%.2f %%"),
            "throttles": st.column_config.NumberColumn(format="%d"),
            "duration_avg_ms": st.column_config.NumberColumn("avg (ms)", format="%.1f"),
            "duration_p99_ms": st.column_config.NumberColumn("p99 (ms)", format="%.1f"),
            "duration_max_ms": st.column_config.NumberColumn("max (ms)", format="%.1f"),
            "concurrency_max": st.column_config.NumberColumn("peak concurrency", format="%d"),
            "cold_starts": st.column_config.NumberColumn("cold starts", format="%d"),
            "max_memory_used_mb": st.column_config.NumberColumn("max memory (MB)", format="%d"),
            "memory_used_pct": st.column_config.ProgressColumn("memory used", format="%.0f %%", min_value=0, max_value=100),
            "billed_gb_seconds": st.column_config.NumberColumn("billed GB-s", format="%.1f"),
        },
    )
    st.download_button("Download CSV", frame.to_csv(index=False), file_name="functions.csv", mime="text/csv")
