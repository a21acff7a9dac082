"""One small thread-pool helper for every fan-out: results in order, context variables carried along.

Each task runs in a copy of the caller's ``contextvars`` context, so what the caller set
(the API meter's per-session scope, for one) holds in the worker threads too.

:func:`run_within` bounds the wall time: a task still running at its deadline is given up (its
result is the ``on_timeout`` answer) and left to finish on its own daemon thread, so a trickling
endpoint, which botocore's per-read timeout never stops, cannot hold the caller — nor the process's
exit. :func:`deadline` sets the deadline of everything asked inside it (a refresh, a page).
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["run_concurrently", "run_within", "deadline", "remaining_s"]

T = TypeVar("T")
R = TypeVar("R")

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("refresh_deadline", default=None)


def _start(fn: Callable[[T], R], items: list[T], *, max_workers: int, name: str) -> list[Future]:
    """Start ``fn(x)`` for every item on daemon threads, at most ``max_workers`` running at once; their futures.

    Daemon threads, not a ThreadPoolExecutor's: the interpreter joins an executor's threads at exit, so one
    read stuck on a trickling endpoint would hold the process after its command has answered.
    """
    futures: list[Future] = [Future() for _ in items]
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(len(items)):
        todo.put(i)
    ctx = contextvars.copy_context()

    def worker() -> None:
        while True:
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            fut = futures[i]
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(ctx.copy().run(fn, items[i]))
            except BaseException as e:  # noqa: BLE001 - handed to the waiting caller
                fut.set_exception(e)

    for n in range(max(1, min(max_workers, len(items)))):
        threading.Thread(target=worker, name=f"{name}-{n}", daemon=True).start()
    return futures


def run_concurrently(fn: Callable[[T], R], items: Iterable[T], *, max_workers: int, name: str = "aws") -> list[R]:
    """``[fn(x) for x in items]`` on at most ``max_workers`` threads; the first failure cancels what has not started."""
    items = list(items)
    if min(max_workers, len(items)) <= 1:
        return [fn(x) for x in items]
    futures = _start(fn, items, max_workers=max_workers, name=name)
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Everything asked inside the block (and in the threads it starts) ends within ``seconds`` from now,
    or by the deadline already set around it, whichever comes first. None: no new bound."""
    if seconds is None:
        yield
        return
    at = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set(at if outer is None else min(outer, at))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining_s() -> float | None:
    """Seconds left before the deadline set by :func:`deadline` (≥ 0), or None without one."""
    at = _DEADLINE.get()
    return None if at is None else max(0.0, at - time.monotonic())


def run_within(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    timeout_s: Callable[[T], float],
    on_timeout: Callable[[T, float], R],
    max_workers: int,
    name: str = "aws",
    on_wait: Callable[[], None] | None = None,
    poll_s: float = 0.25,
) -> list[R]:
    """``[fn(x) for x in items]``, each given at most ``timeout_s(x)`` seconds (and no more than the :func:`deadline`
    around the call): an item past it answers ``on_timeout(x, seconds)`` while its thread (a daemon) finishes
    alone. At most ``max_workers`` items run at once; a failure in ``fn`` propagates as in :func:`run_concurrently`.
    ``on_wait`` is called in the caller's thread about every ``poll_s`` seconds while it waits (a page's progress)."""
    items = list(items)
    if not items:
        return []
    start = time.monotonic()
    outer = _DEADLINE.get()
    limits = [start + timeout_s(x) if outer is None else min(start + timeout_s(x), outer) for x in items]
    futures = _start(fn, items, max_workers=max_workers, name=name)
    out: list[R] = []
    for x, fut, limit in zip(items, futures, limits, strict=True):
        try:
            out.append(_wait(fut, limit, on_wait, poll_s))
        except FutureTimeout:
            fut.cancel()  # not started yet: it never will; running: it finishes alone
            out.append(on_timeout(x, limit - start))
    return out


def _wait(fut: Future, limit: float, on_wait: Callable[[], None] | None, poll_s: float):
    """``fut``'s result by the monotonic time ``limit`` (FutureTimeout past it), calling ``on_wait`` between polls."""
    if on_wait is None:
        return fut.result(timeout=max(0.0, limit - time.monotonic()))
    while True:
        left = limit - time.monotonic()
        try:
            return fut.result(timeout=max(0.0, min(poll_s, left)))
        except FutureTimeout:
            if left <= poll_s:
                raise
        on_wait()
