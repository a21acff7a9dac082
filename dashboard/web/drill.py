"""In-app drill-down to a function's page: same tab, same session, the filters kept, the URL still a deep link.

A ``LinkColumn`` (and a markdown link) opens a new browser tab, which is a new session that loads everything
again; :func:`function_link` (``st.page_link``) and :func:`open_selected` (a table's selected row,
``st.switch_page``) navigate inside the app instead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.present.links import function_key
from dashboard.query.selection import Selection

__all__ = ["FUNCTIONS_PAGE", "params", "function_params", "function_link", "open_selected"]

FUNCTIONS_PAGE = "dashboard/pages/functions.py"


def params(sel: Selection) -> dict[str, Any]:
    """The selection's filters as query parameters (what the sidebar reads back)."""
    out = {"range": sel.range_text, "account": list(sel.accounts), "region": list(sel.regions), "team": list(sel.teams)}
    return {k: v for k, v in out.items() if v}


def function_params(sel: Selection, account: str, region: str, function: str, *, rule: str | None = None) -> dict[str, Any]:
    """The query parameters of one function's page over the selection, optionally opened at an alert rule's panel."""
    return {"fn": function_key(account, region, function), **params(sel), **({"rule": rule} if rule else {})}


def function_link(sel: Selection, row: Any, label: str, *, icon: str | None = None, rule: str | None = None, help: str | None = None) -> None:
    """An ``st.page_link`` to the function of ``row`` (with account, region, function)."""
    st.page_link(
        FUNCTIONS_PAGE,
        label=label,
        icon=icon,
        help=help,
        query_params=function_params(sel, str(row["account"]), str(row["region"]), str(row["function"]), rule=rule),
    )


def open_selected(event: Any, frame: pd.DataFrame, sel: Selection) -> None:
    """When a row of ``frame`` is selected in an ``st.dataframe(on_select="rerun", selection_mode="single-row")``,
    open its function's page in the app (rows of ``frame`` in the order shown to the dataframe)."""
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if not rows or rows[0] >= len(frame):
        return
    row = frame.iloc[rows[0]]
    st.switch_page(FUNCTIONS_PAGE, query_params=function_params(sel, str(row["account"]), str(row["region"]), str(row["function"])))
