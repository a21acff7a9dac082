"""The alert engine: CloudWatch's alarm model over the dashboard's frames.

One engine for the alerts page, ``python -m dashboard alerts`` and the e-mail digests.
Pure functions over pandas frames: no AWS call, no Streamlit.

- :func:`effective_rules` — the rules of one function: defaults from ``config.yaml``,
  then tag overrides, then function overrides (``_rules``).
- :func:`series_for` — a rule's metric for one function, one value per period, NaN =
  missing datapoint; how each metric is derived is tabulated in ``_metrics``.
- :func:`evaluate` — CloudWatch's state machine (M of N, evaluation range, the four
  missing-data treatments) over one series; :func:`evaluate_matrix` over many at once
  (``_engine`` documents the rules and their AWS sources).
- :func:`evaluate_all` — every rule × function: an :class:`AlertReport` with ``states``
  (:data:`STATES_SCHEMA`) and ``transitions`` (:data:`TRANSITIONS_SCHEMA`).
"""

from __future__ import annotations

from dashboard.alerts._engine import (
    ALARM,
    EXTRA_RANGE_PERIODS,
    INSUFFICIENT_DATA,
    OK,
    STATES,
    Evaluation,
    evaluate,
    evaluate_matrix,
)
from dashboard.alerts._metrics import COLUMNS, DEFAULT_ACCOUNT_LIMIT, GUARDED, METRICS, series_for
from dashboard.alerts._report import SEVERITY_ORDER, STATES_SCHEMA, TRANSITIONS_SCHEMA, AlertReport, evaluate_all
from dashboard.alerts._rules import effective_rules

__all__ = [
    "OK",
    "ALARM",
    "INSUFFICIENT_DATA",
    "STATES",
    "EXTRA_RANGE_PERIODS",
    "DEFAULT_ACCOUNT_LIMIT",
    "METRICS",
    "COLUMNS",
    "GUARDED",
    "SEVERITY_ORDER",
    "STATES_SCHEMA",
    "TRANSITIONS_SCHEMA",
    "Evaluation",
    "AlertReport",
    "effective_rules",
    "series_for",
    "evaluate",
    "evaluate_matrix",
    "evaluate_all",
]
