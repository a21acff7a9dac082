"""Right-sizing on small frames priced by hand (us-east-1: x86 $0.0000166667, arm64 $0.0000133334 per GB-s;
provisioned concurrency enabled x86 $0.0000041667 per GB-s), then on the simulated account."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from aws import sim
from aws.frames import typed_frame
from aws.metrics import LAMBDA_SCHEMA
from dashboard.config.settings import Settings
from dashboard.figures import cost_report
from dashboard.figures.cost_estimate import ESTIMATE_SCHEMA
from dashboard.figures.pricing import load_prices
from dashboard.figures.rightsizing import ADVICE_SCHEMA, RIGHTSIZE_SCHEMA, recommend_memory, recommendations, rightsize
from dashboard.query import sources

PRICES = load_prices()


def test_recommend_memory():
    assert recommend_memory(300.0) == 384  # 360 → up to 64 MB steps
    assert recommend_memory(50.0) == 128  # the floor
    assert recommend_memory(9000.0) == 10240  # the ceiling
    assert recommend_memory(320.0, headroom=0.0) == 320


def _frames():
    inv = pd.DataFrame(
        [
            {
                "account": "a",
                "region": "us-east-1",
                "function": "big",
                "architecture": "x86_64",
                "memory_mb": 1024,
                "provisioned_concurrency": None,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "huge",
                "architecture": "arm64",
                "memory_mb": 3008,
                "provisioned_concurrency": None,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "pc",
                "architecture": "x86_64",
                "memory_mb": 1024,
                "provisioned_concurrency": 2,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "idle",
                "architecture": "x86_64",
                "memory_mb": 128,
                "provisioned_concurrency": None,
            },
        ]
    )
    inv["provisioned_concurrency"] = inv["provisioned_concurrency"].astype("Int64")
    ts = pd.Timestamp("2026-11-01", tz="UTC")
    met = typed_frame(
        [
            {
                "account": "a",
                "region": "us-east-1",
                "function": "big",
                "timestamp": ts,
                "period_s": 86400,
                "invocations": 1000,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "huge",
                "timestamp": ts,
                "period_s": 86400,
                "invocations": 10,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "pc",
                "timestamp": ts,
                "period_s": 86400,
                "invocations": 500,
                "pc_utilization_max": 0.3,
            },
            {
                "account": "a",
                "region": "us-east-1",
                "function": "pc",
                "timestamp": ts + pd.Timedelta(days=1),
                "period_s": 86400,
                "invocations": 500,
                "pc_utilization_max": 0.1,
            },
        ],
        LAMBDA_SCHEMA,
    )
    # big: per-bin max 200..300 MB → p99 ≈ 299 (100 bins); huge: 2,000 MB; pc 500
    mem = typed_frame(
        [
            {
                "account": "a",
                "region": "us-east-1",
                "function": "big",
                "timestamp": ts + pd.Timedelta(hours=i),
                "bin_s": 3600,
                "used_mb_max": 200.0 + i,
            }
            for i in range(101)
        ]
        + [
            {
                "account": "a",
                "region": "us-east-1",
                "function": "huge",
                "timestamp": ts,
                "bin_s": 3600,
                "used_mb_max": 2000.0,
            }
        ]
        + [
            {
                "account": "a",
                "region": "us-east-1",
                "function": "pc",
                "timestamp": ts,
                "bin_s": 3600,
                "used_mb_max": 500.0,
            }
        ],
        sources.MEMORY_SCHEMA,
    )
    base = {
        "account": "a",
        "region": "us-east-1",
        "date": pd.Timestamp("2026-11-01"),
        "basis": "billed_duration",
        "lower_estimate": False,
    }
    est = typed_frame(
        [
            {**base, "function": "big", "architecture": "x86_64", "compute_usd": 3.0, "billed_gb_s": 180_000.0},
            {**base, "function": "huge", "architecture": "arm64", "compute_usd": 1.0, "billed_gb_s": 75_000.0},
            {
                **base,
                "function": "pc",
                "architecture": "x86_64",
                "billed_gb_s": 1000.0,
                "provisioned_enabled_gb_s": 345_600.0,
            },
        ],
        ESTIMATE_SCHEMA,
    )
    return inv, met, mem, est


def test_rightsize_by_hand():
    inv, met, mem, est = _frames()
    frame = rightsize(inventory=inv, metrics=met, memory=mem, estimate=est, prices=PRICES, days=3.0)
    assert list(frame.columns) == list(RIGHTSIZE_SCHEMA)
    got = frame.set_index("function")
    big = got.loc["big"]
    # p99 of 200..300 = 299 MB; × 1.2 = 358.8 → 384 MB. Monthly compute 3.0 × 30/3 = $30; saving 30 × (1 − 384/1024) = $18.75
    assert (big["used_mb_pct"], big["recommended_mb"]) == (pytest.approx(299.0), 384)
    assert big["monthly_compute_usd"] == pytest.approx(30.0) and big["monthly_saving_usd"] == pytest.approx(18.75)
    assert bool(big["duration_may_change"]) and not bool(big["beyond_compute_optimizer"])  # below a full vCPU: less CPU
    # arm64 what-if: 180,000 GB-s × 10 = 1.8 M GB-s a month × (0.0000166667 − 0.0000133334) = $5.99994
    assert big["arm64_saving_usd"] == pytest.approx(1.8e6 * (0.0000166667 - 0.0000133334))
    huge = got.loc["huge"]
    # 2,000 × 1.2 = 2,400 → 2,432 MB; over 1,792 MB and 10 invocations: Compute Optimizer would not answer; we do
    assert huge["recommended_mb"] == 2432 and bool(huge["beyond_compute_optimizer"])
    assert (
        huge["data_note"]
        == "10 invocations and 1 bin(s) of memory data over 3 day(s); Compute Optimizer would not answer (over 1,792 MB, fewer than 50 invocations)"
    )
    assert pd.isna(huge["arm64_saving_usd"])  # already arm64
    assert huge["monthly_saving_usd"] == pytest.approx(10.0 * (1 - 2432 / 3008))
    pc = got.loc["pc"]
    # enabled 345,600 GB-s × $0.0000041667 × 10 = $14.40; mean utilisation 0.2 → idle $11.52
    assert pc["pc_utilization"] == pytest.approx(0.2) and pc["pc_idle_usd"] == pytest.approx(
        345_600 * 0.0000041667 * 10 * 0.8
    )
    assert pd.isna(pc["arm64_saving_usd"])
    idle = got.loc["idle"]
    assert bool(idle["unused"]) and pd.isna(idle["recommended_mb"]) and idle["invocations"] == 0

    advice = recommendations(frame)
    assert list(advice.columns) == list(ADVICE_SCHEMA)
    assert advice[["function", "kind"]].values.tolist() == [
        ["big", "memory"],
        ["pc", "provisioned_concurrency"],
        ["big", "arm64"],
        ["huge", "memory"],
        ["idle", "unused"],  # $0 a month, by name
        ["pc", "memory"],  # 500 MB → 640 MB, but its duration is priced as provisioned: $0 on demand
    ]
    assert (
        advice.iloc[0]["advice"]
        == "Lower memory 1,024 → 384 MB (duration would likely change: measure after the change)"
    )
    assert advice.iloc[1]["advice"] == "Provisioned concurrency 2 is 80% idle: lower it"
    assert advice.iloc[-2]["advice"] == "No invocations in 3 days: delete it or confirm it is still needed"


@pytest.mark.aws
def test_rightsizing_on_the_simulated_account():
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    sim.set_clock(lambda: now)
    try:
        frame, loaded = cost_report.rightsizing(Settings(), now=now)
    finally:
        sim.set_clock(None)
    assert not loaded.errors and len(frame) == 48
    assert frame["unused"].sum() >= 1  # the simulated account keeps a function nobody calls
    pcs = frame[frame["provisioned_concurrency"].notna()]
    assert len(pcs) == 2 and (pcs["pc_idle_usd"] > 0).all()
    assert (frame.loc[frame["architecture"] == "arm64", "arm64_saving_usd"].isna()).all()
    big = frame[frame["memory_mb"] > 1792]
    assert len(big) and big["beyond_compute_optimizer"].all() and big["recommended_mb"].notna().any()
