"""What-if scoring: a submission re-scored with overridden weights, targets or bands, and
the comparison of two receipts (nothing is stored)."""

from __future__ import annotations

from indicator_service import rules
from indicator_service.core.errors import Unprocessable
from indicator_service.core.i18n import _
from indicator_service.scoring.labels import labelled
from indicator_service.scoring.lookup import (
    CatalogueLookup,
)
from indicator_service.scoring.prepare import (
    error_item,
    prepare,
)
from indicator_service.scoring.receipts import (
    receipt,
    score,
)
from indicator_service.scoring.schemas import (
    Comparison,
    NodeDiff,
    Overrides,
    Receipt,
    ScoreRequest,
    WhatIfResponse,
)


def what_if(req: ScoreRequest, overrides: Overrides, catalogue: CatalogueLookup) -> WhatIfResponse:
    """Re-score with overridden points, targets or bands; compare with the official result."""
    official = score(req, catalogue)
    p = prepare(req, catalogue)
    assert p.tree is not None
    ids = {lf.code for lf in p.tree.leaves}
    errors = [
        error_item(("body", "overrides", part, k), _("no leaf with this id"), "unknown_code")
        for part, mapping in (("points", overrides.points), ("targets", overrides.targets))
        for k in mapping
        if k not in ids
    ]
    if errors:
        raise Unprocessable(_("unknown leaves in the overrides"), errors=errors)
    leaves = tuple(
        rules.Leaf(
            lf.code,
            overrides.points.get(lf.code, lf.points),
            lf.rule,
            overrides.targets.get(lf.code, lf.target),
            lf.path,
            lf.operator,
            lf.name,
        )
        for lf in p.tree.leaves
    )
    bands = p.tree.bands
    if overrides.bands is not None:
        bands = tuple(rules.Band(**b.model_dump()) for b in overrides.bands)
    p.tree = rules.Tree(leaves, bands, p.tree.missing_policy, p.tree.rule_variants)
    try:
        compiled = rules.compile_tree(p.tree)
    except rules.RuleError as exc:
        raise Unprocessable(
            str(exc),
            errors=[error_item(("body", "overrides", *exc.loc), exc.msg, "invalid_override")],
        ) from exc
    cols, _errors = rules.observations_to_columns(compiled, [p.observations])
    alt = receipt(p, compiled, rules.evaluate(compiled, cols))
    if overrides.bands is not None and alt.grade is not None:
        alt.grade.consequences_source = None  # the caller's bands, not the framework's
    cmp = compare(official, alt)
    return WhatIfResponse(official=labelled(official), what_if=labelled(alt), **cmp.model_dump())


def compare(official: Receipt, other: Receipt) -> Comparison:
    """Per-node and per-leaf differences ``other − official`` (matched by path and id)."""
    off_nodes = {tuple(n.path): n.subtotal for n in official.nodes}
    nodes = [
        NodeDiff(
            code=n.code,
            path=n.path,
            official=off_nodes.get(tuple(n.path)),
            what_if=n.subtotal,
            difference=_diff(n.subtotal, off_nodes.get(tuple(n.path))),
        )
        for n in other.nodes
    ]
    off_leaves = {lf.id: lf.score for lf in official.leaves}
    leaves = [
        NodeDiff(
            code=lf.id,
            path=lf.path,
            official=off_leaves.get(lf.id),
            what_if=lf.score,
            difference=_diff(lf.score, off_leaves.get(lf.id)),
        )
        for lf in other.leaves
    ]
    return Comparison(
        total_difference=_diff(other.total, official.total),
        grade_changed=(other.grade.grade if other.grade else None)
        != (official.grade.grade if official.grade else None),
        nodes=nodes,
        leaves=leaves,
    )


def _diff(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a - b, 2)
