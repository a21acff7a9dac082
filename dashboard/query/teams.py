"""Which team owns a function: decided once, when the inventory is loaded, and read by every figure.

- :func:`team_of` / :func:`assign_teams`: the first configured tag key the function has (non-empty), else
  the manual map (``allocation.manual``), else the untagged label; :func:`team_sources` says which of the
  three it was (for the tag coverage).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["team_of", "assign_teams", "team_sources"]


def team_of(
    function: str, tags: Mapping[str, str] | None, *, tag_keys: list[str], manual: Mapping[str, str], untagged: str
) -> str:
    """The first configured tag key the function has (non-empty), else the manual map, else ``untagged``."""
    tags = tags or {}
    for key in tag_keys:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return manual.get(function) or untagged


def assign_teams(
    inventory: pd.DataFrame, *, tag_keys: list[str], manual: Mapping[str, str], untagged: str
) -> pd.Series:
    """A ``team`` value per inventory row (needs columns ``function`` and ``tags``)."""
    if inventory.empty:
        return pd.Series([], dtype="string", index=inventory.index)
    teams = [
        team_of(fn, tags, tag_keys=tag_keys, manual=manual, untagged=untagged)
        for fn, tags in zip(inventory["function"], inventory["tags"], strict=True)
    ]
    return pd.Series(teams, dtype="string", index=inventory.index)


def team_sources(inventory: pd.DataFrame, *, tag_keys: list[str], manual: Mapping[str, str]) -> pd.Series:
    """Where each row's team comes from: ``"tag:<key>"``, ``"manual"`` or ``"untagged"``."""
    out = []
    for fn, tags in zip(inventory["function"], inventory["tags"], strict=True):
        tags = tags or {}
        key = next((k for k in tag_keys if (tags.get(k) or "").strip()), None)
        out.append(f"tag:{key}" if key else ("manual" if manual.get(fn) else "untagged"))
    return pd.Series(out, dtype="string", index=inventory.index)
