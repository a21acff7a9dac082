"""The simulated AWS account, through real boto3 clients built by ``aws.session.client``.

Every test runs with a fixed sim clock, runtime answer validation on, and
``HTTPS_PROXY`` pointing at a closed port, so any request that escaped the simulator
would fail loudly.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import botocore.exceptions as bce
import numpy as np
import pytest

from aws import errors, sim
from aws.meter import METER
from aws.session import Account, SimSpec, client
from aws.sim import validate
from aws.sim.metrics import METRICS
from aws.sim.model import MetricRequest, model_for

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)  # a Thursday
HOUR = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # a complete hour inside the error incident
REGIONS = ("us-east-1", "eu-west-1")
STATS_CLAUSE = (
    "| stats count(*) as reports, count(init_ms) as cold_starts, avg(init_ms) as init_ms_mean, "
    "pct(init_ms, 99) as init_ms_p99, sum(billed_ms) as billed_ms_sum, sum(gb_s) as gb_seconds, "
    "max(used_mb) as used_mb_max, avg(used_mb) as used_mb_mean, max(memory_mb) as memory_mb by @log, bin({bin_s}s)"
)
QUERY = (
    'filter @type = "REPORT" or type = "platform.report"\n'
    "| fields coalesce(@billedDuration, record.metrics.billedDurationMs) as billed_ms,"
    " coalesce(@memorySize / 1000 / 1000, record.metrics.memorySizeMB) as memory_mb,"
    " coalesce(@maxMemoryUsed / 1000 / 1000, record.metrics.maxMemoryUsedMB) as used_mb,"
    " coalesce(@initDuration, record.metrics.initDurationMs) as init_ms\n"
    "| fields billed_ms * memory_mb / 1024000 as gb_s\n" + STATS_CLAUSE + "\n| limit 10000"
)


@pytest.fixture(autouse=True)
def _sim_env(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    sim.set_clock(lambda: NOW)
    validate.set_validation(True)
    yield
    sim.set_clock(None)
    validate.set_validation(False)


def demo(functions: int = 48, **kw) -> Account:
    sim_kw = {k: kw.pop(k) for k in list(kw) if k in SimSpec.__dataclass_fields__}
    return Account(
        name="demo", regions=kw.pop("regions", REGIONS), demo=True, sim=SimSpec(functions=functions, **sim_kw), **kw
    )


def gmd_query(qid: str, fn: str, metric: str, stat: str, period: int, ns: str = "AWS/Lambda") -> dict:
    dim = "FunctionName" if ns == "AWS/Lambda" else "function_name"
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": metric, "Dimensions": [{"Name": dim, "Value": fn}]},
            "Period": period,
            "Stat": stat,
        },
    }


def strip(resp: dict) -> dict:
    return {k: v for k, v in resp.items() if k != "ResponseMetadata"}


def check_shape(c, op: str, resp: dict) -> None:
    validate.check(c.meta.service_model.operation_model(op), strip(resp))


# ---- shapes and the wire ---------------------------------------------------------------------
@pytest.mark.aws
def test_every_operation_answers_its_output_shape():
    acct = demo()
    m = model_for(acct)
    fn = m.lookup("payments-checkout-api")
    lam = client(acct, "lambda", fn.region)
    calls = [
        (lam, "ListFunctions", lam.list_functions(MaxItems=10)),
        (lam, "GetFunctionConfiguration", lam.get_function_configuration(FunctionName=fn.name)),
        (lam, "GetFunctionConcurrency", lam.get_function_concurrency(FunctionName=fn.name)),
        (lam, "GetAccountSettings", lam.get_account_settings()),
        (
            lam,
            "ListProvisionedConcurrencyConfigs",
            lam.list_provisioned_concurrency_configs(FunctionName="payments-auth-api"),
        ),
    ]
    tag = client(acct, "resourcegroupstaggingapi", fn.region)
    calls.append((tag, "GetResources", tag.get_resources(ResourceTypeFilters=["lambda:function"])))
    cw = client(acct, "cloudwatch", fn.region)
    calls.append(
        (
            cw,
            "GetMetricData",
            cw.get_metric_data(
                MetricDataQueries=[gmd_query("a", fn.name, "Duration", "p99", 300)],
                StartTime=HOUR,
                EndTime=HOUR + timedelta(hours=1),
            ),
        )
    )
    calls.append(
        (
            cw,
            "GetMetricStatistics",
            cw.get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName="Duration",
                Dimensions=[{"Name": "FunctionName", "Value": fn.name}],
                StartTime=HOUR,
                EndTime=HOUR + timedelta(hours=1),
                Period=300,
                ExtendedStatistics=["p99"],
            ),
        )
    )
    calls.append((cw, "ListMetrics", cw.list_metrics(Namespace="AWS/Lambda")))
    logs = client(acct, "logs", fn.region)
    calls.append((logs, "DescribeLogGroups", logs.describe_log_groups()))
    calls.append(
        (
            logs,
            "FilterLogEvents",
            logs.filter_log_events(
                logGroupName=fn.log_group,
                startTime=int(HOUR.timestamp() * 1000),
                endTime=int(HOUR.timestamp() * 1000) + 120_000,
            ),
        )
    )
    qid = logs.start_query(
        logGroupNames=[fn.log_group],
        startTime=int(HOUR.timestamp()),
        endTime=int(HOUR.timestamp()) + 3600,
        queryString=QUERY.format(bin_s=300),
    )["queryId"]
    calls.append((logs, "GetQueryResults", logs.get_query_results(queryId=qid)))
    calls.append((logs, "GetQueryResults", logs.get_query_results(queryId=qid)))
    ce = client(acct, "ce", "us-east-1")
    calls.append(
        (
            ce,
            "GetCostAndUsage",
            ce.get_cost_and_usage(
                TimePeriod={"Start": "2026-11-01", "End": "2026-11-03"},
                Granularity="DAILY",
                Metrics=["UnblendedCost"],
                GroupBy=[{"Type": "TAG", "Key": "team"}],
            ),
        )
    )
    calls.append(
        (
            ce,
            "GetCostForecast",
            ce.get_cost_forecast(
                TimePeriod={"Start": "2026-11-26", "End": "2026-12-01"}, Metric="UNBLENDED_COST", Granularity="DAILY"
            ),
        )
    )
    calls.append((ce, "ListCostAllocationTags", ce.list_cost_allocation_tags()))
    sts = client(acct, "sts", "us-east-1")
    calls.append((sts, "GetCallerIdentity", sts.get_caller_identity()))
    for c, op, resp in calls:
        check_shape(c, op, resp)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert calls[-1][2]["Account"] == "123456789012"


def test_validator_rejects_a_wrong_answer():
    import botocore.session

    om = botocore.session.get_session().get_service_model("cloudwatch").operation_model("GetMetricData")
    with pytest.raises(validate.AnswerInvalid):
        validate.check(om, {"MetricDataResults": [{"Id": "a", "StatusCode": "Done"}]})
    with pytest.raises(validate.AnswerInvalid):
        validate.check(om, {"MetricDataResults": [{"Id": "a", "Values": ["1"]}]})


@pytest.mark.aws
def test_plain_boto3_call_returns_exactly_the_model_answer():
    acct = demo()
    m = model_for(acct)
    cw = client(acct, "cloudwatch", "us-east-1")
    start, end = HOUR - timedelta(hours=2), HOUR + timedelta(hours=1)
    resp = cw.get_metric_data(
        MetricDataQueries=[
            gmd_query("inv", "payments-checkout-api", "Invocations", "Sum", 60),
            gmd_query("p90", "payments-checkout-api", "Duration", "p90", 300),
        ],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    got = {r["Id"]: r for r in resp["MetricDataResults"]}
    truth = m.metric("payments-checkout-api", "Invocations", "Sum", start=start, end=end, period=60)
    assert got["inv"]["Timestamps"] == list(truth.index.to_pydatetime())
    assert all(isinstance(t, datetime) and t.tzinfo is not None for t in got["inv"]["Timestamps"])
    assert got["inv"]["Values"] == truth.tolist()
    assert len(got["inv"]["Values"]) == 180 and got["inv"]["StatusCode"] == "Complete"
    p90 = m.metric("payments-checkout-api", "Duration", "p90", start=start, end=end, period=300)
    assert got["p90"]["Values"] == p90.tolist() and len(p90) == 36


def test_cbor_error_body_parses_with_botocores_rpcv2_parser():
    import botocore.session
    from botocore.parsers import create_parser

    from aws.sim.wire import ApiError, error_response

    sm = botocore.session.get_session().get_service_model("cloudwatch")
    resp = error_response(
        "https://x", _CborModel(sm), ApiError("ThrottlingException", "Rate exceeded"), call_id="1", request_id="r"
    )
    parsed = create_parser("smithy-rpc-v2-cbor").parse(
        {"status_code": resp.status_code, "headers": resp.headers, "body": resp.content}, None
    )
    assert resp.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert parsed["Error"]["Code"] == "Throttling"  # CloudWatch is query-compatible: x-amzn-query-error
    assert parsed["Error"]["QueryErrorCode"] == "ThrottlingException"
    assert parsed["Error"]["Message"] == "Rate exceeded"


class _CborModel:
    """A service model that resolves to smithy-rpc-v2-cbor (what newer botocore picks for CloudWatch)."""

    def __init__(self, sm):
        self._sm = sm
        self.resolved_protocol = "smithy-rpc-v2-cbor"
        self.metadata = sm.metadata


# ---- paging and limits -----------------------------------------------------------------------
@pytest.mark.aws
def test_list_functions_pages_of_at_most_50_and_exactly_n_functions():
    acct = demo(120)
    names = []
    for region in REGIONS:
        lam = client(acct, "lambda", region)
        pages = list(lam.get_paginator("list_functions").paginate())
        assert all(len(p["Functions"]) <= 50 for p in pages)
        assert len(pages) == -(-sum(len(p["Functions"]) for p in pages) // 50)
        names += [f["FunctionName"] for p in pages for f in p["Functions"]]
        small = lam.list_functions(MaxItems=7)
        assert len(small["Functions"]) == 7 and "NextMarker" in small
        assert len(lam.list_functions(MaxItems=500)["Functions"]) == 50  # AWS caps a page at 50
    assert len(names) == 120 == len(set(names))
    f = model_for(acct).lookup("payments-ledger-java")
    cfg = client(acct, "lambda", f.region).get_function_configuration(FunctionName=f.name)
    assert cfg["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert cfg["LoggingConfig"]["LogGroup"] == "/app/payments/ledger-java"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000", cfg["LastModified"])


@pytest.mark.aws
def test_get_resources_pages_of_100_and_refuses_more():
    acct = demo(260, regions=("us-east-1",))
    tag = client(acct, "resourcegroupstaggingapi", "us-east-1")
    pages = list(
        tag.get_paginator("get_resources").paginate(ResourceTypeFilters=["lambda:function"], ResourcesPerPage=100)
    )
    sizes = [len(p["ResourceTagMappingList"]) for p in pages]
    tagged = [s for s in model_for(acct).specs if s.tags]
    assert sizes == [100, 100, len(tagged) - 200]
    assert len(tagged) == 259  # the idle legacy function carries no tags, so the Tagging API omits it
    with pytest.raises(bce.ClientError) as e:
        tag.get_resources(ResourcesPerPage=101)
    assert e.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.aws
def test_get_metric_data_refuses_501_queries():
    acct = demo()
    cw = client(acct, "cloudwatch", "us-east-1")
    queries = [gmd_query(f"q{i}", "payments-checkout-api", "Invocations", "Sum", 60) for i in range(501)]
    with pytest.raises(bce.ClientError) as e:
        cw.get_metric_data(MetricDataQueries=queries, StartTime=HOUR, EndTime=HOUR + timedelta(hours=1))
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == (
        "The collection MetricDataQueries must not have a size greater than 500."
    )
    ok = cw.get_metric_data(MetricDataQueries=queries[:500], StartTime=HOUR, EndTime=HOUR + timedelta(hours=1))
    assert len(ok["MetricDataResults"]) == 500


@pytest.mark.aws
def test_get_metric_data_pages_give_every_datapoint_exactly_once():
    acct = demo()
    cw = client(acct, "cloudwatch", "us-east-1")
    fns = ["payments-checkout-api", "media-image-thumbnailer", "search-catalog-java", "platform-tmp-cleanup"]
    queries = [
        gmd_query(f"q{i}", fn, metric, "Sum" if metric != "Duration" else "p50", 60)
        for i, (fn, metric) in enumerate((f, m) for f in fns for m in ("Invocations", "Duration"))
    ]
    kw = {"MetricDataQueries": queries, "StartTime": NOW - timedelta(hours=6), "EndTime": HOUR + timedelta(hours=2)}
    whole = cw.get_metric_data(**kw)
    assert "NextToken" not in whole
    expected = {r["Id"]: list(zip(r["Timestamps"], r["Values"], strict=True)) for r in whole["MetricDataResults"]}
    total = sum(len(v) for v in expected.values())
    assert total > 1500
    pages = list(cw.get_paginator("get_metric_data").paginate(MaxDatapoints=500, **kw))
    assert len(pages) == -(-total // 500)
    got: dict[str, list] = {}
    for p in pages:
        assert sum(len(r["Values"]) for r in p["MetricDataResults"]) <= 500
        for r in p["MetricDataResults"]:
            got.setdefault(r["Id"], []).extend(zip(r["Timestamps"], r["Values"], strict=True))
    assert got == expected
    cleanup = dict(expected["q6"])  # the hourly job: one invocation an hour, nothing in between
    assert set(cleanup.values()) == {1.0} and len(cleanup) == 6


@pytest.mark.aws
def test_percentiles_are_ordered_and_sums_add_up():
    acct = demo()
    cw = client(acct, "cloudwatch", "us-east-1")
    fn = "payments-checkout-api"
    stats = ["p50", "p90", "p99", "p99.9", "Maximum", "Minimum", "Average"]
    q = [gmd_query(f"s{i}", fn, "Duration", s, 300) for i, s in enumerate(stats)]
    q += [gmd_query("sum5", fn, "Invocations", "Sum", 300), gmd_query("sum1", fn, "Invocations", "Sum", 60)]
    resp = cw.get_metric_data(
        MetricDataQueries=q,
        StartTime=HOUR - timedelta(hours=6),
        EndTime=HOUR + timedelta(hours=2),
        ScanBy="TimestampAscending",
    )
    r = {x["Id"]: np.array(x["Values"]) for x in resp["MetricDataResults"]}
    p50, p90, p99, p999, mx, mn, avg = (r[f"s{i}"] for i in range(len(stats)))
    assert len(p50) == 96
    assert (mn <= p50).all() and (p50 <= p90).all() and (p90 <= p99).all() and (p99 <= p999).all()
    assert (p999 <= mx).all() and (mn <= avg).all() and (avg <= mx).all()
    assert (p50 < p99).any()
    assert np.array_equal(r["sum5"], r["sum1"].reshape(-1, 5).sum(axis=1))
    assert (r["sum1"] > 0).all()


@pytest.mark.aws
def test_get_metric_statistics_limit_and_agreement_with_get_metric_data():
    acct = demo()
    cw = client(acct, "cloudwatch", "us-east-1")
    dims = [{"Name": "FunctionName", "Value": "search-reindex-worker"}]
    with pytest.raises(bce.ClientError) as e:
        cw.get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Duration",
            Dimensions=dims,
            StartTime=NOW - timedelta(hours=24, minutes=1),
            EndTime=NOW,
            Period=60,
            Statistics=["Maximum"],
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert "1,441 datapoints" in e.value.response["Error"]["Message"]
    start, end = HOUR - timedelta(hours=6), HOUR
    with pytest.raises(bce.ClientError) as both:  # AWS: "either Statistics or ExtendedStatistics, but not both"
        cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="Duration", Dimensions=dims, StartTime=start, EndTime=end, Period=300,
            Statistics=["Maximum"], ExtendedStatistics=["p99"],
        )
    assert both.value.response["Error"]["Code"] == "InvalidParameterCombination"
    kw = {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Dimensions": dims, "StartTime": start, "EndTime": end, "Period": 300}
    points = sorted(cw.get_metric_statistics(**kw, Statistics=["Maximum", "SampleCount"])["Datapoints"], key=lambda d: d["Timestamp"])
    ext = sorted(cw.get_metric_statistics(**kw, ExtendedStatistics=["p99"])["Datapoints"], key=lambda d: d["Timestamp"])
    gmd = cw.get_metric_data(
        MetricDataQueries=[
            gmd_query("m", dims[0]["Value"], "Duration", "Maximum", 300),
            gmd_query("p", dims[0]["Value"], "Duration", "p99", 300),
        ],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )["MetricDataResults"]
    assert [d["Maximum"] for d in points] == gmd[0]["Values"]
    assert [d["ExtendedStatistics"]["p99"] for d in ext] == gmd[1]["Values"]
    # the timeout incident (4-6 h before the anchor): durations hit the 6 s timeout
    assert max(gmd[0]["Values"]) == 6000.0


def test_retention_by_period():
    acct = demo()
    m = model_for(acct)
    old = NOW - timedelta(days=20)
    one_min = m.metric(
        "payments-checkout-api", "Invocations", "Sum", start=old, end=old + timedelta(hours=1), period=60
    )
    five_min = m.metric(
        "payments-checkout-api", "Invocations", "Sum", start=old, end=old + timedelta(hours=1), period=300
    )
    assert one_min.empty and len(five_min) == 12
    before = m.metric(
        "payments-checkout-api",
        "Invocations",
        "Sum",
        start=NOW - timedelta(days=70),
        end=NOW - timedelta(days=63),
        period=3600,
    )
    assert before.empty  # nothing exists before now - 62 days (the history always holds the previous month)
    last_month = m.metric(
        "payments-checkout-api", "Invocations", "Sum", start=NOW - timedelta(days=61), end=NOW - timedelta(days=60), period=3600
    )
    assert len(last_month) == 24
    future = m.metric("payments-checkout-api", "Invocations", "Sum", start=NOW, end=NOW + timedelta(hours=2), period=60)
    assert future.empty


@pytest.mark.aws
def test_every_metric_answers_for_a_function_that_has_it():
    acct = demo()
    m = model_for(acct)
    cw = client(acct, "cloudwatch", "us-east-1")
    east = [s for s in m.specs if s.region == "us-east-1" and s.role != "idle"]
    queries, owners = [], {}
    for i, metric in enumerate(METRICS.values()):
        if metric.name == "StreamedOutgoingBytes":
            continue  # the streaming function comes at ≥ 52 functions (test_provisioned_costs reads it)
        owner = next(
            s
            for s in east
            if metric.exists_for(s)
            and s.pattern in ("business", "steady", "diurnal")
            and (metric.name != "init_duration" or s.role == "cold_starts")
        )
        owners[f"m{i}"] = (metric, owner)
        queries.append(gmd_query(f"m{i}", owner.name, metric.name, "Maximum", 3600, metric.namespace))
    resp = cw.get_metric_data(MetricDataQueries=queries, StartTime=HOUR - timedelta(hours=3), EndTime=HOUR)
    got = {r["Id"]: r["Values"] for r in resp["MetricDataResults"]}
    for qid, (metric, owner) in owners.items():
        assert len(got[qid]) == 3, (metric.name, owner.name)
    # Lambda Insights agrees with the REPORT lines of the same hour
    s = next(x for x in east if x.insights and x.log_format == "Text" and x.role == "cold_starts")
    hour = {"StartTime": HOUR, "EndTime": HOUR + timedelta(hours=1)}
    q = [
        gmd_query("u", s.name, "used_memory_max", "Maximum", 3600, "LambdaInsights"),
        gmd_query("p", s.name, "memory_utilization", "Maximum", 3600, "LambdaInsights"),
        gmd_query("i", s.name, "init_duration", "Maximum", 3600, "LambdaInsights"),
        gmd_query("t", s.name, "total_memory", "Average", 3600, "LambdaInsights"),
    ]
    ins = {r["Id"]: r["Values"][0] for r in cw.get_metric_data(MetricDataQueries=q, **hour)["MetricDataResults"]}
    lines = m.report_lines(s.name, start=HOUR, end=HOUR + timedelta(hours=1))
    used = [int(re.search(r"Max Memory Used: (\d+)", ln).group(1)) for ln in lines]
    inits = [float(re.search(r"Init Duration: ([\d.]+)", ln).group(1)) for ln in lines if "Init Duration" in ln]
    assert ins["u"] == max(used) and ins["p"] == pytest.approx(max(used) / s.memory_mb * 100)
    assert ins["i"] == max(inits) and ins["t"] == s.memory_mb


@pytest.mark.aws
def test_list_metrics_lists_what_exists():
    acct = demo()
    m = model_for(acct)
    cw = client(acct, "cloudwatch", "us-east-1")

    def listed(**kw):
        pages = cw.get_paginator("list_metrics").paginate(**kw)
        return {d["Value"] for p in pages for x in p["Metrics"] for d in x["Dimensions"]}

    east = [s for s in m.specs if s.region == "us-east-1"]
    assert listed(Namespace="AWS/Lambda", MetricName="IteratorAge") == {s.name for s in east if s.stream}
    assert listed(Namespace="AWS/Lambda", MetricName="AsyncEventAge") == {s.name for s in east if s.is_async}
    assert listed(Namespace="AWS/Lambda", MetricName="ProvisionedConcurrencyUtilization") == {"payments-auth-api"}
    assert listed(Namespace="LambdaInsights", MetricName="used_memory_max") == {s.name for s in east if s.insights}
    assert listed(Namespace="AWS/Lambda", MetricName="Invocations") == {s.name for s in east if s.role != "idle"}
    west = client(acct, "cloudwatch", "eu-west-1")
    idle = [
        x
        for p in west.get_paginator("list_metrics").paginate(Namespace="AWS/Lambda")
        for x in p["Metrics"]
        if x["Dimensions"][0]["Value"] == "legacy-importer"
    ]
    assert idle == []
    recent = listed(Namespace="AWS/Lambda", MetricName="Invocations", RecentlyActive="PT3H")
    assert "payments-checkout-api" in recent and "media-nightly-report" not in recent


@pytest.mark.aws
def test_a_query_asking_only_the_memory_maxima_answers_them_as_the_whole_query_does():
    """The recommendations ask Logs Insights for max(used_mb) an hour and the counts only: the same numbers as the
    whole query's, the figures not asked unknown (NaN), not zero; fewer bytes on the wire."""
    from aws import logs as cwl

    acct = demo()
    names = ["payments-checkout-api", "search-catalog-java", "payments-auth-api"]
    specs = [model_for(acct).lookup(fn) for fn in names]
    region = specs[0].region
    groups = {s.name: s.log_group for s in specs if s.region == region}
    assert len(groups) >= 2
    kw = {"account": acct, "region": region, "log_groups": groups, "start": HOUR - timedelta(hours=6), "end": HOUR, "bin_s": 3600}
    whole = cwl.memory_and_cold_starts(**kw)
    some = cwl.memory_and_cold_starts(**kw, fields=("used_mb_max",))
    assert len(whole) == len(some) >= 6 * len(groups) - 2 and some.attrs["source"] == cwl.SOURCE_INSIGHTS
    keys = ["function", "timestamp", "reports", "cold_starts", "used_mb_max"]
    assert some[keys].equals(whole[keys])
    assert whole["used_mb_max"].notna().all() and whole["init_ms_mean"].notna().any()
    others = [c for c in cwl.REPORT_FIGURES if c != "used_mb_max"]
    assert some[others].isna().all().all()
    with pytest.raises(ValueError, match="unknown REPORT figures"):
        cwl.memory_and_cold_starts(**kw, fields=("used_mb_p99",))


# ---- one model: metrics == Logs Insights == REPORT lines == bill --------------------------------
@pytest.mark.parametrize("fn", ["payments-checkout-api", "search-catalog-java", "search-reindex-worker"])
@pytest.mark.aws
def test_invocations_equal_insights_reports_equal_filter_log_events_lines(fn):
    acct = demo()
    s = model_for(acct).lookup(fn)
    start, end = HOUR - timedelta(hours=4) if fn == "search-reindex-worker" else HOUR, None
    end = start + timedelta(hours=1)
    cw = client(acct, "cloudwatch", s.region)
    inv = cw.get_metric_data(
        MetricDataQueries=[gmd_query("i", fn, "Invocations", "Sum", 3600)], StartTime=start, EndTime=end
    )["MetricDataResults"][0]["Values"]
    logs = client(acct, "logs", s.region)
    qid = logs.start_query(
        logGroupNames=[s.log_group],
        startTime=int(start.timestamp()),
        endTime=int(end.timestamp()),
        queryString=QUERY.format(bin_s=3600),
    )["queryId"]
    first = logs.get_query_results(queryId=qid)
    assert first["status"] == "Running" and first["results"] == []
    done = logs.get_query_results(queryId=qid)
    assert done["status"] == "Complete" and len(done["results"]) == 1
    row = {f["field"]: f["value"] for f in done["results"][0]}
    assert [f["field"] for f in done["results"][0]][:3] == ["@log", "bin(3600s)", "reports"]
    assert row["@log"] == f"123456789012:{s.log_group}"
    assert row["bin(3600s)"] == start.strftime("%Y-%m-%d %H:%M:%S.000")
    lines = [
        e["message"]
        for p in logs.get_paginator("filter_log_events").paginate(
            logGroupName=s.log_group,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000) - 1,
            filterPattern='?REPORT ?"platform.report"',
        )
        for e in p["events"]
    ]
    assert inv == [float(row["reports"])] and int(row["reports"]) == len(lines) > 50
    billed = sum(
        int(
            re.search(r'Billed Duration: (\d+)|"billedDurationMs":(\d+)', ln).group(1)
            or re.search(r'"billedDurationMs":(\d+)', ln).group(1)
        )
        for ln in lines
    )
    assert int(row["billed_ms_sum"]) == billed
    cold = sum(("Init Duration" in ln) or ("initDurationMs" in ln) for ln in lines)
    assert int(row["cold_starts"]) == cold
    used = [
        int(
            re.search(r'Max Memory Used: (\d+)|"maxMemoryUsedMB":(\d+)', ln).groups()[0]
            or re.search(r'"maxMemoryUsedMB":(\d+)', ln).group(1)
        )
        for ln in lines
    ]
    assert float(row["used_mb_max"]) == max(used)
    assert float(row["used_mb_mean"]) == pytest.approx(sum(used) / len(used), rel=1e-9)
    if fn == "search-catalog-java":  # the cold-start heavy Java function: ~30 %, init 2-4 s
        assert 0.2 < cold / len(lines) < 0.4 and 2000 <= float(row["init_ms_mean"]) <= 4000
    if fn == "search-reindex-worker":  # inside the timeout incident
        assert sum("Status: timeout" in ln for ln in lines) > 0.3 * len(lines)


@pytest.mark.aws
def test_insights_limits_and_unknown_queries():
    acct = demo(120, regions=("us-east-1",), max_attempts=1)  # LimitExceededException is retried by botocore
    m = model_for(acct)
    logs = client(acct, "logs", "us-east-1")
    groups = [s.log_group for s in m.specs]
    t0 = int(HOUR.timestamp())
    with pytest.raises(bce.ClientError) as e:
        logs.start_query(logGroupNames=groups[:51], startTime=t0, endTime=t0 + 3600, queryString=QUERY.format(bin_s=60))
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    ids = [
        logs.start_query(
            logGroupNames=groups[:2], startTime=t0, endTime=t0 + 3600, queryString=QUERY.format(bin_s=300)
        )["queryId"]
        for _ in range(30)
    ]
    with pytest.raises(bce.ClientError) as e:
        logs.start_query(logGroupNames=groups[:2], startTime=t0, endTime=t0 + 3600, queryString=QUERY.format(bin_s=300))
    assert e.value.response["Error"]["Code"] == "LimitExceededException"
    assert logs.stop_query(queryId=ids[0])["success"] is True
    assert logs.get_query_results(queryId=ids[0])["status"] == "Cancelled"
    qid = logs.start_query(
        logGroupNames=groups[:50], startTime=t0, endTime=t0 + 3600, queryString=QUERY.format(bin_s=300)
    )["queryId"]
    logs.get_query_results(queryId=qid)
    res = logs.get_query_results(queryId=qid)
    reqs = [MetricRequest(s.index, METRICS[("AWS/Lambda", "Invocations")], 300, (("Sum", None),)) for s in m.specs[:50]]
    busy = m.evaluate(reqs, start=HOUR, end=HOUR + timedelta(hours=1))
    assert len(res["results"]) == sum(len(ts) for ts, _ in busy.values()) > 300
    reports = {(r[0]["value"], r[1]["value"]): int(r[2]["value"]) for r in res["results"]}
    for s, req in zip(m.specs[:50], reqs, strict=True):
        ts, vals = busy[req]
        for t, v in zip(ts, vals[("Sum", None)], strict=True):
            label = datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M:%S.000")
            assert reports[(f"123456789012:{s.log_group}", label)] == v
    assert res["statistics"]["bytesScanned"] > 0 and res["statistics"]["recordsMatched"] == sum(reports.values())
    other = logs.start_query(
        logGroupNames=groups[:1],
        startTime=t0,
        endTime=t0 + 3600,
        queryString="fields @timestamp, @message | sort @timestamp desc",
    )["queryId"]
    logs.get_query_results(queryId=other)
    assert logs.get_query_results(queryId=other)["results"] == []  # not a REPORT stats query: nothing invented
    with pytest.raises(bce.ClientError) as e:
        logs.start_query(logGroupNames=["/aws/lambda/nope"], startTime=t0, endTime=t0 + 60, queryString=QUERY)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.aws
def test_without_logs_insights_start_query_is_unsupported():
    acct = demo(logs_insights=False)
    logs = client(acct, "logs", "us-east-1")
    with pytest.raises(bce.ClientError) as e:
        logs.start_query(logGroupNames=["/aws/lambda/payments-checkout-api"], startTime=0, endTime=60, queryString="x")
    assert e.value.response["Error"]["Code"] == "UnsupportedOperation"
    assert e.value.response["Error"]["Message"] == "the simulated account does not implement logs StartQuery"


@pytest.mark.aws
def test_json_report_lines_and_filter_patterns():
    acct = demo()
    s = model_for(acct).lookup("payments-checkout-api")
    assert s.log_format == "JSON"
    logs = client(acct, "logs", s.region)
    kw = {
        "logGroupName": s.log_group,
        "startTime": int(HOUR.timestamp() * 1000),
        "endTime": int(HOUR.timestamp() * 1000) + 300_000 - 1,
    }
    text_only = logs.filter_log_events(filterPattern="REPORT", **kw)["events"]
    json_only = logs.filter_log_events(filterPattern='{ $.type = "platform.report" }', **kw)["events"]
    assert text_only == [] and len(json_only) > 20
    import json

    rec = json.loads(json_only[0]["message"])
    assert rec["type"] == "platform.report" and rec["record"]["metrics"]["memorySizeMB"] == 512
    assert json_only == sorted(json_only, key=lambda e: e["timestamp"])


@pytest.mark.aws
def test_cost_explorer_totals_agree_to_the_cent_and_free_tier_is_visible():
    acct = demo()
    ce = client(acct, "ce", "us-east-1")
    base = {
        "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-27"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost", "UsageQuantity"],
        "Filter": {"Dimensions": {"Key": "SERVICE", "Values": ["AWS Lambda"]}},
    }

    def pages(**extra):
        out, token = [], None
        while True:
            resp = ce.get_cost_and_usage(**{**base, **extra}, **({"NextPageToken": token} if token else {}))
            out.append(resp)
            token = resp.get("NextPageToken")
            if not token:
                return out

    total = {
        r["TimePeriod"]["Start"]: float(r["Total"]["UnblendedCost"]["Amount"]) for r in pages()[0]["ResultsByTime"]
    }
    assert len(total) == 26

    def by_day(resps):
        out: dict[str, float] = {}
        for resp in resps:
            for r in resp["ResultsByTime"]:
                for g in r["Groups"]:
                    out[r["TimePeriod"]["Start"]] = out.get(r["TimePeriod"]["Start"], 0.0) + float(
                        g["Metrics"]["UnblendedCost"]["Amount"]
                    )
        return out

    usage = by_day(pages(GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]))
    team_pages = pages(GroupBy=[{"Type": "TAG", "Key": "team"}])
    teams = by_day(team_pages)
    for day, amount in total.items():
        assert round(usage[day], 2) == round(amount, 2) == round(teams[day], 2)
    keys = {g["Keys"][0] for r in team_pages[0]["ResultsByTime"] for g in r["Groups"]}
    assert keys == {"team$payments", "team$search", "team$media", "team$platform", "team$data", "team$"}
    truth = model_for(acct).daily_costs(start=date(2026, 11, 1), end=date(2026, 11, 27))
    assert truth.groupby("date")["cost"].sum().round(6).tolist() == pytest.approx(
        [total[d] for d in sorted(total)], abs=1e-6
    )
    # the free tier: on the 1st the requests and GB-s are free, later in the month they are billed
    first = pages(
        GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["USE1-Request-ARM", "USE1-Lambda-GB-Second"]}},
    )
    per_day = {r["TimePeriod"]["Start"]: [g["Metrics"] for g in r["Groups"]] for r in first[0]["ResultsByTime"]}
    assert all(
        float(m["UnblendedCost"]["Amount"]) == 0 and float(m["UsageQuantity"]["Amount"]) > 0
        for m in per_day["2026-11-01"]
    )
    assert all(float(m["UnblendedCost"]["Amount"]) > 0 for m in per_day["2026-11-20"])
    est = pages()[0]["ResultsByTime"]
    assert [r["Estimated"] for r in est][-2:] == [False, True]


@pytest.mark.aws
def test_cost_explorer_pages_limits_and_forecast():
    acct = demo(max_attempts=1)
    ce = client(acct, "ce", "us-east-1")
    kw = {
        "TimePeriod": {"Start": "2026-10-27", "End": "2026-11-27"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "TAG", "Key": "team"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
    }
    cells, token, n = [], None, 0
    while True:
        resp = ce.get_cost_and_usage(**kw, **({"NextPageToken": token} if token else {}))
        page_cells = [(r["TimePeriod"]["Start"], tuple(g["Keys"])) for r in resp["ResultsByTime"] for g in r["Groups"]]
        assert len(page_cells) <= 500
        cells += page_cells
        n += 1
        token = resp.get("NextPageToken")
        if not token:
            break
    assert n >= 2 and len(cells) == len(set(cells)) > 500
    with pytest.raises(bce.ClientError) as e:
        ce.get_cost_and_usage(**{**kw, "GroupBy": kw["GroupBy"] + [{"Type": "DIMENSION", "Key": "REGION"}]})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    f = ce.get_cost_forecast(
        TimePeriod={"Start": "2026-11-26", "End": "2026-12-01"},
        Metric="UNBLENDED_COST",
        Granularity="DAILY",
        PredictionIntervalLevel=80,
    )
    assert float(f["Total"]["Amount"]) > 0 and len(f["ForecastResultsByTime"]) == 5
    day = f["ForecastResultsByTime"][0]
    assert (
        float(day["PredictionIntervalLowerBound"])
        <= float(day["MeanValue"])
        <= float(day["PredictionIntervalUpperBound"])
    )
    with pytest.raises(bce.ClientError) as e:
        ce.get_cost_forecast(
            TimePeriod={"Start": "2026-11-25", "End": "2026-12-01"}, Metric="UNBLENDED_COST", Granularity="DAILY"
        )
    assert e.value.response["Error"]["Code"] == "ValidationException"
    tags = ce.list_cost_allocation_tags(Status="Active")["CostAllocationTags"]
    assert "team" in {t["TagKey"] for t in tags}


# ---- faults ----------------------------------------------------------------------------------
@pytest.mark.aws
def test_throttling_is_retried_by_botocore(monkeypatch):
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)
    acct = demo(throttle_rate=0.3, max_attempts=10)
    cw = client(acct, "cloudwatch", "us-east-1")
    lam = client(acct, "lambda", "us-east-1")
    for _ in range(12):
        cw.get_metric_data(
            MetricDataQueries=[gmd_query("a", "payments-checkout-api", "Invocations", "Sum", 300)],
            StartTime=HOUR,
            EndTime=HOUR + timedelta(hours=1),
        )
        assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 1000
    snap = METER.snapshot()
    calls, attempts = snap.count(), sum(snap.attempts.values())
    assert calls == 24 and attempts > calls


@pytest.mark.aws
def test_throttle_wire_codes_per_service(monkeypatch):
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0.0)
    acct = demo(throttle_rate=1.0, max_attempts=2)
    cases = [
        ("cloudwatch", lambda c: c.list_metrics(), "Throttling"),
        ("lambda", lambda c: c.get_account_settings(), "TooManyRequestsException"),
        ("logs", lambda c: c.describe_log_groups(), "ThrottlingException"),
        ("resourcegroupstaggingapi", lambda c: c.get_resources(), "ThrottledException"),
        ("ce", lambda c: c.list_cost_allocation_tags(), "LimitExceededException"),
    ]
    for service, call, code in cases:
        with pytest.raises(bce.ClientError) as e:
            call(client(acct, service, "us-east-1"))
        assert e.value.response["Error"]["Code"] == code
        assert e.value.response["ResponseMetadata"]["RetryAttempts"] == 1
        mapped = errors.translate(e.value, service=service, operation="X")
        assert isinstance(mapped, errors.Throttled)
    with pytest.raises(bce.ClientError) as e:
        client(acct, "lambda", "us-east-1").list_functions()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


@pytest.mark.aws
def test_denied_action_is_access_denied():
    acct = demo(deny=("cloudwatch:GetMetricData",))
    cw = client(acct, "cloudwatch", "us-east-1")
    with pytest.raises(bce.ClientError) as e:
        cw.get_metric_data(
            MetricDataQueries=[gmd_query("a", "payments-checkout-api", "Invocations", "Sum", 300)],
            StartTime=HOUR,
            EndTime=HOUR + timedelta(hours=1),
        )
    err = e.value.response["Error"]
    assert err["Code"] in ("AccessDenied", "AccessDeniedException")
    assert "is not authorized to perform: cloudwatch:GetMetricData" in err["Message"]
    mapped = errors.translate(e.value, service="cloudwatch", operation="GetMetricData")
    assert isinstance(mapped, errors.AccessDenied) and mapped.iam_action == "cloudwatch:GetMetricData"
    assert cw.list_metrics(Namespace="AWS/Lambda")["Metrics"]  # other actions still allowed


@pytest.mark.aws
def test_down_service_and_read_timeout():
    acct = demo(down=("logs",), max_attempts=2)
    with pytest.raises(bce.EndpointConnectionError):
        client(acct, "logs", "us-east-1").describe_log_groups()
    assert METER.snapshot().attempts[("demo", "us-east-1", "logs", "DescribeLogGroups")] == 2
    assert client(acct, "sts", "us-east-1").get_caller_identity()["Account"] == "123456789012"
    slow = demo(latency_s=0.2, max_attempts=1, read_timeout_s=0.05)
    with pytest.raises(bce.ReadTimeoutError):
        client(slow, "sts", "us-east-1").get_caller_identity()


@pytest.mark.aws
def test_unsupported_operations_and_services_never_reach_the_network():
    acct = demo()
    for service, call in [
        ("lambda", lambda c: c.list_layers()),
        ("s3", lambda c: c.list_buckets()),
        ("ec2", lambda c: c.describe_regions()),
        ("sqs", lambda c: c.list_queues()),
    ]:
        with pytest.raises(bce.ClientError) as e:
            call(client(acct, service, "us-east-1"))
        assert e.value.response["Error"]["Code"] == "UnsupportedOperation"
        assert "the simulated account does not implement" in e.value.response["Error"]["Message"]


@pytest.mark.aws
def test_answers_are_dropped_once_delivered():
    from aws import session as sess

    acct = demo()
    lam = client(acct, "lambda", "us-east-1")
    list(lam.get_paginator("list_functions").paginate())
    with pytest.raises(bce.ClientError):
        lam.get_function_configuration(FunctionName="nope")
    state = sess._sessions[acct]._lambda_lens_sim
    assert len(state.pending) == 0


# ---- determinism and the seeded incidents ------------------------------------------------------
@pytest.mark.aws
def test_same_question_same_answer_within_the_hour():
    acct = demo()
    q = [
        gmd_query("d", "payments-checkout-api", "Duration", "p99", 60),
        gmd_query("e", "payments-checkout-api", "Errors", "Sum", 300),
    ]
    kw = {"MetricDataQueries": q, "StartTime": NOW - timedelta(hours=5), "EndTime": NOW - timedelta(hours=1)}

    def ask():
        return strip(client(acct, "cloudwatch", "us-east-1").get_metric_data(**kw))["MetricDataResults"]

    first = ask()
    assert ask() == first
    sim.set_clock(lambda: NOW.replace(minute=59))
    from aws.sim import model as model_mod

    model_mod._models.clear()
    assert ask() == first
    assert [i["kind"] for i in model_for(acct).incidents] == [
        "errors",
        "throttles",
        "timeout",
        "memory_low",
        "memory_high",
        "cold_starts",
        "idle",
        "iterator_age",
    ]


def test_seeded_incidents_show_in_the_data():
    acct = demo()
    m = model_for(acct)
    inc = {i["kind"]: i for i in m.incidents}
    err = m.series("payments-checkout-api", start=inc["errors"]["start"], end=inc["errors"]["end"], period=300)
    assert 0.2 < err["errors"].sum() / err["invocations"].sum() < 0.3
    calm = m.series("payments-checkout-api", start=NOW - timedelta(hours=8), end=NOW - timedelta(hours=4), period=300)
    assert calm["errors"].sum() / calm["invocations"].sum() < 0.01
    thr = m.series("media-transcode-worker", start=inc["throttles"]["start"], end=inc["throttles"]["end"], period=60)
    assert thr["throttles"].sum() > 0 and thr["concurrency_max"].max() == 10
    age = m.series(
        "data-clickstream-consumer", start=inc["iterator_age"]["start"], end=inc["iterator_age"]["end"], period=3600
    )
    assert age["iterator_age_max_ms"].is_monotonic_increasing and age["iterator_age_max_ms"].iloc[-1] > 3_600_000
    day = {"start": NOW - timedelta(hours=24), "end": NOW, "period": 3600}
    high = m.series("media-image-resizer", **day)
    low = m.series("media-pdf-renderer", **day)
    assert 0.88 < high["used_mb_max"].max() / 256 <= 1.0 and 0.1 < low["used_mb_mean"].mean() / 3008 < 0.2
    assert m.series("legacy-importer", start=NOW - timedelta(days=29), end=NOW, period=86400).empty
    healthy = m.series("payments-ledger-stream", **day)
    assert healthy["errors"].sum() / healthy["invocations"].sum() < 0.005 and healthy["throttles"].sum() == 0
    assert healthy["duration_p99_ms"].max() < 0.2 * 60_000
    text = sim.describe(acct)
    assert "iterator_age" in text and "payments-checkout-api" in text and "Injected faults" in text
