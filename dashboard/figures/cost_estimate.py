"""The estimated Lambda cost of each function per UTC day, and the account's free-tier line.

:func:`estimate` prices the usage the collectors already fetched (inventory, the AWS/Lambda
metrics, the REPORT-line statistics) with a :class:`dashboard.figures.pricing.PriceBook`, so that
anyone can check a figure by hand: every row carries the quantities it was priced from.
:func:`free_tier_credit` gives the account's free tier as its own line per day.

This is our side of the bill, computed independently of Cost Explorer so that comparing
the two is a real check (``sum(total_usd) + sum(credit_usd)`` per account and day is what
Cost Explorer should report for AWS Lambda, taxes and credits aside).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from aws.frames import typed_frame
from dashboard.figures.pricing import (
    STREAMING_FREE_GB,
    PriceBook,
    Prices,
    apply_free_tier,
    assumed_fields_used,
    assumption_note,
    compute_cost_usd,
    ephemeral_cost_usd,
    init_billed,
    provisioned_cost_usd,
    request_cost_usd,
    snapstart_billed,
    snapstart_cost_usd,
    streamed_beyond_bounds,
    streaming_cost_usd,
    utc_day,
)
from dashboard.figures.provisioned import BASIS_ASSUMED, BASIS_RECORDED, PC_NONE

__all__ = [
    "ESTIMATE_SCHEMA",
    "FEATURES_SCHEMA",
    "FREE_TIER_SCHEMA",
    "BASIS_BILLED",
    "BASIS_DURATION",
    "BASIS_NONE",
    "estimate",
    "free_tier_credit",
    "assumed_prices",
    "assumed_note",
]

log = logging.getLogger(__name__)

BASIS_BILLED = "billed_duration"  # GB-s from REPORT lines' Billed Duration × memory (Logs Insights / FilterLogEvents)
BASIS_DURATION = "duration_metric"  # GB-s from the Duration metric's average × Invocations × memory: a lower estimate
BASIS_NONE = "none"  # no invocations that day (provisioned concurrency may still cost)

_KEYS = ["account", "region", "function"]

ESTIMATE_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "date": "datetime64[ns]",  # the UTC day, as in Cost Explorer's frames
    "architecture": "string",  # x86_64 | arm64
    "memory_mb": "float64",
    "provisioned_concurrency": "Int64",  # environments allocated; <NA> = none known
    "requests": "float64",  # Invocations (the REPORT count where the metric is missing)
    "billed_gb_s": "float64",  # duration GB-s: on demand, or executing on provisioned concurrency
    "ephemeral_gb_s": "float64",  # (ephemeral storage MB − 512) / 1024 × billed seconds
    "provisioned_enabled_gb_s": "float64",  # environments × memory GB × seconds enabled that day
    "requests_usd": "float64",
    "compute_usd": "float64",  # on-demand duration, with the monthly volume tiers
    "ephemeral_usd": "float64",
    "provisioned_usd": "float64",  # enabled + executing
    "total_usd": "float64",  # the four above: list price, before the free tier
    "basis": "string",  # billed_duration | duration_metric | none
    "lower_estimate": "boolean",  # the bill is probably higher (INIT, rounding or provisioned concurrency not seen)
    "requests_free": "float64",  # this row's share of the free tier (0 with free_tier=False)
    "gb_s_free": "float64",
    "free_tier_usd": "float64",  # what those free amounts are worth at this row's rates
    "priced_by_assumption": "boolean",  # a rate this row used is not verified for its region (pricing.assumed_fields_used)
    # provisioned concurrency over time, SnapStart, response streaming (appended; see estimate())
    "pc_basis": "string",  # none | recorded | metrics | assumed (today's allocation, or a stretch nothing records)
    "provisioned_executing_gb_s": "float64",  # the part of billed_gb_s served by provisioned concurrency
    "snapstart_cache_gb_s": "float64",
    "snapstart_restore_gb": "float64",  # restores × memory GB; NaN: restores not known
    "snapstart_usd": "float64",  # 0 on Java managed runtimes (AWS does not charge them)
    "streaming_gb": "float64",  # GB streamed beyond 6 MB a response: the lower bound from the sums
    "streaming_gb_high": "float64",  # the upper bound (see pricing.streamed_beyond_bounds)
    "streaming_usd": "float64",  # streaming_gb × the rate
    "streaming_gb_free": "float64",  # this row's share of the 100 GB a month free
}

FEATURES_SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "date": "datetime64[ns]",
    "snapstart_cache_gb_s": "float64",  # Σ active versions × memory GB × seconds (3-hour minimum applied)
    "snapstart_restores": "float64",  # REPORT lines with a Restore Duration; NaN: not known
    "streamed_bytes": "float64",  # StreamedOutgoingBytes (Sum)
    "streamed_responses": "float64",  # the invocations that streamed them
}

FREE_TIER_SCHEMA: dict[str, str] = {
    "account": "string",
    "date": "datetime64[ns]",
    "requests_free": "float64",
    "gb_s_free": "float64",
    "credit_usd": "float64",  # ≤ 0: add it to the functions' total_usd to get the bill
}


def _daily_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    inv = pd.to_numeric(metrics["invocations"], errors="coerce").astype("float64")
    avg = pd.to_numeric(metrics["duration_avg_ms"], errors="coerce").astype("float64")
    pc = (
        metrics["pc_utilization_max"]
        if "pc_utilization_max" in metrics.columns
        else pd.Series(np.nan, index=metrics.index)
    )
    frame = pd.DataFrame(
        {
            **{k: metrics[k].astype("object") for k in _KEYS},
            "date": utc_day(metrics["timestamp"]),
            "invocations": inv.fillna(0.0),
            "duration_ms": (avg * inv).fillna(0.0),
            "pc_seen": pd.to_numeric(pc, errors="coerce").notna(),
        }
    )
    return frame.groupby([*_KEYS, "date"], sort=False, as_index=False).agg(
        invocations=("invocations", "sum"),
        duration_ms=("duration_ms", "sum"),
        pc_seen=("pc_seen", "any"),
    )


def _daily_memory(memory: pd.DataFrame) -> pd.DataFrame:
    """Per function and day: Σ gb_seconds / billed ms / reports of the rows from REPORT lines, and
    Σ cold starts × mean INIT ms of the rows without them (Lambda Insights, when it carries both)."""
    gb = pd.to_numeric(memory["gb_seconds"], errors="coerce").astype("float64")
    billed = gb.notna()
    cold = pd.to_numeric(memory["cold_starts"], errors="coerce").astype("float64")
    init_mean = pd.to_numeric(memory["init_ms_mean"], errors="coerce").astype("float64")
    frame = pd.DataFrame(
        {
            **{k: memory[k].astype("object") for k in _KEYS},
            "date": utc_day(memory["timestamp"]),
            "gb_seconds": gb,
            "billed_ms": pd.to_numeric(memory["billed_ms_sum"], errors="coerce").astype("float64").where(billed),
            "reports": pd.to_numeric(memory["reports"], errors="coerce").astype("float64").where(billed),
            "init_ms": (cold * init_mean).where(~billed),
        }
    )
    out = frame.groupby([*_KEYS, "date"], sort=False, as_index=False).agg(
        gb_seconds=("gb_seconds", "sum"),
        billed_rows=("gb_seconds", "count"),
        billed_ms=("billed_ms", "sum"),
        reports=("reports", "sum"),
        init_ms=("init_ms", "sum"),
    )
    out["gb_seconds"] = out["gb_seconds"].where(out.pop("billed_rows") > 0)  # NaN: no REPORT figures that day
    return out


# Usage columns and their value where a source has no row (NaN = "not measured").
_USAGE_DEFAULTS = {
    "invocations": np.nan,
    "duration_ms": 0.0,
    "pc_seen": False,
    "gb_seconds": np.nan,
    "billed_ms": 0.0,
    "reports": 0.0,
    "init_ms": 0.0,
}


def _fill(usage: pd.DataFrame) -> pd.DataFrame:
    for c, default in _USAGE_DEFAULTS.items():
        if c not in usage.columns:
            usage[c] = default
        elif not pd.isna(default):
            usage[c] = usage[c].fillna(default).astype(type(default))
    return usage


def _coverage_s(metrics: pd.DataFrame) -> pd.DataFrame:
    """Seconds of each UTC day the metrics cover, per account × region: [first period, last period's end)."""
    if metrics.empty:
        return pd.DataFrame(columns=["account", "region", "date", "covered_s"])
    start = pd.to_datetime(metrics["timestamp"], utc=True)
    end = start + pd.to_timedelta(pd.to_numeric(metrics["period_s"]), unit="s")
    span = (
        pd.DataFrame(
            {
                "account": metrics["account"].astype("object"),
                "region": metrics["region"].astype("object"),
                "s": start,
                "e": end,
            }
        )
        .groupby(["account", "region"], as_index=False)
        .agg(s=("s", "min"), e=("e", "max"))
    )
    rows = []
    for acct, region, s, e in span.itertuples(index=False):
        day = s.floor("D")
        while day < e:
            nxt = day + pd.Timedelta(days=1)
            covered = (min(e, nxt) - max(s, day)).total_seconds()
            rows.append({"account": acct, "region": region, "date": day.tz_localize(None), "covered_s": covered})
            day = nxt
    out = pd.DataFrame(rows)
    out["date"] = out["date"].astype("datetime64[ns]")
    return out


def _tiered_compute_usd(frame: pd.DataFrame, od_gb_s: pd.Series, prices: dict[str, Prices]) -> np.ndarray:
    """Each row's on-demand duration cost: the day's tiered cost per billing group (the account, or its
    organisation) × region × arch, shared pro rata to GB-s."""
    day = pd.DataFrame(
        {
            "account": frame["bill"],
            "region": frame["region"],
            "architecture": frame["architecture"],
            "date": frame["date"],
            "gb_s": od_gb_s,
        }
    )
    groups = ["account", "region", "architecture"]
    totals = day.groupby([*groups, "date"], sort=True, as_index=False)["gb_s"].sum()
    totals["month"] = totals["date"].dt.to_period("M")
    totals["mtd"] = totals.groupby([*groups, "month"], sort=False)["gb_s"].cumsum() - totals["gb_s"]
    totals["cost"] = 0.0
    for (region, arch), idx in totals.groupby(["region", "architecture"]).groups.items():
        part = totals.loc[idx]
        totals.loc[idx, "cost"] = compute_cost_usd(
            gb_s=part["gb_s"].to_numpy(), month_to_date_gb_s=part["mtd"].to_numpy(), arch=arch, prices=prices[region]
        )
    totals["rate"] = np.where(totals["gb_s"] > 0, totals["cost"] / totals["gb_s"].where(totals["gb_s"] > 0, 1.0), 0.0)
    rate = day.merge(totals[[*groups, "date", "rate"]], on=[*groups, "date"], how="left")["rate"].to_numpy()
    return od_gb_s.to_numpy() * rate


# the estimate's cost columns, in the order _assumed prices them
_COST_PARTS = ("requests_usd", "compute_usd", "ephemeral_usd", "provisioned_usd", "snapstart_usd", "streaming_usd")


def _assumed(
    regions: pd.Series, archs: pd.Series, costs: tuple[np.ndarray, ...], book: dict[str, Prices]
) -> tuple[np.ndarray, dict[str, set[str]]]:
    """Which rows used a rate not verified for their region, and region → those rates.

    ``costs`` = (requests, compute, ephemeral, provisioned, snapstart, streaming) USD per row (:data:`_COST_PARTS`);
    a part costing nothing used no rate."""
    flagged = np.zeros(len(regions), dtype=bool)
    used_by_region: dict[str, set[str]] = {}
    frame = pd.DataFrame({"region": regions.astype("object").to_numpy(), "arch": archs.astype("object").to_numpy()})
    for (region, arch), idx in frame.groupby(["region", "arch"]).indices.items():
        arch_key = "arm64" if str(arch).lower() in ("arm64", "arm") else "x86_64"
        parts = ("requests", f"compute_{arch_key}", "ephemeral", f"provisioned_{arch_key}", "snapstart", "streaming")
        for part, usd in zip(parts, costs, strict=True):
            used = np.asarray(usd)[idx] > 0
            fields = assumed_fields_used(book[region], [part]) if used.any() else frozenset()
            if fields:
                flagged[idx[used]] = True
                used_by_region.setdefault(region, set()).update(fields)
    return flagged, used_by_region


def assumed_prices(estimate_frame: pd.DataFrame, prices: PriceBook) -> dict[str, list[str]]:
    """Region → the rates not verified for it that ``estimate_frame``'s rows were priced with (sorted).

    Read from the rows themselves, so a narrowed estimate (some accounts, teams or days) names
    only what its own figures used."""
    if estimate_frame.empty:
        return {}
    book = {r: prices.prices(r) for r in set(estimate_frame["region"].astype(object))}
    costs = tuple(
        estimate_frame[c].to_numpy(dtype="float64") for c in _COST_PARTS
    )
    _, used = _assumed(estimate_frame["region"], estimate_frame["architecture"], costs, book)
    return {r: sorted(f) for r, f in sorted(used.items())}


def assumed_note(estimate_frame: pd.DataFrame, prices: PriceBook) -> str | None:
    """The one sentence a page, the CLI and a digest show when some of ``estimate_frame`` was priced by
    assumption (:func:`dashboard.figures.pricing.assumption_note`), or None."""
    return assumption_note(assumed_prices(estimate_frame, prices), prices)


def estimate(
    *,
    inventory: pd.DataFrame,
    metrics: pd.DataFrame,
    memory: pd.DataFrame,
    prices: PriceBook,
    free_tier: bool = True,
    organizations: Mapping[str, str] | None = None,
    provisioned: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
    streaming_free_gb: float = STREAMING_FREE_GB,
) -> pd.DataFrame:
    """One row per account, region, function and UTC day: the usage and what it costs at list price.

    ``provisioned`` (:data:`dashboard.figures.provisioned.PC_DAILY_SCHEMA`, from what AWS records) gives the
    provisioned concurrency of each function and day: then the inventory's ``provisioned_concurrency`` is not
    read, ``provisioned_enabled_gb_s`` = environment-seconds × memory GB, and of ``billed_gb_s`` the share of
    the day's requests that ProvisionedConcurrencyInvocations says ran on PC is charged at the executing rate,
    the rest (spillover, or hours without PC) on demand with the tiers; ``pc_basis`` says what the figure rests
    on. Without it, today's allocation is assumed constant over the range (``pc_basis = "assumed"``). A function
    with PC enabled some time of a day gets no free tier that day ("The Lambda free tier does not apply to
    functions that have Provisioned Concurrency enabled").

    ``features`` (:data:`FEATURES_SCHEMA`) adds SnapStart (cache GB-s and restores × memory GB, not on Java
    managed runtimes) and response streaming (bytes beyond 6 MB a response: from a sum only bounds are known,
    :func:`dashboard.figures.pricing.streamed_beyond_bounds`; the lower bound is charged and the row is a
    lower estimate when the upper one is higher; ``streaming_free_gb`` a month per account are free with
    ``free_tier``) into ``total_usd``.

    Inputs (frames as the loaders of :mod:`dashboard.query.sources` return them):

    - ``inventory`` (``aws.functions.SCHEMA``): architecture, memory, ephemeral storage, and,
      if the column is there, ``provisioned_concurrency`` (environments allocated, all
      aliases and versions together; <NA> or absent = none). Usage of a function missing
      from the inventory is left out and named in ``attrs["warnings"]``;
    - ``metrics`` (``aws.metrics.LAMBDA_SCHEMA``): Invocations (the requests), the Duration
      average, and ProvisionedConcurrencyUtilization (a sign of provisioned concurrency);
    - ``memory`` (``dashboard.query.sources.MEMORY_SCHEMA``): ``gb_seconds`` and ``billed_ms_sum``
      from REPORT lines, i.e. Σ Billed Duration × memory, INIT included. Lambda Insights
      rows have none; where they carry ``cold_starts`` and ``init_ms_mean``, that INIT time
      is added to the Duration-metric estimate below.

    Per function and day:

    - ``basis = "billed_duration"`` where the REPORT figures exist: ``billed_gb_s`` is their
      ``gb_seconds``; otherwise ``"duration_metric"``: ``billed_gb_s`` = (Σ over periods of
      Duration average × Invocations + Σ cold starts × mean INIT ms where known) / 1000 ×
      memory MB / 1024, with ``lower_estimate=True`` (the Duration metric lacks INIT, and
      every invocation's rounding up to 1 ms is missing);
    - ``requests_usd`` = requests × the request rate;
    - ``compute_usd``: on-demand GB-s with the monthly tiers (month-to-date per account,
      region and architecture; a day's cost is shared among its functions in proportion to
      their GB-s);
    - ``ephemeral_usd`` = (storage MB − 512) / 1024 × billed seconds × the storage rate;
    - ``provisioned_usd``: for a function with provisioned concurrency, environments ×
      memory GB × the seconds of the day the metrics cover at the enabled rate, plus its
      ``billed_gb_s`` at the executing rate (all its invocations are taken as served by
      provisioned concurrency; its ``compute_usd`` is 0). A function that publishes
      ProvisionedConcurrencyUtilization without a known allocation is a lower estimate.
    - ``total_usd`` = the four parts, before the free tier.

    With ``free_tier``, :func:`dashboard.figures.pricing.apply_free_tier` spreads the monthly 1M
    requests and 400,000 GB-s over the days in date order, never to functions with
    provisioned concurrency; ``requests_free``, ``gb_s_free`` and ``free_tier_usd`` are each
    row's share, and :func:`free_tier_credit` sums them into the account's line. Month-to-date
    figures (tiers, free tier) start at the first day present: pass every day from the first
    of the month for exact figures.

    **Organisations** (consolidated billing): ``organizations`` maps an account to the name of
    the organisation whose bill it shares (config.yaml's ``organization:`` per account);
    accounts not in it bill alone. As AWS bills it, the free tier is one per organisation and
    month, and the duration tiers apply to the organisation's aggregate monthly GB-s per
    region and architecture. Each row receives its share of both, in proportion to its usage:
    the day's free requests and GB-s of the organisation are split among that day's rows in
    proportion to their requests and GB-s (the free tier is consumed in date order), and the
    day's tiered duration cost of the organisation × region × architecture is split in
    proportion to GB-s (every row of that day pays the day's average rate). Per-account and
    per-team figures are sums of rows, so they carry their share of the free tier and of the
    tier discount. Two members at 4 B + 4 B x86 GB-s in us-east-1: 6 B × $0.0000166667 +
    2 B × $0.000015 = $130,000.20, $65,000.10 each (billed alone, $66,666.80 each).

    **INIT**: Lambda Insights rows carry cold starts × mean INIT ms; that INIT time is added to
    the Duration-metric estimate only where :func:`dashboard.figures.pricing.init_billed` says
    AWS bills it (the day, the inventory's ``runtime`` and ``package_type``), the rule REPORT
    lines' Billed Duration follows.

    Worked example (us-east-1, x86_64, 512 MB, free tier already used this month): a day of
    2,000,000 invocations whose REPORT lines sum to 300,000 billed seconds →
    ``billed_gb_s`` = 300,000 × 512 / 1024 = 150,000; ``requests_usd`` = 2,000,000 ×
    $0.0000002 = $0.40; ``compute_usd`` = 150,000 × $0.0000166667 = $2.500005;
    ``total_usd`` = $2.900005. Without REPORT lines and a Duration average of 120 ms:
    2,000,000 × 0.120 s × 0.5 GB = 120,000 GB-s → $2.000004 + $0.40 = $2.400004, a lower
    estimate.

    ``priced_by_assumption`` marks a row whose cost used a rate not verified for its region
    (:func:`dashboard.figures.pricing.assumed_fields_used`: a region missing from the price file, or
    a rate in the region's ``assumed`` list).

    ``attrs``: ``warnings`` (list of sentences), ``assumed_prices`` (region → the assumed rates
    its rows used), ``assumed_regions`` (those regions, sorted), ``assumed_note`` (one sentence
    naming them, or None: what the page, the CLI and the digest show).
    """
    warnings: list[str] = []
    m_day = _daily_metrics(metrics) if len(metrics) else None
    b_day = _daily_memory(memory) if len(memory) else None
    cols = [*_KEYS, "date"]
    if m_day is not None and b_day is not None:
        usage = m_day.merge(b_day, on=cols, how="outer")
    else:
        usage = m_day if m_day is not None else b_day
    if usage is None or usage.empty:
        usage = pd.DataFrame(
            {c: pd.Series(dtype="object") for c in _KEYS} | {"date": pd.Series(dtype="datetime64[ns]")}
        )
    usage = _fill(usage)

    inv = pd.DataFrame({k: inventory[k].astype("object") for k in _KEYS})
    inv["architecture"] = inventory["architecture"].astype("object").fillna("x86_64")
    inv["memory_mb"] = pd.to_numeric(inventory["memory_mb"], errors="coerce").astype("float64")
    inv["ephemeral_storage_mb"] = (
        pd.to_numeric(inventory["ephemeral_storage_mb"], errors="coerce").astype("float64").fillna(512.0)
    )
    inv["runtime"] = inventory["runtime"].astype("object") if "runtime" in inventory.columns else None
    if provisioned is not None:
        inv["provisioned_concurrency"] = pd.array([pd.NA] * len(inv), dtype="Int64")
    elif "provisioned_concurrency" in inventory.columns:
        pc = pd.to_numeric(inventory["provisioned_concurrency"], errors="coerce")
        inv["provisioned_concurrency"] = pc.where(pc > 0).astype("Int64")
    else:
        inv["provisioned_concurrency"] = pd.array([pd.NA] * len(inv), dtype="Int64")
    inv["runtime"] = inventory["runtime"].astype("object") if "runtime" in inventory.columns else None
    inv["package_type"] = (
        inventory["package_type"].astype("object").fillna("Zip") if "package_type" in inventory.columns else "Zip"
    )
    inv = inv.drop_duplicates(_KEYS)

    # Provisioned concurrency costs on every day the range covers, invoked or not.
    cover = _coverage_s(metrics)
    pc_inv = inv[inv["provisioned_concurrency"].notna()]
    if not pc_inv.empty and not cover.empty:
        pc_days = pc_inv[_KEYS].merge(cover[["account", "region", "date"]], on=["account", "region"])
        usage = _fill(usage.merge(pc_days, on=cols, how="outer"))
    extra_cols = {
        "environment_s": 0.0,
        "level_max": np.nan,
        "pc_invocations": np.nan,
        "pc_basis_in": "",
        "snapstart_cache_gb_s": 0.0,
        "snapstart_restores": 0.0,
        "streamed_bytes": 0.0,
        "streamed_responses": 0.0,
    }
    for extra, mapping in (
        (provisioned, {"environment_s": "environment_s", "level_max": "level_max", "pc_invocations": "pc_invocations", "basis": "pc_basis_in"}),
        (features, {c: c for c in ("snapstart_cache_gb_s", "snapstart_restores", "streamed_bytes", "streamed_responses")}),
    ):
        if extra is None or extra.empty:
            continue
        e = pd.DataFrame({k: extra[k].astype("object") for k in _KEYS})
        e["date"] = utc_day(extra["date"])
        for src, dst in mapping.items():
            e[dst] = extra[src].astype("object") if dst == "pc_basis_in" else pd.to_numeric(extra[src], errors="coerce").astype("float64")
        # NaN (not read: restores, invocations on PC) stays NaN through the sum, not 0 (unknown is not zero)
        keyed = e.groupby(cols, sort=False)
        summed = keyed[[d for d in mapping.values() if d != "pc_basis_in"]].sum(min_count=1)
        if "pc_basis_in" in mapping.values():
            summed["pc_basis_in"] = keyed["pc_basis_in"].first()
        e = summed.reset_index()
        usage = _fill(usage.merge(e, on=cols, how="outer"))
    for c, default in extra_cols.items():
        if c not in usage.columns:
            usage[c] = default
        elif c not in ("level_max", "pc_invocations", "snapstart_restores"):
            usage[c] = usage[c].fillna(default)

    frame = usage.merge(inv, on=_KEYS, how="left", indicator=True)
    unknown = frame[frame["_merge"] == "left_only"]
    if not unknown.empty:
        names = sorted({f"{a}/{r}/{f}" for a, r, f in unknown[_KEYS].itertuples(index=False)})
        warnings.append(
            f"usage of {len(names)} function(s) not in the inventory left out of the estimate: {', '.join(names[:5])}"
        )
        log.warning("%s", warnings[-1])
    frame = frame[frame["_merge"] == "both"].drop(columns="_merge").reset_index(drop=True)
    if not cover.empty:
        frame = frame.merge(cover, on=["account", "region", "date"], how="left")
    else:
        frame["covered_s"] = np.nan
    frame["covered_s"] = frame["covered_s"].fillna(0.0)

    orgs = dict(organizations or {})
    # the billing group: the organisation whose consolidated bill the account shares, or the account alone
    frame["bill"] = [f"org:{orgs[a]}" if a in orgs else f"account:{a}" for a in frame["account"]]
    # INIT from Lambda Insights only where AWS bills it (REPORT lines' Billed Duration already follows the rule)
    if len(frame):
        billed_init = init_billed(day=frame["date"], runtime=frame["runtime"], package_type=frame["package_type"])
        frame["init_ms"] = frame["init_ms"].where(billed_init, 0.0)

    regions = sorted(set(frame["region"]))
    book = {r: prices.prices(r) for r in regions}

    mem_gb = frame["memory_mb"].to_numpy(dtype="float64") / 1024.0
    billed = frame["gb_seconds"].notna().to_numpy()
    invocations = frame["invocations"].astype("float64")
    requests = invocations.where(invocations.notna(), frame["reports"]).fillna(0.0).to_numpy(dtype="float64")
    duration_s = (frame["duration_ms"] + frame["init_ms"]).to_numpy(dtype="float64") / 1000.0
    billed_gb_s = np.where(billed, frame["gb_seconds"].fillna(0.0).to_numpy(dtype="float64"), duration_s * mem_gb)
    seconds = np.where(billed, frame["billed_ms"].to_numpy(dtype="float64") / 1000.0, duration_s)
    eph_gb = np.clip(frame["ephemeral_storage_mb"].to_numpy(dtype="float64") - 512.0, 0.0, None) / 1024.0
    ephemeral_gb_s = eph_gb * seconds
    if provisioned is not None:  # from what AWS records, per day
        env_s = frame["environment_s"].to_numpy(dtype="float64")
        has_pc = env_s > 0
        enabled_gb_s = env_s * mem_gb
        pc_req = frame["pc_invocations"].to_numpy(dtype="float64")
        share = np.where(
            np.isnan(pc_req), 1.0, np.clip(np.divide(pc_req, requests, out=np.ones(len(frame)), where=requests > 0), 0.0, 1.0)
        )
        exec_gb_s = np.where(has_pc, billed_gb_s * share, 0.0)
        od_gb_s = billed_gb_s - exec_gb_s
        lv = frame["level_max"]
        frame["provisioned_concurrency"] = pd.array([int(v) if pd.notna(v) and h else pd.NA for v, h in zip(lv, has_pc, strict=True)], dtype="Int64")
        pc_basis = np.where(has_pc, frame["pc_basis_in"].astype(object).replace("", BASIS_RECORDED).to_numpy(dtype=object), PC_NONE)
    else:  # today's allocation, assumed constant over the range
        pc_alloc = frame["provisioned_concurrency"].astype("Float64").fillna(0.0).to_numpy(dtype="float64")
        has_pc = pc_alloc > 0
        enabled_gb_s = pc_alloc * mem_gb * frame["covered_s"].to_numpy(dtype="float64")
        od_gb_s = np.where(has_pc, 0.0, billed_gb_s)
        exec_gb_s = np.where(has_pc, billed_gb_s, 0.0)
        pc_basis = np.where(has_pc, BASIS_ASSUMED, PC_NONE)
    # SnapStart and response streaming
    restores = frame["snapstart_restores"].to_numpy(dtype="float64")
    snap_cache = frame["snapstart_cache_gb_s"].to_numpy(dtype="float64")
    restore_gb = restores * mem_gb
    stream_low, stream_high = streamed_beyond_bounds(
        total_bytes=frame["streamed_bytes"].to_numpy(dtype="float64"),
        responses=frame["streamed_responses"].to_numpy(dtype="float64"),
    )
    streaming_gb = np.asarray(stream_low, dtype="float64") / 1024.0**3
    streaming_gb_high = np.asarray(stream_high, dtype="float64") / 1024.0**3

    compute_usd = _tiered_compute_usd(frame, pd.Series(od_gb_s, index=frame.index), book) if len(frame) else np.zeros(0)
    requests_usd = np.zeros(len(frame))
    ephemeral_usd = np.zeros(len(frame))
    provisioned_usd = np.zeros(len(frame))
    snapstart_usd = np.zeros(len(frame))
    streaming_usd = np.zeros(len(frame))
    stream_rate = np.zeros(len(frame))
    req_rate = np.zeros(len(frame))
    free_rate = np.zeros(len(frame))
    # SnapStart is charged by runtime (pricing.snapstart_billed), asked once per row here, not per cost
    snap_billed = frame["runtime"].astype(object).map(snapstart_billed).to_numpy(dtype=bool)
    snap_charged = np.zeros(len(frame), dtype=bool)  # billed, at a cache rate above zero
    for (region, arch), idx in frame.groupby(["region", "architecture"]).indices.items():
        p = book[region]
        requests_usd[idx] = request_cost_usd(requests=requests[idx], prices=p)
        ephemeral_usd[idx] = ephemeral_cost_usd(gb_s_above_512_mb=ephemeral_gb_s[idx], prices=p)
        provisioned_usd[idx] = provisioned_cost_usd(
            enabled_gb_s=enabled_gb_s[idx], executing_gb_s=exec_gb_s[idx], arch=arch, prices=p
        )
        req_rate[idx] = p.request
        free_rate[idx] = p.gb_second_rate(arch)
        streaming_usd[idx] = streaming_cost_usd(gb_beyond_6_mb=streaming_gb[idx], prices=p)
        stream_rate[idx] = streaming_cost_usd(gb_beyond_6_mb=1.0, prices=p)
        snap_charged[idx] = snap_billed[idx] & (p.snapstart_cache_gb_second > 0)
        snapstart_usd[idx] = np.where(
            snap_billed[idx], snapstart_cost_usd(cache_gb_s=snap_cache[idx], restore_gb=np.nan_to_num(restore_gb[idx]), prices=p), 0.0
        )

    if free_tier and len(frame):
        free = apply_free_tier(
            usage=pd.DataFrame(
                {
                    "account": frame["bill"],
                    "date": frame["date"],
                    "requests": np.where(has_pc, 0.0, requests),
                    "gb_s": np.where(has_pc, 0.0, od_gb_s),
                }
            ),
            free_requests=prices.free_requests,
            free_gb_s=prices.free_gb_s,
        )
        requests_free = free["requests_free"].to_numpy(dtype="float64")
        gb_s_free = free["gb_s_free"].to_numpy(dtype="float64")
        streaming_free = apply_free_tier(
            usage=pd.DataFrame(
                {"account": frame["bill"], "date": frame["date"], "requests": 0.0, "gb_s": streaming_gb}
            ),
            free_requests=0.0,
            free_gb_s=streaming_free_gb,
        )["gb_s_free"].to_numpy(dtype="float64")
    else:
        requests_free = np.zeros(len(frame))
        gb_s_free = np.zeros(len(frame))
        streaming_free = np.zeros(len(frame))

    priced_by_assumption, assumed_used = _assumed(
        frame["region"],
        frame["architecture"],
        (requests_usd, compute_usd, ephemeral_usd, provisioned_usd, snapstart_usd, streaming_usd),
        book,
    )

    basis = np.where(billed, BASIS_BILLED, np.where(requests > 0, BASIS_DURATION, BASIS_NONE))
    # Duration basis (INIT and rounding missing, or periods with Invocations but no Duration), or
    # provisioned concurrency seen in the metrics with no allocation to price it by.
    lower = (basis == BASIS_DURATION) | (frame["pc_seen"].astype(bool).to_numpy() & ~has_pc)
    # SnapStart restores not known, or streamed bytes whose split per response only bounds the charge
    lower |= (snap_cache > 0) & np.isnan(restores) & snap_charged
    lower |= streaming_gb_high > streaming_gb + 1e-12
    out = pd.DataFrame(
        {
            "account": frame["account"],
            "region": frame["region"],
            "function": frame["function"],
            "date": frame["date"],
            "architecture": frame["architecture"],
            "memory_mb": frame["memory_mb"],
            "provisioned_concurrency": frame["provisioned_concurrency"],
            "requests": requests,
            "billed_gb_s": billed_gb_s,
            "ephemeral_gb_s": ephemeral_gb_s,
            "provisioned_enabled_gb_s": enabled_gb_s,
            "requests_usd": requests_usd,
            "compute_usd": compute_usd,
            "ephemeral_usd": ephemeral_usd,
            "provisioned_usd": provisioned_usd,
            "total_usd": requests_usd + compute_usd + ephemeral_usd + provisioned_usd + snapstart_usd + streaming_usd,
            "basis": basis,
            "lower_estimate": lower,
            "requests_free": requests_free,
            "gb_s_free": gb_s_free,
            "free_tier_usd": requests_free * req_rate + gb_s_free * free_rate + streaming_free * stream_rate,
            "priced_by_assumption": priced_by_assumption,
            "pc_basis": pc_basis,
            "provisioned_executing_gb_s": exec_gb_s,
            "snapstart_cache_gb_s": snap_cache,
            "snapstart_restore_gb": restore_gb,
            "snapstart_usd": snapstart_usd,
            "streaming_gb": streaming_gb,
            "streaming_gb_high": streaming_gb_high,
            "streaming_usd": streaming_usd,
            "streaming_gb_free": streaming_free,
        }
    )
    out = typed_frame(out, ESTIMATE_SCHEMA).sort_values([*_KEYS, "date"], ignore_index=True)
    out.attrs["warnings"] = warnings
    out.attrs["assumed_prices"] = {r: sorted(f) for r, f in sorted(assumed_used.items())}
    out.attrs["assumed_regions"] = sorted(assumed_used)
    out.attrs["assumed_note"] = assumption_note(assumed_used, prices)
    return out


def free_tier_credit(estimate_frame: pd.DataFrame) -> pd.DataFrame:
    """The account's free tier as its own line: one row per account and day that used some.

    ``requests_free`` and ``gb_s_free`` are the free amounts consumed that day and
    ``credit_usd`` (≤ 0) what they would have cost: ``estimate.total_usd`` summed over the
    account's functions plus ``credit_usd`` is the day's bill.
    """
    if estimate_frame.empty:
        return typed_frame([], FREE_TIER_SCHEMA)
    days = (
        estimate_frame.assign(account=estimate_frame["account"].astype("object"))
        .groupby(["account", "date"], as_index=False, sort=True)
        .agg(
            requests_free=("requests_free", "sum"), gb_s_free=("gb_s_free", "sum"), credit_usd=("free_tier_usd", "sum")
        )
    )
    days = days[(days["requests_free"] > 0) | (days["gb_s_free"] > 0)]
    days["credit_usd"] = -days["credit_usd"]
    return typed_frame(days, FREE_TIER_SCHEMA)
