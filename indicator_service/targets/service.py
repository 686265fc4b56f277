"""Target review service: a target table linked to the library and its standards, reviewed by
the pure core (:mod:`.review`) under the framework's rules, stored with its inputs and owner.

Services never commit (the request's session does). Bad input is one 422 naming every row and
field, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col

from indicator_service.audit.service import record
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import service as catalogue
from indicator_service.catalogue.indicators import IndicatorFilters, IndicatorRelease, StandardRow
from indicator_service.catalogue.matching import match_standard
from indicator_service.core.errors import ErrorItem, NotFound, Unprocessable
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import Answer, idempotent_create
from indicator_service.forms.cells import (
    CellProblem,
    Quantity,
    in_unit,
    parse_target,
    split_scale,
)
from indicator_service.rules.review import TargetReviewRules, class_key
from indicator_service.scoring.owned import equal_to, get_owned, owned_page
from indicator_service.scoring.ownership import owned_readable_by
from indicator_service.standards.resolve import DEFAULT_PRECEDENCE, ResolutionError
from indicator_service.standards.service import StandardLookup, resolve_standard_with_precedence
from indicator_service.targets import review as core
from indicator_service.targets.models import TargetReview
from indicator_service.targets.schemas import (
    ReviewResult,
    TargetReviewList,
    TargetReviewOut,
    TargetReviewRequest,
    TargetReviewSummary,
)

IDEMPOTENCY_SCOPE = "targets.reviews"
MAX_SUGGESTIONS = 20


@dataclass(frozen=True)
class Linked:
    """A row with its library indicator (or none) and how it was linked."""

    indicator: IndicatorRelease | None
    linked_by: str | None


def _has_published(session: Session, code: str) -> bool:
    """Whether framework ``code`` has a published version (an unknown version of a known
    framework is the version's fault, not the framework's)."""
    try:
        catalogue.get_framework_document(session, code, None)
    except NotFound:
        return False
    return True


def framework_rules(
    session: Session, code: str, version: str | None
) -> tuple[str, str, TargetReviewRules]:
    """The framework's version and its target-review rules; 404 for an unknown framework,
    422 for one that does not review targets."""
    try:
        doc = catalogue.get_framework_document(session, code, version)
    except NotFound as exc:
        field = "version" if version is not None and _has_published(session, code) else "framework"
        raise NotFound(
            exc.detail,
            errors=[ErrorItem(loc=["body", field], msg=exc.detail, type="not_found")],
        ) from exc
    if doc.status in catalogue.UNPUBLISHED:  # a review is stored: published versions only
        catalogue.refuse_draft(doc.code, doc.version)
    raw = doc.document.get("target_review")
    if raw is None:
        msg = _(
            "the framework {code} {version} has no target-review rules (target_review): "
            "use SELF-EVAL or SELF-EVAL-2021",
            code=code,
            version=doc.version,
        )
        raise Unprocessable(
            msg, errors=[ErrorItem(loc=["body", "framework"], msg=msg, type="no_review_rules")]
        )
    return doc.code, doc.version, TargetReviewRules.model_validate(raw)


def _by_name(session: Session, name: str, sector: str | None) -> IndicatorRelease | None:
    found, _total = catalogue.list_indicators(session, IndicatorFilters(q=name), 50, 0)
    exact = [i for i in found if i.name_zh == name]
    if sector is not None:
        exact.sort(key=lambda i: i.sector != sector)  # the sector's own indicator first
    return exact[0] if exact else None


def link_rows(session: Session, req: TargetReviewRequest) -> list[Linked]:
    """Each row's library indicator: by code, else by exact Chinese name, else none. 422
    naming every row and field that cannot be read (unknown code, no class, empty target, a
    library indicator listed twice)."""
    reader = catalogue.IndicatorReader(session)
    errors: list[ErrorItem] = []
    out: list[Linked] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(req.rows):
        loc: list[str | int] = ["body", "rows", i]
        ind: IndicatorRelease | None = None
        by: str | None = None
        if row.indicator is not None:
            try:
                ind, by = reader.get(row.indicator), "code"
            except NotFound:
                errors.append(
                    ErrorItem(
                        loc=[*loc, "indicator"],
                        msg=_("no library indicator {code!r}", code=row.indicator),
                        type="unknown_indicator",
                    )
                )
        else:
            ind = _by_name(session, row.name.strip(), req.sector)
            by = "name" if ind is not None else None
        if ind is not None:
            if ind.code in seen:
                errors.append(
                    ErrorItem(
                        loc=[*loc, "indicator" if row.indicator else "name"],
                        msg=_(
                            "indicator {code} is already row {row}",
                            code=ind.code,
                            row=seen[ind.code] + 1,
                        ),
                        type="duplicate_indicator",
                    )
                )
            seen.setdefault(ind.code, i)
        unknown = row.indicator is not None and ind is None  # reported above
        if row.class_l1 is None and not unknown and (ind is None or not ind.class_l1):
            errors.append(
                ErrorItem(
                    loc=[*loc, "class_l1"],
                    msg=_("a row not linked to the library needs its class_l1 (一级指标)"),
                    type="missing",
                )
            )
        if parse_target(row.target) is None:
            errors.append(
                ErrorItem(
                    loc=[*loc, "target"],
                    msg=_("the target (年度指标值) is empty"),
                    type="missing",
                )
            )
        out.append(Linked(ind, by))
    if errors:
        raise Unprocessable(
            _("{count} problem(s) in the target table", count=len(errors)), errors=errors
        )
    return out


def review_lookup(session: Session, req: TargetReviewRequest) -> StandardLookup:
    """The standards lookup of one review: ``standards.service.catalogue_lookup``'s answer
    (``catalogue.resolve_standard``: the best row of a type for a region, year, sector and
    project type), with each indicator's rows read once for all its types and regions (a review
    resolves up to 16 (type, region) pairs per indicator)."""
    rows: dict[str, list[StandardRow]] = {}

    def lookup(indicator: str, type_: str, region: str, fiscal_year: int | None) -> Any | None:
        found = rows.get(indicator)
        if found is None:
            try:
                found = rows[indicator] = catalogue.standards_for(session, indicator)
            except NotFound:
                found = rows[indicator] = []
        match = match_standard(
            found,
            type=type_,
            region=region,
            fiscal_year=fiscal_year,
            sector=req.sector,
            project_type=req.project_type,
            include_illustrative=req.include_illustrative,
        )
        return None if match is None else match.row

    return lookup


def _standards(
    lookup: StandardLookup,
    code: str,
    types: Sequence[str],
    region: str,
    year: int,
    unit: str,
) -> list[core.Standard]:
    """The standard of each type (its regional fallback: ``standards.resolve``), in ``unit``."""
    out: list[core.Standard] = []
    for t in dict.fromkeys(types):
        res = resolve_standard_with_precedence(
            lookup, code, region=region, fiscal_year=year, precedence=(t,)
        )
        w = res.winner
        if w is None or w.value is None:
            continue
        try:
            value = in_unit(Quantity(float(w.value), w.unit or ""), unit)
        except CellProblem:
            continue  # a standard in another unit is not comparable
        out.append(
            core.Standard(
                type=w.type,
                value=value,
                stored_value=float(w.value),
                unit=w.unit,
                operator=w.operator,
                region=w.region,
                fiscal_year=w.fiscal_year,
                source=w.source,
                derivation=w.derivation,
                illustrative=w.illustrative,
            )
        )
    return out


def _budget_unit_value(value: float, unit: str) -> float | None:
    """A total amount (元, 万元, 亿元; not a per-unit cost such as 元/亩) in 万元."""
    scale, base = split_scale(unit)
    return value * scale / 1e4 if base == "元" else None


def prepare_rows(
    session: Session, req: TargetReviewRequest, rules: TargetReviewRules, links: list[Linked]
) -> list[core.Row]:
    lookup = review_lookup(session, req)
    out: list[core.Row] = []
    for i, (row, link) in enumerate(zip(req.rows, links, strict=True)):
        ind = link.indicator
        target = parse_target(row.target)
        assert target is not None  # link_rows refused empty targets
        class_l1 = row.class_l1 or (ind.class_l1 if ind else "") or ""
        class_l2 = row.class_l2 or (ind.class_l2 if ind else None)
        base: dict[str, Any] = {
            "index": i,
            "name": row.name,
            "class_l1": class_l1,
            "class_l2": class_l2,
            "target_text": row.target,
            "indicator": ind.code if ind else None,
            "library_unit": ind.unit if ind else None,
            "library_operator": ind.operator if ind else None,
        }
        if target.quantity is None or (ind is not None and ind.value_type == "qualitative"):
            out.append(core.Row(operator=None, value=None, unit="", **base))
            continue
        q = target.quantity
        unit, value, unit_ok = q.unit, q.value, True
        if ind is not None and ind.unit is not None:
            try:
                value, unit = in_unit(q, ind.unit), ind.unit
            except CellProblem:
                unit_ok = False
        standards: list[core.Standard] = []
        cost: list[core.Standard] = []
        probe = core.Row(operator=target.operator, value=value, unit=unit, **base)
        if ind is not None and unit_ok:
            types = [*rules.low_against, *rules.high_against]
            standards = _standards(lookup, ind.code, types, req.region, req.fiscal_year, unit)
            if core.is_cost(probe, rules):
                cost = _standards(
                    lookup, ind.code, rules.cost_standard_types, req.region, req.fiscal_year, unit
                )
        out.append(
            core.Row(
                operator=target.operator,
                value=value,
                unit=unit,
                unit_ok=unit_ok,
                standards=tuple(standards),
                cost_standards=tuple(cost),
                value_in_budget_unit=_budget_unit_value(value, unit) if unit_ok else None,
                **base,
            )
        )
    return out


def suggestions(
    session: Session,
    req: TargetReviewRequest,
    rows: Sequence[core.Row],
    result: core.Review,
) -> list[dict[str, Any]]:
    """Library indicators of the project's sector (and common ones of its project type) that
    the table lacks, with their standard (plan → industry → professional → historical) as the
    proposed value; those of a missing class first."""
    present = {r.indicator for r in rows if r.indicator}
    candidates: list[IndicatorRelease] = []
    if req.sector is not None:
        candidates += catalogue.list_indicators(
            session, IndicatorFilters(sector=req.sector), 500, 0
        )[0]
    if req.project_type is not None:
        candidates += [
            i
            for i in catalogue.list_indicators(
                session, IndicatorFilters(project_type=req.project_type), 500, 0
            )[0]
            if i.sector is None
        ]
    missing = [
        (class_key(c["class_l1"]), class_key(c["class_l2"]))
        for c in result.classes
        if not c["rows"]
    ]
    lookup = review_lookup(session, req)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for ind in candidates:
        if ind.code in present or ind.code in seen or ind.value_type == "qualitative":
            continue
        types = (ind.definition.get("tags") or {}).get("project_types") or []
        if req.project_type is not None and types and req.project_type not in types:
            continue
        seen.add(ind.code)
        l1, l2 = class_key(ind.class_l1), class_key(ind.class_l2)
        fills = any(l1 == m1 and (not m2 or l2 == m2) for m1, m2 in missing)
        res = resolve_standard_with_precedence(
            lookup,
            ind.code,
            region=req.region,
            fiscal_year=req.fiscal_year,
            precedence=DEFAULT_PRECEDENCE,
        )
        w = res.winner
        proposed = (
            None
            if w is None or w.value is None
            else {
                "type": w.type,
                "operator": w.operator,
                "value": float(w.value),
                "unit": w.unit,
                "region": w.region,
                "fiscal_year": w.fiscal_year,
                "source": w.source,
            }
        )
        if proposed is None and not fills:
            continue
        out.append(
            {
                "indicator": ind.code,
                "name_zh": ind.name_zh,
                "name_en": ind.name_en,
                "class_l1": ind.class_l1,
                "class_l2": ind.class_l2,
                "operator": ind.operator,
                "unit": ind.unit,
                "fills_missing_class": fills,
                "proposed": proposed,
            }
        )
    out.sort(key=lambda s: (not s["fills_missing_class"], s["indicator"]))
    return out[:MAX_SUGGESTIONS]


def review_table(session: Session, req: TargetReviewRequest) -> ReviewResult:
    """The review of a target table (nothing stored)."""
    code, version, rules = framework_rules(session, req.framework, req.version)
    links = link_rows(session, req)
    try:
        rows = prepare_rows(session, req, rules, links)
    except ResolutionError as exc:
        raise Unprocessable(
            exc.msg, errors=[ErrorItem(loc=["body", *exc.loc], msg=exc.msg, type="value_error")]
        ) from exc
    result = core.review(rows, req.budget, rules)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for f in result.findings:
        if f.row is not None:
            by_row.setdefault(f.row, []).append(f.to_dict())
    criteria = [
        {
            "criterion": key,
            "criterion_zh": zh,
            "findings": sum(
                1 for f in result.findings if f.criterion == key and f.severity != "note"
            ),
        }
        for key, zh in core.CRITERIA.items()
    ]
    data = {
        "framework": code,
        "version": version,
        "verdict": result.verdict,
        "verdict_zh": result.verdict_zh,
        "verdict_en": result.verdict_en,
        "explanation_zh": result.explanation_zh,
        "explanation_en": result.explanation_en,
        "majors": result.majors,
        "minors": result.minors,
        "notes": result.notes,
        "criteria": [{**c, "ok": c["findings"] == 0} for c in criteria],
        "classes": result.classes,
        "rows": [
            {
                "index": r.index,
                "name": r.name,
                "target": r.target_text,
                "class_l1": r.class_l1,
                "class_l2": r.class_l2,
                "operator": r.operator,
                "value": r.value,
                "unit": r.unit,
                "indicator": r.indicator,
                "indicator_name_zh": link.indicator.name_zh if link.indicator else None,
                "indicator_name_en": link.indicator.name_en if link.indicator else None,
                "linked_by": link.linked_by,
                "standards": [s.cite() for s in (*r.standards, *r.cost_standards)],
                "findings": by_row.get(r.index, []),
            }
            for r, link in zip(rows, links, strict=True)
        ],
        "findings": [f.to_dict() for f in result.findings],
        "suggestions": suggestions(session, req, rows, result),
        "rules": rules.model_dump(mode="json"),
    }
    try:
        return ReviewResult.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - the result is built above
        raise AssertionError(str(exc)) from exc


# --- stored reviews ------------------------------------------------------------------------------


def _summary(tr: TargetReview) -> dict[str, Any]:
    return {
        "id": tr.id,
        "framework": tr.framework_code,
        "version": tr.framework_version,
        "project": tr.project,
        "unit": tr.unit,
        "region": tr.region,
        "fiscal_year": tr.fiscal_year,
        "verdict": tr.verdict,
        "verdict_zh": tr.result.get("verdict_zh", ""),
        "input_hash": tr.input_hash,
        "created_at": tr.created_at,
    }


def review_out(tr: TargetReview) -> TargetReviewOut:
    return TargetReviewOut(
        **_summary(tr),
        request=TargetReviewRequest.model_validate(tr.request),
        result=ReviewResult.model_validate(tr.result),
    )


def create_review(
    session: Session,
    req: TargetReviewRequest,
    owner: Principal,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Review and store, owned by ``owner``, with its audit entry; an ``idempotency_key``
    replays this caller's first response for it. Returns (body, status)."""
    answer: Answer[None] = idempotent_create(
        session,
        IDEMPOTENCY_SCOPE,
        idempotency_key,
        req,
        lambda: Answer(_store(session, req, owner)),
        owner_key_id=owner.owner_id,
    )
    return answer.body, answer.status_code


def _store(session: Session, req: TargetReviewRequest, owner: Principal) -> dict[str, Any]:
    """The review stored with its audit entry: its JSON body."""
    result = review_table(session, req)
    request = req.model_copy(update={"version": result.version}).model_dump(mode="json")
    tr = TargetReview(
        owner_key_id=owner.owner_id,
        framework_code=result.framework,
        framework_version=result.version,
        project=req.project,
        unit=req.unit,
        region=req.region,
        fiscal_year=req.fiscal_year,
        verdict=result.verdict,
        input_hash=hashlib.sha256(
            json.dumps(request, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest(),
        request=request,
        result=result.model_dump(mode="json"),
    )
    session.add(tr)
    session.flush()
    record(
        session,
        owner,
        "target_review.create",
        object_type="target_review",
        object_id=str(tr.id),
        version=tr.framework_version,
        after={
            "framework": tr.framework_code,
            "version": tr.framework_version,
            "project": tr.project,
            "region": tr.region,
            "fiscal_year": tr.fiscal_year,
            "verdict": tr.verdict,
            "input_hash": tr.input_hash,
        },
    )
    return review_out(tr).model_dump(mode="json")


def _readable(reader: Principal) -> list[Any]:
    return owned_readable_by(reader, TargetReview.owner_key_id, TargetReview.region)


def get_review(session: Session, review_id: int, reader: Principal) -> TargetReview:
    """The stored review ``reader`` may read; 404 for any other id, whether it exists or not."""
    detail = _("No target review {review_id}", review_id=review_id)
    return get_owned(session, TargetReview, review_id, _readable(reader), detail, param="review_id")


def list_reviews(
    session: Session,
    *,
    reader: Principal,
    project: str | None,
    region: str | None,
    fiscal_year: int | None,
    verdict: str | None,
    limit: int,
    offset: int,
) -> TargetReviewList:
    conditions: list[Any] = equal_to(
        (col(TargetReview.project), project),
        (col(TargetReview.region), region),
        (col(TargetReview.fiscal_year), fiscal_year),
        (col(TargetReview.verdict), verdict),
    )
    conditions += _readable(reader)
    total, rows = owned_page(session, TargetReview, conditions, limit=limit, offset=offset)
    return TargetReviewList(
        total=total,
        limit=limit,
        offset=offset,
        items=[TargetReviewSummary(**_summary(tr)) for tr in rows],
    )
