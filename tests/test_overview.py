"""The Overview's domain: tiles against the previous period, spend month to date, sparklines, the table.

Small hand-made frames for the arithmetic; the simulated account (fixed clock) for the loader,
whose figures are checked against the simulation's own truth.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aws import costs as ce
from aws import metrics as cw
from aws import sim
from aws.frames import typed_frame
from dashboard.config import settings as settings_mod
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures import fleet, spend, usage
from dashboard.query import sources
from dashboard.query.selection import select
from dashboard.query.sources import Loaded, SourceStatus
from dashboard.query.timerange import parse_range

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)
T0 = pd.Timestamp("2026-11-26T10:00:00Z")


def fn_rows(*rows: tuple[str, float, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"account": "a", "region": "r", "function": f, "invocations": i, "errors": e, "throttles": t, "duration_p99_ms": p} for f, i, e, t, p in rows]
    )


# --- totals and tiles ----------------------------------------------------------------------------------
def test_fleet_totals_weight_each_p99_by_its_invocations_and_name_the_slowest():
    t = fleet.fleet_totals(fn_rows(("api", 900, 9, 0, 100.0), ("batch", 100, 1, 4, 2000.0), ("idle", 0, 0, 0, math.nan)))
    assert (t["invocations"], t["errors"], t["throttles"]) == (1000.0, 10.0, 4.0)
    assert t["error_rate"] == 1.0
    assert t["duration_p99_ms"] == (900 * 100.0 + 100 * 2000.0) / 1000  # 290 ms
    assert (t["slowest"], t["slowest_p99_ms"]) == ("batch", 2000.0)


def test_fleet_totals_without_invocations_have_no_rate_and_no_p99():
    t = fleet.fleet_totals(fn_rows(("idle", 0, 0, 0, math.nan)))
    assert t["invocations"] == 0.0 and math.isnan(t["error_rate"]) and math.isnan(t["duration_p99_ms"])
    assert t["slowest"] is None
    empty = fleet.fleet_totals(fn_rows().reindex(columns=["account", "region", "function", "invocations", "errors", "throttles", "duration_p99_ms"]))
    assert empty["invocations"] == 0.0 and empty["slowest"] is None


def test_health_tiles_show_value_and_change_against_the_previous_period():
    now = fn_rows(("api", 1200, 24, 3, 110.0), ("nightly_batch", 300, 0, 0, 900.0))
    before = fn_rows(("api", 1000, 10, 0, 100.0), ("nightly_batch", 250, 0, 5, 1000.0))
    tiles = fleet.health_tiles(now, before, period="previous 24h")
    assert [t.key for t in tiles] == ["invocations", "error_rate", "throttles", "duration_p99"]
    assert [(t.value_text(), t.delta_text(), t.delta_color) for t in tiles] == [
        ("1,500", "+20.0 %", "off"),
        ("1.60 %", "+0.80 pp", "inverse"),  # 24 / 1,500 vs 10 / 1,250
        ("3", "-40.0 %", "inverse"),
        ("268 ms", "-4.3 %", "inverse"),  # (1,200·110 + 300·900) / 1,500 vs (1,000·100 + 250·1,000) / 1,250 = 280
    ]
    p99 = tiles[3]
    assert p99.help.endswith(" Slowest: nightly\\_batch, p99 900 ms.")  # names are markdown-escaped in the help
    assert tiles[0].delta_description == "vs prior 24h"  # short enough for six tiles at 1440 px
    # unchanged is neither better nor worse: no arrow, grey
    same = fleet.health_tiles(now, now, period="previous 24h")
    assert [(t.delta_text(), t.delta_color) for t in same] == [("±0", "off")] * 4


def test_unknown_current_figures_read_as_a_dash_with_the_sentence():
    tiles = fleet.health_tiles(fn_rows(("api", 0, 0, 0, math.nan)), None, current_error="Access denied: grant it.")
    assert [(t.value_text(), t.delta_text(), t.error) for t in tiles] == [("—", None, "Access denied: grant it.")] * 4


def test_no_comparison_when_a_part_failed_in_one_period():
    tiles = fleet.health_tiles(fn_rows(("api", 10, 0, 0, 5.0)), fn_rows(("api", 5, 0, 0, 5.0)), comparable=False)
    assert [t.delta_text() for t in tiles] == [None] * 4 and tiles[0].value_text() == "10"


@pytest.mark.parametrize(
    ("metric", "value", "previous", "shown", "delta"),
    [
        ("invocations", 0.0, 0.0, "0", "±0"),
        ("throttles", 7.0, 0.0, "7", "+7"),
        ("duration_p99_ms", 12_360.0, 10_000.0, "12.4 s", "+23.6 %"),
        ("duration_p99_ms", 45.25, 50.0, "45.2 ms", "-9.5 %"),
        ("duration_p99_ms", 450_384.0, 400_000.0, "7.5 min", "+12.6 %"),
        ("spend_mtd", 1250.5, 1000.0, "$1,250.50", "+25.1 %"),
        ("spend_mtd", 12.0, 0.0, "$12.00", "+$12.00"),
        ("spend_mtd", -6.29, 0.0, "-$6.29", "-$6.29"),
        ("error_rate", 0.5, 1.25, "0.50 %", "-0.75 pp"),
        ("invocations", math.nan, 3.0, "—", None),
    ],
)
def test_tile_texts(metric, value, previous, shown, delta):
    t = fleet.Tile("k", "K", value, previous, metric, "")
    assert (t.value_text(), t.delta_text()) == (shown, delta)


# --- spend month to date --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 26), (date(2026, 11, 1), date(2026, 11, 27), date(2026, 10, 1), date(2026, 10, 27))),
        (date(2027, 3, 31), (date(2027, 3, 1), date(2027, 4, 1), date(2027, 2, 1), date(2027, 3, 1))),  # Feb has 28 days
        (date(2028, 3, 30), (date(2028, 3, 1), date(2028, 3, 31), date(2028, 2, 1), date(2028, 3, 1))),  # 29 in 2028
        (date(2027, 1, 1), (date(2027, 1, 1), date(2027, 1, 2), date(2026, 12, 1), date(2026, 12, 2))),
    ],
)
def test_month_to_date_and_the_same_days_of_the_previous_month(today, expected):
    assert spend.month_to_date(today) == expected


def costs(*amounts: float, est: bool = False) -> Loaded:
    rows = [
        {"account": "a", "date": pd.Timestamp("2026-11-01") + pd.Timedelta(days=i), "group_by": "TOTAL", "group": "", "cost_usd": v, "usage_quantity": 1.0, "estimated": est}
        for i, v in enumerate(amounts)
    ]
    return Loaded(typed_frame(rows, ce.SCHEMA), [SourceStatus("costs", "a", "us-east-1", fetched_at=1.0)])


def test_spend_tile_sums_the_month_and_compares_with_the_same_days_last_month():
    t = fleet.spend_tile(costs(1.25, 2.5, 3.0, est=True), costs(2.0, 2.0), today=date(2026, 11, 3))
    assert (t.value, t.previous, t.value_text(), t.delta_text(), t.delta_color) == (6.75, 4.0, "$6.75", "+68.8 %", "inverse")
    assert t.delta_description == "vs Oct 1–3"
    # said once above the tiles (six in a row cut a caption each): the most common basis, then the others by tile
    health = [
        fleet.Tile(k, k.title(), 10.0, 8.0, "invocations", "", period="previous 24h") for k in ("invocations", "errors")
    ] + [fleet.Tile("throttles", "Throttles", 1.0, None, "throttles", "", period="previous 24h")]  # no change: not said
    assert fleet.comparison_text([*health, t]) == "changes vs prior 24h; Lambda spend MTD vs Oct 1–3"
    assert fleet.comparison_text(health[2:]) is None  # no change known: nothing to compare with is said
    assert t.help.startswith("Lambda spend month to date: AWS Lambda cost from Cost Explorer (unblended), 01 Nov – 03 Nov 2026") and "estimates" in t.help


def test_a_failed_cost_explorer_shows_a_dash_and_its_sentence():
    failed = Loaded(typed_frame([], ce.SCHEMA), [SourceStatus("costs", "a", "us-east-1", error="Cost Explorer is not enabled in a; enable it.")])
    t = fleet.spend_tile(failed, costs(2.0), today=date(2026, 11, 3))
    assert (t.value_text(), t.delta_text(), t.error) == ("—", None, "Cost Explorer is not enabled in a; enable it.")
    only_last = fleet.spend_tile(costs(1.0), failed, today=date(2026, 11, 3))
    assert (only_last.value_text(), only_last.delta_text(), only_last.error) == ("$1.00", None, None)


# --- sparklines and the table ---------------------------------------------------------------------------
def metric_rows(fn: str, values: list[float], *, start=T0, period_s: int = 60) -> list[dict]:
    return [
        {"account": "a", "region": "r", "function": fn, "timestamp": start + pd.Timedelta(seconds=i * period_s), "period_s": period_s, "invocations": v}
        for i, v in enumerate(values)
        if not math.isnan(v)
    ]


def test_trends_sum_periods_into_at_most_60_buckets_on_one_time_axis():
    met = typed_frame(metric_rows("f", [1.0] * 120) + metric_rows("g", [5.0, math.nan, 7.0], start=T0 + pd.Timedelta(minutes=118)), cw.LAMBDA_SCHEMA)
    out = usage.trend(met, start=T0, end=T0 + pd.Timedelta(minutes=120))
    assert out[("a", "r", "f")] == [2.0] * 60
    assert out[("a", "r", "g")] == [0.0] * 59 + [5.0]  # minute 120 is outside the range; a missing period counts 0
    assert usage.trend(met.iloc[0:0], start=T0, end=T0 + pd.Timedelta(minutes=1)) == {}
    unknown = usage.trend(met, start=T0, end=T0 + pd.Timedelta(minutes=120), unread={("a", "r")})
    assert unknown == {("a", "r", "f"): None, ("a", "r", "g"): None}  # could not be read: no trend, not zeros


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.just(math.nan), st.integers(0, 1000).map(float)), min_size=1, max_size=300),
    points=st.integers(1, 80),
    offset_s=st.integers(0, 59),
)
def test_trends_keep_the_total_and_the_bucket_count(values, points, offset_s):
    met = typed_frame(metric_rows("f", values), cw.LAMBDA_SCHEMA)
    start = T0 + pd.Timedelta(seconds=offset_s)  # a range that starts mid-period still covers the first period
    out = usage.trend(met, start=start, end=T0 + pd.Timedelta(minutes=len(values)), points=points)
    if met.empty:
        assert out == {}
        return
    line = out[("a", "r", "f")]
    assert len(line) <= points
    assert sum(line) == pytest.approx(sum(v for v in values if not math.isnan(v)))


def test_function_table_links_each_function_and_counts_its_alerts():
    summary = pd.DataFrame(
        {
            "account": ["a", "a"], "region": ["r", "r"], "function": ["busy", "quiet"], "team": ["t", "u"],
            "invocations": [120.0, 0.0], "errors": [1.0, 0.0], "error_rate": [100 / 120, math.nan], "throttles": [0.0, 0.0],
            "duration_p99_ms": [12.5, math.nan], "memory_used_pct": [40.0, math.nan],
        }
    )
    met = typed_frame(metric_rows("busy", [1.0] * 120), cw.LAMBDA_SCHEMA)
    firing = pd.DataFrame({"account": ["a", "a"], "region": ["r", "r"], "function": ["busy", "busy"]})
    out = fleet.function_table(summary, met, start=T0, end=T0 + pd.Timedelta(hours=2), range_text="3h", firing=firing)
    assert list(out.columns) == list(fleet.TABLE_SCHEMA)
    assert out["link"].tolist() == ["functions?fn=a/r/busy&range=3h", "functions?fn=a/r/quiet&range=3h"]
    assert out["alerts"].tolist() == [2, 0]
    assert out["trend"].tolist() == [[2.0] * 60, [0.0] * 60]


def test_function_name_pattern_shows_the_name_of_a_link():
    import re

    link = fleet.function_table(
        pd.DataFrame({"account": ["prod"], "region": ["eu-west-1"], "function": ["my_fn-2"], "team": ["t"], "invocations": [1.0], "errors": [0.0],
                      "error_rate": [0.0], "throttles": [0.0], "duration_p99_ms": [1.0], "memory_used_pct": [1.0]}),
        typed_frame([], cw.LAMBDA_SCHEMA), start=T0, end=T0 + pd.Timedelta(hours=1), range_text="2026-11-20..2026-11-21",
    )["link"].iloc[0]
    assert re.search(fleet.FUNCTION_NAME, link).group(1) == "my_fn-2"


# --- the loader on the simulated account ----------------------------------------------------------------
@pytest.fixture
def clock():
    sim.set_clock(lambda: NOW)
    yield NOW
    sim.set_clock(None)


def demo(**sim_kw) -> Settings:
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=16, **sim_kw))],
        alerts=settings_mod.load(settings_mod.DEFAULT_CONFIG).alerts,
    )


def truth_totals(cfg: Settings, start: datetime, end: datetime) -> dict[str, float]:
    model = sim.model_for(cfg.aws_accounts()[0])
    frames = [model.series(s.name, start=start, end=end, period=60, region=s.region) for s in model.specs]
    both = pd.concat(frames)
    return {c: float(both[c].sum()) for c in ("invocations", "errors", "throttles")}


@pytest.mark.aws
def test_the_overview_of_the_simulated_account_matches_its_truth(clock):
    cfg = demo()
    trange = parse_range("24h", now=NOW)
    steps: list[str] = []
    ov = fleet.load_overview(cfg, select(cfg, range_text="24h", now=NOW), progress=steps.append)
    assert steps == [
        "The functions and their figures over the range…",
        "The previous period, for comparison…",
        "The trend, memory and cold starts of the selected functions…",
        "Lambda spend from Cost Explorer…",
        "Alert rules…",
        "Cost per function…",
    ]
    tiles = {t.key: t for t in ov.tiles}
    window = sources.metrics(cfg, trange, sources.inventory(cfg).frame).frame
    start, end = window["timestamp"].min(), window["timestamp"].max() + pd.Timedelta(minutes=1)
    truth = truth_totals(cfg, start.to_pydatetime(), end.to_pydatetime())
    assert tiles["invocations"].value == truth["invocations"] == float(ov.table["invocations"].sum())
    assert tiles["throttles"].value == truth["throttles"]
    assert tiles["error_rate"].value == pytest.approx(100.0 * truth["errors"] / truth["invocations"])
    bill = sim.model_for(cfg.aws_accounts()[0]).daily_costs(start=date(2026, 11, 1), end=date(2026, 11, 27))
    assert tiles["spend_mtd"].value == pytest.approx(float(bill["cost"].sum()), abs=0.005 * 27)
    assert len(ov.table) == 16 and all(len(x) == 60 for x in ov.table["trend"])
    assert ov.table.set_index("function").loc["legacy-importer", "trend"] == [0.0] * 60
    assert set(ov.firing["rule"]) >= {"memory-high", "no-invocations"}
    assert ov.table.set_index("function")["alerts"].to_dict()["media-image-resizer"] == 1


# CloudWatch lines periods up on the StartTime: a period as long as the range is one datapoint.
@pytest.mark.aws
def test_the_previous_period_tile_matches_the_truth(clock):
    cfg = demo()
    trange = parse_range("24h", now=NOW)
    ov = fleet.load_overview(cfg, select(cfg, range_text="24h", now=NOW))
    prev = trange.previous()
    lo = prev.start.replace(second=0, microsecond=0)
    truth = truth_totals(cfg, lo, lo + timedelta(days=1))
    assert {t.key: t for t in ov.tiles}["invocations"].previous == truth["invocations"]


@pytest.mark.aws
def test_a_denied_cost_explorer_leaves_the_other_tiles_working(clock):
    cfg = demo(deny=["ce:GetCostAndUsage"])
    ov = fleet.load_overview(cfg, select(cfg, range_text="3h", now=NOW))
    tiles = {t.key: t for t in ov.tiles}
    assert tiles["spend_mtd"].value_text() == "—"
    assert tiles["spend_mtd"].error == (
        "Access denied in demo: the credentials may not call ce:GetCostAndUsage; grant it (see docs/iam-policy.json)."
    )
    assert all(tiles[k].value is not None and tiles[k].error is None for k in ("invocations", "error_rate", "throttles", "duration_p99"))
    assert tiles["invocations"].value > 0


@pytest.mark.aws
def test_denied_metrics_make_the_health_tiles_unknown_not_zero(clock):
    cfg = demo(deny=["cloudwatch:GetMetricData"])
    ov = fleet.load_overview(cfg, select(cfg, range_text="3h", now=NOW))
    tiles = {t.key: t for t in ov.tiles}
    sentence = "Access denied in demo/eu-west-1: the credentials may not call cloudwatch:GetMetricData; grant it (see docs/iam-policy.json)."
    assert [(tiles[k].value_text(), tiles[k].error) for k in ("invocations", "error_rate", "throttles", "duration_p99")] == [("—", sentence)] * 4
    assert tiles["spend_mtd"].value is not None and tiles["spend_mtd"].value > 0
    # the table says the same: unknown counts and no trend, not a row of zeros and a flat line
    assert ov.table["invocations"].isna().all() and ov.table["errors"].isna().all()
    assert ov.table["trend"].map(lambda t: t is None).all()
    assert not ov.summary.frame["error_rate"].notna().any()
    assert len(ov.table) == 16  # the functions still list (the inventory works)
