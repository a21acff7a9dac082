"""AWS Organizations: DescribeOrganization, as the demo accounts of one config see it.

The demo accounts that share one consolidated bill (``SimSpec.billing_group``: configured with the same
``organization:`` name, or all those with ``organization: auto``) answer the same organisation: its id is
derived from the members' names, its management account is the first member. A demo account billed alone
answers AWSOrganizationsNotInUseException, as an account outside any organisation does; denying
``organizations:DescribeOrganization`` in the sim spec answers AccessDeniedException (aws.sim.faults).
"""

from __future__ import annotations

import hashlib

from aws.sim.catalog import ACCOUNT_ID
from aws.sim.registry import Call, handles
from aws.sim.wire import ApiError

__all__ = ["organization_id"]


def organization_id(member_names: tuple[str, ...]) -> str:
    """The simulated organisation's id (``o-`` and 10 lowercase letters and digits, as AWS's ids are)."""
    digest = hashlib.sha256("\x00".join(sorted(member_names)).encode()).hexdigest()
    return f"o-{digest[:10]}"


@handles("organizations", "DescribeOrganization")
def describe_organization(call: Call, params: dict) -> dict:
    group = getattr(call.account.sim, "billing_group", ())
    if not group:
        raise ApiError("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
    org_id = organization_id(tuple(name for name, _, _ in group))
    master = getattr(group[0][2], "aws_account_id", None) or ACCOUNT_ID
    return {
        "Organization": {
            "Id": org_id,
            "Arn": f"arn:aws:organizations::{master}:organization/{org_id}",
            "FeatureSet": "ALL",
            "MasterAccountArn": f"arn:aws:organizations::{master}:account/{org_id}/{master}",
            "MasterAccountId": master,
            "MasterAccountEmail": "billing@example.com",
            "AvailablePolicyTypes": [],
        }
    }
