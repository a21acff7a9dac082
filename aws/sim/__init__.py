"""The simulated AWS account: a deterministic model of Lambda functions that answers boto3.

With no AWS account, Lambda Lens runs against this: Lambda functions with tags, CloudWatch
and Lambda Insights metrics, REPORT log lines and Logs Insights answers, and Cost
Explorer spend — all derived from one per-minute model (``series``) so they agree —
served to real boto3 clients through botocore's events (``router``): botocore still
validates requests, paginators follow tokens, and injected faults (throttling, denial,
latency, endpoint down) go through botocore's real retry logic. Nothing leaves the process.

Modules: ``catalog`` (the functions), ``incidents``, ``series`` (per-minute activity), ``kernels``
(its hot loops, compiled with numba), ``metrics`` (CloudWatch statistics), ``reports`` (REPORT lines),
``insights`` (Logs Insights), ``billing`` (the bill), ``daily`` (per-function day totals shared by the bill,
one-day metric bins and Logs Insights by day; optionally kept in ``LAMBDA_LENS_SIM_CACHE``), ``model`` (the
truth, :func:`model_for`), the service handlers ``lambda_``, ``tagging``, ``cloudwatch``, ``logs``, ``costs``,
``sts``, and ``wire`` (protocol bodies), ``faults``, ``validate``, ``router``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aws import session as _session
from aws.sim.clock import set_clock
from aws.sim.validate import set_validation

if TYPE_CHECKING:
    import boto3

    from aws.session import Account
    from aws.sim.model import Model

__all__ = ["attach", "model_for", "describe", "set_clock", "set_validation", "now"]


def attach(session: boto3.Session, account: Account) -> None:
    """Answer every request of every client of ``session`` from the simulated ``account``.

    Call before any client of the session is built (clients copy the session's events).
    """
    from aws.sim.router import attach as _attach

    _attach(session, account)


def model_for(account: Account) -> Model:
    """The model (truth) of a demo account, cached per (sim spec, regions, account name)."""
    from aws.sim.model import model_for as _model_for

    return _model_for(account)


def describe(account: Account) -> str:
    """A readable multi-line description of what is simulated for ``account``."""
    from aws.sim.clock import fixed
    from aws.sim.description import describe as _describe

    with fixed(account.sim.now):
        return _describe(model_for(account), account)


def now() -> datetime:
    """The simulated account's current time (real UTC unless :func:`set_clock` set one)."""
    from aws.sim.clock import now as _now

    return _now()


_session.use_simulator(attach)  # demo accounts' sessions are answered from here (aws.session never imports aws.sim)
