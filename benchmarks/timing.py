"""Repeating a measure and summing it up: median and 95th percentile."""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float
    runs: int


def summary(seconds: list[float]) -> Timing:
    ordered = sorted(seconds)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
    return Timing(statistics.median(ordered) * 1000, p95 * 1000, len(ordered))


def measure(action: Callable[[], object], runs: int, warmup: int = 1) -> Timing:
    """Run ``action`` ``warmup`` times unmeasured (caches, connections), then ``runs`` times."""
    for _ in range(warmup):
        action()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return summary(seconds)
