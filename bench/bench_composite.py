"""Benchmark: composite Monte Carlo, 10,000 units × 200 indicators, 1,000 replications, 1 core.

    .venv/bin/python bench/bench_composite.py [--units N] [--indicators N] [--reps N]

Tree: 200 indicators in 20 groups of 10, 4 sub-indices of 5 groups, one index; 5 % of the
values missing; directions mixed. Uncertainty: weight noise ±25 %, two normalisations, two
aggregations, leave-one-indicator-out. Prints the wall-clock time of each stage.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from indicator_service.composite.engine import (  # noqa: E402
    Aggregation,
    Bands,
    Normalisation,
    compute,
)
from indicator_service.composite.robustness import Uncertainty, monte_carlo  # noqa: E402
from indicator_service.composite.tree import MetaRow, Tree, build_tree  # noqa: E402

GOAL_SECONDS = 10.0


def synthetic(units: int, indicators: int, seed: int = 0) -> tuple[Tree, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = max(1, indicators // 10)
    subs = max(1, groups // 5)
    rows = [
        MetaRow(1, f"I{i}", 1.0 if i % 3 else -1.0, 1.0 + (i % 4), f"G{i % groups}")
        for i in range(indicators)
    ]
    rows += [
        MetaRow(2, f"G{g}", 1, 1.0 + g % 2, f"S{g % subs}", "Aggregate") for g in range(groups)
    ]
    rows += [MetaRow(3, f"S{s}", 1, 1, "Index", "Aggregate") for s in range(subs)]
    rows.append(MetaRow(4, "Index", 1, 1, None, "Aggregate"))
    tree = build_tree(rows)
    x = rng.lognormal(mean=2.0, sigma=0.8, size=(units, indicators))
    x[rng.random(x.shape) < 0.05] = np.nan
    return tree, [f"U{u}" for u in range(units)], x


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=10_000)
    p.add_argument("--indicators", type=int, default=200)
    p.add_argument("--reps", type=int, default=1_000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    tree, units, x = synthetic(args.units, args.indicators)
    t0 = time.perf_counter()
    compute(tree, units, x)
    t1 = time.perf_counter()
    unc = Uncertainty(
        weight_noise=0.25,
        normalisations=(Normalisation(low=1.0), Normalisation("prank", low=1.0)),
        aggregations=(Aggregation(), Aggregation("geometric")),
        exclusion_level=1,
    )
    bands = Bands.from_ranges([("差", 0, 60), ("中", 60, 80), ("良", 80, 90), ("优", 90, 100)])
    t2, c2 = time.perf_counter(), time.process_time()
    r = monte_carlo(tree, units, x, uncertainty=unc, n=args.reps, seed=args.seed, bands=bands)
    t3, c3 = time.perf_counter(), time.process_time()
    print(f"composite nominal: {args.units} units × {args.indicators} indicators: {t1 - t0:.3f} s")
    print(
        f"composite Monte Carlo: {args.units} units × {args.indicators} indicators × "
        f"{args.reps} replications (weights ±25 %, 2 normalisations, 2 aggregations, "
        f"leave-one-out): {t3 - t2:.2f} s wall, {c3 - c2:.2f} s CPU, one thread "
        f"(goal < {GOAL_SECONDS:.0f} s)"
    )
    print(f"mean absolute rank shift: {r.mean_abs_rank_shift:.2f}")


if __name__ == "__main__":
    main()
