"""Cost per function, one definition: the Overview's, the Functions list's and the CLI's est. cost over a range
(dashboard.figures.function_cost) is the Costs page's per-function estimate when the range is that month."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.config import settings as settings_mod
from dashboard.figures import cost_report, function_cost
from dashboard.query.load import Query
from dashboard.query.selection import select

KEY = ["account", "region", "function"]


@pytest.mark.aws
def test_the_range_cost_of_a_month_is_the_costs_pages_estimate_of_that_month():
    cfg = settings_mod.load("config.yaml")
    now = cfg.now()
    first = now.date().replace(day=1)
    prev = (pd.Timestamp(first) - pd.Timedelta(days=1)).replace(day=1).date()
    report = cost_report.gather(cfg, month=f"{prev:%Y-%m}")
    page = cost_report.costs_table(report, cfg, by="function")[[*KEY, "est_cost_usd"]]
    q = Query(cfg, select(cfg, range_text=f"{prev.isoformat()}..{first.isoformat()}"))
    ours = function_cost.range_costs(q).frame[[*KEY, "est_cost_usd"]]
    both = page.astype({k: str for k in KEY}).merge(ours.astype({k: str for k in KEY}), on=KEY, suffixes=("_page", "_range"))
    assert len(both) == len(page) == len(ours) > 0
    assert both["est_cost_usd_page"].sum() > 0
    # provisioned concurrency included (payments-auth-api has it): the range's executing share equals the days' here
    np.testing.assert_allclose(both["est_cost_usd_range"], both["est_cost_usd_page"], rtol=1e-9, atol=1e-12)


def test_unknown_costs_stay_unknown_and_a_total_with_one_unknown_is_unknown():
    rows = pd.DataFrame({"account": ["a", "a"], "region": ["r", "r"], "function": ["f", "g"]})
    assert function_cost.with_costs(rows, None)["est_cost_usd"].isna().all()  # not loaded is not $0
    costs = pd.DataFrame({"account": ["a"], "region": ["r"], "function": ["g"], "est_cost_usd": [1.5], "mtd_cost_usd": [3.0]})
    got = function_cost.with_costs(rows, costs)
    assert math.isnan(got.loc[0, "est_cost_usd"]) and got.loc[1, "est_cost_usd"] == 1.5 and got.loc[1, "mtd_cost_usd"] == 3.0
    assert math.isnan(function_cost.total(got["est_cost_usd"]))
    assert function_cost.total(got["est_cost_usd"].iloc[1:]) == 1.5


def test_a_range_over_two_days_counts_each_request_once():
    """The whole-range statistics are one datapoint: the REPORT lines of the range's later days must not be priced
    as requests a second time (the estimate takes a day's requests from Invocations, else from REPORT lines)."""
    from datetime import UTC, datetime

    from dashboard.figures.cost_report import function_costs
    from dashboard.figures.pricing import load_prices
    from dashboard.query.timerange import TimeRange

    tr = TimeRange(datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 21, 12, tzinfo=UTC), "24h")
    key = {"account": ["a"], "region": ["us-east-1"], "function": ["f"]}
    inv = pd.DataFrame(key | {"architecture": ["x86_64"], "memory_mb": [1024], "ephemeral_storage_mb": [512], "runtime": ["python3.12"], "package_type": ["Zip"]})
    stats = pd.DataFrame(key | {"invocations": [1_000_000.0], "duration_avg_ms": [100.0]})
    mem = pd.DataFrame(
        {"account": ["a", "a"], "region": ["us-east-1"] * 2, "function": ["f", "f"],
         "timestamp": pd.to_datetime(["2026-11-20T18:00Z", "2026-11-21T06:00Z"]), "bin_s": [3600, 3600],
         "reports": pd.array([500_000, 500_000], dtype="Int64"), "cold_starts": pd.array([0, 0], dtype="Int64"),
         "init_ms_mean": [np.nan] * 2, "init_ms_p99": [np.nan] * 2, "billed_ms_sum": [5e7, 5e7], "gb_seconds": [50_000.0, 50_000.0],
         "used_mb_max": [300.0, 310.0], "used_mb_mean": [200.0, 210.0], "memory_mb": [1024.0] * 2, "source": ["logs_insights"] * 2}
    )  # fmt: skip
    prices = load_prices()
    got = function_costs(inv, function_cost._as_series(stats, tr), function_cost._one_period(mem, tr), prices)
    p = prices.prices("us-east-1")
    expected = 1_000_000 * p.request + 100_000 * p.gb_second
    assert got["est_cost_usd"].iloc[0] == pytest.approx(expected, rel=1e-9)


def test_a_function_chart_leaves_out_the_period_still_in_progress():
    from datetime import UTC, datetime

    from dashboard.web.function_view import _finished

    ts = pd.to_datetime(["2026-12-03T16:50Z", "2026-12-03T16:55Z", "2026-12-03T17:00Z"])
    m = pd.DataFrame({"timestamp": ts, "period_s": [300, 300, 300], "invocations": [150.0, 160.0, 20.0]})
    got = _finished(m, datetime(2026, 12, 3, 17, 2, tzinfo=UTC))  # 17:00-17:05 is two minutes old: not over
    assert got["invocations"].tolist() == [150.0, 160.0]
    assert _finished(m, datetime(2026, 12, 3, 17, 5, tzinfo=UTC))["invocations"].tolist() == [150.0, 160.0, 20.0]


def test_the_range_memory_figures_are_each_functions_own_sums_and_maxima():
    """One row per function and source: each sum is that function's own sum of its bins (unknown only when none
    is known, never 0), each maximum its own, whatever the order its rows come in (rows of different functions
    interleaved, a source missing)."""
    from datetime import UTC, datetime

    from dashboard.query.timerange import TimeRange

    rng = np.random.default_rng(3)
    n = 400
    fn = rng.choice(["f", "g", "h", "k"], n)
    src = np.where(fn == "k", None, np.where(rng.random(n) < 0.3, "lambda_insights", "logs_insights"))
    nan_some = lambda v: np.where(rng.random(n) < 0.2, np.nan, v)  # noqa: E731
    mem = pd.DataFrame(
        {"account": "a", "region": "us-east-1", "function": fn, "timestamp": pd.Timestamp("2026-11-20T18:00Z"), "bin_s": 300,
         "reports": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 1000, n)), dtype="Int64"),
         "cold_starts": pd.array(rng.integers(0, 5, n), dtype="Int64"), "init_ms_mean": nan_some(rng.random(n) * 500),
         "init_ms_p99": nan_some(rng.random(n) * 900), "billed_ms_sum": nan_some(rng.random(n) * 1e6),
         "gb_seconds": np.where(fn == "h", np.nan, rng.random(n) * 100), "used_mb_max": rng.random(n) * 512,
         "used_mb_mean": rng.random(n) * 256, "memory_mb": 512.0, "source": pd.array(src, dtype="string")}
    )  # fmt: skip
    tr = TimeRange(datetime(2026, 11, 20, 12, tzinfo=UTC), datetime(2026, 11, 21, 12, tzinfo=UTC), "24h")
    got = function_cost._one_period(mem, tr)
    m = mem.assign(source=mem["source"].fillna(""))
    for (f, s), rows in m.groupby(["function", "source"]):
        row = got[(got["function"] == f) & (got["source"] == s)]
        assert len(row) == 1
        for col in ("billed_ms_sum", "gb_seconds"):
            want = rows[col].sum(min_count=1)
            assert (math.isnan(want) and math.isnan(row[col].iloc[0])) or row[col].iloc[0] == want, (f, s, col)
        assert row["reports"].iloc[0] == rows["reports"].astype("float64").sum(min_count=1)
        assert row["used_mb_max"].iloc[0] == rows["used_mb_max"].max()
        cold = rows["cold_starts"].astype("float64")
        assert row["init_ms_mean"].iloc[0] == pytest.approx((rows["init_ms_mean"] * cold).sum(min_count=1) / cold.sum(), nan_ok=True)
    assert len(got) == m.groupby(["function", "source"]).ngroups
    assert got["gb_seconds"][got["function"] == "h"].isna().all()  # none known: unknown, not 0
