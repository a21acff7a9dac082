"""The one load: everything the surfaces read about a :class:`~dashboard.query.selection.Selection`.

A :class:`Query` names the settings and the selection; each part is loaded through the caches of
:mod:`dashboard.query.sources` the first time a surface reads it, and kept for the rest of the query:

- ``inventory`` — every function of the selected accounts × regions (with tags and team);
  ``functions`` — its rows of the selected teams;
- ``metrics`` — the AWS/Lambda series of those functions over the range at a fleet view's resolution
  (about 60 periods: the trend; :data:`dashboard.query.sources.FLEET`), :data:`FLEET_COLUMNS` only; ``range_stats`` — the whole-range
  statistics (:data:`SUMMARY_COLUMNS`, one datapoint per function and column: the totals, the exact p99,
  the maxima, so no figure over the range depends on the trend's period); ``memory`` — memory, cold starts
  and billed duration (Lambda Insights or REPORT lines);
- ``previous`` — the same query over the period just before (its whole-range statistics give the
  comparison; it shares this query's inventory);
- ``bill`` — Cost Explorer's AWS Lambda spend of the selected accounts this month to date and over the
  same days of the previous month.

Pages, the CLI, the digests and the alert evaluation read these parts, and the figures
(:mod:`dashboard.figures`) are pure functions over them, so a number is derived once whichever
surface shows it. :attr:`Query.statuses` lists every part read so far with its freshness and error;
:meth:`Query.unread` says which account × region a source could not be read for, so the figures keep
those functions' values unknown instead of zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from aws.concurrency import deadline
from dashboard.config.settings import Settings
from dashboard.query import progress, sources
from dashboard.query.selection import Selection

__all__ = ["Query", "PREVIOUS_COLUMNS", "SUMMARY_COLUMNS", "FLEET_COLUMNS", "unread_parts"]

# what the previous period is read for: the comparison of the headline figures
PREVIOUS_COLUMNS: tuple[str, ...] = ("invocations", "errors", "throttles", "duration_p99_ms")
# what a fleet view reads of the series (aws.metrics.LAMBDA_SCHEMA columns; GetMetricData bills per metric): the
# trend (invocations) and the estimated cost of a digest (invocations × average duration, provisioned concurrency)
FLEET_COLUMNS: tuple[str, ...] = ("invocations", "duration_avg_ms", "pc_utilization_max")
# the whole-range statistics of a summary row (aws.metrics.RANGE_COLUMNS): every figure over the range
SUMMARY_COLUMNS: tuple[str, ...] = (
    "invocations",
    "errors",
    "throttles",
    "duration_avg_ms",
    "duration_p99_ms",
    "duration_max_ms",
    "concurrency_max",
)


class _part:
    """A part of a :class:`Query`, loaded on first read and kept on the instance.

    (``functools.cached_property`` would do, but on Python 3.11 it holds one lock per class: every
    session's query would wait for any other session's load of the same part.)
    """

    def __init__(self, load: Callable[[Any], Any]) -> None:
        self.load = load
        self.__doc__ = load.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        with deadline(max(0.0, obj.deadline_at - time.monotonic())), progress.stage(progress.PART_STAGES.get(self.name)):
            value = self.load(obj)  # the query's whole load ends in time; its counts name the part
        obj.__dict__[self.name] = value
        obj._read.append(self.name)
        return value


def unread_parts(loaded: sources.Loaded | None, source: str | None = None) -> frozenset[tuple[str, str]]:
    """The (account, region) parts of ``loaded`` whose ``source`` (any, by default) failed with no earlier answer."""
    if loaded is None:
        return frozenset()
    return frozenset((s.account, s.region) for s in loaded.failed if source is None or s.source == source)


class Query:
    """What the surfaces read about one selection; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        selection: Selection,
        *,
        force: bool = False,
        inventory: sources.Loaded | None = None,
    ) -> None:
        self.settings = settings
        self.selection = selection
        self.force = force
        # every part read ends by then (aws.refresh_deadline_s from the query's creation): a part still running is given up
        self.deadline_at = time.monotonic() + settings.aws.refresh_deadline_s
        self._read: list[str] = []
        if inventory is not None:
            self.__dict__["inventory"] = inventory
            self._read.append("inventory")

    @property
    def trange(self):
        return self.selection.trange

    @property
    def trend_range(self) -> tuple:
        """``(start, end)`` of :attr:`metrics`' series: the window a fleet view's trend is binned over."""
        return sources.fleet_range(self.trange)

    @_part
    def inventory(self) -> sources.Loaded:
        """Every function of the selected accounts × regions, with its tags and team."""
        sel = self.selection
        return sources.inventory(self.settings, accounts=sel.accounts or None, regions=sel.regions or None, force=self.force)

    @_part
    def functions(self) -> pd.DataFrame:
        """The inventory's functions of the selected teams (all with no team selected)."""
        frame = self.inventory.frame
        teams = self.selection.teams
        return frame[frame["team"].isin(list(teams))] if teams else frame

    @_part
    def metrics(self) -> sources.Loaded:
        """The AWS/Lambda series of :attr:`functions` over the range, about 60 periods (a fleet view's trend), of
        :data:`FLEET_COLUMNS` only (the other columns are NaN: every figure over the range is in :attr:`range_stats`)."""
        return sources.metrics(self.settings, self.trange, self.functions, period=sources.FLEET, columns=FLEET_COLUMNS, force=self.force)

    @_part
    def range_stats(self) -> sources.Loaded:
        """Whole-range statistics of :attr:`functions` (:data:`SUMMARY_COLUMNS`, one datapoint each)."""
        return sources.range_stats(self.settings, self.trange, self.functions, columns=SUMMARY_COLUMNS, force=self.force)

    @_part
    def memory(self) -> sources.Loaded:
        """Memory used, cold starts, init and billed duration of :attr:`functions` over the range."""
        return sources.memory(self.settings, self.trange, self.functions, force=self.force)

    @_part
    def previous(self) -> Query:
        """The same functions over the period of the same length just before the range."""
        prev = Query(self.settings, self.selection.previous(), force=self.force, inventory=self.inventory)
        prev.deadline_at = self.deadline_at  # one load, one deadline
        return prev

    @_part
    def previous_stats(self) -> sources.Loaded:
        """The previous period's whole-range statistics of :attr:`functions` (they hold :data:`PREVIOUS_COLUMNS`):
        the previous query's own ``range_stats``, so the digest and the Overview read one answer."""
        return self.previous.range_stats

    def parts(self) -> list[sources.Loaded]:
        """The loads read so far (in the order they were read)."""
        out = []
        for name in self._read:
            value = self.__dict__.get(name)
            if isinstance(value, sources.Loaded):
                out.append(value)
        return out

    @property
    def statuses(self) -> list[sources.SourceStatus]:
        """Every part read so far: its freshness, staleness and error."""
        return [s for part in self.parts() for s in part.statuses]

    @property
    def warnings(self) -> list[str]:
        return list(dict.fromkeys(w for part in self.parts() for w in part.warnings))

    def unread(self, *names: str) -> frozenset[tuple[str, str]]:
        """The (account, region) parts where any of the named loads (``"metrics"``, ``"memory"``, ...) could not be read."""
        out: set[tuple[str, str]] = set()
        for name in names:
            out |= unread_parts(getattr(self, name))
        return frozenset(out)

    def loaded(self, frame: pd.DataFrame, *names: str) -> sources.Loaded:
        """``frame`` with the statuses and warnings of the named loads (all read so far when none are named)."""
        parts = [getattr(self, n) for n in names] if names else self.parts()
        return sources.Loaded(
            frame,
            [s for p in parts for s in p.statuses],
            list(dict.fromkeys(w for p in parts for w in p.warnings)),
        )
