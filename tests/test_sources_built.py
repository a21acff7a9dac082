"""Frames built from cached answers are kept while the answers are the same objects (dashboard.query.sources)."""

from __future__ import annotations

import pandas as pd

from dashboard.query import sources


def test_the_same_answers_give_the_same_frame_and_new_answers_a_new_one():
    a, b = pd.DataFrame({"x": [1, 2]}), pd.DataFrame({"x": [3]})
    builds = []

    def concat(*frames):
        builds.append(frames)
        return pd.concat(frames, ignore_index=True)

    first = sources.built("test-concat", [a, b], lambda: concat(a, b))
    assert sources.built("test-concat", [a, b], lambda: concat(a, b)) is first and len(builds) == 1
    refreshed = pd.DataFrame({"x": [3]})  # equal, but a new answer: built again
    again = sources.built("test-concat", [a, refreshed], lambda: concat(a, refreshed))
    assert again is not first and len(builds) == 2 and again["x"].tolist() == [1, 2, 3]


def test_builds_are_bounded_by_count_and_bytes_the_newest_kept():
    kept = sources._Built(size=3, max_bytes=2 * 8 * 1000)  # two frames of 1,000 int64
    frames = [pd.DataFrame({"x": range(1000)}) for _ in range(4)]
    for f in frames:
        kept.get("k", [f], f.copy)
    assert kept.get("k", [frames[3]], lambda: "rebuilt") is not "rebuilt"  # noqa: F632 - the newest stays
    assert kept.get("k", [frames[0]], lambda: "rebuilt") == "rebuilt"  # the oldest went over the bytes
    huge = pd.DataFrame({"x": range(10_000)})
    big = kept.get("k", [huge], huge.copy)
    assert kept.get("k", [huge], lambda: "rebuilt") is big  # one build past the budget alone is still kept


def test_a_build_goes_with_the_answer_it_was_built_from_and_so_do_builds_made_from_it():
    """A refreshed answer is let go by the cache: nothing built from it may keep it (or itself) alive."""
    import gc
    import weakref

    kept = sources._Built(size=32, max_bytes=1 << 30)
    other = pd.DataFrame({"x": [1]})

    def build_and_drop() -> tuple[weakref.ref, weakref.ref]:
        """A page's run: builds from an answer, then lets the answer and the builds go (the cache refreshed it)."""
        answer = pd.DataFrame({"x": range(100)})
        first = kept.get("concat", [answer, other], lambda: pd.concat([answer, other], ignore_index=True))
        kept.get("sum", [first], lambda: first.sum())
        assert len(kept) == 2
        return weakref.ref(answer), weakref.ref(first)

    watch_answer, watch_first = build_and_drop()
    gc.collect()
    assert watch_answer() is None  # not held by the build made from it
    assert len(kept) == 0  # its build went (at the next look), and the build made from that build
    gc.collect()
    assert watch_first() is None
    again = kept.get("concat", [other], lambda: other.copy())
    assert len(kept) == 1 and again["x"].tolist() == [1]
