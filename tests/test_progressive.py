"""Progressive pages: a load says what it is doing in counts, draws what has arrived, and a slow part never
holds the others.

The counts are checked on :func:`dashboard.query.sources.fan_out` with fetches that answer when the test
lets them (no AWS at all); the Overview's early tiles and the slow account-region on the simulated account,
the latter slowed where the tiles' figures are read (``range_statistics`` of one region) past ``aws.deadline_s``.
"""

from __future__ import annotations

import re
import threading
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from aws.session import Account
from dashboard.query import progress, sources
from tests.apptest import APP, ROOT, plain, run

PARTS = [(Account(f"a{i}", regions=("us-east-1", "eu-west-1")), r) for i in range(4) for r in ("us-east-1", "eu-west-1")]


def test_a_fan_out_counts_its_parts_as_they_answer_and_reports_only_in_the_thread_that_waits():
    gates = {p: threading.Event() for p in PARTS}
    lines: list[tuple[str, bool]] = []
    main = threading.get_ident()
    tracker = progress.Progress(lambda line: lines.append((line, threading.get_ident() == main)))

    def fetch(account, region):
        assert gates[(account, region)].wait(10)
        return pd.DataFrame({"n": [1]})

    def release():  # the parts answer one by one, while the fan-out waits
        for p in PARTS[:3]:
            gates[p].set()
            deadline = time.monotonic() + 10
            while not any(line.startswith(f"metrics: {PARTS.index(p) + 1} of 8") for line, _ in lines) and time.monotonic() < deadline:
                time.sleep(0.02)
        for p in PARTS[3:]:
            gates[p].set()

    threading.Thread(target=release, daemon=True).start()
    with progress.tracking(tracker):
        frames, statuses = sources.fan_out("metrics", PARTS, lambda a, r: (a.name, r, "progress-test"), fetch)

    assert len(frames) == 8 and not any(s.failed for s in statuses)
    said = [line for line, _ in lines]
    assert said[0] == "metrics: 0 of 8 account-regions"
    assert {"metrics: 1 of 8 account-regions", "metrics: 2 of 8 account-regions", "metrics: 3 of 8 account-regions"} <= set(said)
    assert said[-1] == "metrics: 8 of 8 account-regions"
    assert all(in_main for _, in_main in lines)  # a Streamlit element is only touched from its script thread
    assert tracker.summary() == "metrics: 8 of 8 account-regions"


def test_a_part_past_its_deadline_is_counted_as_timed_out_once_and_the_others_answer():
    slow = Account("slow", deadline_s=0.5)
    fast = Account("fast")
    release = threading.Event()

    def fetch(account, region):
        if account is slow:
            release.wait(10)
        return pd.DataFrame({"account": [account.name]})

    tracker = progress.Progress()
    with progress.tracking(tracker), progress.stage("whole range"):
        frames, statuses = sources.fan_out("metrics", [(slow, "us-east-1"), (fast, "us-east-1")], lambda a, r: (a.name, r, "late-test"), fetch)
    release.set()
    time.sleep(0.2)  # the slow part answers after it was given up: it is not counted again
    assert [f["account"].tolist() for f in frames] == [["fast"]]
    (gap,) = [s for s in statuses if s.failed]
    assert gap.account == "slow" and "did not finish within" in gap.error
    assert tracker.summary() == "metrics (whole range): 1 of 2 account-regions (1 timed out)"


def test_no_progress_no_counting():
    frames, _ = sources.fan_out("tags", PARTS[:2], lambda a, r: (a.name, r, "untracked"), lambda a, r: pd.DataFrame({"n": [1]}))
    assert progress.current() is None and len(frames) == 2


# --- on the simulated account ------------------------------------------------------------------------------


@pytest.fixture
def two_regions(tmp_path, monkeypatch):
    from dashboard.config import settings as settings_mod

    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "accounts:\n  - name: demo\n    demo: true\n    regions: [us-east-1, eu-west-1]\n    simulation: {functions: 12}\n"
        "aws: {deadline_s: 3}\n"
    )
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("LAMBDA_LENS_CONFIG", str(cfg))
    return settings_mod.load(cfg)


@pytest.mark.aws
def test_the_overview_hands_over_its_tiles_before_the_trend_and_the_table_before_the_alerts(two_regions, monkeypatch):
    from dashboard.figures import fleet

    monkeypatch.setattr(fleet, "PARTIAL_AFTER_S", 0.0)  # however fast the simulated account answers
    from dashboard.query.selection import Selection
    from dashboard.query.timerange import parse_range

    cfg = two_regions
    now = cfg.now()
    sel = Selection(parse_range("24h", now=now), "24h", now, (), (), ())
    events: list[tuple[str, object]] = []
    ov = fleet.load_overview(
        cfg, sel, progress=lambda s: events.append(("step", s)), counts=lambda c: events.append(("count", c)),
        partial=lambda p: events.append(("partial", p)),
    )  # fmt: skip
    steps = [v for k, v in events if k == "step"]
    first, second = [(i, v) for i, (k, v) in enumerate(events) if k == "partial"]
    # the tiles once both periods' whole-range figures are in, before the trend is asked for
    assert first[1].table is None and events.index(("step", steps[2])) > first[0]
    assert [t.value_text() for t in first[1].tiles] == [t.value_text() for t in ov.tiles[:4]]
    # the table before the bill and the alert rules; the finished Overview's rows are the same
    assert second[0] < events.index(("step", "Alert rules…"))
    # (the finished table is ordered by alerts and cost, known only then; its cost columns are filled then too)
    later = ["trend", "alerts", "est_cost_usd", "mtd_cost_usd"]
    by_link = lambda t: t.drop(columns=later).sort_values("link", ignore_index=True)  # noqa: E731
    pd.testing.assert_frame_equal(by_link(second[1].table), by_link(ov.table))
    counts = [v for k, v in events if k == "count"]
    events.clear()  # asked again: every part is answered from the caches, so nothing is handed over early
    monkeypatch.setattr(fleet, "PARTIAL_AFTER_S", 5.0)
    assert fleet.load_overview(cfg, sel, partial=lambda p: events.append(("partial", p))) is ov and events == []
    assert any("metrics (whole range): 0 of 2 account-regions" in c for c in counts)  # said while it loads
    # and each kind said when all its parts are in (the cost parts ask memory and metrics again: more parts)
    for kind in ("metrics (previous period)", "memory and cold starts"):
        assert any(re.search(rf"{re.escape(kind)}: (\d+) of \1 account-regions", c) for c in counts), kind


@pytest.mark.aws
@pytest.mark.timeout(180)
def test_a_slow_region_becomes_a_named_gap_while_the_other_regions_tiles_and_rows_are_drawn(two_regions, monkeypatch):
    from aws import metrics as cw

    real = cw.range_statistics
    released = threading.Event()

    def slow_in_eu(*, region, **kw):
        if region == "eu-west-1":
            released.wait(8)  # past aws.deadline_s (3 s): given up, its thread finishes alone
        return real(region=region, **kw)

    monkeypatch.setattr(cw, "range_statistics", slow_in_eu)
    try:
        at = run(AppTest.from_file(APP, default_timeout=150), timeout=150)
    finally:
        released.set()

    table = at.dataframe[-1].value
    us = table[table["region"] == "us-east-1"]
    eu = table[table["region"] == "eu-west-1"]
    assert len(us) and len(eu)  # both regions' functions are listed
    assert us["invocations"].notna().all() and eu["invocations"].isna().all()  # the slow one's figures unknown, not 0
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Invocations"] == f"{us['invocations'].sum():,.0f}" != "—"  # the other region's tiles are drawn
    said = [plain(e.value) for e in at.error]
    assert any("eu-west-1" in s and "did not finish within 3 s" in s for s in said), said
    assert not any("us-east-1" in s for s in said)
    read = [plain(c.value) for c in at.caption if plain(c.value).startswith("Read: ")]
    assert read and "metrics (whole range): 1 of 2 account-regions (1 timed out)" in read[0]


@pytest.mark.aws
@pytest.mark.parametrize(("page", "part"), [("dashboard/pages/functions.py", "metrics (whole range)"), ("dashboard/pages/alerts.py", "tags")])
def test_the_list_pages_say_what_they_read_in_counts(two_regions, page, part):
    at = AppTest.from_file(APP, default_timeout=150)
    at.switch_page(page)
    run(at, timeout=150)
    (read,) = [plain(c.value) for c in at.caption if plain(c.value).startswith("Read: ")]
    assert f"{part}: 2 of 2 account-regions" in read and all(n.split(" of ")[0].split()[-1] == n.split(" of ")[1].split()[0] for n in read.split(" · "))

