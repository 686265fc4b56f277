"""Who may read a stored evaluation, as SQL conditions on ``scoring_evaluation``.

The rule is :meth:`indicator_service.auth.principal.Principal.may_read_evaluation`: admins read
every evaluation; other keys read those they stored and, with a region scope, those of other
keys in the regions their scope covers (the scope itself or a narrower region: a key scoped to
330000 covers 330100 and 330102). Evaluations stored before ownership was recorded (no owner)
are for admins only. Every query of stored evaluations made for a caller (by id, lists, filters,
re-scores, composites, derived standards) adds :func:`readable_by`; anything else is a 404 or
absent, never a 403, so that ids of other callers' evaluations reveal nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true
from sqlmodel import col

from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.scoring.models import Evaluation


def region_prefix(scope: str) -> str:
    """The prefix of the region codes a (validated) region scope covers: ``""`` for national
    000000, ``PP`` for a province PP0000, ``PPCC`` for a city PPCC00, the code for a county.
    For 6-digit regions, ``region.startswith(region_prefix(scope))`` is exactly
    ``scope in catalogue.matching.region_chain(region)``."""
    if scope == "000000":
        return ""
    if scope.endswith("0000"):
        return scope[:2]
    if scope.endswith("00"):
        return scope[:4]
    return scope


def covered(scope: str, region: Any) -> ColumnElement[bool]:
    """SQL: the ``region`` column is in the region scope ``scope`` (itself or under it)."""
    prefix = region_prefix(scope)
    if not prefix:
        return true()
    if len(prefix) == len(scope):
        return region == scope
    return region.like(f"{prefix}%")


def readable_by(principal: Principal) -> list[ColumnElement[bool]]:
    """The conditions (to ``where(*…)``) that keep the evaluations ``principal`` may read."""
    return owned_or_in_scope(principal, col(Evaluation.owner_key_id), col(Evaluation.region))


def owned_or_in_scope(
    principal: Principal, owner: Any, region: Any, *also: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    """The rule above for any table with an owner key and a region column (``also``: further
    conditions that grant reading, e.g. being the evaluated party of a rectification)."""
    if principal.role is Role.admin:
        return []
    own = owner == principal.owner_id
    if not principal.regions:
        return [or_(own, *also)] if also else [own]
    in_scope = and_(owner.is_not(None), or_(*(covered(s, region) for s in principal.regions)))
    return [or_(own, in_scope, *also)]


def owned_readable_by(principal: Principal, owner_column: Any, region_column: Any) -> list[Any]:
    """The same rule for any stored record with an owner key and a region column (stored
    target reviews and monitoring records use it)."""
    return owned_or_in_scope(principal, col(owner_column), col(region_column))
