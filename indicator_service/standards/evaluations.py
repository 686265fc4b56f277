"""Stored evaluations as the data source of derived standards.

An evaluation (``scoring_evaluation``) keeps its full receipt; each receipt leaf names its
``indicator``, ``unit`` and submitted ``raw_value``. From them:

* :func:`series_from_evaluations` — one indicator's past actual values for one evaluated unit /
  project in a region, one value per fiscal year (the latest evaluation of that year wins);
* :func:`peers_from_evaluations` — one indicator's values across all evaluated units of a region
  (optionally a sector's framework) in one fiscal year, one value per unit (latest wins).

Only the evaluations the caller may read count (``scoring.ownership``). Only leaves with a value
count (not applicable or missing leaves are skipped). The evaluation ids
used are returned with the values so the derivation can be traced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from indicator_service.auth.principal import Principal
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.ownership import readable_by
from indicator_service.standards.derive import Point


@dataclass(frozen=True, slots=True)
class Observed:
    evaluation_id: int
    fiscal_year: int | None
    unit_key: str  # the evaluated unit (or project) the value belongs to
    value: float
    unit: str | None


def _leaf_value(result: Any, indicator: str) -> tuple[float, str | None] | None:
    if not isinstance(result, dict):
        return None
    for leaf in result.get("leaves") or []:
        if (
            isinstance(leaf, dict)
            and leaf.get("indicator") == indicator
            and leaf.get("status") == "value"
            and isinstance(leaf.get("raw_value"), int | float)
            and not isinstance(leaf.get("raw_value"), bool)
        ):
            return float(leaf["raw_value"]), leaf.get("unit")
    return None


def _observed(rows: Iterable[Evaluation], indicator: str) -> list[Observed]:
    out: list[Observed] = []
    for ev in rows:
        hit = _leaf_value(ev.result, indicator)
        if hit is None or ev.id is None:
            continue
        key = ev.unit or ev.project or f"evaluation {ev.id}"
        out.append(Observed(ev.id, ev.fiscal_year, key, hit[0], hit[1]))
    return out


def series_from_evaluations(
    session: Session,
    indicator: str,
    *,
    reader: Principal,
    unit: str | None = None,
    project: str | None = None,
    region: str | None = None,
    framework: str | None = None,
) -> tuple[list[Point], list[int]]:
    """(points by fiscal year, evaluation ids used); the latest evaluation of a year wins."""
    stmt = select(Evaluation).where(col(Evaluation.fiscal_year).is_not(None), *readable_by(reader))
    if unit is not None:
        stmt = stmt.where(Evaluation.unit == unit)
    if project is not None:
        stmt = stmt.where(Evaluation.project == project)
    if region is not None:
        stmt = stmt.where(Evaluation.region == region)
    if framework is not None:
        stmt = stmt.where(Evaluation.framework_code == framework)
    stmt = stmt.order_by(col(Evaluation.created_at), col(Evaluation.id))
    by_year: dict[int, Observed] = {}
    for obs in _observed(session.exec(stmt), indicator):
        assert obs.fiscal_year is not None
        by_year[obs.fiscal_year] = obs  # later rows replace earlier ones
    years = sorted(by_year)
    return (
        [Point(y, by_year[y].value, by_year[y].unit) for y in years],
        [by_year[y].evaluation_id for y in years],
    )


def peers_from_evaluations(
    session: Session,
    indicator: str,
    *,
    reader: Principal,
    fiscal_year: int,
    region: str | None = None,
    framework: str | None = None,
) -> list[Observed]:
    """One value per evaluated unit (latest evaluation wins) for ``indicator`` in a year."""
    stmt = select(Evaluation).where(Evaluation.fiscal_year == fiscal_year, *readable_by(reader))
    if region is not None:
        stmt = stmt.where(Evaluation.region == region)
    if framework is not None:
        stmt = stmt.where(Evaluation.framework_code == framework)
    stmt = stmt.order_by(col(Evaluation.created_at), col(Evaluation.id))
    by_unit: dict[str, Observed] = {}
    for obs in _observed(session.exec(stmt), indicator):
        by_unit[obs.unit_key] = obs
    return [by_unit[k] for k in sorted(by_unit)]
