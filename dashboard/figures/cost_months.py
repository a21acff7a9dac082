"""The months the Costs and Teams pages offer: those with Lambda spend or usage, from one Cost Explorer question a day.

:func:`~dashboard.figures.cost_views.months` gives every month the pages can read (this one and those whose previous
month Cost Explorer still holds). Of those, a month with no Lambda spend nor usage is an empty page, so the picker
offers the ones Cost Explorer has Lambda spend or usage for: one GetCostAndUsage (MONTHLY, filtered to Lambda, no
grouping: $0.01 an account, counted by the API meter) over the readable months before this one, cached for the day
(its key holds the date; the months asked have settled). This month is always offered: it is the pages' default, and
its spend is what the page itself reads.

- :func:`spend_months` — the months of a monthly frame with spend or usage (pure).
- :func:`month_choice` — the :class:`MonthChoice` for a day: the months offered, which had spend, and the one sentence
  said when Cost Explorer could not tell (every readable month is offered then).
- :func:`no_spend_sentence` — what a page says for a month chosen by ``?month=`` that had no Lambda spend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pandas as pd

from aws import cache
from aws import costs as ce
from aws.frames import typed_frame
from aws.session import CE_REGION
from dashboard.config.settings import Settings
from dashboard.figures.cost_views import months
from dashboard.query import sources

__all__ = ["MonthChoice", "spend_months", "month_choice", "no_spend_sentence", "month_name"]


@dataclass(frozen=True)
class MonthChoice:
    offered: list[str]  # YYYY-MM newest first: this month, then the readable months with Lambda spend or usage
    readable: list[str]  # every month the pages can read (cost_views.months)
    with_spend: frozenset[str] | None  # the past readable months Cost Explorer has Lambda spend or usage for; None: unknown
    note: str | None = None  # one sentence when the months with spend could not be read (every readable one offered)

    def has_spend(self, month: str) -> bool | None:
        """Whether ``month`` had Lambda spend or usage: None when unknown (this month, or Cost Explorer not read)."""
        if self.with_spend is None or month == self.readable[0]:
            return None
        return month in self.with_spend


def spend_months(monthly: pd.DataFrame) -> frozenset[str]:
    """``YYYY-MM`` of the months in :func:`aws.costs.monthly_costs` rows (any accounts) with spend or usage: a month
    the free tier paid in full still had usage, so it is a month to show."""
    if monthly.empty:
        return frozenset()
    per = monthly.groupby(monthly["date"].dt.strftime("%Y-%m"))[["cost_usd", "usage_quantity"]].sum()
    return frozenset(str(m) for m, c, u in per.itertuples() if abs(c) >= 0.005 or u > 0)


def month_name(month: str) -> str:
    return f"{pd.Timestamp(month + '-01'):%B %Y}"


def no_spend_sentence(month: str) -> str:
    return f"Cost Explorer has no Lambda spend nor usage for {month_name(month)}."


def month_choice(settings: Settings, *, today: date, force: bool = False) -> MonthChoice:
    """The months to offer on ``today`` (see the module docstring). One Cost Explorer request an account a day."""
    readable = months(today=today)
    past = readable[1:]
    if not past:
        return MonthChoice(readable, readable, frozenset())
    start = date.fromisoformat(past[-1] + "-01")
    end = date.fromisoformat(readable[0] + "-01")
    cache.configure(settings.cache_ttl_s.model_dump())
    frames, statuses = sources.fan_out(
        "costs",
        [(a, CE_REGION) for a in settings.aws_accounts()],
        # the date in the key: asked again the next day; the months asked have ended, so the answer is kept that long
        lambda a, r: (a.cache_id, "global", "costs-months", start.isoformat(), end.isoformat(), today.isoformat()),
        lambda a, r: ce.monthly_costs(account=a, start=start, end=end),
        force=force,
        data_end=datetime.combine(end, time(), tzinfo=UTC),
    )
    failed = [s for s in statuses if s.failed]
    if failed:
        return MonthChoice(
            readable,
            readable,
            None,
            note=f"Every month Cost Explorer holds is offered, as which of them had Lambda spend could not be read: {failed[0].error}",
        )
    monthly = pd.concat(frames, ignore_index=True) if frames else typed_frame([], ce.SCHEMA)
    spent = spend_months(monthly)
    return MonthChoice([readable[0], *(m for m in past if m in spent)], readable, spent)
