"""From API requests to the numeric core and back (no database: the table is uploaded)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from indicator_service.composite import engine, robustness
from indicator_service.composite.schemas import (
    AggregationIn,
    CompositeOptions,
    CompositeOut,
    CompositeRequest,
    CompositeSpread,
    CompositeUnitResult,
    NormalisationIn,
    RobustnessOut,
    RobustnessRequest,
    SensitivityOut,
    UnitRobustness,
)
from indicator_service.composite.tables import (
    check_indicator_columns,
    read_data_csv,
    read_meta_csv,
)
from indicator_service.composite.tree import AGGREGATE, INDICATOR, CompositeError, MetaRow, Tree
from indicator_service.core.errors import ErrorItem, Unprocessable
from indicator_service.core.i18n import _

# Work bound of one request: runs × units × indicators (≈ 4 s CPU per 2e9 on one core).
MAX_WORK = 2_000_000_000

_T = TypeVar("_T")


def refusal(exc: CompositeError, req: CompositeOptions) -> Unprocessable:
    """A core refusal as a 422 problem; locations point into the request body."""
    items = []
    for loc, msg in exc.errors:
        where = list(loc)
        if where and where[0] == "data" and getattr(req, "data_csv", None) is not None:
            where[0] = "data_csv"
        if where and where[0] == "meta" and getattr(req, "meta_csv", None) is not None:
            where[0] = "meta_csv"
        items.append(ErrorItem(loc=["body", *where], msg=msg, type="composite_refused"))
    return Unprocessable(exc.detail, errors=items, slug="composite-refused")


def guarded(req: CompositeOptions, fn: Callable[[], _T]) -> _T:
    try:
        return fn()
    except CompositeError as exc:
        raise refusal(exc, req) from None


def normalisation(n: NormalisationIn) -> engine.Normalisation:
    return engine.Normalisation(
        method=n.method,
        low=n.low,
        high=n.high,
        mean=n.mean,
        sd=n.sd,
        cap=n.cap,
        targets=n.targets,
        goalposts=n.goalposts,
    )


def aggregation(a: AggregationIn) -> engine.Aggregation:
    return engine.Aggregation(method=a.method, p=a.p)


def _inputs(req: CompositeRequest) -> tuple[Tree, list[str], np.ndarray]:
    from indicator_service.composite.tree import build_tree

    if req.meta is not None:
        rows = [
            MetaRow(
                level=m.level,
                code=m.code,
                direction=float(m.direction),
                weight=m.weight,
                parent=m.parent,
                type=INDICATOR if m.level == 1 else AGGREGATE,
                target=m.target,
                name=m.name,
            )
            for m in req.meta
        ]
    else:
        assert req.meta_csv is not None
        rows = read_meta_csv(req.meta_csv)
    tree = build_tree(rows)
    if req.data is not None:
        units = list(req.data.units)
        columns = {
            code: np.array([math.nan if v is None else v for v in values], dtype=np.float64)
            for code, values in req.data.columns.items()
        }
    else:
        assert req.data_csv is not None
        units, columns, text_columns = read_data_csv(req.data_csv)
        check_indicator_columns(tree.indicators, columns, text_columns)
    return tree, units, engine.data_matrix(tree, units, columns)


def _aggregations(req: CompositeOptions) -> engine.Aggregation | list[engine.Aggregation]:
    if isinstance(req.aggregation, list):
        return [aggregation(a) for a in req.aggregation]
    return aggregation(req.aggregation)


def _bands(req: CompositeOptions) -> engine.Bands | None:
    if req.bands is None:
        return None
    return engine.Bands.from_ranges([(b.grade, b.min, b.max) for b in req.bands])


def _num(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


def _rank(v: float) -> int | None:
    return None if math.isnan(v) else int(v)


def composite(req: CompositeRequest) -> CompositeOut:
    return guarded(req, lambda: _composite(req))


def _composite(req: CompositeRequest) -> CompositeOut:
    tree, units, x = _inputs(req)
    return _scores(req, tree, units, x)


def _scores(req: CompositeOptions, tree: Tree, units: list[str], x: np.ndarray) -> CompositeOut:
    result = engine.compute(
        tree,
        units,
        x,
        normalisation=normalisation(req.normalisation),
        aggregation=_aggregations(req),
        threshold=req.threshold,
        bands=_bands(req),
    )
    aggs = list(tree.aggregates)
    out_units = []
    for i, unit in enumerate(units):
        out_units.append(
            CompositeUnitResult(
                unit=unit,
                scores={c: _num(v) for c, v in zip(aggs, result.scores[i], strict=True)},
                ranks={c: _rank(v) for c, v in zip(aggs, result.ranks[i], strict=True)},
                grades=(
                    {c: result.grades[j][i] for j, c in enumerate(aggs)}
                    if result.grades is not None
                    else None
                ),
            )
        )
    ew = result.effective_weights
    return CompositeOut(
        aggregates=aggs,
        indicators=list(tree.indicators),
        units=out_units,
        effective_weights={
            c: {ind: float(ew[k, j]) for k, ind in enumerate(tree.indicators) if ew[k, j] > 0}
            for j, c in enumerate(aggs)
        },
        normalisation=req.normalisation,
        aggregation=[
            AggregationIn(method=a.method, p=a.p)
            for a in engine.per_level(tree, _aggregations(req))
        ],
    )


def robust(req: RobustnessRequest) -> RobustnessOut:
    return guarded(req, lambda: _robust(req))


def _robust(req: RobustnessRequest) -> RobustnessOut:
    tree, units, x = _inputs(req)
    u = req.uncertainty
    unc = robustness.Uncertainty(
        weight_noise=u.weight_noise,
        normalisations=tuple(normalisation(n) for n in (u.normalisations or [req.normalisation])),
        aggregations=(
            tuple(aggregation(a) for a in u.aggregations)
            if u.aggregations
            else (
                (tuple(aggregation(a) for a in req.aggregation),)
                if isinstance(req.aggregation, list)
                else (aggregation(req.aggregation),)
            )
        ),
        exclusion_level=u.exclusion_level,
    )
    runs = req.replications + (
        req.sensitivity_samples * (len(unc.factors()) + 2) if req.sensitivity_samples else 0
    )
    work = runs * len(units) * len(tree.indicators)
    if work > MAX_WORK:
        raise CompositeError(
            _(
                "too much work for one request: runs × units × "
                "indicators = {work:,} > {max_work:,}",
                work=work,
                max_work=MAX_WORK,
            ),
            [(["replications"], "lower replications or sensitivity_samples")],
        )
    bands = _bands(req)
    mc = robustness.monte_carlo(
        tree,
        units,
        x,
        uncertainty=unc,
        n=req.replications,
        seed=req.seed,
        threshold=req.threshold,
        bands=bands,
        target=req.target,
    )
    sens = None
    if req.sensitivity_samples is not None:
        sens = robustness.sensitivity(
            tree,
            units,
            x,
            uncertainty=unc,
            n=req.sensitivity_samples,
            seed=req.seed,
            threshold=req.threshold,
            target=req.target,
        )
    labels = [*mc.grade_labels, ""]
    out_units = []
    for i, unit in enumerate(units):
        sq, rq = mc.score_quantiles[i], mc.rank_quantiles[i]
        out_units.append(
            UnitRobustness(
                unit=unit,
                nominal_score=_num(mc.nominal_score[i]),
                nominal_rank=_rank(mc.nominal_rank[i]),
                score=CompositeSpread(p5=_num(sq[0]), median=_num(sq[1]), p95=_num(sq[2])),
                rank=CompositeSpread(p5=_num(rq[0]), median=_num(rq[1]), p95=_num(rq[2])),
                grade_probability=(
                    {g: float(p) for g, p in zip(labels, mc.grade_probability[i], strict=True)}
                    if mc.grade_probability is not None
                    else None
                ),
                first_order=(
                    {f: _num(v) for f, v in zip(sens.factors, sens.first_order[i], strict=True)}
                    if sens
                    else None
                ),
                total_effect=(
                    {f: _num(v) for f, v in zip(sens.factors, sens.total[i], strict=True)}
                    if sens
                    else None
                ),
            )
        )
    return RobustnessOut(
        target=mc.target,
        seed=req.seed,
        replications=req.replications,
        factors=list(unc.factors()),
        mean_abs_rank_shift=_num(mc.mean_abs_rank_shift),
        units=out_units,
        sensitivity=(
            SensitivityOut(
                samples=sens.n,
                factors=list(sens.factors),
                rank_shift_first_order={
                    f: _num(v)
                    for f, v in zip(sens.factors, sens.rank_shift_first_order, strict=True)
                },
                rank_shift_total_effect={
                    f: _num(v) for f, v in zip(sens.factors, sens.rank_shift_total, strict=True)
                },
            )
            if sens
            else None
        ),
    )
