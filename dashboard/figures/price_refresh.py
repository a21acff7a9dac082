"""What ``python -m dashboard prices`` prints: the price book per region, and a refresh from the AWS Price List.

- :func:`price_table` lists every region of the book: its source (price file, config.yaml, Price List),
  the day the file was checked, the main rates and the rates assumed (not verified for the region).
- :func:`refresh` reads regions' rates from the Price List (:func:`dashboard.figures.pricing.refresh_from_price_list`,
  one GetProducts query per region through the ``pricing`` endpoint in us-east-1, cached for a day) and
  compares them with the book: one row per rate that differs. :func:`overrides_yaml` turns those rows into
  a ``pricing:`` section for config.yaml, which is how an operator applies them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import yaml

from aws.errors import AwsError
from aws.frames import typed_frame
from aws.session import Account
from dashboard.figures.pricing import PRICE_FIELDS, PriceBook, PriceError, refresh_from_price_list

__all__ = ["PRICE_TABLE_SCHEMA", "CHANGES_SCHEMA", "Refreshed", "price_table", "refresh", "overrides_yaml"]

PRICE_TABLE_SCHEMA: dict[str, str] = {
    "region": "string",
    "source": "string",  # file | config | price_list; "us-east-1 stand-in" for a region the file lacks
    "as_of": "string",  # the day the price file's rates were last checked
    "request_usd": "float64",
    "gb_second_usd": "float64",
    "gb_second_arm_usd": "float64",
    "assumed_prices": "string",  # the rates not verified for the region, comma-separated ("" = none)
}

CHANGES_SCHEMA: dict[str, str] = {
    "region": "string",
    "field": "string",
    "current": "string",  # the book's value (file or config.yaml), as JSON
    "price_list": "string",  # the Price List's value, as JSON
    "changed": "boolean",  # False: the same value, now verified (it was in the region's assumed list)
}


def price_table(book: PriceBook, regions: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per region of ``book`` (or of ``regions``), sorted by region."""
    rows = []
    for region in sorted(regions if regions is not None else book.regions):
        p = book.prices(region)
        assumed = sorted(PRICE_FIELDS if p.assumed else p.assumed_fields)
        rows.append(
            {
                "region": region,
                "source": f"{book.default_region} stand-in" if p.assumed else p.source,
                "as_of": book.as_of,
                "request_usd": p.request,
                "gb_second_usd": p.gb_second,
                "gb_second_arm_usd": p.gb_second_arm,
                "assumed_prices": ", ".join(assumed),
            }
        )
    return typed_frame(rows, PRICE_TABLE_SCHEMA)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class Refreshed:
    """The outcome of :func:`refresh`: the refreshed book, the rates that changed and one sentence per failure."""

    book: PriceBook
    changes: pd.DataFrame  # CHANGES_SCHEMA
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # region → field → new value
    errors: list[str] = field(default_factory=list)


def refresh(*, book: PriceBook, regions: Iterable[str], account: Account, force: bool = False) -> Refreshed:
    """Each region's rates from the Price List, compared with ``book``: one row (and override) per rate that
    differs, or that was assumed for the region and is now verified.

    A region the Price List cannot give (access denied, unreachable, no AWS Lambda products) keeps the
    book's rates and adds one sentence to ``errors``."""
    rows: list[dict[str, str]] = []
    overrides: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    out = book
    for region in regions:
        try:
            fresh = refresh_from_price_list(account=account, region=region, book=out, force=force)
        except (AwsError, PriceError) as e:
            errors.append(f"{region}: {e}")
            continue
        before, after = book.prices(region), fresh.prices(region)
        was_assumed = frozenset(PRICE_FIELDS) if before.assumed else before.assumed_fields
        for name in PRICE_FIELDS:
            old, new = _plain(getattr(before, name)), _plain(getattr(after, name))
            confirmed = name in was_assumed and name not in after.assumed_fields
            if old != new or confirmed:
                rows.append(
                    {
                        "region": region,
                        "field": name,
                        "current": json.dumps(old),
                        "price_list": json.dumps(new),
                        "changed": old != new,
                    }
                )
                overrides.setdefault(region, {})[name] = new
        out = fresh
    return Refreshed(out, typed_frame(rows, CHANGES_SCHEMA), overrides, errors)


def overrides_yaml(overrides: dict[str, dict[str, Any]], *, as_of: str) -> str:
    """A ``pricing:`` section for config.yaml holding ``overrides`` (region → field → value)."""
    head = f"# AWS Lambda rates read from the AWS Price List on {as_of}; merge into config.yaml's pricing: section\n"
    return head + yaml.safe_dump({"pricing": overrides}, sort_keys=True, default_flow_style=None)
