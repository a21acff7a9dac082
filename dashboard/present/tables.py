"""Frames as text for the CLI: an aligned table, JSON (a list of flat objects) or CSV.

Numbers of a column the metric registry knows are written in its unit: in a table as every page writes
them (``24,996``, ``7.5 min``, ``12.50 %``), in a CSV as plain numbers at the unit's precision (counts as
integers, durations to the microsecond, money to 6 decimals); unknown is an empty CSV cell, never 0.
"""

from __future__ import annotations

import functools
import json
import math
from datetime import UTC, date, datetime

import pandas as pd

from dashboard.present import registry
from dashboard.present.text import one_line

__all__ = ["render", "csv_text", "spreadsheet_csv", "FORMATS", "spreadsheet_safe", "jsonable", "records"]

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
    """A text cell for a terminal: :func:`dashboard.present.text.one_line` (CR/LF cannot forge rows)."""
    return one_line(v) if isinstance(v, str) else v


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for a CSV meant for spreadsheets: text cells a spreadsheet would run as a formula (first
    character ``= + - @``, tab or CR, e.g. a tag value ``=HYPERLINK(...)``) get a leading ``'`` (OWASP's
    advice). The CLI's ``--format csv`` is for programs and stays verbatim."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v, na_action="ignore")
    return out


DEFAULT_DIGITS = 4  # decimals in a CSV of a float column the registry does not know


def _plain(v, digits: int) -> str:
    """A number for a CSV: ``digits`` decimals at most, no trailing zeros (``24919``, ``1.5``); ``""`` when missing."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    text = f"{float(v):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _digits(column: str) -> int:
    return registry.unit(column).digits if column in registry.REGISTRY else DEFAULT_DIGITS


def _floats(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c].dtype)]


def csv_text(frame: pd.DataFrame, *, lineterminator: str = "\n") -> str:
    """``frame`` as CSV with every float at its unit's precision (the registry's digits; :data:`DEFAULT_DIGITS`
    for a column it does not know): ``24919``, ``0.123457``, never ``24919.0`` or 17 digits; unknown is empty."""
    numbers = {c: frame[c].map(functools.partial(_plain, digits=_digits(c))) for c in _floats(frame)}
    return frame.assign(**numbers).to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator=lineterminator)


def spreadsheet_csv(frame: pd.DataFrame) -> str:
    """A page's "Download CSV": :func:`csv_text` of :func:`spreadsheet_safe` (numbers at the registry's precision,
    a name or tag from AWS that a spreadsheet would run as a formula made text)."""
    return csv_text(spreadsheet_safe(frame))


def render(frame: pd.DataFrame, fmt: str) -> str:
    """``frame`` as ``table``, ``json`` or ``csv`` text (see the module docstring for the numbers)."""
    if fmt == "json":
        return json.dumps(records(frame), indent=2, ensure_ascii=False)
    if fmt == "csv":
        return csv_text(frame)
    if fmt == "table":
        if frame.empty:
            return "(no rows)"
        text_cols = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
        known = {c: frame[c].map(lambda v, c=c: registry.format(c, v)) for c in _floats(frame) if c in registry.REGISTRY}
        frame = frame.assign(**{c: frame[c].map(_visible, na_action="ignore") for c in text_cols}, **known)
        return frame.to_string(index=False, na_rep="-", float_format=lambda x: f"{x:,.{2}f}")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
