"""Alerts: what is firing (or in any state) by severity, filterable, each row linked to its chart; the transitions below."""

from __future__ import annotations

import streamlit as st

from dashboard.alerts import ALARM
from dashboard.alerts.evaluation import (
    NO_RULES,
    SEVERITIES,
    SINCE_HELP,
    STATE_CHOICES,
    alert_rows,
    load_alerts,
    transition_rows,
)
from dashboard.config.settings import ConfigError
from dashboard.figures.fleet import FUNCTION_NAME
from dashboard.present.registry import plural
from dashboard.present.text import escape_markdown
from dashboard.web import columns, ui

sel = ui.selection()
cfg = st.session_state["settings"]

st.title("Alerts")
st.caption(escape_markdown(f"{sel.trange.start:%Y-%m-%d %H:%M} → {sel.trange.end:%Y-%m-%d %H:%M} UTC ({sel.range_text})"))

try:
    with ui.loading("Evaluating the alert rules…") as doing:
        got = load_alerts(cfg, sel)
        doing.finish(f"{len(got.report.states):,} rule × function states evaluated")
except ConfigError as e:
    st.error(escape_markdown(e), icon=":material/error:")
    st.stop()

ui.show_statuses(got.as_loaded(), what="Alert data")  # also feeds the sidebar's freshness panel
if got.window != sel.trange:
    st.caption(
        f"States are evaluated over {got.window.start:%Y-%m-%d %H:%M} → {got.window.end:%Y-%m-%d %H:%M} UTC "
        "(enough history for every rule's evaluation periods); transitions are those of the selected range."
    )

states = got.report.states
c1, c2, c3, c4 = st.columns(4)
want_state = c1.multiselect("State", list(STATE_CHOICES), default=[ALARM], key="al_state", placeholder="Every state")
want_sev = c2.multiselect("Severity", list(SEVERITIES), key="al_severity", placeholder="Every severity")
want_team = c3.multiselect("Team", sorted(states["team"].dropna().unique().tolist()), key="al_team", placeholder="Every team")
want_rule = c4.multiselect("Rule", [r.name for r in cfg.alerts.rules], key="al_rule", placeholder="Every rule")

rows = alert_rows(
    states, states_wanted=want_state, severities=want_sev, teams=want_team, rules=want_rule, range_text=sel.range_text
)
firing_now = int((states["state"] == ALARM).sum())
st.subheader(f"{firing_now:,} firing" if want_state == [ALARM] else f"{len(rows):,} of {plural(len(states), 'state')}")
if rows.empty:
    if not cfg.alerts.rules:
        st.info(NO_RULES, icon=":material/info:")
    elif want_state == [ALARM] and not (want_sev or want_team or want_rule):
        unread = int(states["unread"].fillna(False).sum()) if len(states) else 0
        if unread:  # data could not be read: no "all clear" is derived from it
            st.warning(
                f"No alert is firing among what could be read; {plural(unread, 'state')} could not be evaluated (said above).",
                icon=":material/help:",
            )
        else:
            st.success("No alert is firing.", icon=":material/check_circle:")
    else:
        st.info("No alert matches these filters.")
else:
    st.dataframe(
        columns.with_value_texts(rows),  # each value in its rule's metric's unit, as the digest writes it
        hide_index=True,
        width="stretch",
        column_order=[
            "link", "severity", "state", "rule", "region", "team", "since", "value_text", "last_value_text", "condition_text", "note",
        ],
        column_config={
            "link": st.column_config.LinkColumn("function", display_text=FUNCTION_NAME, help="Open the chart that shows it", pinned=True),
            "since": st.column_config.DatetimeColumn("since (UTC)", format="YYYY-MM-DD HH:mm", help=SINCE_HELP),
            **columns.value_text_columns(value_help="The value that decided the entry into this state"),
        },
    )

st.subheader("Transitions in the range")
trans = transition_rows(got.report, severities=want_sev, teams=want_team, rules=want_rule, range_text=sel.range_text)
if trans.empty:
    st.info("No alert changed state in this range.")
else:
    st.dataframe(
        columns.with_value_texts(trans),
        hide_index=True,
        width="stretch",
        column_order=["timestamp", "link", "severity", "rule", "region", "from_state", "to_state", "value_text"],
        column_config={
            "timestamp": st.column_config.DatetimeColumn("at (UTC)", format="YYYY-MM-DD HH:mm"),
            "link": st.column_config.LinkColumn("function", display_text=FUNCTION_NAME, help="Open the chart that shows it"),
            "from_state": "from",
            "to_state": "to",
            **columns.value_text_columns(value_help="The value that decided the change"),
        },
    )
