"""The alert engine: CloudWatch's evaluation rules, metric derivations, overrides, reports."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aws import functions as lam
from aws import metrics as cw
from aws.frames import typed_frame
from dashboard.alerts import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    STATES_SCHEMA,
    TRANSITIONS_SCHEMA,
    effective_rules,
    evaluate,
    evaluate_all,
    evaluate_matrix,
    series_for,
)
from dashboard.config.settings import AlertRule, AlertSettings, ConfigError
from dashboard.query.sources import MEMORY_SCHEMA

T0 = pd.Timestamp("2026-11-25T10:00:00Z")
MIN5 = pd.Timedelta(minutes=5)
POLICIES = ("missing", "ignore", "breaching", "notBreaching")


def rule(**kw) -> AlertRule:
    base = dict(name="r", metric="errors", statistic="Sum", threshold=0.5, comparison="GreaterThanThreshold", period_s=300)
    return AlertRule(**{**base, **kw})


def pattern(text: str) -> list[float]:
    """AWS's notation: 0 = not breaching, X = breaching, - = missing (threshold 0.5, >)."""
    return [{"0": 0.0, "X": 1.0, "-": math.nan}[c] for c in text.split()]


def series(values, *, start=T0, period=MIN5) -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq=period), dtype="float64")


def final_state(values, *, n: int, m: int, policy: str) -> str:
    return evaluate(series(values), rule(evaluation_periods=n, datapoints_to_alarm=m, missing_data=policy)).state


# --- AWS's documented table --------------------------------------------------------------------------
# CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data" → "How alarm state is
# evaluated when data is missing" (awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md;
# today's page: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-evaluating-missing-data.html).
# The 5 most recent datapoints (the evaluation range for N = 3), oldest first; columns MISSING, IGNORE,
# BREACHING, NOT BREACHING; "retain" = IGNORE keeps the current state.
AWS_TABLE_3_OF_3 = [
    ("0 - X - X", ("OK", "OK", "OK", "OK")),
    ("0 - - - -", ("OK", "OK", "OK", "OK")),
    ("- - - - -", ("INSUFFICIENT_DATA", "retain", "ALARM", "OK")),
    ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("- - - - X", ("INSUFFICIENT_DATA", "retain", "ALARM", "OK")),
    ("X - - - -", ("ALARM", "retain", "ALARM", "OK")),
    # AWS knowledge center, "Why did my CloudWatch alarm send me a notification after a single breached data
    # point?": the oldest breaching point is ≥ M periods old and all later ones are missing → ALARM even
    # with missing data treated as missing.
    ("- - X - -", ("ALARM", "retain", "ALARM", "OK")),
]
AWS_TABLE_2_OF_3 = [
    ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
    ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
    ("- - - - X", ("INSUFFICIENT_DATA", "retain", "ALARM", "OK")),
    ("- - - X -", ("ALARM", "retain", "ALARM", "OK")),  # the knowledge-center rule, M = 2
]
TABLE_CASES = [(3, 3, p, e) for p, e in AWS_TABLE_3_OF_3] + [(3, 2, p, e) for p, e in AWS_TABLE_2_OF_3]


@pytest.mark.parametrize(("n", "m", "points", "expected"), TABLE_CASES, ids=[f"{m}of{n}:{p}" for n, m, p, _ in TABLE_CASES])
@pytest.mark.parametrize("before", ["0 0 0", "X X X"])
def test_aws_missing_data_table(n, m, points, expected, before):
    # `before` sets the state the alarm is in when the 5 datapoints arrive (OK or ALARM); it is older than
    # the evaluation range, so only IGNORE ("retain current state") can depend on it.
    current = OK if before == "0 0 0" else ALARM
    values = pattern(before) + pattern(points)
    got = tuple(final_state(values, n=n, m=m, policy=p) for p in POLICIES)
    assert got == tuple(current if e == "retain" else e for e in expected)


def test_all_missing_from_the_start_is_insufficient_data_for_missing_and_ignore():
    values = pattern("- - - - - - -")
    assert [final_state(values, n=3, m=3, policy=p) for p in POLICIES] == [INSUFFICIENT_DATA, INSUFFICIENT_DATA, ALARM, OK]


def test_ignore_keeps_alarm_through_a_gap_then_leaves_it_on_real_data():
    e = evaluate(series(pattern("X X X - - - - - 0 0 0")), rule(evaluation_periods=3, missing_data="ignore"))
    assert e.states.tolist() == [INSUFFICIENT_DATA, INSUFFICIENT_DATA] + [ALARM] * 6 + [OK] * 3
    assert e.transitions[["from_state", "to_state"]].values.tolist() == [[INSUFFICIENT_DATA, ALARM], [ALARM, OK]]


def test_missing_leaves_alarm_for_insufficient_data_once_the_last_breach_leaves_the_range():
    # 3 of 3, range 5: the range holds the 3 breaches (t = 2..4), then fewer of them, still the oldest
    # ≥ M periods old (t = 5, 6: "X X - - -", "X - - - -" → ALARM), then none (t = 7, 8).
    e = evaluate(series(pattern("X X X - - - - - -")), rule(evaluation_periods=3, missing_data="missing"))
    assert e.states.tolist() == [INSUFFICIENT_DATA, INSUFFICIENT_DATA] + [ALARM] * 5 + [INSUFFICIENT_DATA] * 2
    assert e.transitions["timestamp"].tolist() == [T0 + 3 * MIN5, T0 + 8 * MIN5]


def test_breaching_fills_only_as_few_points_as_needed():
    # Range "0 - - - -" → 1 real point + 2 filled: 2 breaching < 3 → OK; one period later the 0 has left the range → ALARM.
    e = evaluate(series(pattern("0 0 0 0 - - - - -")), rule(evaluation_periods=3, missing_data="breaching"))
    assert e.states.tolist()[-2:] == [OK, ALARM]
    assert e.transitions.iloc[-1].to_dict() == {"timestamp": T0 + 9 * MIN5, "from_state": OK, "to_state": ALARM, "value": pytest.approx(math.nan, nan_ok=True)}


def test_real_points_older_than_n_periods_decide_when_recent_ones_are_missing():
    # "0 X X - X": 4 real points ≥ N = 3 → the 3 most recent real (X X X) decide; missing-data setting unused.
    for p in POLICIES:
        e = evaluate(series(pattern("0 X X - X")), rule(evaluation_periods=3, missing_data=p))
        assert (e.state, e.value) == (ALARM, 1.0)


# --- M of N without missing data ---------------------------------------------------------------------------


def test_m_of_n_states_each_period():
    values = [0, 9, 0, 9, 0, 9, 9, 0, 0, 0, 0]
    e = evaluate(series(values), rule(evaluation_periods=5, datapoints_to_alarm=3, threshold=5, missing_data="missing"))
    #           ranges:     -   -   -   -  [0 9 0 9 0] [9 0 9 0 9] [0 9 0 9 9] [9 0 9 9 0] [0 9 9 0 0] [9 9 0 0 0] [9 0 0 0 0]
    assert e.states.tolist() == [INSUFFICIENT_DATA] * 4 + [OK, ALARM, ALARM, ALARM, OK, OK, OK]
    assert e.transitions.to_dict("list") == {
        "timestamp": [T0 + 5 * MIN5, T0 + 6 * MIN5, T0 + 9 * MIN5],
        "from_state": [INSUFFICIENT_DATA, OK, ALARM],
        "to_state": [OK, ALARM, OK],
        "value": [0.0, 9.0, 0.0],
    }
    assert (e.state, e.since, e.value, e.last_value) == (OK, T0 + 9 * MIN5, 0.0, 0.0)


@pytest.mark.parametrize(
    ("comparison", "expected"),
    [
        ("GreaterThanThreshold", OK),
        ("GreaterThanOrEqualToThreshold", ALARM),
        ("LessThanThreshold", OK),
        ("LessThanOrEqualToThreshold", ALARM),
    ],
)
def test_comparisons_at_the_threshold(comparison, expected):
    e = evaluate(series([5.0]), rule(evaluation_periods=1, threshold=5, comparison=comparison))
    assert e.state == expected


def test_transitions_and_since_with_deciding_values():
    e = evaluate(series([0, 2, 3, 0, 0, 0]), rule(threshold=0, evaluation_periods=3, datapoints_to_alarm=2, missing_data="notBreaching"))
    assert e.transitions.to_dict("list") == {
        "timestamp": [T0 + 3 * MIN5, T0 + 5 * MIN5],
        "from_state": [INSUFFICIENT_DATA, ALARM],
        "to_state": [ALARM, OK],
        "value": [3.0, 0.0],
    }
    assert (e.state, e.since, e.value, e.last_value) == (OK, T0 + 5 * MIN5, 0.0, 0.0)
    assert list(e.states.index) == list(pd.date_range(T0 + MIN5, periods=6, freq=MIN5))


def test_unseen_periods_before_the_data_never_fill_an_evaluation():
    # With `breaching`, the first periods would alarm on 2 filled points if the unknown periods before
    # the range counted as missing; they are skipped instead.
    e = evaluate(series([0, 0, 0, 0]), rule(evaluation_periods=3, missing_data="breaching"))
    assert e.states.tolist() == [INSUFFICIENT_DATA, INSUFFICIENT_DATA, OK, OK]


def test_gaps_in_the_index_are_missing_periods():
    s = pd.Series([1.0, 1.0, 1.0], index=[T0, T0 + MIN5, T0 + 4 * MIN5])
    e = evaluate(s, rule(evaluation_periods=3, missing_data="notBreaching"))
    # regular grid: X X - - X → the last range holds 3 real points, all breaching
    assert e.states.tolist() == [INSUFFICIENT_DATA, INSUFFICIENT_DATA, INSUFFICIENT_DATA, INSUFFICIENT_DATA, ALARM]


def test_empty_series():
    e = evaluate(pd.Series([], dtype="float64", index=pd.DatetimeIndex([], tz="UTC")), rule())
    assert (e.state, e.since, math.isnan(e.value), len(e.transitions), len(e.states)) == (INSUFFICIENT_DATA, pd.NaT, True, 0, 0)
    assert list(e.transitions.columns) == ["timestamp", "from_state", "to_state", "value"]


def test_evaluate_matrix_refuses_m_above_n_and_short_ranges():
    with pytest.raises(ValueError, match="between 1 and evaluation_periods"):
        evaluate_matrix(np.zeros((1, 3)), comparison="GreaterThanThreshold", threshold=0, evaluation_periods=2, datapoints_to_alarm=3, missing_data="missing")
    with pytest.raises(ValueError, match="evaluation_range"):
        evaluate_matrix(np.zeros((1, 3)), comparison="GreaterThanThreshold", threshold=0, evaluation_periods=3, datapoints_to_alarm=1, missing_data="missing", evaluation_range=2)


# --- properties (hypothesis) ---------------------------------------------------------------------------------


def reference_states(values: list[float], *, n: int, m: int, policy: str, length: int) -> list[str]:
    """A plain, per-period reading of AWS's prose, to check the vectorised engine against."""
    state, out = INSUFFICIENT_DATA, []
    for t in range(len(values)):
        lo = t - length + 1
        window = [values[i] if i >= 0 else math.nan for i in range(lo, t + 1)]
        real = [(j, v) for j, v in enumerate(window) if not math.isnan(v)]
        if len(real) >= n:
            state = ALARM if sum(v > 0.5 for _, v in real[-n:]) >= m else OK
        elif lo < 0:
            pass  # the range reaches before the data and the data cannot decide: skipped
        else:
            b = sum(v > 0.5 for _, v in real)
            if policy == "breaching":
                state = ALARM if b + n - len(real) >= m else OK
            elif policy == "notBreaching":
                state = ALARM if b >= m else OK
            else:
                if not real:
                    new = INSUFFICIENT_DATA
                elif b >= m:
                    new = ALARM
                elif b < len(real):
                    new = OK
                elif length - real[0][0] >= m:  # age of the oldest (breaching) real point
                    new = "premature"
                else:
                    new = INSUFFICIENT_DATA
                if policy == "missing":
                    state = ALARM if new == "premature" else new
                elif new in (OK, ALARM):
                    state = new
        out.append(state)
    return out


point = st.sampled_from([0.0, 1.0, math.nan])


@st.composite
def alarm_case(draw, *, allow_nan: bool = True):
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, n))
    values = draw(st.lists(point if allow_nan else st.sampled_from([0.0, 1.0]), min_size=0, max_size=30))
    return n, m, values


HYP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYP
@given(alarm_case(), st.sampled_from(POLICIES), st.integers(0, 4))
def test_engine_matches_the_reference_reading(case, policy, extra):
    n, m, values = case
    codes, _ = evaluate_matrix(
        np.array([values], dtype="float64").reshape(1, -1),
        comparison="GreaterThanThreshold",
        threshold=0.5,
        evaluation_periods=n,
        datapoints_to_alarm=m,
        missing_data=policy,
        evaluation_range=n + extra,
    )
    assert [("INSUFFICIENT_DATA", "OK", "ALARM")[c] for c in codes[0]] == reference_states(values, n=n, m=m, policy=policy, length=n + extra)


@HYP
@given(alarm_case(allow_nan=False), st.sampled_from(POLICIES))
def test_without_missing_data_alarm_iff_m_of_the_last_n_breach(case, policy):
    n, m, values = case
    e = evaluate(series(values), rule(evaluation_periods=n, datapoints_to_alarm=m, missing_data=policy))
    expected = [INSUFFICIENT_DATA if t < n - 1 else (ALARM if sum(values[t - n + 1 : t + 1]) >= m else OK) for t in range(len(values))]
    assert e.states.tolist() == expected


@HYP
@given(alarm_case())
def test_with_a_range_of_n_the_fill_treatments_equal_filling_the_gaps(case):
    # With the evaluation range equal to N, "notBreaching" is the series with gaps filled by a good
    # value and "breaching" with a bad one. (With a longer range they differ: older real points are
    # used before any fill, as AWS documents.)
    n, m, values = case
    r = n

    def states(vals, policy):
        c, _ = evaluate_matrix(np.array([vals], dtype="float64").reshape(1, -1), comparison="GreaterThanThreshold", threshold=0.5, evaluation_periods=n, datapoints_to_alarm=m, missing_data=policy, evaluation_range=r)
        return c[0].tolist()

    assert states(values, "notBreaching") == states([0.0 if math.isnan(v) else v for v in values], "missing")
    assert states(values, "breaching") == states([1.0 if math.isnan(v) else v for v in values], "missing")


@HYP
@given(alarm_case())
def test_alarm_sets_nest_across_treatments(case):
    # notBreaching alarms ⊆ missing alarms ⊆ breaching alarms, period by period.
    n, m, values = case
    got = {p: evaluate(series(values), rule(evaluation_periods=n, datapoints_to_alarm=m, missing_data=p)).states.tolist() for p in POLICIES}
    for a, b, c in zip(got["notBreaching"], got["missing"], got["breaching"], strict=True):
        assert (a != ALARM or b == ALARM) and (b != ALARM or c == ALARM)


@HYP
@given(alarm_case(), st.sampled_from(POLICIES))
def test_states_change_only_at_transition_rows(case, policy):
    n, m, values = case
    e = evaluate(series(values), rule(evaluation_periods=n, datapoints_to_alarm=m, missing_data=policy))
    replay, state = [], INSUFFICIENT_DATA
    changes = dict(zip(e.transitions["timestamp"], e.transitions["to_state"], strict=True))
    for ts in e.states.index:
        state = changes.get(ts, state)
        replay.append(state)
    assert replay == e.states.tolist()
    assert (e.transitions["from_state"] != e.transitions["to_state"]).all()
    assert e.transitions["from_state"].tolist()[1:] == e.transitions["to_state"].tolist()[:-1]
    if policy == "ignore" and values:
        # once decided, `ignore` never goes back to INSUFFICIENT_DATA
        s = e.states.tolist()
        first = next((i for i, v in enumerate(s) if v != INSUFFICIENT_DATA), len(s))
        assert INSUFFICIENT_DATA not in s[first:]


def test_many_series_at_once_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    values = rng.choice([0.0, 1.0, np.nan], size=(40, 50), p=[0.4, 0.3, 0.3])
    for policy in POLICIES:
        codes, decided = evaluate_matrix(values, comparison="GreaterThanThreshold", threshold=0.5, evaluation_periods=4, datapoints_to_alarm=2, missing_data=policy)
        for i in range(len(values)):
            c1, d1 = evaluate_matrix(values[i : i + 1], comparison="GreaterThanThreshold", threshold=0.5, evaluation_periods=4, datapoints_to_alarm=2, missing_data=policy)
            assert c1[0].tolist() == codes[i].tolist()
            np.testing.assert_array_equal(d1[0], decided[i])


# --- metric derivations ------------------------------------------------------------------------------------

NAN = math.nan


def inventory(rows: list[dict]) -> pd.DataFrame:
    base = {"account": "a", "region": "us-east-1", "arn": "arn", "memory_mb": 512, "timeout_s": 1, "ephemeral_storage_mb": 512, "code_size_bytes": 1, "last_modified": T0}
    f = typed_frame([{**base, **r} for r in rows], lam.SCHEMA)
    f["tags"] = [r.get("tags", {}) for r in rows]
    f["team"] = pd.Series([r.get("team", "untagged") for r in rows], dtype="string")
    return f


def minute_metrics() -> pd.DataFrame:
    """Ten 1-minute periods of function "api" from 10:00."""
    cols = {
        "invocations": [10, 10, 10, 10, 10, 20, 20, NAN, 20, 20],
        "errors": [0, 1, 0, 0, 1, 2, NAN, NAN, 2, 0],
        "throttles": [0, 0, 0, 0, 0, 5, 0, NAN, 0, 5],
        "duration_p99_ms": [100, 200, 150, 120, 110, 900, 800, NAN, 700, 600],
        "concurrency_max": [1, 2, 3, 2, 1, 4, 4, NAN, 5, 4],
        "iterator_age_max_ms": [NAN] * 5 + [1000, 3000, NAN, 2000, NAN],
    }
    rows = [
        {"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0 + pd.Timedelta(minutes=i), "period_s": 60, **{k: v[i] for k, v in cols.items()}}
        for i in range(10)
    ]
    return typed_frame(rows, cw.LAMBDA_SCHEMA)


API = {"account": "a", "region": "us-east-1", "function": "api", "timeout_s": 1, "memory_mb": 1024}


def derived(r: AlertRule, *, metrics=None, memory=None, account_limit=1000, **kw) -> pd.Series:
    return series_for(r, function_row=API, metrics=minute_metrics() if metrics is None else metrics, memory=memory, account_limit=account_limit, **kw)


@pytest.mark.parametrize(
    ("metric", "statistic", "expected"),
    [
        ("error_rate", "Maximum", [4.0, 5.0]),  # 2/50, 4/80 (a missing Errors point with invocations counts 0)
        ("errors", "Sum", [2.0, 4.0]),
        ("throttles", "Sum", [0.0, 10.0]),
        ("throttle_rate", "Maximum", [0.0, 100 * 10 / 90]),  # throttles / (invocations + throttles)
        ("no_invocations", "Sum", [50.0, 80.0]),
        ("duration_p99_ms", "p99", [200.0, 900.0]),  # percentiles: the highest sub-period value
        ("duration_p99_ms", "Maximum", [200.0, 900.0]),
        ("duration_p99_ms", "Minimum", [100.0, 600.0]),
        ("duration_p99_ms", "Average", [136.0, 750.0]),  # invocation-weighted
        ("duration_p99_timeout_share", "p99", [20.0, 90.0]),  # timeout 1 s
        ("concurrency", "Maximum", [3.0, 5.0]),
        ("concurrency_account_share", "Maximum", [0.3, 0.5]),  # of 1,000
        ("iterator_age_ms", "Maximum", [NAN, 3000.0]),
        ("iterator_age_ms", "Average", [NAN, 2000.0]),
        ("async_event_age_ms", "Maximum", [NAN, NAN]),
    ],
)
def test_metric_derivation_and_aggregation_to_the_rule_period(metric, statistic, expected):
    s = derived(rule(metric=metric, statistic=statistic, threshold=1))
    assert list(s.index) == [T0, T0 + MIN5]
    np.testing.assert_allclose(s.to_numpy(), expected, equal_nan=True)
    assert (s.attrs["period_s"], s.attrs["note"]) == (300, "")


def test_concurrency_share_of_a_per_region_limit():
    s = derived(rule(metric="concurrency_account_share", threshold=1), account_limit={("a", "us-east-1"): 10})
    assert s.tolist() == [30.0, 50.0]


def test_min_invocations_guard_makes_low_traffic_periods_missing():
    assert np.isnan(derived(rule(metric="error_rate", threshold=1, min_invocations=60))).tolist() == [True, False]
    assert derived(rule(metric="error_rate", threshold=1, min_invocations=60)).iloc[1] == 5.0
    # throttle_rate guards on requests (invocations + throttles): 50 and 90
    t = derived(rule(metric="throttle_rate", threshold=1, min_invocations=85))
    assert np.isnan(t.iloc[0]) and t.iloc[1] == pytest.approx(100 * 10 / 90)
    p = derived(rule(metric="duration_p99_ms", statistic="p99", threshold=1, min_invocations=51))
    assert np.isnan(p.iloc[0]) and p.iloc[1] == 900.0
    # counts are not guarded: said in the note
    e = derived(rule(metric="errors", threshold=1, min_invocations=100))
    assert (e.tolist(), e.attrs["note"]) == ([2.0, 4.0], "min_invocations does not apply to errors")


def test_min_invocations_guard_drives_the_alarm():
    inv = [100, 10, 100, 10, 100, 10]
    err = [1, 5, 1, 5, 1, 5]  # 1 % on 100 invocations, 50 % on 10
    rows = [{"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0 + i * MIN5, "period_s": 300, "invocations": inv[i], "errors": err[i]} for i in range(6)]
    met = typed_frame(rows, cw.LAMBDA_SCHEMA)
    unguarded = rule(metric="error_rate", threshold=5, evaluation_periods=3, datapoints_to_alarm=2, missing_data="notBreaching")
    guarded = unguarded.model_copy(update={"min_invocations": 20})
    assert evaluate(derived(unguarded, metrics=met), unguarded).states.tolist() == [INSUFFICIENT_DATA, INSUFFICIENT_DATA, OK, ALARM, OK, ALARM]
    # guarded: 1 - 1 - 1 - (missing → notBreaching); the first ranges reach before the data with < 3 points
    assert evaluate(derived(guarded, metrics=met), guarded).states.tolist() == [INSUFFICIENT_DATA] * 4 + [OK, OK]


def test_no_invocations_counts_missing_periods_as_zero():
    rows = [{"account": "a", "region": "us-east-1", "function": "api", "timestamp": T0 + 2 * MIN5, "period_s": 300, "invocations": 4.0}]
    met = typed_frame(rows, cw.LAMBDA_SCHEMA)
    s = derived(rule(metric="no_invocations", threshold=0), metrics=met, start=T0.to_pydatetime(), now=(T0 + 4 * MIN5 + pd.Timedelta(seconds=30)).to_pydatetime())
    assert s.tolist() == [0.0, 0.0, 4.0, 0.0]
    r = rule(metric="no_invocations", threshold=0, comparison="LessThanOrEqualToThreshold", evaluation_periods=1, missing_data="missing")
    assert evaluate(s, r).states.tolist() == [ALARM, ALARM, OK, ALARM]


def test_rule_period_finer_than_the_data_is_evaluated_at_the_data_period_with_a_note():
    met = minute_metrics()
    met = met.assign(period_s=300, timestamp=T0 + MIN5 * pd.Series(range(10)))
    s = derived(rule(metric="errors", period_s=60), metrics=met)
    assert s.attrs == {"period_s": 300, "note": "the data's period is 300 s, coarser than the rule's 60 s: evaluated per 300 s"}
    assert len(s) == 10


def test_rule_periods_end_where_the_data_ends_and_cover_whole_periods_only():
    s = derived(rule(metric="errors", period_s=420))  # 7 minutes over 10 one-minute periods → one, 10:03–10:10
    assert (list(s.index), s.tolist(), s.attrs["note"]) == ([T0 + pd.Timedelta(minutes=3)], [5.0], "")
    t = derived(rule(metric="errors", period_s=900))  # longer than the data: nothing to evaluate
    assert (len(t), t.attrs["note"]) == (0, "the range is shorter than one 900 s period")


def test_sum_statistic_on_a_gauge_is_maximum_with_a_note():
    s = derived(rule(metric="concurrency", statistic="Sum"))
    assert (s.tolist(), s.attrs["note"]) == ([3.0, 5.0], "statistic Sum does not apply to concurrency; Maximum used")


def memory_frame(rows: list[dict]) -> pd.DataFrame:
    base = {"account": "a", "region": "us-east-1", "function": "api", "bin_s": 3600, "source": "logs_insights"}
    return typed_frame([{**base, **r} for r in rows], MEMORY_SCHEMA)


def test_memory_utilization_and_cold_start_rate_from_the_memory_frame():
    mem = memory_frame(
        [
            {"timestamp": T0, "reports": 200, "cold_starts": 5, "used_mb_max": 460.8, "memory_mb": 512.0},
            {"timestamp": T0 + pd.Timedelta(hours=1), "reports": 100, "cold_starts": 0, "used_mb_max": 256.0, "memory_mb": NAN},  # size from the inventory: 1024
            {"timestamp": T0 + pd.Timedelta(hours=2), "reports": None, "cold_starts": None, "used_mb_max": 512.0, "memory_mb": 1024.0, "source": "lambda_insights"},
        ]
    )
    util = derived(rule(metric="memory_utilization", period_s=3600, threshold=90), memory=mem)
    np.testing.assert_allclose(util.to_numpy(), [90.0, 25.0, 50.0])
    cold = derived(rule(metric="cold_start_rate", period_s=3600, threshold=1), memory=mem)
    np.testing.assert_allclose(cold.to_numpy(), [2.5, 0.0, NAN])  # Insights gives no REPORT counts
    assert list(cold.index) == [T0, T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=2)]
    guarded = derived(rule(metric="cold_start_rate", period_s=3600, threshold=1, min_invocations=150), memory=mem)
    np.testing.assert_allclose(guarded.to_numpy(), [2.5, NAN, NAN])


def test_memory_metrics_without_memory_data():
    s = derived(rule(metric="memory_utilization", period_s=3600, threshold=90), memory=None)
    assert (len(s), s.attrs["note"]) == (0, "no memory/cold-start data in the range")
    assert evaluate(s, rule(metric="memory_utilization", period_s=3600, threshold=90)).state == INSUFFICIENT_DATA


# --- overrides ------------------------------------------------------------------------------------------------


def alert_settings(**kw) -> AlertSettings:
    rules = [
        {"name": "error-rate", "metric": "error_rate", "threshold": 5, "severity": "critical", "datapoints_to_alarm": 2},
        {"name": "throttles", "metric": "throttles", "statistic": "Sum", "threshold": 0},
        {"name": "idle", "metric": "no_invocations", "threshold": 0, "comparison": "LessThanOrEqualToThreshold", "enabled": False},
    ]
    return AlertSettings.model_validate({"rules": rules, **kw})


OVERRIDES = {
    "tag_overrides": {
        "team": {"payments": {"error-rate": {"threshold": 1}}},
        "env": {"dev": {"error-rate": {"threshold": 50, "severity": "info"}, "throttles": {"enabled": False}}},
    },
    "function_overrides": {
        "checkout": {"error-rate": {"threshold": 0.5}},
        "batch": {"throttles": {"enabled": False}},
        "nightly": {"idle": {"enabled": True}},
        "devjob": {"throttles": {"enabled": True}},
    },
}


def summary(rules: list[AlertRule]) -> list[tuple]:
    return [(r.name, r.threshold, r.severity) for r in rules]


@pytest.mark.parametrize(
    ("function", "tags", "expected"),
    [
        ("api", {}, [("error-rate", 5, "critical"), ("throttles", 0, "warning")]),
        ("api", {"team": "search"}, [("error-rate", 5, "critical"), ("throttles", 0, "warning")]),
        ("api", {"team": "payments"}, [("error-rate", 1, "critical"), ("throttles", 0, "warning")]),
        ("api", {"env": "dev"}, [("error-rate", 50, "info")]),
        # two tag keys: "team" is listed first in tag_overrides, so its threshold wins; env's severity still applies
        ("api", {"env": "dev", "team": "payments"}, [("error-rate", 1, "info")]),
        # the function beats the tags
        ("checkout", {"team": "payments", "env": "dev"}, [("error-rate", 0.5, "info")]),
        ("batch", {}, [("error-rate", 5, "critical")]),
        ("nightly", {}, [("error-rate", 5, "critical"), ("throttles", 0, "warning"), ("idle", 0, "warning")]),
        ("devjob", {"env": "dev"}, [("error-rate", 50, "info"), ("throttles", 0, "warning")]),
    ],
)
def test_override_precedence(function, tags, expected):
    assert summary(effective_rules(alert_settings(**OVERRIDES), function=function, tags=tags)) == expected


def test_tag_key_order_in_the_config_decides_between_tags():
    flipped = {"tag_overrides": dict(reversed(list(OVERRIDES["tag_overrides"].items())))}
    assert summary(effective_rules(alert_settings(**flipped), function="api", tags={"env": "dev", "team": "payments"})) == [("error-rate", 50, "info")]


def test_rules_without_overrides_are_the_config_objects_and_keep_their_other_fields():
    s = alert_settings(**OVERRIDES)
    assert effective_rules(s, function="api", tags={})[0] is s.rules[0]
    over = effective_rules(s, function="api", tags={"team": "payments"})[0]
    assert over.model_dump() == {**s.rules[0].model_dump(), "threshold": 1.0}


def test_overrides_that_break_m_of_n_only_together_are_a_config_error():
    # Each override alone keeps M ≤ N (settings validation accepts them); the tag's M=3 and the
    # function's N=2 together do not, which only the per-function merge can see.
    s = alert_settings(
        tag_overrides={"team": {"payments": {"error-rate": {"datapoints_to_alarm": 3}}}},
        function_overrides={"api": {"error-rate": {"evaluation_periods": 2}}},
    )
    with pytest.raises(ConfigError, match=r"^alerts: rule 'error-rate' for function 'api': .*datapoints_to_alarm \(3\) exceeds evaluation_periods \(2\)"):
        effective_rules(s, function="api", tags={"team": "payments"})


# --- evaluate_all ---------------------------------------------------------------------------------------------


def five_minute_metrics(per_function: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for fn, cols in per_function.items():
        for i in range(len(next(iter(cols.values())))):
            rows.append({"account": "a", "region": "us-east-1", "function": fn, "timestamp": T0 + i * MIN5, "period_s": 300, **{k: v[i] for k, v in cols.items()}})
    return typed_frame(rows, cw.LAMBDA_SCHEMA)


def report_settings() -> AlertSettings:
    return AlertSettings.model_validate(
        {
            "rules": [
                {"name": "errors", "metric": "errors", "statistic": "Sum", "threshold": 0, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": "notBreaching", "severity": "critical"},
                {"name": "idle", "metric": "no_invocations", "statistic": "Sum", "threshold": 0, "comparison": "LessThanOrEqualToThreshold", "evaluation_periods": 2, "severity": "info"},
                {"name": "memory", "metric": "memory_utilization", "threshold": 90, "period_s": 3600, "evaluation_periods": 1},
            ],
            "function_overrides": {"pay": {"memory": {"enabled": False}}},
        }
    )


def report_inputs():
    inv = inventory([{"function": "api", "team": "web"}, {"function": "cron", "team": "ops"}, {"function": "pay", "team": "payments"}])
    met = five_minute_metrics(
        {
            "api": {"invocations": [10] * 6, "errors": [0, 2, 3, 0, 0, 0]},
            "pay": {"invocations": [10] * 6, "errors": [0, 0, 0, 0, 5, 5]},
        }
    )
    return inv, met


def test_evaluate_all_states_and_transitions():
    inv, met = report_inputs()
    rep = evaluate_all(report_settings(), inventory=inv, metrics=met, memory=None)
    s = rep.states
    assert list(s.columns) == list(STATES_SCHEMA) and s.dtypes.astype(str).tolist() == [str(pd.Series(dtype=d).dtype) for d in STATES_SCHEMA.values()]
    got = s[["function", "team", "rule", "state", "since", "value", "last_value", "note"]].astype(object).where(s.notna(), None).values.tolist()
    assert got == [
        ["api", "web", "errors", OK, T0 + 5 * MIN5, 0.0, 0.0, ""],
        ["api", "web", "idle", OK, T0 + 2 * MIN5, 10.0, 10.0, ""],
        ["api", "web", "memory", INSUFFICIENT_DATA, None, None, None, "no memory/cold-start data in the range"],
        ["cron", "ops", "errors", OK, T0 + 5 * MIN5, None, None, ""],  # only filled (notBreaching) points decided
        ["cron", "ops", "idle", ALARM, T0 + 2 * MIN5, 0.0, 0.0, ""],  # no datapoint = no invocation
        ["cron", "ops", "memory", INSUFFICIENT_DATA, None, None, None, "no memory/cold-start data in the range"],
        ["pay", "payments", "errors", ALARM, T0 + 6 * MIN5, 5.0, 5.0, ""],
        ["pay", "payments", "idle", OK, T0 + 2 * MIN5, 10.0, 10.0, ""],
    ]
    assert s[["severity", "threshold", "comparison", "metric"]].iloc[0].tolist() == ["critical", 0.0, "GreaterThanThreshold", "errors"]
    t = rep.transitions
    assert list(t.columns) == list(TRANSITIONS_SCHEMA)
    assert t[["function", "rule", "timestamp", "from_state", "to_state"]].values.tolist() == [
        ["api", "idle", T0 + 2 * MIN5, INSUFFICIENT_DATA, OK],
        ["cron", "idle", T0 + 2 * MIN5, INSUFFICIENT_DATA, ALARM],
        ["pay", "idle", T0 + 2 * MIN5, INSUFFICIENT_DATA, OK],
        ["api", "errors", T0 + 3 * MIN5, INSUFFICIENT_DATA, ALARM],
        ["pay", "errors", T0 + 3 * MIN5, INSUFFICIENT_DATA, OK],
        ["api", "errors", T0 + 5 * MIN5, ALARM, OK],
        ["cron", "errors", T0 + 5 * MIN5, INSUFFICIENT_DATA, OK],
        ["pay", "errors", T0 + 6 * MIN5, OK, ALARM],
    ]
    assert t["value"].tolist()[3] == 3.0 and t["severity"].tolist()[:2] == ["info", "info"]


def test_firing_orders_by_severity_then_since():
    inv, met = report_inputs()
    f = evaluate_all(report_settings(), inventory=inv, metrics=met, memory=None).firing()
    assert f[["function", "rule", "severity"]].values.tolist() == [["pay", "errors", "critical"], ["cron", "idle", "info"]]
    assert list(f.columns) == list(STATES_SCHEMA)


def test_now_evaluates_silent_periods_up_to_now():
    inv, met = report_inputs()
    now = (T0 + 8 * MIN5 + pd.Timedelta(minutes=2)).to_pydatetime()  # 10:42: periods to 10:40 are complete
    rep = evaluate_all(report_settings(), inventory=inv, metrics=met, memory=None, now=now)
    s = rep.states.set_index(["function", "rule"])
    # pay's errors: the last real points still decide (CloudWatch re-evaluates them); its invocations stop → idle
    assert (s.loc[("pay", "errors"), "state"], s.loc[("pay", "errors"), "since"]) == (ALARM, T0 + 6 * MIN5)
    assert (s.loc[("pay", "idle"), "state"], s.loc[("pay", "idle"), "since"]) == (ALARM, T0 + 8 * MIN5)
    assert s.loc[("api", "idle"), "state"] == ALARM


def test_evaluate_all_matches_series_for_and_evaluate():
    rng = np.random.default_rng(11)
    fns = [f"f{i}" for i in range(6)]
    data = {fn: {"invocations": list(rng.choice([0.0, 5.0, 50.0, np.nan], 24)), "errors": list(rng.choice([0.0, 1.0, 4.0, np.nan], 24))} for fn in fns}
    met = five_minute_metrics(data)
    inv = inventory([{"function": fn} for fn in fns])
    cfg = AlertSettings.model_validate(
        {"rules": [{"name": p, "metric": "error_rate", "threshold": 5, "period_s": 600, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": p, "min_invocations": 10} for p in POLICIES]}
    )
    rep = evaluate_all(cfg, inventory=inv, metrics=met)
    for row in inv.to_dict("records"):
        for r in cfg.rules:
            e = evaluate(series_for(r, function_row=row, metrics=met, memory=None), r)
            got = rep.states[(rep.states["function"] == row["function"]) & (rep.states["rule"] == r.name)].iloc[0]
            assert (got["state"], got["since"]) == (e.state, e.since)
            assert got["value"] == pytest.approx(e.value, nan_ok=True)
            tr = rep.transitions[(rep.transitions["function"] == row["function"]) & (rep.transitions["rule"] == r.name)]
            assert tr["timestamp"].tolist() == e.transitions["timestamp"].tolist()
            assert tr["to_state"].tolist() == e.transitions["to_state"].tolist()


def test_empty_inputs_give_empty_frames_with_the_columns():
    inv, met = report_inputs()
    empty_inv = inv.iloc[0:0]
    for rep in (
        evaluate_all(report_settings(), inventory=empty_inv, metrics=met),
        evaluate_all(AlertSettings(), inventory=inv, metrics=met),
    ):
        assert (rep.states.empty, list(rep.states.columns)) == (True, list(STATES_SCHEMA))
        assert (rep.transitions.empty, list(rep.transitions.columns)) == (True, list(TRANSITIONS_SCHEMA))
        assert rep.firing().empty
    rep = evaluate_all(report_settings(), inventory=inv, metrics=typed_frame([], cw.LAMBDA_SCHEMA), memory=typed_frame([], MEMORY_SCHEMA))
    assert rep.states["state"].unique().tolist() == [INSUFFICIENT_DATA]
    assert rep.states["note"].iloc[0] == "no metric data in the range" and rep.transitions.empty


def test_inputs_are_not_modified():
    inv, met = report_inputs()
    inv0, met0 = inv.copy(), met.copy()
    evaluate_all(report_settings(), inventory=inv, metrics=met)
    pd.testing.assert_frame_equal(inv, inv0)
    pd.testing.assert_frame_equal(met, met0)


@pytest.mark.slow  # 1.4 M rows: seconds (its speed is measured in bench/)
def test_a_thousand_functions_five_rules_a_day_of_minutes_all_evaluated():
    n_fn, n_t = 1000, 1440
    rng = np.random.default_rng(5)
    fn = np.repeat(np.array([f"fn{i}" for i in range(n_fn)], dtype=object), n_t)
    invs = rng.poisson(40, n_fn * n_t).astype(float)
    invs[rng.random(n_fn * n_t) < 0.2] = np.nan
    met = typed_frame(
        pd.DataFrame(
            {
                "account": "a",
                "region": "us-east-1",
                "function": fn,
                "timestamp": np.tile(pd.date_range(T0, periods=n_t, freq="1min").to_numpy(), n_fn),
                "period_s": 60,
                "invocations": invs,
                "errors": rng.poisson(1, n_fn * n_t).astype(float),
                "throttles": rng.poisson(0.05, n_fn * n_t).astype(float),
                "duration_p99_ms": rng.gamma(2, 100, n_fn * n_t),
                "concurrency_max": rng.poisson(4, n_fn * n_t).astype(float),
            }
        ),
        cw.LAMBDA_SCHEMA,
    )
    inv = inventory([{"function": f"fn{i}", "tags": {"team": "payments"} if i % 2 else {}} for i in range(n_fn)])
    cfg = AlertSettings.model_validate(
        {
            "rules": [
                {"name": "error-rate", "metric": "error_rate", "threshold": 5, "datapoints_to_alarm": 2, "missing_data": "notBreaching", "min_invocations": 20},
                {"name": "throttles", "metric": "throttles", "statistic": "Sum", "threshold": 0, "missing_data": "notBreaching"},
                {"name": "p99", "metric": "duration_p99_timeout_share", "threshold": 90, "period_s": 60, "missing_data": "ignore"},
                {"name": "concurrency", "metric": "concurrency_account_share", "threshold": 1, "period_s": 60, "missing_data": "breaching"},
                {"name": "idle", "metric": "no_invocations", "threshold": 0, "comparison": "LessThanOrEqualToThreshold", "period_s": 60},
            ],
            "tag_overrides": {"team": {"payments": {"error-rate": {"threshold": 1}}}},
        }
    )
    rep = evaluate_all(cfg, inventory=inv, metrics=met)  # its speed is measured in bench/, not here
    assert len(rep.states) == 5000


def test_series_for_a_function_with_no_datapoint_agrees_with_evaluate_all():
    # "idle" has no row at all (CloudWatch omits periods without invocations); it still has the
    # other functions' periods, as missing, and no_invocations reads missing as 0 → ALARM.
    met = five_minute_metrics({"busy": {"invocations": [5.0] * 6}})
    inv = inventory([{"function": "busy", "tags": {}}, {"function": "idle", "tags": {}}])
    cfg = AlertSettings.model_validate(
        {"rules": [{"name": "idle", "metric": "no_invocations", "statistic": "Sum", "threshold": 0,
                    "comparison": "LessThanOrEqualToThreshold", "evaluation_periods": 2}]}
    )  # fmt: skip
    (rule,) = cfg.rules
    row = inv.set_index("function").loc["idle"].to_dict() | {"function": "idle"}
    series = series_for(rule, function_row=row, metrics=met, memory=None)
    assert len(series) == 6 and (series == 0).all()
    one = evaluate(series, rule)
    states = evaluate_all(cfg, inventory=inv, metrics=met).states.set_index("function")
    assert one.state == states.loc["idle", "state"] == "ALARM"
    assert states.loc["busy", "state"] == "OK"
