"""The Overview is built once per question: single-flight across sessions, memoised on the data's versions.

On the simulated account (fixed clock, 16 functions in 2 regions). "Computed" is counted at
``fleet.function_table`` (the Overview's last step), "loaded" at ``sources.metrics``, and the AWS
calls by the meter. Concurrent askers are threads released together by a barrier; the first
loader is slowed down so that the others surely arrive while it runs.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pandas as pd
import pytest

from aws import cache, sim
from aws.errors import Throttled
from aws.meter import METER
from dashboard.alerts import evaluation
from dashboard.config import settings as settings_mod
from dashboard.config.settings import AccountSettings, DemoSettings, Settings
from dashboard.figures import fleet
from dashboard.figures.usage import usage
from dashboard.query import sources
from dashboard.query.load import Query
from dashboard.query.selection import Selection
from dashboard.query.timerange import parse_range

pytestmark = pytest.mark.aws  # reads the simulated account or moto: not in the fast lane

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)
ASKERS = 6
LOAD_LABELS = [
    "The functions and their figures over the range…",
    "The previous period, for comparison…",
    "The trend, memory and cold starts of the selected functions…",
    "Lambda spend from Cost Explorer…",
    "Alert rules…",
    "Cost per function…",
]


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """A fixed simulated clock, empty memos, and counters of loads and computations."""
    sim.set_clock(lambda: NOW)
    fleet._MEMO.clear()
    evaluation._MEMO.clear()
    counts = {"metrics": 0, "computed": 0}
    real_metrics, real_table = sources.metrics, fleet.function_table

    def metrics(*args, **kwargs):
        if kwargs.get("period") == sources.FLEET:  # the Overview's own series (the alert rules read theirs too)
            counts["metrics"] += 1
        return real_metrics(*args, **kwargs)

    def table(*args, **kwargs):
        counts["computed"] += 1
        return real_table(*args, **kwargs)

    monkeypatch.setattr(sources, "metrics", metrics)
    monkeypatch.setattr(fleet, "function_table", table)
    yield counts
    sim.set_clock(None)
    fleet._MEMO.clear()
    evaluation._MEMO.clear()


def demo(**sim_kw) -> Settings:
    return Settings(
        accounts=[AccountSettings(name="demo", demo=True, regions=["us-east-1", "eu-west-1"], simulation=DemoSettings(functions=16, **sim_kw))],
        alerts=settings_mod.load(settings_mod.DEFAULT_CONFIG).alerts,
    )


TRANGE = parse_range("24h", now=NOW)


def ask(cfg: Settings, **kw) -> fleet.Overview:
    filters = {k: tuple(kw.pop(k) or ()) for k in ("accounts", "regions", "teams") if k in kw}
    now = datetime.combine(kw.pop("today"), NOW.timetz()) if "today" in kw else NOW  # the spend tile's month follows the day
    return fleet.load_overview(cfg, Selection(TRANGE, kw.pop("range_text", "24h"), now, **filters), **kw)


def slow_first_loader(monkeypatch, seconds: float = 0.5) -> None:
    """The inventory takes ``seconds`` longer: every other asker arrives while the first one loads."""
    real = sources.inventory

    def inventory(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(sources, "inventory", inventory)


def together(fn, n: int = ASKERS) -> list:
    """``fn(i)`` in ``n`` threads released at once; their results (or exceptions) in thread order."""
    out: list = [None] * n
    go = threading.Barrier(n)

    def run(i: int) -> None:
        go.wait()
        try:
            out[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - returned to the test, which asserts on it
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def forget() -> None:
    cache.clear_all()
    fleet._MEMO.clear()
    evaluation._MEMO.clear()
    METER.reset()


# --- single-flight --------------------------------------------------------------------------------------
def test_sessions_asking_at_once_share_one_load_and_one_overview(fresh, monkeypatch):
    cfg = demo()
    one = ask(cfg)
    calls_of_one = METER.snapshot().total_calls
    assert calls_of_one > 0 and fresh == {"metrics": 1, "computed": 1}
    forget()
    fresh.update(metrics=0, computed=0)
    slow_first_loader(monkeypatch)

    steps: list[list[str]] = [[] for _ in range(ASKERS)]
    got = together(lambda i: ask(cfg, progress=steps[i].append))

    assert all(isinstance(g, fleet.Overview) for g in got), got
    assert all(g is got[0] for g in got)  # one object for every asker
    assert fresh == {"metrics": 1, "computed": 1}  # loaded once, computed once
    assert METER.snapshot().total_calls == calls_of_one  # the AWS calls of one session
    # the loading session reports its steps; the others just wait
    assert sorted(steps, key=len) == [[]] * (ASKERS - 1) + [LOAD_LABELS]
    pd.testing.assert_frame_equal(got[0].table, one.table)
    assert [t.value for t in got[0].tiles] == [t.value for t in one.tiles]


def test_the_summary_is_function_summarys(fresh):
    cfg = demo()
    ov = ask(cfg, teams=["payments"])
    expected = usage(Query(cfg, Selection(TRANGE, TRANGE.label, NOW, teams=("payments",))))  # the same cached answers
    pd.testing.assert_frame_equal(ov.summary.frame, expected.frame)
    assert ov.summary.statuses == expected.statuses and ov.summary.warnings == expected.warnings
    assert len(ov.table) == len(expected.frame) > 0 and set(ov.table["team"]) == {"payments"}


# --- memoised on the versions of the cached parts -------------------------------------------------------
def test_asked_again_on_the_same_data_it_is_the_same_object_and_a_refresh_gives_a_new_one(fresh):
    cfg = demo()
    first = ask(cfg)
    before = METER.snapshot()
    assert ask(cfg) is first and ask(cfg, range_text="24h", accounts=["demo"]) is not None
    assert (METER.snapshot() - before).total_calls == 0
    assert fresh["computed"] == 2  # the second question (an account filter) is another Overview...
    assert ask(cfg) is first and fresh["computed"] == 2  # ...and the first is still remembered

    assert cache.refresh(source_name="metrics") > 0
    before = METER.snapshot()
    second = ask(cfg)
    assert second is not first and fresh["computed"] == 3
    assert (METER.snapshot() - before).count("GetMetricData") > 0  # the refresh asked CloudWatch again
    assert ask(cfg) is second and fresh["computed"] == 3


def test_the_same_question_is_one_entry_whatever_the_order_of_the_filters(fresh):
    cfg = demo()
    a = ask(cfg, regions=["us-east-1", "eu-west-1"], teams=["payments", "search"])
    b = ask(cfg, regions=["eu-west-1", "us-east-1"], teams=["search", "payments", "search"])
    assert b is a and fresh["computed"] == 1


def test_another_question_or_other_settings_are_another_overview(fresh):
    cfg = demo()
    base = ask(cfg)
    assert ask(cfg, teams=["payments"]) is not base
    assert ask(cfg, today=NOW.date().replace(day=1)) is not base  # another month to date
    other_rules = cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"rules": []})})
    no_rules = ask(other_rules)
    assert no_rules is not base and no_rules.firing.empty and not base.firing.empty
    assert fresh["computed"] == 4


def test_a_failed_part_is_not_kept_the_next_ask_retries_it(fresh, monkeypatch):
    from aws import metrics as cw

    cfg = demo()
    real = cw.lambda_metrics

    def throttled(*, account, region, **kw):
        raise Throttled(f"AWS throttled cloudwatch GetMetricData in demo/{region}; wait a minute and refresh.", region=region)

    monkeypatch.setattr(cw, "lambda_metrics", throttled)
    failed = ask(cfg)
    tiles = {t.key: t for t in failed.tiles}
    assert tiles["invocations"].value is None and tiles["invocations"].error.startswith("AWS throttled cloudwatch")
    assert {s.source for s in failed.summary.failed} == {"metrics"}

    monkeypatch.setattr(cw, "lambda_metrics", real)  # CloudWatch answers again
    before = METER.snapshot()
    ok = ask(cfg)
    assert (METER.snapshot() - before).count("GetMetricData") > 0  # the failed parts were asked again
    assert ok is not failed and not ok.summary.failed
    assert {t.key: t for t in ok.tiles}["invocations"].value > 0
    assert ask(cfg) is ok and fresh["computed"] == 2


def test_an_exception_while_computing_reaches_every_asker_and_is_not_kept(fresh, monkeypatch):
    cfg = demo()
    slow_first_loader(monkeypatch)
    real = fleet.function_table

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the table")

    monkeypatch.setattr(fleet, "function_table", broken)
    got = together(lambda i: ask(cfg))
    assert [type(g) for g in got] == [RuntimeError] * ASKERS and all(str(g) == "a bug in the table" for g in got)

    monkeypatch.setattr(fleet, "function_table", real)
    ov = ask(cfg)
    assert isinstance(ov, fleet.Overview) and len(ov.table) == 16


class Rerun(BaseException):
    """Stands for Streamlit's RerunException, raised by a widget update of a session asked to rerun."""


def test_a_session_interrupted_while_loading_does_not_break_those_waiting_for_it(fresh, monkeypatch):
    cfg = demo()
    slow_first_loader(monkeypatch)
    leading = threading.Event()
    labels: list[str] = []

    def interrupted(label: str) -> None:
        labels.append(label)
        leading.set()
        raise Rerun()

    results: dict[str, object] = {}

    def leader() -> None:
        try:
            results["leader"] = ask(cfg, progress=interrupted)
        except BaseException as e:  # noqa: BLE001 - asserted below
            results["leader"] = e

    t = threading.Thread(target=leader)
    t.start()
    assert leading.wait(10)
    waiters = together(lambda i: ask(cfg), n=3)
    t.join(60)

    assert isinstance(results["leader"], Rerun)  # raised in its own session, once the load was done
    assert labels == LOAD_LABELS[:1]  # no more progress after the interruption
    assert all(isinstance(w, fleet.Overview) for w in waiters) and all(w is waiters[0] for w in waiters)
    assert fresh == {"metrics": 1, "computed": 1}
    assert ask(cfg) is waiters[0] and fresh["computed"] == 1  # kept: the next ask is served at once


def test_the_memo_keeps_a_handful_of_overviews(fresh):
    cfg = demo()
    first = ask(cfg, range_text="a")
    for i in range(8):
        ask(cfg, range_text=f"q{i}")
    assert len(fleet._MEMO) <= 4
    assert fresh["computed"] == 9
    assert ask(cfg, range_text="a") is not first  # the oldest was dropped: computed again
