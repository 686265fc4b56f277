"""Standards service: resolution against a catalogue lookup, rows as plain data.

The catalogue answers one narrow question — "the standard row of this type for this indicator,
region and fiscal year" — through a :data:`StandardLookup` callable with the signature of the
scoring service's ``CatalogueLookup.standard(indicator, type_, region, fiscal_year)``. This module
adds the configurable precedence and regional fallback (:mod:`.resolve`) on top, so the scoring
API and ``/v1/standards/resolve`` share one resolver.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.i18n import _, validation_message
from indicator_service.standards.resolve import (
    DEFAULT_PRECEDENCE,
    NATIONAL,
    Order,
    Resolution,
    resolve,
)

StandardLookup = Callable[[str, str, str, int | None], Any | None]
"""``lookup(indicator_code, standard_type, region, fiscal_year) -> row | None``."""

ROW_FIELDS: tuple[str, ...] = (
    "id",
    "namespace",
    "namespace_version",
    "indicator",
    "type",
    "operator",
    "value",
    "min",
    "max",
    "levels",
    "unit",
    "region",
    "fiscal_year",
    "sector",
    "project_type",
    "valid_from",
    "valid_to",
    "derivation",
    "source",
    "illustrative",
)


def row_to_dict(row: Any) -> dict[str, Any]:
    """A standard row (dataclass, pydantic model, ORM object or dict) as the fields we report."""
    if isinstance(row, dict):
        data = dict(row)
    elif dataclasses.is_dataclass(row) and not isinstance(row, type):
        data = dataclasses.asdict(row)
    elif hasattr(row, "model_dump"):
        data = row.model_dump()
    else:
        data = {f: getattr(row, f) for f in (*ROW_FIELDS, "indicator_code") if hasattr(row, f)}
    extra = data.pop("data", None)  # catalogue_standard rows keep the full row in ``data``
    if isinstance(extra, dict):
        data = {**extra, **{k: v for k, v in data.items() if v is not None}}
    if "indicator" not in data and "indicator_code" in data:
        data["indicator"] = data["indicator_code"]
    out = {f: data[f] for f in ROW_FIELDS if f in data}
    for key in ("valid_from", "valid_to"):
        if out.get(key) is not None and not isinstance(out[key], str):
            out[key] = str(out[key])
    return out


def resolve_standard_with_precedence(
    lookup: StandardLookup,
    indicator: str,
    *,
    region: str = NATIONAL,
    fiscal_year: int | None = None,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
    order: Order | str = Order.type_first,
    fallback: bool = True,
) -> Resolution:
    """The standard the scoring should use for ``indicator`` in ``region`` and ``fiscal_year``,
    with every candidate and why it lost (see :func:`.resolve.resolve`)."""
    return resolve(
        lambda type_, reg: lookup(indicator, type_, reg, fiscal_year),
        region=region,
        precedence=precedence,
        order=order,
        fallback=fallback,
        fiscal_year=fiscal_year,
    )


def catalogue_lookup(
    session: Session,
    *,
    sector: str | None = None,
    project_type: str | None = None,
    include_illustrative: bool = False,
) -> StandardLookup:
    """The database catalogue's lookup (``catalogue.service.resolve_standard``, published
    versions), with the sector and project-type context the scoring lookup does not carry.
    Illustrative rows (values no public document gives) are candidates only on request."""
    from indicator_service.catalogue import service as catalogue

    def lookup(indicator: str, type_: str, region: str, fiscal_year: int | None) -> Any | None:
        try:
            return catalogue.resolve_standard(
                session,
                indicator,
                type=type_,
                region=region,
                fiscal_year=fiscal_year,
                sector=sector,
                project_type=project_type,
                include_illustrative=include_illustrative,
            ).row
        except NotFound:
            return None

    return lookup


def resolution_to_dict(res: Resolution, indicator: str, fiscal_year: int | None) -> dict[str, Any]:
    return {
        "indicator": indicator,
        "fiscal_year": fiscal_year,
        "standard": None if res.winner is None else row_to_dict(res.winner),
        "winner_type": res.winner_type,
        "winner_region": res.winner_region,
        "precedence": list(res.precedence),
        "order": res.order.value,
        "regions": list(res.regions),
        "explanation": res.explanation,
        "candidates": [
            {
                "rank": c.rank,
                "type": c.type,
                "region": c.region,
                "region_level": c.region_level,
                "outcome": c.outcome,
                "reason": c.reason,
                "standard": None if c.row is None else row_to_dict(c.row),
            }
            for c in res.candidates
        ],
    }


# --- saving a derived standard into a draft ----------------------------------------------------

DERIVATION_MAX = 2000  # the catalogue's Text limit


def inputs_hash(request: Mapping[str, Any]) -> str:
    """SHA-256 of the derivation request (canonical JSON): the same data gives the same hash."""
    raw = json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def derivation_text(kind: str, request: Mapping[str, Any], arithmetic: str) -> str:
    """The derivation stored on the row: method, parameters, input hash, then the arithmetic
    (shortened when the whole would exceed the catalogue's limit)."""
    params = {k: v for k, v in request.items() if k not in ("series", "values")}
    data = request.get("series", request.get("values", []))
    head = (
        f"derived {kind} standard (POST /v1/standards/{kind}); parameters "
        + json.dumps(params, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        + f"; {len(data)} input values, sha256 {inputs_hash(request)}; "
    )
    room = DERIVATION_MAX - len(head)
    body = arithmetic if len(arithmetic) <= room else arithmetic[: max(0, room - 1)] + "…"
    return head + body


def save_standard_row(
    session: Session,
    namespace: str,
    version: str,
    row: dict[str, Any],
    if_match: str | None,
) -> tuple[Any, dict[str, Any], bool]:
    """Add ``row`` to a draft namespace version (replacing a row with the same identity:
    indicator, type, region, fiscal year, sector, project type, valid_from) through the
    catalogue's draft update (If-Match, validation, immutability of published versions).

    Returns (the catalogue's NamespaceRelease, the stored row, whether a row was replaced)."""
    from indicator_service.catalogue import artefacts
    from indicator_service.catalogue import service as catalogue
    from indicator_service.catalogue.namespaces import NAMESPACE
    from indicator_service.catalogue.source import StandardDef

    try:
        new = StandardDef.model_validate(row)
    except ValidationError as exc:
        raise Unprocessable(
            _("the derived standard is not a valid standard row"),
            errors=[
                ErrorItem(
                    loc=["body", "standard", *e["loc"]], msg=validation_message(e), type=e["type"]
                )
                for e in exc.errors(include_url=False)
            ],
        ) from None
    current = catalogue.get_namespace_version(session, namespace, version)
    document = dict(current.document)
    standards = list(document.get("standards") or [])
    stored = new.model_dump(mode="json", exclude_none=True)
    replaced = False
    for i, existing in enumerate(standards):
        try:
            same = StandardDef.model_validate(existing).key() == new.key()
        except ValidationError:
            same = False
        if same:
            standards[i] = stored
            replaced = True
            break
    else:
        standards.append(stored)
    document["standards"] = standards
    release = artefacts.update_draft(session, NAMESPACE, namespace, version, document, if_match)
    return release, stored, replaced
