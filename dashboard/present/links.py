"""Deep links between pages: the page, function, range, team and rule live in the URL.

A pasted link shows the same view: ``functions?fn=demo/us-east-1/payments-api&range=24h``.
Function keys are ``account/region/name`` (Lambda names cannot hold "/").
"""

from __future__ import annotations

from urllib.parse import urlencode

__all__ = ["function_key", "parse_function_key", "function_link", "page_link"]


def function_key(account: str, region: str, function: str) -> str:
    return f"{account}/{region}/{function}"


def parse_function_key(key: str | None) -> tuple[str, str, str] | None:
    """``(account, region, function)`` from a key, or None when it is not one."""
    if not key:
        return None
    parts = key.split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def page_link(page: str, **params: str | list[str] | None) -> str:
    """A relative URL to ``page`` (its url_path) with the given query parameters (None and [] dropped)."""
    clean = {k: v for k, v in params.items() if v not in (None, "", [])}
    query = urlencode(clean, doseq=True, safe="/")
    return f"{page}?{query}" if query else page


def function_link(account: str, region: str, function: str, *, range_text: str | None = None, rule: str | None = None) -> str:
    """The function page of one function, optionally scrolled to the chart of one alert rule."""
    return page_link("functions", fn=function_key(account, region, function), range=range_text, rule=rule)
