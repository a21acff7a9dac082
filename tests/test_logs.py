"""aws.logs: the REPORT parser, the Logs Insights and FilterLogEvents collectors.

Parser on every known variant (exact values) and on generated text (hypothesis);
FilterLogEvents against moto's server; Logs Insights request shapes, polling, limits
and failures with botocore's Stubber (moto's Logs Insights ignores stats); both paths
against the simulated account when ``aws.sim`` is there.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aws import errors, session
from aws import logs as L
from aws.logs import _insights
from aws.logs._common import finish_frame
from aws.meter import METER
from aws.session import Account, SimSpec

RID = "8c360c87-d4b7-4423-b5f3-af02be3c1763"


def expected(fmt: str, **values) -> dict:
    out = dict.fromkeys(L.REPORT_KEYS)
    out.update(format=fmt, cold_start=False)
    if fmt == "text":
        out["status"] = "success"
    out.update(values)
    return out


WARM = dict(duration_ms=102.25, billed_duration_ms=103, memory_size_mb=128, max_memory_used_mb=70)
TEXT_WARM = f"REPORT RequestId: {RID}\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB"
JSON_TIME = datetime(2024, 2, 9, 8, 42, 44, 80000, tzinfo=UTC)


def json_report(metrics: dict, *, status: str | None = "success", error_type: str | None = None, **extra) -> str:
    record: dict = {"requestId": RID, "metrics": metrics}
    if status is not None:
        record["status"] = status
    if error_type is not None:
        record["errorType"] = error_type
    return json.dumps({"time": "2024-02-09T08:42:44.080Z", "type": "platform.report", "record": record, **extra})


JSON_WARM_METRICS = {"durationMs": 102.25, "billedDurationMs": 103, "memorySizeMB": 128, "maxMemoryUsedMB": 70}

PARSER_CASES = {
    "text warm": (TEXT_WARM, expected("text", request_id=RID, **WARM)),
    "text cold": (
        TEXT_WARM + "\tInit Duration: 150.20 ms\t",
        expected("text", request_id=RID, **WARM, init_duration_ms=150.2, cold_start=True),
    ),
    "text snapstart": (
        f"REPORT RequestId: {RID}\tDuration: 2338.66 ms\tBilled Duration: 2521 ms\tMemory Size: 3009 MB\t"
        "Max Memory Used: 173 MB\tRestore Duration: 398.97 ms\tBilled Restore Duration: 182 ms\t",
        expected(
            "text",
            request_id=RID,
            duration_ms=2338.66,
            billed_duration_ms=2521,
            memory_size_mb=3009,
            max_memory_used_mb=173,
            restore_duration_ms=398.97,
            billed_restore_duration_ms=182,
            cold_start=True,
        ),
    ),
    "text timeout": (
        f"REPORT RequestId: {RID}\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 1024 MB\t"
        "Max Memory Used: 64 MB\tStatus: timeout",
        expected(
            "text",
            request_id=RID,
            duration_ms=3000.0,
            billed_duration_ms=3000,
            memory_size_mb=1024,
            max_memory_used_mb=64,
            status="timeout",
        ),
    ),
    "text error + error type + xray line": (
        TEXT_WARM + "\tInit Duration: 476.75 ms\tStatus: error\tError Type: Runtime.ExitError\t\n"
        "XRAY TraceId: 1-6a67abf9-44f198d4\tSegmentId: 7c4eb6a6d56f2a27\tSampled: true",
        expected(
            "text",
            request_id=RID,
            **WARM,
            init_duration_ms=476.75,
            cold_start=True,
            status="error",
            error_type="Runtime.ExitError",
        ),
    ),
    "text spaces, CRLF": (
        f"REPORT RequestId: {RID} Duration: 102.25 ms Billed Duration: 103 ms Memory Size: 128 MB "
        "Max Memory Used: 70 MB \r\n",
        expected("text", request_id=RID, **WARM),
    ),
    "text space before tab": (
        f"REPORT RequestId: {RID}\tDuration: 1.0 ms\tBilled Duration: 1 ms \tMemory Size: 128 MB\tMax Memory Used: 15 MB",
        expected(
            "text", request_id=RID, duration_ms=1.0, billed_duration_ms=1, memory_size_mb=128, max_memory_used_mb=15
        ),
    ),
    "text timestamp prefix": (
        "2023-06-02T11:27:25.060000 " + TEXT_WARM + "\tInit Duration: 150.20 ms\n",
        expected("text", request_id=RID, **WARM, init_duration_ms=150.2, cold_start=True),
    ),
    "text stream + timestamp prefix (sam logs)": (
        "2023/06/02/[72]88ab219a63d343d294d0a9947e8ab36a 2023-06-02T11:27:25.060000 " + TEXT_WARM + "\t",
        expected("text", request_id=RID, **WARM),
    ),
    "json warm": (
        json_report(JSON_WARM_METRICS),
        expected("json", request_id=RID, timestamp=JSON_TIME, **WARM, status="success"),
    ),
    "json cold": (
        json_report({**JSON_WARM_METRICS, "initDurationMs": 150.2}),
        expected(
            "json",
            request_id=RID,
            timestamp=JSON_TIME,
            **WARM,
            init_duration_ms=150.2,
            cold_start=True,
            status="success",
        ),
    ),
    "json snapstart": (
        json_report({**JSON_WARM_METRICS, "restoreDurationMs": 500.795, "billedRestoreDurationMs": 53}),
        expected(
            "json",
            request_id=RID,
            timestamp=JSON_TIME,
            **WARM,
            restore_duration_ms=500.795,
            billed_restore_duration_ms=53,
            cold_start=True,
            status="success",
        ),
    ),
    "json timeout": (
        json_report(
            {"durationMs": 3000.0, "billedDurationMs": 3000, "memorySizeMB": 1024, "maxMemoryUsedMB": 64},
            status="timeout",
            error_type="Sandbox.Timedout",
        ),
        expected(
            "json",
            request_id=RID,
            timestamp=JSON_TIME,
            duration_ms=3000.0,
            billed_duration_ms=3000,
            memory_size_mb=1024,
            max_memory_used_mb=64,
            status="timeout",
            error_type="Sandbox.Timedout",
        ),
    ),
    "json with timestamp prefix, no status": (
        "2024-02-09T08:42:44.080Z\t" + json_report(JSON_WARM_METRICS, status=None) + "\r\n",
        expected("json", request_id=RID, timestamp=JSON_TIME, **WARM),
    ),
    "json time with offset → UTC": (
        json_report(JSON_WARM_METRICS).replace("2024-02-09T08:42:44.080Z", "2024-02-09T10:42:44.080+02:00"),
        expected("json", request_id=RID, timestamp=JSON_TIME, **WARM, status="success"),
    ),
    "json bad time": (
        json_report(JSON_WARM_METRICS).replace("2024-02-09T08:42:44.080Z", "yesterday"),
        expected("json", request_id=RID, **WARM, status="success"),
    ),
}


@pytest.mark.parametrize("line, want", list(PARSER_CASES.values()), ids=list(PARSER_CASES))
def test_parse_report_variants(line, want):
    got = L.parse_report(line)
    assert got == want
    assert list(got) == list(L.REPORT_KEYS)
    if got["timestamp"] is not None:
        assert got["timestamp"].utcoffset() == timedelta(0)


NOT_REPORTS = {
    "start": f"START RequestId: {RID} Version: $LATEST",
    "end": f"END RequestId: {RID}",
    "init report": "INIT_REPORT Init Duration: 137.69 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError",
    "app line": "2024-01-01T00:00:00.000Z\tabc\tINFO\tprocessed 12 records",
    "app line quoting a report": f"user said REPORT RequestId: {RID}\tDuration: 5 ms",
    "report without duration": f"REPORT RequestId: {RID} Task timed out after 3.00 seconds",
    "report, no fields": "REPORT RequestId: abc",
    "empty": "",
    "blank": " \t\r\n",
    "garbage": "\x00\x01 }{ ::: REPORT",
    "platform.start": json.dumps(
        {"time": "2024-02-09T08:42:44.078Z", "type": "platform.start", "record": {"requestId": RID}}
    ),
    "platform.report without metrics": json.dumps({"type": "platform.report", "record": {"requestId": RID}}),
    "platform.report without durationMs": json_report({"billedDurationMs": 3, "memorySizeMB": 128}),
    "platform.report bool duration": json_report({**JSON_WARM_METRICS, "durationMs": True}),
    "json app log": json.dumps(
        {"timestamp": "2024-02-09T08:42:44.078Z", "level": "INFO", "message": "REPORT RequestId: x Duration: 1 ms"}
    ),
    "broken json": '{"type": "platform.report", "record": {"metrics": {"durationMs": 1}',
    "json list": "[1, 2, 3]",
    "deep json": "[" * 100_000,
}


@pytest.mark.parametrize("line", list(NOT_REPORTS.values()), ids=list(NOT_REPORTS))
def test_parse_report_not_reports(line):
    assert L.parse_report(line) is None


def test_parse_report_non_str_is_none():
    assert L.parse_report(None) is None  # type: ignore[arg-type]
    assert L.parse_report(b"REPORT RequestId: x\tDuration: 1 ms") is None  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_parse_report_never_raises(line):
    got = L.parse_report(line)
    assert got is None or list(got) == list(L.REPORT_KEYS)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet='REPORT RequestId:DurationBilled MemorySizeMaxUsedInitRestore ms MB 0123456789.\t\r\n{}":,'),
)
def test_parse_report_never_raises_on_near_reports(line):
    got = L.parse_report(line)
    if got is not None:
        assert got["duration_ms"] is not None


money = st.integers(min_value=0, max_value=10**8)  # hundredths of a ms
mbs = st.integers(min_value=1, max_value=10240)


@settings(max_examples=200, deadline=None)
@given(
    duration=money,
    billed=st.integers(min_value=1, max_value=900_000),
    memory=mbs,
    used=mbs,
    init=st.none() | money,
    restore=st.none() | st.tuples(money, st.integers(min_value=0, max_value=10**5)),
    status=st.sampled_from([None, ("timeout", None), ("error", "Runtime.ExitError"), ("error", "Runtime.OutOfMemory")]),
    sep=st.sampled_from(["\t", " ", " \t"]),
    prefix=st.sampled_from(["", "2024-05-01T12:00:00.123Z ", "[05:10:20] "]),
    suffix=st.sampled_from(["", "\t", "\r\n", "\t\n", "\nXRAY TraceId: 1-abc\tSampled: true"]),
)
def test_text_report_round_trips(duration, billed, memory, used, init, restore, status, sep, prefix, suffix):
    parts = [
        f"REPORT RequestId: {RID}",
        f"Duration: {duration / 100:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory} MB",
        f"Max Memory Used: {used} MB",
    ]
    if init is not None:
        parts.append(f"Init Duration: {init / 100:.2f} ms")
    if restore is not None:
        parts += [f"Restore Duration: {restore[0] / 100:.2f} ms", f"Billed Restore Duration: {restore[1]} ms"]
    if status is not None:
        parts.append(f"Status: {status[0]}")
        if status[1]:
            parts.append(f"Error Type: {status[1]}")
    got = L.parse_report(prefix + sep.join(parts) + suffix)
    assert got is not None
    assert got["format"] == "text" and got["request_id"] == RID
    assert got["duration_ms"] == float(f"{duration / 100:.2f}")
    assert (got["billed_duration_ms"], got["memory_size_mb"], got["max_memory_used_mb"]) == (billed, memory, used)
    assert got["init_duration_ms"] == (None if init is None else float(f"{init / 100:.2f}"))
    if restore is None:
        assert got["restore_duration_ms"] is None and got["billed_restore_duration_ms"] is None
    else:
        assert got["restore_duration_ms"] == float(f"{restore[0] / 100:.2f}")
        assert got["billed_restore_duration_ms"] == restore[1]
    assert got["cold_start"] is (init is not None or restore is not None)
    assert got["status"] == ("success" if status is None else status[0])
    assert got["error_type"] == (None if status is None else status[1])


@settings(max_examples=100, deadline=None)
@given(
    metrics=st.fixed_dictionaries(
        {
            "durationMs": st.floats(min_value=0, max_value=1e6, allow_nan=False),
            "billedDurationMs": st.integers(min_value=1, max_value=900_000),
            "memorySizeMB": mbs,
            "maxMemoryUsedMB": mbs,
        },
        optional={
            "initDurationMs": st.floats(min_value=0, max_value=1e5, allow_nan=False),
            "restoreDurationMs": st.floats(min_value=0, max_value=1e5, allow_nan=False),
            "billedRestoreDurationMs": st.integers(min_value=0, max_value=10**5),
        },
    ),
    status=st.sampled_from(["success", "error", "failure", "timeout"]),
)
def test_json_report_round_trips(metrics, status):
    got = L.parse_report(json_report(metrics, status=status))
    assert got is not None and got["format"] == "json" and got["status"] == status
    for src, key in [
        ("durationMs", "duration_ms"),
        ("billedDurationMs", "billed_duration_ms"),
        ("memorySizeMB", "memory_size_mb"),
        ("maxMemoryUsedMB", "max_memory_used_mb"),
        ("initDurationMs", "init_duration_ms"),
        ("restoreDurationMs", "restore_duration_ms"),
        ("billedRestoreDurationMs", "billed_restore_duration_ms"),
    ]:
        assert got[key] == metrics.get(src)
    assert got["cold_start"] is ("initDurationMs" in metrics or "restoreDurationMs" in metrics)


# --- the query and its plan ------------------------------------------------------------------

STATS_CLAUSE = (
    "| stats count(*) as reports, count(init_ms) as cold_starts, avg(init_ms) as init_ms_mean, "
    "pct(init_ms, 99) as init_ms_p99, sum(billed_ms) as billed_ms_sum, sum(gb_s) as gb_seconds, "
    "max(used_mb) as used_mb_max, avg(used_mb) as used_mb_mean, max(memory_mb) as memory_mb by @log, bin(300s)"
)


def test_build_query():
    q = L.build_query(300)
    lines = q.split("\n")
    assert lines[0] == 'filter @type = "REPORT" or type = "platform.report"'
    assert lines[1] == (
        "| fields coalesce(@billedDuration, record.metrics.billedDurationMs) as billed_ms, "
        "coalesce(@memorySize / 1000 / 1000, record.metrics.memorySizeMB) as memory_mb, "
        "coalesce(@maxMemoryUsed / 1000 / 1000, record.metrics.maxMemoryUsedMB) as used_mb, "
        "coalesce(@initDuration, record.metrics.initDurationMs) as init_ms"
    )
    assert lines[2] == "| fields billed_ms * memory_mb / 1024000 as gb_s"
    assert lines[3] == STATS_CLAUSE
    assert lines[4] == "| limit 10000"
    assert q == L.QUERY.format(bin_s=300)
    for bad in (0, -60, 1.5, True, "60"):
        with pytest.raises(ValueError):
            L.build_query(bad)  # type: ignore[arg-type]
    # fewer figures: the counts always, then the ones asked, in the stats stage's order
    some = L.build_query(300, ("used_mb_max", "init_ms_p99")).split("\n")
    assert some[:3] + some[4:] == lines[:3] + lines[4:]
    assert some[3] == (
        "| stats count(*) as reports, count(init_ms) as cold_starts, pct(init_ms, 99) as init_ms_p99,"
        " max(used_mb) as used_mb_max by @log, bin(300s)"
    )
    assert L.build_query(300, L.REPORT_FIGURES) == q
    with pytest.raises(ValueError, match="unknown REPORT figures"):
        L.build_query(300, ("reports_p99",))
    with pytest.raises(TypeError):
        L.build_query(300, "used_mb_max")


T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T0_S = int(T0.timestamp())


@pytest.mark.parametrize(
    "span, bin_s",
    [
        (timedelta(minutes=15), 60),
        (timedelta(hours=1), 60),
        (timedelta(hours=6), 60),
        (timedelta(hours=24), 300),
        (timedelta(days=7), 3600),
        (timedelta(days=30), 3600),
        (timedelta(days=90), 86400),
    ],
)
def test_choose_bin(span, bin_s):
    assert L.choose_bin(start=T0, end=T0 + span) == bin_s


def test_plan_120_groups_one_hour():
    groups = [f"/aws/lambda/fn-{i:03d}" for i in range(120)]
    specs = L.plan_queries(groups=groups, start_s=T0_S, end_s=T0_S + 3599, bin_s=60)
    assert [len(s.groups) for s in specs] == [50, 50, 20]
    assert [g for s in specs for g in s.groups] == groups
    assert {(s.start_s, s.end_s) for s in specs} == {(T0_S, T0_S + 3599)}


def test_plan_shrinks_batches_with_many_bins():
    groups = [f"g{i}" for i in range(10)]
    week = 7 * 86400
    specs = L.plan_queries(groups=groups, start_s=T0_S, end_s=T0_S + week - 1, bin_s=300)  # 2016 bins
    assert [len(s.groups) for s in specs] == [4, 4, 2]
    assert all(len(s.groups) * 2016 <= L.MAX_RESULT_ROWS for s in specs)


def test_plan_splits_time_when_one_group_has_too_many_bins():
    end_s = T0_S + 30 * 86400 - 1  # 43,200 one-minute bins
    specs = L.plan_queries(groups=["a", "b"], start_s=T0_S + 30, end_s=end_s, bin_s=60)
    ranges = sorted({(s.start_s, s.end_s) for s in specs})
    assert all(len(s.groups) == 1 for s in specs) and len(specs) == 2 * len(ranges) == 10
    assert ranges[0][0] == T0_S + 30 and ranges[-1][1] == end_s
    for (_, hi), (lo, _) in zip(ranges, ranges[1:], strict=False):
        assert lo == hi + 1 and lo % 60 == 0  # contiguous, cut at bin boundaries
    for lo, hi in ranges:
        assert hi // 60 - lo // 60 + 1 <= L.MAX_RESULT_ROWS


# --- Logs Insights with botocore's Stubber ---------------------------------------------------------

STUB_ACCOUNT = Account(name="stub", regions=("us-east-1",), max_attempts=1)
ACCOUNT_ID = "123456789012"


class FakeClock:
    """The scheduler's clock: sleeping advances it, nothing waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 6))
        self.now += s


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(_insights, "_monotonic", c.monotonic)
    monkeypatch.setattr(_insights, "_sleep", c.sleep)
    return c


@pytest.fixture
def stub():
    client = session.client(STUB_ACCOUNT, "logs", "us-east-1")
    with Stubber(client) as s:
        yield s
        s.assert_no_pending_responses()


def fn_groups(n: int) -> dict[str, str]:
    return {f"fn-{i:03d}": L.default_log_group(f"fn-{i:03d}") for i in range(n)}


def result_row(group: str, bin_start: str, bin_s: int = 60, **values) -> list[dict[str, str]]:
    row = [{"field": "@log", "value": f"{ACCOUNT_ID}:{group}"}, {"field": f"bin({bin_s}s)", "value": bin_start}]
    return row + [{"field": k, "value": str(v)} for k, v in values.items()]


def start_params(groups, start_s=T0_S, end_s=T0_S + 3599, bin_s=60) -> dict:
    return {
        "logGroupNames": list(groups),
        "startTime": start_s,
        "endTime": end_s,
        "queryString": L.build_query(bin_s),
    }


def complete(results=(), scanned=0.0) -> dict:
    return {
        "status": "Complete",
        "results": list(results),
        "statistics": {"recordsMatched": 1.0, "recordsScanned": 2.0, "bytesScanned": scanned},
    }


ROW_VALUES = dict(
    reports=12,
    cold_starts=2,
    init_ms_mean=250.5,
    init_ms_p99=300.25,
    billed_ms_sum=1200,
    gb_seconds=0.15,
    used_mb_max=95,
    used_mb_mean=90.5,
    memory_mb=128,
)


def test_report_stats_120_functions_three_queries(stub, clock):
    groups = fn_groups(120)
    names = list(groups.values())
    batches = [names[:50], names[50:100], names[100:]]
    for i, batch in enumerate(batches):
        stub.add_response("start_query", {"queryId": f"q{i}"}, start_params(batch))
    for i in range(3):
        stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": f"q{i}"})
    stub.add_response(
        "get_query_results",
        complete([result_row(names[0], "2024-05-01 12:00:00.000", **ROW_VALUES)], scanned=1000.0),
        {"queryId": "q0"},
    )
    stub.add_response(
        "get_query_results",
        complete(
            [
                result_row(names[60], "2024-05-01 12:05:00.000", **{**ROW_VALUES, "cold_starts": 0, "reports": 3}),
                result_row(names[60], "2024-05-01 12:04:00.000", **ROW_VALUES),
            ],
            scanned=2000.0,
        ),
        {"queryId": "q1"},
    )
    stub.add_response("get_query_results", complete(scanned=500.0), {"queryId": "q2"})

    before = METER.snapshot()
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=groups, start=T0, end=T0 + timedelta(hours=1)
    )
    used = METER.snapshot() - before

    assert list(frame.columns) == list(L.SCHEMA)
    assert {c: str(t) for c, t in frame.dtypes.items()} == L.SCHEMA
    assert frame["function"].tolist() == ["fn-000", "fn-060", "fn-060"]
    assert frame["timestamp"].tolist() == [
        pd.Timestamp("2024-05-01 12:00", tz="UTC"),
        pd.Timestamp("2024-05-01 12:04", tz="UTC"),
        pd.Timestamp("2024-05-01 12:05", tz="UTC"),
    ]
    assert frame["reports"].tolist() == [12, 12, 3]
    assert frame["cold_starts"].tolist() == [2, 2, 0]
    first = frame.iloc[0]
    assert (first["account"], first["region"], first["bin_s"], first["source"]) == (
        "stub",
        "us-east-1",
        60,
        "logs_insights",
    )
    assert [first[k] for k in ROW_VALUES] == list(ROW_VALUES.values())
    assert frame.attrs["bytes_scanned"] == 3500.0 and frame.attrs["source"] == "logs_insights"
    assert frame.attrs["queries"] == 3 and frame.attrs["bin_s"] == 60
    assert used.count("StartQuery") == 3 and used.count("GetQueryResults") == 6
    assert used.logs_bytes_scanned == 3500.0
    # Polled after 0.25 s, then 0.5 s later (all three were due together).
    assert clock.sleeps == [0.25, 0.5]


def test_polling_backs_off_to_two_seconds(stub, clock):
    stub.add_response("start_query", {"queryId": "q"}, start_params(["/aws/lambda/fn-000"]))
    for _ in range(6):
        stub.add_response(
            "get_query_results", {"status": "Scheduled" if _ < 2 else "Running", "results": []}, {"queryId": "q"}
        )
    stub.add_response("get_query_results", complete(), {"queryId": "q"})
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=fn_groups(1), start=T0, end=T0 + timedelta(hours=1)
    )
    assert frame.empty and list(frame.columns) == list(L.SCHEMA)
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]


def test_missing_values_and_custom_log_group(stub, clock):
    groups = {"api": "/custom/api-logs", "worker": L.default_log_group("worker")}
    stub.add_response("start_query", {"queryId": "q"}, start_params(list(groups.values())))
    row = result_row(
        "/custom/api-logs",
        "2024-05-01 12:30:00.000",
        reports=4,
        cold_starts=0,
        billed_ms_sum=40,
        gb_seconds=0.005,
        used_mb_max=60,
        used_mb_mean=55,
        memory_mb=128,
    )
    stub.add_response("get_query_results", complete([row]), {"queryId": "q"})
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=groups, start=T0, end=T0 + timedelta(hours=1)
    )
    assert frame["function"].tolist() == ["api"]
    assert math.isnan(frame.loc[0, "init_ms_mean"]) and math.isnan(frame.loc[0, "init_ms_p99"])
    assert frame.loc[0, "cold_starts"] == 0 and frame.loc[0, "billed_ms_sum"] == 40.0


def _reference_records(raw, *, by_group, bin_s):
    """The rows as the collector read them one by one before it read them column by column: the reference."""
    out = []
    for row in raw:
        log_field = row.get("@log", "")
        group = log_field if log_field in by_group else log_field.rpartition(":")[2]
        bin_value = next((v for k, v in row.items() if k.startswith("bin(")), None)
        if group not in by_group or bin_value is None:
            continue
        counts = {k: _insights._number(row.get(k)) for k in _insights._INT_FIELDS}
        values = {k: int(n) if math.isfinite(n) else 0 for k, n in counts.items()}  # not a finite number: 0
        values.update({k: _insights._number(row.get(k)) for k in _insights._FLOAT_FIELDS})
        for function in by_group[group]:
            out.append({"account": "stub", "region": "us-east-1", "function": function, "timestamp": bin_value,
                        "bin_s": bin_s, **values, "source": L.SOURCE_INSIGHTS})  # fmt: skip
    return out


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", "nan", "inf", "-inf", " 12 ", "1e3", "abc", "0.5", "7"]),
    st.floats(min_value=-1e12, max_value=1e12).map(repr),  # a count of REPORT lines fits int64 by far
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {"@log": st.sampled_from(["/aws/lambda/a", "123456789012:/aws/lambda/b", "/shared", "/elsewhere", ""])},
            optional={"bin(3600s)": st.sampled_from(["2026-11-01 00:00:00.000", "2026-11-01 01:00:00.000"]),
                      **{k: _VALUES for k in (*_insights._INT_FIELDS, *_insights._FLOAT_FIELDS)}},  # fmt: skip
        ),
        max_size=12,
    )
)
def test_rows_read_column_by_column_equal_the_rows_read_one_by_one(rows):
    """Counts that are not numbers are 0, other fields NaN; a shared log group gives each of its functions the
    row; rows of other groups or without a bin are skipped; the order is kept."""
    by_group = {"/aws/lambda/a": ["a"], "/aws/lambda/b": ["b"], "/shared": ["s1", "s2"]}
    got = finish_frame(
        _insights._to_frame(rows, by_group=by_group, account=STUB_ACCOUNT, region="us-east-1", bin_s=3600),
        source=L.SOURCE_INSIGHTS,
        bin_s=3600,
    )
    want = finish_frame(_reference_records(rows, by_group=by_group, bin_s=3600), source=L.SOURCE_INSIGHTS, bin_s=3600)
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == sum(len(by_group.get(r["@log"].rpartition(":")[2], ())) for r in rows if "bin(3600s)" in r)


def test_concurrency_limit_and_account_limit(stub, clock):
    """max_concurrent=2: the third query starts only when one finished; AWS's LimitExceeded waits for a slot."""
    groups = fn_groups(120)
    names = list(groups.values())
    b = [names[:50], names[50:100], names[100:]]
    stub.add_response("start_query", {"queryId": "q0"}, start_params(b[0]))
    stub.add_client_error(
        "start_query",
        "LimitExceededException",
        "Account maximum query concurrency limit of [30] reached.",
        expected_params=start_params(b[1]),
    )
    # from now on one at a time: no StartQuery retry while q0 is still running
    stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q0"})
    stub.add_response("get_query_results", complete(), {"queryId": "q0"})
    stub.add_response("start_query", {"queryId": "q1"}, start_params(b[1]))
    stub.add_response("get_query_results", complete(), {"queryId": "q1"})
    stub.add_response("start_query", {"queryId": "q2"}, start_params(b[2]))
    stub.add_response("get_query_results", complete(), {"queryId": "q2"})
    frame = L.report_stats(
        account=STUB_ACCOUNT,
        region="us-east-1",
        log_groups=groups,
        start=T0,
        end=T0 + timedelta(hours=1),
        max_concurrent=2,
    )
    assert frame.attrs["queries"] == 3


def test_max_concurrent_respected(stub, clock):
    groups = fn_groups(120)
    names = list(groups.values())
    b = [names[:50], names[50:100], names[100:]]
    stub.add_response("start_query", {"queryId": "q0"}, start_params(b[0]))
    stub.add_response("start_query", {"queryId": "q1"}, start_params(b[1]))
    stub.add_response("get_query_results", complete(), {"queryId": "q0"})
    stub.add_response("start_query", {"queryId": "q2"}, start_params(b[2]))
    stub.add_response("get_query_results", complete(), {"queryId": "q1"})
    stub.add_response("get_query_results", complete(), {"queryId": "q2"})
    L.report_stats(
        account=STUB_ACCOUNT,
        region="us-east-1",
        log_groups=groups,
        start=T0,
        end=T0 + timedelta(hours=1),
        max_concurrent=2,
    )


def test_missing_log_group_is_skipped(stub, clock):
    groups = {"a": "/aws/lambda/a", "gone": "/aws/lambda/gone", "b": "/aws/lambda/b"}
    stub.add_client_error(
        "start_query",
        "ResourceNotFoundException",
        f"Log group '/aws/lambda/gone' does not exist for account ID '{ACCOUNT_ID}'",
        expected_params=start_params(list(groups.values())),
    )
    stub.add_response("start_query", {"queryId": "q"}, start_params(["/aws/lambda/a", "/aws/lambda/b"]))
    stub.add_response(
        "get_query_results",
        complete([result_row("/aws/lambda/b", "2024-05-01 12:00:00.000", **ROW_VALUES)]),
        {"queryId": "q"},
    )
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=groups, start=T0, end=T0 + timedelta(hours=1)
    )
    assert frame["function"].tolist() == ["b"]
    assert frame.attrs["missing_log_groups"] == ["/aws/lambda/gone"]


def test_missing_log_group_not_named_is_bisected(stub, clock):
    groups = {n: f"/aws/lambda/{n}" for n in "abcd"}
    g = list(groups.values())
    stub.add_client_error(
        "start_query",
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        expected_params=start_params(g),
    )
    stub.add_response("start_query", {"queryId": "q0"}, start_params(g[:2]))
    stub.add_client_error(
        "start_query",
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        expected_params=start_params(g[2:]),
    )
    stub.add_response("start_query", {"queryId": "q1"}, start_params(g[2:3]))
    stub.add_client_error(
        "start_query",
        "ResourceNotFoundException",
        "The specified log group does not exist.",
        expected_params=start_params(g[3:]),
    )
    stub.add_response("get_query_results", complete(), {"queryId": "q0"})
    stub.add_response("get_query_results", complete(), {"queryId": "q1"})
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=groups, start=T0, end=T0 + timedelta(hours=1)
    )
    assert frame.attrs["missing_log_groups"] == ["/aws/lambda/d"] and frame.attrs["queries"] == 2


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "Timeout"])
def test_query_failure_stops_the_others(stub, clock, status):
    groups = fn_groups(60)
    names = list(groups.values())
    stub.add_response("start_query", {"queryId": "q0"}, start_params(names[:50]))
    stub.add_response("start_query", {"queryId": "q1"}, start_params(names[50:]))
    stub.add_response("get_query_results", {"status": status, "results": []}, {"queryId": "q0"})
    stub.add_response("stop_query", {"success": True}, {"queryId": "q1"})
    with pytest.raises(L.QueryFailed, match=status) as info:
        L.report_stats(
            account=STUB_ACCOUNT, region="us-east-1", log_groups=groups, start=T0, end=T0 + timedelta(hours=1)
        )
    assert isinstance(info.value, errors.AwsError) and info.value.region == "us-east-1"


def test_poll_timeout_stops_query(stub, clock):
    stub.add_response("start_query", {"queryId": "q"}, start_params(["/aws/lambda/fn-000"]))
    # polls at +0.25, +0.75, +1.75, +3.75, +5.75: the last is past the 5 s budget
    for _ in range(5):
        stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q"})
    stub.add_response("stop_query", {"success": True}, {"queryId": "q"})
    with pytest.raises(L.QueryTimeout) as info:
        L.report_stats(
            account=STUB_ACCOUNT,
            region="us-east-1",
            log_groups=fn_groups(1),
            start=T0,
            end=T0 + timedelta(hours=1),
            poll_timeout_s=5,
        )
    assert isinstance(info.value, errors.EndpointUnreachable)


def test_access_denied_is_translated(stub, clock):
    stub.add_client_error(
        "start_query",
        "AccessDeniedException",
        "User is not authorized to perform: logs:StartQuery",
        expected_params=start_params(["/aws/lambda/fn-000"]),
    )
    with pytest.raises(errors.AccessDenied) as info:
        L.report_stats(
            account=STUB_ACCOUNT, region="us-east-1", log_groups=fn_groups(1), start=T0, end=T0 + timedelta(hours=1)
        )
    assert info.value.iam_action == "logs:StartQuery" and info.value.account == "stub"


@pytest.mark.parametrize(
    "code, message, http",
    [
        ("UnknownOperationException", "Unknown operation StartQuery", 400),
        ("InternalFailure", "API action 'StartQuery' for service 'logs' not yet implemented", 501),
    ],
)
def test_no_logs_insights_raises_unavailable(stub, clock, code, message, http):
    stub.add_client_error("start_query", code, message, http_status_code=http)
    with pytest.raises(L.LogsInsightsUnavailable):
        L.report_stats(
            account=STUB_ACCOUNT, region="us-east-1", log_groups=fn_groups(1), start=T0, end=T0 + timedelta(hours=1)
        )


def test_empty_and_invalid_arguments():
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups={}, start=T0, end=T0 + timedelta(hours=1)
    )
    assert frame.empty and list(frame.columns) == list(L.SCHEMA) and frame.attrs["queries"] == 0
    with pytest.raises(ValueError):
        L.report_stats(account=STUB_ACCOUNT, region="us-east-1", log_groups={}, start=T0.replace(tzinfo=None), end=T0)
    with pytest.raises(ValueError):
        L.report_stats_from_events(account=STUB_ACCOUNT, region="us-east-1", log_groups={}, start=T0, end=T0)
    with pytest.raises(ValueError):
        L.memory_and_cold_starts(
            account=STUB_ACCOUNT,
            region="us-east-1",
            log_groups={},
            start=T0,
            end=T0 + timedelta(hours=1),
            prefer="cloudtrail",
        )


# --- FilterLogEvents against moto's server -----------------------------------------------------------


def text_line(billed, memory, used, init=None, duration=1.5, extra=""):
    line = (
        f"REPORT RequestId: {RID}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms\t"
        f"Memory Size: {memory} MB\tMax Memory Used: {used} MB\t"
    )
    if init is not None:
        line += f"Init Duration: {init:.2f} ms\t"
    return line + extra + "\n"


def json_line(billed, memory, used, init=None):
    metrics = {"durationMs": 1.5, "billedDurationMs": billed, "memorySizeMB": memory, "maxMemoryUsedMB": used}
    if init is not None:
        metrics["initDurationMs"] = init
    return json_report(metrics)


@pytest.fixture
def moto_logs(moto_account):
    """Three functions' log groups in moto (text, JSON, SnapStart text) over two minutes, plus noise."""
    c = session.client(moto_account, "logs", "us-east-1")
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    t = int(now.timestamp() * 1000)
    events = {
        "/aws/lambda/alpha": [
            (t + 1_000, f"START RequestId: {RID} Version: $LATEST"),
            (t + 1_500, "INIT_REPORT Init Duration: 150.20 ms\tPhase: init\tStatus: success"),
            (t + 2_000, text_line(103, 128, 70, init=150.2)),
            (t + 2_001, f"END RequestId: {RID}"),
            (t + 10_000, "2024-01-01T00:00:00Z\tabc\tINFO\tREPORT generated for 3 users"),
            (t + 20_000, text_line(20, 128, 72)),
            (t + 59_999, text_line(1, 128, 71)),
            (t + 60_000, text_line(2000, 128, 100, extra="Status: timeout")),  # next bin
            (t + 3_600_000, text_line(5, 128, 70)),  # after the range
        ],
        "/custom/beta": [
            (t + 1_000, json.dumps({"time": "x", "type": "platform.start", "record": {"requestId": RID}})),
            (t + 2_000, json_line(201, 512, 91, init=200.0)),
            (t + 3_000, json_line(100, 512, 95, init=300.0)),
            (t + 4_000, json_line(50, 512, 93)),
            (t + 5_000, json.dumps({"level": "INFO", "message": "hello"})),
        ],
        "/aws/lambda/gamma": [
            (
                t + 2_000,
                text_line(400, 1024, 300, extra="Restore Duration: 398.97 ms\tBilled Restore Duration: 182 ms\t"),
            ),
        ],
    }
    for group, evs in events.items():
        c.create_log_group(logGroupName=group)
        c.create_log_stream(logGroupName=group, logStreamName="2024/05/01/[$LATEST]abc")
        c.put_log_events(
            logGroupName=group,
            logStreamName="2024/05/01/[$LATEST]abc",
            logEvents=[{"timestamp": ts, "message": m} for ts, m in evs],
        )
    log_groups = {
        "alpha": "/aws/lambda/alpha",
        "beta": "/custom/beta",
        "gamma": "/aws/lambda/gamma",
        "nolog": "/aws/lambda/nolog",
    }
    return moto_account, log_groups, now


def expected_moto_frame(account: str, now: datetime, source: str) -> pd.DataFrame:
    ts0, ts1 = pd.Timestamp(now), pd.Timestamp(now + timedelta(minutes=1))
    rows = [
        # alpha 1st minute: 3 text reports, one cold (init 150.2)
        dict(
            function="alpha",
            timestamp=ts0,
            reports=3,
            cold_starts=1,
            init_ms_mean=150.2,
            init_ms_p99=150.2,
            billed_ms_sum=124.0,
            gb_seconds=124 * 128 / 1_024_000,
            used_mb_max=72.0,
            used_mb_mean=71.0,
            memory_mb=128.0,
        ),
        dict(
            function="alpha",
            timestamp=ts1,
            reports=1,
            cold_starts=0,
            init_ms_mean=math.nan,
            init_ms_p99=math.nan,
            billed_ms_sum=2000.0,
            gb_seconds=2000 * 128 / 1_024_000,
            used_mb_max=100.0,
            used_mb_mean=100.0,
            memory_mb=128.0,
        ),
        # beta: JSON, two cold starts (200, 300): p99 = 200 + 0.99 × 100
        dict(
            function="beta",
            timestamp=ts0,
            reports=3,
            cold_starts=2,
            init_ms_mean=250.0,
            init_ms_p99=299.0,
            billed_ms_sum=351.0,
            gb_seconds=351 * 512 / 1_024_000,
            used_mb_max=95.0,
            used_mb_mean=93.0,
            memory_mb=512.0,
        ),
        # gamma: a SnapStart restore is not an init: no cold start, as in the Logs Insights query
        dict(
            function="gamma",
            timestamp=ts0,
            reports=1,
            cold_starts=0,
            init_ms_mean=math.nan,
            init_ms_p99=math.nan,
            billed_ms_sum=400.0,
            gb_seconds=400 * 1024 / 1_024_000,
            used_mb_max=300.0,
            used_mb_mean=300.0,
            memory_mb=1024.0,
        ),
    ]
    for r in rows:
        r.update(account=account, region="us-east-1", bin_s=60, source=source)
    from aws.frames import typed_frame

    return typed_frame(rows, L.SCHEMA)


def test_filter_log_events_path_against_moto(moto_logs):
    account, log_groups, now = moto_logs
    frame = L.report_stats_from_events(
        account=account, region="us-east-1", log_groups=log_groups, start=now, end=now + timedelta(minutes=2), bin_s=60
    )
    pd.testing.assert_frame_equal(
        frame, expected_moto_frame("moto", now, "filter_log_events"), check_exact=False, rtol=1e-12
    )
    assert frame.attrs["source"] == "filter_log_events" and frame.attrs["reports_read"] == 8


def test_fallback_when_insights_ignores_stats(moto_logs):
    """moto implements StartQuery but ignores stats: the rows have no 'reports', so FilterLogEvents answers."""
    account, log_groups, now = moto_logs
    before = METER.snapshot()
    frame = L.memory_and_cold_starts(
        account=account, region="us-east-1", log_groups=log_groups, start=now, end=now + timedelta(minutes=2), bin_s=60
    )
    used = METER.snapshot() - before
    assert frame.attrs["source"] == "filter_log_events"
    pd.testing.assert_frame_equal(
        frame, expected_moto_frame("moto", now, "filter_log_events"), check_exact=False, rtol=1e-12
    )
    # moto names no log group in ResourceNotFound: [a b c nolog] → [a b] + [c nolog] → [c] + [nolog];
    # the first Complete answer without stats switches to FilterLogEvents (one call per group).
    assert used.count("StartQuery") == 5 and used.count("GetQueryResults") == 1
    assert used.count("FilterLogEvents") == 4


def test_prefer_events_skips_insights(moto_logs):
    account, log_groups, now = moto_logs
    before = METER.snapshot()
    frame = L.memory_and_cold_starts(
        account=account,
        region="us-east-1",
        log_groups=log_groups,
        start=now,
        end=now + timedelta(minutes=2),
        bin_s=60,
        prefer="events",
    )
    assert (METER.snapshot() - before).count("StartQuery") == 0 and len(frame) == 4


def test_filter_log_events_unreachable_endpoint():
    dead = Account(name="dead", endpoint_url="http://127.0.0.1:9", max_attempts=1, connect_timeout_s=1)
    with pytest.raises(errors.EndpointUnreachable):
        L.report_stats_from_events(
            account=dead, region="us-east-1", log_groups={"a": "/aws/lambda/a"}, start=T0, end=T0 + timedelta(hours=1)
        )


# --- the simulated account ---------------------------------------------------------------------------
# (added when aws.sim answers: see below)


def test_account_query_limit_with_none_of_ours_running(stub, clock):
    """Other users fill the account's 30 queries: wait and retry, then give up as Throttled."""
    limit = "Account maximum query concurrency limit of [30] reached."
    params = start_params(["/aws/lambda/fn-000"])
    stub.add_client_error("start_query", "LimitExceededException", limit, expected_params=params)
    stub.add_response("start_query", {"queryId": "q"}, params)
    stub.add_response("get_query_results", complete(), {"queryId": "q"})
    kw = dict(account=STUB_ACCOUNT, region="us-east-1", log_groups=fn_groups(1), start=T0, end=T0 + timedelta(hours=1))
    assert L.report_stats(**kw).attrs["queries"] == 1
    assert clock.sleeps == [2.0, 0.25]

    for _ in range(3):  # at 0 s, 2 s and 4 s: past the 3 s budget
        stub.add_client_error("start_query", "LimitExceededException", limit, expected_params=params)
    with pytest.raises(errors.Throttled):
        L.report_stats(**kw, poll_timeout_s=3)


def test_results_pages_are_all_read(stub, clock):
    stub.add_response("start_query", {"queryId": "q"}, start_params(["/aws/lambda/fn-000"]))
    page1 = complete([result_row("/aws/lambda/fn-000", "2024-05-01 12:00:00.000", **ROW_VALUES)], scanned=700.0)
    page1["nextToken"] = "page-2"
    stub.add_response("get_query_results", page1, {"queryId": "q"})
    stub.add_response(
        "get_query_results",
        {"status": "Complete", "results": [result_row("/aws/lambda/fn-000", "2024-05-01 12:01:00.000", **ROW_VALUES)]},
        {"queryId": "q", "nextToken": "page-2"},
    )
    frame = L.report_stats(
        account=STUB_ACCOUNT, region="us-east-1", log_groups=fn_groups(1), start=T0, end=T0 + timedelta(hours=1)
    )
    assert len(frame) == 2 and frame.attrs["bytes_scanned"] == 700.0


# --- the simulated account ---------------------------------------------------------------------------

SIM_NOW = datetime(2026, 11, 20, 12, 0, 30, tzinfo=UTC)
SIM_END = SIM_NOW.replace(second=0)
REGION = "us-east-1"


@pytest.fixture
def sim():
    from aws import sim

    sim.set_clock(lambda: SIM_NOW)
    yield sim
    sim.set_clock(None)


def demo(**spec) -> Account:
    return Account(name="demo", demo=True, regions=("us-east-1", "eu-west-1"), sim=SimSpec(functions=300, **spec))


def sim_groups(sim, account: Account) -> dict[str, str]:
    f = sim.model_for(account).functions
    f = f[f["region"] == REGION]
    return dict(zip(f["function"], f["log_group"], strict=True))


@pytest.mark.aws
def test_sim_report_stats_matches_the_model(sim):
    account = demo()
    model = sim.model_for(account)
    groups = sim_groups(sim, account)
    assert len(groups) >= 120
    start = SIM_END - timedelta(hours=1)
    frame = L.report_stats(account=account, region=REGION, log_groups=groups, start=start, end=SIM_END)
    used = METER.snapshot()

    assert frame.attrs["bin_s"] == 60 and frame.attrs["queries"] == 3  # 60 bins: 50 groups a query
    assert used.count("StartQuery") == 3 and used.count("GetQueryResults") == 6  # Running, then Complete
    assert frame.attrs["bytes_scanned"] > 0 and used.logs_bytes_scanned == frame.attrs["bytes_scanned"]
    assert set(frame["function"]) <= set(groups) and frame["function"].nunique() >= 100
    custom = [n for n, g in groups.items() if g != L.default_log_group(n)]
    assert custom and set(custom) <= set(frame["function"])  # @log of a custom log group mapped back
    for function in groups:
        truth = model.series(function, start=start, end=SIM_END, period=60, region=REGION)
        truth = truth[truth["invocations"] > 0]
        got = frame[frame["function"] == function]
        assert got["timestamp"].tolist() == truth["timestamp"].tolist(), function
        assert got["reports"].tolist() == truth["invocations"].astype("int64").tolist(), function

    # the other figures, for a text and a JSON function, and any non-SnapStart one with a custom log group
    f = model.functions[model.functions["region"] == REGION]
    plain = f[~f["snapstart"]]
    picks = [
        plain[plain["log_format"] == "Text"]["function"].iloc[0],
        plain[plain["log_format"] == "JSON"]["function"].iloc[0],
        *plain[plain["log_group"] != "/aws/lambda/" + plain["function"]]["function"],
    ]
    for function in picks:
        truth = model.series(function, start=start, end=SIM_END, period=60, region=REGION)
        truth = truth[truth["invocations"] > 0].reset_index(drop=True)
        got = frame[frame["function"] == function].reset_index(drop=True)
        assert got["cold_starts"].tolist() == truth["cold_starts"].astype("int64").tolist()
        for col in ("billed_ms_sum", "gb_seconds", "used_mb_max", "used_mb_mean", "init_ms_mean"):
            pd.testing.assert_series_equal(got[col], truth[col], check_names=False, rtol=1e-9)


@pytest.mark.aws
def test_sim_without_logs_insights_falls_back_with_the_same_counts(sim):
    with_insights, without = demo(), demo(logs_insights=False)
    groups = sim_groups(sim, with_insights)
    f = sim.model_for(with_insights).functions
    f = f[f["region"] == REGION]
    names = [*f[f["log_format"] == "Text"]["function"][:3], *f[f["log_format"] == "JSON"]["function"][:2]]
    names += [n for n in f["function"] if groups[n] != L.default_log_group(n)]
    few = {n: groups[n] for n in names} | {"ghost": "/aws/lambda/ghost"}
    start = SIM_END - timedelta(hours=2)

    expected = L.report_stats(account=with_insights, region=REGION, log_groups=few, start=start, end=SIM_END)
    before = METER.snapshot()
    frame = L.memory_and_cold_starts(account=without, region=REGION, log_groups=few, start=start, end=SIM_END)
    used = METER.snapshot() - before

    assert frame.attrs["source"] == "filter_log_events" and set(frame["source"]) == {"filter_log_events"}
    assert used.count("StartQuery") == 1 and used.count("FilterLogEvents") >= len(few)
    assert set(frame["function"]) == set(names) and frame.attrs["bin_s"] == 60
    exact = ["function", "timestamp", "bin_s", "reports", "cold_starts", "billed_ms_sum", "used_mb_max", "memory_mb"]
    pd.testing.assert_frame_equal(frame[exact], expected[exact])
    for col in ("init_ms_mean", "gb_seconds", "used_mb_mean"):
        pd.testing.assert_series_equal(frame[col], expected[col], rtol=1e-9)
    # Logs Insights' pct() is approximate; FilterLogEvents' p99 is exact
    pd.testing.assert_series_equal(frame["init_ms_p99"], expected["init_ms_p99"], rtol=1e-2)


@pytest.mark.aws
def test_sim_denied_start_query_is_not_a_fallback(sim):
    account = demo(deny=("logs:StartQuery",))
    with pytest.raises(errors.AccessDenied) as info:
        L.memory_and_cold_starts(
            account=account,
            region=REGION,
            log_groups=dict(list(sim_groups(sim, account).items())[:3]),
            start=SIM_END - timedelta(hours=1),
            end=SIM_END,
        )
    assert info.value.iam_action == "logs:StartQuery"


@pytest.mark.aws
def test_sim_account_query_limit_and_time_split(sim):
    """36 queries with room for 40: the sim's 30-query limit holds the rest until ours finish.

    6 s bins over 34 h are 20,400 bins per group: three time chunks of ≤ 10,000 bins, one group a query.
    """
    account = Account(
        name="demo", demo=True, regions=("us-east-1", "eu-west-1"), sim=SimSpec(functions=300), max_attempts=1
    )
    model = sim.model_for(account)
    groups = dict(list(sim_groups(sim, account).items())[:12])
    start = SIM_END - timedelta(hours=34)
    frame = L.report_stats(
        account=account, region=REGION, log_groups=groups, start=start, end=SIM_END, bin_s=6, max_concurrent=40
    )
    used = METER.snapshot()
    assert frame.attrs["queries"] == 36
    assert used.count("StartQuery") == 37  # the 31st was refused once, then one started per finished query
    for function in groups:
        truth = model.series(function, start=start, end=SIM_END, period=60, region=REGION)
        assert frame.loc[frame["function"] == function, "reports"].sum() == truth["invocations"].sum(), function
