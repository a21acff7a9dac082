"""The per-function summary, from small hand-made frames."""

from __future__ import annotations

import math

import pandas as pd

from aws import functions as lam
from aws import metrics as cw
from aws.frames import typed_frame
from dashboard.figures.usage import SCHEMA, summarize
from dashboard.query import sources

T0 = pd.Timestamp("2026-11-25T10:00:00Z")


def inv_frame() -> pd.DataFrame:
    rows = [
        {"account": "a", "region": "us-east-1", "function": "api", "arn": "arn:1", "runtime": "python3.12", "architecture": "arm64", "memory_mb": 512, "timeout_s": 10, "ephemeral_storage_mb": 512, "code_size_bytes": 1, "last_modified": T0},
        {"account": "a", "region": "us-east-1", "function": "idle", "arn": "arn:2", "runtime": "nodejs20.x", "architecture": "x86_64", "memory_mb": 128, "timeout_s": 3, "ephemeral_storage_mb": 512, "code_size_bytes": 1, "last_modified": T0},
    ]
    f = typed_frame(rows, lam.SCHEMA)
    f["tags"] = [{"team": "payments"}, {}]
    f["team"] = pd.Series(["payments", "untagged"], dtype="string")
    return f


def met_frame() -> pd.DataFrame:
    rows = [
        {"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0, "period_s": 60, "invocations": 100.0, "errors": 5.0, "throttles": 0.0, "duration_avg_ms": 10.0, "duration_p99_ms": 50.0, "duration_max_ms": 80.0, "concurrency_max": 3.0},
        {"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0 + pd.Timedelta(minutes=1), "period_s": 60, "invocations": 300.0, "errors": 1.0, "throttles": 2.0, "duration_avg_ms": 30.0, "duration_p99_ms": 70.0, "duration_max_ms": 120.0, "concurrency_max": 7.0},
    ]
    return typed_frame(rows, cw.LAMBDA_SCHEMA)


def mem_frame() -> pd.DataFrame:
    rows = [
        {"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0, "bin_s": 3600, "reports": 400, "cold_starts": 3, "gb_seconds": 4.5, "used_mb_max": 256.0, "memory_mb": 512.0, "source": "logs_insights"},
    ]
    return typed_frame(rows, sources.MEMORY_SCHEMA)


def test_summary_rows():
    out = summarize(inv_frame(), met_frame(), mem_frame())
    assert list(out.columns) == list(SCHEMA)
    api, idle = out.iloc[0], out.iloc[1]
    assert api.function == "api" and idle.function == "idle"
    assert (api.invocations, api.errors, api.throttles) == (400.0, 6.0, 2.0)
    assert api.error_rate == 1.5
    assert api.duration_avg_ms == (100 * 10 + 300 * 30) / 400
    assert api.duration_p99_ms == 70.0  # without range stats: the highest period p99
    assert (api.duration_max_ms, api.concurrency_max) == (120.0, 7.0)
    assert (api.cold_starts, api.max_memory_used_mb, api.memory_used_pct, api.billed_gb_seconds) == (3.0, 256.0, 50.0, 4.5)
    assert api.team == "payments" and idle.team == "untagged"
    assert idle.invocations == 0.0 and math.isnan(idle.error_rate) and math.isnan(idle.duration_avg_ms)


def test_range_stats_give_the_exact_p99():
    stats = typed_frame([{"account": "a", "region": "us-east-1", "function": "api", "duration_p99_ms": 64.5}], cw.RANGE_SCHEMA)
    out = summarize(inv_frame(), met_frame(), mem_frame(), stats)
    assert out.set_index("function").loc["api", "duration_p99_ms"] == 64.5


def test_empty_inputs_give_an_empty_frame_with_columns():
    inv = inv_frame().iloc[0:0]
    out = summarize(inv, met_frame().iloc[0:0], mem_frame().iloc[0:0])
    assert out.empty and list(out.columns) == list(SCHEMA)
