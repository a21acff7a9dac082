"""The memo of computations (the alert evaluation, the Overview) is single-flight: sessions asking the same question together share one evaluation.

Found by the 20-session load test (every session evaluated every rule × function at once: 7.7 GB peak
RSS at 1,000 functions); this is the fast check of the fix, in the default run.
"""

from __future__ import annotations

import threading
import time

import pytest

from aws.cache import Memo


def test_concurrent_askers_share_one_evaluation():
    memo = Memo("alert-evaluations", size=8)
    calls = []
    report = object()
    go = threading.Barrier(8)

    def compute():
        calls.append(1)
        time.sleep(0.2)  # long enough for every other asker to arrive while it runs
        return report

    got = []

    def ask():
        go.wait()
        got.append(memo.get(("q",), compute))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert got == [report] * 8
    assert memo.get(("q",), compute) is report and len(calls) == 1  # then served from the memo


def test_a_failed_evaluation_is_not_remembered():
    memo = Memo("alert-evaluations", size=8)

    def boom():
        raise ValueError("bad rule")

    with pytest.raises(ValueError, match="bad rule"):
        memo.get(("q",), boom)
    assert memo.get(("q",), lambda: "ok") == "ok"
