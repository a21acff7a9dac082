"""Function tags from the Resource Groups Tagging API: one call per 100 functions, not one per function."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from aws import errors
from aws.frames import typed_frame
from aws.session import Account, client

__all__ = ["SCHEMA", "tagged_resources", "function_tags"]

SCHEMA: dict[str, str] = {"account": "string", "region": "string", "arn": "string", "key": "string", "value": "string"}


def tagged_resources(*, account: Account, region: str) -> Iterator[dict]:
    """Yield GetResources records of Lambda functions, 100 a page (the API's maximum), every page."""
    c = client(account, "resourcegroupstaggingapi", region)
    try:
        pages = c.get_paginator("get_resources").paginate(ResourceTypeFilters=["lambda:function"], ResourcesPerPage=100)
        for page in pages:
            yield from page.get("ResourceTagMappingList", ())
    except Exception as e:
        raise errors.translate(
            e, service="resourcegroupstaggingapi", operation="GetResources", account=account.name, region=region
        ) from e


def function_tags(*, account: Account, region: str) -> pd.DataFrame:
    """Long frame, one row per (function ARN, tag key): account, region, arn, key, value."""
    rows = [
        {"account": account.name, "region": region, "arn": r["ResourceARN"], "key": t["Key"], "value": t.get("Value", "")}
        for r in tagged_resources(account=account, region=region)
        for t in r.get("Tags", ())
    ]
    return typed_frame(rows, SCHEMA)
