"""Answers about whole UTC days kept by the day (dashboard/query/days.py): only days not kept are asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from aws import cache
from dashboard.query import days


class Source:
    """A fake collector: one row per day asked, valued by the version of the data it serves."""

    def __init__(self):
        self.asked: list[tuple[date, date]] = []
        self.version = 1
        self.warn = False

    def __call__(self, lo: date, hi: date) -> pd.DataFrame:
        self.asked.append((lo, hi))
        dates = pd.date_range(lo, hi, freq="D", inclusive="left")
        f = pd.DataFrame({"date": dates, "value": [float(self.version)] * len(dates)})
        if self.warn:
            f.attrs["warnings"] = ["part of it could not be read"]
        return f


@pytest.fixture(autouse=True)
def _clean():
    cache.clear_all()
    yield
    cache.clear_all()


def ask(src: Source, start: date, end: date, settled: date, **kw) -> pd.DataFrame:
    return days.read("q", start, end, fetch=src, day_of=lambda f: days.day_column(f, "date"), settled_before=settled, **kw)


def test_settled_days_are_kept_and_only_the_rest_is_asked_for():
    src = Source()
    first = ask(src, date(2026, 11, 1), date(2026, 12, 8), date(2026, 12, 7))
    assert len(first) == 37 and src.asked == [(date(2026, 11, 1), date(2026, 12, 8))]
    src.version = 2  # what may still change, changed
    again = ask(src, date(2026, 11, 1), date(2026, 12, 9), date(2026, 12, 8))
    assert src.asked[-1] == (date(2026, 12, 7), date(2026, 12, 9))  # Dec 7 was not settled when first read
    assert len(again) == 38 and list(again["date"]) == list(pd.date_range("2026-11-01", "2026-12-08"))
    assert (again.loc[again["date"] < "2026-12-07", "value"] == 1).all() and (again.loc[again["date"] >= "2026-12-07", "value"] == 2).all()
    # a range inside the kept days is answered without asking
    n = len(src.asked)
    inside = ask(src, date(2026, 11, 8), date(2026, 12, 8), date(2026, 12, 8))
    assert len(src.asked) == n and len(inside) == 30 and inside["date"].min() == pd.Timestamp("2026-11-08")


def test_a_range_starting_before_the_kept_days_is_read_whole():
    src = Source()
    ask(src, date(2026, 11, 10), date(2026, 12, 1), date(2026, 12, 1))
    ask(src, date(2026, 11, 1), date(2026, 12, 1), date(2026, 12, 1))
    assert src.asked[-1] == (date(2026, 11, 1), date(2026, 12, 1))


def test_a_partial_answer_is_not_kept_and_old_kept_days_are_read_again():
    src = Source()
    src.warn = True
    ask(src, date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 5))
    src.warn = False
    ask(src, date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 5))
    assert src.asked == [(date(2026, 11, 1), date(2026, 11, 5))] * 2
    cache.clear_all()
    t = {"now": 1000.0}
    ask(src, date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 5), clock=lambda: t["now"], max_age_s=60)
    t["now"] += 59
    ask(src, date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 5), clock=lambda: t["now"], max_age_s=60)
    assert len(src.asked) == 3  # kept
    t["now"] += 61  # kept too long (Cost Explorer corrects bills after the fact): read whole again
    ask(src, date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 5), clock=lambda: t["now"], max_age_s=60)
    assert src.asked[-1] == (date(2026, 11, 1), date(2026, 11, 5)) and len(src.asked) == 4


def test_whole_days_only():
    assert days.whole_days(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)) == (date(2026, 11, 1), date(2026, 11, 3))
    assert days.whole_days(datetime(2026, 11, 1, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)) is None
    assert days.settled_metrics_before(datetime(2026, 12, 8, 2, 0, tzinfo=UTC)) == date(2026, 12, 7)  # Dec 7 not yet settled
    assert days.settled_metrics_before(datetime(2026, 12, 8, 3, 0, tzinfo=UTC)) == date(2026, 12, 8)
