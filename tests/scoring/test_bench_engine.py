"""The engine benchmark behind the ``benchmark`` marker: `pytest -m benchmark -s`."""

from __future__ import annotations

import pytest


@pytest.mark.benchmark
def test_engine_benchmark_prints_figures() -> None:
    from bench import bench_engine

    figures = bench_engine.run(items=10_000, repeat=3)
    # Figures are printed, not enforced (shared CI machines); sanity only.
    assert figures["engine_leaf_scores_per_s"] > figures["reference_leaf_scores_per_s"]
