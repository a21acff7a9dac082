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
