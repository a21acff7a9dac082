"""Time the simulator's day pass: every figure of one UTC day of a fleet (``aws.sim.daily.day``), per day.

    .venv/bin/python bench/sim_day.py --functions 1000 --days 5

A fresh fixed-seed model of ``--functions`` functions (2 regions); complete days well before the clock (no
incident falls on them), each generated once. Prints wall and CPU seconds per day on one thread (the process's
spare threads taken first) and on every core (``aws.sim.series.WORKERS``). The first day of each run is a
warm-up (numba's compiled loops load, or compile in a new checkout) and is not counted.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 12, 8, 15, 30, tzinfo=UTC)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(functions: int, days: int, *, one_thread: bool, first_day: int) -> tuple[float, float]:
    """(wall, CPU) seconds per day of ``days`` days of a new model, starting ``first_day`` days before the clock."""
    import numpy as np

    from aws import sim
    from aws.session import SimSpec
    from aws.sim import daily, series
    from aws.sim.model import Model

    sim.set_clock(lambda: NOW)
    model = Model(spec=SimSpec(functions=functions, seed=7), regions=("us-east-1", "eu-west-1"), name="demo")
    anchor, rows = model.now(), np.arange(functions)
    midnight = int(NOW.timestamp() // 60) // 1440 * 1440
    d0 = midnight - first_day * 1440
    daily.day(model, d0 - 1440, d0 - 1440, d0, anchor, rows)  # warm-up
    taken = 0
    while one_thread and series._SPARE.acquire(blocking=False):
        taken += 1
    try:
        c0, t0 = _cpu(), time.perf_counter()
        for k in range(days):
            start = d0 + k * 1440
            daily.day(model, start, start, start + 1440, anchor, rows)
        return (time.perf_counter() - t0) / days, (_cpu() - c0) / days
    finally:
        for _ in range(taken):
            series._SPARE.release()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--functions", type=int, default=1000)
    p.add_argument("--days", type=int, default=5)
    a = p.parse_args(argv)
    from aws.sim.series import WORKERS

    for label, one, first in (("one thread", True, 40), (f"{WORKERS} threads", False, 20)):
        wall, cpu = run(a.functions, a.days, one_thread=one, first_day=first)
        print(f"{a.functions:,} functions, {label}: {wall:.3f} s wall, {cpu:.3f} s CPU a day")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
