"""Which accounts share one consolidated bill (AWS Organizations): from config.yaml, or asked of AWS.

``accounts[].organization`` names the organisation an account's bill belongs to; accounts naming the
same one share its free tier and duration tiers (:func:`dashboard.figures.cost_estimate.estimate`).
``organization: auto`` asks AWS Organizations (``DescribeOrganization``, IAM action
``organizations:DescribeOrganization``, callable from the management and member accounts alike) and
uses the organisation's id; the answer is cached as the inventory is. An account whose organisation
cannot be read (access denied, not in an organisation, unreachable) is billed alone, with one warning
sentence saying so.
"""

from __future__ import annotations

from aws import cache
from aws.errors import AwsError
from aws.session import call
from dashboard.config.settings import ORGANIZATION_AUTO, Settings

__all__ = ["resolve"]


def resolve(settings: Settings, *, force: bool = False) -> tuple[dict[str, str], list[str]]:
    """Account name → organisation (a configured name, or the id AWS gives for ``auto``), and the warnings."""
    out = settings.organizations()
    auto = [a.name for a in settings.accounts if a.organization == ORGANIZATION_AUTO]
    if not auto:
        return out, []
    accounts = {a.name: a for a in settings.aws_accounts() if a.name in auto}
    store = cache.source("inventory")
    warnings = []
    for name in auto:
        account = accounts[name]
        try:
            got = store.get(
                (account.cache_id, "global", "organization"),
                lambda a=account: call(a, "organizations", "us-east-1", "describe_organization"),
                force=force,
            )
            out[name] = str(got.value["Organization"]["Id"])
        except AwsError as e:
            warnings.append(
                f"The organisation of account {name} could not be read, so it is billed alone (its own free tier "
                f"and duration tiers): {e}"
            )
    return out, warnings
