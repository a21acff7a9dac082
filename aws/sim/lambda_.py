"""Lambda: ListFunctions (Marker/MaxItems ≤ 50), GetFunction(Configuration), GetFunctionConcurrency,
GetAccountSettings, ListProvisionedConcurrencyConfigs (the level now: :mod:`aws.sim.provisioned`),
ListVersionsByFunction."""

from __future__ import annotations

from datetime import timedelta

from aws.sim import provisioned, tokens
from aws.sim.catalog import FunctionSpec
from aws.sim.clock import anchor
from aws.sim.noise import hash_py
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

__all__ = ["configuration", "lambda_time"]

ACCOUNT_CONCURRENCY = 1000
PAGE_MAX = 50


def lambda_time(t) -> str:
    """Lambda's LastModified format: 2026-11-20T10:15:00.000+0000."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def configuration(call: Call, s: FunctionSpec) -> dict:
    """The FunctionConfiguration of a simulated function, as ListFunctions shows it."""
    a = anchor(call.now)
    modified = (a - timedelta(days=s.modified_days_ago)).replace(hour=10, minute=15)
    h = hash_py(call.model.seed, s.index, 0xC0DE)
    cfg: dict = {
        "FunctionName": s.name,
        "FunctionArn": s.arn,
        "Runtime": s.runtime,
        "Role": f"arn:aws:iam::{s.account_id}:role/{s.name}-role",
        "Handler": s.handler,
        "CodeSize": s.code_size,
        "Description": s.description,
        "Timeout": s.timeout_s,
        "MemorySize": s.memory_mb,
        "LastModified": lambda_time(modified),
        "CodeSha256": f"{h:016x}{h ^ 0x5A5A:016x}"[:32] + "=",
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": f"{h & 0xFFFFFFFF:08x}-{(h >> 32) & 0xFFFF:04x}-4{(h >> 48) & 0xFFF:03x}-8000-{h:012x}"[:36],
        "PackageType": "Zip",
        "Architectures": [s.architecture],
        "EphemeralStorage": {"Size": s.ephemeral_mb},
        "LoggingConfig": {"LogFormat": s.log_format, "LogGroup": s.log_group},
        "SnapStart": {
            "ApplyOn": "PublishedVersions" if s.snapstart else "None",
            "OptimizationStatus": "On" if s.snapstart else "Off",
        },
    }
    if s.log_format == "JSON":
        cfg["LoggingConfig"].update({"ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"})
    if s.layers:
        cfg["Layers"] = [{"Arn": arn, "CodeSize": 12_345_678} for arn in s.layers]
    return cfg


def _function(call: Call, name: str) -> FunctionSpec:
    s = call.model.lookup(name, call.region)
    if s is None:
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{call.region}:{call.model.account_id}:function:{name}"
        raise ApiError("ResourceNotFoundException", f"Function not found: {arn}", 404)
    return s


@handles("lambda", "ListFunctions")
def list_functions(call: Call, params: dict) -> dict:
    fns = call.model.in_region(call.region)
    fp = tokens.fingerprint(params, drop=("Marker", "MaxItems"))
    pos = tokens.read(params.get("Marker"), fp, code="InvalidParameterValueException", what="marker")
    start = int(pos["i"]) if pos else 0
    size = min(int(params.get("MaxItems") or PAGE_MAX), PAGE_MAX)
    page = fns[start : start + size]
    out: dict = {"Functions": [configuration(call, s) for s in page]}
    if start + size < len(fns):
        out["NextMarker"] = tokens.make({"i": start + size}, fp)
    return out


@handles("lambda", "GetFunctionConfiguration")
def get_function_configuration(call: Call, params: dict) -> dict:
    return configuration(call, _function(call, params["FunctionName"]))


@handles("lambda", "GetFunction")
def get_function(call: Call, params: dict) -> dict:
    s = _function(call, params["FunctionName"])
    out: dict = {
        "Configuration": configuration(call, s),
        "Code": {
            "RepositoryType": "S3",
            "Location": f"https://awslambda-{call.region}-tasks.s3.amazonaws.com/{s.name}",
        },
        "Tags": s.tag_dict,
    }
    if s.reserved:
        out["Concurrency"] = {"ReservedConcurrentExecutions": s.reserved}
    return out


@handles("lambda", "GetFunctionConcurrency")
def get_function_concurrency(call: Call, params: dict) -> dict:
    s = _function(call, params["FunctionName"])
    return {"ReservedConcurrentExecutions": s.reserved} if s.reserved else {}


@handles("lambda", "GetAccountSettings")
def get_account_settings(call: Call, params: dict) -> dict:
    fns = call.model.in_region(call.region)
    reserved = sum(s.reserved or 0 for s in fns)
    return {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": 262_144_000,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
            "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY - reserved,
        },
        "AccountUsage": {"TotalCodeSize": sum(s.code_size for s in fns), "FunctionCount": len(fns)},
    }


@handles("lambda", "ListProvisionedConcurrencyConfigs")
def list_provisioned_concurrency_configs(call: Call, params: dict) -> dict:
    s = _function(call, params["FunctionName"])
    level = provisioned.level_at(s, call.now)
    if not level:
        return {"ProvisionedConcurrencyConfigs": []}
    if s.pc_schedule == "daily":  # set by the last scheduled action
        past = provisioned.changes(s, call.now - timedelta(days=2), call.now)
        modified = past[-1][0] if past else anchor(call.now) - timedelta(days=s.modified_days_ago)
    elif s.pc_schedule == "monthly":  # set by hand at the window's start
        modified = call.now.replace(hour=s.pc_from_h, minute=0, second=0, microsecond=0)
    else:
        modified = anchor(call.now) - timedelta(days=s.modified_days_ago)
    return {
        "ProvisionedConcurrencyConfigs": [
            {
                "FunctionArn": f"{s.arn}:live",
                "RequestedProvisionedConcurrentExecutions": level,
                "AvailableProvisionedConcurrentExecutions": level,
                "AllocatedProvisionedConcurrentExecutions": level,
                "Status": "READY",
                "LastModified": modified.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            }
        ]
    }


@handles("lambda", "ListVersionsByFunction")
def list_versions_by_function(call: Call, params: dict) -> dict:
    """$LATEST and, for a SnapStart function, its one published version (published when last modified)."""
    s = _function(call, params["FunctionName"])
    latest = configuration(call, s)
    out = [latest]
    if s.snapstart:
        v = dict(latest, Version="1", FunctionArn=f"{s.arn}:1")
        out.append(v)
        latest = dict(latest, SnapStart={"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"})
        out[0] = latest
    return {"Versions": out}


@handles("lambda", "ListTags")
def list_tags(call: Call, params: dict) -> dict:
    return {"Tags": _function(call, params["Resource"]).tag_dict}
