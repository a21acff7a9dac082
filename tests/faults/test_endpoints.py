"""Endpoints that stop answering or answer too slowly, and one region of several failing.

Boundedness is asserted through what is configured, not through wall-clock time: every call
makes exactly ``aws.max_attempts`` HTTP attempts and each attempt waits at most
``aws.read_timeout_s`` (the simulated account sleeps that long, then times out, as a socket would).
"""

from __future__ import annotations

from datetime import timedelta

import botocore.exceptions as bce
import pandas as pd
import pytest

from aws import cache, session
from aws.meter import METER
from dashboard.config import settings as settings_mod
from dashboard.figures.usage import usage
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import Selection
from dashboard.query.timerange import TimeRange, parse_range
from tests.apptest import plain
from tests.faults.conftest import demo_yaml, run_cli, run_page, write

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane


def attempts_per_call(snapshot, service: str, region: str | None = None) -> tuple[int, int]:
    calls = sum(n for (_, reg, svc, _op), n in snapshot.calls.items() if svc == service and region in (None, reg))
    attempts = sum(n for (_, reg, svc, _op), n in snapshot.attempts.items() if svc == service and region in (None, reg))
    return calls, attempts


def test_endpoint_down_between_two_refreshes_shows_the_cached_table_marked_stale(app_env, tmp_path, fast_backoff):
    good = write(tmp_path, demo_yaml(aws={"max_attempts": 3}), "good.yaml")
    down = write(tmp_path, demo_yaml(aws={"max_attempts": 3}, down=["cloudwatch"]), "down.yaml")
    app_env.setenv("LAMBDA_LENS_CONFIG", str(good))
    at = run_page("functions")
    before = next(d.value for d in at.dataframe if "invocations" in d.value.columns)
    assert len(before) == 12 and before["invocations"].sum() > 0 and not at.warning and not at.error

    app_env.setenv("LAMBDA_LENS_CONFIG", str(down))  # CloudWatch stops answering
    at.button(key="refresh").click()
    METER.reset()
    at.run(timeout=90)
    assert not at.exception
    after = next(d.value for d in at.dataframe if "invocations" in d.value.columns)
    # CloudWatch's figures are the cached ones (memory and cold starts come fresh from the logs)
    cw = ["function", "invocations", "errors", "throttles", "duration_avg_ms", "duration_p99_ms", "concurrency_max"]
    pd.testing.assert_frame_equal(after[cw].reset_index(drop=True), before[cw].reset_index(drop=True))
    warnings = [plain(w.value) for w in at.warning]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("Data for demo/us-east-1 is stale (")
    assert warnings[0].endswith(
        'Cannot reach CloudWatch in demo/us-east-1 (Could not connect to the endpoint URL: '
        '"https://monitoring.us-east-1.amazonaws.com/"); check the network or the endpoint_url.'
    )
    assert not at.error
    calls, attempts = attempts_per_call(METER.snapshot(), "cloudwatch")
    assert calls > 0 and attempts == 3 * calls  # each call gave up after aws.max_attempts


def _fixed_24h():
    from datetime import UTC, datetime, timedelta

    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return parse_range(f"{end - timedelta(hours=24):%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M}")


def test_a_slow_endpoint_times_out_within_the_configured_attempts_and_serves_stale(tmp_path, fast_backoff):
    trange = _fixed_24h()
    good = settings_mod.load(write(tmp_path, demo_yaml(aws={"max_attempts": 2, "read_timeout_s": 0.2}), "good.yaml"))
    inv = sources.inventory(good)
    first = sources.metrics(good, trange, inv.frame)
    assert not first.errors and len(first.frame) > 0

    slow = settings_mod.load(write(tmp_path, demo_yaml(aws={"max_attempts": 2, "read_timeout_s": 0.2}, latency_s=5.0), "slow.yaml"))
    cache.refresh(source_name="metrics")
    METER.reset()
    second = sources.metrics(slow, trange, inv.frame)
    pd.testing.assert_frame_equal(second.frame, first.frame)
    (st,) = second.stale
    assert st.error == "CloudWatch in demo/us-east-1 did not answer in time; check the network or the endpoint_url, then refresh."
    assert st.error_kind == "EndpointUnreachable"
    calls, attempts = attempts_per_call(METER.snapshot(), "cloudwatch")
    # the refresh waited at most attempts × read_timeout_s: 2 attempts of 0.2 s per call, never 5 s
    assert calls >= 1 and attempts == 2 * calls


def test_latency_below_the_read_timeout_only_slows_the_refresh(tmp_path, fast_backoff):
    trange = _fixed_24h()
    cfg = settings_mod.load(write(tmp_path, demo_yaml(functions=4, aws={"read_timeout_s": 1.0}, latency_s=0.02)))
    inv = sources.inventory(cfg)
    got = sources.metrics(cfg, trange, inv.frame)
    assert not got.errors and len(got.frame) > 0
    m = METER.snapshot()
    assert sum(m.attempts.values()) == m.total_calls


def test_one_region_of_two_failing_leaves_the_other_intact(tmp_path, fast_backoff):
    path = write(tmp_path, demo_yaml(regions=("us-east-1", "eu-west-1"), aws={"max_attempts": 2}))
    cfg = settings_mod.load(path)
    # an hour that ended 10 minutes ago: the two loads below are compared value for value, and the simulated
    # account's latest minutes change with its clock while a loaded machine runs the first load
    hour = parse_range("1h")
    trange = TimeRange(hour.start - timedelta(minutes=10), hour.end - timedelta(minutes=10), "1h")
    clean = usage(Query(cfg, Selection(trange, "1h", trange.end))).frame
    cache.clear_all()
    session.reset_clients()

    (account,) = cfg.aws_accounts()

    def refuse(request, **_):  # eu-west-1's CloudWatch endpoint refuses connections
        raise bce.EndpointConnectionError(endpoint_url=request.url)

    session.client(account, "cloudwatch", "eu-west-1").meta.events.register("before-send", refuse)  # after the meter, before the sim
    METER.reset()
    got = usage(Query(cfg, Selection(trange, "1h", trange.end)))
    frame = got.frame
    us, eu = frame[frame["region"] == "us-east-1"], frame[frame["region"] == "eu-west-1"]
    pd.testing.assert_frame_equal(us.reset_index(drop=True), clean[clean["region"] == "us-east-1"].reset_index(drop=True))
    assert len(eu) == (clean["region"] == "eu-west-1").sum() > 0  # eu-west-1's functions still listed
    assert eu["invocations"].isna().all() and eu["max_memory_used_mb"].notna().any()  # unknown, not 0; its logs still read
    sentence = (
        'Cannot reach CloudWatch in demo/eu-west-1 (Could not connect to the endpoint URL: '
        '"https://monitoring.eu-west-1.amazonaws.com/"); check the network or the endpoint_url.'
    )
    assert {(s.source, s.region, s.error) for s in got.failed} == {("metrics", "eu-west-1", sentence)}
    calls, attempts = attempts_per_call(METER.snapshot(), "cloudwatch", "eu-west-1")
    assert calls > 0 and attempts == 2 * calls

    code, out, err = run_cli("summary", "--config", str(path), "--range", "1h", "--format", "csv")
    assert code == 1
    assert err.splitlines() == [
        f"warning: Lambda Insights metrics unavailable, read from REPORT lines instead: {sentence}",
        f"error: {sentence}",
    ]
    assert len(out.strip().splitlines()) == len(clean) + 1  # a header and every function, eu-west-1's too
