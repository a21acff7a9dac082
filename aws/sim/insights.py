"""Logs Insights, as far as the collectors use it: REPORT records aggregated by log group and bin.

:func:`parse` reads a query's meaning — the ``fields`` aliases (what each computes from
the REPORT record: billed ms, memory, max memory used, init, restore, duration, GB-s),
one ``stats`` stage (``count``, ``sum``, ``avg``, ``min``, ``max``, ``pct``) ``by``
``@log`` and/or ``bin(<N>s|m|h)``, and ``limit``. A query that does not select REPORT
records or that uses anything else is not understood: it gets an empty, Complete
result (nothing is invented). :func:`run` evaluates a parsed query from the model's
per-minute classes: a minute counts when it lies wholly in [startTime, endTime].
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from aws.sim import clock, daily
from aws.sim.metrics import reduce_bins
from aws.sim.series import Grid

__all__ = ["Query", "parse", "run", "MAX_ROWS"]

MAX_ROWS = 10_000
_FIELD_HINTS = (  # (substring of the expression, canonical quantity); first match wins
    ("billedRestoreDuration", "billed_restore"),
    ("restoreDuration", "restore"),
    ("billedDuration", "billed"),
    ("memorySize", "memory"),
    ("maxMemoryUsed", "used"),
    ("initDuration", "init"),
    ("@duration", "duration"),
    ("durationMs", "duration"),
)
_AGG = re.compile(
    r"^(count|sum|avg|min|max|pct|percentile)\s*\((.*)\)\s*(?:as\s+([A-Za-z_@][\w.@]*))?\s*$", re.IGNORECASE | re.DOTALL
)
_BIN = re.compile(r"^bin\s*\(\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*\)$", re.IGNORECASE)


@dataclass(frozen=True)
class Agg:
    func: str  # count, sum, avg, min, max, pct
    quantity: str | None  # canonical quantity; None for count(*)
    q: float | None
    name: str


@dataclass(frozen=True)
class Query:
    aggs: tuple[Agg, ...]
    by_log: bool
    bin_s: int | None
    by_names: tuple[str, ...]  # output names of the group-by fields, in query order
    limit: int


def _split_top(text: str, sep: str = ",") -> list[str]:
    out, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _stages(query: str) -> list[str]:
    return [s.strip() for s in _split_top(query, "|") if s.strip()]


def _canonical(expr: str, aliases: dict[str, str]) -> str | None:
    e = expr.strip()
    if e in aliases:
        return aliases[e]
    names = set(re.findall(r"[A-Za-z_@][\w.@]*", e))
    known = {aliases[n] for n in names if n in aliases}
    if "*" in e and known >= {"billed", "memory"} and len(known) == 2:
        return "gb_s"
    for hint, canon in _FIELD_HINTS:
        if hint in e:
            return canon
    if len(known) == 1 and not re.search(r"[*+/-]", e.replace("/ 1000", "")):
        return known.pop()
    return None


def parse(query: str) -> Query | None:
    """The meaning of a Logs Insights query, or None if it is not a REPORT stats query we understand."""
    if "REPORT" not in query and "platform.report" not in query:
        return None
    aliases: dict[str, str] = {}
    stats_stage = None
    limit = MAX_ROWS
    for stage in _stages(query):
        head = stage.split(None, 1)[0].lower() if stage.split() else ""
        rest = stage[len(head) :].strip()
        if head == "fields":
            for item in _split_top(rest):
                m = re.match(r"^(.*)\s+as\s+([A-Za-z_][\w]*)\s*$", item, re.DOTALL)
                if m:
                    canon = _canonical(m.group(1), aliases)
                    if canon is not None:
                        aliases[m.group(2)] = canon
        elif head == "stats":
            if stats_stage is not None:
                return None  # a second stats stage is not simulated
            stats_stage = rest
        elif head == "limit":
            try:
                limit = min(MAX_ROWS, int(rest))
            except ValueError:
                return None
        elif head in ("filter", "parse", "display", "sort"):
            continue
        else:
            return None
    if stats_stage is None:
        return None
    m = re.match(r"^(.*?)(?:\s+by\s+(.*))?$", stats_stage, re.DOTALL | re.IGNORECASE)
    if not m:
        return None
    aggs: list[Agg] = []
    for item in _split_top(m.group(1)):
        a = _AGG.match(item)
        if not a:
            return None
        func, args, name = a.group(1).lower(), a.group(2).strip(), a.group(3) or item.strip()
        func = "pct" if func == "percentile" else func
        q = None
        if func == "pct":
            parts = _split_top(args)
            if len(parts) != 2:
                return None
            args, q = parts[0], float(parts[1])
        if func == "count" and args in ("*", ""):
            aggs.append(Agg("count", None, None, name))
            continue
        canon = _canonical(args, aliases)
        if canon is None:
            return None
        aggs.append(Agg(func, canon, q, name))
    by_log, bin_s, by_names = False, None, []
    for item in _split_top(m.group(2) or ""):
        b = _BIN.match(item)
        if item == "@log":
            by_log = True
            by_names.append("@log")
        elif b:
            value = float(b.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[b.group(2).lower()]
            bin_s = max(1, int(value))
            by_names.append(item.replace(" ", ""))
        else:
            return None
    return Query(tuple(aggs), by_log, bin_s, tuple(by_names), limit)


def _keys(g: Grid, quantity: str | None):
    """(keys, weights, scale) of a REPORT quantity over the grid (value = key × scale)."""
    p = g.params
    F = len(p.index)
    one = np.ones(F)
    n = g.n[:, :, None]
    snap = p.snapstart[:, None]
    if quantity is None or quantity == "memory":
        return p.mem[:, None, None] * np.ones((1, 1, 1), np.int64), n, one
    if quantity in ("billed", "gb_s"):
        keys = np.concatenate([g.billed_w, g.billed_c], axis=2)
        w = np.concatenate([g.cnt - g.cold_k, g.cold_k], axis=2)
        return keys, w, (p.mem / 1_024_000.0 if quantity == "gb_s" else one)
    if quantity == "used":
        return g.used_mb, g.cnt, one
    if quantity == "duration":
        return g.dur_cms, g.cnt, one / 100.0
    if quantity == "init":
        return g.init_cms[:, :, None], (g.cold * ~snap)[:, :, None], one / 100.0
    if quantity == "restore":
        return g.init_cms[:, :, None], (g.cold * snap)[:, :, None], one / 100.0
    if quantity == "billed_restore":
        return (g.init_cms[:, :, None] + 99) // 100, (g.cold * snap)[:, :, None], one
    raise KeyError(quantity)


_TOTALS = {("SampleCount", None), ("Sum", None), ("Average", None)}


def _reduce(g: Grid, quantity: str | None, stats: list, b: int):
    """reduce_bins over a REPORT quantity; counts and sums of billed ms (GB-s) and memory from the grid's
    per-minute totals (the same integers summed, so the same answer) instead of per-class arrays."""
    F, M = g.n.shape
    B = M // b
    if quantity in (None, "memory", "billed", "gb_s") and set(stats) <= _TOTALS | (
        {("Maximum", None), ("Minimum", None)} if quantity in (None, "memory") else set()
    ):
        p = g.params
        count = g.n.reshape(F, B, b).sum(axis=2)
        out = {}
        if quantity in ("billed", "gb_s"):
            sc = (p.mem / 1_024_000.0 if quantity == "gb_s" else np.ones(F))[:, None]
            total = g.billed_ms.reshape(F, B, b).sum(axis=2) * sc
        else:
            sc = np.ones(F)[:, None]
            total = (count * p.mem[:, None]) * sc
        for st in stats:
            if st[0] == "SampleCount":
                out[st] = count.astype(np.float64)
            elif st[0] == "Sum":
                out[st] = total
            elif st[0] == "Average":
                out[st] = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
            else:  # memory: the same key in every record
                out[st] = np.broadcast_to(p.mem[:, None] * sc, (F, B))
        return count, out
    if quantity == "used" and set(stats) <= _TOTALS | {("Maximum", None)}:
        # Max Memory Used: every invocation a sample; per-minute sums and maxima over the classes (the same
        # integers summed and the same largest value as reduce_bins over the (F, M, J) classes)
        cls = daily.classes(g)
        count = g.n.reshape(F, B, b).sum(axis=2)
        sc = np.ones(F)[:, None]
        out = {}
        for st in stats:
            if st[0] == "SampleCount":
                out[st] = count.astype(np.float64)
            elif st[0] in ("Sum", "Average"):
                total = cls["used_sum"].reshape(F, B, b).sum(axis=2) * sc
                out[st] = total if st[0] == "Sum" else np.divide(total, count, out=np.zeros_like(total), where=count > 0)
            else:
                out[st] = cls["used_max"].reshape(F, B, b).max(axis=2) * sc
        return count, out
    keys, w, scale = _keys(g, quantity)
    return reduce_bins(keys, w, scale, b=b, stats=stats)


def _by_hour(model, index: dict, idx: list, want: dict, a0: int, a1: int, lo: int, hi: int, anchor, stats: dict, now=None):
    """``run``'s groups of functions ``idx`` for one-hour bins over minutes [a0, a1) (whole hours), valid [lo, hi):
    the hourly figures of the days they fall on (the same integers as ``_reduce`` over the minutes)."""
    rows = np.array(idx, dtype=np.int64)
    first = a0 // 1440 * 1440
    hours = []
    for d in range(first, a1, 1440):
        v0, v1 = max(d, lo), min(d + 1440, hi)
        if v1 <= v0:  # no valid minute that day: no activity
            hours.append({k: np.full((len(rows), 24), -1 if k == "h:used_max" else 0) for k in daily.HOURLY})
            continue
        day = daily.day(model, d, v0, v1, anchor, rows, now=now)
        hours.append({k: day.a[k][rows] for k in daily.HOURLY})
    cut = slice((a0 - first) // 60, (a1 - first) // 60)

    def stacked(name: str) -> np.ndarray:
        return np.concatenate([h[name] for h in hours], axis=1)[:, cut].astype(np.int64)

    counts, cold = stacked("h:n"), stacked("h:cold")
    _count_scanned(stats, index, idx, counts.sum(axis=1), cold.sum(axis=1))
    init = cold * ~model.params.snapstart[rows][:, None]  # count(init_ms): a SnapStart restore has no INIT
    values: dict = {}
    for quantity in want:
        if quantity == "init":
            values[quantity] = (init, {("SampleCount", None): init.astype(np.float64)})
        elif quantity == "used":
            values[quantity] = (counts, {("Maximum", None): stacked("h:used_max").astype(np.float64)})
        else:
            values[quantity] = (counts, {("SampleCount", None): counts.astype(np.float64)})
    rr, jj = np.nonzero(counts > 0)
    return [index[f] for f in idx], rr, jj, values


def _by_day(model, index: dict, idx: list, want: dict, a0: int, a1: int, lo: int, hi: int, anchor, stats: dict, now=None):
    """``run``'s groups of functions ``idx`` for one-day bins over minutes [a0, a1), valid [lo, hi)."""
    rows = np.array(idx, dtype=np.int64)
    days = [daily.day(model, d, max(d, lo), min(d + 1440, hi), anchor, rows, now=now) for d in range(a0, a1, 1440)]

    def stacked(name: str) -> np.ndarray:
        return np.stack([d.a[name][rows] for d in days], axis=1)

    counts = stacked("i:n")
    n_all = counts.sum(axis=1)
    cold_all = stacked("i:cold").sum(axis=1)
    _count_scanned(stats, index, idx, n_all, cold_all)
    values: dict = {}
    for quantity, st in want.items():
        c = np.stack([d.insight(quantity, None, rows) for d in days], axis=1)
        values[quantity] = (c, {x: np.stack([d.insight(quantity, x, rows) for d in days], axis=1) for x in st})
    rr, jj = np.nonzero(counts > 0)
    return [index[f] for f in idx], rr, jj, values


def _fmt(v: float) -> str:
    v = float(v)
    if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return format(v, ".10g")


def _fmt_many(values: np.ndarray) -> list[str]:
    """``[_fmt(v) for v in values]``, the integers converted at once."""
    v = np.asarray(values, dtype=np.float64)
    whole = np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < 1e15)
    out: list[str] = [""] * len(v)
    for i, x in zip(np.flatnonzero(whole).tolist(), v[whole].astype(np.int64).tolist(), strict=True):
        out[i] = str(x)
    for i, x in zip(np.flatnonzero(~whole).tolist(), v[~whole].tolist(), strict=True):
        out[i] = format(x, ".10g")
    return out


def _bin_label(sec: int) -> str:
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%d %H:%M:%S.000")


def _count_scanned(stats: dict, index, functions, invocations, cold_starts) -> None:
    """Add what a query over ``functions``' log groups matched and scanned (their REPORT lines, every line of each
    invocation, and an INIT line per cold start of ~150 bytes) to ``stats``."""
    for r, f in enumerate(functions):
        s = index[f]
        stats["recordsMatched"] += float(invocations[r])
        stats["recordsScanned"] += float(invocations[r] * s.lines_per_invocation + cold_starts[r])
        stats["bytesScanned"] += float(invocations[r] * s.bytes_per_invocation + cold_starts[r] * 150)


def run(
    model,
    query: Query,
    specs: list,
    *,
    start_s: int,
    end_s: int,
    now: datetime,
    account_id: str,
    limit: int | None = None,
) -> tuple[list[list[dict]], dict]:
    """(result rows, statistics) of a parsed query over the functions ``specs`` (their log groups)."""
    lo_hist, hi_hist = model.window(now)
    lo = max(-(-start_s // 60), lo_hist)
    hi = min((end_s + 1) // 60, hi_hist)  # minute m counts when m*60 + 59 <= endTime
    stats = {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0, "logGroupsScanned": float(len(specs))}
    if hi <= lo or not specs:
        return [], stats
    if not query.by_log and len(specs) > 1:
        return [], stats  # stats merged across log groups are not simulated
    width = query.bin_s if query.bin_s is not None else None
    if width is None:
        a0, a1, b = lo, hi, hi - lo
    elif width >= 60:
        step = width // 60 if width % 60 == 0 else None
        if step is None:
            return [], stats  # bins that split minutes are not simulated
        a0 = (lo * 60 // width) * width // 60
        a1 = -((-hi * 60) // width) * width // 60
        b = step
    else:
        a0, a1, b = lo, hi, 1
    want = {}
    for agg in query.aggs:
        if agg.func == "count":
            want.setdefault(agg.quantity, set()).add(("SampleCount", None))
        elif agg.func == "sum":
            want.setdefault(agg.quantity, set()).add(("Sum", None))
        elif agg.func == "avg":
            want.setdefault(agg.quantity, set()).add(("Average", None))
        elif agg.func == "min":
            want.setdefault(agg.quantity, set()).add(("Minimum", None))
        elif agg.func == "max":
            want.setdefault(agg.quantity, set()).add(("Maximum", None))
        else:
            want.setdefault(agg.quantity, set()).add(("p", float(agg.q)))
    anchor = clock.anchor(now)
    index = {s.index: s for s in specs}
    idx = sorted(index)
    keyed = {
        "sum": ("Sum", None),
        "avg": ("Average", None),
        "min": ("Minimum", None),
        "max": ("Maximum", None),
    }
    # every group (function, bin) with records, kept as arrays; fields are built only for the rows returned
    parts: list[tuple[list, np.ndarray, np.ndarray, dict]] = []
    if b == 1440 and a0 % 1440 == 0 and daily.insights_served(want):
        # one-day bins: the daily totals (aws.sim.daily), shared with the bill and the metrics
        parts.append(_by_day(model, index, idx, want, a0, a1, lo, hi, anchor, stats, now))
        idx = []
    elif b == 60 and a0 % 60 == 0 and daily.hourly_served(want):
        # one-hour bins of the counts and the largest memory used: the days' hourly figures (aws.sim.daily)
        parts.append(_by_hour(model, index, idx, want, a0, a1, lo, hi, anchor, stats, now))
        idx = []
    for part, g in model.grids(idx, a0, a1, valid=(lo, hi), anchor=anchor, now=now):
        n_all = g.n.sum(axis=1)
        cold_all = g.cold.sum(axis=1)
        _count_scanned(stats, index, part.tolist(), n_all, cold_all)
        values: dict = {}
        for quantity, st in want.items():
            values[quantity] = _reduce(g, quantity, sorted(st, key=str), b)
        # a group exists where the function has records (REPORT lines) in the bin: g.n summed per bin
        B = g.n.shape[1] // b
        counts = g.n.reshape(len(part), B, b).sum(axis=2)
        rr, jj = np.nonzero(counts > 0)
        parts.append(([index[f] for f in part.tolist()], rr, jj, values))
    cap = min(query.limit, MAX_ROWS, limit or MAX_ROWS)
    if not parts:
        return [], stats
    # result order: bin start, then log group (as strings sort); the groups kept as flat arrays
    specs_all = [sp for pspecs, _rr, _jj, _v in parts for sp in pspecs]
    names = sorted({sp.log_group for sp in specs_all})
    rank = {name: i for i, name in enumerate(names)}
    offsets = np.cumsum([0] + [len(pspecs) for pspecs, _rr, _jj, _v in parts])
    spec_rank = np.array([rank[sp.log_group] for sp in specs_all], dtype=np.int64)
    row = np.concatenate([offsets[pi] + rr for pi, (_p, rr, _jj, _v) in enumerate(parts)])
    col = np.concatenate([jj for _p, _rr, jj, _v in parts])
    sec = (a0 + col * b) * 60
    order = np.lexsort((spec_rank[row], sec))[:cap]
    sel_row, sel_sec = row[order].tolist(), sec[order].tolist()
    # each aggregate's values of the rows returned, as Python numbers (count, value)
    columns: list[tuple[str, list, list | None]] = []
    for agg in query.aggs:
        c = np.concatenate([v[agg.quantity][0][rr, jj] for _p, rr, jj, v in parts])[order]
        if agg.func == "count":
            columns.append((agg.name, [str(int(x)) for x in c.tolist()], None))
            continue
        key = keyed.get(agg.func, ("p", agg.q))
        vals = np.concatenate([v[agg.quantity][1][key][rr, jj] for _p, rr, jj, v in parts])[order]
        present = c > 0
        text = [""] * len(c)
        for i, t in zip(np.flatnonzero(present).tolist(), _fmt_many(vals[present]), strict=True):
            text[i] = t
        columns.append((agg.name, text, present.tolist()))
    labels = {t: _bin_label(t) for t in set(sel_sec)}
    # the fields column by column (a dict per row and field), then the rows: each set of columns present
    # (no such values in a group: Logs Insights leaves the field out) zipped at once
    n_rows = len(sel_row)
    cols: list[list[dict]] = []
    for name in query.by_names:
        if name == "@log":
            log = [f"{account_id}:{sp.log_group}" for sp in specs_all]
            cols.append([{"field": "@log", "value": log[r]} for r in sel_row])
        else:
            cols.append([{"field": name, "value": labels[t]} for t in sel_sec])
    pattern = np.zeros(n_rows, dtype=np.int64)
    for name, text, present in columns:
        if present is not None:
            pattern |= np.array(present, dtype=np.int64) << len(cols)
        cols.append([{"field": name, "value": x} for x in text])
    always = [c for c in range(len(query.by_names))] + [
        len(query.by_names) + k for k, (_n, _t, present) in enumerate(columns) if present is None
    ]
    rows_out: list[list[dict]] = [[] for _ in range(n_rows)]
    for pat in np.unique(pattern).tolist():
        here = sorted(always + [c for c in range(len(cols)) if pat >> c & 1])
        if not here:
            continue
        at = np.flatnonzero(pattern == pat).tolist()
        if len(at) == n_rows:
            rows_out = [list(row) for row in zip(*(cols[c] for c in here), strict=True)]
            break
        for i, row in zip(at, zip(*([cols[c][i] for i in at] for c in here), strict=True), strict=True):
            rows_out[i] = list(row)
    return rows_out, stats
