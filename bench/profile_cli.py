"""Profile one CLI command (cProfile): where the time goes, by area (simulated account, collectors, dashboard).

    .venv/bin/python bench/profile_cli.py --functions 1000 -- costs --by function --format json
    .venv/bin/python bench/profile_cli.py --functions 1000 --top 40 -- summary --range 24h

Runs ``python -m dashboard <args>`` in this process against a fixed-seed, fixed-clock demo account of
``--functions`` functions in 2 regions (or ``--config``), then prints own time by area (aws/sim,
aws/ other, dashboard/, numpy/pandas, other), the wall time inside the simulated account (``aws.busy.SIM_BUSY``)
and the top functions by own and cumulative time. ``LAMBDA_LENS_SIM_CACHE=DIR`` reads (and writes) the
simulator's settled days there (aws/sim/daily.py).
``--out FILE`` keeps the raw profile (for snakeviz and the like). The command's own output is discarded.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _area(filename: str) -> str:
    f = filename.replace("\\", "/")
    if "/aws/sim/" in f:
        return "aws/sim"
    if str(ROOT) in f and "/aws/" in f:
        return "aws (collectors)"
    if str(ROOT) in f and "/dashboard/" in f:
        return "dashboard"
    if "/numpy/" in f or "/pandas/" in f:
        return "numpy/pandas"
    if "/botocore/" in f or "/boto3/" in f:
        return "botocore"
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--functions", type=int, default=1000)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path)
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    args = [x for x in a.args if x != "--"]
    if a.config is None:
        from sim_equivalence import config_text

        tmp = Path(tempfile.mkdtemp()) / "config.yaml"
        tmp.write_text(config_text(a.functions))
        a.config = tmp
    os.environ["LAMBDA_LENS_CONFIG"] = str(a.config)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    from aws.busy import SIM_BUSY
    from dashboard.cli import main as cli_main

    # the collectors fan out on threads: give each thread its own profile, merged at the end
    thread_profiles: list[cProfile.Profile] = []
    orig_run = threading.Thread.run

    def run(self):
        tp = cProfile.Profile(time.thread_time)
        tp.enable()
        try:
            orig_run(self)
        finally:
            tp.disable()
            thread_profiles.append(tp)

    threading.Thread.run = run
    prof = cProfile.Profile(time.thread_time)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        prof.enable()
        try:
            cli_main(args)
        except SystemExit:
            pass
        finally:
            prof.disable()
    wall = time.perf_counter() - t0
    if a.out:
        prof.dump_stats(str(a.out))
    threading.Thread.run = orig_run
    time.sleep(0.2)  # let the last workers hand in their profiles
    st = pstats.Stats(prof)
    for tp in thread_profiles:
        st.add(tp)
    by_area: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tt, _ct, _callers) in st.stats.items():
        by_area[_area(filename)] = by_area.get(_area(filename), 0.0) + tt
    total = sum(by_area.values()) or 1.0
    print(f"inside the simulated account (SIM_BUSY, wall, profiled): {SIM_BUSY.seconds():.2f} s")
    print(f"wall {wall:.2f} s (profiled; {len(thread_profiles)} worker threads); CPU time by area (all threads; cProfile on time.thread_time, so waiting is not counted):")
    for k, v in sorted(by_area.items(), key=lambda kv: -kv[1]):
        print(f"  {k:<18}{v:8.2f} s {100 * v / total:5.1f} %")
    st.sort_stats("tottime").print_stats(a.top)
    st.sort_stats("cumulative").print_stats(a.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
