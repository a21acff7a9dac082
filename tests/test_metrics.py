"""Tests of aws.metrics: periods, call planning, exact request shapes (Stubber), the simulated account."""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

import aws.metrics as m
from aws import errors, session
from aws.frames import UTC_TS
from aws.meter import METER
from aws.metrics import _fetch
from aws.session import Account

REGION = "us-east-1"
NOW = datetime(2026, 11, 26, 10, 7, 30, tzinfo=UTC)
ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")

LAMBDA_COLUMNS = [
    "account",
    "region",
    "function",
    "timestamp",
    "period_s",
    "invocations",
    "errors",
    "throttles",
    "duration_avg_ms",
    "duration_p50_ms",
    "duration_p90_ms",
    "duration_p99_ms",
    "duration_max_ms",
    "concurrency_max",
    "iterator_age_max_ms",
    "async_event_age_max_ms",
    "pc_utilization_max",
]
CORE = [  # (column, metric, stat) in query order
    ("invocations", "Invocations", "Sum"),
    ("errors", "Errors", "Sum"),
    ("throttles", "Throttles", "Sum"),
    ("duration_avg_ms", "Duration", "Average"),
    ("duration_p50_ms", "Duration", "p50"),
    ("duration_p90_ms", "Duration", "p90"),
    ("duration_p99_ms", "Duration", "p99"),
    ("duration_max_ms", "Duration", "Maximum"),
    ("concurrency_max", "ConcurrentExecutions", "Maximum"),
]


def ts(hh: int, mm: int, ss: int = 0, day: int = 26) -> datetime:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC)


def mdq(
    qid: str,
    metric: str,
    stat: str,
    function: str,
    *,
    period: int = 60,
    ns: str = "AWS/Lambda",
    dims: list[dict] | None = None,
) -> dict:
    dim_name = "FunctionName" if ns == "AWS/Lambda" else "function_name"
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {
                "Namespace": ns,
                "MetricName": metric,
                "Dimensions": dims if dims is not None else [{"Name": dim_name, "Value": function}],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def optional_frame(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["function", "metric"]).astype("string")


@pytest.fixture
def plain() -> Account:
    return Account(name="prod", regions=(REGION,))


@pytest.fixture
def cw(plain):
    """The cached CloudWatch client of a plain account, stubbed; the collectors get the same object."""
    client = session.client(plain, "cloudwatch", REGION)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sequential(monkeypatch):
    """One worker thread, so stubbed answers are consumed in a known order."""
    monkeypatch.setattr(_fetch, "MAX_WORKERS", 1)


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("span", "period"),
    [
        (timedelta(minutes=5), 60),
        (timedelta(hours=1), 60),
        (timedelta(hours=3), 60),
        (timedelta(hours=12), 60),
        (timedelta(hours=24), 60),
        (timedelta(hours=33, minutes=36), 60),  # 2,016 minutes: the longest range at 60 s
        (timedelta(hours=33, minutes=37), 300),
        (timedelta(days=3), 300),
        (timedelta(days=7), 300),
        (timedelta(days=14), 900),
        (timedelta(days=30), 1800),
        (timedelta(days=90), 21600),
    ],
)
def test_choose_period_for_ranges_ending_now(span, period):
    assert m.choose_period(start=NOW - span, end=NOW, now=NOW) == period


@pytest.mark.parametrize(
    ("age", "period"),
    [
        (timedelta(hours=2), 60),  # < 3 h: finer periods exist, we never go under 60
        (timedelta(days=15), 60),
        (timedelta(days=15, seconds=1), 300),  # 1-minute data is kept 15 days
        (timedelta(days=63), 300),
        (timedelta(days=63, seconds=1), 3600),  # 5-minute data is kept 63 days
        (timedelta(days=400), 3600),
        (timedelta(days=500), 3600),  # beyond retention: nothing is left, still a valid period
    ],
)
def test_choose_period_respects_retention(age, period):
    start = NOW - age
    assert m.choose_period(start=start, end=start + timedelta(hours=1), now=NOW) == period


def test_choose_period_refuses_naive_or_empty_ranges():
    with pytest.raises(ValueError, match="timezone-aware"):
        m.choose_period(start=datetime(2026, 11, 26), end=NOW, now=NOW)
    with pytest.raises(ValueError, match="after start"):
        m.choose_period(start=NOW, end=NOW, now=NOW)
    with pytest.raises(TypeError):
        m.choose_period(start="2026-11-26", end=NOW, now=NOW)


def test_choose_period_defaults_now_to_the_clock():
    now = datetime.now(UTC)
    assert m.choose_period(start=now - timedelta(days=20), end=now - timedelta(days=19)) == 300
    assert m.choose_period(start=now - timedelta(hours=24), end=now) == 60


def test_align_floors_start_and_ceils_end():
    assert m.align(start=ts(10, 0, 30), end=ts(11, 0, 30), period=60) == (ts(10, 0), ts(11, 1))
    assert m.align(start=ts(10, 7, 30), end=ts(12, 2), period=300) == (ts(10, 5), ts(12, 5))
    assert m.align(start=ts(10, 0), end=ts(11, 0), period=3600) == (ts(10, 0), ts(11, 0))  # already aligned
    assert m.align(start=ts(10, 0), end=ts(10, 0, 0) + timedelta(microseconds=1), period=60) == (ts(10, 0), ts(10, 1))
    assert m.align(start=ts(10, 30), end=ts(11, 0), period=86400) == (ts(0, 0), ts(0, 0, day=27))


def test_align_converts_other_timezones_to_utc():
    paris = timezone(timedelta(hours=1))
    start, end = m.align(
        start=datetime(2026, 11, 26, 11, 0, 30, tzinfo=paris),
        end=datetime(2026, 11, 26, 12, 0, 30, tzinfo=paris),
        period=60,
    )
    assert (start, end) == (ts(10, 0), ts(11, 1))
    assert start.tzinfo == UTC


def test_align_and_points_per_query():
    assert m.points_per_query(start=ts(10, 0, 30), end=ts(11, 0, 30), period=60) == 61
    assert m.points_per_query(start=ts(10, 0), end=ts(11, 0), period=60) == 60
    with pytest.raises(ValueError, match="multiple of 60"):
        m.align(start=ts(10, 0), end=ts(11, 0), period=90)


@pytest.mark.parametrize(
    ("span", "period", "points"),
    [
        (timedelta(hours=1), 60, 60),
        (timedelta(hours=3), 60, 180),
        (timedelta(hours=12), 60, 720),
        (timedelta(hours=24), 60, 1440),
        (timedelta(days=7), 300, 2016),
        (timedelta(days=30), 1800, 1440),
    ],
)
def test_recent_window_keeps_preset_points_dividing_the_call_limit(span, period, points):
    start, end, p = m.recent_window(span=span, now=NOW)
    assert p == period
    assert end - start == span
    assert end >= NOW and end - NOW < timedelta(seconds=period)
    assert m.points_per_query(start=start, end=end, period=p) == points
    assert m.MAX_DATAPOINTS % points == 0


# --------------------------------------------------------------------------- call planning


@pytest.mark.parametrize(
    ("n", "points", "sizes"),
    [
        (0, 60, []),
        (1, 60, [1]),
        (500, 60, [500]),
        (501, 60, [251, 250]),
        (1000, 60, [500, 500]),
        (1001, 180, [334, 334, 333]),  # 500 cap binds (560 would fit the datapoints)
        (140, 720, [140]),
        (141, 720, [71, 70]),
        (1000, 1440, [67] * 10 + [66] * 5),  # 70 a call
        (900, 2016, [50] * 18),
        (1, 100_800, [1]),
        (3, 100_800, [1, 1, 1]),
    ],
)
def test_plan_calls_exact_sizes(n, points, sizes):
    assert m.plan_calls(n, points) == sizes
    assert len(sizes) == m.lower_bound_calls(n, points)


def test_plan_calls_when_points_do_not_divide_the_limit():
    # 1,441 points (an unaligned 24 h): 69 queries a call; whole queries cannot always reach the bound.
    assert m.plan_calls(700, 1441) == [64] * 7 + [63] * 4
    assert m.lower_bound_calls(700, 1441) == 11
    assert len(m.plan_calls(7000, 1441)) == 102
    assert m.lower_bound_calls(7000, 1441) == 101


def test_plan_calls_refuses_impossible_inputs():
    with pytest.raises(ValueError, match="coarser period"):
        m.plan_calls(1, 100_801)
    with pytest.raises(ValueError):
        m.plan_calls(-1, 60)
    with pytest.raises(ValueError):
        m.plan_calls(1, 0)


PRESET_POINTS = [60, 180, 720, 1440, 2016]  # 1 h, 3 h, 12 h, 24 h (and 30 d), 7 d: see recent_window


def check_plan(n: int, points: int) -> list[int]:
    sizes = m.plan_calls(n, points)
    assert sum(sizes) == n
    assert all(1 <= s <= m.MAX_QUERIES for s in sizes)
    assert all(s * points <= m.MAX_DATAPOINTS for s in sizes)
    assert max(sizes) - min(sizes) <= 1
    return sizes


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 20_000), points=st.sampled_from(PRESET_POINTS))
def test_plan_calls_reaches_the_lower_bound_for_presets(n, points):
    sizes = check_plan(n, points)
    assert len(sizes) == max(math.ceil(n / 500), math.ceil(n * points / 100_800))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 20_000), points=st.integers(1, 100_800))
def test_plan_calls_any_points(n, points):
    sizes = check_plan(n, points)
    per_call = min(500, 100_800 // points)
    assert len(sizes) == math.ceil(n / per_call)  # the fewest calls with whole queries
    bound = m.lower_bound_calls(n, points)
    assert len(sizes) >= bound
    if 100_800 % points == 0 or per_call == 500:
        assert len(sizes) == bound


# --------------------------------------------------------------------------- concurrency


def test_run_concurrently_uses_at_most_eight_threads_and_keeps_order():
    active, peak, lock = 0, 0, threading.Lock()

    def work(x: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return x * 2

    assert _fetch.run_concurrently(work, list(range(40))) == [x * 2 for x in range(40)]
    assert 2 <= peak <= 8


def test_run_concurrently_raises_the_first_failure():
    def work(x: int) -> int:
        if x == 3:
            raise errors.Throttled("throttled")
        return x

    with pytest.raises(errors.Throttled):
        _fetch.run_concurrently(work, list(range(20)))


# --------------------------------------------------------------------------- request shapes (Stubber)


def test_lambda_metrics_request_shape_paging_and_frame(plain, cw):
    optional = optional_frame([("worker", "IteratorAge")])
    queries = [mdq(f"q{i}", metric, stat, "api") for i, (_, metric, stat) in enumerate(CORE)]
    queries += [mdq(f"q{9 + i}", metric, stat, "worker") for i, (_, metric, stat) in enumerate(CORE)]
    queries += [mdq("q18", "IteratorAge", "Maximum", "worker")]
    expected = {"MetricDataQueries": queries, "StartTime": ts(10, 0), "EndTime": ts(11, 1)}
    page1 = {
        "MetricDataResults": [
            {
                "Id": "q0",
                "Label": "Invocations",
                "Timestamps": [ts(10, 1), ts(10, 0)],
                "Values": [7.0, 5.0],
                "StatusCode": "PartialData",
            },
            {"Id": "q1", "Timestamps": [ts(10, 0)], "Values": [0.0], "StatusCode": "Complete"},
            {"Id": "q4", "Timestamps": [ts(10, 0)], "Values": [12.5], "StatusCode": "Complete"},
        ],
        "NextToken": "page-2",
    }
    page2 = {
        "MetricDataResults": [
            {"Id": "q0", "Timestamps": [ts(10, 2)], "Values": [1.0], "StatusCode": "Complete"},
            {"Id": "q9", "Timestamps": [ts(10, 2)], "Values": [3.0], "StatusCode": "Complete"},
            {"Id": "q18", "Timestamps": [ts(10, 2), ts(10, 3)], "Values": [1500.0, 0.0], "StatusCode": "Complete"},
        ],
    }
    cw.add_response("get_metric_data", page1, expected)
    cw.add_response("get_metric_data", {**page2}, {**expected, "NextToken": "page-2"})

    frame = m.lambda_metrics(
        account=plain,
        region=REGION,
        functions=["worker", "api"],
        start=ts(10, 0, 30),
        end=ts(11, 0, 30),
        period=60,
        optional=optional,
    )

    assert list(frame.columns) == LAMBDA_COLUMNS
    assert {c: str(t) for c, t in frame.dtypes.items()} == m.LAMBDA_SCHEMA
    assert m.LAMBDA_SCHEMA["timestamp"] == UTC_TS
    assert frame["function"].tolist() == ["api", "api", "api", "worker", "worker"]
    assert frame["timestamp"].tolist() == [
        pd.Timestamp(t) for t in (ts(10, 0), ts(10, 1), ts(10, 2), ts(10, 2), ts(10, 3))
    ]
    assert (frame["account"] == "prod").all() and (frame["region"] == REGION).all()
    assert (frame["period_s"] == 60).all()
    assert frame["invocations"].tolist()[:3] == [5.0, 7.0, 1.0]
    assert frame["errors"].iloc[0] == 0.0  # a real zero stays zero …
    assert np.isnan(frame["errors"].iloc[1])  # … and a missing datapoint stays NaN
    assert frame["duration_p50_ms"].iloc[0] == 12.5
    assert frame["invocations"].iloc[3] == 3.0
    assert frame["iterator_age_max_ms"].tolist()[3:] == [1500.0, 0.0]
    assert frame["iterator_age_max_ms"].iloc[:3].isna().all()
    assert frame["pc_utilization_max"].isna().all()
    assert frame.attrs["period_s"] == 60
    assert (frame.attrs["start"], frame.attrs["end"]) == (ts(10, 0), ts(11, 1))
    assert frame.attrs["incomplete"] == []
    snap = METER.snapshot()
    assert snap.count("GetMetricData") == 2  # both pages read
    assert snap.metrics_requested == 38
    assert snap.datapoints == 8


def test_lambda_metrics_splits_queries_at_500_per_call(plain, cw, sequential):
    functions = [f"fn-{i:03d}" for i in range(56)]  # 504 queries of 60 points: two calls of 252
    sent: list[dict] = []
    cw.client.meta.events.register(
        "before-parameter-build.cloudwatch.GetMetricData", lambda params, **_: sent.append(params)
    )
    queries = [
        mdq(f"q{9 * k + i}", metric, stat, fn)
        for k, fn in enumerate(functions)
        for i, (_, metric, stat) in enumerate(CORE)
    ]
    for chunk in (queries[:252], queries[252:]):
        answer = {
            "MetricDataResults": [
                {"Id": chunk[0]["Id"], "Timestamps": [ts(9, 30)], "Values": [2.0], "StatusCode": "Complete"}
            ]
        }
        cw.add_response(
            "get_metric_data", answer, {"MetricDataQueries": chunk, "StartTime": ts(9, 7), "EndTime": ts(10, 7)}
        )

    frame = m.lambda_metrics(
        account=plain,
        region=REGION,
        functions=functions,
        start=ts(9, 7),
        end=ts(10, 7),
        period=60,
        optional=optional_frame([]),
    )

    assert [len(p["MetricDataQueries"]) for p in sent] == [252, 252]
    ids = [q["Id"] for p in sent for q in p["MetricDataQueries"]]
    assert len(set(ids)) == 504 and all(ID_RE.match(i) for i in ids)
    assert frame["function"].tolist() == ["fn-000", "fn-028"]
    assert frame["invocations"].tolist() == [2.0, 2.0]


def test_lambda_metrics_default_period_and_no_functions(plain, cw):
    now = datetime.now(UTC)
    empty = m.lambda_metrics(account=plain, region=REGION, functions=[], start=now - timedelta(days=7), end=now)
    assert list(empty.columns) == LAMBDA_COLUMNS and len(empty) == 0
    assert {c: str(t) for c, t in empty.dtypes.items()} == m.LAMBDA_SCHEMA
    assert empty.attrs["period_s"] == 300
    assert METER.snapshot().total_calls == 0  # nothing asked, not even discovery


def test_lambda_metrics_marks_incomplete_series(plain, cw):
    answer = {
        "MetricDataResults": [
            {"Id": "q0", "Timestamps": [ts(10, 0)], "Values": [4.0], "StatusCode": "Complete"},
            {
                "Id": "q3",
                "Timestamps": [],
                "Values": [],
                "StatusCode": "InternalError",
                "Messages": [{"Code": "InternalError", "Value": "try again"}],
            },
        ]
    }
    cw.add_response("get_metric_data", answer)
    frame = m.lambda_metrics(
        account=plain,
        region=REGION,
        functions=["api"],
        start=ts(10, 0),
        end=ts(10, 5),
        period=60,
        optional=optional_frame([]),
    )
    assert frame["invocations"].tolist() == [4.0]
    assert np.isnan(frame["duration_avg_ms"].iloc[0])
    assert frame.attrs["incomplete"] == [("api", "duration_avg_ms")]


def test_access_denied_names_the_iam_action(plain, cw):
    cw.add_client_error(
        "get_metric_data",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123456789012:user/x is not authorized to perform: cloudwatch:GetMetricData",
        http_status_code=400,
    )
    with pytest.raises(errors.AccessDenied) as info:
        m.lambda_metrics(
            account=plain,
            region=REGION,
            functions=["api"],
            start=ts(10, 0),
            end=ts(11, 0),
            period=60,
            optional=optional_frame([]),
        )
    assert info.value.iam_action == "cloudwatch:GetMetricData"
    assert info.value.account == "prod" and info.value.region == REGION
    assert info.value.__cause__ is not None


def test_throttling_past_retries_is_a_throttled_error(plain, cw):
    cw.add_client_error("list_metrics", service_error_code="ThrottlingException", http_status_code=400)
    with pytest.raises(errors.Throttled) as info:
        m.discover_optional(account=plain, region=REGION)
    assert info.value.operation == "ListMetrics"


def test_discover_optional_pages_and_dimension_sets(plain, cw):
    def rec(metric: str, **dims: str) -> dict:
        return {
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        }

    iterator = {"Namespace": "AWS/Lambda", "MetricName": "IteratorAge"}
    cw.add_response(
        "list_metrics",
        {
            "Metrics": [
                rec("IteratorAge", FunctionName="stream-b"),
                rec("IteratorAge", FunctionName="stream-b", Resource="stream-b:live"),
            ],
            "NextToken": "n1",
        },
        iterator,
    )
    cw.add_response(
        "list_metrics", {"Metrics": [rec("IteratorAge", FunctionName="stream-a")]}, {**iterator, "NextToken": "n1"}
    )
    cw.add_response(
        "list_metrics",
        {"Metrics": [rec("AsyncEventAge", FunctionName="thumbs")]},
        {"Namespace": "AWS/Lambda", "MetricName": "AsyncEventAge"},
    )
    cw.add_response(
        "list_metrics",
        {
            "Metrics": [
                rec("ProvisionedConcurrencyUtilization", FunctionName="checkout", Resource="checkout:live"),
                rec("ProvisionedConcurrencyUtilization", FunctionName="checkout", Resource="checkout:2"),
                rec("ProvisionedConcurrencyUtilization", FunctionName="stream-a", ExecutedVersion="3"),
            ]
        },
        {"Namespace": "AWS/Lambda", "MetricName": "ProvisionedConcurrencyUtilization"},
    )
    found = m.discover_optional(account=plain, region=REGION)
    assert list(found.columns) == ["function", "metric"]
    assert {c: str(t) for c, t in found.dtypes.items()} == {"function": "string", "metric": "string"}
    assert list(found.itertuples(index=False, name=None)) == [
        ("checkout", "ProvisionedConcurrencyUtilization"),
        ("stream-a", "IteratorAge"),
        ("stream-b", "IteratorAge"),
        ("thumbs", "AsyncEventAge"),
    ]
    assert found.attrs["dimensions"][("checkout", "ProvisionedConcurrencyUtilization")] == (
        (("FunctionName", "checkout"), ("Resource", "checkout:2")),
        (("FunctionName", "checkout"), ("Resource", "checkout:live")),
    )
    assert found.attrs["dimensions"][("stream-b", "IteratorAge")] == ((("FunctionName", "stream-b"),),)
    assert METER.snapshot().count("ListMetrics") == 4


def test_per_alias_series_are_combined_by_their_maximum(plain, cw):
    optional = optional_frame([("checkout", "ProvisionedConcurrencyUtilization")])
    optional.attrs["dimensions"] = {
        ("checkout", "ProvisionedConcurrencyUtilization"): (
            (("FunctionName", "checkout"), ("Resource", "checkout:2")),
            (("FunctionName", "checkout"), ("Resource", "checkout:live")),
        )
    }
    queries = [mdq(f"q{i}", metric, stat, "checkout") for i, (_, metric, stat) in enumerate(CORE)]
    for i, alias in ((9, "checkout:2"), (10, "checkout:live")):
        queries.append(
            mdq(
                f"q{i}",
                "ProvisionedConcurrencyUtilization",
                "Maximum",
                "checkout",
                dims=[{"Name": "FunctionName", "Value": "checkout"}, {"Name": "Resource", "Value": alias}],
            )
        )
    answer = {
        "MetricDataResults": [
            {"Id": "q9", "Timestamps": [ts(10, 0), ts(10, 1)], "Values": [0.25, 0.5], "StatusCode": "Complete"},
            {"Id": "q10", "Timestamps": [ts(10, 0)], "Values": [0.75], "StatusCode": "Complete"},
        ]
    }
    cw.add_response(
        "get_metric_data", answer, {"MetricDataQueries": queries, "StartTime": ts(10, 0), "EndTime": ts(10, 5)}
    )
    frame = m.lambda_metrics(
        account=plain,
        region=REGION,
        functions=["checkout"],
        start=ts(10, 0),
        end=ts(10, 5),
        period=60,
        optional=optional,
    )
    assert frame["pc_utilization_max"].tolist() == [0.75, 0.5]


def test_lambda_metrics_discovers_optional_metrics_when_not_given(plain, cw):
    for metric in m.OPTIONAL_METRICS:
        metrics = [
            {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": [{"Name": "FunctionName", "Value": "api"}]}
        ]
        cw.add_response(
            "list_metrics",
            {"Metrics": metrics if metric == "AsyncEventAge" else []},
            {"Namespace": "AWS/Lambda", "MetricName": metric},
        )
    queries = [mdq(f"q{i}", metric, stat, "api") for i, (_, metric, stat) in enumerate(CORE)]
    queries.append(mdq("q9", "AsyncEventAge", "Maximum", "api"))
    cw.add_response(
        "get_metric_data",
        {"MetricDataResults": []},
        {"MetricDataQueries": queries, "StartTime": ts(10, 0), "EndTime": ts(10, 5)},
    )
    frame = m.lambda_metrics(account=plain, region=REGION, functions=["api"], start=ts(10, 0), end=ts(10, 5), period=60)
    assert len(frame) == 0 and list(frame.columns) == LAMBDA_COLUMNS


def test_insights_functions_and_metrics(plain, cw):
    listing = {
        "Metrics": [
            {
                "Namespace": "LambdaInsights",
                "MetricName": "used_memory_max",
                "Dimensions": [{"Name": "function_name", "Value": "api"}],
            },
            {
                "Namespace": "LambdaInsights",
                "MetricName": "used_memory_max",
                "Dimensions": [{"Name": "function_name", "Value": "api"}, {"Name": "version", "Value": "$LATEST"}],
            },
            {
                "Namespace": "LambdaInsights",
                "MetricName": "used_memory_max",
                "Dimensions": [{"Name": "function_name", "Value": "gone"}],
            },
        ]
    }
    cw.add_response("list_metrics", listing, {"Namespace": "LambdaInsights", "MetricName": "used_memory_max"})
    stats = [
        ("used_memory_max", "Maximum"),
        ("memory_utilization", "Maximum"),
        ("total_memory", "Maximum"),
        ("init_duration", "Maximum"),
        ("init_duration", "SampleCount"),
        ("init_duration", "Average"),
        ("cpu_total_time", "Sum"),
    ]
    queries = [
        mdq(f"q{i}", metric, stat, "api", period=300, ns="LambdaInsights") for i, (metric, stat) in enumerate(stats)
    ]
    answer = {
        "MetricDataResults": [
            {"Id": f"q{i}", "Timestamps": [ts(10, 5)], "Values": [v], "StatusCode": "Complete"}
            for i, v in enumerate([90.0, 70.3, 128.0, 812.5, 2.0, 700.0, 1234.0])
            if i not in (3, 4, 5)  # no cold start in that period: no init_duration datapoint
        ]
    }
    cw.add_response(
        "get_metric_data", answer, {"MetricDataQueries": queries, "StartTime": ts(10, 0), "EndTime": ts(11, 0)}
    )

    frame = m.insights_metrics(
        account=plain, region=REGION, functions=["api", "worker"], start=ts(10, 0), end=ts(11, 0), period=300
    )

    assert list(frame.columns) == [
        "account",
        "region",
        "function",
        "timestamp",
        "period_s",
        "used_memory_max_mb",
        "memory_utilization_max_pct",
        "total_memory_mb",
        "init_duration_max_ms",
        "init_duration_count",
        "init_duration_avg_ms",
        "cpu_total_time_sum_ms",
    ]
    assert {c: str(t) for c, t in frame.dtypes.items()} == m.INSIGHTS_SCHEMA
    row = frame.iloc[0]
    assert (row["function"], row["timestamp"], row["period_s"]) == ("api", pd.Timestamp(ts(10, 5)), 300)
    assert [
        row["used_memory_max_mb"],
        row["memory_utilization_max_pct"],
        row["total_memory_mb"],
        row["cpu_total_time_sum_ms"],
    ] == [90.0, 70.3, 128.0, 1234.0]
    assert np.isnan(row["init_duration_max_ms"]) and np.isnan(row["init_duration_count"]) and np.isnan(row["init_duration_avg_ms"])
    assert METER.snapshot().count("ListMetrics") == 1  # "worker" has no Insights: not queried


def test_insights_metrics_without_insights_functions_makes_no_data_call(plain, cw):
    frame = m.insights_metrics(
        account=plain, region=REGION, functions=["api"], start=ts(10, 0), end=ts(11, 0), period=60, available=set()
    )
    assert len(frame) == 0 and METER.snapshot().total_calls == 0


def test_naive_request_shapes_and_range_split(plain, cw, sequential):
    # 25 h at 60 s = 1,500 points: each series in two chunks (1,440 + 60); Duration in two requests.
    start, split, end = ts(9, 0, day=25), ts(9, 0, day=25) + timedelta(minutes=1440), ts(10, 0)
    dims = [{"Name": "FunctionName", "Value": "api"}]
    requests = [
        ("Invocations", "Statistics", ["Sum"]),
        ("Errors", "Statistics", ["Sum"]),
        ("Throttles", "Statistics", ["Sum"]),
        ("Duration", "Statistics", ["Average", "Maximum"]),
        ("Duration", "ExtendedStatistics", ["p50", "p90", "p99"]),
        ("ConcurrentExecutions", "Statistics", ["Maximum"]),
    ]
    answers = {
        ("Invocations", start): [{"Timestamp": ts(9, 0, day=25), "Sum": 10.0, "Unit": "Count"}],
        ("Invocations", split): [{"Timestamp": ts(9, 30), "Sum": 4.0, "Unit": "Count"}],
        ("Duration", "Statistics", start): [{"Timestamp": ts(9, 0, day=25), "Average": 20.0, "Maximum": 90.0}],
        ("Duration", "ExtendedStatistics", start): [
            {"Timestamp": ts(9, 0, day=25), "ExtendedStatistics": {"p50": 18.0, "p90": 40.0, "p99": 85.0}}
        ],
    }
    for metric, kind, stats in requests:
        for lo, hi in ((start, split), (split, end)):
            params = {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": dims,
                "StartTime": lo,
                "EndTime": hi,
                "Period": 60,
                kind: stats,
            }
            points = answers.get((metric, kind, lo), answers.get((metric, lo), []))
            cw.add_response("get_metric_statistics", {"Label": metric, "Datapoints": points}, params)

    frame = m.naive_lambda_metrics(
        account=plain, region=REGION, functions=["api"], start=start, end=end, period=60, optional=optional_frame([])
    )

    assert METER.snapshot().count("GetMetricStatistics") == 12 == m.naive_calls(1, 1500)
    assert frame["timestamp"].tolist() == [pd.Timestamp(ts(9, 0, day=25)), pd.Timestamp(ts(9, 30))]
    first = frame.iloc[0]
    assert [
        first[c]
        for c in (
            "invocations",
            "duration_avg_ms",
            "duration_p50_ms",
            "duration_p90_ms",
            "duration_p99_ms",
            "duration_max_ms",
        )
    ] == [10.0, 20.0, 18.0, 40.0, 85.0, 90.0]
    assert frame["invocations"].iloc[1] == 4.0 and np.isnan(frame["errors"]).all()
    assert list(frame.columns) == LAMBDA_COLUMNS


def test_inputs_are_validated(plain):
    with pytest.raises(TypeError, match="sequence of function names"):
        m.lambda_metrics(account=plain, region=REGION, functions="api", start=ts(10, 0), end=ts(11, 0))
    with pytest.raises(ValueError, match="multiple of 60"):
        m.lambda_metrics(account=plain, region=REGION, functions=["api"], start=ts(10, 0), end=ts(11, 0), period=30)
    with pytest.raises(ValueError, match="discover_optional"):
        m.lambda_metrics(
            account=plain,
            region=REGION,
            functions=["api"],
            start=ts(10, 0),
            end=ts(11, 0),
            period=60,
            optional=pd.DataFrame({"name": ["api"]}),
        )


# --------------------------------------------------------------------------- the simulated account

DEMO_REGIONS = ("us-east-1", "eu-west-1")


@pytest.fixture
def sim_now():
    """The simulated account's clock, fixed to the current minute for the test."""
    sim = pytest.importorskip("aws.sim")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sim.set_clock(lambda: now)
    yield now
    sim.set_clock(None)


def demo(n: int = 120, **faults) -> Account:
    return Account(name="demo", demo=True, regions=DEMO_REGIONS, sim=session.SimSpec(functions=n, **faults))


def truth_functions(account: Account, region: str) -> pd.DataFrame:
    from aws.sim import model_for

    fr = model_for(account).functions
    return fr[fr["region"] == region]


def record_requests(account: Account, region: str, operation: str) -> list[dict]:
    """Parameters of every ``operation`` request of the account's CloudWatch client in ``region``."""
    sent: list[dict] = []
    client = session.client(account, "cloudwatch", region)
    client.meta.events.register(
        f"before-parameter-build.cloudwatch.{operation}", lambda params, **_: sent.append(params)
    )
    return sent


@pytest.mark.parametrize("span", [timedelta(hours=24), timedelta(days=7)], ids=["24h", "7d"])
@pytest.mark.aws
def test_sim_refresh_makes_the_fewest_calls_within_limits(sim_now, span):
    account = demo(120)
    start, end, period = m.recent_window(span=span, now=sim_now)
    points = m.points_per_query(start=start, end=end, period=period)
    per_region: list[int] = []
    n_functions = 0
    for region in DEMO_REGIONS:
        functions = truth_functions(account, region)["function"].tolist()
        n_functions += len(functions)
        optional = m.discover_optional(account=account, region=region)
        sent = record_requests(account, region, "GetMetricData")
        before = METER.snapshot()
        frame = m.lambda_metrics(
            account=account, region=region, functions=functions, start=start, end=end, period=period, optional=optional
        )
        used = METER.snapshot() - before
        n_queries = len(m.lambda_queries(sorted(functions), optional))
        per_region.append(n_queries)
        assert used.count("GetMetricData") == len(sent) == m.lower_bound_calls(n_queries, points)
        assert sum(len(p["MetricDataQueries"]) for p in sent) == n_queries
        for params in sent:
            assert len(params["MetricDataQueries"]) <= 500
            assert len(params["MetricDataQueries"]) * points <= 100_800
            assert (params["StartTime"], params["EndTime"]) == (start, end)
            assert "NextToken" not in params  # no call had to page
        assert set(frame["function"]) <= set(functions) and len(frame) > 0
        assert frame.attrs["period_s"] == period and frame.attrs["incomplete"] == []
        assert frame.attrs["warnings"] == [] and frame.attrs["unknown_columns"] == ()  # nothing refused …
        assert frame["duration_p99_ms"].notna().any()  # … so the percentiles came in the same calls
    assert n_functions == 120 and max(per_region) > 500  # more than one call's worth of queries


def compare_with_truth(frame: pd.DataFrame, truth: pd.DataFrame, columns: list[str]) -> None:
    got = frame.set_index("timestamp")[columns]
    want = truth.set_index("timestamp")[columns]
    want.index = want.index.as_unit("ns")
    pd.testing.assert_frame_equal(got, want, check_names=False, rtol=1e-9, check_index_type=False)


@pytest.mark.aws
def test_sim_values_equal_the_model(sim_now):
    from aws.sim import model_for

    account = demo(120)
    region = "us-east-1"
    fr = truth_functions(account, region)
    picks = [
        fr[fr["stream"]]["function"].iloc[0],  # IteratorAge
        fr[fr["async"]]["function"].iloc[0],  # AsyncEventAge
        fr[fr["provisioned"].fillna(0) > 0]["function"].iloc[0],  # ProvisionedConcurrencyUtilization
        fr[fr["job"].str.contains("api", case=False)]["function"].iloc[0],
    ]
    start, end, period = m.recent_window(span=timedelta(hours=12), now=sim_now)
    frame = m.lambda_metrics(account=account, region=region, functions=picks, start=start, end=end, period=period)
    columns = [c for c in LAMBDA_COLUMNS[5:]]
    model = model_for(account)
    for fn in picks:
        truth = model.series(fn, start=start, end=end, period=period, region=region)
        assert len(truth) > 0
        compare_with_truth(frame[frame["function"] == fn], truth, columns)
    stream, async_, pc, _ = (frame[frame["function"] == f] for f in picks)
    assert stream["iterator_age_max_ms"].notna().any() and stream["async_event_age_max_ms"].isna().all()
    assert async_["async_event_age_max_ms"].notna().any()
    assert pc["pc_utilization_max"].notna().any()


@pytest.mark.aws
def test_sim_discovery_finds_exactly_the_models_functions(sim_now):
    account = demo(120)
    for region in DEMO_REGIONS:
        fr = truth_functions(account, region)
        active = fr[(fr["pattern"] != "idle") & (fr["rate_per_min"] > 0)]
        want = sorted(
            [(f, "IteratorAge") for f in active[active["stream"]]["function"]]
            + [(f, "AsyncEventAge") for f in active[active["async"]]["function"]]
            + [
                (f, "ProvisionedConcurrencyUtilization")
                for f in active[active["provisioned"].fillna(0) > 0]["function"]
            ]
        )
        found = m.discover_optional(account=account, region=region)
        assert list(found.itertuples(index=False, name=None)) == want
        assert {metric for _, metric in want} == set(m.OPTIONAL_METRICS)  # every kind is exercised
        assert m.insights_functions(account=account, region=region) == set(active[active["insights"]]["function"])


@pytest.mark.aws
def test_sim_insights_metrics_equal_the_model(sim_now):
    from aws.sim import model_for

    account = demo(120)
    region = "us-east-1"
    model = model_for(account)
    start, end, period = m.recent_window(span=timedelta(hours=3), now=sim_now)
    functions = truth_functions(account, region)["function"].tolist()
    frame = m.insights_metrics(account=account, region=region, functions=functions, start=start, end=end, period=period)
    with_insights = m.insights_functions(account=account, region=region)
    assert set(frame["function"]) <= with_insights and len(set(frame["function"])) > 5
    fn = sorted(set(frame["function"]))[0]
    rows = frame[frame["function"] == fn].set_index("timestamp")
    for column, spec in zip(list(m.INSIGHTS_SCHEMA)[5:], m.INSIGHTS_SPECS, strict=True):
        truth = model.metric(
            fn, spec.metric, spec.stat, start=start, end=end, period=period, namespace="LambdaInsights", region=region
        )
        got = rows[column].dropna()
        assert got.index.tolist() == truth.index.tolist(), column
        np.testing.assert_allclose(got.to_numpy(), truth.to_numpy(), rtol=1e-9)


@pytest.mark.aws
def test_sim_naive_gives_the_same_numbers_with_many_more_calls(sim_now):
    account = demo(120)
    region = "eu-west-1"
    functions = truth_functions(account, region)["function"].tolist()[:8]
    optional = m.discover_optional(account=account, region=region)
    start, end = sim_now - timedelta(hours=26), sim_now  # 1,560 points at 60 s: every series in two requests
    sent = record_requests(account, region, "GetMetricStatistics")
    before = METER.snapshot()
    fast = m.lambda_metrics(
        account=account, region=region, functions=functions, start=start, end=end, period=60, optional=optional
    )
    middle = METER.snapshot()
    naive = m.naive_lambda_metrics(
        account=account, region=region, functions=functions, start=start, end=end, period=60, optional=optional
    )
    after = METER.snapshot()
    pd.testing.assert_frame_equal(naive, fast, rtol=1e-9)
    assert len(fast) > 100
    n_optional = sum(
        1
        for q in m.lambda_queries(sorted(functions), optional)
        if q.column.endswith("age_max_ms") or q.column == "pc_utilization_max"
    )
    n_queries = len(m.lambda_queries(sorted(functions), optional))
    assert (middle - before).count("GetMetricData") == m.lower_bound_calls(n_queries, 1560) == 2
    assert (after - middle).count("GetMetricStatistics") == m.naive_calls(
        len(functions), 1560, optional_series=n_optional
    )
    assert (after - middle).count("GetMetricStatistics") >= 96
    for params in sent:
        assert (params["EndTime"] - params["StartTime"]) / timedelta(seconds=60) <= 1440
        assert ("Statistics" in params) != ("ExtendedStatistics" in params)


@pytest.mark.aws
def test_sim_access_denied(sim_now):
    account = demo(48, deny=("cloudwatch:GetMetricData",))
    start, end, period = m.recent_window(span=timedelta(hours=1), now=sim_now)
    with pytest.raises(errors.AccessDenied) as info:
        m.lambda_metrics(
            account=account,
            region="us-east-1",
            functions=["anything"],
            start=start,
            end=end,
            period=period,
            optional=optional_frame([]),
        )
    assert info.value.iam_action == "cloudwatch:GetMetricData"
    assert info.value.region == "us-east-1" and info.value.account == "demo"


@pytest.mark.aws
def test_sim_throttling_still_gives_complete_data(sim_now):
    calm, stormy = demo(120), demo(120, throttle_rate=0.3)
    region = "us-east-1"
    functions = truth_functions(calm, region)["function"].tolist()
    start, end, period = m.recent_window(span=timedelta(hours=3), now=sim_now)
    want = m.lambda_metrics(account=calm, region=region, functions=functions, start=start, end=end, period=period)
    METER.reset()
    got = m.lambda_metrics(account=stormy, region=region, functions=functions, start=start, end=end, period=period)
    snap = METER.snapshot()
    pd.testing.assert_frame_equal(got, want)
    attempts = sum(snap.attempts.values())
    assert attempts > snap.total_calls  # throttled attempts were retried by botocore


@pytest.mark.aws
def test_range_statistics_is_one_datapoint_over_exactly_the_range():
    from aws.sim import model_for, set_clock

    now = datetime(2026, 11, 26, 15, 7, tzinfo=UTC)
    set_clock(lambda: now)
    try:
        acct = Account(name="demo", demo=True, regions=("us-east-1",), sim=session.SimSpec(functions=20))
        start, end = now - timedelta(hours=24), now
        frame = m.range_statistics(account=acct, region="us-east-1", functions=["payments-checkout-api"], start=start, end=end, columns=("invocations", "errors"))
        truth = model_for(acct).series("payments-checkout-api", start=start.replace(second=0), end=end, period=60)
        row = frame.iloc[0]
        assert row["invocations"] == truth["invocations"].sum()
        assert row["errors"] == truth["errors"].sum()
    finally:
        set_clock(None)


# --------------------------------------------------------------------------- percentiles refused

PERCENTILES = ("duration_p50_ms", "duration_p90_ms", "duration_p99_ms")
PLAIN_CORE = [(c, metric, stat) for c, metric, stat in CORE if not re.fullmatch(r"p\d+", stat)]


def _ask_api(plain, **kw) -> pd.DataFrame:
    return m.lambda_metrics(
        account=plain, region=REGION, functions=["api"], start=ts(10, 0), end=ts(10, 5), period=60, optional=optional_frame([]), **kw
    )


def test_a_refused_percentile_call_is_asked_again_without_the_percentiles(plain, cw):
    """Stubber: the mixed call is refused (InternalFailure), the six other queries are asked alone, once."""
    every = [mdq(f"q{i}", metric, stat, "api") for i, (_, metric, stat) in enumerate(CORE)]
    plain_queries = [q for q in every if not re.fullmatch(r"p\d+", q["MetricStat"]["Stat"])]
    window = {"StartTime": ts(10, 0), "EndTime": ts(10, 5)}
    cw.add_client_error(
        "get_metric_data",
        service_error_code="InternalFailure",
        service_message="The request processing has failed\nbecause of an unknown error.",
        http_status_code=500,
        expected_params={"MetricDataQueries": every, **window},
    )
    answer = {
        "MetricDataResults": [
            {"Id": "q0", "Timestamps": [ts(10, 1)], "Values": [12.0], "StatusCode": "Complete"},
            {"Id": "q1", "Timestamps": [ts(10, 1)], "Values": [2.0], "StatusCode": "Complete"},
            {"Id": "q7", "Timestamps": [ts(10, 1)], "Values": [830.0], "StatusCode": "Complete"},
        ]
    }
    cw.add_response("get_metric_data", answer, {"MetricDataQueries": plain_queries, **window})

    frame = _ask_api(plain)

    assert len(plain_queries) == len(PLAIN_CORE) == 6
    assert frame[["invocations", "errors", "duration_max_ms"]].values.tolist() == [[12.0, 2.0, 830.0]]
    assert frame[list(PERCENTILES)].isna().all().all()
    assert frame.attrs["unknown_columns"] == PERCENTILES
    assert frame.attrs["warnings"] == [
        "CloudWatch in prod/us-east-1 refused the Duration percentiles (p50, p90, p99): InternalFailure: The request "
        "processing has failed because of an unknown error.; they are shown as unknown."
    ]
    assert frame.attrs["incomplete"] == []  # refused is said once, as unknown columns, not per series
    assert METER.snapshot().count("GetMetricData") == 2


@pytest.mark.parametrize(
    ("code", "status", "raised"),
    [
        ("AccessDeniedException", 400, errors.AccessDenied),
        ("ThrottlingException", 400, errors.Throttled),
        ("UnrecognizedClientException", 400, errors.NoCredentials),
    ],
)
def test_denial_throttling_and_credentials_fail_the_part_without_asking_again(plain, cw, code, status, raised):
    cw.add_client_error("get_metric_data", service_error_code=code, http_status_code=status)
    with pytest.raises(raised):
        _ask_api(plain)
    assert METER.snapshot().count("GetMetricData") == 1  # a second call would find no stubbed answer


def test_a_refusal_the_counts_share_fails_the_part_with_the_first_error(plain, cw):
    cw.add_client_error("get_metric_data", service_error_code="InternalFailure", service_message="first", http_status_code=500)
    cw.add_client_error("get_metric_data", service_error_code="InternalFailure", service_message="second", http_status_code=500)
    with pytest.raises(errors.InvalidRequest, match="InternalFailure: first$") as info:
        _ask_api(plain)
    assert info.value.__cause__ is not None
    assert METER.snapshot().count("GetMetricData") == 2


def test_a_call_of_percentiles_only_has_nothing_to_save(plain, cw):
    cw.add_client_error("get_metric_data", service_error_code="InvalidParameterValue", http_status_code=400)
    with pytest.raises(errors.InvalidRequest):
        m.range_statistics(account=plain, region=REGION, functions=["api"], start=ts(9, 0), end=ts(10, 0))
    assert METER.snapshot().count("GetMetricData") == 1


def _put_moto_metrics(account: Account, t0: datetime) -> None:
    """Two functions' Invocations, Errors and Duration at t0 and t0 + 1 min, through moto's PutMetricData."""
    client = session.client(account, "cloudwatch", REGION)
    points = {  # function → [(minute, invocations, errors, durations)]
        "api": [(0, 3.0, 1.0, [10.0, 20.0, 30.0]), (1, 4.0, 0.0, [40.0])],
        "worker": [(0, 5.0, 2.0, [7.0])],
    }
    data = []
    for fn, rows in points.items():
        dims = [{"Name": "FunctionName", "Value": fn}]
        for minute, inv, err, durations in rows:
            at = t0 + timedelta(minutes=minute)
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Value": inv, "Timestamp": at})
            data.append({"MetricName": "Errors", "Dimensions": dims, "Value": err, "Timestamp": at})
            data += [{"MetricName": "Duration", "Dimensions": dims, "Value": d, "Timestamp": at} for d in durations]
    client.put_metric_data(Namespace="AWS/Lambda", MetricData=data)


MOTO_WARNING = (
    "CloudWatch in moto/us-east-1 refused the Duration percentiles (p50, p90, p99): HTTP 500 text/html, "
    "not an AWS response; they are shown as unknown."
)


def test_moto_refuses_percentiles_and_the_counts_survive(moto_account):
    """moto 5.2.5 answers any percentile with its HTML 500 page: the counts come from the call asked again."""
    t0 = (datetime.now(UTC) - timedelta(minutes=30)).replace(second=0, microsecond=0)
    _put_moto_metrics(moto_account, t0)
    METER.reset()
    frame = m.lambda_metrics(
        account=moto_account,
        region=REGION,
        functions=["api", "worker"],
        start=t0 - timedelta(minutes=5),
        end=t0 + timedelta(minutes=5),
        period=60,
        optional=optional_frame([]),
    )
    got = frame.set_index(["function", "timestamp"])
    t = [pd.Timestamp(t0), pd.Timestamp(t0 + timedelta(minutes=1))]
    assert got.index.tolist() == [("api", t[0]), ("api", t[1]), ("worker", t[0])]
    assert got["invocations"].tolist() == [3.0, 4.0, 5.0]
    assert got["errors"].tolist() == [1.0, 0.0, 2.0]
    assert got["duration_avg_ms"].tolist() == [20.0, 40.0, 7.0]
    assert got["duration_max_ms"].tolist() == [30.0, 40.0, 7.0]
    assert frame[list(PERCENTILES)].isna().all().all()
    assert frame.attrs["unknown_columns"] == PERCENTILES
    assert frame.attrs["warnings"] == [MOTO_WARNING]
    assert METER.snapshot().count("GetMetricData") == 2  # the refused call and the one without percentiles

    ranged = m.range_statistics(
        account=moto_account,
        region=REGION,
        functions=["api", "worker"],
        start=t0 - timedelta(minutes=5),
        end=t0 + timedelta(minutes=5),
        columns=tuple(m.RANGE_COLUMNS),
    )
    assert ranged["function"].tolist() == ["api", "worker"]
    assert ranged["invocations"].tolist() == [7.0, 5.0]
    assert ranged["errors"].tolist() == [1.0, 2.0]
    assert ranged["duration_max_ms"].tolist() == [40.0, 7.0]
    assert ranged[list(PERCENTILES)].isna().all().all()
    assert ranged.attrs["unknown_columns"] == PERCENTILES
    assert ranged.attrs["warnings"] == [MOTO_WARNING]
