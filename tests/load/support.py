"""What the load and soak tests share: a demo config of N functions, a served app, memory readings, a trend.

Figures are printed and also written as JSON to ``$LAMBDA_LENS_ARTIFACTS/load/<name>.json``
(default ``artifacts/``) so the reliability notes can quote a file a command produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def demo_config(path: Path, *, functions: int, ttl_s: dict[str, int] | None = None) -> Path:
    """The shipped config.yaml with its demo account simulating ``functions`` functions.

    ``ttl_s`` overrides some cache TTLs; the AWS deadlines are raised (what is measured is memory and sharing,
    not deadlines); nothing else changes (the digest state goes next to the file).
    """
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    demo = cfg["accounts"][0]
    assert demo.get("demo"), "the shipped config's first account is the demo account"
    demo.setdefault("simulation", {})["functions"] = functions
    cfg.setdefault("cache_ttl_s", {}).update(ttl_s or {})
    # these tests measure memory and sharing, not deadlines: a loaded CI machine must not turn a slow part into a gap
    cfg.setdefault("aws", {}).update(deadline_s=900, refresh_deadline_s=1800)
    cfg.setdefault("email", {})["state_path"] = str(path.parent / "digest-state.json")
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def write_figures(name: str, figures: dict) -> Path:
    out = Path(os.environ.get("LAMBDA_LENS_ARTIFACTS", ROOT / "artifacts")) / "load"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\n{name}: " + json.dumps(figures, default=str))
    return path


# --- memory -----------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def rss_bytes(pid: int) -> int:
    """Resident memory of one process (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    kids = _children()
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss_bytes(p)
        todo.extend(kids.get(p, ()))
    return total


class PeakSampler:
    """Samples a process tree's RSS every ``interval_s`` in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int, *, interval_s: float = 0.25):
        self.pid = pid
        self.interval_s = interval_s
        self.start = self.peak = tree_rss_bytes(pid)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self.samples += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_bytes(self.pid))


# --- the served app ---------------------------------------------------------------------------------


@contextmanager
def served_app(config: Path, logdir: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run app.py` on ``config`` (on a free loopback port); yields (url, process)."""
    from tests.browser.conftest import server_env, streamlit_server

    with streamlit_server(logdir, env={**server_env(), "LAMBDA_LENS_CONFIG": str(config)}) as server:
        yield server.url, server.proc


# --- trends -----------------------------------------------------------------------------------------


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of ``values`` against their index (units per step); 0 for fewer than 2 values."""
    n = len(values)
    if n < 2:
        return 0.0
    mx = (n - 1) / 2
    my = sum(values) / n
    num = sum((i - mx) * (v - my) for i, v in enumerate(values))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def growth(values: Sequence[float], *, cycle: int) -> float:
    """How much the peak of the last two cycles exceeds the peak of the two cycles before (≤ 0: no growth).

    Refreshes come in a cycle (the metrics every step, logs every ``cycle`` steps): comparing peaks
    of whole cycles compares like with like, where a step-by-step comparison would see the sawtooth.
    """
    w = 2 * cycle
    if len(values) < 2 * w:
        raise ValueError(f"need at least {2 * w} values for cycle {cycle}, got {len(values)}")
    return max(values[-w:]) - max(values[-2 * w : -w])
