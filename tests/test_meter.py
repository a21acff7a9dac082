"""The API meter, on the simulated account: calls and attempts by region, metrics, bytes scanned once, dollars."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aws import session
from aws.meter import METER, PRICES
from aws.session import Account, SimSpec


def test_calls_and_attempts_are_counted_per_region_with_retries():
    acct = Account(name="demo", demo=True, regions=("us-east-1", "eu-west-1"), sim=SimSpec(functions=10, throttle_rate=0.5))
    for region in acct.regions:
        session.call(acct, "lambda", region, "list_functions")
        session.call(acct, "lambda", region, "list_functions")
    snap = METER.snapshot()
    assert snap.count("ListFunctions", region="us-east-1") == 2
    assert snap.count("ListFunctions", region="eu-west-1") == 2
    assert snap.count("ListFunctions") == 4
    attempts = {k: n for k, n in snap.attempts.items() if k[3] == "ListFunctions"}
    assert {k[1] for k in attempts} == {"us-east-1", "eu-west-1"}
    assert sum(attempts.values()) > 4  # throttled attempts were retried and counted
    ops = snap.by_operation().set_index("operation")
    assert ops.loc["ListFunctions", "calls"] == 4 and ops.loc["ListFunctions", "attempts"] == sum(attempts.values())


def test_metrics_requested_and_dollars():
    from aws import metrics as cw
    from aws.sim import now

    acct = Account(name="demo", demo=True, regions=("us-east-1",), sim=SimSpec(functions=5))
    end = now()
    frame = cw.lambda_metrics(account=acct, region="us-east-1", functions=["x"], start=end - timedelta(hours=1), end=end, optional=cw.discover_optional(account=acct, region="us-east-1"))
    snap = METER.snapshot()
    assert snap.metrics_requested == len(cw.CORE_SPECS)
    assert frame.empty  # no such function: no datapoints
    assert snap.cost_usd == pytest.approx(
        snap.metrics_requested * PRICES["metrics_requested"] + snap.count("ListMetrics") * PRICES["cloudwatch_api_request"]
    )


def test_logs_insights_bytes_are_billed_once_per_query():
    from botocore.stub import Stubber

    acct = Account(name="prod")
    c = session.client(acct, "logs", "us-east-1")
    answer = {"status": "Complete", "results": [], "statistics": {"bytesScanned": 2e9, "recordsMatched": 0.0, "recordsScanned": 0.0}}
    with Stubber(c) as stub:
        stub.add_response("get_query_results", answer, {"queryId": "q1"})
        stub.add_response("get_query_results", answer, {"queryId": "q1"})
        stub.add_response("get_query_results", answer, {"queryId": "q2"})
        c.get_query_results(queryId="q1")
        c.get_query_results(queryId="q1")
        c.get_query_results(queryId="q2")
    snap = METER.snapshot()
    assert snap.logs_bytes_scanned == 4e9
    assert snap.cost_usd == pytest.approx(4 * PRICES["logs_gb_scanned"])


def test_a_scope_counts_its_own_calls_also_in_worker_threads():
    from aws.concurrency import run_concurrently

    acct = Account(name="demo", demo=True, regions=("us-east-1", "eu-west-1"), sim=SimSpec(functions=10))
    with METER.scope("session-a"):
        run_concurrently(lambda r: session.call(acct, "lambda", r, "list_functions"), acct.regions, max_workers=2)
    with METER.scope("session-b"):
        session.call(acct, "lambda", "us-east-1", "list_functions")
    session.call(acct, "lambda", "us-east-1", "list_functions")  # outside any scope
    assert METER.scope_snapshot("session-a").count("ListFunctions") == 2
    assert METER.scope_snapshot("session-b").count("ListFunctions") == 1
    assert METER.scope_snapshot("nobody").total_calls == 0
    assert METER.snapshot().count("ListFunctions") == 4
