"""The simulated account gives the same answers before and after a change: capture, then compare.

Runs the CLI (``python -m dashboard``) against a fixed-seed, fixed-clock demo account and
stores each command's JSON output and wall time; ``compare`` reports any difference
between two captures (numbers equal within ``--rtol``, 1e-9 by default: a change of
floating-point summation order may move the last bits of a sum).

    # before (from another checkout, e.g. the main branch), then after (this one)
    .venv/bin/python bench/sim_equivalence.py capture --root /work/main --out /tmp/before
    .venv/bin/python bench/sim_equivalence.py capture --out /tmp/after
    .venv/bin/python bench/sim_equivalence.py compare /tmp/before /tmp/after

``--sizes 48,1000`` picks the account sizes (2 regions, seed 7, clock 2026-12-08T15:30:00Z).
Each command runs in its own process, so its wall time includes the cold simulated account; its CPU time
(user + system, all threads) is recorded too: on a shared machine it is the steadier figure, and so is the
time inside the simulated account (``sim_s``: ``aws.busy.SIM_BUSY``, the union of its request handlers' runs).
With ``LAMBDA_LENS_SIM_CACHE=DIR`` in the environment the commands share the simulator's folder of settled
days (aws/sim/daily.py): capture twice to time a cold folder and a warm one.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-12-08T15:30:00Z"
COMMANDS: dict[str, list[str]] = {
    "summary_24h": ["summary", "--range", "24h", "--format", "json"],
    "summary_7d": ["summary", "--range", "7d", "--format", "json"],
    "costs_function": ["costs", "--by", "function", "--format", "json"],
    "costs_usage_type": ["costs", "--by", "usage-type", "--format", "json"],
    "alerts": ["alerts", "--format", "json"],
    "overview": ["overview", "--format", "json"],
    "digest": ["digest", "--dry-run", "--out"],  # + a folder; its .json is what is compared
}


def config_text(functions: int, accounts: int = 1, regions: tuple[str, ...] = ("us-east-1", "eu-west-1")) -> str:
    """A config.yaml with ``accounts`` demo accounts of ``functions`` functions each (seed 7 + i, fixed clock)."""
    rows = []
    for i in range(accounts):
        name = "demo" if accounts == 1 else f"demo{i:02d}"
        rows.append(
            f"  - {{name: {name}, demo: true, regions: [{', '.join(regions)}], "
            f'simulation: {{functions: {functions}, seed: {7 + i}, now: "{NOW}"}}}}'
        )
    # generous deadlines: a loaded machine must not turn a slow answer into a missing one (the outputs compared)
    return (
        "aws: {deadline_s: 3600, refresh_deadline_s: 7200}\n"
        'email: {digests: [{name: org, recipients: [ops@example.com], schedule: "0 8 * * *", range: 24h}]}\n'
        "accounts:\n" + "\n".join(rows) + "\n"
    )


# runs ``python -m dashboard`` and writes to the file named by argv[1] the simulator's busy seconds (wall) and
# the CPU seconds its request handlers used (thread time, every thread: steadier than wall time on a shared
# machine, where handlers running beside the app's threads wait for a core)
_RUNNER = (
    "import atexit, runpy, sys, threading, time\n"
    "from aws.busy import SIM_BUSY\n"
    "from aws.sim import autoscaling, cloudwatch, costs, lambda_, logs, sts, tagging  # noqa: registers\n"
    "from aws.sim.registry import HANDLERS\n"
    "cpu = [0.0]\n"
    "lock = threading.Lock()\n"
    "def timed(fn):\n"
    "    def run(call, params):\n"
    "        t = time.thread_time()\n"
    "        try:\n"
    "            return fn(call, params)\n"
    "        finally:\n"
    "            with lock:\n"
    "                cpu[0] += time.thread_time() - t\n"
    "    return run\n"
    "for key in list(HANDLERS):\n"
    "    HANDLERS[key] = timed(HANDLERS[key])\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(repr((SIM_BUSY.seconds(), cpu[0]))))\n"
    "sys.argv[0] = 'dashboard'\n"
    "runpy.run_module('dashboard', run_name='__main__', alter_sys=True)\n"
)


def capture(root: Path, out: Path, sizes: list[int], commands: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    timings = {}
    tpath = out / "timings.json"
    if tpath.exists():
        timings = json.loads(tpath.read_text())
    for n in sizes:
        cfg = out / f"config_{n}.yaml"
        cfg.write_text(config_text(n))
        for name in commands:
            env = {**os.environ, "LAMBDA_LENS_CONFIG": str(cfg), "AWS_EC2_METADATA_DISABLED": "true"}
            t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            args = list(COMMANDS[name])
            folder = out / f"{name}_{n}"
            if name == "digest":
                args.append(str(folder))
            busy_file = out / f".sim_busy_{name}_{n}"
            busy_file.unlink(missing_ok=True)
            proc = subprocess.run(
                [python, "-c", _RUNNER, str(busy_file), *args], cwd=root, env=env, capture_output=True, text=True
            )
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            if name == "digest":
                written = sorted(folder.glob("*.json"))
                (out / f"{name}_{n}.json").write_text(written[0].read_text() if written else "")
            else:
                (out / f"{name}_{n}.json").write_text(proc.stdout)
            if proc.returncode not in (0, 1):
                (out / f"{name}_{n}.stderr").write_text(proc.stderr)
            sim, sim_cpu = ast.literal_eval(busy_file.read_text()) if busy_file.exists() else (math.nan, math.nan)
            busy_file.unlink(missing_ok=True)
            timings[f"{name}_{n}"] = {
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "sim_s": round(sim, 2),
                "sim_cpu_s": round(sim_cpu, 2),
                "rc": proc.returncode,
            }
            print(
                f"{n:>6} {name:<18} {wall:8.2f} s wall {cpu:8.2f} s cpu {sim:8.2f} s sim {sim_cpu:8.2f} s sim cpu"
                f"  rc={proc.returncode}",
                flush=True,
            )
            tpath.write_text(json.dumps(timings, indent=1))


def _diff(a, b, path: str, rtol: float, out: list[str], worst: list[float]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'after' if k in b else 'before'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", rtol, out, worst)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{path}[{i}]", rtol, out, worst)
    elif isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)):
            return
        rel = abs(a - b) / max(abs(a), abs(b))
        worst.append(rel)
        if rel > rtol:
            out.append(f"{path}: {a!r} before, {b!r} after (relative {rel:.2e})")
    elif a != b:
        out.append(f"{path}: {a!r} before, {b!r} after")


def compare(before: Path, after: Path, rtol: float) -> int:
    bad = 0
    for fa in sorted(before.glob("*.json")):
        if fa.name == "timings.json":
            continue
        fb = after / fa.name
        if not fb.exists():
            print(f"{fa.name}: missing after")
            bad += 1
            continue
        ta, tb = fa.read_text(), fb.read_text()
        if ta == tb:
            print(f"{fa.name}: identical")
            continue
        try:
            ja, jb = json.loads(ta), json.loads(tb)
        except json.JSONDecodeError:
            print(f"{fa.name}: differs (not JSON)")
            bad += 1
            continue
        diffs: list[str] = []
        worst: list[float] = []
        _diff(ja, jb, "$", rtol, diffs, worst)
        if diffs:
            bad += 1
            print(f"{fa.name}: {len(diffs)} differences")
            for d in diffs[:20]:
                print("   ", d)
        else:
            print(f"{fa.name}: equal within {rtol:g} (largest relative difference {max(worst, default=0):.1e})")
    ta, tb = before / "timings.json", after / "timings.json"
    if ta.exists() and tb.exists():
        a, b = json.loads(ta.read_text()), json.loads(tb.read_text())
        cols = [("wall", "wall_s"), ("cpu", "cpu_s"), ("sim", "sim_s"), ("sim cpu", "sim_cpu_s")]
        print(f"\n{'command':<26}" + "".join(f"{c + ' before':>15}{'after':>8}{'×':>6}" for c, _ in cols))
        for k in a:
            if k in b:
                line = f"{k:<26}"
                for _c, f in cols:
                    x, y = a[k].get(f, math.nan), b[k].get(f, math.nan)
                    line += f"{x:>15.2f}{y:>8.2f}{x / max(y, 1e-9):>6.1f}"
                print(line)
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture", help="run the commands and store their JSON and wall time")
    c.add_argument("--root", type=Path, default=ROOT, help="the checkout to run (its cwd; default: this one)")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--sizes", default="48,1000")
    c.add_argument("--commands", default=",".join(COMMANDS), help=f"comma-separated, of {', '.join(COMMANDS)}")
    d = sub.add_parser("compare", help="compare two captures")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    d.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args()
    if args.cmd == "capture":
        capture(args.root, args.out, [int(s) for s in args.sizes.split(",")], args.commands.split(","))
        return 0
    return compare(args.before, args.after, args.rtol)


if __name__ == "__main__":
    raise SystemExit(main())
