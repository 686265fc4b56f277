"""``indicator-service composite DATA.csv META.csv [options]``: composite scores as CSV."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import TextIO

from indicator_service.composite.engine import (
    AGGREGATIONS,
    NORMALISATIONS,
    Aggregation,
    Bands,
    Normalisation,
    compute,
    data_matrix,
)
from indicator_service.composite.robustness import Uncertainty, monte_carlo
from indicator_service.composite.tables import (
    check_indicator_columns,
    format_float,
    read_data_csv,
    read_meta_csv,
)
from indicator_service.composite.tree import CompositeError, FloatArray, Tree, build_tree
from indicator_service.tables.writers import csv_cell, csv_row


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "composite",
        help="composite indicator scores of units (OECD/JRC method) as CSV on stdout",
        description=(
            "Normalise each indicator across units, aggregate up the tree of the meta table and "
            "write uCode plus one column per aggregate node (full precision, NA if missing). "
            "Defaults: min-max to [0, 100], direction -1 reversed, weighted arithmetic mean, "
            "missing values dropped with the group's weights rescaled."
        ),
    )
    p.add_argument("data", type=Path, help="data CSV: uCode + one column per indicator")
    p.add_argument(
        "meta", type=Path, help="meta CSV: Level, iCode, Direction, Weight, Parent, Type"
    )
    p.add_argument("--normalisation", choices=NORMALISATIONS, default="minmax")
    p.add_argument("--low", type=float, default=0.0, help="lower end of the scale (default 0)")
    p.add_argument("--high", type=float, default=100.0, help="upper end of the scale (default 100)")
    p.add_argument("--no-cap", action="store_true", help="distance to target: do not cap at 1")
    p.add_argument("--aggregation", choices=AGGREGATIONS, default="arithmetic")
    p.add_argument("--p", type=float, default=1.0, help="generalised mean parameter")
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="minimum fraction of a group's children with data (below: NA)",
    )
    p.add_argument("--ranks", action="store_true", help="add a rank column per aggregate")
    p.add_argument(
        "--bands",
        type=_bands,
        default=None,
        help="grade bands LABEL:MIN:MAX,… (adds a grade column per aggregate, or grade "
        "probabilities with --robustness)",
    )
    r = p.add_argument_group(
        "robustness", "Monte Carlo instead of scores: one row per unit with p5/median/p95"
    )
    r.add_argument("--robustness", type=int, metavar="N", help="number of replications")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--weight-noise", type=float, default=0.25)
    r.add_argument(
        "--alt-normalisation",
        choices=NORMALISATIONS,
        action="append",
        default=[],
        help="another normalisation to draw (repeatable; same --low/--high)",
    )
    r.add_argument(
        "--alt-aggregation",
        choices=AGGREGATIONS,
        action="append",
        default=[],
        help="another aggregation to draw (repeatable; same --p)",
    )
    r.add_argument("--exclusion-level", type=int, default=None, help="leave one node out")
    r.add_argument("--target", default=None, help="aggregate analysed (default: the index)")
    p.set_defaults(func=run)


def _bands(text: str) -> Bands:
    try:
        parts = [item.split(":") for item in text.split(",")]
        return Bands.from_ranges([(a, float(b), float(c)) for a, b, c in parts])
    except (ValueError, CompositeError) as exc:
        raise argparse.ArgumentTypeError(f"expected LABEL:MIN:MAX,… gapless: {exc}") from None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        return _run(args, out or sys.stdout)
    except BrokenPipeError:  # the reader (e.g. `head`) closed the pipe: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        text_data = args.data.read_text(encoding="utf-8")
        text_meta = args.meta.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        tree = build_tree(read_meta_csv(text_meta))
        units, columns, text_columns = read_data_csv(text_data)
        check_indicator_columns(tree.indicators, columns, text_columns)
        x = data_matrix(tree, units, columns)
        norms = [
            Normalisation(method=m, low=args.low, high=args.high, cap=not args.no_cap)
            for m in [args.normalisation, *args.alt_normalisation]
        ]
        aggs = [Aggregation(method=m, p=args.p) for m in [args.aggregation, *args.alt_aggregation]]
        if args.robustness is not None:
            return _robustness(args, tree, units, x, norms, aggs, out)
        result = compute(
            tree,
            units,
            x,
            normalisation=norms[0],
            aggregation=aggs[0],
            threshold=args.threshold,
            bands=args.bands,
        )
    except CompositeError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        for loc, msg in exc.errors:
            print(f"  {'.'.join(map(str, loc))}: {msg}", file=sys.stderr)
        return 2
    writer = csv.writer(out, lineterminator="\n")
    header = ["uCode", *tree.aggregates]
    if args.ranks:
        header += [f"{c}.rank" for c in tree.aggregates]
    if result.grades is not None:
        header += [f"{c}.grade" for c in tree.aggregates]
    # codes come from the input tables: text a spreadsheet would read as a formula is
    # neutralised ('=…); the numbers are numbers
    writer.writerow(csv_row(header))
    for i, unit in enumerate(result.units):
        row = [csv_cell(unit), *(format_float(v) for v in result.scores[i])]
        if args.ranks:
            row += [_int(v) for v in result.ranks[i]]
        if result.grades is not None:
            row += [csv_cell(g[i]) or "NA" for g in result.grades]
        writer.writerow(row)
    return 0


def _int(v: float) -> str:
    return "NA" if v != v else str(int(v))


def _robustness(
    args: argparse.Namespace,
    tree: Tree,
    units: list[str],
    x: FloatArray,
    norms: list[Normalisation],
    aggs: list[Aggregation],
    out: TextIO,
) -> int:
    unc = Uncertainty(
        weight_noise=args.weight_noise,
        normalisations=tuple(norms),
        aggregations=tuple(aggs),
        exclusion_level=args.exclusion_level,
    )
    r = monte_carlo(
        tree,
        units,
        x,
        uncertainty=unc,
        n=args.robustness,
        seed=args.seed,
        threshold=args.threshold,
        bands=args.bands,
        target=args.target,
    )
    writer = csv.writer(out, lineterminator="\n")
    header = ["uCode", "score", "rank"]
    header += [f"{what}.{q}" for what in ("score", "rank") for q in ("p5", "median", "p95")]
    header += [f"P({g})" for g in r.grade_labels]
    writer.writerow(csv_row(header))
    for i, unit in enumerate(units):
        row = [csv_cell(unit), format_float(r.nominal_score[i]), _int(r.nominal_rank[i])]
        row += [format_float(v) for v in (*r.score_quantiles[i], *r.rank_quantiles[i])]
        if r.grade_probability is not None:
            row += [format_float(v) for v in r.grade_probability[i][: len(r.grade_labels)]]
        writer.writerow(row)
    return 0
