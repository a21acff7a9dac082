"""What a long load is doing, in counts: "metrics (trend): 3 of 8 account-regions".

A :class:`Progress` is installed around a load (:func:`tracking`); every fan-out inside it
(:func:`dashboard.query.sources.fan_out`) counts its parts as they answer, from its worker threads.
The thread that installed it — a page's script thread — is the only one that reports: while it waits
for a fan-out it is ticked (:meth:`Progress.tick`) and calls ``on_change`` with the new line, so a
Streamlit element is only ever updated from its own script thread.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Progress", "Counter", "Batch", "Behind", "tracking", "current", "stage"]

# what a source's parts hold, for the progress line
SOURCE_NAMES = {
    "inventory": "function list",
    "tags": "tags",
    "metrics": "metrics",
    "logs": "memory and cold starts",
    "insights": "Lambda Insights",
    "costs": "Lambda spend",
    "forecast": "forecast",
}
# the parts of a query (dashboard.query.load.Query) whose fan-outs share a source, named apart
PART_STAGES = {"range_stats": "whole range", "metrics": "trend", "previous_stats": "previous period"}
PER_ACCOUNT = {"costs", "forecast"}  # Cost Explorer is asked once per account, not per region

_CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("load_progress", default=None)
_STAGE: contextvars.ContextVar[str | None] = contextvars.ContextVar("load_stage", default=None)


@dataclass
class Counter:
    """The parts of one kind a load asked for, and how many have answered or been given up."""

    name: str
    total: int
    unit: str
    done: int = 0
    late: int = 0  # given up at the deadline

    @property
    def finished(self) -> bool:
        return self.done + self.late >= self.total

    def text(self) -> str:
        late = f" ({self.late} timed out)" if self.late else ""
        return f"{self.name}: {self.done} of {self.total} {self.unit}{late}"


@dataclass
class Batch:
    """One fan-out's parts, counted into their :class:`Counter` (a part given up and answering later counts once)."""

    counter: Counter
    counted: set = field(default_factory=set)


class Progress:
    """Counts per part of a load (thread-safe); see the module docstring."""

    def __init__(self, on_change: Callable[[str], None] | None = None) -> None:
        self._on_change = on_change
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._counters: dict[str, Counter] = {}
        self._said: str | None = None
        self._interrupt: BaseException | None = None

    def begin(self, source: str, total: int) -> Batch:
        """A fan-out of ``total`` parts of ``source`` starts (named by the :func:`stage` around it, if any)."""
        name = SOURCE_NAMES.get(source, source)
        if (where := _STAGE.get()) is not None:
            name = f"{name} ({where})"
        unit = "accounts" if source in PER_ACCOUNT else "account-regions"
        with self._lock:
            c = self._counters.get(name)
            if c is None:
                c = self._counters[name] = Counter(name, 0, unit)
            c.total += total  # the same kind asked again in the same stage: one count
        self.tick()
        return Batch(c)

    def answered(self, batch: Batch, part: Hashable, *, late: bool = False) -> None:
        """One part of ``batch`` answered (or, ``late``, was given up at its deadline); each part counts once."""
        with self._lock:
            if part in batch.counted:
                return
            batch.counted.add(part)
            if late:
                batch.counter.late += 1
            else:
                batch.counter.done += 1

    def counters(self) -> list[Counter]:
        with self._lock:
            return [Counter(c.name, c.total, c.unit, c.done, c.late) for c in self._counters.values()]

    def text(self) -> str:
        """The parts still loading (all of them once everything has answered), ``·``-separated."""
        every = self.counters()
        running = [c for c in every if not c.finished]
        return " · ".join(c.text() for c in (running or every[-1:]))

    def summary(self) -> str:
        """Every part of the load with its count, ``·``-separated."""
        return " · ".join(c.text() for c in self.counters())

    def tick(self) -> None:
        """From the thread that installed it: report the line if it changed (other threads: nothing)."""
        if self._on_change is None or self._interrupt is not None or threading.get_ident() != self._owner:
            return
        line = self.text()
        if line and line != self._said:
            self._said = line
            try:
                self._on_change(line)
            except BaseException as e:  # noqa: BLE001 - a page's rerun: raised once the load is done (tracking)
                self._interrupt = e

    def reraise(self) -> None:
        """What reporting raised (Streamlit raises a session's rerun or stop at a widget update), in the caller's
        thread once the load is done — never inside a load other sessions may be waiting for."""
        if self._interrupt is not None:
            raise self._interrupt


def current() -> Progress | None:
    """The progress of the load this runs in (worker threads of a fan-out included), or None."""
    return _CURRENT.get()


@contextmanager
def tracking(progress: Progress | None) -> Iterator[Progress | None]:
    """Count the fan-outs of everything loaded inside the block into ``progress`` (None: no counting); what its
    reporting raised is raised at the end of the block."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)
    if progress is not None:
        progress.reraise()


@contextmanager
def stage(name: str | None) -> Iterator[None]:
    """Name the fan-outs inside the block by what they load for (``metrics (previous period)``); inside a named
    stage the outer name holds (the previous period's whole-range figures are the previous period's)."""
    if name is None or _STAGE.get() is not None:
        yield
        return
    token = _STAGE.set(name)
    try:
        yield
    finally:
        _STAGE.reset(token)


class Behind:
    """``fn()`` on a daemon thread in a copy of the caller's context (its meter scope, deadline and progress), so a
    load runs while the caller asks or draws something else; :meth:`result` waits for it while the caller's
    progress (or ``tracker``) still reports."""

    def __init__(self, fn: Callable[[], object], *, name: str = "load-behind") -> None:
        self._out: list[tuple[bool, object]] = []
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run, fn), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], object]) -> None:
        try:
            self._out.append((True, fn()))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            self._out.append((False, e))

    def result(self, tracker: Progress | None = None) -> Any:
        tracker = tracker if tracker is not None else current()
        while self._thread.is_alive():
            self._thread.join(0.25)
            if tracker is not None:
                tracker.tick()
        ok, value = self._out[0]
        if not ok:
            raise value  # type: ignore[misc]
        return value
