"""Charts: the function figure's structure (one shared time axis, one trace per series in its metric's
colour, units on axes and hover, reference and threshold lines at the right y, ALARM periods shaded
exactly where the alert engine says ALARM, no panel without data), sparklines, and the seeded incidents
of the simulated account drawn where they happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from aws import metrics as cw
from aws.frames import typed_frame
from dashboard.alerts import ALARM, evaluate
from dashboard.config.settings import AlertRule, AlertSettings, Settings
from dashboard.present import plots, registry
from dashboard.query.selection import Selection
from dashboard.query.sources import MEMORY_SCHEMA
from dashboard.query.timerange import parse_range
from dashboard.web import function_view as fv

T0 = pd.Timestamp("2026-11-20T00:00:00Z")
KEY = {"account": "a", "region": "us-east-1", "function": "f"}
CONFIG = {**KEY, "timeout_s": 6, "memory_mb": 256, "reserved_concurrency": 10, "tags": {}}
MIN = pd.Timedelta(minutes=1)


def metrics_frame(n: int = 60, **cols) -> pd.DataFrame:
    """``n`` one-minute periods of one function from T0; columns default to a quiet, healthy function."""
    base = {
        "invocations": np.full(n, 100.0),
        "errors": np.zeros(n),
        "throttles": np.zeros(n),
        "duration_avg_ms": np.full(n, 120.0),
        "duration_p50_ms": np.full(n, 100.0),
        "duration_p90_ms": np.full(n, 200.0),
        "duration_p99_ms": np.full(n, 400.0),
        "duration_max_ms": np.full(n, 500.0),
        "concurrency_max": np.full(n, 4.0),
    }
    base.update({k: np.asarray(v, dtype="float64") for k, v in cols.items()})
    frame = pd.DataFrame({**KEY, "timestamp": pd.date_range(T0, periods=n, freq="1min"), "period_s": 60, **base})
    return typed_frame(frame, cw.LAMBDA_SCHEMA)


def memory_frame(n: int = 12, **cols) -> pd.DataFrame:
    base = {
        "reports": np.full(n, 500),
        "cold_starts": np.full(n, 2),
        "init_ms_mean": np.full(n, 300.0),
        "used_mb_max": np.full(n, 120.0),
        "used_mb_mean": np.full(n, 100.0),
        "memory_mb": np.full(n, 256.0),
    }
    base.update(cols)
    frame = pd.DataFrame({**KEY, "timestamp": pd.date_range(T0, periods=n, freq="5min"), "bin_s": 300, "source": "logs_insights", **base})
    return typed_frame(frame, MEMORY_SCHEMA)


def rule(**kw) -> AlertRule:
    base = {"name": "r", "metric": "error_rate", "threshold": 5, "period_s": 300, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": "notBreaching"}
    return AlertRule.model_validate({**base, **kw})


def evals(rules, metrics, memory=None, **kw):
    return fv.evaluate_rules(rules, function_row=CONFIG, metrics=metrics, memory=memory, **kw)


def shapes(fig: go.Figure, name: str) -> list:
    return [s for s in fig.layout.shapes if s.name == name]


def traces(fig: go.Figure) -> dict[str, go.BaseTraceType]:
    return {t.name: t for t in fig.data}


def row_axes(fig: go.Figure, trace_name: str) -> tuple[str, str]:
    t = traces(fig)[trace_name]
    return t.xaxis, t.yaxis


def axis(fig: go.Figure, ref: str):
    return fig.layout[ref.replace("x", "xaxis") if ref.startswith("x") else ref.replace("y", "yaxis")]


def full_figure(**kw) -> go.Figure:
    m = metrics_frame(throttles=np.r_[np.zeros(30), np.full(30, 3.0)])
    fig = plots.function_figure(metrics=m, memory=memory_frame(), config=CONFIG, **kw)
    assert fig is not None
    return fig


# --- structure -----------------------------------------------------------------------------------------------


def test_every_panel_shares_one_time_axis_and_the_range():
    start, end = T0.to_pydatetime(), (T0 + 60 * MIN).to_pydatetime()
    fig = full_figure(x_range=(start, end))
    xaxes = sorted({t.xaxis for t in fig.data})
    assert xaxes == ["x", "x2", "x3", "x4", "x5", "x6"]  # six panels: invocations, duration, throttles, concurrency, memory, cold starts
    bottom = axis(fig, "x6")
    assert bottom.title.text == "time (UTC)" and bottom.matches is None
    assert all(axis(fig, x).matches == "x6" for x in xaxes[:-1])
    assert [pd.Timestamp(v) for v in bottom.range] == [T0, T0 + 60 * MIN]
    assert [a.text for a in fig.layout.annotations] == [
        "Invocations and errors",
        "Duration",
        "Throttles",
        "Concurrent executions",
        "Memory used vs allocated",
        "Cold starts and init duration",
    ]
    assert fig.layout.hovermode == "x unified"


def test_one_trace_per_series_in_its_metric_colour_with_units_on_hover():
    fig = full_figure()
    got = {t.name: (t.yaxis, t.hovertemplate) for t in fig.data if t.hoverinfo != "skip"}  # not the lines' legend entries
    assert got == {
        "invocations": ("y", "%{y:,.0f} / 1 min"),
        "errors": ("y", "%{y:,.0f} / 1 min"),
        "error rate": ("y2", "%{y:.2f} %"),
        "avg": ("y3", "%{y:,.2f} ms"),
        "p50": ("y3", "%{y:,.2f} ms"),
        "p90": ("y3", "%{y:,.2f} ms"),
        "p99": ("y3", "%{y:,.2f} ms"),
        "max": ("y3", "%{y:,.2f} ms"),
        "throttles": ("y4", "%{y:,.0f} / 1 min"),
        "throttle rate": ("y5", "%{y:.2f} %"),
        "concurrent executions (max)": ("y6", "%{y:,.0f} executions"),
        "max memory used": ("y7", "%{y:,.1f} MB"),
        "mean memory used": ("y7", "%{y:,.1f} MB"),
        "cold starts": ("y8", "%{y:,.0f} / 5 min"),
        "init (mean)": ("y9", "%{y:,.2f} ms"),
    }
    for t in (t for t in fig.data if t.hoverinfo != "skip"):
        colour = t.marker.color if isinstance(t, go.Bar) or t.mode == "markers" else t.line.color
        assert colour == registry.colour(t.meta["metric"]), t.name
    # one colour per metric, never shared between two metrics drawn together
    drawn = {t.meta["metric"] for t in fig.data if t.hoverinfo != "skip"}
    assert len({registry.colour(m) for m in drawn}) == len(drawn)
    # the series are the frame's own numbers (exact on hover)
    assert list(traces(fig)["p99"].y[:3]) == [400.0, 400.0, 400.0]
    assert list(traces(fig)["throttle rate"].y[29:31]) == [0.0, pytest.approx(100 * 3 / 103)]


def test_units_on_every_y_axis():
    fig = full_figure()
    titles = {ref: axis(fig, ref).title.text for ref in sorted({t.yaxis for t in fig.data})}
    assert titles == {
        "y": "invocations / 1 min",
        "y2": "error rate (%)",
        "y3": "duration (ms)",
        "y4": "throttles / 1 min",
        "y5": "throttle rate (%)",
        "y6": "max concurrency (executions)",
        "y7": "memory (MB)",
        "y8": "cold starts / 5 min",
        "y9": "init (ms)",
    }


def line_legend(fig) -> dict:
    """The legend entries of the horizontal lines (timeout, thresholds, ...), by the line's shape name."""
    return {t.legendgroup: t for t in fig.data if t.hoverinfo == "skip"}


def test_reference_lines_at_the_timeout_reserved_concurrency_and_memory_size():
    fig = full_figure()
    (timeout,) = shapes(fig, "timeout")
    (reserved,) = shapes(fig, "reserved concurrency")
    (size,) = shapes(fig, "memory allocated")
    assert (timeout.yref, timeout.y0, timeout.y1) == (traces(fig)["p99"].yaxis, 6000.0, 6000.0)
    assert (reserved.yref, reserved.y0) == (traces(fig)["concurrent executions (max)"].yaxis, 10.0)
    assert (size.yref, size.y0) == (traces(fig)["max memory used"].yaxis, 256.0)
    assert timeout.xref == "x2 domain" and (timeout.x0, timeout.x1) == (0, 1)
    # named in the panel's legend in the line's own colour and dash, not written on the line over the data
    assert timeout.label.text is None and size.label.text is None
    legend = line_legend(fig)
    assert legend["timeout"].name == "timeout 6,000 ms" and legend["memory allocated"].name == "memory allocated 256 MB"
    assert (legend["timeout"].line.color, legend["timeout"].line.dash, legend["timeout"].yaxis) == (timeout.line.color, timeout.line.dash, "y3")
    assert legend["memory allocated"].legend == "legend5"  # the memory panel's legend
    # a timeout 12× the slowest invocation: a log axis shows both, on 1-2-5 ticks
    assert axis(fig, timeout.yref).type == "log"
    assert list(axis(fig, timeout.yref).tickvals) == [100, 200, 500, 1000, 2000, 5000, 10000]
    near = metrics_frame(duration_max_ms=np.full(60, 5900.0))
    fig = plots.function_figure(metrics=near, memory=None, config=CONFIG)
    assert axis(fig, shapes(fig, "timeout")[0].yref).type is None  # to scale: linear
    # no reserved concurrency, no line
    cfg = {**CONFIG, "reserved_concurrency": pd.NA}
    fig = plots.function_figure(metrics=metrics_frame(), memory=memory_frame(), config=cfg)
    assert shapes(fig, "reserved concurrency") == []


def test_each_panels_legend_under_its_panel_clear_of_the_next_title():
    fig = full_figure()
    rows = len([k for k in fig.layout.to_plotly_json() if k.startswith("legend")])  # one legend per panel
    assert rows >= 4
    height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b  # paper units are of the plot area
    for row in range(1, rows + 1):
        legend = fig.layout["legend" if row == 1 else f"legend{row}"]
        panel = fig.get_subplot(row, 1).yaxis.domain
        assert legend.yanchor == "top" and legend.y < panel[0]  # it hangs under its own panel, never over a title
        if row < rows:  # and leaves room for a row of entries and the next panel's title
            below = fig.get_subplot(row + 1, 1).yaxis.domain[1]
            assert (legend.y - below) * height >= 40, (row, legend.y, below)
        else:  # under the time axis's ticks and title, inside the figure's bottom margin
            assert (panel[0] - legend.y) * height >= 40 and fig.layout.margin.b - (panel[0] - legend.y) * height >= 20
    # the time ticks stay level and few (plotly turns them 30° on a phone's narrow plot, and the turned labels push the
    # axis title down onto the last legend), on every panel's axis
    for axis in (fig.layout[k] for k in fig.layout.to_plotly_json() if k.startswith("xaxis")):
        assert axis.tickangle == 0 and axis.nticks == plots.TIME_TICKS <= 6
    # the one phone config: plotly's toolbar only on hover, no logo
    assert plots.PHONE_CONFIG["displayModeBar"] == "hover" and plots.PHONE_CONFIG["displaylogo"] is False


def test_thresholds_on_the_panel_of_their_metric_in_its_unit():
    rules = [
        rule(name="err", metric="error_rate", threshold=5),
        rule(name="errors", metric="errors", statistic="Sum", threshold=40),
        rule(name="near-timeout", metric="duration_p99_timeout_share", threshold=90),
        rule(name="p99", metric="duration_p99_ms", threshold=450),
        rule(name="mem", metric="memory_utilization", threshold=90, period_s=3600, evaluation_periods=1, datapoints_to_alarm=None),
        rule(name="conc", metric="concurrency_account_share", threshold=80),
        rule(name="thr", metric="throttles", statistic="Sum", threshold=0),
    ]
    m, mem = metrics_frame(throttles=np.r_[np.zeros(30), np.full(30, 3.0)]), memory_frame()
    fig = plots.function_figure(metrics=m, memory=mem, config=CONFIG, rules=evals(rules, m, mem, account_limit=5), account_limit=5)
    t = traces(fig)
    where = {s.name.removeprefix("threshold:"): (s.yref, s.y0) for s in fig.layout.shapes if s.name.startswith("threshold:")}
    assert where == {
        "err": (t["error rate"].yaxis, 5.0),  # the error-rate (secondary) axis
        "errors": (t["errors"].yaxis, 40.0),
        "near-timeout": (t["p99"].yaxis, 5400.0),  # 90 % of 6 s
        "p99": (t["p99"].yaxis, 450.0),
        "mem": (t["max memory used"].yaxis, pytest.approx(230.4)),  # 90 % of 256 MB
        "conc": (t["concurrent executions (max)"].yaxis, 4.0),  # 80 % of an account limit of 5
        "thr": (t["throttles"].yaxis, 0.0),
    }
    labels = {k: t.name.replace("<br>", " ") for k, t in line_legend(fig).items() if k.startswith("threshold:")}  # wrapped for phones
    # every number as the registry writes it (the Alerts page and the digest write the threshold the same)
    assert labels["threshold:near-timeout"] == "near-timeout: p99 duration > 90.00 % of the timeout (5,400 ms)"
    assert labels["threshold:errors"] == "errors: errors > 40 per 5 min"
    assert labels["threshold:mem"] == "mem: memory used > 90.00 % of the allocation (230 MB of 256 MB)"
    assert labels["threshold:p99"] == "p99: p99 duration > 450 ms"


def test_alarm_periods_are_shaded_exactly_where_the_engine_says_alarm():
    # 25 % errors in minutes 20-34: 5-min periods ending 25, 30, 35 breach; 2 of 3 → ALARM at 30, 35, 40
    err = np.zeros(60)
    err[20:35] = 25.0
    m = metrics_frame(errors=err)
    r = rule(name="err", metric="error_rate", threshold=5)
    (ev,) = evals([r], m)
    alarm_ends = list(ev.evaluation.states[ev.evaluation.states == ALARM].index)
    assert alarm_ends == [T0 + 30 * MIN, T0 + 35 * MIN, T0 + 40 * MIN]
    fig = plots.function_figure(metrics=m, memory=None, config=CONFIG, rules=[ev])
    (rect,) = shapes(fig, "alarm:err")
    assert (pd.Timestamp(rect.x0), pd.Timestamp(rect.x1)) == (T0 + 25 * MIN, T0 + 40 * MIN)
    assert (rect.xref, rect.yref, rect.y0, rect.y1) == ("x", "y domain", 0, 1)  # on the error rate's panel only
    # the same periods as the engine's, one by one
    covered = []
    for s in shapes(fig, "alarm:err"):
        t = pd.Timestamp(s.x0)
        while t < pd.Timestamp(s.x1):
            covered.append(t + 5 * MIN)
            t += 5 * MIN
    assert covered == alarm_ends


def test_alarm_periods_merge_consecutive_periods_only():
    idx = pd.DatetimeIndex([T0 + k * 5 * MIN for k in range(1, 9)])
    states = pd.Series(pd.array(["OK", "ALARM", "ALARM", "OK", "ALARM", "INSUFFICIENT_DATA", "ALARM", "ALARM"], dtype="string"), index=idx)
    ev = evaluate(pd.Series([1.0], index=pd.DatetimeIndex([T0])), rule())
    ev = type(ev)(ev.state, ev.since, ev.value, ev.last_value, states, ev.transitions)
    assert plots.alarm_periods(ev, period_s=300) == [
        (T0 + 5 * MIN, T0 + 15 * MIN),
        (T0 + 20 * MIN, T0 + 25 * MIN),
        (T0 + 30 * MIN, T0 + 40 * MIN),
    ]


def test_highlighted_rule_is_drawn_emphasised_and_its_panel_marked():
    m = metrics_frame()
    rules = evals([rule(name="err"), rule(name="near-timeout", metric="duration_p99_timeout_share", threshold=90)], m)
    fig = plots.function_figure(metrics=m, memory=None, config=CONFIG, rules=rules, highlight_rule="near-timeout")
    (strong,) = shapes(fig, "threshold:near-timeout")
    (plain,) = shapes(fig, "threshold:err")
    assert (strong.line.width, strong.line.dash) == (3.0, "solid")
    assert (plain.line.width, plain.line.dash) == (1.2, "dash")
    assert [a.text for a in fig.layout.annotations] == ["▶ Duration", "Invocations and errors", "Concurrent executions"]  # the rule's panel first


def test_a_line_far_above_the_data_keeps_the_data_scale_and_is_named_in_the_title():
    m = metrics_frame(concurrency_max=np.full(60, 2.0))
    (ev,) = evals([rule(name="conc", metric="concurrency_account_share", threshold=80)], m, account_limit=1000)
    fig = plots.function_figure(metrics=m, memory=None, config={**CONFIG, "reserved_concurrency": 5}, rules=[ev])
    yref = traces(fig)["concurrent executions (max)"].yaxis
    assert tuple(axis(fig, yref).range) == (0, pytest.approx(2.3))
    assert shapes(fig, "threshold:conc")[0].y0 == 800.0  # still at its true value, off the scale
    assert shapes(fig, "reserved concurrency")[0].y0 == 5.0  # within 4× the data: drawn to scale
    assert fig.layout.annotations[2].text == "Concurrent executions<br>off the scale: conc at 800"  # the note on its own line


# --- empty series ----------------------------------------------------------------------------------------------


def test_a_series_without_data_is_a_sentence_not_an_empty_panel():
    m = metrics_frame()  # no throttles
    mem = memory_frame(cold_starts=np.zeros(12, dtype=int))
    fig = plots.function_figure(metrics=m, memory=mem, config=CONFIG)
    assert [a.text for a in fig.layout.annotations] == [
        "Invocations and errors",
        "Duration",
        "Concurrent executions",
        "Memory used vs allocated",
    ]
    assert "throttles" not in traces(fig) and "cold starts" not in traces(fig)
    assert plots.empty_notes(metrics=m, memory=mem) == ["No throttles in this range.", "No cold starts in this range."]


def test_no_data_at_all_is_no_figure_and_one_sentence_per_panel():
    empty_m, empty_mem = typed_frame([], cw.LAMBDA_SCHEMA), typed_frame([], MEMORY_SCHEMA)
    assert plots.function_figure(metrics=empty_m, memory=empty_mem, config=CONFIG) is None
    assert plots.empty_notes(metrics=empty_m, memory=empty_mem) == [
        "No invocations in this range.",
        "No duration data in this range (no invocations).",
        "No throttles in this range.",
        "No concurrency data in this range.",
        "No memory figures in this range (no REPORT lines and no Lambda Insights data).",
        "No cold-start figures in this range (no REPORT lines and no Lambda Insights data).",
    ]


def test_a_rule_without_an_axis_of_its_own_gets_a_panel_of_its_series():
    mem = memory_frame(n=36, cold_starts=np.r_[np.full(24, 150), np.full(12, 5)])
    m = metrics_frame(n=180)
    r = rule(name="cold", metric="cold_start_rate", threshold=20, period_s=3600, evaluation_periods=1, datapoints_to_alarm=None)
    (ev,) = evals([r], m, mem)
    fig = plots.function_figure(metrics=m, memory=mem, config=CONFIG, rules=[ev])
    t = traces(fig)["cold-start rate (cold)"]
    assert list(t.y) == [30.0, 30.0, 1.0]  # 150 / 500 REPORT lines per 5 min, hourly; then 5 / 500
    assert t.hovertemplate == "%{y:.2f} %"
    assert fig.layout.annotations[-1].text == "Cold-start rate (rule cold, per 1 h)"
    (thr,) = shapes(fig, "threshold:cold")
    assert (thr.yref, thr.y0) == (t.yaxis, 20.0)
    assert [(pd.Timestamp(s.x0), pd.Timestamp(s.x1)) for s in shapes(fig, "alarm:cold")] == [(T0, T0 + 120 * MIN)]
    # evaluated over a longer window than the chart shows: the panel shows the chart's range only
    late = (T0 + 120 * MIN, T0 + 180 * MIN)
    fig = plots.function_figure(metrics=m, memory=mem, config=CONFIG, rules=[ev], x_range=late)
    assert list(traces(fig)["cold-start rate (cold)"].y) == [1.0]
    assert plots.empty_notes(metrics=m, memory=mem, rules=[ev], x_range=late) == ["No throttles in this range."]
    empty = plots.empty_notes(metrics=m, memory=mem, rules=[ev], x_range=(T0 + 300 * MIN, T0 + 400 * MIN))
    assert empty[-1] == "No cold-start rate data for rule cold in this range."


# --- sparklines, layout ------------------------------------------------------------------------------------------


def test_trend_bins_counts_fills_functions_without_data_and_takes_the_max_of_a_gauge():
    from dashboard.figures.usage import trend

    a = metrics_frame(n=120, invocations=np.arange(120, dtype=float))
    funcs = pd.DataFrame([KEY, {**KEY, "function": "idle"}])
    got = trend(a, start=T0, end=T0 + 120 * MIN, functions=funcs)
    f, idle = got[tuple(KEY.values())], got[(KEY["account"], KEY["region"], "idle")]
    assert len(f) == 60 and f[:3] == [0 + 1, 2 + 3, 4 + 5] and f[-1] == 118 + 119  # counts: the buckets add up
    assert idle == [0.0] * 60  # read, and no datapoint: nothing counted
    p99 = a.assign(duration_p99_ms=np.where(np.arange(120) % 2, np.nan, np.arange(120.0)))
    vals = trend(p99, start=T0, end=T0 + 120 * MIN, column="duration_p99_ms")[tuple(KEY.values())]
    assert vals[:2] == [0.0, 2.0] and vals[-1] == 118.0  # a gauge: the bucket's maximum


def test_base_layout_and_timeseries_figure():
    layout = plots.base_layout(height=300)
    assert layout["hovermode"] == "x unified" and layout["height"] == 300
    assert "paper_bgcolor" not in layout and "template" not in layout  # Streamlit's theme sets them, light or dark
    frame = pd.DataFrame({"timestamp": pd.date_range(T0, periods=3, freq="1D"), "cost_usd": [1.0, 2.5, 3.0]})
    fig = plots.timeseries_figure(frame, columns=["cost_usd"], kind="bar")
    (bar,) = fig.data
    assert bar.marker.color == registry.colour("cost_usd") and bar.hovertemplate == "%{y:$,.2f}"  # d3: "-$6.29", sign first
    assert fig.layout.yaxis.title.text == "Lambda cost (USD)"
    assert plots.axis_title("duration", "duration_p99_ms") == "duration (ms)"
    assert plots.axis_title("max concurrency", "concurrency_max") == "max concurrency (executions)"
    assert registry.hovertemplate("invocations", period_s=3600) == "%{y:,.0f} / 1 h"
    with pytest.raises(ValueError, match="one axis, one unit"):
        plots.timeseries_figure(frame.assign(n=1.0), columns={"cost_usd": "cost_usd", "n": "invocations"})


# --- the simulated account's incidents ----------------------------------------------------------------------------


@pytest.fixture
def sim_now():
    from aws import sim

    now = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)  # a fixed moment: the seeded incidents sit where the test expects them at any wall-clock time
    sim.set_clock(lambda: now)
    yield now
    sim.set_clock(None)


RULES = AlertSettings.model_validate(
    {
        "rules": [
            {"name": "error-rate", "metric": "error_rate", "threshold": 5, "period_s": 300, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": "notBreaching", "min_invocations": 20, "severity": "critical"},
            {"name": "duration-near-timeout", "metric": "duration_p99_timeout_share", "threshold": 90, "period_s": 300, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": "notBreaching", "severity": "critical"},
            {"name": "throttles", "metric": "throttles", "statistic": "Sum", "threshold": 0, "period_s": 300, "evaluation_periods": 3, "datapoints_to_alarm": 2, "missing_data": "notBreaching"},
        ]
    }
)


@pytest.mark.parametrize(("kind", "rule_name", "panel"), [("timeout", "duration-near-timeout", "p99"), ("errors", "error-rate", "errors")])
@pytest.mark.aws
def test_seeded_incident_is_shaded_on_its_panel_where_it_happened(sim_now, kind, rule_name, panel):
    from aws import sim

    cfg = Settings(alerts=RULES)
    incident = {i["kind"]: i for i in sim.model_for(cfg.aws_accounts()[0]).incidents}[kind]
    view = fv.load_function(cfg, Selection(parse_range("24h", now=sim_now), "24h", sim_now), f"demo/{incident['region']}/{incident['function']}")
    fig = view.figure()
    ev = view.rule(rule_name)
    rects = [(pd.Timestamp(s.x0), pd.Timestamp(s.x1)) for s in shapes(fig, f"alarm:{rule_name}")]
    assert rects == plots.alarm_periods(ev.evaluation, period_s=300)
    (x0, x1), five = rects[0], timedelta(minutes=5)
    assert len(rects) == 1
    assert incident["start"] <= x0 <= incident["start"] + 2 * five  # 2 of 3 breaching periods: alarms in the 2nd
    assert incident["end"] <= x1 <= incident["end"] + 3 * five  # back to OK once 2 of the last 3 are fine
    sub = [s for s in shapes(fig, f"alarm:{rule_name}")][0]
    assert sub.yref == f"{traces(fig)[panel].yaxis} domain"
    assert shapes(fig, "alarm:throttles") == []  # nothing throttled in this range
    assert "No throttles in this range." in view.notes()
