"""Typed, tidy frames: every collector declares its columns and dtypes once.

``typed_frame(rows, SCHEMA)`` builds the frame with exactly those columns in that
order and those dtypes, and gives an empty frame of the same shape when there
are no rows, never ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["typed_frame", "UTC_TS"]

UTC_TS = "datetime64[ns, UTC]"


def typed_frame(rows: Iterable[Mapping] | pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """A frame with the schema's columns (in order) and dtypes; missing columns become NA."""
    frame = rows.reset_index(drop=True) if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for col in schema:
        if col not in frame.columns:
            frame[col] = pd.NA
    frame = frame[list(schema)]
    out = {}
    for col, dtype in schema.items():
        s = frame[col]
        if dtype == UTC_TS:
            out[col] = pd.to_datetime(s, utc=True).astype(UTC_TS)
        elif dtype in ("float64", "float32"):
            out[col] = pd.to_numeric(s, errors="coerce").astype(dtype)
        elif dtype == "object":
            out[col] = s.astype("object")
        else:
            out[col] = s.astype(dtype)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
