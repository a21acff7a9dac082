"""Injected faults, decided per HTTP attempt: endpoint down, latency/read timeout, denial, throttling.

Decisions are deterministic: a throttle is drawn from (seed, call number, attempt), so a
run repeats exactly. Faults are raised or answered inside botocore's retry loop
(``before-send``), so botocore's real retry logic handles them.
"""

from __future__ import annotations

import fnmatch
import time

import botocore.exceptions as bce

from aws.errors import iam_action
from aws.sim.catalog import ACCOUNT_ID
from aws.sim.noise import unit_py
from aws.sim.wire import ApiError

__all__ = ["decide", "THROTTLE_CODES", "denied"]

THROTTLE_CODES = {
    "cloudwatch": "ThrottlingException",
    "logs": "ThrottlingException",
    "ce": "LimitExceededException",
    "lambda": "TooManyRequestsException",
    "resourcegroupstaggingapi": "ThrottledException",
    "sts": "Throttling",
}


def _status(protocol: str, kind: str) -> int:
    if protocol == "rest-json":
        return {"throttle": 429, "deny": 403}[kind]
    if protocol in ("query", "rest-xml", "ec2") and kind == "deny":
        return 403
    return 400


def denied(spec, service: str, operation: str) -> ApiError | None:
    """AccessDenied when the sim spec denies this call's IAM action."""
    action = iam_action(service, operation)
    for pattern in spec.deny:
        if fnmatch.fnmatchcase(action, pattern):
            return ApiError(
                "AccessDeniedException",
                f"User: arn:aws:iam::{getattr(spec, 'aws_account_id', None) or ACCOUNT_ID}:user/demo is not authorized to perform: {action} "
                f"because no identity-based policy allows the {action} action",
                400,
            )
    return None


def decide(
    spec,
    *,
    service: str,
    service_id: str,
    operation: str,
    protocol: str,
    call_number: int,
    attempt: int,
    read_timeout: float | None,
    url: str,
) -> ApiError | None:
    """The fault for this attempt: raises a connection error, or returns an error to answer, or None."""
    if service in spec.down or service_id in spec.down:
        raise bce.EndpointConnectionError(endpoint_url=url)
    if spec.latency_s > 0:
        limit = read_timeout if read_timeout else None
        if limit is not None and spec.latency_s > limit:
            time.sleep(limit)
            raise bce.ReadTimeoutError(endpoint_url=url)
        time.sleep(spec.latency_s)
    deny = denied(spec, service, operation)
    if deny is not None:
        deny.status = _status(protocol, "deny")
        return deny
    if spec.throttle_rate > 0 and (
        not spec.throttle_services or service in spec.throttle_services or service_id in spec.throttle_services
    ):
        if unit_py(spec.seed, call_number, attempt, 0x7417) < spec.throttle_rate:
            return ApiError(
                THROTTLE_CODES.get(service, "ThrottlingException"), "Rate exceeded", _status(protocol, "throttle")
            )
    return None
