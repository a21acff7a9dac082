"""Team allocation: which team owns a function, from its tags, a manual map, or "untagged"."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["team_of", "assign_teams"]


def team_of(function: str, tags: Mapping[str, str] | None, *, tag_keys: list[str], manual: Mapping[str, str], untagged: str) -> str:
    """The first configured tag key the function has (non-empty), else the manual map, else ``untagged``."""
    tags = tags or {}
    for key in tag_keys:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return manual.get(function) or untagged


def assign_teams(inventory: pd.DataFrame, *, tag_keys: list[str], manual: Mapping[str, str], untagged: str) -> pd.Series:
    """A ``team`` value per inventory row (needs columns ``function`` and ``tags``)."""
    if inventory.empty:
        return pd.Series([], dtype="string", index=inventory.index)
    teams = [
        team_of(fn, tags, tag_keys=tag_keys, manual=manual, untagged=untagged)
        for fn, tags in zip(inventory["function"], inventory["tags"], strict=True)
    ]
    return pd.Series(teams, dtype="string", index=inventory.index)
