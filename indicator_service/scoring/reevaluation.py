"""Self-evaluation against re-evaluation (自评与再评价对比): per-leaf and total differences of
two stored evaluations, and 自评失真 (a distorted self-evaluation) flagged by the distortion
rule of the self-evaluation's framework version (``FrameworkDoc.reevaluation``, default
``DEFAULT_REEVALUATION``). Nothing is stored. See docs/reevaluation.md."""

from __future__ import annotations

from sqlmodel import Session, col, select

from indicator_service import rules
from indicator_service.auth.principal import Principal
from indicator_service.catalogue.source import DEFAULT_REEVALUATION
from indicator_service.core.errors import ErrorItem, NotFound
from indicator_service.core.i18n import _
from indicator_service.scoring.evaluations import evaluation_summary, get_evaluation
from indicator_service.scoring.lookup import CatalogueLookup
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.owned import find_owned
from indicator_service.scoring.ownership import readable_by
from indicator_service.scoring.schemas import (
    EVALUATION_KINDS,
    DistortionRule,
    EvaluationComparison,
    LeafComparison,
    NodeComparison,
    Receipt,
)
from indicator_service.scoring.whatif import _diff, compare


def _pair(session: Session, evaluation_id: int, reader: Principal) -> tuple[Evaluation, Evaluation]:
    """(the evaluation re-evaluated, its re-evaluation) for ``evaluation_id``, which is either:
    a re-evaluation (compared with the evaluation it re-evaluates) or an evaluation that was
    re-evaluated (compared with its latest re-evaluation the reader may read)."""
    ev = get_evaluation(session, evaluation_id, reader)
    if ev.reevaluates_id is not None:
        base = find_owned(session, Evaluation, ev.reevaluates_id, readable_by(reader))
        if base is None:
            raise NotFound(
                _(
                    "evaluation {evaluation_id} re-evaluates {reevaluates}, which this key may "
                    "not read",
                    evaluation_id=evaluation_id,
                    reevaluates=ev.reevaluates_id,
                ),
                errors=[
                    ErrorItem(
                        loc=["path", "evaluation_id"],
                        msg=_("the evaluation it re-evaluates is not readable"),
                        type="not_found",
                    )
                ],
            )
        return base, ev
    latest = session.exec(
        select(Evaluation)
        .where(col(Evaluation.reevaluates_id) == ev.id, *readable_by(reader))
        .order_by(col(Evaluation.id).desc())
    ).first()
    if latest is None:
        raise NotFound(
            _(
                "evaluation {evaluation_id} has no re-evaluation that this key may read",
                evaluation_id=evaluation_id,
            ),
            errors=[
                ErrorItem(
                    loc=["path", "evaluation_id"],
                    msg=_(
                        "evaluation {evaluation_id} has not been re-evaluated",
                        evaluation_id=evaluation_id,
                    ),
                    type="no_reevaluation",
                )
            ],
        )
    return ev, latest


def distortion_rule(ev: Evaluation, catalogue: CatalogueLookup) -> DistortionRule:
    """The distortion rule of the framework version ``ev`` was scored under (the default when
    the version states none, or is no longer in the catalogue)."""
    try:
        stated = catalogue.framework(ev.framework_code, ev.framework_version).doc.reevaluation
    except NotFound:
        stated = None
    chosen = stated or DEFAULT_REEVALUATION
    return DistortionRule(
        total_points=chosen.distortion_points,
        leaf_share=chosen.leaf_distortion_share,
        source="framework" if stated is not None else "default",
    )


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def comparison(
    session: Session, evaluation_id: int, catalogue: CatalogueLookup, reader: Principal
) -> EvaluationComparison:
    base, other = _pair(session, evaluation_id, reader)
    rule = distortion_rule(base, catalogue)
    before = Receipt.model_validate(base.result)
    after = Receipt.model_validate(other.result)
    cmp = compare(before, after)

    nodes = [
        NodeComparison(
            code=n.code,
            path=n.path,
            self_score=n.official,
            reevaluation_score=n.what_if,
            difference=n.difference,
        )
        for n in cmp.nodes
    ]
    seen_nodes = {tuple(n.path) for n in nodes}
    nodes += [
        NodeComparison(
            code=n.code,
            path=n.path,
            self_score=n.subtotal,
            reevaluation_score=None,
            difference=None,
        )
        for n in before.nodes
        if tuple(n.path) not in seen_nodes
    ]

    base_leaves = {lf.id: lf for lf in before.leaves}
    after_leaves = {lf.id: lf for lf in after.leaves}
    leaves: list[LeafComparison] = []
    for leaf_id in [*base_leaves, *(k for k in after_leaves if k not in base_leaves)]:
        b, a = base_leaves.get(leaf_id), after_leaves.get(leaf_id)
        points = b.points if b is not None else None
        diff = _diff(a.score if a else None, b.score if b else None)
        limit = None if points is None else float(rules.round_half_up(rule.leaf_share * points))
        shown = b if b is not None else a
        assert shown is not None
        leaves.append(
            LeafComparison(
                code=leaf_id,
                path=shown.path,
                name=shown.name,
                points=points,
                self_score=b.score if b else None,
                reevaluation_score=a.score if a else None,
                difference=diff,
                distorted=diff is not None and limit is not None and abs(diff) > limit,
            )
        )

    diff_total = cmp.total_difference
    distorted = diff_total is not None and abs(diff_total) > rule.total_points
    direction = "none" if not diff_total else "overstated" if diff_total < 0 else "understated"
    kind_zh, kind_en = EVALUATION_KINDS.get(other.kind, (other.kind, other.kind))
    flagged = [lf for lf in leaves if lf.distorted]
    grade_b, grade_a = base.grade or "—", other.grade or "—"
    zh = (
        f"单位自评总分 {_fmt(base.total)}（{grade_b}），{kind_zh} {_fmt(other.total)}"
        f"（{grade_a}），相差 {_fmt(diff_total)} 分；"
    )
    en = (
        f"The self-evaluation scored {_fmt(base.total)} ({grade_b}), the {kind_en} "
        f"{_fmt(other.total)} ({grade_a}): a difference of {_fmt(diff_total)} points; "
    )
    if distorted:
        zh += (
            f"超过 {rule.total_points:g} 分，自评失真（自评"
            f"{'偏高' if direction == 'overstated' else '偏低'}）。"
        )
        en += f"more than {rule.total_points:g}: the self-evaluation is distorted ({direction})."
    else:
        zh += f"未超过 {rule.total_points:g} 分，未认定自评失真。"
        en += f"not more than {rule.total_points:g}: the self-evaluation is not found distorted."
    if flagged:
        share = f"{rule.leaf_share * 100:g}%"
        zh += f"差异超过分值 {share} 的指标：" + "、".join(
            f"{lf.name or lf.code}（{_fmt(lf.difference)}）" for lf in flagged
        )
        en += f" Leaves differing by more than {share} of their points: " + ", ".join(
            f"{lf.name or lf.code} ({_fmt(lf.difference)})" for lf in flagged
        )
        zh += "。"
        en += "."
    return EvaluationComparison(
        self_evaluation=evaluation_summary(base),
        reevaluation=evaluation_summary(other),
        kind_zh=kind_zh,
        kind_en=kind_en,
        total_difference=diff_total,
        grade_changed=cmp.grade_changed,
        rule=rule,
        distorted=distorted,
        direction=direction,
        nodes=nodes,
        leaves=leaves,
        explanation_zh=zh,
        explanation_en=en,
    )
