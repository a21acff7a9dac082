"""What is being looked at: the accounts, regions and teams, the time range, and the clock it was read by.

A :class:`Selection` is a value passed from a surface (the sidebar, the CLI's options, a digest's
settings) to the load (:mod:`dashboard.query.load`) and the figures: every surface that asks about the same
selection gets the same numbers. Empty accounts / regions / teams mean all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from dashboard.config.echo import echo
from dashboard.config.settings import Settings
from dashboard.query.timerange import TimeRange, parse_range

__all__ = ["Selection", "SelectionError", "select", "check_names", "check_teams"]


class SelectionError(ValueError):
    """A filter naming an account, region or team that is not there; ``str()`` is one sentence naming what is."""


@dataclass(frozen=True)
class Selection:
    """Accounts, regions and teams (empty = all), the range, how it was written, and "now"."""

    trange: TimeRange
    range_text: str
    now: datetime  # the clock the range was read by (UTC): the month "to date" and "today" follow it
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    def __post_init__(self) -> None:  # one spelling of each filter, whatever order it was chosen in
        for name in ("accounts", "regions", "teams"):
            object.__setattr__(self, name, _names(getattr(self, name)))

    @property
    def today(self) -> date:
        """The UTC day of :attr:`now`."""
        return self.now.date()

    @property
    def key(self) -> tuple:
        """What decides the answers (for memos): the filters, the range to the minute and the UTC day."""
        return (self.accounts, self.regions, self.teams, self.trange.label, *self.trange.minutes, self.today.isoformat())

    def previous(self) -> Selection:
        """The same functions over the period of the same length just before the range."""
        return replace(self, trange=self.trange.previous(), range_text=f"previous {self.range_text}")

    def with_teams(self, teams: Iterable[str]) -> Selection:
        return replace(self, teams=tuple(teams))


def _names(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(sorted({v for v in values or () if v}))


def select(
    settings: Settings,
    *,
    range_text: str | None = None,
    accounts: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
    teams: Iterable[str] | None = None,
    now: datetime | None = None,
) -> Selection:
    """The selection of these filters over ``range_text`` (default: the config's), read at ``now``
    (default: the config's clock, :meth:`Settings.now`). A bad range raises :class:`~dashboard.query.timerange.RangeError`,
    an account or region the config does not have :class:`SelectionError` (teams need the inventory: :func:`check_teams`)."""
    check_names(settings, accounts=accounts, regions=regions)
    now = now or settings.now()
    text = range_text or settings.default_range
    return Selection(parse_range(text, now=now), text, now, tuple(accounts or ()), tuple(regions or ()), tuple(teams or ()))


def check_names(settings: Settings, *, accounts: Iterable[str] | None = None, regions: Iterable[str] | None = None) -> None:
    """Raise :class:`SelectionError` for the first account or region the config does not have (an empty answer
    would read as "no functions there")."""
    known = [a.name for a in settings.accounts]
    wanted = _names(accounts)
    for name in wanted:
        if name not in known:
            raise SelectionError(f"no account named {echo(name)} in {settings.source} (accounts: {', '.join(known)})")
    chosen = [a for a in settings.accounts if not wanted or a.name in wanted]
    where = sorted({r for a in chosen for r in a.regions})
    for region in _names(regions):
        if region not in where:
            of = f"account{'s' if len(chosen) > 1 else ''} {', '.join(a.name for a in chosen)}" if wanted else f"the accounts of {settings.source}"
            raise SelectionError(f"no region {echo(region)} in {of} (regions: {', '.join(where)})")


def check_teams(teams: Iterable[str], known: Iterable[str]) -> None:
    """Raise :class:`SelectionError` for the first of ``teams`` not among ``known`` (the teams of the loaded inventory)."""
    known = sorted({k for k in known if isinstance(k, str) and k})  # the frame's missing teams are NA
    for team in _names(teams):
        if team not in known:
            raise SelectionError(f"no function belongs to team {echo(team)} (teams: {', '.join(known) or 'none'})")
