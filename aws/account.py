"""Lambda account settings of one account × region: the concurrent-executions quota (GetAccountSettings).

The alert metric ``concurrency_account_share`` divides a function's peak concurrency by
the quota of its account and region (1,000 by default, raised on request). One call per
account × region; callers cache it with the inventory (the quota changes rarely).
"""

from __future__ import annotations

import pandas as pd

from aws import errors
from aws.frames import typed_frame
from aws.session import Account, client

__all__ = ["SCHEMA", "DEFAULT_CONCURRENCY", "account_settings"]

DEFAULT_CONCURRENCY = 1000  # Lambda's default concurrent-executions quota per account and region

SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "concurrent_executions": "int64",  # AccountLimit.ConcurrentExecutions: the quota
    "unreserved_concurrent_executions": "Int64",  # the quota less every function's reserved concurrency
    "function_count": "Int64",
}


def account_settings(*, account: Account, region: str) -> pd.DataFrame:
    """One row of :data:`SCHEMA` for ``account`` in ``region`` (raises :mod:`aws.errors` types)."""
    c = client(account, "lambda", region)
    try:
        got = c.get_account_settings()
    except Exception as e:
        raise errors.translate(e, service="lambda", operation="GetAccountSettings", account=account.name, region=region) from e
    limit = got.get("AccountLimit") or {}
    usage = got.get("AccountUsage") or {}
    row = {
        "account": account.name,
        "region": region,
        "concurrent_executions": int(limit.get("ConcurrentExecutions", DEFAULT_CONCURRENCY)),
        "unreserved_concurrent_executions": limit.get("UnreservedConcurrentExecutions"),
        "function_count": usage.get("FunctionCount"),
    }
    return typed_frame([row], SCHEMA)
