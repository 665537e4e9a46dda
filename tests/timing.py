"""Wall-clock allowances for tests that guard against stalls, not for speed goals.

Speed goals live in bench/ as ratios. Some tests still need a bound on waiting ("the round ends",
"the deadline fires"): on a shared machine at load 12 a 5 s round can take 20 s without anything
being wrong, so the bound grows with the load per core. A real stall (an endless drip, a
quadratic scan) still overruns it by far.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def load_factor() -> float:
    """How many times busier than one runnable task per core the machine is now (at least 1)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def allowance(seconds: float) -> float:
    """``seconds`` on an idle machine, stretched by the current load."""
    return seconds * load_factor()


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU seconds this process spent on ``work``: others' load barely moves it."""
    started = time.process_time()
    work()
    return time.process_time() - started
