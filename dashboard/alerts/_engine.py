"""CloudWatch's alarm state machine, over whole ranges of periods at once.

AWS documents how a metric alarm decides its state ("How alarm state is evaluated when
data is missing", CloudWatch User Guide, and the knowledge-center article "Why did my
CloudWatch alarm send me a notification after a single breached data point?"). At every
period end CloudWatch reads the *evaluation range*: more periods than ``N`` (evaluation
periods), because some may be missing. Then, with ``r`` real datapoints in that range,
``b`` of them breaching and ``nb`` not breaching:

- ``r >= N``: the ``N`` most recent real datapoints decide, whatever the missing-data
  treatment: ALARM if at least ``M`` breach, else OK.
- ``r < N``: every real datapoint of the range counts, and ``N - r`` slots are filled
  per the treatment ("as few times as possible"):

  - ``breaching``: ALARM if ``b + (N - r) >= M``, else OK;
  - ``notBreaching``: ALARM if ``b >= M``, else OK;
  - ``missing``: no real datapoint → INSUFFICIENT_DATA; ``b >= M`` → ALARM; a
    non-breaching datapoint → OK; otherwise (all real datapoints breach, fewer than
    ``M``) ALARM when the oldest of them is at least ``M`` periods old (AWS's rule
    against premature alarms, read the other way: it alarms even on fewer than ``M``
    breaching points once the oldest is that old), else INSUFFICIENT_DATA;
  - ``ignore``: like ``missing``, but where ``missing`` would give INSUFFICIENT_DATA or
    the premature-rule ALARM, the current state is kept.

The evaluation range is ``N + 2`` periods by default (AWS's examples: 5 periods for
``N = 3``; AWS does not publish the exact figure, which "depends on the period").
Before the first evaluation an alarm is INSUFFICIENT_DATA. We hold no data from before
the series starts, so an evaluation whose range reaches back before it is made only when
the data alone decides it (at least ``N`` real datapoints); otherwise it is skipped and
the state stays as it was (INSUFFICIENT_DATA at the start). This keeps a ``breaching``
rule from alarming on the unknown periods before the range.

:func:`evaluate_matrix` evaluates many series of one rule at once (one per row, numpy,
no Python loop over periods); :func:`evaluate` wraps it for one pandas Series.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.config.settings import AlertRule

__all__ = [
    "OK",
    "ALARM",
    "INSUFFICIENT_DATA",
    "STATES",
    "EXTRA_RANGE_PERIODS",
    "Evaluation",
    "evaluate",
    "evaluate_matrix",
    "breaches",
    "TRANSITION_COLUMNS",
]

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES: tuple[str, str, str] = (INSUFFICIENT_DATA, OK, ALARM)  # index = state code

_INSUFFICIENT, _OK, _ALARM, _RETAIN = 0, 1, 2, -1
EXTRA_RANGE_PERIODS = 2  # evaluation range = N + 2 periods, as in AWS's tables
TRANSITION_COLUMNS = ("timestamp", "from_state", "to_state", "value")


def breaches(values: np.ndarray, *, comparison: str, threshold: float) -> np.ndarray:
    """True where a real (non-NaN) value breaches the threshold; NaN never breaches."""
    with np.errstate(invalid="ignore"):
        if comparison == "GreaterThanThreshold":
            out = values > threshold
        elif comparison == "GreaterThanOrEqualToThreshold":
            out = values >= threshold
        elif comparison == "LessThanThreshold":
            out = values < threshold
        elif comparison == "LessThanOrEqualToThreshold":
            out = values <= threshold
        else:
            raise ValueError(f"unknown comparison {comparison!r}")
    return out & ~np.isnan(values)


def _window_count(mask: np.ndarray, length: int) -> np.ndarray:
    """Per row, how many True among the last ``length`` columns up to each column (inclusive)."""
    rows, cols = mask.shape
    c = np.zeros((rows, cols + 1), dtype=np.int64)
    np.cumsum(mask, axis=1, out=c[:, 1:])
    lo = np.maximum(np.arange(cols) + 1 - length, 0)
    return c[:, 1:] - c[:, lo]


def _last_true_index(flat: np.ndarray) -> np.ndarray:
    """For each flat position, the index of the latest True at or before it (-1: none)."""
    idx = np.where(flat, np.arange(flat.size), -1)
    return np.maximum.accumulate(idx) if flat.size else idx


def evaluate_matrix(
    values: np.ndarray,
    *,
    comparison: str,
    threshold: float,
    evaluation_periods: int,
    datapoints_to_alarm: int | None,
    missing_data: str,
    evaluation_range: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The state after each period of each row, and the value that decided it.

    ``values`` is (series × periods), NaN = missing datapoint. Returns ``codes``
    (int8, an index into :data:`STATES`) and ``decided`` (float64): for ALARM the most
    recent breaching real datapoint among those evaluated, for OK the most recent
    non-breaching one, NaN when only filled (missing-data) points decided or the state
    is INSUFFICIENT_DATA. A state kept by ``ignore`` carries the value that set it.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("values must be a 2-D array (series × periods)")
    n = int(evaluation_periods)
    m = int(datapoints_to_alarm if datapoints_to_alarm is not None else n)
    if not 1 <= m <= n:
        raise ValueError(f"datapoints_to_alarm ({m}) must be between 1 and evaluation_periods ({n})")
    length = n + EXTRA_RANGE_PERIODS if evaluation_range is None else int(evaluation_range)
    if length < n:
        raise ValueError(f"evaluation_range ({length}) must be ≥ evaluation_periods ({n})")
    rows, cols = values.shape
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), dtype=np.int8), np.full((rows, cols), np.nan)

    real = ~np.isnan(values)
    breach = breaches(values, comparison=comparison, threshold=threshold)
    nonbreach = real & ~breach
    r = _window_count(real, length)
    b = _window_count(breach, length)
    nb = r - b

    flat_real = real.ravel()
    flat_breach = breach.ravel()
    here = np.arange(rows * cols).reshape(rows, cols)
    ordinal = np.cumsum(flat_real).reshape(rows, cols)  # real datapoints so far, all rows
    positions = np.flatnonzero(flat_real)
    full = r >= n
    if positions.size:
        # Where r >= N: the N most recent real datapoints start at the N-th latest real position.
        nth = positions[np.clip(ordinal - n, 0, positions.size - 1)]
        cum_b = np.cumsum(flat_breach)
        b_last_n = cum_b[here] - cum_b[nth] + flat_breach[nth]
        oldest = positions[np.clip(ordinal - r, 0, positions.size - 1)]  # oldest real in range
        age = here - oldest + 1
    else:
        nth = here
        b_last_n = np.zeros_like(here)
        age = np.zeros_like(here)

    if missing_data == "breaching":
        partial = np.where(b + (n - r) >= m, _ALARM, _OK)
    elif missing_data == "notBreaching":
        partial = np.where(b >= m, _ALARM, _OK)
    elif missing_data in ("missing", "ignore"):
        undecided = _INSUFFICIENT if missing_data == "missing" else _RETAIN
        premature = _ALARM if missing_data == "missing" else _RETAIN
        partial = np.select(
            [r == 0, b >= m, nb > 0, age >= m],
            [undecided, _ALARM, _OK, premature],
            default=undecided,
        )
    else:
        raise ValueError(f"unknown missing-data treatment {missing_data!r}")
    codes = np.where(full, np.where(b_last_n >= m, _ALARM, _OK), partial).astype(np.int8)
    # An evaluation whose range reaches back before the data and that the data alone cannot
    # decide (fewer than N real points) is skipped: what those unseen periods held is unknown.
    col = np.arange(cols)
    codes[(col < length - 1)[None, :] & ~full] = _RETAIN

    # The deciding value: the latest breaching (ALARM) or non-breaching (OK) real point
    # among those evaluated, which start at `nth` (r >= N) or at the range start (r < N).
    range_start = here - np.minimum(col, length - 1)
    first = np.where(full, nth, range_start)
    flat_values = values.ravel()
    last_b = _last_true_index(flat_breach).reshape(rows, cols)
    last_nb = _last_true_index(nonbreach.ravel()).reshape(rows, cols)
    with np.errstate(invalid="ignore"):
        v_b = np.where(last_b >= first, flat_values[np.maximum(last_b, 0)], np.nan)
        v_nb = np.where(last_nb >= first, flat_values[np.maximum(last_nb, 0)], np.nan)
    decided = np.select([codes == _ALARM, codes == _OK], [v_b, v_nb], default=np.nan)

    if (codes == _RETAIN).any():  # `ignore`: keep the state (and its value) of the last decision
        src = np.where(codes != _RETAIN, col, -1)
        src = np.maximum.accumulate(src, axis=1)
        safe = np.maximum(src, 0)
        codes = np.where(src >= 0, np.take_along_axis(codes, safe, axis=1), _INSUFFICIENT).astype(np.int8)
        decided = np.where(src >= 0, np.take_along_axis(decided, safe, axis=1), np.nan)
    return codes, decided


@dataclass(frozen=True)
class Evaluation:
    """One rule over one series: the final state and how it got there.

    ``states`` is the state after each period, indexed by the period's end (when
    CloudWatch would have evaluated it). ``since`` is the end of the period whose
    evaluation entered the final state (the start of the series when the state never
    changed: INSUFFICIENT_DATA from the start); ``value`` is the value that decided
    that transition (NaN when filled missing data decided it); ``last_value`` the most
    recent real datapoint. ``transitions`` has :data:`TRANSITION_COLUMNS`.
    """

    state: str
    since: pd.Timestamp
    value: float
    last_value: float
    states: pd.Series
    transitions: pd.DataFrame
    note: str = field(default="")


def _regular(series: pd.Series, period_s: int) -> pd.Series:
    s = pd.Series(series, dtype="float64")
    if s.empty:
        return s
    idx = pd.DatetimeIndex(s.index)
    if idx.tz is None:
        raise ValueError("the series index must be timezone-aware (UTC) period starts")
    s.index = idx.tz_convert("UTC")
    s = s[~s.index.duplicated(keep="last")].sort_index()
    grid = pd.date_range(s.index[0], s.index[-1], freq=pd.Timedelta(seconds=period_s))
    return s.reindex(grid)


def evaluate(
    series: pd.Series,
    rule: AlertRule,
    *,
    period_s: int | None = None,
    evaluation_range: int | None = None,
) -> Evaluation:
    """Run ``rule``'s alarm over ``series`` (period start → value, NaN = missing).

    The period is ``period_s``, else ``series.attrs["period_s"]`` (set by
    :func:`~dashboard.alerts.series_for`), else the rule's. Gaps in the index are
    missing periods. The threshold, comparison, M of N and missing-data treatment are
    the rule's; ``evaluation_range`` overrides the N + 2 periods looked back.
    """
    period = int(period_s or series.attrs.get("period_s") or rule.period_s)
    note = str(series.attrs.get("note", ""))
    s = _regular(series, period)
    step = pd.Timedelta(seconds=period)
    if s.empty:
        return Evaluation(
            state=INSUFFICIENT_DATA,
            since=pd.NaT,
            value=float("nan"),
            last_value=float("nan"),
            states=pd.Series([], dtype="string", index=pd.DatetimeIndex([], tz="UTC")),
            transitions=_empty_transitions(),
            note=note,
        )
    codes, decided = evaluate_matrix(
        s.to_numpy()[None, :],
        comparison=rule.comparison,
        threshold=rule.threshold,
        evaluation_periods=rule.evaluation_periods,
        datapoints_to_alarm=rule.datapoints_to_alarm,
        missing_data=rule.missing_data,
        evaluation_range=evaluation_range,
    )
    codes, decided = codes[0], decided[0]
    ends = s.index + step
    names = np.asarray(STATES, dtype=object)
    prev = np.concatenate([[_INSUFFICIENT], codes[:-1]])
    changed = np.flatnonzero(codes != prev)
    transitions = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ends[changed]),
            "from_state": pd.array(names[prev[changed]], dtype="string"),
            "to_state": pd.array(names[codes[changed]], dtype="string"),
            "value": decided[changed].astype("float64"),
        }
    )
    real = s.dropna()
    if changed.size:
        since, value = ends[changed[-1]], float(decided[changed[-1]])
    else:
        since, value = s.index[0], float("nan")
    return Evaluation(
        state=STATES[codes[-1]],
        since=since,
        value=value,
        last_value=float(real.iloc[-1]) if len(real) else float("nan"),
        states=pd.Series(pd.array(names[codes], dtype="string"), index=ends),
        transitions=transitions,
        note=note,
    )


def _empty_transitions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex([], tz="UTC"),
            "from_state": pd.array([], dtype="string"),
            "to_state": pd.array([], dtype="string"),
            "value": np.array([], dtype="float64"),
        }
    )
