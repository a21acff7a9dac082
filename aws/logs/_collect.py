"""The entry point of the memory and cold-start figures: Logs Insights, else FilterLogEvents."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

import pandas as pd

from aws.logs._common import LogsInsightsUnavailable
from aws.logs._events import report_stats_from_events
from aws.logs._insights import report_stats
from aws.session import Account

__all__ = ["memory_and_cold_starts"]

log = logging.getLogger(__name__)

_PREFER = ("insights", "events")


def memory_and_cold_starts(
    *,
    account: Account,
    region: str,
    log_groups: Mapping[str, str],
    start: datetime,
    end: datetime,
    bin_s: int | None = None,
    prefer: str = "insights",
    fields: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Reports, cold starts, init duration, billed duration, GB-s and memory per function and bin.

    ``prefer="insights"`` uses Logs Insights and falls back to FilterLogEvents when the
    endpoint has no Logs Insights (StartQuery unknown / not implemented, or the stats
    ignored, as on emulators); ``prefer="events"`` reads FilterLogEvents directly.
    ``attrs["source"]`` says which path answered ("logs_insights" | "filter_log_events").
    ``fields``: the figures Logs Insights is asked for besides the counts (``aws.logs.build_query``; the others are
    NaN); FilterLogEvents reads whole lines and gives every figure.
    """
    if prefer not in _PREFER:
        raise ValueError(f"prefer must be one of {_PREFER}, not {prefer!r}")
    kwargs = {"account": account, "region": region, "log_groups": log_groups, "start": start, "end": end}
    if prefer == "insights":
        try:
            return report_stats(**kwargs, bin_s=bin_s, fields=fields)
        except LogsInsightsUnavailable as e:
            log.info("%s", e)
    return report_stats_from_events(**kwargs, bin_s=bin_s)
