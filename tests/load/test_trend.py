"""The soak's growth criterion on made-up series: flat with a refresh sawtooth passes, a leak fails (fast; default run)."""

from __future__ import annotations

import pytest

from tests.load.support import growth, slope


def sawtooth(n: int, *, base: float = 80.0, spike: float = 20.0, cycle: int = 3, leak: float = 0.0) -> list[float]:
    return [base + (spike if i % cycle == cycle - 1 else 0.0) + leak * i for i in range(n)]


def test_a_flat_sawtooth_does_not_grow():
    assert growth(sawtooth(12), cycle=3) == 0.0


def test_a_leak_of_one_megabyte_a_step_shows_as_six_over_two_cycles():
    assert growth(sawtooth(12, leak=1.0), cycle=3) == pytest.approx(6.0)


def test_shrinking_is_negative_growth():
    assert growth([5.0, 5.0, 4.0, 4.0], cycle=1) == -1.0


def test_growth_needs_four_cycles():
    with pytest.raises(ValueError, match="need at least 12 values"):
        growth(sawtooth(11), cycle=3)


def test_slope_of_a_line_and_of_too_few_points():
    assert slope([1.0, 3.0, 5.0, 7.0]) == pytest.approx(2.0)
    assert slope([4.0]) == 0.0
