"""Application Auto Scaling for Lambda provisioned concurrency: DescribeScalableTargets,
DescribeScheduledActions, DescribeScalingActivities (namespace ``lambda``).

A function with a working-hours schedule (``pc_schedule="daily"``, :mod:`aws.sim.provisioned`) is a
scalable target ``function:<name>:live`` with two scheduled actions, and one successful scaling activity
per change of its level over the last six weeks (AWS keeps scaling activities that long), newest first,
at most 50 a page (``NextToken``).
"""

from __future__ import annotations

from datetime import timedelta

from aws.sim import provisioned, tokens
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

DIMENSION = "lambda:function:ProvisionedConcurrency"
RETENTION = timedelta(weeks=6)
PAGE_MAX = 50


def _targets(call: Call, params: dict) -> list:
    if params.get("ServiceNamespace") != "lambda":
        return []
    if params.get("ScalableDimension") not in (None, DIMENSION):
        return []
    wanted = params.get("ResourceIds") or ([params["ResourceId"]] if params.get("ResourceId") else None)
    out = []
    for s in call.model.in_region(call.region):
        if s.pc_schedule != "daily":
            continue
        rid = f"function:{s.name}:live"
        if wanted is None or rid in wanted:
            out.append((rid, s))
    return out


def _page(params: dict, items: list, key: str) -> dict:
    fp = tokens.fingerprint(params, drop=("NextToken", "MaxResults"))
    pos = tokens.read(params.get("NextToken"), fp, code="InvalidNextTokenException")
    start = int(pos["i"]) if pos else 0
    size = int(params.get("MaxResults") or PAGE_MAX)
    if not 1 <= size <= PAGE_MAX:
        raise ApiError("ValidationException", f"MaxResults must be between 1 and {PAGE_MAX}.")
    out: dict = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = tokens.make({"i": start + size}, fp)
    return out


@handles("application-autoscaling", "DescribeScalableTargets")
def describe_scalable_targets(call: Call, params: dict) -> dict:
    created = call.now - timedelta(days=120)
    items = [
        {
            "ServiceNamespace": "lambda",
            "ResourceId": rid,
            "ScalableDimension": DIMENSION,
            "MinCapacity": s.pc_low,
            "MaxCapacity": s.provisioned,
            "RoleARN": f"arn:aws:iam::{call.model.account_id}:role/aws-service-role/lambda.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency",
            "CreationTime": created,
        }
        for rid, s in _targets(call, params)
    ]
    return _page(params, items, "ScalableTargets")


@handles("application-autoscaling", "DescribeScheduledActions")
def describe_scheduled_actions(call: Call, params: dict) -> dict:
    created = call.now - timedelta(days=120)
    items = []
    for rid, s in _targets(call, params):
        for name, hour, level in (("working-hours-up", s.pc_from_h, s.provisioned), ("working-hours-down", s.pc_to_h, s.pc_low)):
            items.append(
                {
                    "ScheduledActionName": name,
                    "ScheduledActionARN": f"arn:aws:autoscaling:{call.region}:{call.model.account_id}:scheduledAction:{s.index:08d}:resource/lambda/{rid}:scheduledActionName/{name}",
                    "ServiceNamespace": "lambda",
                    "Schedule": f"cron(0 {hour % 24} * * ? *)",
                    "Timezone": "UTC",
                    "ResourceId": rid,
                    "ScalableDimension": DIMENSION,
                    "ScalableTargetAction": {"MinCapacity": level, "MaxCapacity": level},
                    "CreationTime": created,
                }
            )
    return _page(params, items, "ScheduledActions")


@handles("application-autoscaling", "DescribeScalingActivities")
def describe_scaling_activities(call: Call, params: dict) -> dict:
    end = call.now
    start = end - RETENTION
    items = []
    for rid, s in _targets(call, params):
        for t, level in provisioned.changes(s, start, end):
            name = "working-hours-up" if level == s.provisioned else "working-hours-down"
            items.append(
                {
                    "ActivityId": f"{s.index:04d}{int(t.timestamp()):012x}-0000-4000-8000-000000000000"[:36],
                    "ServiceNamespace": "lambda",
                    "ResourceId": rid,
                    "ScalableDimension": DIMENSION,
                    "Description": f"Setting desired concurrency to {level}.",
                    "Cause": f"scheduled action name {name} was triggered",
                    "StartTime": t,
                    "EndTime": t + timedelta(seconds=40),
                    "StatusCode": "Successful",
                    "StatusMessage": f"Successfully set desired concurrency to {level}. Change successfully fulfilled by lambda.",
                }
            )
    items.sort(key=lambda a: a["StartTime"], reverse=True)
    return _page(params, items, "ScalingActivities")
