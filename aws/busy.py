"""A wall-clock accumulator of the time during which at least one call was in progress (thread-safe, cheap).

The benchmark wraps the simulated account's request handling in :data:`SIM_BUSY`, so it can tell the
time spent inside the simulated AWS account from the time spent in Lambda Lens: calls that overlap on
several threads count once (the union of their intervals), so ``wall − busy`` is the app's own time.
"""

from __future__ import annotations

import threading
import time

__all__ = ["BusyTimer", "SIM_BUSY"]


class BusyTimer:
    """Seconds during which at least one ``with`` block was open, on any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._since = 0.0
        self._total = 0.0
        self.calls = 0

    def __enter__(self) -> BusyTimer:
        with self._lock:
            if self._open == 0:
                self._since = time.perf_counter()
            self._open += 1
            self.calls += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._open -= 1
            if self._open == 0:
                self._total += time.perf_counter() - self._since

    def seconds(self) -> float:
        """The busy time so far (a block still open counts up to now)."""
        with self._lock:
            return self._total + (time.perf_counter() - self._since if self._open else 0.0)

    def reset(self) -> None:
        with self._lock:
            self._total = 0.0
            self.calls = 0
            if self._open:
                self._since = time.perf_counter()


SIM_BUSY = BusyTimer()  # time inside the simulated account (aws/sim/router.py); read by bench/render.py
