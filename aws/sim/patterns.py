"""CloudWatch Logs filter patterns, the subset a collector uses to find REPORT lines.

Supported: the empty pattern (everything); unstructured terms — ``REPORT``, quoted
``"Billed Duration"``, ``?A ?B`` (any of), ``-term`` (not), all case-sensitive
substrings; and JSON patterns ``{ $.type = "platform.report" }`` with ``=``/``!=`` and
numeric comparisons joined by ``&&`` or ``||``. Space-delimited patterns (``[...]``) are
not simulated: :class:`PatternUnsupported`.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable

__all__ = ["compile_pattern", "PatternUnsupported"]


class PatternUnsupported(ValueError):
    """A filter pattern the simulated account does not evaluate."""


_CLAUSE = re.compile(r"^\s*\$\.([A-Za-z0-9_.\[\]]+)\s*(=|!=|>=|<=|>|<)\s*(.+?)\s*$")


def compile_pattern(pattern: str | None) -> Callable[[str], bool]:
    text = (pattern or "").strip()
    if not text:
        return lambda _msg: True
    if text.startswith("{"):
        return _json_pattern(text)
    if text.startswith("["):
        raise PatternUnsupported("space-delimited filter patterns are not simulated")
    try:
        terms = shlex.split(text)
    except ValueError as e:
        raise PatternUnsupported(f"cannot read filter pattern {text!r}") from e
    anyof = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]
    nots = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    alls = [t for t in terms if not t.startswith(("?", "-"))]

    def match(msg: str) -> bool:
        if any(t in msg for t in nots):
            return False
        if alls and not all(t in msg for t in alls):
            return False
        if anyof and not any(t in msg for t in anyof):
            return False
        return True

    return match


def _json_pattern(text: str) -> Callable[[str], bool]:
    body = text.strip()
    if not body.endswith("}"):
        raise PatternUnsupported(f"unbalanced JSON filter pattern {text!r}")
    body = body[1:-1].strip()
    if "(" in body:
        raise PatternUnsupported("parenthesised JSON filter patterns are not simulated")
    if "&&" in body and "||" in body:
        raise PatternUnsupported("mixed && and || in a JSON filter pattern are not simulated")
    joiner = "||" if "||" in body else "&&"
    clauses = []
    for part in body.split(joiner):
        m = _CLAUSE.match(part)
        if not m:
            raise PatternUnsupported(f"cannot read JSON filter clause {part.strip()!r}")
        path, op, raw = m.groups()
        clauses.append((path.split("."), op, _literal(raw)))

    def match(msg: str) -> bool:
        if not msg.startswith("{"):
            return False
        try:
            doc = json.loads(msg)
        except ValueError:
            return False
        results = (_test(doc, path, op, want) for path, op, want in clauses)
        return any(results) if joiner == "||" else all(results)

    return match


def _literal(raw: str):
    if raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1]
    try:
        return float(raw)
    except ValueError:
        return raw


def _test(doc, path: list[str], op: str, want) -> bool:
    cur = doc
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return False
        cur = cur[p]
    if op in ("=", "!="):
        if isinstance(want, str) and "*" in want:
            ok = isinstance(cur, str) and re.fullmatch(re.escape(want).replace(r"\*", ".*"), cur) is not None
        elif isinstance(want, float):
            ok = isinstance(cur, int | float) and float(cur) == want
        else:
            ok = cur == want
        return ok if op == "=" else not ok
    if not isinstance(cur, int | float) or not isinstance(want, float):
        return False
    return {">": cur > want, "<": cur < want, ">=": cur >= want, "<=": cur <= want}[op]
