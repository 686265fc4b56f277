"""Timings of the derived-standards core: ``.venv/bin/python bench/bench_standards.py``."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from indicator_service.standards.derive import (
    Point,
    derive_historical,
    derive_industry,
)
from indicator_service.standards.progress import progress


def timed(label: str, fn: Callable[[], object], repeat: int) -> None:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    ms = (time.perf_counter() - t0) / repeat * 1000
    print(f"{label:<60} {ms:9.3f} ms")


def main() -> None:
    rng = np.random.default_rng(0)
    big = [float(v) for v in rng.normal(80, 10, 100_000)]
    small = [float(v) for v in rng.normal(80, 10, 50)]
    series = [Point(1900 + i, float(v)) for i, v in enumerate(rng.normal(80, 10, 200))]
    short = [Point(2015 + i, 80.0 + i) for i in range(10)]
    timed("derive_industry 100k values, winsorised 5%/95%", lambda: derive_industry(
        big, winsorize=(0.05, 0.95)), 5)  # fmt: skip
    timed("derive_industry 50 values", lambda: derive_industry(small), 1000)
    timed("derive_historical trend, 200 points", lambda: derive_historical(
        series, "trend", target_year=2101), 100)  # fmt: skip
    timed("derive_historical mean_last_n, 200 points", lambda: derive_historical(
        series, "mean_last_n", n=3), 1000)  # fmt: skip
    timed("progress, 10 points with a target", lambda: progress(
        short, target_value=100.0, target_year=2030), 2000)  # fmt: skip


if __name__ == "__main__":
    main()
