"""Frames as text for the CLI: an aligned table, JSON (a list of flat objects) or CSV."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime

import pandas as pd

__all__ = ["render", "FORMATS", "spreadsheet_safe", "jsonable", "records"]

FORMATS = ("table", "json", "csv")


def jsonable(v):
    """One value for JSON: None for every kind of missing (None, NA, NaT, NaN: unknown, never 0), ISO 8601
    for times (in UTC when they have a zone) and dates, plain Python for numpy scalars."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return (v.tz_convert(UTC) if v.tzinfo is not None else v).isoformat()
    if isinstance(v, datetime):
        return (v.astimezone(UTC) if v.tzinfo is not None else v).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "item"):  # numpy scalars
        return jsonable(v.item())
    return v


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame as a list of flat objects, every value :func:`jsonable` (the CLI's ``--format json``)."""
    return [{str(k): jsonable(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


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
        return json.dumps(records(frame), indent=2, ensure_ascii=False)
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
