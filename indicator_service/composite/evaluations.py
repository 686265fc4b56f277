"""Composite input from stored evaluations: one framework (version), region and fiscal year.

Only the evaluations the caller may read count (``scoring.ownership``). Each unit's latest
evaluation (``unit``, else ``project``) gives one row; each leaf of the
framework one column, valued by the leaf's achievement fraction (score ÷ points, 0–1, higher is
better; null when missing or not applicable). The tree is the framework's, weights its points;
leaves above the deepest level are padded with single-child pass-through nodes (a one-child
mean is the child), and a root ``TOTAL`` joins the top-level nodes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from indicator_service.auth.principal import Principal
from indicator_service.composite.schemas import CompositeOut, EvaluationsCompositeRequest
from indicator_service.composite.tree import AGGREGATE, INDICATOR, CompositeError, MetaRow, Tree
from indicator_service.core.errors import NotFound
from indicator_service.core.i18n import _
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.ownership import readable_by

ROOT = "TOTAL"
SEP = "/"


def load(session: Session, req: EvaluationsCompositeRequest, reader: Principal) -> list[Evaluation]:
    conditions = [col(Evaluation.framework_code) == req.framework, *readable_by(reader)]
    if req.version is not None:
        conditions.append(col(Evaluation.framework_version) == req.version)
    if req.region is not None:
        conditions.append(col(Evaluation.region) == req.region)
    if req.fiscal_year is not None:
        conditions.append(col(Evaluation.fiscal_year) == req.fiscal_year)
    rows = session.exec(select(Evaluation).where(*conditions).order_by(col(Evaluation.id))).all()
    if not rows:
        raise NotFound(
            _("no stored evaluations match"),
            errors=[],
        )
    versions = sorted({r.framework_version for r in rows})
    if len(versions) > 1:
        raise CompositeError(
            _(
                "the evaluations use several framework versions ({versions})",
                versions=", ".join(versions),
            ),
            [(["version"], "give the version to compare")],
        )
    latest: dict[str, Evaluation] = {}
    for r in rows:  # ordered by id: the latest evaluation of a unit wins
        key = r.unit or r.project
        if key is None:
            continue
        latest[key] = r
    if not latest:
        raise CompositeError(
            _("the matching evaluations name no unit or project"), [(["framework"], "no units")]
        )
    return list(latest.values())


def leaf_fraction(leaf: dict[str, Any]) -> float:
    """A stored leaf's achievement: its final score ÷ its points (after over-achievement
    penalties and manual deductions, which the receipt's ``fraction`` is taken before); NaN when
    the value was missing (even where the missing policy scored it zero) or not applicable, so
    that it drops out of the composite and its group's weights are rescaled."""
    score, points = leaf.get("score"), float(leaf.get("points") or 0.0)
    if leaf.get("status") != "value" or score is None or not points > 0:
        return math.nan
    return float(score) / points


def table(evaluations: list[Evaluation]) -> tuple[Tree, list[str], np.ndarray, dict[str, int]]:
    """The tree, the units, the units × leaves matrix of fractions, and the ids used."""
    from indicator_service.composite.tree import build_tree

    leaf_paths: dict[str, tuple[str, ...]] = {}
    leaf_points: dict[str, float] = {}
    node_points: dict[tuple[str, ...], float] = {}
    node_names: dict[tuple[str, ...], str] = {}
    values: dict[tuple[str, str], float] = {}
    units: list[str] = []
    ids: dict[str, int] = {}
    for ev in evaluations:
        unit = str(ev.unit or ev.project)
        units.append(unit)
        ids[unit] = int(ev.id or 0)
        result: dict[str, Any] = ev.result
        for n in result.get("nodes", []):
            path = tuple(n["path"])
            node_points.setdefault(path, float(n["points"]))
            node_names.setdefault(path, str(n.get("name") or path[-1]))
        for leaf in result.get("leaves", []):
            lid, path = str(leaf["id"]), tuple(leaf["path"])
            if leaf_paths.setdefault(lid, path) != path:
                raise CompositeError(
                    _("leaf {lid!r} sits under different nodes in different evaluations", lid=lid),
                    [(["evaluations", ids[unit], lid], f"{list(path)} vs {list(leaf_paths[lid])}")],
                )
            leaf_points.setdefault(lid, float(leaf["points"]))
            values[(unit, lid)] = leaf_fraction(leaf)
    if not leaf_paths:
        raise CompositeError(
            _("the evaluations have no indicators"), [(["framework"], "no leaves")]
        )
    depth = max(len(p) for p in leaf_paths.values())
    top = depth + 2  # level of the root

    def key(path: tuple[str, ...]) -> str:
        return SEP.join(path) if path else ROOT

    rows: list[MetaRow] = [MetaRow(top, ROOT, 1, 1, None, AGGREGATE, name="总分 total")]
    for path, points in node_points.items():
        if not points > 0:
            continue
        rows.append(
            MetaRow(
                depth - len(path) + 2,
                key(path),
                1,
                points,
                key(path[:-1]),
                AGGREGATE,
                name=node_names[path],
            )
        )
    leaves = sorted(leaf_paths, key=lambda lid: (leaf_paths[lid], lid))
    for lid in leaves:
        path, points = leaf_paths[lid], leaf_points[lid]
        parent_level = depth - len(path) + 2
        parent = key(path)
        # pass-through chain from just below the real parent down to level 2
        for lvl in range(parent_level - 1, 1, -1):
            code = f"{lid}@{lvl}"
            rows.append(MetaRow(lvl, code, 1, points, parent, AGGREGATE, name=lid))
            parent = code
        rows.append(MetaRow(1, lid, 1, points, parent, INDICATOR, name=lid))
    tree = build_tree(rows)
    x = np.array(
        [[values.get((u, lid), math.nan) for lid in tree.indicators] for u in units],
        dtype=np.float64,
    )
    empty = [lid for j, lid in enumerate(tree.indicators) if np.isnan(x[:, j]).all()]
    if empty:
        # an indicator nobody could be scored on carries no comparison: leave it out
        keep = [j for j, lid in enumerate(tree.indicators) if lid not in empty]
        rows = [r for r in rows if r.code not in empty]
        rows = _prune(rows)
        tree = build_tree(rows)
        x = x[:, keep]
    return tree, units, x, ids


def _prune(rows: list[MetaRow]) -> list[MetaRow]:
    """Drop aggregates left without children (after removing leaves), repeatedly."""
    while True:
        parents = {r.parent for r in rows}
        kept = [r for r in rows if r.level == 1 or r.code in parents]
        if len(kept) == len(rows):
            return kept
        rows = kept


def compare(session: Session, req: EvaluationsCompositeRequest, reader: Principal) -> CompositeOut:
    from indicator_service.composite import service

    def run() -> CompositeOut:
        tree, units, x, ids = table(load(session, req, reader))
        out = service._scores(req, tree, units, x)
        out.evaluations = ids
        return out

    return service.guarded(req, run)
