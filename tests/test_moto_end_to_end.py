"""The product against moto's server, an endpoint we did not write, which refuses percentile statistics.

A seeded account: three functions (two that ran, one that did not), their CloudWatch metrics and REPORT lines.
moto 5.2.5 answers any Duration percentile with an HTTP 500 page, as some endpoints and accounts refuse a
statistic. The counts must still be right, the percentiles unknown (null, never 0), no advice may rest on what
could not be read, and no surface may claim health while a source is missing.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import yaml

from dashboard.cli import main

RID = "8c360c87-d4b7-4423-b5f3-af02be3c1763"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def report(billed: int, memory: int, used: int) -> str:
    return f"REPORT RequestId: {RID}\tDuration: {billed - 0.5:.2f} ms\tBilled Duration: {billed} ms\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t\n"


@pytest.fixture
def seeded(moto_url, tmp_path):
    """api (7 invocations, 1 error) and worker (5, 2) ran half an hour ago; nightly did not run at all."""
    kw = {"endpoint_url": moto_url, "region_name": "us-east-1"}
    role = boto3.client("iam", **kw).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", **kw)
    for name, memory in (("api", 1024), ("worker", 512), ("nightly", 256)):
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler", Code={"ZipFile": _zip()},
            MemorySize=memory, Timeout=30, Tags={"team": "payments"},
        )  # fmt: skip
    t0 = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    cw = boto3.client("cloudwatch", **kw)
    logs = boto3.client("logs", **kw)
    # one Duration sample per invocation, as Lambda publishes them (the whole-range Average is over the samples)
    points = {"api": [(0, 3.0, 1.0, [10.0, 20.0, 30.0]), (1, 4.0, 0.0, [40.0] * 4)], "worker": [(0, 5.0, 2.0, [7.0] * 5)]}
    data = []
    for fn, rows in points.items():
        dims = [{"Name": "FunctionName", "Value": fn}]
        for minute, inv, err, durations in rows:
            at = t0 + timedelta(minutes=minute)
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Value": inv, "Timestamp": at})
            data.append({"MetricName": "Errors", "Dimensions": dims, "Value": err, "Timestamp": at})
            data += [{"MetricName": "Duration", "Dimensions": dims, "Value": d, "Timestamp": at} for d in durations]
        group = f"/aws/lambda/{fn}"
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        memory = 1024 if fn == "api" else 512
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[{"timestamp": int((t0 + timedelta(seconds=i)).timestamp() * 1000), "message": report(41, memory, 400)} for i in range(3)],
        )
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=data)
    doc = yaml.safe_load(open("config.yaml").read())
    doc["accounts"] = [{"name": "moto", "endpoint_url": moto_url, "regions": ["us-east-1"]}]
    doc["aws"] = {"max_attempts": 1, "connect_timeout_s": 2, "read_timeout_s": 20}
    doc["logs"] = {"source": "filter"}  # moto's Logs Insights ignores stats: FilterLogEvents is faithful there
    doc["email"]["digests"] = [{"name": "org", "recipients": ["a@example.com"], "schedule": "0 8 * * *", "range": "1h"}]
    doc["email"]["state_path"] = str(tmp_path / "state.json")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _from_repo(monkeypatch):
    from tests.apptest import ROOT

    monkeypatch.chdir(ROOT)


def test_refused_percentiles_leave_the_counts_right_and_the_percentiles_unknown(seeded):
    code, out, err = cli("summary", "--config", str(seeded), "--range", "1h", "--format", "json")
    rows = {r["function"]: r for r in json.loads(out)}
    assert set(rows) == {"api", "worker", "nightly"}
    assert (rows["api"]["invocations"], rows["api"]["errors"], rows["worker"]["invocations"], rows["worker"]["errors"]) == (7.0, 1.0, 5.0, 2.0)
    assert rows["api"]["error_rate"] == pytest.approx(100 / 7)
    assert rows["api"]["duration_avg_ms"] == pytest.approx((20 * 3 + 40 * 4) / 7)  # invocation-weighted and rows["api"]["duration_max_ms"] == 40.0
    assert rows["nightly"]["invocations"] == 0.0  # read, and it did not run: a measured zero
    assert all(r["duration_p99_ms"] is None for r in rows.values())  # refused: unknown, not 0
    assert rows["api"]["max_memory_used_mb"] == 400.0  # the REPORT lines still tell
    # the exact p99 could not be read while the whole-range counts asked with it were: one sentence says so
    assert code == 0, err
    said = [line for line in err.splitlines() if line.startswith(("error: ", "warning: "))]
    assert said[0] == (
        "warning: CloudWatch in moto/us-east-1 refused the Duration percentiles (p99): HTTP 500 text/html, not an AWS "
        "response; they are shown as unknown."
    )
    # moto has no DescribeScalingActivities for Lambda: the cost per function says what its provisioned concurrency
    # then rests on, as a warning (a figure on a named basis, not a figure lost)
    assert [line.split(" (")[0] for line in said[1:]] == [
        "warning: Application Auto Scaling's record of provisioned concurrency could not be read in moto/us-east-1"
    ]


def test_no_advice_and_no_health_claim_rest_on_what_could_not_be_read(seeded, tmp_path):
    code, out, err = cli("alerts", "--config", str(seeded), "--range", "1h", "--state", "all", "--format", "json")
    states = json.loads(out)
    near_timeout = [s for s in states if s["rule"] == "duration-near-timeout"]
    assert len(near_timeout) == 3 and all(s["state"] == "INSUFFICIENT_DATA" and s["unread"] for s in near_timeout)
    assert all("not evaluated" in s["note"] for s in near_timeout)  # not OK: its p99 was refused
    assert not any(s["state"] == "ALARM" for s in states)

    code, out, err = cli("digest", "--config", str(seeded), "--dry-run", "--out", str(tmp_path / "out"))
    assert code == 1  # a source could not be read
    (facts,) = (tmp_path / "out").glob("org-*.json")
    digest = json.loads(facts.read_text())
    assert digest["unchecked"], "the digest must say what it could not check"
    (eml,) = (tmp_path / "out").glob("org-*.eml")
    subject = next(line for line in eml.read_text().splitlines() if line.startswith("Subject:"))
    assert "No alerts firing" not in subject and "not all checked" in subject
    advice = {a["function"]: a for a in digest["advice"]}
    assert "api" not in advice and "worker" not in advice  # they ran: no "remove it", and no memory advice from unknowns
    assert advice["nightly"]["kind"] == "idle"  # measured zero in both periods: that advice stands
    functions = {f["function"]: f for f in digest["functions"]}
    assert functions["api"]["invocations"] == 7.0 and functions["api"]["duration_p99_ms"] is None
