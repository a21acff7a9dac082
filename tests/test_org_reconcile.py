"""Two member accounts of one organisation on the simulated account: each has its own account ID, their bill is
consolidated (one free tier a month, shared in proportion to usage), and the Costs page's reconciliation stays
within 1 % a day only with the organisation applied to the estimate."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aws import sim
from aws.session import call
from aws.sim.organizations import organization_id as organizations_id
from dashboard.config.settings import Settings
from dashboard.figures import cost_report, organizations

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _settings(org: str | None = "acme") -> Settings:
    extra = {"organization": org} if org else {}
    return Settings(
        accounts=[
            {"name": "alpha", "demo": True, "regions": ["us-east-1"], "simulation": {"functions": 54, "seed": 7}, **extra},
            {"name": "beta", "demo": True, "regions": ["us-east-1"], "simulation": {"functions": 6, "seed": 11}, **extra},
        ]
    )


@pytest.fixture
def fixed_clock():
    sim.set_clock(lambda: NOW)
    yield
    sim.set_clock(None)


def _daily(model, kind: str):
    """Per day of November to the 19th: (quantity, free quantity) of ``kind`` in the account's own bill."""
    bill = model.daily_costs(start=date(2026, 11, 1), end=date(2026, 11, 20))
    return bill[bill["kind"] == kind].groupby("date")[["quantity", "free_quantity"]].sum()


def test_each_demo_account_has_its_own_id_and_the_first_keeps_the_usual_one(fixed_clock):
    alpha, beta = _settings(None).aws_accounts()
    ids = [call(a, "sts", "us-east-1", "get_caller_identity")["Account"] for a in (alpha, beta)]
    assert ids[0] == "123456789012" and ids[1] != ids[0] and len(ids[1]) == 12 and ids[1].isdigit()
    arns = call(beta, "lambda", "us-east-1", "list_functions")["Functions"]
    assert arns and all(f":{ids[1]}:function:" in f["FunctionArn"] for f in arns)
    # the ID follows the account's name, so a restart gives the same one
    assert _settings(None).aws_accounts()[1].sim.aws_account_id == beta.sim.aws_account_id


def test_the_simulated_bill_shares_one_free_tier_per_organisation(fixed_clock):
    org = [sim.model_for(a) for a in _settings().aws_accounts()]
    alone = [sim.model_for(a) for a in _settings(None).aws_accounts()]
    for kind, allowance in (("requests", 1e6), ("gb_seconds", 400_000.0)):
        used = [_daily(m, kind) for m in org]
        used_alone = [_daily(m, kind) for m in alone]
        for u, v in zip(used, used_alone, strict=True):  # the same usage either way
            assert u["quantity"].tolist() == pytest.approx(v["quantity"].tolist())
        total = used[0]["quantity"] + used[1]["quantity"]
        free = used[0]["free_quantity"] + used[1]["free_quantity"]
        assert total.sum() > allowance  # the organisation uses up its free tier this month ...
        assert free.sum() == pytest.approx(allowance)  # ... and has exactly one
        assert sum(v["free_quantity"].sum() for v in used_alone) > 1.2 * allowance  # two when billed apart
        for u in used:  # each member's share of a day's free tier in proportion to its usage that day
            assert u["free_quantity"].tolist() == pytest.approx((free * u["quantity"] / total).tolist())


@pytest.mark.parametrize("org", ["acme", "auto"])  # named in config.yaml, or discovered with DescribeOrganization
def test_costs_page_reconciles_within_1_percent_a_day_only_with_the_organisation(fixed_clock, monkeypatch, org):
    settings = _settings(org)
    report = cost_report.gather(settings, now=NOW)
    rec = report.reconciliation()
    assert not [w for w in report.warnings if "organisation" in w]  # "auto" resolved: nothing billed alone
    assert set(rec["account"]) == {"alpha", "beta"}
    assert len(rec) == 2 * 19 and rec["actual_usd"].notna().all()
    assert rec["unexplained_share"].abs().max() < 0.01, rec
    est = report.estimate
    # the account has what the brief asks for: scheduled PC, SnapStart and streaming functions
    assert (est["provisioned_enabled_gb_s"] > 0).any()
    assert (est["snapstart_usd"] > 0).any()
    stream = est[est["function"] == "media-render-stream"]
    assert len(stream) and (stream["streaming_gb_high"] > 0).all(), stream.filter(like="stream")

    # the same usage and bill, the estimate billing each account alone: two free tiers, so the first days do not match
    monkeypatch.setattr(organizations, "resolve", lambda settings, force=False: ({}, []))
    cost_report._REPORTS.clear()  # the report is kept per data version: the patched function is not data it read
    apart = cost_report.gather(settings, now=NOW).reconciliation()
    assert apart["actual_usd"].tolist() == pytest.approx(rec["actual_usd"].tolist())
    assert apart["unexplained_share"].abs().max() > 0.01, apart
    assert apart["free_tier_usd"].sum() < rec["free_tier_usd"].sum()  # more free tier (negative) when billed apart


def test_auto_discovers_the_simulated_organisation_and_says_when_it_cannot(fixed_clock):
    # the demo accounts of one config with `organization: auto` answer DescribeOrganization with one organisation,
    # managed by the first of them; their simulated bill is consolidated as the estimate will be
    settings = Settings(
        accounts=[
            {"name": "alpha", "demo": True, "organization": "auto"},
            {"name": "beta", "demo": True, "organization": "auto"},
            {"name": "gamma", "demo": True},  # not in the organisation
            {"name": "delta", "demo": True, "organization": "named"},  # alone in a named one
        ]
    )
    alpha, beta, gamma, delta = settings.aws_accounts()
    got = [call(a, "organizations", "us-east-1", "describe_organization")["Organization"] for a in (alpha, beta)]
    assert got[0] == got[1] and got[0]["Id"].startswith("o-") and got[0]["MasterAccountId"] == "123456789012"
    assert [n for n, _, _ in alpha.sim.billing_group] == ["alpha", "beta"] == [n for n, _, _ in beta.sim.billing_group]
    assert gamma.sim.billing_group == () == delta.sim.billing_group
    orgs, warnings = organizations.resolve(settings, force=True)
    assert orgs == {"alpha": got[0]["Id"], "beta": got[0]["Id"], "delta": "named"} and warnings == []

    # an account outside any organisation, or one that may not ask: billed alone, one sentence each
    lonely = Settings(
        accounts=[
            {"name": "solo", "demo": True, "organization": "auto"},
            {"name": "other", "demo": True},
            {"name": "shy", "demo": True, "organization": "auto",
             "simulation": {"deny": ["organizations:DescribeOrganization"]}},
        ]
    )  # fmt: skip
    solo = lonely.aws_accounts()[0]
    assert [n for n, _, _ in solo.sim.billing_group] == ["solo", "shy"]  # both "auto": one organisation ...
    orgs, warnings = organizations.resolve(lonely, force=True)
    assert orgs == {"solo": organizations_id(("solo", "shy"))}  # ... which shy may not read
    assert len(warnings) == 1 and warnings[0].startswith(
        "The organisation of account shy could not be read, so it is billed alone (its own free tier and duration tiers): "
    )
    assert "organizations:DescribeOrganization" in warnings[0]
    single = Settings(accounts=[{"name": "solo", "demo": True, "organization": "auto"}])
    orgs, warnings = organizations.resolve(single, force=True)
    assert orgs == {} and len(warnings) == 1 and "not a member of an organization" in warnings[0]
