"""STS: GetCallerIdentity."""

from __future__ import annotations

from aws.sim.registry import Call, handles


@handles("sts", "GetCallerIdentity")
def get_caller_identity(call: Call, params: dict) -> dict:
    return {"UserId": "AIDASIMULATEDDEMOUSER", "Account": call.model.account_id, "Arn": f"arn:aws:iam::{call.model.account_id}:user/demo"}
