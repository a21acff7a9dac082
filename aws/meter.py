"""The API meter: every AWS request this process makes, counted from botocore's events.

What counts what, and why on that event:

- **API calls**: ``before-parameter-build`` (once per call, before the retry loop; it also sees the
  parameters: GetMetricData metrics requested, Cost Explorer requests).
- **HTTP attempts** (so retries show): ``request-created.<service-id>.<Operation>``. botocore's
  ``Endpoint._send_request`` builds a new request for every attempt, retries included
  (``create_request``), and that emits this event with ``emit``: every handler runs and a return
  value stops nothing. The signer is registered on ``request-created.<service-id>``, more specific
  than the meter's ``request-created``, so it has run and the request carries its SigV4 region.
  Not ``before-send``: its handlers on a more specific event (``before-send.<service-id>.<Op>``)
  run before a generic one, and one that raises (a refused connection, a test's fault) ends the
  event, so a generic ``before-send`` counter would miss that attempt, although botocore retries it.
  A request whose signing fails is not counted: it was never sent.
- **datapoints** returned and **Logs Insights bytes scanned** (once per query): ``after-call``.

They turn into the estimated dollar cost of the dashboard's own AWS use (prices in ``PRICES``).
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from cachetools import LRUCache

__all__ = ["METER", "ApiMeter", "MeterSnapshot", "PRICES"]

# US East list prices of the calls we make (DESIGN.md). Everything else we call is free.
PRICES = {
    "metrics_requested": 0.01 / 1000,  # GetMetricData, per metric requested
    "ce_request": 0.01,  # Cost Explorer, per request (each page)
    "logs_gb_scanned": 0.005,  # Logs Insights, per GB scanned
    "cloudwatch_api_request": 0.01 / 1000,  # ListMetrics, GetMetricStatistics: per request beyond the free tier
}


@dataclass
class MeterSnapshot:
    calls: Counter = field(default_factory=Counter)  # (account, region, service, operation) -> API calls
    attempts: Counter = field(default_factory=Counter)  # (account, region, service, operation) -> HTTP attempts
    metrics_requested: int = 0
    datapoints: int = 0
    ce_requests: int = 0
    logs_bytes_scanned: float = 0.0

    def __sub__(self, other: MeterSnapshot) -> MeterSnapshot:
        return MeterSnapshot(
            calls=self.calls - other.calls,
            attempts=self.attempts - other.attempts,
            metrics_requested=self.metrics_requested - other.metrics_requested,
            datapoints=self.datapoints - other.datapoints,
            ce_requests=self.ce_requests - other.ce_requests,
            logs_bytes_scanned=self.logs_bytes_scanned - other.logs_bytes_scanned,
        )

    def count(self, operation: str | None = None, service: str | None = None, region: str | None = None) -> int:
        return sum(
            n
            for (_, reg, svc, op), n in self.calls.items()
            if (operation is None or op == operation) and (service is None or svc == service) and (region is None or reg == region)
        )

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def cost_usd(self) -> float:
        return (
            self.metrics_requested * PRICES["metrics_requested"]
            + self.ce_requests * PRICES["ce_request"]
            + self.logs_bytes_scanned / 1e9 * PRICES["logs_gb_scanned"]
            + (self.count("ListMetrics") + self.count("GetMetricStatistics")) * PRICES["cloudwatch_api_request"]
        )

    def by_operation(self) -> pd.DataFrame:
        """One row per (service, operation): calls, attempts."""
        rows: dict[tuple[str, str], list[int]] = {}
        for (_, _, svc, op), n in self.calls.items():
            rows.setdefault((svc, op), [0, 0])[0] += n
        for (_, _, svc, op), n in self.attempts.items():
            rows.setdefault((svc, op), [0, 0])[1] += n
        frame = pd.DataFrame(
            [(s, o, c, a) for (s, o), (c, a) in sorted(rows.items())],
            columns=["service", "operation", "calls", "attempts"],
        )
        return frame.astype({"calls": "int64", "attempts": "int64"})


_SCOPE: contextvars.ContextVar[MeterSnapshot | None] = contextvars.ContextVar("lambda_lens_meter_scope", default=None)
# probes open around this context: what one fetch cost (aws.cache), nested and alongside the session's scope
_PROBES: contextvars.ContextVar[tuple[MeterSnapshot, ...]] = contextvars.ContextVar("lambda_lens_meter_probes", default=())


class ApiMeter:
    """Thread-safe counters fed by botocore event handlers on every session we build.

    Besides the process-wide totals, calls made inside :meth:`scope` (one per browser session)
    are also counted for that scope, so a viewer sees what their own session cost. The scope
    follows into worker threads started with :func:`aws.concurrency.run_concurrently`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = MeterSnapshot()
        self._service_names: dict[str, str] = {}
        self._billed_queries: LRUCache = LRUCache(maxsize=10_000)
        self._scopes: LRUCache = LRUCache(maxsize=1_000)

    @contextmanager
    def scope(self, key: str) -> Iterator[None]:
        """Count the calls made inside the block for ``key`` too (cumulative across blocks)."""
        with self._lock:
            snap = self._scopes.get(key)
            if snap is None:
                snap = self._scopes[key] = MeterSnapshot()
        token = _SCOPE.set(snap)
        try:
            yield
        finally:
            _SCOPE.reset(token)

    @contextmanager
    def probe(self) -> Iterator[MeterSnapshot]:
        """What the calls made inside the block cost: a snapshot filled as they are made (worker threads included)."""
        snap = MeterSnapshot()
        token = _PROBES.set((*_PROBES.get(), snap))
        try:
            yield snap
        finally:
            _PROBES.reset(token)

    def scope_snapshot(self, key: str) -> MeterSnapshot:
        """What the calls made inside ``scope(key)`` came to (an empty snapshot if none)."""
        with self._lock:
            return _copy(self._scopes.get(key) or MeterSnapshot())

    def _targets(self) -> list[MeterSnapshot]:
        scoped = _SCOPE.get()
        return [self._snap, *(() if scoped is None else (scoped,)), *_PROBES.get()]

    def snapshot(self) -> MeterSnapshot:
        with self._lock:
            return _copy(self._snap)

    def reset(self) -> None:
        with self._lock:
            self._snap = MeterSnapshot()
            self._billed_queries.clear()
            self._scopes.clear()

    def attach(self, session, account_name: str) -> None:
        """Register the counting handlers on a boto3 session (before its clients exist)."""
        ev = session.events

        def on_params(params, model, context=None, **_):
            context = {} if context is None else context
            if model.name == "GetQueryResults":
                context["meter_query_id"] = params.get("queryId")
            sm = model.service_model
            self._service_names[sm.service_id.hyphenize()] = sm.service_name
            self._add_call(account_name, context.get("client_region") or "", sm.service_name, model.name, params)

        def on_attempt(event_name, request=None, **_):
            # request-created carries no model; its event name does: request-created.<service-id>.<Operation>
            _, svc_id, op = event_name.split(".", 2)
            key = (account_name, _region_of(request), self._service_names.get(svc_id, svc_id), op)
            with self._lock:
                for snap in self._targets():
                    snap.attempts[key] += 1

        def on_after(parsed, model, context=None, **_):
            self._add_result(model.name, parsed, (context or {}).get("meter_query_id"))

        ev.register("before-parameter-build", on_params, unique_id=f"meter-params-{id(self)}")
        # One request is created per attempt (see the module docstring); its handlers are all called.
        ev.register("request-created", on_attempt, unique_id=f"meter-attempt-{id(self)}")
        ev.register("after-call", on_after, unique_id=f"meter-after-{id(self)}")

    def _add_call(self, account: str, region: str, service: str, op: str, params: dict) -> None:
        with self._lock:
            for s in self._targets():
                s.calls[(account, region, service, op)] += 1
                if op == "GetMetricData":
                    s.metrics_requested += len(params.get("MetricDataQueries", ()))
                if service == "ce":
                    s.ce_requests += 1

    def _add_result(self, op: str, parsed: dict, query_id: str | None = None) -> None:
        if op in ("GetMetricData", "GetMetricStatistics"):
            n = sum(len(r.get("Values", ())) for r in parsed.get("MetricDataResults", ())) + len(parsed.get("Datapoints", ()))
            with self._lock:
                for snap in self._targets():
                    snap.datapoints += n
        elif op == "GetQueryResults" and parsed.get("status") == "Complete":
            # A query is billed once, however many times (or pages) its results are read.
            scanned = float(parsed.get("statistics", {}).get("bytesScanned", 0.0))
            with self._lock:
                if query_id is not None:
                    if query_id in self._billed_queries:
                        return
                    self._billed_queries[query_id] = True
                for snap in self._targets():
                    snap.logs_bytes_scanned += scanned


def _copy(s: MeterSnapshot) -> MeterSnapshot:
    return MeterSnapshot(
        calls=Counter(s.calls),
        attempts=Counter(s.attempts),
        metrics_requested=s.metrics_requested,
        datapoints=s.datapoints,
        ce_requests=s.ce_requests,
        logs_bytes_scanned=s.logs_bytes_scanned,
    )


def _region_of(request) -> str:
    """The signing region of a signed request, from its SigV4 credential scope (``…/<date>/<region>/<service>/aws4_request``)."""
    headers = getattr(request, "headers", None) or {}
    auth = headers.get("Authorization", b"")
    auth = auth.decode() if isinstance(auth, bytes) else str(auth)
    _, _, scope = auth.partition("Credential=")
    parts = scope.split(",", 1)[0].split("/")
    return parts[2] if len(parts) >= 5 else ""


METER = ApiMeter()
