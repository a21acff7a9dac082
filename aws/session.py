"""One factory for boto3 sessions and clients: profile, role to assume, region, endpoint.

Nothing is built at import. Clients are built on first use and reused (boto3
clients are thread-safe, sessions are not, so creation holds a lock). Every
session carries the API meter and the answer check (:mod:`aws.answers`: a body
that is not AWS's response is an error, not an empty account), and a demo account
also carries the simulated AWS account, which answers the same boto3 calls the
collectors make.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from cachetools import LRUCache

from aws import answers, errors
from aws.meter import METER

__all__ = ["Account", "SimSpec", "SIM_SERVICES", "client", "call", "reset_clients", "use_simulator", "CE_REGION"]

CE_REGION = "us-east-1"  # Cost Explorer has one endpoint, in us-east-1.
# The services the simulated account answers (botocore's names), which its faults (down, throttle_services,
# deny) can name; aws/sim registers a handler for each.
SIM_SERVICES = ("lambda", "cloudwatch", "logs", "ce", "resourcegroupstaggingapi", "sts", "application-autoscaling", "organizations")


@dataclass(frozen=True)
class SimSpec:
    """What the simulated account looks like and which faults it injects."""

    functions: int = 48
    seed: int = 7
    throttle_rate: float = 0.0  # share of requests answered with a throttling error
    throttle_services: tuple[str, ...] = ()  # empty = every service
    deny: tuple[str, ...] = ()  # IAM actions refused, e.g. ("cloudwatch:GetMetricData",)
    latency_s: float = 0.0  # added to every request
    down: tuple[str, ...] = ()  # services whose endpoint refuses connections
    logs_insights: bool = True  # False: StartQuery is unknown, as on some emulators
    # Tags added to (or replacing) every function's own, e.g. (("team", "<b>x</b>"),): a hostile tag
    # value for the injection tests (docs/security.md); empty = the catalog's tags only.
    extra_tags: tuple[tuple[str, str], ...] = ()
    now: datetime | None = None  # the account's fixed clock (tz-aware UTC); None: real time
    # The account's 12-digit ID; None: 123456789012 (the first demo account's; settings give each further one its own).
    aws_account_id: str | None = None
    # Consolidated billing: every demo account of the organisation this one's bill belongs to, itself included, as
    # (name, regions, SimSpec with an empty billing_group); empty: the account is billed alone (aws.sim.billing).
    billing_group: tuple[tuple[str, tuple[str, ...], SimSpec], ...] = ()

    @property
    def account_id(self) -> tuple:
        """Which simulated account this is (its functions, seed, tags, clock, ID and the bill it shares); the faults
        are the network's, not the account's."""
        base = (self.functions, self.seed, self.extra_tags, self.now)
        if self.aws_account_id is None and not self.billing_group:
            return base
        return (*base, self.aws_account_id, tuple((n, r, s.account_id) for n, r, s in self.billing_group))


@dataclass(frozen=True)
class Account:
    """An AWS account as configured: where to look and how to authenticate."""

    name: str
    regions: tuple[str, ...] = ("us-east-1",)
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    endpoint_url: str | None = None
    demo: bool = False
    sim: SimSpec = field(default_factory=SimSpec)
    max_attempts: int = 8
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    deadline_s: float = 120.0  # the most one part (a source's answer for one region) may take, retries and paging included

    @property
    def cache_id(self) -> tuple:
        """What the answer caches key an account by: its name and everything that decides whose data the
        answers are (credentials' source, role, endpoint, which simulated account), not how patiently they are
        asked nor the faults injected. Pointing a configured name at another profile or role therefore never
        serves the old account's answers, while a failing refresh still falls back to the last good one."""
        return (self.name, self.profile, self.role_arn, self.external_id, self.endpoint_url, self.demo, self.sim.account_id)


_lock = threading.Lock()
_sessions: dict[Account, boto3.Session] = {}
# Clients are built once and reused, the most recently used first: a client costs about 0.5 MB (its own class,
# event handlers and TLS context), so keeping one per account × service × region for ever grew with every
# configured account (300 accounts: 1,500 clients). A client dropped here is rebuilt on its next use; its
# session (credentials, the simulator's state) stays.
_CLIENTS_KEPT = 256
_clients: LRUCache = LRUCache(maxsize=_CLIENTS_KEPT)
# Answers a demo account's boto3 calls: registered by the simulated account (``aws.sim``) when it is imported,
# so this module never imports the simulator (the dependency runs one way: aws.sim → aws.session).
_simulator: Callable[[boto3.Session, Account], None] | None = None


def use_simulator(attach: Callable[[boto3.Session, Account], None] | None) -> None:
    """Make ``attach(session, account)`` answer every request of a demo account's sessions (None: no simulator)."""
    global _simulator
    _simulator = attach
    reset_clients()


def reset_clients() -> None:
    """Forget every session and client (tests, or after credentials change)."""
    with _lock:
        _sessions.clear()
        _clients.clear()


_loader = None  # botocore's data loader (the service models), shared by every session: see _core()


def _core(profile: str | None = None) -> botocore.session.Session:
    """A botocore session that shares one data loader with every other one.

    Each botocore session otherwise loads and keeps its own copy of every service model it builds a
    client for: about 15 MB an account for the five services the collectors use (measured: 20 sessions
    306 MB, shared 40 MB), which made memory grow with every configured account. The models are read-only.
    """
    global _loader
    core = botocore.session.Session(profile=profile)
    if _loader is None:
        _loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _loader)
    return core


def _session(account: Account) -> boto3.Session:
    sess = _sessions.get(account)
    if sess is not None:
        return sess
    if account.demo:
        # Static dummy keys: the simulator answers before anything leaves the process.
        if _simulator is None:
            raise errors.NotEnabled(
                f"Account {account.name!r} is the simulated account, but the simulator is not loaded; import aws.sim first.",
                account=account.name,
            )
        sess = boto3.Session(
            botocore_session=_core(), aws_access_key_id="demo", aws_secret_access_key="demo", region_name=account.regions[0]  # noqa: S106 - not a secret
        )
        _simulator(sess, account)
    else:
        core = _core(account.profile)
        if account.role_arn:
            base = boto3.Session(botocore_session=core)
            source = base.get_credentials()
            if source is None:
                raise errors.NoCredentials(
                    f"No AWS credentials to assume {account.role_arn} with; set a profile or "
                    f"AWS_ACCESS_KEY_ID in the environment.",
                    service="sts",
                    operation="AssumeRole",
                    account=account.name,
                )
            extra: dict[str, str] = {"RoleSessionName": "lambda-lens"}
            if account.external_id:
                extra["ExternalId"] = account.external_id
            fetcher = AssumeRoleCredentialFetcher(
                client_creator=_sts_creator(base._session, account),
                source_credentials=source,
                role_arn=account.role_arn,
                extra_args=extra,
            )
            core = _core()
            core._credentials = DeferredRefreshableCredentials(
                method="assume-role", refresh_using=fetcher.fetch_credentials
            )
        sess = boto3.Session(botocore_session=core, region_name=account.regions[0])
    METER.attach(sess, account.name)
    answers.attach(sess.events)  # every answer must be AWS's (aws.answers): not an HTML page, not cut short
    _sessions[account] = sess
    return sess


def _sts_creator(core: botocore.session.Session, account: Account):
    """Build the STS client that assumes the role: at the account's endpoint_url (never real AWS behind
    a local endpoint's back), with its timeouts and retry budget."""

    def create(service_name: str, **kwargs: Any):
        if account.endpoint_url:
            kwargs.setdefault("endpoint_url", account.endpoint_url)
        kwargs.setdefault("region_name", account.regions[0])
        kwargs.setdefault(
            "config",
            Config(
                retries={"mode": "standard", "total_max_attempts": account.max_attempts},
                connect_timeout=account.connect_timeout_s,
                read_timeout=account.read_timeout_s,
                user_agent_appid="lambda-lens",
            ),
        )
        sts = core.create_client(service_name, **kwargs)
        answers.attach(sts.meta.events)  # the role's answers are checked like every other
        return sts

    return create


def client(account: Account, service: str, region: str):
    """The boto3 client for ``service`` in ``region`` of ``account`` (built once, then reused)."""
    key = (account, service, region)
    with _lock:
        c = _clients.get(key)
        if c is None:
            try:
                sess = _session(account)
            except errors.AwsError:
                raise
            except Exception as e:  # botocore profile / config errors
                raise errors.translate(e, service=service, operation="CreateClient", account=account.name) from e
            cfg = Config(
                region_name=region,
                retries={"mode": "standard", "total_max_attempts": account.max_attempts},
                connect_timeout=account.connect_timeout_s,
                read_timeout=account.read_timeout_s,
                max_pool_connections=32,
                user_agent_appid="lambda-lens",
            )
            kwargs: dict[str, Any] = {"config": cfg}
            if account.endpoint_url:
                kwargs["endpoint_url"] = account.endpoint_url
            c = sess.client(service, **kwargs)
            _clients[key] = c
    return c


def call(account: Account, service: str, region: str, operation: str, **params):
    """Call one AWS operation; botocore errors come back as :mod:`aws.errors` types.

    ``operation`` is the boto3 method name (``get_metric_data``).
    """
    c = client(account, service, region)
    try:
        return getattr(c, operation)(**params)
    except Exception as e:
        if isinstance(e, errors.AwsError):
            raise
        op = c.meta.method_to_api_mapping.get(operation, operation)
        try:
            mapped = errors.translate(e, service=service, operation=op, account=account.name, region=region)
        except TypeError:
            raise e from None
        raise mapped from e
