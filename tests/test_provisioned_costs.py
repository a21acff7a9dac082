"""Provisioned concurrency over time, SnapStart and response streaming: AWS's worked examples to the cent through
the public functions, the evidence turned into days by hand, and the simulated account's bill reconciled."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from aws import functions
from aws.frames import typed_frame
from aws.metrics import LAMBDA_SCHEMA
from aws.provisioned import ACTIVITY_SCHEMA, CONFIG_SCHEMA, PC_METRICS_SCHEMA
from dashboard.figures import provisioned as pcf
from dashboard.figures.cost_estimate import FEATURES_SCHEMA, estimate, free_tier_credit
from dashboard.figures.pricing import (
    load_prices,
    provisioned_billed_s,
    snapstart_cache_gb_s,
    snapstart_cost_usd,
    streamed_beyond_bounds,
    streaming_cost_usd,
)
from dashboard.query import sources

PRICES = load_prices()
USE1 = PRICES.prices("us-east-1")
MB = 1024 * 1024


def _inv(function: str, memory_mb: int, runtime: str = "nodejs20.x") -> pd.DataFrame:
    row = {
        "account": "acme",
        "region": "us-east-1",
        "function": function,
        "arn": f"arn:{function}",
        "runtime": runtime,
        "architecture": "x86_64",
        "memory_mb": memory_mb,
        "ephemeral_storage_mb": 512,
        "timeout_s": 30,
        "code_size_bytes": 1000,
        "last_modified": "2026-10-01T00:00Z",
    }
    return typed_frame([row], functions.SCHEMA)


def _day(function: str, day: str, requests: float, billed_s: float, memory_mb: int) -> tuple[dict, dict]:
    ts = pd.Timestamp(day, tz="UTC")
    met = {"account": "acme", "region": "us-east-1", "function": function, "timestamp": ts, "period_s": 86400,
           "invocations": requests, "duration_avg_ms": billed_s * 1000 / requests}  # fmt: skip
    mem = {"account": "acme", "region": "us-east-1", "function": function, "timestamp": ts, "bin_s": 86400,
           "source": "logs_insights", "reports": requests, "billed_ms_sum": billed_s * 1000,
           "gb_seconds": billed_s * memory_mb / 1024, "memory_mb": float(memory_mb)}  # fmt: skip
    return met, mem


# --- AWS's worked examples, to the cent ------------------------------------------------------------


def test_provisioned_concurrency_example_1_enabled_for_8_hours_of_a_month():
    # AWS: 1536 MB, PC 100 from noon to 8 p.m. on launch day; 500,000 requests of 100 ms on PC that day,
    # 2,500,000 of 120 ms the rest of the month without PC; free tier. $18 + $0.40 + $0.73 + $0.83 = $19.96.
    days = [_day("app", "2026-11-10", 500_000, 50_000, 1536)]
    days += [_day("app", f"2026-11-{d:02d}", 100_000, 12_000, 1536) for d in range(11, 36) if d <= 30] + [
        _day("app", "2026-11-01", 100_000, 12_000, 1536),
        _day("app", "2026-11-02", 100_000, 12_000, 1536),
        _day("app", "2026-11-03", 100_000, 12_000, 1536),
        _day("app", "2026-11-04", 100_000, 12_000, 1536),
        _day("app", "2026-11-05", 100_000, 12_000, 1536),
    ]
    assert sum(m["invocations"] for m, _ in days) == 3_000_000
    metrics = typed_frame([m for m, _ in days], LAMBDA_SCHEMA)
    memory = typed_frame([b for _, b in days], sources.MEMORY_SCHEMA)
    # what AWS records: set to 100 at 12:00, removed at 20:00 (a scaling activity, then the config gone)
    acts = typed_frame(
        [
            {"account": "acme", "region": "us-east-1", "function": "app", "qualifier": "live",
             "time": "2026-11-10T12:00Z", "level": 100, "status": "Successful", "cause": "launch"},
            {"account": "acme", "region": "us-east-1", "function": "app", "qualifier": "live",
             "time": "2026-11-10T20:00Z", "level": 0, "status": "Successful", "cause": "after launch"},
        ],
        ACTIVITY_SCHEMA,
    )  # fmt: skip
    pc_met = typed_frame(
        [{"account": "acme", "region": "us-east-1", "function": "app", "timestamp": "2026-11-10T12:00Z",
          "period_s": 28800, "pc_executions_max": 60, "pc_utilization_max": 0.6, "pc_invocations": 500_000,
          "pc_spillover": 0}],
        PC_METRICS_SCHEMA,
    )  # fmt: skip
    pc = pcf.daily(
        configs=typed_frame([], CONFIG_SCHEMA),
        activities=acts,
        metrics=pc_met,
        start=datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert pc[["date", "environment_s", "basis"]].values.tolist() == [[pd.Timestamp("2026-11-10"), 100 * 28_800, "recorded"]]
    est = estimate(inventory=_inv("app", 1536), metrics=metrics, memory=memory, prices=PRICES, provisioned=pc)
    bill = est["total_usd"].sum() + free_tier_credit(est)["credit_usd"].sum()
    assert round(bill, 2) == 19.96
    assert round(est["provisioned_usd"].sum(), 2) == round(18.000144 + 0.729165, 2)  # enabled $18 + executing $0.73
    # today's allocation assumed constant (the old way) is what the issue measured: far from the bill
    old = estimate(inventory=_inv("app", 1536).assign(provisioned_concurrency=pd.array([100], dtype="Int64")),
                   metrics=metrics, memory=memory, prices=PRICES)  # fmt: skip
    assert (old["pc_basis"] == "assumed").all() and old["total_usd"].sum() > 1000


def test_snapstart_example_to_the_cent():
    # AWS: 7.44M requests of 2 s at 1 GB (Python, one version active 31 days), 1 % restores → $263.92
    assert snapstart_cache_gb_s(memory_mb=1024, active_s=2_678_400) == 2_678_400
    assert round(snapstart_cost_usd(cache_gb_s=2_678_400, restore_gb=74_400, prices=USE1, runtime="python3.12"), 2) == 14.43
    assert snapstart_cost_usd(cache_gb_s=2_678_400, restore_gb=74_400, prices=USE1, runtime="java21") == 0.0
    met, mem = _day("infer", "2026-10-01", 7_440_000, 14_880_000, 1024)
    feats = typed_frame(
        [{"account": "acme", "region": "us-east-1", "function": "infer", "date": "2026-10-01",
          "snapstart_cache_gb_s": 2_678_400, "snapstart_restores": 74_400}],
        FEATURES_SCHEMA,
    )  # fmt: skip
    est = estimate(inventory=_inv("infer", 1024, "python3.12"), metrics=typed_frame([met], LAMBDA_SCHEMA),
                   memory=typed_frame([mem], sources.MEMORY_SCHEMA), prices=PRICES, free_tier=False, features=feats)  # fmt: skip
    assert round(est["total_usd"].sum(), 2) == 263.92
    java = estimate(inventory=_inv("infer", 1024, "java21"), metrics=typed_frame([met], LAMBDA_SCHEMA),
                    memory=typed_frame([mem], sources.MEMORY_SCHEMA), prices=PRICES, free_tier=False, features=feats)  # fmt: skip
    assert round(java["total_usd"].sum(), 2) == 249.49  # no SnapStart charge on a Java managed runtime


def test_streaming_example_to_the_cent():
    # AWS: 3M requests of 500 ms at 1536 MB; 2M responses of 100 KB and 1M of 7 MB; streaming free tier used up
    assert streaming_cost_usd(gb_beyond_6_mb=1_000_000 * 1 / 1024, prices=USE1) == pytest.approx(7.8125)
    # two days, each with responses on one side of 6 MB: the bound from the sums is exact
    days = [_day("ssr", "2026-10-01", 2_000_000, 1_000_000, 1536), _day("ssr", "2026-10-02", 1_000_000, 500_000, 1536)]
    feats = typed_frame(
        [{"account": "acme", "region": "us-east-1", "function": "ssr", "date": "2026-10-01",
          "streamed_bytes": 2_000_000 * 100 * 1024, "streamed_responses": 2_000_000},
         {"account": "acme", "region": "us-east-1", "function": "ssr", "date": "2026-10-02",
          "streamed_bytes": 1_000_000 * 7 * MB, "streamed_responses": 1_000_000}],
        FEATURES_SCHEMA,
    )  # fmt: skip
    est = estimate(inventory=_inv("ssr", 1536), metrics=typed_frame([m for m, _ in days], LAMBDA_SCHEMA),
                   memory=typed_frame([b for _, b in days], sources.MEMORY_SCHEMA), prices=PRICES,
                   features=feats, streaming_free_gb=0.0)  # fmt: skip
    credit = free_tier_credit(est)
    compute = est["compute_usd"].sum() - (credit["gb_s_free"].sum() * USE1.gb_second)
    requests = est["requests_usd"].sum() - credit["requests_free"].sum() * USE1.request
    streamed = est["streaming_usd"].sum()
    # AWS rounds each part: $30.83 + $0.40 + $7.81 = $39.04 (unrounded $39.0459)
    assert [round(compute, 2), round(requests, 2), round(streamed, 2)] == [30.83, 0.40, 7.81]
    assert round(compute, 2) + round(requests, 2) + round(streamed, 2) == pytest.approx(39.04)
    assert est["total_usd"].sum() + credit["credit_usd"].sum() == pytest.approx(30.833395 + 0.40 + 7.8125, abs=1e-6)
    # from sums alone the split per response is not known: the charge is the lower bound, and says so
    assert est["lower_estimate"].all() and (est["streaming_gb_high"] > est["streaming_gb"]).all()


def test_streamed_bytes_from_a_sum_are_bounded():
    # 3 responses, 20 MB in all: evenly 6.67 MB each → 2 MB beyond; at most one 20 MB response → 14 MB beyond
    low, high = streamed_beyond_bounds(total_bytes=20 * MB, responses=3)
    assert (low, high) == (2 * MB, 14 * MB)
    assert streamed_beyond_bounds(total_bytes=3 * MB, responses=3) == (0.0, 0.0)


def test_provisioned_concurrency_is_billed_in_5_minute_steps():
    assert provisioned_billed_s(28_800) == 28_800 and provisioned_billed_s(28_801) == 29_100
    # enabled 10:00:40 to 10:03:10: one 5-minute step
    acts = typed_frame(
        [{"account": "a", "region": "r", "function": "f", "qualifier": "live", "time": t, "level": v, "status": "Successful"}
         for t, v in (("2026-11-02T10:00:40Z", 3), ("2026-11-02T10:03:10Z", 0))],
        ACTIVITY_SCHEMA,
    )  # fmt: skip
    pc = pcf.daily(configs=typed_frame([], CONFIG_SCHEMA), activities=acts, metrics=typed_frame([], PC_METRICS_SCHEMA),
                   start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 3, tzinfo=UTC))  # fmt: skip
    assert pc["environment_s"].tolist() == [3 * 300]


def _acts_working_hours(days: range) -> pd.DataFrame:
    rows = []
    for d in days:
        for h, v in ((8, 4), (18, 1)):
            rows.append({"account": "a", "region": "r", "function": "f", "qualifier": "live",
                         "time": f"2026-11-{d:02d}T{h:02d}:00Z", "level": v, "status": "Successful"})  # fmt: skip
    return typed_frame(rows, ACTIVITY_SCHEMA)


def test_scheduled_working_hours_are_recorded_day_by_day():
    cfg = typed_frame([{"account": "a", "region": "r", "function": "f", "qualifier": "live", "allocated": 1,
                        "requested": 1, "status": "READY", "last_modified": "2026-11-04T18:00Z"}], CONFIG_SCHEMA)  # fmt: skip
    pc = pcf.daily(configs=cfg, activities=_acts_working_hours(range(1, 5)), metrics=None,
                   start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 11, 5, tzinfo=UTC))  # fmt: skip
    # Nov 2-4: 10 h at 4 + 14 h at 1 = 54 environment-hours a day, all on record
    assert pc["environment_s"].tolist() == [54 * 3600] * 3 and (pc["basis"] == "recorded").all()


def test_pc_without_any_record_is_assumed_constant_and_says_so():
    # a config set on Nov 3 10:00 and nothing else (no scaling activity, no metrics readable): before it, assumed
    cfg = typed_frame([{"account": "a", "region": "r", "function": "f", "qualifier": "live", "allocated": 2,
                        "requested": 2, "status": "READY", "last_modified": "2026-11-03T10:00Z"}], CONFIG_SCHEMA)  # fmt: skip
    pc = pcf.daily(configs=cfg, activities=None, metrics=None,
                   start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 11, 4, tzinfo=UTC))  # fmt: skip
    assert pc["basis"].tolist() == ["assumed", "assumed", "recorded"][: len(pc)] or pc["basis"].tolist() == ["assumed", "assumed"]
    assert pc["environment_s"].sum() == 2 * 2 * 86400
    assert "assumed constant from 2026-11-02 00:00 to 2026-11-03 10:00 UTC" in pc.attrs["notes"][0]


def test_pc_removed_mid_month_comes_from_the_metrics():
    # nothing configured now, no scaling activity: CloudWatch shows PC 100 serving invocations 12:00-20:00 on Nov 10
    met = typed_frame(
        [{"account": "a", "region": "r", "function": "f", "timestamp": f"2026-11-10T{h:02d}:00Z", "period_s": 3600,
          "pc_executions_max": 2, "pc_utilization_max": 0.02, "pc_invocations": 1000, "pc_spillover": 0}
         for h in range(12, 20)],
        PC_METRICS_SCHEMA,
    )  # fmt: skip
    pc = pcf.daily(configs=typed_frame([], CONFIG_SCHEMA), activities=typed_frame([], ACTIVITY_SCHEMA), metrics=met,
                   start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC))  # fmt: skip
    assert pc[["date", "environment_s", "basis", "pc_invocations"]].values.tolist() == [
        [pd.Timestamp("2026-11-10"), 100 * 8 * 3600, "metrics", 8000.0]
    ]


# --- the simulated account: scheduled PC, PC for 8 hours, SnapStart (Java and Python), streaming --------------


@pytest.mark.aws
def test_costs_page_reconciliation_within_1_percent_a_day_with_pc_snapstart_and_streaming():
    from aws import sim
    from dashboard.config.settings import Settings
    from dashboard.figures import cost_report

    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
    sim.set_clock(lambda: now)
    try:
        settings = Settings(accounts=[{"name": "demo", "demo": True, "regions": ["us-east-1", "eu-west-1"],
                                       "simulation": {"functions": 54, "seed": 7}}])  # fmt: skip
        report = cost_report.gather(settings, now=now)
    finally:
        sim.set_clock(None)
    rec = report.reconciliation()
    assert len(rec) == 19 and rec["actual_usd"].notna().all()
    assert rec["unexplained_share"].abs().max() < 0.01, rec
    est = report.estimate
    launch = est[est["function"] == "media-launch-api"]
    assert launch.loc[launch["provisioned_enabled_gb_s"] > 0, "date"].tolist() == [pd.Timestamp("2026-11-10")]
    assert launch["provisioned_enabled_gb_s"].sum() == pytest.approx(100 * 1.5 * 8 * 3600)
    basket = est[est["function"] == "payments-basket-api"]
    assert (basket["pc_basis"] == "recorded").all()
    assert basket["provisioned_enabled_gb_s"].tolist() == [54 * 3600.0] * len(basket)  # 10 h × 4 + 14 h × 1, 1 GB
    assert (basket["billed_gb_s"] > basket["provisioned_executing_gb_s"]).all()  # evening spillover at on-demand rates
    ranker = est[est["function"] == "search-ranker-api"]
    assert (ranker["snapstart_usd"] > 0).all()
    assert (est.loc[est["function"] == "payments-ledger-java", "snapstart_usd"] == 0).all()


@pytest.mark.aws
@pytest.mark.parametrize("source", ["lambda_insights", "logs_insights", "filter_log_events"])
def test_snapstart_restores_are_read_from_report_lines_only_else_unknown_and_a_lower_estimate(source):
    # Restores are in REPORT lines ("Restore Duration"), counted where each line is read (FilterLogEvents). Lambda
    # Insights' performance events carry cold starts and init_duration, no restore (AWS's example event), and the
    # Logs Insights query counts INIT: on those paths a SnapStart function's restores are unknown, not zero, and
    # the estimate charges the cache alone and says it is a lower estimate (not on Java, which pays neither).
    from dashboard.config.settings import Settings
    from dashboard.figures import cost_report

    settings = Settings(accounts=[{"name": "acme", "demo": True, "regions": ["us-east-1"],
                                   "simulation": {"functions": 54, "seed": 7, "now": "2026-11-20T15:30:00Z"}}])  # fmt: skip
    inv = sources.inventory(settings).frame
    snap = inv[inv["snapstart"].fillna(False).astype(bool)]
    assert set(snap["runtime"]) >= {"java21", "python3.12"}
    day = pd.Timestamp("2026-11-19", tz="UTC")
    mem = typed_frame(
        [{"account": "acme", "region": "us-east-1", "function": f, "timestamp": day, "bin_s": 86400, "source": source,
          "cold_starts": 40, "reports": None if source == "lambda_insights" else 10_000} for f in snap["function"]],
        sources.MEMORY_SCHEMA,
    )  # fmt: skip
    start, end = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    _, feats, _, _ = cost_report.provisioned_history(
        settings, inv, typed_frame([], LAMBDA_SCHEMA), mem, start, end, now=end, force=True
    )
    feats = feats.set_index("function")
    assert (feats.loc[list(snap["function"]), "snapstart_cache_gb_s"] > 0).all()
    restores = feats.loc[list(snap["function"]), "snapstart_restores"]
    if source == "filter_log_events":
        assert (restores == 40).all()
    else:
        assert restores.isna().all()
    est = estimate(inventory=inv[inv["function"].isin(snap["function"])], metrics=typed_frame([], LAMBDA_SCHEMA),
                   memory=mem, prices=PRICES, features=feats.reset_index(), free_tier=False)  # fmt: skip
    by_runtime = est.merge(snap[["function", "runtime"]], on="function").set_index("runtime")
    assert by_runtime.loc["java21", "snapstart_usd"] == 0.0 and not by_runtime.loc["java21", "lower_estimate"]
    py = by_runtime.loc["python3.12"]
    assert py["snapstart_usd"] > 0
    assert bool(py["lower_estimate"]) is (source != "filter_log_events")
    cache_usd = py["snapstart_cache_gb_s"] * USE1.snapstart_cache_gb_second
    if source == "filter_log_events":
        assert py["snapstart_usd"] == pytest.approx(cache_usd + 40 * py["memory_mb"] / 1024 * USE1.snapstart_restore_gb)
    else:
        assert py["snapstart_usd"] == pytest.approx(cache_usd) and np.isnan(py["snapstart_restore_gb"])


def test_invocations_on_pc_not_read_are_not_taken_as_none():
    # a day with PC whose ProvisionedConcurrencyInvocations could not be read (NaN): the day's invocations are taken
    # as served by PC (the docstring's rule), not as 0 on PC (which would bill them all on demand)
    met, mem = _day("app", "2026-11-10", 500_000, 50_000, 1536)
    pc = typed_frame([{"account": "acme", "region": "us-east-1", "function": "app", "date": "2026-11-10",
                       "environment_s": 100 * 28_800, "level_max": 100, "pc_invocations": np.nan,
                       "pc_spillover": np.nan, "basis": "recorded", "note": ""}], pcf.PC_DAILY_SCHEMA)  # fmt: skip
    est = estimate(inventory=_inv("app", 1536), metrics=typed_frame([met], LAMBDA_SCHEMA),
                   memory=typed_frame([mem], sources.MEMORY_SCHEMA), prices=PRICES, provisioned=pc, free_tier=False)  # fmt: skip
    assert est["provisioned_executing_gb_s"].tolist() == pytest.approx([75_000.0]) and est["compute_usd"].sum() == 0.0
