"""Lambda inventory: every function (ListFunctions, all pages) and its reserved concurrency."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pandas as pd

from aws import errors
from aws.concurrency import run_concurrently
from aws.frames import UTC_TS, typed_frame
from aws.session import Account, client

__all__ = ["SCHEMA", "list_functions", "functions", "reserved_concurrency"]

log = logging.getLogger(__name__)

SCHEMA: dict[str, str] = {
    "account": "string",
    "region": "string",
    "function": "string",
    "arn": "string",
    "runtime": "string",  # "provided.al2023", "python3.12", ...; <NA> for container images
    "architecture": "string",  # x86_64 | arm64
    "memory_mb": "int64",
    "timeout_s": "int64",
    "ephemeral_storage_mb": "int64",
    "reserved_concurrency": "Int64",  # <NA> where none is set
    "last_modified": UTC_TS,
    "package_type": "string",  # Zip | Image
    "handler": "string",
    "code_size_bytes": "int64",
    "log_group": "string",  # /aws/lambda/<name> unless the function logs elsewhere
    "log_format": "string",  # Text | JSON
    "snapstart": "boolean",
    "description": "string",
}


def list_functions(*, account: Account, region: str) -> Iterator[dict]:
    """Yield ListFunctions records, following every page (50 a page, AWS's maximum)."""
    c = client(account, "lambda", region)
    try:
        for page in c.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 50}):
            yield from page.get("Functions", ())
    except Exception as e:
        raise errors.translate(e, service="lambda", operation="ListFunctions", account=account.name, region=region) from e


def _row(account: Account, region: str, f: dict) -> dict:
    logging_cfg = f.get("LoggingConfig") or {}
    name = f["FunctionName"]
    return {
        "account": account.name,
        "region": region,
        "function": name,
        "arn": f["FunctionArn"],
        "runtime": f.get("Runtime"),
        "architecture": (f.get("Architectures") or ["x86_64"])[0],
        "memory_mb": f.get("MemorySize", 128),
        "timeout_s": f.get("Timeout", 3),
        "ephemeral_storage_mb": (f.get("EphemeralStorage") or {}).get("Size", 512),
        "last_modified": pd.to_datetime(f.get("LastModified"), utc=True, format="ISO8601"),
        "package_type": f.get("PackageType", "Zip"),
        "handler": f.get("Handler"),
        "code_size_bytes": f.get("CodeSize", 0),
        "log_group": logging_cfg.get("LogGroup") or f"/aws/lambda/{name}",
        "log_format": logging_cfg.get("LogFormat") or "Text",
        "snapstart": (f.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions",
        "description": f.get("Description") or "",
    }


def reserved_concurrency(*, account: Account, region: str, names: list[str], workers: int = 8) -> dict[str, int]:
    """Reserved concurrency of each function that has one (GetFunctionConcurrency; ListFunctions lacks it)."""
    c = client(account, "lambda", region)

    def one(name: str) -> tuple[str, int | None]:
        try:
            return name, c.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
        except Exception as e:
            err = errors.translate(e, service="lambda", operation="GetFunctionConcurrency", account=account.name, region=region)
            if isinstance(err, errors.InvalidRequest) and "ResourceNotFound" in str(err):
                return name, None  # deleted between the list and this call
            raise err from e

    return {n: v for n, v in run_concurrently(one, names, max_workers=workers, name="lambda") if v is not None}


def functions(*, account: Account, region: str, with_concurrency: bool = True) -> pd.DataFrame:
    """The functions of one account × region as a frame of :data:`SCHEMA`.

    With ``with_concurrency``, reserved concurrency is read per function; a denied
    ``lambda:GetFunctionConcurrency`` leaves the column <NA> and says so in
    ``frame.attrs["warnings"]`` instead of failing the inventory.
    """
    rows = [_row(account, region, f) for f in list_functions(account=account, region=region)]
    frame = typed_frame(rows, SCHEMA)
    frame.attrs["warnings"] = []
    if with_concurrency and len(frame):
        try:
            reserved = reserved_concurrency(account=account, region=region, names=frame["function"].tolist())
        except errors.AccessDenied as e:
            frame.attrs["warnings"].append(str(e))
        else:
            frame["reserved_concurrency"] = frame["function"].map(reserved).astype("Int64")
    return frame.sort_values("function", ignore_index=True)
