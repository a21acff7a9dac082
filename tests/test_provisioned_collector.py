"""aws/provisioned.py: SnapStart versions against moto's server (faithful for ListVersionsByFunction); PC configs,
Application Auto Scaling's activities and the PC metrics against the simulated account (moto 5.2.5 has no
DescribeScalingActivities and no provisioned-concurrency configs), counted by the meter."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import boto3
import pandas as pd
import pytest

from aws import errors
from aws import provisioned as pcs
from aws.meter import METER
from aws.session import Account
from dashboard.config.settings import SimSpec

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


@pytest.mark.aws
def test_snapstart_versions_from_moto(moto_account):
    kw = {"endpoint_url": moto_account.endpoint_url, "region_name": "us-east-1"}
    role = boto3.client("iam", **kw).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", **kw)
    lam.create_function(FunctionName="ranker", Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": _zip()}, MemorySize=1024)  # fmt: skip
    lam.publish_version(FunctionName="ranker")
    got = pcs.snapstart_versions(account=moto_account, region="us-east-1", functions=["ranker", "gone"])
    assert list(got.columns) == list(pcs.VERSION_SCHEMA)
    assert got["version"].tolist() == ["1"] and got["memory_mb"].tolist() == [1024]  # $LATEST left out, "gone" skipped


@pytest.mark.aws
def test_scaling_activities_unsupported_is_a_typed_error(moto_account):
    with pytest.raises(errors.AwsError):
        pcs.scaling_activities(account=moto_account, region="us-east-1")


def _demo() -> Account:
    return Account(name="demo", demo=True, regions=("us-east-1",), sim=SimSpec(functions=54, seed=7, now=NOW))


@pytest.mark.aws
def test_provisioned_evidence_from_the_simulated_account():
    acct = _demo()
    before = METER.snapshot()
    acts = pcs.scaling_activities(account=acct, region="us-east-1")
    # the working-hours function: up at 08:00, down at 18:00 UTC every day of the last six weeks
    assert set(acts["function"]) == {"payments-basket-api"} and set(acts["qualifier"]) == {"live"}
    assert set(acts["level"].astype(int)) == {4, 1} and len(acts) == 2 * 42
    assert set(pd.to_datetime(acts["time"]).dt.hour) == {8, 18}
    cfg = pcs.configs(account=acct, region="us-east-1", functions=["payments-basket-api", "media-launch-api", "payments-auth-api"])
    # at 15:30 the schedule holds 4; the launch-day PC was removed; auth-api keeps 5
    assert dict(zip(cfg["function"], cfg["allocated"].astype(int), strict=True)) == {"payments-basket-api": 4, "payments-auth-api": 5}
    met = pcs.pc_metrics(account=acct, region="us-east-1", functions=["media-launch-api"],
                         start=datetime(2026, 11, 9, tzinfo=UTC), end=datetime(2026, 11, 11, tzinfo=UTC))  # fmt: skip
    on = met[met["pc_invocations"] > 0]
    assert (on["pc_executions_max"] / on["pc_utilization_max"]).round().eq(100).all()
    assert sorted(pd.to_datetime(on["timestamp"]).dt.hour) == list(range(12, 20))
    spent = METER.snapshot() - before
    assert spent.count("DescribeScalingActivities") == 2  # 84 activities: two pages of 50
    assert spent.count("ListProvisionedConcurrencyConfigs") == 3 and spent.count("GetMetricData") == 1


@pytest.mark.aws
def test_streaming_functions_listmetrics_no_longer_names_are_found_by_their_bytes(monkeypatch):
    # ListMetrics keeps two weeks: for last month's bill a function that streamed then and not since is unnamed; the
    # inventory's functions are probed with one StreamedOutgoingBytes Sum each, and those that streamed are read
    acct = _demo()
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    fns = [f["FunctionName"] for p in boto3_paginate(acct) for f in p["Functions"]]
    listed = pcs.streamed(account=acct, region="us-east-1", start=start, end=end)
    assert set(listed["function"]) == {"media-render-stream"} and (listed["streamed_bytes"] > 0).all()
    monkeypatch.setattr(pcs, "streaming_functions", lambda **_: [])  # ListMetrics no longer names it
    assert pcs.streamed(account=acct, region="us-east-1", start=start, end=end).empty
    before = METER.snapshot()
    found = pcs.streamed(account=acct, region="us-east-1", start=start, end=end, functions=fns, now=NOW)
    assert set(found["function"]) == {"media-render-stream"}  # only the one that streamed, not every function probed
    assert found["streamed_bytes"].tolist() == pytest.approx(listed["streamed_bytes"].tolist())
    assert found["invocations"].tolist() == pytest.approx(listed["invocations"].tolist())
    spent = METER.snapshot() - before
    assert spent.count("GetMetricData") == 2  # the probe (one metric per function, 500 a call) and the full read
    assert spent.count("GetFunctionUrlConfig", "lambda") == 0
    # a range within ListMetrics' two weeks needs no probe: ListMetrics names every function that streamed
    before = METER.snapshot()
    recent = pcs.streamed(account=acct, region="us-east-1", start=datetime(2026, 11, 10, tzinfo=UTC), end=NOW,
                          functions=fns, now=NOW)  # fmt: skip
    assert recent.empty and (METER.snapshot() - before).count("GetMetricData") == 0


def boto3_paginate(acct: Account):
    from aws.session import client

    return client(acct, "lambda", "us-east-1").get_paginator("list_functions").paginate()
