"""The API meter, on the simulated account: calls and attempts by region, metrics, bytes scanned once, dollars."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aws import session
from aws.meter import METER, PRICES
from aws.session import Account, SimSpec


@pytest.mark.aws
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


@pytest.mark.aws
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


@pytest.mark.aws
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


# --- attempts are counted where no handler can hide them (request-created, not before-send) -----------


@pytest.fixture
def fast_backoff(monkeypatch):
    """botocore's real retry decisions, without its randomised sleeps."""
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


def _cloudwatch_with_answers(answers):
    """A real (non-demo) CloudWatch client, standard retries, max_attempts 3, whose GetMetricData attempts
    are answered by a handler on the specific ``before-send.cloudwatch.GetMetricData`` event, in turn."""
    acct = Account(name="prod", max_attempts=3)
    c = session.client(acct, "cloudwatch", "eu-west-1")
    seen = []

    def answer(request, **_):
        seen.append(request.url)
        return answers[len(seen) - 1](request, c.meta.service_model)

    c.meta.events.register("before-send.cloudwatch.GetMetricData", answer)
    return c, seen


def _throttle(request, sm):
    from aws.sim.wire import ApiError, error_response

    return error_response(request.url, sm, ApiError("ThrottlingException", "Rate exceeded"), call_id="t", request_id="t")


def _datapoints(request, sm):
    """A GetMetricData answer with two values, in the protocol the client speaks (json, or CBOR)."""
    import json

    from botocore.awsrequest import AWSResponse

    from aws.sim.wire import Raw, cbor_encode

    doc = {"MetricDataResults": [{"Id": "m0", "Label": "x", "StatusCode": "Complete", "Values": [1.0, 2.0]}]}
    if sm.resolved_protocol == "smithy-rpc-v2-cbor":
        body, headers = cbor_encode(doc), {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}
    else:
        body, headers = json.dumps(doc).encode(), {"Content-Type": f"application/x-amz-json-{sm.metadata['jsonVersion']}"}
    headers["Content-Length"] = str(len(body))
    return AWSResponse(request.url, 200, headers, Raw(body))


def _query():
    from datetime import UTC, datetime

    end = datetime(2026, 11, 20, tzinfo=UTC)
    return {
        "MetricDataQueries": [
            {"Id": "m0", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 60, "Stat": "Sum"}}
        ],
        "StartTime": end - timedelta(hours=1),
        "EndTime": end,
    }


def test_attempts_answered_by_a_specific_before_send_handler_are_counted(fast_backoff):
    # throttled twice, then answered: botocore's own retry loop (standard mode) makes the three attempts
    c, seen = _cloudwatch_with_answers([_throttle, _throttle, _datapoints])
    got = c.get_metric_data(**_query())
    assert got["ResponseMetadata"]["RetryAttempts"] == 2 and got["MetricDataResults"][0]["Values"] == [1.0, 2.0]
    snap = METER.snapshot()
    assert len(seen) == 3
    assert snap.calls == {("prod", "eu-west-1", "cloudwatch", "GetMetricData"): 1}
    assert snap.attempts == {("prod", "eu-west-1", "cloudwatch", "GetMetricData"): 3}
    assert (snap.metrics_requested, snap.datapoints) == (1, 2)


def test_attempts_refused_by_a_specific_before_send_handler_are_counted(fast_backoff):
    # A handler that raises ends the before-send event: a counter on the generic before-send never ran (0 attempts).
    import botocore.exceptions as bce

    def refuse(request, _sm):
        raise bce.EndpointConnectionError(endpoint_url=request.url)

    c, seen = _cloudwatch_with_answers([refuse, refuse, refuse])
    with pytest.raises(bce.EndpointConnectionError):
        c.get_metric_data(**_query())
    snap = METER.snapshot()
    assert len(seen) == 3
    assert snap.calls == {("prod", "eu-west-1", "cloudwatch", "GetMetricData"): 1}
    assert snap.attempts == {("prod", "eu-west-1", "cloudwatch", "GetMetricData"): 3}
    assert snap.datapoints == 0


def test_a_request_that_cannot_be_signed_is_a_call_without_an_attempt(monkeypatch):
    import botocore.exceptions as bce

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    c, seen = _cloudwatch_with_answers([_datapoints])
    with pytest.raises(bce.NoCredentialsError):
        c.get_metric_data(**_query())
    snap = METER.snapshot()
    assert seen == []
    assert snap.calls == {("prod", "eu-west-1", "cloudwatch", "GetMetricData"): 1}
    assert sum(snap.attempts.values()) == 0
