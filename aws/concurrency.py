"""One small thread-pool helper for every fan-out: results in order, context variables carried along.

Each task runs in a copy of the caller's ``contextvars`` context, so what the caller set
(the API meter's per-session scope, for one) holds in the worker threads too.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["run_concurrently"]

T = TypeVar("T")
R = TypeVar("R")


def run_concurrently(fn: Callable[[T], R], items: Iterable[T], *, max_workers: int, name: str = "aws") -> list[R]:
    """``[fn(x) for x in items]`` on at most ``max_workers`` threads; the first failure cancels what has not started."""
    items = list(items)
    workers = min(max_workers, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn, x) for x in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
