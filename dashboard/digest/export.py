"""A composed digest as plain data for JSON: what ``digest --dry-run`` writes beside the .eml and .html.

:func:`digest_dict` follows the CLI's ``--format json``: snake_case keys with the unit in
the name where there is one (``spend.mtd_usd``, ``duration_p99_ms``, ``change_pct``), each
frame a list of flat objects (:func:`dashboard.present.tables.records`), a missing value null (unknown,
never 0), times ISO 8601 in UTC and calendar days as ``YYYY-MM-DD``. The memo of the firing
alerts is left out: it is the state's copy of ``alerts``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.digest.compose import NEW, ONGOING, RESOLVED, AlertChart, Digest, Spend
from dashboard.present.tables import jsonable, records

__all__ = ["digest_dict"]


def _spend(s: Spend) -> dict[str, Any]:
    daily = s.daily.assign(date=pd.to_datetime(s.daily["date"]).dt.date)  # naive midnights: calendar days
    return {
        "scope": s.scope,
        "month_start": jsonable(s.month_start),
        "month_end": jsonable(s.month_end),  # exclusive: the first day of the next month
        "today": jsonable(s.today),
        "mtd_usd": jsonable(s.mtd_usd),
        "forecast_usd": jsonable(s.forecast_usd),
        "budget_usd": jsonable(s.budget_usd),
        "budget_used_pct": jsonable(s.budget_used_pct),
        "status": s.status,
        "note": s.note or None,
        "error": s.error,
        "daily": records(daily),
    }


def _chart(c: AlertChart) -> dict[str, Any]:
    return {
        "key": c.key,
        "title": c.title,
        "metric": c.metric,
        "threshold": jsonable(c.threshold),
        "comparison": c.comparison,
        "alarm_spans": [{"start": jsonable(a), "end": jsonable(b)} for a, b in c.alarm_spans],
        "points": [{"timestamp": jsonable(t), "value": jsonable(v)} for t, v in c.series.items()],
    }


def digest_dict(d: Digest) -> dict[str, Any]:
    """``d`` as JSON-ready data (see the module docstring); ``json.dumps`` takes it as it is."""
    return {
        "name": d.name,
        "team": d.team,
        "scope": d.scope,
        "recipients": list(d.recipients),
        "generated_at": jsonable(d.generated_at),
        "timezone": d.timezone,
        "range": d.range_text,
        "range_start": jsonable(d.trange.start),
        "range_end": jsonable(d.trange.end),
        "previous_sent_at": jsonable(d.previous_sent_at),
        "changed": bool(d.changed),
        "dashboard_url": d.dashboard_url,
        "function_count": int(d.function_count),
        "firing_count": d.firing,
        "new_count": d.count(NEW),
        "ongoing_count": d.count(ONGOING),
        "resolved_count": d.count(RESOLVED),
        "alerts": records(d.alerts),
        "movers": records(d.movers),
        "advice": records(d.advice),
        "functions": records(d.functions),
        "spend": _spend(d.spend),
        "charts": [_chart(c) for c in d.charts],
        "problems": list(d.problems),
        "no_rules": d.no_rules,  # no alert rule applies to this digest: nothing was checked
        "unchecked": list(d.unchecked),  # sources the alerts could not read: no health is claimed while any is listed
    }
