"""The REPORT-line parser: one Lambda invocation report, text or JSON log format, as a dict.

Lambda writes one report per invocation to ``/aws/lambda/<name>`` (or the function's
custom log group), in the format the function's logging config selects:

- text: ``REPORT RequestId: <id>\\tDuration: 102.25 ms\\tBilled Duration: 103 ms\\t
  Memory Size: 128 MB\\tMax Memory Used: 70 MB\\tInit Duration: 150.20 ms`` — Init
  Duration on cold starts only; SnapStart adds ``Restore Duration`` / ``Billed Restore
  Duration``; a timeout or crash adds ``Status: timeout`` or ``Status: error\\tError Type:
  Runtime.ExitError``. Fields are separated by tabs (some tools print spaces), lines
  may end in a tab or CRLF, and an XRAY line may follow in the same event.
- JSON (Telemetry API ``platform.report`` event): ``{"time": ..., "type":
  "platform.report", "record": {"requestId", "status", "errorType"?, "metrics":
  {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
  "initDurationMs"?, "restoreDurationMs"?, "billedRestoreDurationMs"?}}}``.

Either may be preceded by a timestamp (or a stream name and a timestamp) when the
line comes from a file or a CLI tail.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["parse_report", "REPORT_KEYS"]

# Every dict parse_report returns has exactly these keys (None when absent).
REPORT_KEYS = (
    "format",
    "request_id",
    "timestamp",
    "duration_ms",
    "billed_duration_ms",
    "memory_size_mb",
    "max_memory_used_mb",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "cold_start",
    "status",
    "error_type",
)

# "REPORT" as a word (so INIT_REPORT / XREPORT never match), then RequestId.
_HEAD = re.compile(r"(?<!\S)REPORT[ \t]+RequestId:")
# Labels are tried longest first at each position, so "Billed Duration" is never read as "Duration".
_FIELD = re.compile(
    r"(?<![A-Za-z])(Billed Restore Duration|Restore Duration|Billed Duration|Init Duration|"
    r"Max Memory Used|Memory Size|Duration):[ \t]*(\d+(?:\.\d*)?)"
)
_STATUS = re.compile(r"(?<![A-Za-z])Status:[ \t]*([A-Za-z_]+)")
_ERROR_TYPE = re.compile(r"(?<![A-Za-z])Error Type:[ \t]*(\S+)")

_TEXT_KEYS = {
    "Duration": "duration_ms",
    "Billed Duration": "billed_duration_ms",
    "Memory Size": "memory_size_mb",
    "Max Memory Used": "max_memory_used_mb",
    "Init Duration": "init_duration_ms",
    "Restore Duration": "restore_duration_ms",
    "Billed Restore Duration": "billed_restore_duration_ms",
}
_JSON_KEYS = {
    "durationMs": "duration_ms",
    "billedDurationMs": "billed_duration_ms",
    "memorySizeMB": "memory_size_mb",
    "maxMemoryUsedMB": "max_memory_used_mb",
    "initDurationMs": "init_duration_ms",
    "restoreDurationMs": "restore_duration_ms",
    "billedRestoreDurationMs": "billed_restore_duration_ms",
}
_MAX_PREFIX_TOKENS = 4  # e.g. "2023/06/02/[72]abc 2023-06-02T11:27:25.060000"


def parse_report(line: str) -> dict[str, Any] | None:
    """One REPORT line (text or JSON format) as a dict, or None when the line is not a report.

    Keys (all always present, None when absent): ``format`` ("text" | "json"),
    ``request_id``, ``timestamp`` (tz-aware UTC datetime from a JSON record's "time",
    None for text), ``duration_ms``, ``billed_duration_ms``, ``memory_size_mb``,
    ``max_memory_used_mb``, ``init_duration_ms``, ``restore_duration_ms``,
    ``billed_restore_duration_ms`` (numbers as float), ``cold_start`` (True when an
    init or a restore duration is present), ``status`` ("success" when a text line has
    none; the record's value, or None, in JSON) and ``error_type``.

    START / END / INIT_REPORT lines, application output, other platform events, and a
    REPORT without a Duration give None. Never raises on a str.
    """
    if not isinstance(line, str):
        return None
    text = line.lstrip()
    if not text:
        return None
    brace = text.find("{")
    if brace >= 0 and _is_prefix(text[:brace]):
        return _parse_json(text[brace:])
    first = text.split("\n", 1)[0]
    m = _HEAD.search(first)
    if m is None or not _is_prefix(first[: m.start()]):
        return None
    return _parse_text(first[m.end() :].rstrip("\r"))


def _is_prefix(prefix: str) -> bool:
    """An empty prefix, or a few tokens that look like timestamps / stream names (each has a digit)."""
    tokens = prefix.split()
    return len(tokens) <= _MAX_PREFIX_TOKENS and all(any(c.isdigit() for c in t) for t in tokens)


def _empty(fmt: str) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(REPORT_KEYS)
    out["format"] = fmt
    return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _parse_text(rest: str) -> dict[str, Any] | None:
    out = _empty("text")
    first_token = rest.split(None, 1)[0] if rest.strip() else ""
    out["request_id"] = first_token if first_token and ":" not in first_token else None
    for m in _FIELD.finditer(rest):
        key = _TEXT_KEYS[m.group(1)]
        if out[key] is None:
            out[key] = _finite(float(m.group(2)))
    if out["duration_ms"] is None:
        return None
    status = _STATUS.search(rest)
    out["status"] = status.group(1) if status else "success"
    error_type = _ERROR_TYPE.search(rest)
    out["error_type"] = error_type.group(1) if error_type else None
    out["cold_start"] = out["init_duration_ms"] is not None or out["restore_duration_ms"] is not None
    return out


def _json_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return _finite(float(value))
    except OverflowError:  # an int too large for a float
        return None


def _json_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        ts = datetime.fromisoformat(value.strip())
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_json(text: str) -> dict[str, Any] | None:
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or event.get("type") != "platform.report":
        return None
    record = event.get("record")
    metrics = record.get("metrics") if isinstance(record, dict) else None
    if not isinstance(metrics, dict):
        return None
    out = _empty("json")
    for src, key in _JSON_KEYS.items():
        out[key] = _json_number(metrics.get(src))
    if out["duration_ms"] is None:
        return None
    out["timestamp"] = _json_time(event.get("time"))
    request_id = record.get("requestId")
    out["request_id"] = request_id if isinstance(request_id, str) else None
    status = record.get("status")
    out["status"] = status if isinstance(status, str) else None
    error_type = record.get("errorType")
    out["error_type"] = error_type if isinstance(error_type, str) else None
    out["cold_start"] = out["init_duration_ms"] is not None or out["restore_duration_ms"] is not None
    return out
