"""``organization: auto``: which organisation an account's bill belongs to, asked of AWS Organizations (moto's server)."""

from __future__ import annotations

import boto3
import pytest

from aws import cache
from aws.meter import METER
from dashboard.config import settings as settings_mod
from dashboard.figures import organizations


@pytest.fixture
def config(tmp_path, moto_url):
    cache.source("inventory").clear()
    p = tmp_path / "config.yaml"
    p.write_text(
        "accounts:\n"
        f"  - {{name: payer, endpoint_url: '{moto_url}', organization: auto}}\n"
        f"  - {{name: member, endpoint_url: '{moto_url}', organization: auto}}\n"
        f"  - {{name: named, endpoint_url: '{moto_url}', organization: acme}}\n"
        f"  - {{name: alone, endpoint_url: '{moto_url}'}}\n"
        "aws: {max_attempts: 1}\n"
    )
    yield settings_mod.load(p)
    cache.source("inventory").clear()


def test_auto_asks_aws_organizations_and_bills_its_members_together(config, moto_url):
    # not in an organisation yet: each "auto" account is billed alone, said once per account
    orgs, warnings = organizations.resolve(config)
    assert orgs == {"named": "acme"}
    assert len(warnings) == 2 and warnings[0].startswith(
        "The organisation of account payer could not be read, so it is billed alone (its own free tier and duration tiers): "
    )
    client = boto3.client("organizations", region_name="us-east-1", endpoint_url=moto_url)
    org_id = client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    # the failure was not cached: asked again, both accounts resolve to the organisation's id
    orgs, warnings = organizations.resolve(config)
    assert (orgs, warnings) == ({"payer": org_id, "member": org_id, "named": "acme"}, [])
    # and the answer is cached like the inventory: asked again, no new call
    before = METER.snapshot().count("DescribeOrganization", "organizations")
    assert organizations.resolve(config)[0]["payer"] == org_id
    assert METER.snapshot().count("DescribeOrganization", "organizations") == before > 0
