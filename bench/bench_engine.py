"""Engine benchmark: 10,000 evaluations of a 40-leaf framework, in process.

Prints leaf scores per second of the vectorised engine (goal ≥ 10 million/s) and its speed-up
over the plain-Python reference implementation measured in the same run (goal ≥ 30×).

    .venv/bin/python bench/bench_engine.py [--items 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indicator_service.rules import (
    CompiledTree,
    Leaf,
    Observation,
    Tree,
    compile_tree,
    score_columns,
)
from tests.scoring import reference

CLASSES = (("产出", "数量"), ("产出", "质量"), ("产出", "时效"), ("产出", "成本"), ("效益", "社会"))


def framework_40() -> Tree:
    """A 40-leaf tree mixing every numeric rule kind (points add up to 100)."""
    leaves: list[Leaf] = [Leaf("exec", 10.0, {"kind": "budget_execution"}, target=100.0)]
    kinds: list[tuple[dict[str, Any], float | None]] = [
        ({"kind": "higher_better"}, 95.0),
        ({"kind": "equal"}, 100.0),
        ({"kind": "lower_better"}, 90.0),
        ({"kind": "lower_better", "variant": "inverse"}, 90.0),
        ({"kind": "deduction", "threshold": 100.0, "per_unit": 0.5}, None),
        ({"kind": "efficacy", "levels": [100, 80, 60, 40, 20]}, None),
        ({"kind": "higher_better", "over_achievement_penalty": 0.8}, 80.0),
    ]
    for i in range(38):
        rule, target = kinds[i % len(kinds)]
        leaves.append(Leaf(f"L{i:02d}", 2.0, rule, target=target, path=CLASSES[i % len(CLASSES)]))
    leaves.append(Leaf("sat", 14.0, {"kind": "higher_better"}, target=95.0, path=("满意度",)))
    return Tree(tuple(leaves))


def random_actuals(n: int, m: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.uniform(40.0, 140.0, size=(n, m))
    values[rng.random((n, m)) < 0.01] = np.nan  # ~1 % missing (scored zero)
    return values


def time_engine(compiled: CompiledTree, values: np.ndarray, repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = score_columns(compiled, values)
        best = min(best, time.perf_counter() - start)
    return best, result


def time_reference(tree: Tree, values: np.ndarray) -> tuple[float, list[float | None]]:
    codes = [leaf.code for leaf in tree.leaves]
    start = time.perf_counter()
    totals = []
    for row in values.tolist():
        obs = {c: Observation(v) for c, v in zip(codes, row, strict=True) if v == v}
        totals.append(reference.score_item(tree, obs).total)
    return time.perf_counter() - start, totals


def run(items: int = 10_000, repeat: int = 5, reference_items: int = 2_000) -> dict[str, float]:
    tree = framework_40()
    compiled = compile_tree(tree)
    m = compiled.n_leaves
    values = random_actuals(items, m)
    seconds, result = time_engine(compiled, values, repeat)
    engine_rate = items * m / seconds
    ref_n = min(reference_items, items)
    ref_seconds, ref_totals = time_reference(tree, values[:ref_n])
    ref_rate = ref_n * m / ref_seconds
    engine_totals = result.item_total[:ref_n].tolist()
    if engine_totals != ref_totals:
        raise SystemExit("engine and reference disagree")
    figures = {
        "items": float(items),
        "leaves": float(m),
        "engine_seconds": seconds,
        "engine_leaf_scores_per_s": engine_rate,
        "reference_leaf_scores_per_s": ref_rate,
        "speedup": engine_rate / ref_rate,
    }
    print(
        f"engine: {items:,} evaluations × {m} leaves in {seconds * 1000:.1f} ms (best of "
        f"{repeat}) = {engine_rate / 1e6:.1f} M leaf scores/s (goal ≥ 10 M/s)\n"
        f"reference: {ref_n:,} evaluations in {ref_seconds * 1000:.0f} ms = "
        f"{ref_rate / 1e6:.3f} M leaf scores/s\n"
        f"speed-up engine/reference: {engine_rate / ref_rate:.0f}× (goal ≥ 30×); totals agree"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    run(args.items, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
