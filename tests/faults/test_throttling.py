"""Throttling on 30 % of CloudWatch, Logs and Cost Explorer attempts: a refresh completes with the same
frames as an unthrottled one, retries stay within the configured budget, and a budget of one attempt
fails the part with one sentence instead of retrying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from aws import cache, session
from aws.meter import METER
from dashboard.config.settings import AccountSettings, AwsSettings, DemoSettings, Settings
from dashboard.query import sources
from dashboard.query.timerange import parse_range

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

THROTTLED = ("cloudwatch", "logs", "ce")


def settings(*, max_attempts: int = 8, **sim) -> Settings:
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=24, **sim))],
        aws=AwsSettings(max_attempts=max_attempts),
    )


def fixed_range():
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=24)
    return parse_range(f"{start:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}")


def refresh(cfg: Settings, trange) -> dict[str, sources.Loaded]:
    """Everything a page refresh asks for: inventory, metrics, range statistics, memory, spend, forecast."""
    inv = sources.inventory(cfg)
    today = datetime.now(UTC).date()
    return {
        "inventory": inv,
        "metrics": sources.metrics(cfg, trange, inv.frame),
        "range_stats": sources.range_stats(cfg, trange, inv.frame, columns=("invocations", "errors", "duration_p99_ms")),
        "memory": sources.memory(cfg, trange, inv.frame),
        "costs": sources.daily_costs(cfg, start=today - timedelta(days=10), end=today),
        "forecast": sources.month_forecast(cfg, today=today),
    }


def fresh_start() -> None:
    cache.clear_all()
    session.reset_clients()
    METER.reset()


def test_30_percent_throttling_gives_identical_frames_with_bounded_retries(fast_backoff):
    trange = fixed_range()
    fresh_start()
    clean = refresh(settings(), trange)
    clean_meter = METER.snapshot()
    assert sum(clean_meter.attempts.values()) == clean_meter.total_calls  # no fault, no retry

    fresh_start()
    throttled = refresh(settings(throttle_rate=0.3, throttle_services=list(THROTTLED)), trange)
    m = METER.snapshot()

    for name, got in throttled.items():
        assert got.errors == [], (name, got.errors)
        assert not got.stale and not got.failed
        pd.testing.assert_frame_equal(got.frame, clean[name].frame, check_like=False)
        assert len(got.frame) > 0, name
    # the same questions were asked: retries are attempts, not calls
    assert m.calls == clean_meter.calls
    ops = m.by_operation().set_index(["service", "operation"])
    throttled_ops = ops[ops.index.get_level_values("service").isin(THROTTLED)]
    others = ops[~ops.index.get_level_values("service").isin(THROTTLED)]
    assert (others["attempts"] == others["calls"]).all()  # Lambda and Tagging were not throttled
    assert throttled_ops["attempts"].sum() > throttled_ops["calls"].sum()  # retries happened
    assert (throttled_ops["attempts"] <= throttled_ops["calls"] * 8).all()  # within max_attempts


def test_a_retry_budget_of_one_never_retries_and_says_throttled_in_one_sentence(fast_backoff):
    trange = fixed_range()
    fresh_start()
    got = refresh(settings(max_attempts=1, throttle_rate=0.3, throttle_services=["cloudwatch", "logs"]), trange)
    m = METER.snapshot()
    assert sum(m.attempts.values()) == m.total_calls  # one attempt per call, whatever the answer
    failed = [s for loaded in got.values() for s in loaded.failed]
    assert failed, "30 % throttling with no retry left every part intact"
    for s in failed:
        assert s.error_kind == "Throttled"
        assert s.error.startswith("AWS throttled ") and s.error.endswith(
            f"in demo/{s.region} after repeated retries; wait a minute and refresh, or raise the retry budget (aws.max_attempts)."
        ), s.error
    assert not got["inventory"].failed and not got["costs"].failed  # Lambda, Tagging and Cost Explorer answered


def test_throttling_on_every_service_still_gives_the_whole_inventory(fast_backoff):
    """Lambda and the Tagging API throttled as well (an empty throttle_services is every service)."""
    fresh_start()
    clean = sources.inventory(settings())
    fresh_start()
    got = sources.inventory(settings(throttle_rate=0.3))
    assert got.errors == []
    pd.testing.assert_frame_equal(got.frame, clean.frame)
    m = METER.snapshot()
    assert m.total_calls < sum(m.attempts.values()) <= m.total_calls * 8
