"""The simulated account's bill: daily Lambda usage and cost per function and usage type.

Usage comes from the same per-minute classes as the metrics and REPORT lines:
requests = invocations, compute GB-s = Billed Duration (INIT included) × memory,
ephemeral storage above 512 MB × billed seconds, provisioned concurrency as enabled minute by
minute (:mod:`aws.sim.provisioned`: constant, a working-hours schedule, or a few hours once a month),
the invocations it served at the provisioned duration rate and those that spilled over at the
on-demand rate (no free tier on a day a function had provisioned concurrency); SnapStart on a
non-Java runtime: the version's snapshot cached all day (GB-s) and each restore (GB); streamed bytes
beyond the first 6 MB of each response (GB, 100 GB a month free). Prices are the region's
in ``aws/data/lambda_prices.json``. The account's free tier (1M requests + 400,000
GB-s a month, on-demand functions only) is consumed from the first day of the month
in day order, split over that day's rows in proportion to their usage. Demo accounts of one
organisation (``SimSpec.billing_group``: consolidated billing) share one free tier: the day's rows of
every member are pooled, split by the same rule, and each account's bill keeps its own rows. Cost Explorer
data refreshes three times a day (00:00, 08:00, 16:00 UTC): usage after the last
refresh is not billed yet, and today is Estimated. Duration price tiers (from 6 B
GB-s a month, per organisation and region with consolidated billing) are not reached by the simulated
account and are not applied.

``cost`` of a row = (quantity - free_quantity) × price, unrounded, so the bill is the
sum of per-function usage × price exactly.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from aws.sim import clock, daily

__all__ = ["prices", "daily_costs", "refresh_time", "data_start", "SERVICE", "usage_unit"]

SERVICE = "AWS Lambda"
_PRICES = Path(__file__).resolve().parent.parent / "data" / "lambda_prices.json"
_lock = threading.Lock()
_COLUMNS = [
    "date",
    "region",
    "function",
    "team",
    "architecture",
    "usage_type",
    "kind",
    "quantity",
    "free_quantity",
    "price",
    "cost",
    "estimated",
]


@lru_cache(maxsize=1)
def prices() -> dict:
    """The price file (per region), loaded once."""
    with _PRICES.open() as f:
        return json.load(f)


def _region_prices(region: str) -> dict:
    regions = prices()["regions"]
    if region in regions:
        return regions[region]
    base = dict(regions["us-east-1"])
    base["usage_type_prefix"] = region.upper().replace("-", "")[:4]
    return base


def refresh_time(now: datetime) -> datetime:
    """Cost Explorer's last data refresh before ``now`` (00:00, 08:00, 16:00 UTC)."""
    return now.replace(hour=now.hour - now.hour % 8, minute=0, second=0, microsecond=0)


def data_start(now: datetime) -> date:
    """The first day Cost Explorer has data for: the first (whole) day of the simulated history."""
    return (now - clock.HISTORY).date() + timedelta(days=1)


def usage_unit(kind: str) -> str:
    if kind in ("requests", "requests_pc"):
        return "Requests"
    if kind in ("snapstart_restore", "streaming"):
        return "GB"
    return "Lambda-GB-Second"


def _day_usage(model, day: date, now: datetime) -> pd.DataFrame:
    """Usage of every function on ``day`` up to the last refresh: one row per function (cached)."""
    refresh = refresh_time(now)
    d0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() // 60)
    d1 = min(d0 + 1440, int(refresh.timestamp() // 60))
    anchor = clock.anchor(now)
    recent = d0 + 1440 > int(anchor.timestamp() // 60) - 27 * 60
    key = (day, d1, anchor if recent else None)
    cache: OrderedDict = model.__dict__.setdefault("_day_usage", OrderedDict())
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    specs = model.specs
    F = len(specs)
    zero = np.zeros(F)
    n_req, billed, pc_billed, env_s, restores, beyond = zero, zero, zero, zero, zero, zero
    if d1 > d0:
        # one pass over the day's minutes, shared with the metrics and Logs Insights at one-day bins
        totals = daily.day(model, d0, d0, d1, anchor, np.arange(F), now=now).a
        n_req = totals["n"].astype(np.float64)
        billed = totals["billed_ms"].astype(np.float64)
        pc_billed = totals["pc_billed_ms"]  # billed ms of the invocations provisioned concurrency served
        env_s = totals["env_s"]  # Σ provisioned environments × seconds enabled
        restores = totals["restores"].astype(np.float64)
        beyond = totals["beyond"]  # streamed bytes beyond the first 6 MB of each response
    seconds = max(0, d1 - d0) * 60
    frame = pd.DataFrame(
        {
            "index": [s.index for s in specs],
            "requests": n_req,
            "billed_ms": billed,
            "pc_billed_ms": pc_billed,
            "env_s": env_s,
            "restores": restores,
            "stream_beyond_bytes": beyond,
            "enabled_s": float(seconds),
        }
    )
    with _lock:
        cache[key] = frame
        while len(cache) > 80:
            cache.popitem(last=False)
    return frame


def snapstart_billed(runtime: str) -> bool:
    """SnapStart's cache and restore charges apply except on Java managed runtimes (AWS's pricing page)."""
    return not str(runtime).startswith("java")


def _members(model) -> list:
    """The models of every demo account sharing ``model``'s consolidated bill (``SimSpec.billing_group``), itself
    included; just ``model`` when it is billed alone."""
    group = getattr(model.spec, "billing_group", ())
    if not group:
        return [model]
    from aws.session import Account
    from aws.sim.model import model_for

    out = [model]
    for name, regions, spec in group:
        if name != model.account_name:
            member = Account(name=name, regions=tuple(regions), demo=True, sim=replace(spec, billing_group=group))
            out.append(model_for(member))
    return out


def _rows(model, day: date, now: datetime, *, mine: bool = True) -> list[dict]:
    usage = _day_usage(model, day, now)
    rows = []
    estimated = day == now.date()
    for s, req, billed_ms, pc_ms, env_s, restores, beyond, enabled in zip(
        model.specs,
        usage["requests"],
        usage["billed_ms"],
        usage["pc_billed_ms"],
        usage["env_s"],
        usage["restores"],
        usage["stream_beyond_bytes"],
        usage["enabled_s"],
        strict=True,
    ):
        p = _region_prices(s.region)
        arm = s.architecture == "arm64"
        sfx = "-ARM" if arm else ""
        pre = p["usage_type_prefix"]
        gb = s.memory_mb / 1024.0
        base = {
            "date": day,
            "region": s.region,
            "function": s.name,
            "team": s.team,
            "architecture": s.architecture,
            "estimated": estimated,
            "tags": s.tag_dict,
            "mine": mine,
        }
        pc_on = env_s > 0  # provisioned concurrency enabled at some time of the day: no free tier that day
        pc_compute = pc_ms / 1000.0 * gb
        od_compute = (billed_ms - pc_ms) / 1000.0 * gb
        if req > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Request{sfx}",
                    "kind": "requests" if not pc_on else "requests_pc",
                    "quantity": float(req),
                    "price": p["request"],
                }
            )
        if pc_compute > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-Provisioned-GB-Second{sfx}",
                    "kind": "pc_duration",
                    "quantity": pc_compute,
                    "price": p["provisioned_duration_gb_second_arm" if arm else "provisioned_duration_gb_second"],
                }
            )
        if pc_on and enabled > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-Provisioned-Concurrency{sfx}",
                    "kind": "pc",
                    "quantity": env_s * gb,
                    "price": p["provisioned_concurrency_gb_second_arm" if arm else "provisioned_concurrency_gb_second"],
                }
            )
        if od_compute > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-GB-Second{sfx}",
                    "kind": "gb_seconds" if not pc_on else "gb_seconds_pc",
                    "quantity": od_compute,
                    "price": p["gb_second_arm" if arm else "gb_second"],
                }
            )
        if s.ephemeral_mb > 512 and billed_ms > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-Ephemeral-Storage-GB-Second{sfx}",
                    "kind": "ephemeral",
                    "quantity": billed_ms / 1000.0 * (s.ephemeral_mb - 512) / 1024.0,
                    "price": p["ephemeral_gb_second"],
                }
            )
        if s.snapstart and snapstart_billed(s.runtime) and enabled > 0:
            # one published version, active all day (its 3-hour minimum long passed)
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-SnapStart-Cache-GB-Second{sfx}",
                    "kind": "snapstart_cache",
                    "quantity": gb * enabled,
                    "price": p["snapstart_cache_gb_second"],
                }
            )
            if restores > 0:
                rows.append(
                    {
                        **base,
                        "usage_type": f"{pre}-Lambda-SnapStart-Restore-GB{sfx}",
                        "kind": "snapstart_restore",
                        "quantity": restores * gb,
                        "price": p["snapstart_restore_gb"],
                    }
                )
        if beyond > 0:
            rows.append(
                {
                    **base,
                    "usage_type": f"{pre}-Lambda-Streaming-GB",
                    "kind": "streaming",
                    "quantity": beyond / 1024.0**3,
                    "price": p["streaming_gb"],
                }
            )
    return rows


def daily_costs(
    model, *, start: date | None = None, end: date | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """The bill per (day, function, usage type) for days [start, end) (default: all days with data).

    Columns: date, region, function, team, architecture, usage_type, kind (requests, gb_seconds,
    pc, pc_duration, requests_pc, ephemeral), quantity, free_quantity, price, cost, estimated, tags.
    """
    now = clock.now() if now is None else now
    today = now.date()
    first = data_start(now)
    start = first if start is None else max(start, first)
    end = today + timedelta(days=1) if end is None else min(end, today + timedelta(days=1))
    if end <= start:
        return pd.DataFrame(columns=[*_COLUMNS, "tags"])
    members = _members(model)
    # free tier: walk each touched month from its first day until both pools are spent
    days: dict[date, list[dict]] = {}
    month = start.replace(day=1)
    while month < end:
        nxt = (month + timedelta(days=32)).replace(day=1)
        pools = {"streaming": 100.0, **dict(prices()["free_tier"])}  # requests, gb_seconds, streamed GB
        d = month
        last = min(nxt, end)
        while d < last:
            need = d >= start
            spent = all(v <= 0 for v in pools.values())
            if not need and spent:
                d = max(d + timedelta(days=1), start)
                continue
            rows = [r for m in members for r in _rows(m, d, now, mine=m is model)]
            for pool in ("requests", "gb_seconds", "streaming"):
                mine = [r for r in rows if r["kind"] == pool]
                total = sum(r["quantity"] for r in mine)
                free = min(total, max(0.0, pools[pool]))
                pools[pool] -= free
                share = free / total if total > 0 else 0.0
                for r in mine:
                    r["free_quantity"] = r["quantity"] * share
            if need:
                days[d] = [r for r in rows if r.pop("mine")]
            d += timedelta(days=1)
        month = nxt
    rows = [r for d in sorted(days) for r in days[d]]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*_COLUMNS, "tags"])
    frame["free_quantity"] = frame.get("free_quantity", 0.0)
    frame["free_quantity"] = frame["free_quantity"].fillna(0.0)
    frame["cost"] = (frame["quantity"] - frame["free_quantity"]) * frame["price"]
    return frame[[*_COLUMNS, "tags"]]
