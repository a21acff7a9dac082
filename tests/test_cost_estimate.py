"""The per-function cost estimate: tiny frames priced by hand, then the simulated account's bill.

Hand-worked figures use us-east-1's list prices (the same in eu-west-1 in the price file):
requests $0.0000002; GB-s x86 $0.0000166667 (from 6 B a month $0.000015), arm64 $0.0000133334
(from 7.5 B $0.0000120001); storage $0.0000000309 per GB-s above 512 MB; provisioned concurrency
x86 $0.0000041667 enabled + $0.0000097222 executing per GB-s.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from aws import costs as ce
from aws import functions, session, sim
from aws.frames import typed_frame
from aws.metrics import LAMBDA_SCHEMA
from dashboard.config.settings import Settings
from dashboard.figures.cost_estimate import ESTIMATE_SCHEMA, FREE_TIER_SCHEMA, estimate, free_tier_credit
from dashboard.figures.pricing import load_prices
from dashboard.query import sources
from dashboard.query.timerange import TimeRange

PRICES = load_prices()


def _inv(*rows: dict) -> pd.DataFrame:
    base = {
        "account": "acme",
        "region": "us-east-1",
        "architecture": "x86_64",
        "memory_mb": 512,
        "ephemeral_storage_mb": 512,
        "timeout_s": 30,
        "code_size_bytes": 1000,
        "last_modified": "2026-10-01T00:00Z",
    }
    frame = typed_frame([{**base, "arn": f"arn:{r['function']}", **r} for r in rows], functions.SCHEMA)
    frame["provisioned_concurrency"] = pd.array([r.get("provisioned_concurrency") for r in rows], dtype="Int64")
    return frame


def _metrics(*rows: dict) -> pd.DataFrame:
    base = {"account": "acme", "region": "us-east-1", "period_s": 86400}
    return typed_frame([{**base, **r} for r in rows], LAMBDA_SCHEMA)


def _memory(*rows: dict) -> pd.DataFrame:
    base = {"account": "acme", "region": "us-east-1", "bin_s": 86400, "source": "logs_insights"}
    return typed_frame([{**base, **r} for r in rows], sources.MEMORY_SCHEMA)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _row(frame: pd.DataFrame, function: str, day: str) -> pd.Series:
    got = frame[(frame["function"] == function) & (frame["date"] == pd.Timestamp(day))]
    assert len(got) == 1, got
    return got.iloc[0]


# --- by hand ---------------------------------------------------------------------------------------

# The docstring's worked example: us-east-1, x86_64, 512 MB, one day (2026-11-20) of 2,000,000
# invocations in two periods: 1,500,000 averaging 100 ms and 500,000 averaging 180 ms.
_API_INV = _inv({"function": "api"})
_API_METRICS = _metrics(
    {
        "function": "api",
        "timestamp": _ts("2026-11-20T00:00"),
        "period_s": 43200,
        "invocations": 1_500_000,
        "duration_avg_ms": 100.0,
    },
    {
        "function": "api",
        "timestamp": _ts("2026-11-20T12:00"),
        "period_s": 43200,
        "invocations": 500_000,
        "duration_avg_ms": 180.0,
    },
)
_API_REPORTS = _memory(
    {"function": "api", "timestamp": _ts("2026-11-20T00:00"), "reports": 1_200_000, "billed_ms_sum": 180_000_000.0, "gb_seconds": 90_000.0, "memory_mb": 512.0},
    {"function": "api", "timestamp": _ts("2026-11-20T12:00"), "reports": 800_000, "billed_ms_sum": 120_000_000.0, "gb_seconds": 60_000.0, "memory_mb": 512.0},
)  # fmt: skip


def test_billed_duration_basis_by_hand():
    # REPORT lines: 300,000 billed seconds × 512/1024 GB = 150,000 GB-s
    # requests 2,000,000 × $0.0000002 = $0.40; compute 150,000 × $0.0000166667 = $2.500005 → $2.900005
    est = estimate(inventory=_API_INV, metrics=_API_METRICS, memory=_API_REPORTS, prices=PRICES, free_tier=False)
    assert list(est.columns) == list(ESTIMATE_SCHEMA)
    assert est.dtypes.astype(str).tolist() == [str(pd.Series(dtype=t).dtype) for t in ESTIMATE_SCHEMA.values()]
    r = _row(est, "api", "2026-11-20")
    assert (r["requests"], r["billed_gb_s"], r["basis"], bool(r["lower_estimate"])) == (
        2_000_000,
        150_000,
        "billed_duration",
        False,
    )
    assert r["requests_usd"] == pytest.approx(0.40, abs=1e-12)
    assert r["compute_usd"] == pytest.approx(2.500005, abs=1e-9)
    assert (r["ephemeral_usd"], r["provisioned_usd"]) == (0.0, 0.0)
    assert r["total_usd"] == pytest.approx(2.900005, abs=1e-9)


def test_duration_metric_basis_is_a_lower_estimate():
    # No REPORT lines: Σ Duration average × Invocations = 1,500,000 × 100 ms + 500,000 × 180 ms = 240,000 s
    # (not the mean of the averages, 140 ms) → × 0.5 GB = 120,000 GB-s × $0.0000166667 = $2.000004
    # + requests $0.40 = $2.400004, marked lower_estimate
    no_reports = _memory()
    est = estimate(inventory=_API_INV, metrics=_API_METRICS, memory=no_reports, prices=PRICES, free_tier=False)
    r = _row(est, "api", "2026-11-20")
    assert (r["billed_gb_s"], r["basis"], bool(r["lower_estimate"])) == (120_000, "duration_metric", True)
    assert r["compute_usd"] == pytest.approx(2.000004, abs=1e-9)
    assert r["total_usd"] == pytest.approx(2.400004, abs=1e-9)
    # Lambda Insights rows (no billed duration) leave the Duration basis in place
    insights = _memory(
        {
            "function": "api",
            "timestamp": _ts("2026-11-20"),
            "memory_mb": 512.0,
            "used_mb_max": 300.0,
            "source": "lambda_insights",
        }
    )
    est = estimate(inventory=_API_INV, metrics=_API_METRICS, memory=insights, prices=PRICES, free_tier=False)
    assert _row(est, "api", "2026-11-20")["billed_gb_s"] == 120_000


def test_init_from_lambda_insights_is_added_to_the_duration_basis():
    # Insights rows carrying cold starts and mean INIT: 1,000 cold starts × 2,000 ms = 2,000 s more
    # → (240,000 + 2,000) s × 0.5 GB = 121,000 GB-s × $0.0000166667 = $2.0166707; still a lower estimate (rounding)
    insights = _memory(
        {"function": "api", "timestamp": _ts("2026-11-20T00:00"), "bin_s": 3600, "cold_starts": 600, "init_ms_mean": 2000.0, "source": "lambda_insights"},
        {"function": "api", "timestamp": _ts("2026-11-20T05:00"), "bin_s": 3600, "cold_starts": 400, "init_ms_mean": 2000.0, "source": "lambda_insights"},
    )  # fmt: skip
    r = _row(
        estimate(inventory=_API_INV, metrics=_API_METRICS, memory=insights, prices=PRICES, free_tier=False),
        "api",
        "2026-11-20",
    )
    assert (r["billed_gb_s"], r["basis"], bool(r["lower_estimate"])) == (121_000, "duration_metric", True)
    assert r["compute_usd"] == pytest.approx(2.0166707, abs=1e-9)


def test_days_are_utc_and_tiers_run_per_region_architecture_and_month():
    # GB-s from REPORT lines (hourly bins) and requests from the metrics (30-minute periods):
    #   big   x86  : 4 B GB-s on Nov 29, 4 B on Nov 30, 4 B on Dec 1
    #   small x86  : 1 B on Nov 30 (same region and architecture as big: one tier track)
    #   armf  arm64: 4 B on Nov 29 and 4 B on Nov 30 (its own track, boundary 7.5 B)
    # Nov 29: big 4 B × $0.0000166667 = $66,666.80; armf 4 B × $0.0000133334 = $53,333.60
    # Nov 30: x86 day 5 B after 4 B: 2 B × $0.0000166667 + 3 B × $0.000015 = $33,333.40 + $45,000 = $78,333.40,
    #         shared 4:1 → big $62,666.72, small $15,666.68;
    #         armf 3.5 B × $0.0000133334 + 0.5 B × $0.0000120001 = $46,666.90 + $6,000.05 = $52,666.95
    # Dec 1: a new month, big back to the first tier: $66,666.80
    inv = _inv({"function": "big"}, {"function": "small"}, {"function": "armf", "architecture": "arm64"})
    mem = []
    for fn, day, gb in [("big", "2026-11-29", 4e9), ("big", "2026-11-30", 4e9), ("big", "2026-12-01", 4e9), ("small", "2026-11-30", 1e9), ("armf", "2026-11-29", 4e9), ("armf", "2026-11-30", 4e9)]:  # fmt: skip
        # two hourly bins per day, the second at 23:00 UTC (still that day)
        for hour in ("00:00", "23:00"):
            mem.append(
                {
                    "function": fn,
                    "timestamp": _ts(f"{day}T{hour}"),
                    "bin_s": 3600,
                    "reports": 10,
                    "billed_ms_sum": 1.0,
                    "gb_seconds": gb / 2,
                }
            )
    metrics = _metrics(
        {"function": "big", "timestamp": _ts("2026-11-29T23:30"), "period_s": 1800, "invocations": 1_000_000, "duration_avg_ms": 1.0},
        {"function": "big", "timestamp": _ts("2026-11-30T00:00"), "period_s": 1800, "invocations": 3_000_000, "duration_avg_ms": 1.0},
    )  # fmt: skip
    est = estimate(inventory=inv, metrics=metrics, memory=_memory(*mem), prices=PRICES, free_tier=False)
    got = {
        (f, str(d.date())): round(c, 4) for f, d, c in est[["function", "date", "compute_usd"]].itertuples(index=False)
    }
    assert got == {
        ("armf", "2026-11-29"): 53_333.6,
        ("armf", "2026-11-30"): 52_666.95,
        ("big", "2026-11-29"): 66_666.8,
        ("big", "2026-11-30"): 62_666.72,
        ("big", "2026-12-01"): 66_666.8,
        ("small", "2026-11-30"): 15_666.68,
    }
    # requests from the metrics where they exist (the 23:30 period is Nov 29's), else the REPORT count
    req = {(f, str(d.date())): r for f, d, r in est[["function", "date", "requests"]].itertuples(index=False)}
    assert req[("big", "2026-11-29")] == 1_000_000 and req[("big", "2026-11-30")] == 3_000_000
    assert req[("big", "2026-12-01")] == 20 and req[("small", "2026-11-30")] == 20


def test_ephemeral_storage_above_512_mb():
    # 10,240 MB of /tmp and 1,000,000 billed seconds: (10,240 − 512) / 1024 = 9.5 GB × 1,000,000 s
    # = 9,500,000 GB-s × $0.0000000309 = $0.29355 (the function's own GB-s are priced apart)
    inv = _inv({"function": "etl", "memory_mb": 1024, "ephemeral_storage_mb": 10240})
    mem = _memory(
        {
            "function": "etl",
            "timestamp": _ts("2026-11-20"),
            "reports": 1_000_000,
            "billed_ms_sum": 1e9,
            "gb_seconds": 1e6,
        }
    )
    r = _row(
        estimate(inventory=inv, metrics=_metrics(), memory=mem, prices=PRICES, free_tier=False), "etl", "2026-11-20"
    )
    assert r["ephemeral_gb_s"] == pytest.approx(9.5e6)
    assert r["ephemeral_usd"] == pytest.approx(0.29355, abs=1e-12)
    # + requests 1,000,000 × $0.0000002 = $0.20 + compute 1,000,000 GB-s × $0.0000166667 = $16.6667
    assert r["total_usd"] == pytest.approx(0.29355 + 0.20 + 16.6667, abs=1e-9)


# Three days of one account: f1 (us-east-1 x86 1024 MB) 400,000 requests and 150,000 GB-s a day,
# f2 (eu-west-1 arm64 512 MB) 100,000 requests and 50,000 GB-s a day, pcf (us-east-1 x86 1024 MB,
# 2 environments of provisioned concurrency) 100,000 requests and 10,000 GB-s on Nov 1 and 2, none
# on Nov 3.
def _three_days() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    inv = _inv(
        {"function": "f1", "memory_mb": 1024},
        {"function": "f2", "region": "eu-west-1", "architecture": "arm64"},
        {"function": "pcf", "memory_mb": 1024, "provisioned_concurrency": 2},
    )
    metrics, mem = [], []
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        for fn, region, req, gb in [("f1", "us-east-1", 400_000, 150_000.0), ("f2", "eu-west-1", 100_000, 50_000.0), ("pcf", "us-east-1", 100_000, 10_000.0)]:  # fmt: skip
            if fn == "pcf" and day == "2026-11-03":
                continue
            ts = _ts(day)
            metrics.append({"function": fn, "region": region, "timestamp": ts, "invocations": req, "duration_avg_ms": 1.0, "pc_utilization_max": 0.5 if fn == "pcf" else None})  # fmt: skip
            mem.append(
                {
                    "function": fn,
                    "region": region,
                    "timestamp": ts,
                    "reports": req,
                    "billed_ms_sum": gb * 1000,
                    "gb_seconds": gb,
                }
            )
    return inv, _metrics(*metrics), _memory(*mem)


def test_provisioned_concurrency_by_hand():
    # pcf each day: enabled 2 × 1 GB × 86,400 s = 172,800 GB-s × $0.0000041667 = $0.72000576
    # executing 10,000 GB-s × $0.0000097222 = $0.097222 → provisioned $0.81722776, compute $0
    # requests 100,000 × $0.0000002 = $0.02 (never free)
    inv, metrics, mem = _three_days()
    est = estimate(inventory=inv, metrics=metrics, memory=mem, prices=PRICES)
    r = _row(est, "pcf", "2026-11-01")
    assert (r["provisioned_enabled_gb_s"], r["billed_gb_s"], r["compute_usd"]) == (172_800, 10_000, 0.0)
    assert r["provisioned_usd"] == pytest.approx(0.81722776, abs=1e-12)
    assert (r["requests_usd"], r["requests_free"], r["gb_s_free"]) == (pytest.approx(0.02), 0.0, 0.0)
    # Nov 3: no invocations, the environments still cost: a row of its own
    r3 = _row(est, "pcf", "2026-11-03")
    assert (r3["requests"], r3["basis"], bool(r3["lower_estimate"])) == (0, "none", False)
    assert r3["provisioned_usd"] == pytest.approx(0.72000576, abs=1e-12)
    # without the allocation the function still shows, marked as a lower estimate
    unknown = inv.assign(provisioned_concurrency=pd.array([None] * 3, dtype="Int64"))
    r = _row(estimate(inventory=unknown, metrics=metrics, memory=mem, prices=PRICES), "pcf", "2026-11-01")
    assert (r["provisioned_usd"], bool(r["lower_estimate"])) == (0.0, True)
    assert r["compute_usd"] == pytest.approx(10_000 * 1.66667e-5)


def test_free_tier_line():
    # Eligible per day: requests 400,000 + 100,000 = 500,000 (not pcf's); GB-s 150,000 + 50,000 = 200,000.
    # Allowance 1,000,000 requests / 400,000 GB-s → Nov 1 and Nov 2 wholly free, Nov 3 nothing left.
    # Free on each of Nov 1-2: 500,000 × $0.0000002 + 150,000 × $0.0000166667 + 50,000 × $0.0000133334
    #   = $0.10 + $2.500005 + $0.66667 = $3.266675 → credit_usd −3.266675
    inv, metrics, mem = _three_days()
    est = estimate(inventory=inv, metrics=metrics, memory=mem, prices=PRICES)
    line = free_tier_credit(est)
    assert list(line.columns) == list(FREE_TIER_SCHEMA)
    assert [
        (a, str(d.date()), r, g)
        for a, d, r, g in line[["account", "date", "requests_free", "gb_s_free"]].itertuples(index=False)
    ] == [
        ("acme", "2026-11-01", 500_000, 200_000),
        ("acme", "2026-11-02", 500_000, 200_000),
    ]
    assert line["credit_usd"].tolist() == pytest.approx([-3.266675, -3.266675], abs=1e-9)
    # the day's bill: Σ total_usd + credit. Nov 1 leaves pcf's $0.81722776 + $0.02.
    per_day = est.groupby("date")["total_usd"].sum() + line.set_index("date")["credit_usd"].reindex(
        est["date"].unique()
    ).fillna(0)
    assert per_day[pd.Timestamp("2026-11-01")] == pytest.approx(0.83722776, abs=1e-9)
    # Nov 3: f1 $0.08 + $2.500005, f2 $0.02 + $0.66667, pcf $0.72000576, no credit
    assert per_day[pd.Timestamp("2026-11-03")] == pytest.approx(0.08 + 2.500005 + 0.02 + 0.66667 + 0.72000576, abs=1e-9)
    # free_tier=False: list price, no line (e.g. an AWS Organizations member whose free tier is used elsewhere)
    gross = estimate(inventory=inv, metrics=metrics, memory=mem, prices=PRICES, free_tier=False)
    assert free_tier_credit(gross).empty
    assert gross["total_usd"].sum() == pytest.approx(est["total_usd"].sum())


def test_unknown_functions_and_regions_are_reported():
    inv = _inv({"function": "api", "region": "cn-north-1"})
    metrics = _metrics(
        {"function": "api", "region": "cn-north-1", "timestamp": _ts("2026-11-20"), "invocations": 10, "duration_avg_ms": 100.0},
        {"function": "gone", "region": "cn-north-1", "timestamp": _ts("2026-11-20"), "invocations": 10, "duration_avg_ms": 100.0},
    )  # fmt: skip
    est = estimate(inventory=inv, metrics=metrics, memory=_memory(), prices=PRICES)
    assert est["function"].tolist() == ["api"]
    assert est.attrs["assumed_regions"] == ["cn-north-1"]
    assert est["priced_by_assumption"].tolist() == [True]
    assert est.attrs["assumed_note"].startswith(
        "Priced by assumption, with rates not verified for the region: cn-north-1 (at us-east-1's rates: not in the price file)."
    )
    assert est.attrs["warnings"] == [
        "usage of 1 function(s) not in the inventory left out of the estimate: acme/cn-north-1/gone"
    ]


def test_no_usage_gives_an_empty_frame_of_the_schema():
    est = estimate(inventory=_API_INV, metrics=_metrics(), memory=_memory(), prices=PRICES)
    assert est.empty and list(est.columns) == list(ESTIMATE_SCHEMA)
    assert free_tier_credit(est).empty


# --- against the simulated account's bill ----------------------------------------------------------


@pytest.fixture
def sim_now():
    """Set the simulated account's clock; restored afterwards."""

    def set_now(t: datetime) -> None:
        sim.set_clock(lambda: t)

    yield set_now
    sim.set_clock(None)


def _with_provisioned_concurrency(settings: Settings, inv: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """The inventory plus the allocation of every function that publishes ProvisionedConcurrencyUtilization.

    Read with ListProvisionedConcurrencyConfigs (all aliases and versions): no collector does it yet.
    """
    accounts = {a.name: a for a in settings.aws_accounts()}
    seen = metrics[metrics["pc_utilization_max"].notna()][["account", "region", "function"]].drop_duplicates()
    alloc = {}
    for acct, region, fn in seen.itertuples(index=False):
        c = session.client(accounts[acct], "lambda", region)
        configs = c.list_provisioned_concurrency_configs(FunctionName=fn)["ProvisionedConcurrencyConfigs"]
        alloc[(acct, region, fn)] = sum(x["AllocatedProvisionedConcurrentExecutions"] for x in configs)
    out = inv.copy()
    out["provisioned_concurrency"] = pd.array(
        [alloc.get(k) for k in zip(inv["account"], inv["region"], inv["function"], strict=True)], dtype="Int64"
    )
    return out


def _last_7_days_vs_bill(settings: Settings, now: datetime) -> pd.DataFrame:
    """Per day of the last 7 complete days: our estimate (Σ total_usd + free-tier credit) and Cost Explorer's total."""
    today = now.date()
    first = today - timedelta(days=7)
    # month-to-date figures (free tier, tiers) need every day from the first of the month
    start = datetime.combine(first.replace(day=1), datetime.min.time(), UTC)
    trange = TimeRange(start, now, "custom")
    inv = sources.inventory(settings).frame
    metrics = sources.metrics(settings, trange, inv)
    memory = sources.memory(settings, trange, inv)
    assert not metrics.errors and not memory.errors
    inv = _with_provisioned_concurrency(settings, inv, metrics.frame)
    est = estimate(inventory=inv, metrics=metrics.frame, memory=memory.frame, prices=load_prices())
    assert not est.attrs["warnings"]
    # eu-west-1's storage and provisioned-concurrency rates are not verified (the price file lists them as
    # assumed): the estimate says so; the simulated bill prices from the same file
    assert set(est.attrs["assumed_regions"]) <= {"eu-west-1"}
    assert set(est.attrs["assumed_prices"].get("eu-west-1", ())) <= {
        "ephemeral_gb_second", "provisioned_concurrency_gb_second", "provisioned_concurrency_gb_second_arm",
        "provisioned_duration_gb_second", "provisioned_duration_gb_second_arm",
    }  # fmt: skip
    credit = free_tier_credit(est).set_index("date")["credit_usd"]
    ours = est.groupby("date")["total_usd"].sum()
    ours = ours + credit.reindex(ours.index).fillna(0.0)
    account = settings.aws_accounts()[0]
    bill = ce.daily_costs(account=account, start=first, end=today).set_index("date")
    assert len(bill) == 7 and not bill["estimated"].any()
    out = pd.DataFrame(
        {
            "ours_usd": ours.reindex(bill.index),
            "bill_usd": bill["cost_usd"],
            "free_usd": -credit.reindex(bill.index).fillna(0.0),
        }
    )
    out["error"] = out["ours_usd"] / out["bill_usd"] - 1
    return out


@pytest.mark.aws
def test_estimate_explains_the_simulated_bill_over_a_month_boundary(sim_now):
    # Now 2026-12-03 15:30 UTC: the last 7 complete days are Nov 26 .. Dec 2 — end of November (free tier
    # long spent), then Dec 1-2 where the new month's free tier pays all on-demand usage, provisioned
    # concurrency (2 functions) and ephemeral storage every day. Within 1 % on every day.
    now = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)
    sim_now(now)
    got = _last_7_days_vs_bill(Settings(), now)
    assert [d.date() for d in got.index] == [date(2026, 11, 26) + timedelta(days=i) for i in range(7)]
    assert (got.loc["2026-12-01":, "free_usd"] > 1.0).all() and (got.loc[:"2026-11-30", "free_usd"] == 0).all()
    assert got["error"].abs().max() < 0.01, got


@pytest.mark.aws
def test_estimate_from_report_lines_matches_the_bill_on_the_day_the_free_tier_runs_out(sim_now):
    # Now 2026-12-08 15:30: Dec 1 .. Dec 7, the month's free tier runs out on Dec 5. With REPORT lines for
    # every function (logs.source=insights: no Lambda Insights shortcut) the billed GB-s are AWS's own,
    # and the estimate matches the bill to within rounding on every day, the run-out day included.
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    sim_now(now)
    got = _last_7_days_vs_bill(Settings(logs={"source": "insights"}), now)
    assert (got.loc[:"2026-12-04", "free_usd"] > 1.0).all() and 0 < got.loc["2026-12-05", "free_usd"] < 1.0
    assert got["error"].abs().max() < 1e-6, got


# With logs.source=auto, the 11 Lambda Insights functions have no billed duration; their GB-s come from the
# Duration metric plus cold starts × mean INIT from Insights' init_duration SampleCount and Average. Without the
# INIT part the free tier ran out a day late in our ledger (-3.2 % on Dec 5); with it the day is within 1 %.
@pytest.mark.aws
def test_estimate_explains_the_simulated_bill_on_the_day_the_free_tier_runs_out(sim_now):
    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)
    sim_now(now)
    got = _last_7_days_vs_bill(Settings(), now)
    assert got["error"].abs().max() < 0.01, got
