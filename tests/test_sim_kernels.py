"""The simulated account's compiled loops (aws/sim/kernels.py) draw from the documented streams and keep the model's
rules in every function-minute.

The class sums are compared with the grid's (F, M, J) arrays in tests/test_sim_daily.py; here the grid itself: its
uniforms are those of :func:`aws.sim.noise.hash64` (the counter-based streams every other answer uses), and each
minute obeys what the model says (counts that nest, no activity outside the valid window, incidents only in their
minutes, concurrency within its reservation, an hourly job once an hour).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from aws import sim
from aws.session import SimSpec
from aws.sim import clock
from aws.sim.model import Model
from aws.sim.noise import hash64, uniforms
from aws.sim.series import build_grid

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 26, 16, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def model():
    sim.set_clock(lambda: NOW)
    yield Model(spec=SimSpec(functions=48, seed=7), regions=("us-east-1", "eu-west-1"), name="demo")
    sim.set_clock(None)


@pytest.fixture(scope="module")
def window(model):
    """The last 30 hours (every time-bound incident) with activity from 20 minutes in, to 10 minutes before the end."""
    m1 = int(NOW.timestamp() // 60)
    m0 = m1 - 30 * 60
    incidents = model.incident_objects(clock.anchor(NOW))
    g = build_grid(params=model.params, seed=model.seed, m0=m0, m1=m1, incidents=incidents, valid=(m0 + 20, m1 - 10))
    return g, incidents


def test_the_grids_uniforms_are_the_hash_streams_of_seed_function_and_minute(model, window):
    g, _ = window
    cell = hash64(model.seed, g.fidx[:, None], g.minutes[None, :])
    u5, u6, u7, u8 = uniforms(hash64(2, prefix=cell))
    u9 = uniforms(hash64(3, prefix=cell))[0]
    assert np.array_equal(g.strat, u8)
    assert np.array_equal(g.mem_u, u9)
    p = g.params
    assert np.array_equal(g.mem_level, p.mem[:, None] * p.mem_frac[:, None] * (0.96 + 0.08 * u9))


def test_counts_nest_and_nothing_runs_outside_the_valid_minutes(window):
    g, _ = window
    assert g.n.sum() > 0 and g.cold.sum() > 0 and g.errors.sum() > 0
    assert (g.timeouts >= 0).all() and (g.timeouts <= g.n).all()
    assert (g.errors >= g.timeouts).all() and (g.errors <= g.n).all()
    assert (g.cold <= g.n - g.timeouts).all()
    outside = (g.minutes < g.minutes[0] + 20) | (g.minutes >= g.minutes[-1] + 1 - 10)
    for name in ("n", "errors", "throttles", "timeouts", "cold", "conc"):
        assert not getattr(g, name)[:, outside].any(), name


def test_init_durations_and_concurrency_follow_the_functions_settings(window):
    g, _ = window
    p = g.params
    assert not g.init_cms[g.cold == 0].any()
    lo = p.init_ms[:, None] * (1.0 - p.init_spread[:, None]) * 100.0
    hi = p.init_ms[:, None] * (1.0 + p.init_spread[:, None]) * 100.0
    has = g.cold > 0
    assert ((g.init_cms >= np.floor(lo)) & (g.init_cms <= np.ceil(hi)))[has].all()
    assert ((g.conc >= 1) == (g.n > 0)).all()
    reserved = p.reserved[:, None] > 0
    assert (g.conc <= np.where(reserved, p.reserved[:, None], np.iinfo(np.int64).max)).all()
    assert not g.iterator_age[~p.stream].any() and (g.iterator_age[p.stream] >= 150).all()
    assert not g.async_age[~p.is_async].any() and (g.async_age[p.is_async] >= 25).all()


def test_incidents_act_only_in_their_minutes(window):
    g, incidents = window
    rows = {int(f): r for r, f in enumerate(g.fidx)}
    seen = set()
    for kind, field in (("throttles", "throttles"), ("timeout", "timeouts")):
        inside = np.zeros(g.n.shape, dtype=bool)
        for inc in incidents:
            if inc.kind == kind and inc.index in rows:
                inside[rows[inc.index], (g.minutes >= inc.start_min) & (g.minutes < inc.end_min)] = True
        got = getattr(g, field)
        assert not got[~inside].any(), kind
        if inside.any():
            seen.add(kind)
            assert got[inside].sum() > 0, kind
    assert seen == {"throttles", "timeout"}  # the window holds both episodes
    for inc in incidents:
        if inc.kind == "errors" and inc.index in rows:
            r = rows[inc.index]
            during = (g.minutes >= inc.start_min) & (g.minutes < inc.end_min) & (g.n[r] > 0)
            rate = g.errors[r, during].sum() / g.n[r, during].sum()
            assert rate == pytest.approx(inc.level, abs=0.05)
            assert g.errors[r, ~during].sum() / max(1, g.n[r, ~during].sum()) < inc.level / 2


def test_an_hourly_job_runs_once_an_hour_at_its_minute(window):
    g, _ = window
    p = g.params
    hourly = np.flatnonzero(p.pattern == 4)
    assert len(hourly)
    active = (g.minutes >= g.minutes[0] + 20) & (g.minutes < g.minutes[-1] + 1 - 10)
    for r in hourly:
        runs = g.minutes[g.n[r] > 0]
        assert (g.n[r][g.n[r] > 0] == 1).all()
        assert set((runs % 60).tolist()) == {int(p.hour_offset[r])}
        want = active & (g.minutes % 60 == p.hour_offset[r])
        assert np.array_equal(g.n[r] > 0, want)
