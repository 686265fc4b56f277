"""Stored evaluations: score and store (with the Idempotency-Key replay and the audit
entry), read, list and re-score, each limited to what the caller may read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, or_

from indicator_service.audit.service import record
from indicator_service.auth.principal import Principal
from indicator_service.core.errors import ErrorItem, Unprocessable
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import Answer, idempotent_create
from indicator_service.scoring.labels import evaluation_labels, labelled
from indicator_service.scoring.lookup import (
    CatalogueLookup,
)
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.owned import equal_to, find_owned, get_owned, owned_page
from indicator_service.scoring.ownership import readable_by
from indicator_service.scoring.receipts import (
    score,
)
from indicator_service.scoring.schemas import (
    EvaluationCreate,
    EvaluationList,
    EvaluationOut,
    EvaluationSummary,
    Receipt,
    RescoreResponse,
    ScoreRequest,
)
from indicator_service.scoring.whatif import (
    compare,
)

# --- stored evaluations --------------------------------------------------------------------------

IDEMPOTENCY_SCOPE = "scoring.evaluations"


def _summary(ev: Evaluation) -> dict[str, Any]:
    return {
        "id": ev.id,
        "kind": ev.kind,
        "reevaluates": ev.reevaluates_id,
        "framework": ev.framework_code,
        "version": ev.framework_version,
        "project": ev.project,
        "project_name": project_name(ev.request),
        "unit": ev.unit,
        "region": ev.region,
        "fiscal_year": ev.fiscal_year,
        "total": ev.total,
        "grade": ev.grade,
        "input_hash": ev.input_hash,
        "created_at": ev.created_at,
    }


def project_name(request: Any) -> str | None:
    """The project's name as its form gave it (项目名称 of a national-layout form), if any."""
    form = request.get("form") if isinstance(request, dict) else None
    name = form.get("project_name") if isinstance(form, dict) else None
    return name if isinstance(name, str) else None


def evaluation_summary(ev: Evaluation) -> EvaluationSummary:
    """A stored evaluation's summary with the labels of the current language."""
    return EvaluationSummary.model_validate(evaluation_labels(_summary(ev), ev.result))


def evaluation_out(ev: Evaluation, *, labels: bool = True) -> EvaluationOut:
    """A stored evaluation as answered; ``labels``: with the labels of the current language
    (the stored receipt is language-neutral; ``labels=False`` gives what is kept for an
    Idempotency-Key replay, labelled again when replayed)."""
    out = EvaluationOut(**_summary(ev), result=Receipt.model_validate(ev.result))
    if not labels:
        return out
    return EvaluationOut.model_validate(evaluation_labels(out.model_dump(mode="json")))


@dataclass(frozen=True)
class Created:
    """The answer to a create: the JSON body and its status (201, or the status of the first
    response when an Idempotency-Key replays it)."""

    body: dict[str, Any]
    status_code: int
    replayed: bool = False

    @property
    def location(self) -> str:
        return f"/v1/evaluations/{self.body['id']}"


def create_evaluation(
    session: Session,
    req: EvaluationCreate,
    catalogue: CatalogueLookup,
    owner: Principal,
    idempotency_key: str | None = None,
) -> Created:
    """Score and store an evaluation owned by the key ``owner``, with its audit entry (the
    caller's transaction commits). With an ``idempotency_key`` the first response of this
    caller for this key is replayed; the same key with another body is 409."""
    answer: Answer[None] = idempotent_create(
        session,
        IDEMPOTENCY_SCOPE,
        idempotency_key,
        req,
        lambda: Answer(_store_recorded(session, req, catalogue, owner)),
        owner_key_id=owner.owner_id,
    )
    # stored and replayed language-neutral; answered with the labels of this request's language
    # (a replay too, whatever the first request's language was)
    body = evaluation_labels(answer.body) if isinstance(answer.body, dict) else answer.body
    return Created(body, answer.status_code, replayed=answer.replayed)


def _store_recorded(
    session: Session, req: EvaluationCreate, catalogue: CatalogueLookup, owner: Principal
) -> dict[str, Any]:
    """The evaluation stored with its audit entry: its JSON body."""
    out = _store(session, req, catalogue, owner)
    record(
        session,
        owner,
        "evaluation.create",
        object_type="evaluation",
        object_id=str(out.id),
        version=out.version,
        after={
            "kind": out.kind,
            "reevaluates": out.reevaluates,
            "framework": out.framework,
            "version": out.version,
            "project": out.project,
            "unit": out.unit,
            "region": out.region,
            "fiscal_year": out.fiscal_year,
            "total": out.total,
            "grade": out.grade,
            "input_hash": out.input_hash,
        },
    )
    return out.model_dump(mode="json")  # language-neutral: no labels


def _reevaluation_problems(
    session: Session, req: EvaluationCreate, owner: Principal
) -> list[ErrorItem]:
    """What is wrong with ``reevaluates`` (docs/reevaluation.md): the evaluation must exist and
    be readable by the caller, name the same project and (when both give one) fiscal year; a
    re-evaluation is not a self-evaluation."""
    if req.reevaluates is None:
        return []
    problems: list[ErrorItem] = []
    if req.kind == "self":
        problems.append(
            ErrorItem(
                loc=["body", "kind"],
                msg=_(
                    "a re-evaluation is not a self-evaluation: give department, finance or "
                    "third_party"
                ),
                type="reevaluation_kind",
            )
        )
    target = find_owned(session, Evaluation, req.reevaluates, readable_by(owner))
    if target is None:
        problems.append(
            ErrorItem(
                loc=["body", "reevaluates"],
                msg=_(
                    "no evaluation {evaluation_id} that this key may read",
                    evaluation_id=req.reevaluates,
                ),
                type="not_found",
            )
        )
        return problems
    if req.project is None or target.project != req.project:
        problems.append(
            ErrorItem(
                loc=["body", "project"],
                msg=_(
                    "a re-evaluation must name the project of evaluation {evaluation_id} "
                    "({project})",
                    evaluation_id=target.id,
                    project=target.project or _("none given"),
                ),
                type="reevaluation_project",
            )
        )
    if (
        req.fiscal_year is not None
        and target.fiscal_year is not None
        and target.fiscal_year != req.fiscal_year
    ):
        problems.append(
            ErrorItem(
                loc=["body", "fiscal_year"],
                msg=_(
                    "a re-evaluation must be of the fiscal year of evaluation {evaluation_id} "
                    "({fiscal_year})",
                    evaluation_id=target.id,
                    fiscal_year=target.fiscal_year,
                ),
                type="reevaluation_fiscal_year",
            )
        )
    return problems


def _store(
    session: Session, full: EvaluationCreate, catalogue: CatalogueLookup, owner: Principal
) -> EvaluationOut:
    """Check, score and store, owned by the key ``owner``: every problem of the request (the
    re-evaluation's and the scoring's) in one 422, nothing stored."""
    problems = _reevaluation_problems(session, full, owner)
    req = full.submission()
    try:
        rec = score(req, catalogue)
    except Unprocessable as exc:
        if not problems:
            raise
        raise Unprocessable(exc.detail, errors=[*problems, *exc.errors]) from exc
    if problems:
        raise Unprocessable(_("the re-evaluation cannot be stored as given"), errors=problems)
    ev = Evaluation(
        kind=full.kind,
        reevaluates_id=full.reevaluates,
        owner_key_id=owner.owner_id,
        framework_code=rec.framework.code,
        framework_version=rec.framework.version,
        project=req.project,
        unit=req.unit,
        region=req.region,
        fiscal_year=req.fiscal_year,
        total=rec.total,
        grade=rec.grade.grade if rec.grade else None,
        input_hash=rec.input_hash,
        # The version actually used is pinned so that the stored inputs reproduce the result.
        request=req.model_copy(update={"version": rec.framework.version}).model_dump(mode="json"),
        result=rec.model_dump(mode="json"),
    )
    session.add(ev)
    session.flush()
    return evaluation_out(ev, labels=False)


def get_evaluation(session: Session, evaluation_id: int, reader: Principal) -> Evaluation:
    """The stored evaluation ``reader`` may read (docs/security.md); 404 for any other id,
    whether it exists or not."""
    detail = _("no evaluation {evaluation_id}", evaluation_id=evaluation_id)
    return get_owned(
        session, Evaluation, evaluation_id, readable_by(reader), detail, param="evaluation_id"
    )


def list_evaluations(
    session: Session,
    *,
    reader: Principal,
    project: str | None,
    unit: str | None,
    region: str | None,
    fiscal_year: int | None,
    framework: str | None,
    limit: int,
    kind: str | None = None,
    reevaluates: int | None = None,
    offset: int,
    q: str | None = None,
) -> EvaluationList:
    """The evaluations ``reader`` may read, narrowed by the exact filters and by ``q``: a part of
    the project code or of the project's name (case-insensitive; ``%`` and ``_`` are literal)."""
    conditions = equal_to(
        (col(Evaluation.project), project),
        (col(Evaluation.unit), unit),
        (col(Evaluation.region), region),
        (col(Evaluation.fiscal_year), fiscal_year),
        (col(Evaluation.framework_code), framework),
        (col(Evaluation.kind), kind),
        (col(Evaluation.reevaluates_id), reevaluates),
    )
    if q:
        needle = q.lower()
        name = col(Evaluation.request)[("form", "project_name")].as_string()
        conditions.append(
            or_(
                func.lower(col(Evaluation.project)).contains(needle, autoescape=True),
                func.lower(name).contains(needle, autoescape=True),
            )
        )
    conditions += readable_by(reader)  # the filters narrow what the reader may read
    total, rows = owned_page(session, Evaluation, conditions, limit=limit, offset=offset)
    return EvaluationList(
        total=total,
        limit=limit,
        offset=offset,
        items=[evaluation_summary(ev) for ev in rows],
    )


def rescore(
    session: Session,
    evaluation_id: int,
    version: str | None,
    catalogue: CatalogueLookup,
    reader: Principal,
) -> RescoreResponse:
    """Re-score a stored evaluation ``reader`` may read under another (default: the latest)
    framework version and compare with the stored result. Nothing is stored."""
    ev = get_evaluation(session, evaluation_id, reader)
    original = Receipt.model_validate(ev.result)
    req = ScoreRequest.model_validate({**ev.request, "version": version})
    try:
        rescored = score(req, catalogue)
    except Unprocessable as exc:
        raise Unprocessable(
            _(
                "the stored inputs do not fit framework {framework} {value}: {detail}",
                framework=req.framework,
                value=version or "latest",
                detail=exc.detail,
            ),
            errors=exc.errors,
        ) from exc
    return RescoreResponse(
        evaluation_id=evaluation_id,
        from_version=ev.framework_version,
        to_version=rescored.framework.version,
        original=labelled(original),
        rescored=labelled(rescored),
        **compare(original, rescored).model_dump(),
    )
