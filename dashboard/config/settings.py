"""Settings: ``config.yaml`` read, validated and turned into typed objects.

Unknown keys are errors. A bad file raises :class:`ConfigError` whose message is
one line naming the file, the key path and the fix, e.g.
``config.yaml: accounts[0].regions[1]: 'us-east-9' is not an AWS region``.
No file → the demo default. Secrets never live here: the SMTP password is read
from the environment variable that ``email.smtp.password_env`` names.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aws.errors import iam_action
from aws.session import SIM_SERVICES, Account, SimSpec
from dashboard.config.echo import cut, echo
from dashboard.config.loader import YamlRefused, load_yaml
from dashboard.config.ranges import PRESETS

__all__ = ["Settings", "ConfigError", "load", "DEFAULT_CONFIG", "aws_regions"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


class ConfigError(ValueError):
    """config.yaml is missing a value, has a wrong one, or cannot be read; ``str()`` is the one line to show."""


@functools.cache
def aws_regions() -> frozenset[str]:
    """Every region botocore knows Lambda in, all partitions."""
    import boto3

    s = boto3.Session()
    out: set[str] = set()
    for p in s.get_available_partitions():
        out |= set(s.get_available_regions("lambda", partition_name=p))
    return frozenset(out)


def _region_problem(region: str) -> str | None:
    """Why ``region`` is not usable, or None: the one wording of every region check."""
    return None if region in aws_regions() else f"{echo(region)} is not an AWS region (e.g. us-east-1, eu-west-1)"


def _has_control(text: str) -> bool:
    """Whether ``text`` holds an ASCII control character (line breaks and tabs included)."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def _check_unique_names(names: list[str], what: str) -> None:
    """Raise at the second use of a name (pointing at that item)."""
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise _ItemError(i, f"{what} name {echo(n)} is used twice; give each {what} its own name")
        seen.add(n)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


Seconds = Annotated[int, Field(gt=0, le=30 * 86400)]  # a cache TTL: at most 30 days
ORGANIZATION_AUTO = "auto"  # accounts[].organization: ask AWS Organizations (dashboard.figures.organizations)
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# the IAM prefixes of the simulated services (deny: [ce:GetCostAndUsage]): tag for resourcegroupstaggingapi
_SIM_IAM = tuple(dict.fromkeys(iam_action(s, "").removesuffix(":") for s in SIM_SERVICES))
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class DemoSettings(_Model):
    """The simulated account: its size, and faults to inject (to see how the product behaves under them)."""

    functions: int = Field(48, ge=1, le=20000)
    seed: int = Field(7, ge=0, le=2**32 - 1)
    throttle_rate: float = Field(0.0, ge=0.0, lt=1.0)  # share of requests answered with a throttling error
    throttle_services: list[str] = Field(default_factory=list)  # e.g. [cloudwatch, logs]; empty = all
    deny: list[str] = Field(default_factory=list)  # IAM actions refused, e.g. [cloudwatch:GetMetricData]
    latency_s: float = Field(0.0, ge=0.0, le=60.0)
    down: list[str] = Field(default_factory=list)  # services whose endpoint refuses connections
    logs_insights: bool = True
    # tags every simulated function carries too (key → value), e.g. {team: "<b>x</b>"}: a hostile value
    # for the injection tests (docs/security.md)
    extra_tags: dict[str, str] = Field(default_factory=dict)
    # the account's fixed clock, e.g. 2026-12-08T15:30:00Z: every surface (pages, CLI, digests) is then shown as at
    # that moment, for demos and checks; without an offset it is UTC. None: real time.
    now: datetime | None = None

    @field_validator("now")
    @classmethod
    def _now(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        if not 2015 <= v.year <= 2100:  # before the offset is applied: year 1 at +01:00 is no datetime in UTC
            raise ValueError(f"{v:%Y-%m-%d} is out of bounds; give a time between 2015 and 2100, e.g. 2026-12-08T15:30:00Z")
        return (v if v.tzinfo is not None else v.replace(tzinfo=UTC)).astimezone(UTC)

    @field_validator("down", "throttle_services")
    @classmethod
    def _services(cls, v: list[str]) -> list[str]:
        for i, service in enumerate(v):
            if service not in SIM_SERVICES:
                raise _ItemError(i, f"{echo(service)} is not a simulated service; use one of {', '.join(SIM_SERVICES)}")
        return v

    @field_validator("deny")
    @classmethod
    def _actions(cls, v: list[str]) -> list[str]:
        for i, a in enumerate(v):
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", a):
                raise _ItemError(i, f"{echo(a)} is not an IAM action (service:Operation, e.g. cloudwatch:GetMetricData)")
            if a.partition(":")[0] not in _SIM_IAM:
                raise _ItemError(i, f"{echo(a)} names no simulated service; its part before ':' is one of {', '.join(_SIM_IAM)}")
        return v

    def to_spec(self) -> SimSpec:
        return SimSpec(
            functions=self.functions,
            seed=self.seed,
            throttle_rate=self.throttle_rate,
            throttle_services=tuple(self.throttle_services),
            deny=tuple(self.deny),
            latency_s=self.latency_s,
            down=tuple(self.down),
            logs_insights=self.logs_insights,
            extra_tags=tuple(self.extra_tags.items()),
            now=self.now,
        )


class AccountSettings(_Model):
    name: str
    demo: bool = False
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"], min_length=1)
    endpoint_url: str | None = None
    simulation: DemoSettings = Field(default_factory=DemoSettings)
    # AWS Organizations with consolidated billing: accounts naming the same organisation share one bill (one
    # free tier a month, duration tiers over their summed usage per region); see cost_estimate.estimate.
    # "auto": ask AWS Organizations (DescribeOrganization) which organisation the account belongs to
    organization: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _ACCOUNT_NAME.match(v):
            raise ValueError(f"{echo(v)} is not an account name; use 1 to 64 letters, digits, '.', '_' or '-'")
        return v

    @field_validator("organization", mode="before")
    @classmethod
    def _organization(cls, v: Any) -> Any:
        if v is not None and (not isinstance(v, str) or not _ACCOUNT_NAME.match(v)):
            raise ValueError(
                f"{echo(v)} is not an organisation name; use 1 to 64 letters, digits, '.', '_' or '-' "
                "(the same name on every account that shares the consolidated bill), or leave it out"
            )
        return v

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str]) -> list[str]:
        for i, r in enumerate(v):
            if problem := _region_problem(r):
                raise _ItemError(i, problem)
        if len(set(v)) != len(v):
            raise ValueError("lists a region twice; list each once")
        return v

    @field_validator("role_arn")
    @classmethod
    def _role(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.match(v):
            raise ValueError(f"{echo(v)} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{echo(v)} is not a URL (e.g. http://localhost:4566)")
        return v

    @model_validator(mode="after")
    def _auth(self) -> AccountSettings:
        if self.demo and (self.profile or self.role_arn or self.endpoint_url):
            raise ValueError("a demo account takes no profile, role_arn or endpoint_url; remove them or set demo: false")
        if self.external_id and not self.role_arn:
            raise ValueError("external_id needs role_arn; add the role to assume")
        return self

    def to_account(
        self, *, max_attempts: int = 8, connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0, deadline_s: float = 120.0
    ) -> Account:
        return Account(
            name=self.name,
            regions=tuple(self.regions),
            profile=self.profile,
            role_arn=self.role_arn,
            external_id=self.external_id,
            endpoint_url=self.endpoint_url,
            demo=self.demo,
            sim=self.simulation.to_spec(),
            max_attempts=max_attempts,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            deadline_s=deadline_s,
        )


class CacheTtls(_Model):
    inventory: Seconds = 900
    tags: Seconds = 900
    metrics: Seconds = 120
    insights: Seconds = 300
    logs: Seconds = 300
    costs: Seconds = Field(6 * 3600, ge=3600)
    forecast: Seconds = Field(6 * 3600, ge=3600)


class AllocationSettings(_Model):
    tag_keys: list[str] = Field(default_factory=lambda: ["team"], min_length=1)
    manual: dict[str, str] = Field(default_factory=dict)  # function name → team
    untagged_label: str = "untagged"
    shared_cost: Literal["separate", "proportional"] = "separate"


Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
AlertMetric = Literal[
    "error_rate",
    "errors",
    "throttles",
    "throttle_rate",
    "duration_p99_ms",
    "duration_p99_timeout_share",
    "memory_utilization",
    "cold_start_rate",
    "no_invocations",
    "iterator_age_ms",
    "async_event_age_ms",
    "concurrency",
    "concurrency_account_share",
]


class AlertRule(_Model):
    name: str = Field(min_length=1)
    metric: AlertMetric
    statistic: Literal["Sum", "Average", "Maximum", "Minimum", "p50", "p90", "p99"] = "Maximum"
    comparison: Comparison = "GreaterThanThreshold"
    threshold: float
    period_s: int = Field(300, ge=60)
    evaluation_periods: int = Field(3, ge=1, le=100)
    datapoints_to_alarm: int | None = Field(None, ge=1)
    missing_data: Literal["missing", "breaching", "notBreaching", "ignore"] = "missing"
    severity: Literal["critical", "warning", "info"] = "warning"
    min_invocations: int = Field(0, ge=0)
    enabled: bool = True

    @field_validator("period_s")
    @classmethod
    def _period(cls, v: int) -> int:
        if v % 60:
            raise ValueError(f"{v} is not a multiple of 60 (CloudWatch periods for Lambda metrics are minutes)")
        return v

    @model_validator(mode="after")
    def _m_of_n(self) -> AlertRule:
        if self.datapoints_to_alarm is not None and self.datapoints_to_alarm > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) exceeds evaluation_periods "
                f"({self.evaluation_periods}); M must be ≤ N"
            )
        return self


class RuleOverride(_Model):
    threshold: float | None = None
    severity: Literal["critical", "warning", "info"] | None = None
    evaluation_periods: int | None = Field(None, ge=1)
    datapoints_to_alarm: int | None = Field(None, ge=1)
    min_invocations: int | None = Field(None, ge=0)
    enabled: bool | None = None


class AlertSettings(_Model):
    rules: list[AlertRule] = Field(default_factory=list)
    # tag key → tag value → rule name → override;  function name → rule name → override
    tag_overrides: dict[str, dict[str, dict[str, RuleOverride]]] = Field(default_factory=dict)
    function_overrides: dict[str, dict[str, RuleOverride]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> AlertSettings:
        names = [r.name for r in self.rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"rule name {echo(sorted(dup)[0])} is used twice; give each rule its own name")
        by_name = {r.name: r for r in self.rules}
        overrides = [(f"function_overrides.{cut(fn)}", rules) for fn, rules in self.function_overrides.items()] + [
            (f"tag_overrides.{cut(key)}.{cut(val)}", rules) for key, values in self.tag_overrides.items() for val, rules in values.items()
        ]
        for where, rules in overrides:
            for rn, o in rules.items():
                rule = by_name.get(rn)
                if rule is None:
                    raise ValueError(f"{where}: no rule named {echo(rn)} (rules: {', '.join(names)})")
                n = o.evaluation_periods or rule.evaluation_periods
                m = o.datapoints_to_alarm or rule.datapoints_to_alarm or n
                if m > n:
                    raise ValueError(f"{where}.{rn}: datapoints_to_alarm ({m}) exceeds evaluation_periods ({n}); M must be ≤ N")
        return self


def _email(v: str) -> str:
    if not _EMAIL.match(v):
        raise ValueError(f"{echo(v)} is not an e-mail address (name@example.com)")
    return v


class SmtpSettings(_Model):
    """How digests reach an SMTP relay. The password is read from the environment variable ``password_env`` names."""

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"  # tls = implicit TLS (port 465)
    username: str | None = None
    password_env: str | None = None  # the NAME of the environment variable holding the password
    ca_file: str | None = None  # a PEM bundle to trust instead of the system's (a private CA)
    timeout_s: float = Field(30.0, gt=0, le=600)

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", v):
            raise ValueError(f"{echo(v)} is not an environment variable name; put the variable's NAME here, never the secret")
        return v

    @model_validator(mode="after")
    def _auth_pair(self) -> SmtpSettings:
        if self.username and not self.password_env:
            raise ValueError("username needs password_env, the name of the environment variable holding the password")
        if self.password_env and not self.username:
            raise ValueError("password_env needs username; add the account to log in as")
        if self.username and self.security == "none":
            raise ValueError("authentication over an unencrypted connection would send the password in clear; use security: starttls or tls")
        return self


_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_DIGEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _cron(v: str) -> str:
    from croniter import croniter  # imported when a schedule is validated, not with the settings module

    text = " ".join(v.split())
    fields = text.split(" ")
    if not (text in _CRON_MACROS or len(fields) == 5):
        raise ValueError(
            f"{echo(v)} is not a cron expression; use five fields (minute hour day-of-month month day-of-week, "
            f"e.g. '0 8 * * 1-5') or @daily / @weekly / @hourly"
        )
    try:
        croniter(text)
    except (ValueError, KeyError) as e:  # croniter's errors subclass ValueError
        raise ValueError(f"{echo(v)} is not a cron expression ({cut(str(e))}); e.g. '0 8 * * 1-5' is 08:00 on weekdays") from None
    return text


class DigestSettings(_Model):
    """One scheduled e-mail digest: the organisation's (no team) or one team's."""

    name: str = Field(min_length=1)  # also the state key and the file name of a dry run
    team: str | None = None  # None: the organisation-wide digest; else only this team's functions
    recipients: list[str] = Field(min_length=1)
    schedule: str = "0 8 * * 1-5"  # cron, in ``timezone``
    timezone: str = "UTC"  # IANA name, e.g. Europe/Berlin
    range: str = "24h"  # the period covered (alerts, movers); compared with the period before it
    rules: list[str] | None = None  # alert rule names this digest reports; None: every rule
    min_severity: Literal["critical", "warning", "info"] = "info"  # leave out alerts below this severity
    monthly_budget_usd: float | None = Field(None, gt=0)  # None: email.monthly_budget_usd for the organisation's digest
    top_movers: int = Field(5, ge=0, le=50)  # functions listed per mover metric
    only_when_changed: bool = False  # send only when an alert is new or resolved, or the budget status changed

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _DIGEST_NAME.match(v):
            raise ValueError(f"{echo(v)} is not a digest name; use letters, digits, '.', '_' or '-' (it names files)")
        return v

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, v: list[str]) -> list[str]:
        for i, r in enumerate(v):
            if not _EMAIL.match(r):
                raise _ItemError(i, f"{echo(r)} is not an e-mail address (name@example.com)")
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        return _cron(v)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{echo(v)} is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)") from None
        return v

    @field_validator("range")
    @classmethod
    def _range(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"{echo(v)} is not a range preset (one of {', '.join(PRESETS)})")
        return v

    @field_validator("team")
    @classmethod
    def _team(cls, v: str | None) -> str | None:
        if v is not None and (not v or _has_control(v)):
            raise ValueError(f"{echo(v)} is not a team name; control characters are not allowed")
        return v


class EmailSettings(_Model):
    transport: Literal["smtp", "ses"] = "smtp"
    sender: str = "lambda-lens@example.com"
    sender_name: str = Field("Lambda Lens", max_length=64)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    ses_region: str = "us-east-1"
    ses_api: Literal["raw", "v2"] = "raw"  # raw: SES SendRawEmail; v2: SESv2 SendEmail with raw content
    ses_account: str | None = None  # a configured (non-demo) account whose credentials send; None: the default chain
    ses_endpoint_url: str | None = None  # local development (moto, LocalStack)
    ses_configuration_set: str | None = None
    monthly_budget_usd: float | None = Field(None, gt=0)  # the organisation's monthly Lambda budget
    dashboard_url: str | None = None  # when set, digests link to the dashboard's pages (never needed to understand them)
    state_path: str = ".lambda-lens/digest-state.json"  # relative to the config file's folder
    retry_attempts: int = Field(4, ge=1, le=10)  # tries per send before the failure is reported
    retry_backoff_s: float = Field(2.0, ge=0, le=300)  # first wait; doubled after every failed try
    catch_up_s: int = Field(3600, ge=0, le=7 * 86400)  # a slot missed by less than this (a restart) is sent late
    digests: list[DigestSettings] = Field(default_factory=list)

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        return _email(v)

    @field_validator("sender_name")
    @classmethod
    def _sender_name(cls, v: str) -> str:
        if _has_control(v):
            raise ValueError("must not contain control characters (line breaks, tabs)")
        return v

    @field_validator("ses_region")
    @classmethod
    def _ses_region(cls, v: str) -> str:
        if problem := _region_problem(v):
            raise ValueError(problem)
        return v

    @field_validator("ses_endpoint_url", "dashboard_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+[^\s]*$", v):
            raise ValueError(f"{echo(v)} is not a URL (e.g. https://lambda-lens.example.com)")
        return v

    @field_validator("digests")
    @classmethod
    def _unique_digests(cls, v: list[DigestSettings]) -> list[DigestSettings]:
        _check_unique_names([d.name for d in v], "digest")
        return v


class LogsSettings(_Model):
    source: Literal["auto", "insights", "filter"] = "auto"


class AwsSettings(_Model):
    max_attempts: int = Field(8, ge=1, le=20)
    # per HTTP attempt; a call waits at most about max_attempts × (connect + read) plus botocore's backoff
    connect_timeout_s: float = Field(5.0, gt=0, le=120)
    read_timeout_s: float = Field(30.0, gt=0, le=300)
    # wall time, whatever the endpoint does (trickles bytes, throttles without end): one part (a source's answer for
    # one account × region) fails with one sentence past deadline_s; a page's or a command's whole load ends within
    # refresh_deadline_s, the parts still running given up (their last good answer shown stale when there is one)
    deadline_s: float = Field(120.0, gt=0, le=3600)
    refresh_deadline_s: float = Field(300.0, gt=0, le=7200)
    # the dashboard's own AWS spend a month (GetMetricData, Cost Explorer, Logs Insights): what viewers look at is
    # refreshed behind the pages at a cadence that keeps the month within it (aws/refresh.py); 0 turns that off
    monthly_budget_usd: float = Field(10.0, ge=0, le=100_000)


_PROVIDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _no_control(v: str, what: str) -> str:
    if not v or _has_control(v):
        raise ValueError(f"{echo(v)} is not {what}; it must be non-empty, without control characters")
    return v


class AccessSettings(_Model):
    """Who may open the dashboard and which teams each person sees (see dashboard.config.access).

    The identity provider's settings and secrets (client id and secret, cookie secret) are Streamlit's:
    ``[auth]`` in ``.streamlit/secrets.toml``, never here.
    """

    sign_in: bool = False  # true: every page asks for sign-in through the OIDC provider (st.login)
    provider: str | None = None  # a named provider, [auth.<provider>] in secrets.toml; None: [auth] itself
    identity_claim: str = Field("email", min_length=1)  # the ID token claim that names the person
    teams_claim: str | None = None  # optional claim listing the person's teams (e.g. groups)
    all_teams: list[str] = Field(default_factory=list)  # identities (glob patterns) that see every team
    teams: dict[str, list[str]] = Field(default_factory=dict)  # identity (glob pattern) → teams; "*" = every team

    @field_validator("provider")
    @classmethod
    def _provider(cls, v: str | None) -> str | None:
        if v is not None and not _PROVIDER.match(v):
            raise ValueError(f"{echo(v)} is not a provider name (letters, digits, '_' or '-'; it names [auth.{cut(v)}] in secrets.toml)")
        return v

    @field_validator("all_teams")
    @classmethod
    def _all_teams(cls, v: list[str]) -> list[str]:
        for i, pattern in enumerate(v):
            try:
                _no_control(pattern, "an identity pattern")
            except ValueError as e:
                raise _ItemError(i, str(e)) from None
        return v

    @field_validator("teams")
    @classmethod
    def _teams(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for pattern, teams in v.items():
            try:
                _no_control(pattern, "an identity pattern")
                if not teams:
                    raise ValueError("lists no team; name at least one (or \"*\" for every team)")
                for team in teams:
                    _no_control(team, "a team name")
            except ValueError as e:
                raise _ItemError(pattern, str(e)) from None
        return v


class Settings(_Model):
    accounts: list[AccountSettings] = Field(
        default_factory=lambda: [AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"])],
        min_length=1,
    )
    default_range: str = "24h"
    cache_ttl_s: CacheTtls = Field(default_factory=CacheTtls)
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    logs: LogsSettings = Field(default_factory=LogsSettings)
    aws: AwsSettings = Field(default_factory=AwsSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    # region → price field → value (USD per unit), over aws/data/lambda_prices.json; see dashboard.figures.pricing.load_prices
    pricing: dict[str, dict[str, Any]] = Field(default_factory=dict)
    source: str = Field("(built-in demo default)", exclude=True)

    @field_validator("default_range")
    @classmethod
    def _range(cls, v: str) -> str:
        if v not in PRESETS:
            raise ValueError(f"{echo(v)} is not a range preset (one of {', '.join(PRESETS)})")
        return v

    @field_validator("accounts")
    @classmethod
    def _unique(cls, v: list[AccountSettings]) -> list[AccountSettings]:
        _check_unique_names([a.name for a in v], "account")
        clocks = {a.simulation.now for a in v if a.demo and a.simulation.now is not None}
        if len(clocks) > 1:
            raise ValueError("the demo accounts set different simulation.now clocks; give them one (the whole dashboard runs on it)")
        return v

    @field_validator("pricing")
    @classmethod
    def _pricing(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        from dashboard.figures.pricing import PriceError, load_prices

        for region in v:
            if problem := _region_problem(region):
                raise _ItemError(region, problem)
        try:
            load_prices(v)
        except PriceError as e:  # "pricing.<region>.<field>[i][j]: problem" → the key path, then the problem
            where, _, problem = str(e).partition(": ")
            raise _ItemError(where.removeprefix("pricing."), problem) from None
        return v

    def organizations(self) -> dict[str, str]:
        """Account name → the organisation whose consolidated bill it shares, as configured (accounts without
        one bill alone; ``organization: auto`` is resolved by :func:`dashboard.figures.organizations.resolve`)."""
        return {a.name: a.organization for a in self.accounts if a.organization and a.organization != ORGANIZATION_AUTO}

    def pricing_overrides(self) -> dict[str, dict[str, Any]]:
        """The ``pricing:`` section as :func:`dashboard.figures.pricing.load_prices` takes it."""
        return {r: dict(f) for r, f in self.pricing.items()}

    def aws_accounts(self) -> list[Account]:
        if any(a.demo for a in self.accounts):
            import aws.sim  # noqa: F401 - registers the simulated account, which answers the demo accounts' calls
        accounts = [
            a.to_account(
                max_attempts=self.aws.max_attempts,
                connect_timeout_s=self.aws.connect_timeout_s,
                read_timeout_s=self.aws.read_timeout_s,
                deadline_s=self.aws.deadline_s,
            )
            for a in self.accounts
        ]
        # demo accounts with `organization: auto` share the simulated organisation (aws.sim.organizations answers
        # DescribeOrganization for them alike), so the simulated bill groups them as the estimate will
        auto = {a.name: ORGANIZATION_AUTO for a in self.accounts if a.demo and a.organization == ORGANIZATION_AUTO}
        return _simulated_billing(accounts, self.organizations() | auto)

    @property
    def is_demo(self) -> bool:
        return all(a.demo for a in self.accounts)

    @property
    def fixed_now(self) -> datetime | None:
        """The clock a demo account fixes (``simulation.now``), or None for real time."""
        return next((a.simulation.now for a in self.accounts if a.demo and a.simulation.now is not None), None)

    def now(self) -> datetime:
        """"Now" for every figure of this config, tz-aware UTC: :attr:`fixed_now` when set, else the real clock."""
        return self.fixed_now or datetime.now(UTC)


def _demo_account_id(name: str) -> str:
    """A further demo account's own 12-digit ID, derived from its name (the first keeps 123456789012)."""
    n = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 900_000_000_000
    return str(100_000_000_000 + n)


def _simulated_billing(accounts: list[Account], organizations: dict[str, str]) -> list[Account]:
    """Demo accounts as the simulated account needs them: each but the first with its own account ID, and the
    demo accounts of one configured organisation sharing one consolidated bill (``SimSpec.billing_group``)."""
    demo = [a for a in accounts if a.demo]
    if len(demo) < 2:
        return accounts
    ids = {a.name: (None if i == 0 else _demo_account_id(a.name)) for i, a in enumerate(demo)}
    base = {a.name: replace(a, sim=replace(a.sim, aws_account_id=ids[a.name])) for a in demo}
    groups: dict[str, tuple] = {}
    for org in set(organizations.values()):
        members = [base[n] for n in base if organizations.get(n) == org]
        if len(members) > 1:
            groups[org] = tuple((m.name, m.regions, m.sim) for m in members)
    out = []
    for a in accounts:
        if a.name in base:
            a = base[a.name]
            group = groups.get(organizations.get(a.name, ""), ())
            if group:
                a = replace(a, sim=replace(a.sim, billing_group=group))
        out.append(a)
    return out


class _ItemError(ValueError):
    """A list validator's error that points at one item."""

    def __init__(self, index: int | str, message: str):
        super().__init__(message)
        self.index = index


CONFIG_ENV = "LAMBDA_LENS_CONFIG"  # the config file, for the app and every command alike (--config wins)


def load(path: str | Path | None = None) -> Settings:
    """Read and validate the config: ``path``, else ``$LAMBDA_LENS_CONFIG``, else ./config.yaml, else the demo default."""
    path = path or os.environ.get(CONFIG_ENV) or None
    if path is None:
        p = Path("config.yaml")
        if not p.exists():
            return Settings()
    else:
        p = Path(path)
    name = str(path) if path is not None else "config.yaml"
    text = _read(p, name)
    try:
        data = load_yaml(text)
    except YamlRefused as e:
        raise ConfigError(f"{name}: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{name}: {where}invalid YAML ({cut(problem)}); fix the syntax there") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: the top level must be a mapping of keys (accounts:, alerts:, ...), not {type(data).__name__}")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{name}: {_describe(e, data)}") from None
    return settings.model_copy(update={"source": name})


MAX_BYTES = 1_000_000  # config.yaml is a few kB; a larger file is refused before it is read
_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def _read(p: Path, name: str) -> str:
    """The text of the config file: a regular file (checked before it is opened: a FIFO would block, /dev/zero
    never end) of at most :data:`MAX_BYTES`, in UTF-8. Each refusal is one :class:`ConfigError` sentence."""
    raw = os.fsencode(p)
    if len(raw) > 4096 or any(len(part) > 255 for part in raw.split(b"/")):
        raise ConfigError(f"{cut(name)}: the path is too long (a name over 255 bytes, or 4,096 in all); check it")
    try:
        _check_kind(p.stat().st_mode, name)
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # non-blocking: swapped for a FIFO since, it still cannot block
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            _check_kind(info.st_mode, name)
            if info.st_size > MAX_BYTES:
                raise ConfigError(f"{name}: is {info.st_size / 1e6:,.1f} MB; a config file is at most {MAX_BYTES / 1e6:.0f} MB")
            data = f.read(MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"{name}: no such file; check the path, or omit --config for the demo account") from None
    except PermissionError:
        raise ConfigError(f"{name}: cannot be read (permission denied); make it readable by this user") from None
    except OSError as e:
        raise ConfigError(f"{name}: cannot be read ({e.strerror or type(e).__name__}); check the path") from None
    if len(data) > MAX_BYTES:  # a file that grew, or one whose size the system does not tell (/proc)
        raise ConfigError(f"{name}: is over {MAX_BYTES / 1e6:.0f} MB; a config file is at most {MAX_BYTES / 1e6:.0f} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: is not UTF-8 text; save it as UTF-8") from None


def _check_kind(mode: int, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise ConfigError(f"{name}: is a directory, not a YAML file")
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a file")
        raise ConfigError(f"{name}: is {kind}, not a regular file; give the path of a YAML file")


def _describe(exc: ValidationError, data: Any) -> str:
    errs = exc.errors(include_url=False)
    first = errs[0]
    loc = list(first["loc"])
    msg = _message(first, loc)
    ctx_err = (first.get("ctx") or {}).get("error")
    if isinstance(ctx_err, _ItemError):
        loc.append(ctx_err.index)
    more = f" (and {len(errs) - 1} more problem{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
    return f"{_path(loc) or '(top level)'}: {msg}{more}"


def _path(loc: list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{cut(str(part))}"  # a key of the file's, e.g. a function's name under function_overrides
        else:
            out = cut(str(part))
    return out


def _message(err: dict, loc: list) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        if str(key).lower() in {"client_secret", "cookie_secret", "client_id", "server_metadata_url", "redirect_uri"}:
            return "the sign-in provider's settings and secrets go in .streamlit/secrets.toml under [auth], never in config.yaml"
        if str(key).lower() in {"password", "secret", "aws_secret_access_key", "secret_access_key", "token"}:
            return "secrets never go in config.yaml; set password_env to the name of an environment variable instead"
        return f"unknown key {echo(key)}; remove it or check its spelling (see the comments in config.yaml)"
    if kind == "missing":
        return "is required; add it"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{echo(value)} is not a whole number"
    if kind in {"float_parsing", "float_type"}:
        return f"{echo(value)} is not a number"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{echo(value)} is not true or false"
    if kind in {"string_type"}:
        return f"{echo(value)} is not text; quote it"
    if kind in {"list_type"}:
        return f"expected a list (- item lines), got {echo(value)}"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"expected a mapping (key: value lines), got {echo(value)}"
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"{echo(value)} is not allowed; use one of {expected}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        ctx = err.get("ctx") or {}
        sign, limit = {"gt": (">", ctx.get("gt")), "ge": ("≥", ctx.get("ge")), "lt": ("<", ctx.get("lt")), "le": ("≤", ctx.get("le"))}[
            {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt", "less_than_equal": "le"}[kind]
        ]
        return f"{echo(value)} is out of bounds; use a value {sign} {limit}"
    if kind in {"too_short", "string_too_short"}:
        return "must not be empty"
    if kind in {"too_long", "string_too_long"}:
        ctx = err.get("ctx") or {}
        return f"{echo(value)} is too long; use at most {ctx.get('max_length')} {'characters' if kind == 'string_too_long' else 'items'}"
    if kind == "finite_number":
        return f"{echo(value)} is not a finite number"
    return str(err["msg"])
