"""The dashboard's own AWS spend survives a restart (aws/ledger.py through aws/refresh.py): one small JSON file per
month, written atomically; a file that cannot be read starts the month at $0 and says so in one sentence."""

from __future__ import annotations

import json

import pytest

from aws import cache
from aws.cache import SourceCache
from aws.ledger import SpendLedger
from aws.meter import METER
from aws.refresh import Refresher
from dashboard.digest.state import atomic_write
from dashboard.web.ui import refresh_text

NOW = 1_796_000_000.0  # 2026-11-30 00:53 UTC, a day before the month ends
KEY = ("demo", "us-east-1", "metrics", "24h", 300, ("a", "b", "c"))


class Clock:
    def __init__(self, t: float = NOW):
        self.t = t

    def __call__(self) -> float:
        return self.t


def spend(usd: float):
    def fetch():
        METER._add_call("demo", "us-east-1", "monitoring", "GetMetricData", {"MetricDataQueries": [{}] * round(usd * 100_000)})
        return "frame"

    return fetch


@pytest.fixture
def start(tmp_path):
    clock = Clock()
    made: list[Refresher] = []
    path = tmp_path / "state" / "aws-spend.json"

    def refresher() -> tuple[Refresher, SourceCache]:
        store = SourceCache("metrics", 120, timer=clock, clock=clock)
        r = Refresher(10.0, clock=clock, timer=clock, caches=lambda: {"metrics": store}, ledger=SpendLedger(path, write=atomic_write))
        cache.set_policy(r)
        made.append(r)
        return r, store

    yield clock, path, refresher
    for r in made:
        r.stop()
    cache.set_policy(None)


def test_the_months_spend_survives_a_restart(start):
    clock, path, refresher = start
    r, store = refresher()
    store.get(KEY, spend(0.5))
    assert r.plan().spent_usd == pytest.approx(0.5)
    r.stop()  # a restart: the process's meter and refresher are gone, the file stays
    saved = json.loads(path.read_text())
    assert saved["month"] == "2026-11" and saved["spent_usd"] == pytest.approx(0.5) and saved["note"] is None
    again, store2 = refresher()
    plan = again.plan()
    assert plan.spent_usd == pytest.approx(0.5) and plan.spent_note is None
    store2.get(KEY, spend(0.25))
    assert again.plan().spent_usd == pytest.approx(0.75)
    # the projection rests on what was spent before the restart too
    assert again.plan().projected_usd >= 0.75


def test_a_new_month_starts_at_zero(start):
    clock, path, refresher = start
    r, store = refresher()
    store.get(KEY, spend(0.5))
    r.stop()
    clock.t += 86400  # 2026-12-01
    again, _ = refresher()
    assert again.plan().spent_usd == 0.0 and again.plan().month == "2026-12"


@pytest.mark.parametrize(
    "content, cause",
    [
        ("{not json", "not valid JSON"),
        ('{"version": 1, "month": "2026-11", "spent_usd": -3}', "spent_usd is not an amount ≥ 0"),
        ('{"version": 1, "spent_usd": 2}', "month or spent_usd is missing"),
        ("[1, 2]", "not a spend record of this version"),
    ],
)
def test_a_corrupt_file_is_one_sentence_and_starts_at_zero_marked_as_such(start, content, cause):
    clock, path, refresher = start
    path.parent.mkdir(parents=True)
    path.write_text(content)
    r, store = refresher()
    plan = r.plan()
    assert plan.spent_usd == 0.0
    assert plan.spent_note is not None and cause in plan.spent_note and str(path) in plan.spent_note
    assert plan.spent_note.count(". ") == 0 and plan.spent_note.endswith(".")  # one sentence
    text = refresh_text(r)
    assert plan.spent_note in text and "Traceback" not in text
    store.get(KEY, spend(0.1))
    r.stop()
    saved = json.loads(path.read_text())  # the count goes on, still marked partial after the next restart
    assert saved["spent_usd"] == pytest.approx(0.1) and saved["note"] == plan.spent_note
    again, _ = refresher()
    assert again.plan().spent_note == plan.spent_note and again.plan().spent_usd == pytest.approx(0.1)


def test_the_file_is_written_whole_or_not_at_all(start, monkeypatch):
    clock, path, refresher = start
    r, store = refresher()
    store.get(KEY, spend(0.5))
    r.stop()
    before = path.read_text()

    def crash(*a, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dashboard.digest.state.os.replace", crash)
    again, store2 = refresher()
    store2.get(KEY, spend(0.25))
    again.stop()  # the write fails: logged, the old file is whole, nothing raised
    assert path.read_text() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
