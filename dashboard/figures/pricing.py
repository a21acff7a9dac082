"""The AWS Lambda price model: rates per region and the pure functions that price usage.

- :class:`Prices` holds one region's list prices (USD per unit), :class:`PriceBook` every
  region's plus the account-level free tier. :func:`load_prices` reads them from
  ``aws/data/lambda_prices.json`` and applies overrides from ``config.yaml``; a region the
  file lacks gets us-east-1's rates, marked ``assumed``.
- The cost functions price one quantity each and take numbers or numpy arrays:
  :func:`request_cost_usd`, :func:`compute_cost_usd` (on-demand duration with the monthly
  volume tiers), :func:`ephemeral_cost_usd` (storage above 512 MB),
  :func:`provisioned_cost_usd` (provisioned concurrency enabled + executing).
- :func:`apply_free_tier` consumes the monthly free tier (1M requests and 400,000 GB-s) of
  an account, or of an organisation with consolidated billing, day by day from the first of
  the month.
- :func:`init_billed` is the one rule for when the INIT phase is billed (AWS: from
  2025-08-01 for every on-demand function; before, only for container images and custom
  runtimes); :func:`billed_duration_ms` says what a REPORT line's Billed Duration is made of.
- :func:`assumed_fields_used` / :func:`assumption_note` say which regions and rates of a
  figure were priced by assumption (a region missing from the file, or a rate in its
  ``assumed`` list).
- :func:`refresh_from_price_list` reads a region's rates from the AWS Price List API
  (``pricing`` GetProducts, service code ``AWSLambda``), cached for a day.

How AWS prices Lambda (https://aws.amazon.com/lambda/pricing/):

- requests: a rate per request, the same for x86_64 and arm64;
- duration (on demand): GB-s = billed seconds × memory GB (MB / 1024); the rate falls in
  tiers of month-to-date GB-s per account, region and architecture (us-east-1 x86: the
  first 6 B GB-s at $0.0000166667, the next 9 B at $0.000015, beyond 15 B at
  $0.0000133334; arm64: 7.5 B and 18.75 B); with consolidated billing in AWS Organizations,
  "pricing tiers are applied to the aggregate monthly duration of your functions running on
  the same architecture, in the same region, across the accounts in the organization";
- free tier, per account (per organisation with consolidated billing) and month: 1M
  requests and 400,000 GB-s (x86 and arm64 together); not for functions with provisioned
  concurrency, nor for ephemeral storage;
- ephemeral storage: GB-s of configured storage above 512 MB × billed seconds;
- provisioned concurrency: enabled GB-s (allocated environments × memory GB × seconds
  enabled) plus executing GB-s (duration of the invocations it serves) at their own rates;
  its requests are billed at the request rate.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dashboard.config.echo import cut, echo

if TYPE_CHECKING:
    from aws.session import Account

__all__ = [
    "PRICE_FILE",
    "DEFAULT_REGION",
    "INIT_BILLED_FROM",
    "FREE_REQUESTS",
    "FREE_GB_S",
    "PRICE_LIST_TTL_S",
    "PRICE_FIELDS",
    "PriceError",
    "Prices",
    "PriceBook",
    "load_prices",
    "request_cost_usd",
    "compute_cost_usd",
    "ephemeral_cost_usd",
    "provisioned_cost_usd",
    "apply_free_tier",
    "billed_duration_ms",
    "init_billed",
    "assumed_fields_used",
    "assumption_note",
    "PART_FIELDS",
    "OPTIONAL_RATES",
    "utc_day",
    "refresh_from_price_list",
    "prices_from_price_list",
]

log = logging.getLogger(__name__)

PRICE_FILE = Path(__file__).resolve().parents[2] / "aws" / "data" / "lambda_prices.json"
DEFAULT_REGION = "us-east-1"  # the region whose rates stand in for a region the file lacks
INIT_BILLED_FROM = date(2025, 8, 1)  # INIT is billed for every on-demand function from this day (see init_billed)
FREE_REQUESTS = 1_000_000  # per account and month
FREE_GB_S = 400_000.0  # per account and month, x86_64 and arm64 together
PRICE_LIST_TTL_S = 86_400.0  # Price List answers are reused for a day

Number = float | np.ndarray

# Rate fields of a region (USD per unit) and the two tier tables, as named in the price
# file and in config.yaml's overrides.
_RATE_FIELDS = (
    "request",
    "gb_second",
    "gb_second_arm",
    "ephemeral_gb_second",
    "provisioned_concurrency_gb_second",
    "provisioned_concurrency_gb_second_arm",
    "provisioned_duration_gb_second",
    "provisioned_duration_gb_second_arm",
)
_TIER_FIELDS = ("gb_second_tiers", "gb_second_arm_tiers")
# Rates added later (SnapStart cache per GB-s and restore per GB, response streaming per GB beyond the first 6 MB
# of each response): a price file or override without them still loads, with AWS's us-east-1 rate, marked assumed.
# Durable functions (operations started, data written, data retained; AWS's us-east-1 rates as its pricing page's
# durable-functions example states them) are priced by durable_cost_usd; their usage is not collected yet.
OPTIONAL_RATES: Mapping[str, float] = MappingProxyType(
    {
        "snapstart_cache_gb_second": 1.5046e-6,
        "snapstart_restore_gb": 1.397998e-4,
        "streaming_gb": 8.0e-3,
        "durable_operation": 8.0e-6,
        "durable_written_gb": 0.25,
        "durable_retained_gb_month": 0.15,
    }
)
PRICE_FIELDS = _RATE_FIELDS + tuple(OPTIONAL_RATES) + _TIER_FIELDS

Tiers = tuple[tuple[float, float], ...]


class PriceError(ValueError):
    """A price file, override or Price List answer that cannot be used; ``str()`` names the field."""


@dataclass(frozen=True)
class Prices:
    """One region's Lambda list prices, each in USD per unit (per request, per GB-s).

    ``gb_second_tiers`` / ``gb_second_arm_tiers`` list the later duration tiers as
    ``(from_month_to_date_gb_s, usd_per_gb_s)``; the first tier (from 0) is ``gb_second`` /
    ``gb_second_arm``. ``assumed`` is True when the price file has no rates for the region
    and us-east-1's stand in; ``assumed_fields`` names every rate copied from us-east-1
    without being checked for this region.
    """

    region: str
    request: float
    gb_second: float
    gb_second_arm: float
    gb_second_tiers: Tiers
    gb_second_arm_tiers: Tiers
    ephemeral_gb_second: float
    provisioned_concurrency_gb_second: float
    provisioned_concurrency_gb_second_arm: float
    provisioned_duration_gb_second: float
    provisioned_duration_gb_second_arm: float
    snapstart_cache_gb_second: float = OPTIONAL_RATES["snapstart_cache_gb_second"]  # per GB-s of cached snapshot
    snapstart_restore_gb: float = OPTIONAL_RATES["snapstart_restore_gb"]  # per GB restored
    streaming_gb: float = OPTIONAL_RATES["streaming_gb"]  # per GB streamed beyond the first 6 MB of a response
    durable_operation: float = OPTIONAL_RATES["durable_operation"]  # per durable operation (start, step, wait, ...)
    durable_written_gb: float = OPTIONAL_RATES["durable_written_gb"]  # per GB written by durable operations
    durable_retained_gb_month: float = OPTIONAL_RATES["durable_retained_gb_month"]  # per GB-month retained
    usage_type_prefix: str = ""
    assumed: bool = False
    assumed_fields: frozenset[str] = frozenset()
    source: str = "file"  # file | config | price_list

    def tiers(self, arch: str) -> Tiers:
        """Every duration tier of ``arch`` as ``(from_gb_s, usd_per_gb_s)``, the first from 0."""
        if _arch(arch) == "arm64":
            return ((0.0, self.gb_second_arm), *self.gb_second_arm_tiers)
        return ((0.0, self.gb_second), *self.gb_second_tiers)

    def gb_second_rate(self, arch: str) -> float:
        """The first-tier on-demand duration rate of ``arch`` (the rate the free tier is worth)."""
        return self.gb_second_arm if _arch(arch) == "arm64" else self.gb_second

    def provisioned_rates(self, arch: str) -> tuple[float, float]:
        """(enabled, executing) provisioned-concurrency rates of ``arch``, USD per GB-s."""
        if _arch(arch) == "arm64":
            return self.provisioned_concurrency_gb_second_arm, self.provisioned_duration_gb_second_arm
        return self.provisioned_concurrency_gb_second, self.provisioned_duration_gb_second


@dataclass(frozen=True)
class PriceBook:
    """Every region's :class:`Prices` and the account-level monthly free tier."""

    regions: Mapping[str, Prices]
    free_requests: float = FREE_REQUESTS
    free_gb_s: float = FREE_GB_S
    currency: str = "USD"
    default_region: str = DEFAULT_REGION
    as_of: str = ""  # the day the price file's rates were last checked

    def prices(self, region: str) -> Prices:
        """The region's prices; a region without rates gets the default region's, ``assumed=True``."""
        found = self.regions.get(region)
        if found is not None:
            return found
        return dataclasses.replace(
            self.regions[self.default_region],
            region=region,
            usage_type_prefix="",
            assumed=True,
            assumed_fields=frozenset(PRICE_FIELDS),
        )

    def assumed_regions(self, regions: Iterable[str]) -> list[str]:
        """Which of ``regions`` are priced with the default region's rates (for a page notice)."""
        return sorted({r for r in regions if self.prices(r).assumed})

    def with_region(self, prices: Prices) -> PriceBook:
        """A copy with one region's prices replaced."""
        return dataclasses.replace(self, regions=MappingProxyType({**self.regions, prices.region: prices}))


# --- loading ---------------------------------------------------------------------------------------


@functools.cache
def _price_file(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _arch(arch: str) -> str:
    a = str(arch).lower()
    if a in ("arm64", "arm", "graviton", "aarch64"):
        return "arm64"
    if a in ("x86_64", "x86", "amd64"):
        return "x86_64"
    raise PriceError(f"architecture {echo(arch)} is not x86_64 or arm64")


def _rate(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PriceError(f"{where}: {echo(value)} is not a number (USD per unit)")
    try:
        v = float(value)
    except ValueError:
        raise PriceError(f"{where}: {echo(value)} is not a number (USD per unit)") from None
    if not math.isfinite(v) or v < 0:
        raise PriceError(f"{where}: {echo(value)} must be a finite number ≥ 0")
    return v


def _tiers(where: str, value: Any) -> Tiers:
    if not isinstance(value, list | tuple):
        raise PriceError(f"{where}: expected a list of [from_gb_s, usd_per_gb_s] pairs, got {echo(value)}")
    out: list[tuple[float, float]] = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise PriceError(f"{where}[{i}]: expected [from_gb_s, usd_per_gb_s], got {echo(pair)}")
        out.append((_rate(f"{where}[{i}][0]", pair[0]), _rate(f"{where}[{i}][1]", pair[1])))
    starts = [s for s, _ in out]
    if any(b <= a for a, b in zip(starts, starts[1:], strict=False)) or (starts and starts[0] <= 0):
        raise PriceError(f"{where}: tier starts must be > 0 and increasing, got {echo(starts)}")
    return tuple(out)


def _region_prices(region: str, raw: Mapping[str, Any], *, where: str, source: str) -> Prices:
    kw: dict[str, Any] = {}
    for name in _RATE_FIELDS:
        if name not in raw:
            raise PriceError(f"{where}.{name}: missing")
        kw[name] = _rate(f"{where}.{name}", raw[name])
    missing = set()
    for name, default in OPTIONAL_RATES.items():
        if name in raw:
            kw[name] = _rate(f"{where}.{name}", raw[name])
        else:
            kw[name] = default
            missing.add(name)
    for name in _TIER_FIELDS:
        kw[name] = _tiers(f"{where}.{name}", raw.get(name, []))
    return Prices(
        region=region,
        usage_type_prefix=str(raw.get("usage_type_prefix", "")),
        assumed_fields=frozenset(raw.get("assumed", ())) | missing,
        source=source,
        **kw,
    )


def _apply_overrides(base: Prices, region: str, fields: Mapping[str, Any], *, in_file: bool) -> Prices:
    if not isinstance(fields, Mapping):
        raise PriceError(f"pricing.{region}: expected a mapping of field: value, got {echo(fields)}")
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        where = f"pricing.{region}.{cut(str(name))}"
        if name in _RATE_FIELDS or name in OPTIONAL_RATES:
            changes[name] = _rate(where, value)
        elif name in _TIER_FIELDS:
            changes[name] = _tiers(where, value)
        else:
            raise PriceError(f"{where}: unknown price field; use one of {', '.join(PRICE_FIELDS)}")
    left = (base.assumed_fields if in_file else frozenset(PRICE_FIELDS)) - set(changes)
    return dataclasses.replace(
        base,
        region=region,
        assumed=not in_file and not changes,
        assumed_fields=frozenset(left),
        source="config" if changes else base.source,
        **changes,
    )


def load_prices(
    overrides: Mapping[str, Mapping[str, Any]] | None = None, *, path: str | Path | None = None
) -> PriceBook:
    """The price book from the price file, with ``overrides`` (region → field → value) applied.

    Field names are those of the price file (``request``, ``gb_second``, ``gb_second_arm``,
    ``gb_second_tiers``, ``ephemeral_gb_second``, ``provisioned_concurrency_gb_second[_arm]``,
    ``provisioned_duration_gb_second[_arm]``), values in USD per unit; tiers are lists of
    ``[from_month_to_date_gb_s, usd_per_gb_s]``. A region absent from the file may be given
    here: fields not set come from us-east-1 and stay listed in ``assumed_fields``.
    A bad value raises :class:`PriceError` naming ``pricing.<region>.<field>``.
    """
    raw = _price_file(str(path or PRICE_FILE))
    regions_raw = raw.get("regions") or {}
    if DEFAULT_REGION not in regions_raw:
        raise PriceError(f"{path or PRICE_FILE}: no prices for {DEFAULT_REGION}, the default region")
    regions = {r: _region_prices(r, v, where=f"regions.{r}", source="file") for r, v in regions_raw.items()}
    for region, fields in (overrides or {}).items():
        in_file = region in regions
        base = regions[region] if in_file else regions[DEFAULT_REGION]
        regions[region] = _apply_overrides(base, region, fields, in_file=in_file)
    free = raw.get("free_tier") or {}
    return PriceBook(
        regions=MappingProxyType(regions),
        free_requests=_rate("free_tier.requests", free.get("requests", FREE_REQUESTS)),
        free_gb_s=_rate("free_tier.gb_seconds", free.get("gb_seconds", FREE_GB_S)),
        currency=str(raw.get("currency", "USD")),
        as_of=str(raw.get("as_of", "")),
    )


# --- the cost functions -----------------------------------------------------------------------------


def utc_day(values: pd.Series) -> pd.Series:
    """Timestamps or dates as naive ``datetime64[ns]`` midnights of their UTC day."""
    ts = pd.to_datetime(values)
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.dt.floor("D").astype("datetime64[ns]")


def _out(value: np.ndarray, *inputs: Any) -> Number:
    return float(value) if all(np.ndim(i) == 0 for i in inputs) else value


def request_cost_usd(*, requests: Number, prices: Prices) -> Number:
    """Requests × the region's request rate (x86_64 and arm64 alike)."""
    r = np.asarray(requests, dtype="float64")
    return _out(r * prices.request, requests)


def compute_cost_usd(*, gb_s: Number, month_to_date_gb_s: Number = 0.0, arch: str, prices: Prices) -> Number:
    """On-demand duration cost of ``gb_s`` GB-s used after ``month_to_date_gb_s`` this month.

    The tiers apply to the month-to-date GB-s of one account, region and architecture:
    the part of ``gb_s`` below a tier boundary is priced at the lower tier's rate, the
    part above at the next. With us-east-1 x86 rates, 5.9 B GB-s already used and a day
    of 0.2 B: 0.1 B × $0.0000166667 + 0.1 B × $0.000015 = $3,166.67.
    """
    start = np.asarray(month_to_date_gb_s, dtype="float64")
    end = start + np.asarray(gb_s, dtype="float64")
    tiers = prices.tiers(arch)
    total = np.zeros(np.broadcast(start, end).shape)
    for i, (lo, rate) in enumerate(tiers):
        hi = tiers[i + 1][0] if i + 1 < len(tiers) else np.inf
        total = total + (np.clip(end, lo, hi) - np.clip(start, lo, hi)) * rate
    return _out(total, gb_s, month_to_date_gb_s)


def ephemeral_cost_usd(*, gb_s_above_512_mb: Number, prices: Prices) -> Number:
    """Ephemeral storage: GB-s of storage configured above 512 MB × the region's rate.

    ``gb_s_above_512_mb`` = (storage MB − 512) / 1024 × billed seconds; e.g. 10 GB for 1M
    invocations of 1 s: 9.5 GB × 1M s × $0.0000000309 = $0.29355.
    """
    g = np.asarray(gb_s_above_512_mb, dtype="float64")
    return _out(g * prices.ephemeral_gb_second, gb_s_above_512_mb)


def provisioned_cost_usd(*, enabled_gb_s: Number, executing_gb_s: Number, arch: str, prices: Prices) -> Number:
    """Provisioned concurrency: enabled GB-s (environments × memory GB × seconds enabled) and
    executing GB-s (duration of the invocations it serves), each at its own rate. Requests
    are priced apart (:func:`request_cost_usd`); neither part has tiers or free tier."""
    enabled_rate, executing_rate = prices.provisioned_rates(arch)
    e = np.asarray(enabled_gb_s, dtype="float64")
    x = np.asarray(executing_gb_s, dtype="float64")
    return _out(e * enabled_rate + x * executing_rate, enabled_gb_s, executing_gb_s)


def apply_free_tier(
    *, usage: pd.DataFrame, free_requests: float = FREE_REQUESTS, free_gb_s: float = FREE_GB_S
) -> pd.DataFrame:
    """The monthly free tier, consumed day by day from the first of the month.

    ``usage`` has one row per anything-you-like (function, region, ...) and day, with the
    columns ``account`` (whatever holds one free tier: an account, or an organisation with
    consolidated billing), ``date`` (a UTC day), ``requests`` and ``gb_s``: the usage the free
    tier covers, i.e. on-demand requests and GB-s of functions without provisioned
    concurrency, x86_64 and arm64 together (never provisioned concurrency or ephemeral
    storage). Returns a copy with ``requests_free`` and ``gb_s_free``: per account and
    calendar month, each day takes what is left of the allowance, up to the day's total, in
    date order; a day's free amount is shared among its rows in proportion to their usage.
    Requests and GB-s are consumed separately.

    Usage before the first day in ``usage`` is taken as none: pass every day from the first
    of the month for an exact answer.
    """
    missing = {"account", "date", "requests", "gb_s"} - set(usage.columns)
    if missing:
        raise ValueError(f"usage lacks the column(s) {', '.join(sorted(missing))}")
    out = usage.copy()
    if out.empty:
        out["requests_free"] = pd.Series(dtype="float64")
        out["gb_s_free"] = pd.Series(dtype="float64")
        return out
    day = utc_day(out["date"])
    keys = pd.DataFrame({"account": out["account"].astype("object"), "date": day, "month": day.dt.to_period("M")})
    for col, allowance in (("requests", free_requests), ("gb_s", free_gb_s)):
        values = pd.to_numeric(out[col], errors="coerce").fillna(0.0).clip(lower=0.0).astype("float64")
        daily = (
            pd.DataFrame({**keys, "v": values.to_numpy()})
            .groupby(["account", "month", "date"], sort=True)["v"]
            .sum()
            .reset_index()
        )
        before = daily.groupby(["account", "month"], sort=False)["v"].cumsum() - daily["v"]
        daily["free"] = np.clip(allowance - before, 0.0, daily["v"])
        daily["share"] = np.where(daily["v"] > 0, daily["free"] / daily["v"].where(daily["v"] > 0, 1.0), 0.0)
        share = keys.merge(daily[["account", "date", "share"]], on=["account", "date"], how="left")["share"].to_numpy()
        out[f"{col}_free"] = values.to_numpy() * share
    return out


def init_billed(*, day: Any, runtime: Any = None, package_type: Any = "Zip") -> Any:
    """Whether an on-demand invocation's INIT phase is billed: the one rule, used by every path.

    AWS ("AWS Lambda standardizes billing for INIT phase", effective 2025-08-01): the INIT
    phase is billed for every on-demand function from :data:`INIT_BILLED_FROM`; the change
    "specifically affects on-demand invocations of Lambda functions packaged as ZIP files
    that use managed runtimes, for which the INIT phase duration was previously unbilled".
    Functions with container images (``package_type="Image"``) or custom runtimes
    (``provided``, ``provided.al2``, ``provided.al2023``, ...) were already billed for it.
    (Provisioned concurrency and SnapStart bill their initialization apart.)

    Scalars give a bool; a day, runtime or package type given as an array or Series gives a
    numpy bool array (the others broadcast). A runtime that is unknown (None/NaN) on a Zip
    function counts as a managed runtime: before 2025-08-01 its INIT is taken as unbilled.
    """
    scalar = all(np.ndim(v) == 0 for v in (day, runtime, package_type))
    days = pd.to_datetime(pd.Series(np.atleast_1d(np.asarray(day, dtype=object))))
    if days.dt.tz is not None:
        days = days.dt.tz_convert("UTC").dt.tz_localize(None)
    since = (days.dt.normalize() >= pd.Timestamp(INIT_BILLED_FROM)).to_numpy()
    rt = pd.Series(np.atleast_1d(np.asarray(runtime, dtype=object))).astype("string").fillna("").str.lower()
    pt = pd.Series(np.atleast_1d(np.asarray(package_type, dtype=object))).astype("string").fillna("Zip")
    custom = rt.str.startswith("provided").to_numpy()
    image = (pt.str.lower() == "image").to_numpy()
    out = since | custom | image
    return bool(out[0]) if scalar else out


def billed_duration_ms(
    *, duration_ms: Number, init_ms: Number = 0.0, day: date, runtime: str | None = None, package_type: str = "Zip"
) -> Number:
    """What a REPORT line bills: the duration, plus INIT where :func:`init_billed` says it is, rounded up to 1 ms.

    This is why the Duration metric, which excludes INIT, gives a lower estimate of the bill.
    """
    billed_init = init_billed(day=day, runtime=runtime, package_type=package_type)
    total = np.asarray(duration_ms, dtype="float64") + (np.asarray(init_ms, dtype="float64") if billed_init else 0.0)
    # rounded to 1e-9 ms first, so that a binary fraction (102.25 + 150.2 = 252.45000000000002)
    # does not bill one millisecond too many
    return _out(np.ceil(np.round(total, 9)), duration_ms, init_ms)


# --- prices by assumption ------------------------------------------------------------------------

# The price fields each cost part is priced with (what makes a figure "priced by assumption").
PART_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "requests": ("request",),
        "compute_x86_64": ("gb_second", "gb_second_tiers"),
        "compute_arm64": ("gb_second_arm", "gb_second_arm_tiers"),
        "ephemeral": ("ephemeral_gb_second",),
        "provisioned_x86_64": ("provisioned_concurrency_gb_second", "provisioned_duration_gb_second"),
        "provisioned_arm64": ("provisioned_concurrency_gb_second_arm", "provisioned_duration_gb_second_arm"),
        "snapstart": ("snapstart_cache_gb_second", "snapstart_restore_gb"),
        "streaming": ("streaming_gb",),
        "durable": ("durable_operation", "durable_written_gb", "durable_retained_gb_month"),
    }
)


def assumed_fields_used(prices: Prices, parts: Iterable[str]) -> frozenset[str]:
    """The assumed rates among those the cost ``parts`` (keys of :data:`PART_FIELDS`) are priced with.

    Every rate of a region missing from the file is assumed (us-east-1's stands in)."""
    wanted = {f for part in parts for f in PART_FIELDS.get(part, ())}
    return frozenset(wanted & (frozenset(PRICE_FIELDS) if prices.assumed else prices.assumed_fields))


def assumption_note(used: Mapping[str, Iterable[str]], book: PriceBook | None = None) -> str | None:
    """One sentence naming the regions and rates a figure was priced with by assumption, or None.

    ``used`` maps a region to the assumed fields its figures used (:func:`assumed_fields_used`);
    a region whose every rate is assumed (missing from the price file) is named as priced at
    us-east-1's rates."""
    parts = []
    for region in sorted(used):
        fields = sorted(set(used[region]))
        if not fields:
            continue
        whole = book is not None and book.prices(region).assumed
        parts.append(
            f"{region} (at {DEFAULT_REGION}'s rates: not in the price file)" if whole else f"{region} ({', '.join(fields)})"
        )
    if not parts:
        return None
    return (
        "Priced by assumption, with rates not verified for the region: "
        + "; ".join(parts)
        + ". Set them under pricing: in config.yaml, or refresh them with `python -m dashboard prices --refresh`."
    )


# --- the AWS Price List API ----------------------------------------------------------------------

# Usage types of the Price List (after the region prefix, e.g. "USE1-") → candidate price
# fields, first match wins per field (the x86 storage rate before the arm64 one).
_USAGE_TYPES: dict[str, str] = {
    "Request": "request",
    "Lambda-GB-Second": "gb_second",
    "Lambda-GB-Second-ARM": "gb_second_arm",
    "Lambda-Provisioned-Concurrency": "provisioned_concurrency_gb_second",
    "Lambda-Provisioned-Concurrency-ARM": "provisioned_concurrency_gb_second_arm",
    "Lambda-Provisioned-GB-Second": "provisioned_duration_gb_second",
    "Lambda-Provisioned-GB-Second-ARM": "provisioned_duration_gb_second_arm",
    "Lambda-Ephemeral-Storage-GB-Second": "ephemeral_gb_second",
    "Lambda-Storage-GB-Second": "ephemeral_gb_second",
    "Lambda-Ephemeral-Storage-GB-Second-ARM": "ephemeral_gb_second",
    "Lambda-Storage-GB-Second-ARM": "ephemeral_gb_second",
}
_USAGE_ORDER = {kind: i for i, kind in enumerate(_USAGE_TYPES)}
# SnapStart and response streaming: their usage-type strings were not found in any source this was built from, so
# their products are matched on stable product attributes instead (first match wins per field, x86 before ARM):
# the ``group`` (the Price List's "AWS-Lambda-Processed-Bytes[-ARM]" for the streamed bytes, unit
# "Processed-Gigabytes"), else the ``groupDescription`` AWS publishes with the us-east-1 SKUs (cached snapshots,
# unit "GB-Seconds"; snapshot restore, unit "GB"; streamed bytes). Lambda@Edge, event pollers, durable functions
# and managed instances are other groups and are ignored.
_GROUPS: dict[str, str] = {
    "AWS-Lambda-Processed-Bytes": "streaming_gb",
    "AWS-Lambda-Processed-Bytes-ARM": "streaming_gb",
}
_GROUP_DESCRIPTIONS: dict[str, str] = {
    "duration snapshot is cached, weighted by memory and disk": "snapstart_cache_gb_second",
    "snapshot gb restored, measured in gb of memory and disk": "snapstart_restore_gb",
    "processed bytes for streamed response from lambda invocation": "streaming_gb",
}
_USAGE_RE = re.compile(
    r"^(?:(?P<prefix>[A-Z]{2,4}\d?)-)?(?P<kind>"
    + "|".join(map(re.escape, sorted(_USAGE_TYPES, key=len, reverse=True)))
    + ")$"
)


def _price_items(items: Iterable[Any]) -> Iterator[dict]:
    for item in items:
        yield json.loads(item) if isinstance(item, str | bytes) else item


def _dimensions(product: dict) -> list[tuple[float, float]]:
    """(begin_range, usd) of every OnDemand price dimension of one product, sorted by begin."""
    out = []
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            usd = (dim.get("pricePerUnit") or {}).get("USD")
            if usd is not None:
                out.append((float(dim.get("beginRange") or 0), float(usd)))
    return sorted(out)


def prices_from_price_list(items: Iterable[Any], *, region: str, base: Prices) -> Prices:
    """A region's :class:`Prices` from GetProducts ``PriceList`` items (JSON strings or dicts).

    Products are matched on ``regionCode`` and their usage type (``[<prefix>-]Request``,
    ``[<prefix>-]Lambda-GB-Second[-ARM]``, ...); the duration tiers come from the price
    dimensions' ``beginRange``. SnapStart's cache and restore and response streaming's processed bytes are
    matched on the product's ``group`` or ``groupDescription`` (see :data:`_GROUPS`). Fields the answer lacks
    keep ``base``'s value (and stay in ``assumed_fields`` if they were there). Other Lambda products
    (Lambda@Edge, event pollers, durable functions, ...) are ignored.
    """
    candidates: list[tuple[int, str, list[tuple[float, float]], str | None]] = []
    later = len(_USAGE_ORDER)
    for product in _price_items(items):
        attrs = (product.get("product") or {}).get("attributes") or {}
        if attrs.get("regionCode", region) != region:
            continue
        m = _USAGE_RE.match(str(attrs.get("usagetype", "")))
        group = str(attrs.get("group", ""))
        described = " ".join(str(attrs.get("groupDescription", "")).lower().split())
        if m:
            kind = m.group("kind")
            found_as = (_USAGE_ORDER[kind], _USAGE_TYPES[kind], m.group("prefix"))
        elif group in _GROUPS:
            found_as = (later + list(_GROUPS).index(group), _GROUPS[group], None)
        elif described in _GROUP_DESCRIPTIONS:
            found_as = (later + len(_GROUPS) + list(_GROUP_DESCRIPTIONS).index(described), _GROUP_DESCRIPTIONS[described], None)
        else:
            continue
        dims = _dimensions(product)
        if dims:
            candidates.append((found_as[0], found_as[1], dims, found_as[2]))
    found: dict[str, Any] = {}
    prefix = base.usage_type_prefix
    for _, name, dims, pre in sorted(candidates, key=lambda c: c[0]):
        if name in found:
            continue
        prefix = pre or prefix
        found[name] = dims[0][1]
        if name in ("gb_second", "gb_second_arm"):
            found[f"{name}_tiers"] = [[begin, usd] for begin, usd in dims[1:]]
    if not found:
        raise PriceError(f"the Price List has no AWS Lambda prices for {region}")
    kw = {
        k: _tiers(f"price_list.{region}.{k}", v) if k in _TIER_FIELDS else _rate(f"price_list.{region}.{k}", v)
        for k, v in found.items()
    }
    return dataclasses.replace(
        base,
        region=region,
        usage_type_prefix=prefix,
        assumed=False,
        assumed_fields=frozenset(base.assumed_fields) - set(kw),
        source="price_list",
        **kw,
    )


def refresh_from_price_list(
    *, account: Account, region: str, book: PriceBook | None = None, force: bool = False
) -> PriceBook:
    """``book`` (default :func:`load_prices`) with ``region``'s rates read from the AWS Price List.

    One GetProducts query (all pages) per region through the ``pricing`` endpoint in
    us-east-1, filtered on ``regionCode``; the answer is cached for a day in
    ``aws.cache.source("pricing")`` (single-flight, stale on error). AWS errors arrive as
    :mod:`aws.errors` types (``pricing:GetProducts`` is the IAM action).
    """
    from aws import cache, errors, session

    book = book or load_prices()
    store = cache.source("pricing")
    if store.ttl_s != PRICE_LIST_TTL_S:
        store.set_ttl(PRICE_LIST_TTL_S)

    def fetch() -> tuple[Any, ...]:
        c = session.client(account, "pricing", "us-east-1")
        try:
            pages = c.get_paginator("get_products").paginate(
                ServiceCode="AWSLambda",
                Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
                FormatVersion="aws_v1",
            )
            return tuple(item for page in pages for item in page.get("PriceList", ()))
        except Exception as e:
            raise errors.translate(e, service="pricing", operation="GetProducts", account=account.name) from e

    got = store.get((account.cache_id, "global", "pricing", region), fetch, force=force)
    return book.with_region(prices_from_price_list(got.value, region=region, base=book.prices(region)))


# --- provisioned concurrency over time, SnapStart, response streaming --------------------------------
# (AWS's pricing page: https://aws.amazon.com/lambda/pricing/)

PC_STEP_S = 300  # provisioned concurrency "is calculated from the time you enable it ... until it is disabled,
# rounded up to the nearest five minutes"
SNAPSTART_MIN_S = 3 * 3600  # a snapshot's cache is charged "for a minimum of 3 hours and per millisecond thereafter"
STREAM_FREE_BYTES = 6 * 1024 * 1024  # "You can stream the first 6 MB per request at no cost"
STREAM_MAX_BYTES = 20 * 1024 * 1024  # a streamed response's (soft) size limit
STREAMING_FREE_GB = 100.0  # response streaming in the free tier, per month

__all__ += [
    "PC_STEP_S",
    "SNAPSTART_MIN_S",
    "STREAM_FREE_BYTES",
    "STREAMING_FREE_GB",
    "provisioned_billed_s",
    "snapstart_billed",
    "snapstart_cache_gb_s",
    "snapstart_cost_usd",
    "streamed_beyond_bounds",
    "streaming_cost_usd",
    "durable_cost_usd",
]


def provisioned_billed_s(enabled_s: Number) -> Number:
    """Seconds a stretch of provisioned concurrency is billed: from enabling to disabling, rounded up to 5 minutes
    (8 h → 28,800 s; 8 h 1 s → 29,100 s)."""
    s = np.asarray(enabled_s, dtype="float64")
    return _out(np.ceil(np.round(s / PC_STEP_S, 9)) * PC_STEP_S, enabled_s)


def snapstart_billed(runtime: str | None) -> bool:
    """Whether SnapStart's cache and restore are charged: "SnapStart pricing does not apply to supported Java
    managed runtimes" (java*), so every other runtime pays them."""
    return pd.isna(runtime) or not str(runtime).startswith("java")


def snapstart_cache_gb_s(*, memory_mb: Number, active_s: Number) -> Number:
    """One version's snapshot cache: memory GB × the seconds it is active, at least 3 hours."""
    a = np.maximum(np.asarray(active_s, dtype="float64"), SNAPSTART_MIN_S)
    return _out(np.asarray(memory_mb, dtype="float64") / 1024.0 * a, memory_mb, active_s)


def snapstart_cost_usd(*, cache_gb_s: Number, restore_gb: Number, prices: Prices, runtime: str | None = None) -> Number:
    """SnapStart: cache GB-s × the cache rate + GB restored (restores × memory GB) × the restore rate; nothing on a
    Java managed runtime. AWS's example: 1 GB active 31 days (2,678,400 GB-s → $4.03) and 74,400 restores of 1 GB
    (→ $10.40): $14.43."""
    c = np.asarray(cache_gb_s, dtype="float64")
    r = np.asarray(restore_gb, dtype="float64")
    cost = c * prices.snapstart_cache_gb_second + r * prices.snapstart_restore_gb
    if not snapstart_billed(runtime):
        cost = cost * 0.0
    return _out(cost, cache_gb_s, restore_gb)


def streaming_cost_usd(*, gb_beyond_6_mb: Number, prices: Prices) -> Number:
    """Response streaming: GB written beyond the first 6 MB of each response × the rate (1 GB = 1,024 MB).
    AWS's example: 1M responses of 7 MB → 976.5625 GB × $0.008 = $7.8125."""
    g = np.asarray(gb_beyond_6_mb, dtype="float64")
    return _out(g * prices.streaming_gb, gb_beyond_6_mb)


def streamed_beyond_bounds(*, total_bytes: Number, responses: Number) -> tuple[Number, Number]:
    """(low, high) bytes beyond the first 6 MB of each response, knowing only a sum over ``responses``.

    Low: every response the same size, ``max(0, total − 6 MB × responses)`` (exact when all responses of the
    period are on the same side of 6 MB). High: the bytes packed into as few responses as the 20 MB limit allows,
    each paying all but 6 MB: ``total − 6 MB × ⌈total / 20 MB⌉``, at least the low bound.
    """
    t = np.asarray(total_bytes, dtype="float64")
    n = np.asarray(responses, dtype="float64")
    low = np.clip(t - STREAM_FREE_BYTES * n, 0.0, None)
    k = np.minimum(np.ceil(t / STREAM_MAX_BYTES), np.maximum(n, 1.0))
    high = np.maximum(np.clip(t - STREAM_FREE_BYTES * k, 0.0, None), low)
    return _out(low, total_bytes, responses), _out(high, total_bytes, responses)


def durable_cost_usd(*, operations: Number, written_gb: Number, retained_gb_month: Number, prices: Prices) -> Number:
    """Durable functions' own charges (Lambda's compute and requests, replays included, are priced as usual):
    durable operations (starting an execution, completing a step, creating a wait, ...) × the operation rate, GB
    those operations write × the write rate, and GB-months retained (while running and for the retention period
    after, prorated) × the retention rate. AWS's example: 4M operations ($32.00), 104 GB written ($26.00),
    (24.27 + 48.53) GB-month retained ($10.92): $68.92."""
    o = np.asarray(operations, dtype="float64")
    w = np.asarray(written_gb, dtype="float64")
    r = np.asarray(retained_gb_month, dtype="float64")
    cost = o * prices.durable_operation + w * prices.durable_written_gb + r * prices.durable_retained_gb_month
    return _out(cost, operations, written_gb, retained_gb_month)
