"""The operations the simulated account answers: (service, operation) → handler.

A handler takes the call's :class:`Call` and the API parameters and returns the parsed
answer (a dict shaped like the operation's output), or raises
:class:`aws.sim.wire.ApiError` for a modeled AWS error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Call", "Handler", "HANDLERS", "handles"]


@dataclass(frozen=True)
class Call:
    """What a handler knows about one API call."""

    model: Any  # aws.sim.model.Model
    account: Any  # aws.session.Account
    service: str  # botocore service name, e.g. "cloudwatch"
    operation: str  # e.g. "GetMetricData"
    region: str
    now: datetime
    state: Any  # per-attach mutable state (Logs Insights queries, ...)


Handler = Callable[[Call, dict], dict]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(service: str, operation: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[(service, operation)] = fn
        return fn

    return deco
