"""Frames as text for the CLI: an aligned table, JSON (a list of flat objects) or CSV."""

from __future__ import annotations

import json
import math

import pandas as pd

__all__ = ["render", "FORMATS", "spreadsheet_safe"]

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


def _visible(v):
    """A text cell for a terminal: control characters (CR/LF that would forge rows, ESC that would drive the
    terminal) shown escaped, e.g. ``\\r\\n``; everything else unchanged."""
    if isinstance(v, str) and not v.isprintable():
        return "".join(c if c.isprintable() else repr(c)[1:-1] for c in v)
    return v


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for a CSV meant for spreadsheets: text cells a spreadsheet would run as a formula (first
    character ``= + - @``, tab or CR, e.g. a tag value ``=HYPERLINK(...)``) get a leading ``'`` (OWASP's
    advice). The CLI's ``--format csv`` is for programs and stays verbatim."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v, na_action="ignore")
    return out


def render(frame: pd.DataFrame, fmt: str, *, float_digits: int = 4) -> str:
    if fmt == "json":
        rows = [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt == "csv":
        return frame.to_csv(index=False, float_format=f"%.{float_digits}f", date_format="%Y-%m-%dT%H:%M:%SZ")
    if fmt == "table":
        if frame.empty:
            return "(no rows)"
        text_cols = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
        if text_cols:
            frame = frame.assign(**{c: frame[c].map(_visible, na_action="ignore") for c in text_cols})
        return frame.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.{2}f}")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
