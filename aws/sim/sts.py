"""STS: GetCallerIdentity."""

from __future__ import annotations

from aws.sim.catalog import ACCOUNT_ID
from aws.sim.registry import Call, handles


@handles("sts", "GetCallerIdentity")
def get_caller_identity(call: Call, params: dict) -> dict:
    return {"UserId": "AIDASIMULATEDDEMOUSER", "Account": ACCOUNT_ID, "Arn": f"arn:aws:iam::{ACCOUNT_ID}:user/demo"}
