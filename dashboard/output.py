"""Frames as text for the CLI: an aligned table, JSON (a list of flat objects) or CSV."""

from __future__ import annotations

import json
import math

import pandas as pd

__all__ = ["render", "FORMATS"]

FORMATS = ("table", "json", "csv")


def _jsonable(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return _jsonable(v.item())
    return v


def render(frame: pd.DataFrame, fmt: str, *, float_digits: int = 4) -> str:
    if fmt == "json":
        rows = [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return frame.to_csv(index=False, float_format=f"%.{float_digits}f", date_format="%Y-%m-%dT%H:%M:%SZ")
    if fmt == "table":
        if frame.empty:
            return "(no rows)"
        return frame.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.{2}f}")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
