"""The botocore event handlers that make a boto3 session talk to the simulated account.

1. ``before-parameter-build``: stash the API parameters in the request context.
2. ``before-call``: compute the answer (or a modeled error), keep it under a call id and
   put the id in the request's ``x-sim-call`` header.
3. ``before-send`` (registered last, inside botocore's retry loop): decide this
   attempt's faults, then answer with an HTTP response in the service's protocol —
   nothing ever reaches the network.
4. ``before-parse``: merge the kept answer into the parsed response (2xx only).
5. ``after-call`` / ``after-call-error``: forget the answer.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

from aws.busy import SIM_BUSY
from aws.sim import clock, faults, validate
from aws.sim.registry import HANDLERS, Call
from aws.sim.wire import SIM_HEADER, ApiError, Raw, error_response, success_response

__all__ = ["attach", "SimState"]

log = logging.getLogger(__name__)

_MAX_PENDING = 4096  # answers kept at most (a leak guard; normally each is dropped after its call)


@dataclass
class _Pending:
    number: int
    operation_model: Any
    answer: dict | None
    error: ApiError | None


@dataclass
class SimState:
    """Per-session state: pending answers and other per-account mutable state (Logs Insights queries)."""

    account: Any
    model: Any
    counter: Any = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: OrderedDict = field(default_factory=OrderedDict)
    extra: dict = field(default_factory=dict)

    def put(self, call_id: str, item: _Pending) -> None:
        with self.lock:
            self.pending[call_id] = item
            while len(self.pending) > _MAX_PENDING:
                self.pending.popitem(last=False)

    def get(self, call_id: str | None) -> _Pending | None:
        if call_id is None:
            return None
        with self.lock:
            return self.pending.get(call_id)

    def drop(self, call_id: str | None) -> None:
        if call_id is None:
            return
        with self.lock:
            self.pending.pop(call_id, None)


def _load_services() -> None:
    # importing the service modules registers their handlers
    from aws.sim import autoscaling, cloudwatch, costs, function_urls, lambda_, logs, organizations, sts, tagging  # noqa: F401


def _header(headers, name: str) -> str | None:
    v = headers.get(name)
    if isinstance(v, bytes):
        v = v.decode()
    return v


def attach(session, account) -> None:
    """Answer every request of every client of ``session`` from the simulated account."""
    from aws.sim.model import model_for

    _load_services()
    state = SimState(account=account, model=model_for(account))
    session._lambda_lens_sim = state  # for tests: pending answers, Logs Insights queries
    ev = session.events
    uid = f"sim-{id(state)}"

    def on_params(params, context, **_):
        context["sim_params"] = params

    def on_call(model, params, context, **_):
        with SIM_BUSY:  # the benchmark's time inside the simulated account
            _on_call(model, params, context)

    def _on_call(model, params, context):
        number = next(state.counter)
        call_id = f"{number}"
        service = model.service_model.service_name
        op = model.name
        handler = HANDLERS.get((service, op))
        answer: dict | None = None
        error: ApiError | None = None
        if handler is None:
            error = ApiError("UnsupportedOperation", f"the simulated account does not implement {service} {op}")
        else:
            with clock.fixed(account.sim.now):
                call = Call(
                    model=state.model,
                    account=account,
                    service=service,
                    operation=op,
                    region=context.get("client_region") or account.regions[0],
                    now=clock.now(),
                    state=state,
                )
            try:
                with clock.fixed(account.sim.now):
                    answer = handler(call, dict(context.get("sim_params") or {}))
            except ApiError as e:
                error = e
            except Exception as e:  # a simulator bug: answer like a failing service, loudly in the log
                log.exception("simulated %s %s failed", service, op)
                error = ApiError("InternalFailure", f"the simulated account failed: {e!r}", 500, sender=False)
        if answer is not None and validate.validation_enabled():
            validate.check(model, answer)
        state.put(call_id, _Pending(number, model, answer, error))
        params["headers"][SIM_HEADER] = call_id
        context["sim_call"] = call_id

    def on_send(request, **_):
        with SIM_BUSY:
            return _on_send(request)

    def _on_send(request):
        call_id = _header(request.headers, SIM_HEADER)
        item = state.get(call_id)
        ctx = request.context or {}
        if item is None:
            # not prepared by on_call (another handler answered before-call?): refuse, never send
            return AWSResponse(
                request.url,
                400,
                {"Content-Type": "application/json"},
                Raw(
                    b'{"__type": "UnsupportedOperation", "message": '
                    b'"the simulated account did not prepare this request"}'
                ),
            )
        om = item.operation_model
        sm = om.service_model
        attempt = int(ctx.get("retries", {}).get("attempt", 1))
        cfg = ctx.get("client_config")
        request_id = f"sim-{item.number:08d}-{attempt}"
        fault = faults.decide(
            account.sim,
            service=sm.service_name,
            service_id=sm.service_id.hyphenize(),
            operation=om.name,
            protocol=sm.resolved_protocol,
            call_number=item.number,
            attempt=attempt,
            read_timeout=getattr(cfg, "read_timeout", None),
            url=request.url,
        )
        if fault is None and item.error is not None:
            fault = item.error
        if fault is not None:
            return error_response(request.url, sm, fault, call_id=call_id, request_id=request_id)
        return success_response(request.url, om, call_id=call_id, request_id=request_id)

    def on_parse(response_dict, customized_response_dict, **_):
        if response_dict.get("status_code", 500) >= 300:
            return
        item = state.get(_header(response_dict.get("headers", {}), SIM_HEADER))
        if item is not None and item.answer is not None:
            customized_response_dict.update(item.answer)

    def on_done(context, **_):
        state.drop(context.get("sim_call"))

    ev.register("before-parameter-build", on_params, unique_id=f"{uid}-params")
    ev.register("before-call", on_call, unique_id=f"{uid}-call")
    ev.register_last("before-send", on_send, unique_id=f"{uid}-send")
    ev.register("before-parse", on_parse, unique_id=f"{uid}-parse")
    ev.register("after-call", on_done, unique_id=f"{uid}-done")
    ev.register("after-call-error", on_done, unique_id=f"{uid}-error")
