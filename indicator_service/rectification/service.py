"""Rectification records: create, update the status, read, list, the overdue list. Every
query made for a caller keeps what it may read (:func:`readable`); services never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, func, select

from indicator_service.audit.service import record
from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.core.errors import (
    Conflict,
    ErrorItem,
    Forbidden,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from indicator_service.core.i18n import _, localized
from indicator_service.core.idempotency import Answer, idempotent_create
from indicator_service.rectification import deadlines
from indicator_service.rectification.models import Rectification
from indicator_service.rectification.schemas import (
    OverdueList,
    RectificationCreate,
    RectificationList,
    RectificationOut,
    RectificationUpdate,
    SubjectOut,
)
from indicator_service.rectification.subjects import RESOLVERS
from indicator_service.scoring.owned import equal_to, get_owned, owned_page
from indicator_service.scoring.ownership import covered, owned_or_in_scope

IDEMPOTENCY_SCOPE = "rectification.create"


def readable(principal: Principal) -> list[ColumnElement[bool]]:
    """Who may read a rectification: admins; the key that created it; keys whose region scope
    covers its region; the key that stored its subject (the evaluated party)."""
    if principal.role is Role.admin:
        return []
    party = col(Rectification.subject_owner_key_id) == principal.owner_id
    return owned_or_in_scope(
        principal, col(Rectification.owner_key_id), col(Rectification.region), party
    )


def demanding_side(principal: Principal, row: Rectification) -> bool:
    """Who may record the feedback and close: the key that created the demand, keys whose
    region scope covers it, admins — not the evaluated party alone."""
    return (
        principal.role is Role.admin
        or row.owner_key_id == principal.key_id
        or principal.covers_region(row.region)
    )


def status_label(status: str) -> str:
    """A status in words, in the current language (the ``status_zh``/``status_en`` of the
    answers)."""
    zh, en = deadlines.STATUSES[status]
    return localized(en, zh)


def not_forward(current: str, requested: str) -> Conflict:
    """The 409 of a step that does not move forward, naming both statuses in words."""
    label = status_label(current)
    return Conflict(
        _(
            "a rectification only moves forward: from “{current}” it cannot go to “{requested}”",
            current=label,
            requested=status_label(requested),
        ),
        errors=[_err(["body", "status"], _("is “{status}”", status=label), "invalid_transition")],
    )


def etag(row: Rectification) -> str:
    return f'"{row.id}.{row.revision}"'


def out(row: Rectification, as_of: date | None = None) -> RectificationOut:
    assert row.id is not None
    zh, en = deadlines.STATUSES[row.status]
    when = as_of or deadlines.today()
    return RectificationOut(
        id=row.id,
        subject=SubjectOut(kind=row.subject_kind, id=row.subject_id),
        leaf=row.leaf_id,
        region=row.region,
        project=row.project,
        fiscal_year=row.fiscal_year,
        requirement=row.requirement,
        owner=row.owner,
        status=row.status,
        status_zh=zh,
        status_en=en,
        feedback_due=row.feedback_due,
        report_due=row.report_due,
        deadline=deadlines.deadline(row.status, row.feedback_due, row.report_due),
        feedback_given_on=row.feedback_given_on,
        reported_on=row.reported_on,
        closed_on=row.closed_on,
        note=row.note,
        days_overdue=deadlines.days_overdue(row.status, row.feedback_due, row.report_due, when),
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _err(loc: list[str | int], msg: str, type_: str) -> ErrorItem:
    return ErrorItem(loc=loc, msg=msg, type=type_)


@dataclass(frozen=True)
class Created:
    body: dict[str, Any]
    status_code: int

    @property
    def location(self) -> str:
        return f"/v1/rectifications/{self.body['id']}"

    @property
    def etag(self) -> str:
        return f'"{self.body["id"]}.{self.body["revision"]}"'


def create(
    session: Session,
    body: RectificationCreate,
    principal: Principal,
    idempotency_key: str | None = None,
) -> Created:
    """Store a rectification attached to a subject the caller may read; every problem of the
    request in one 422, nothing stored. An ``idempotency_key`` replays this caller's first
    response for it (the same key with another body is 409)."""
    answer: Answer[None] = idempotent_create(
        session,
        IDEMPOTENCY_SCOPE,
        idempotency_key,
        body,
        lambda: Answer(_store(session, body, principal)),
        owner_key_id=principal.owner_id,
    )
    return Created(answer.body, answer.status_code)


def _store(session: Session, body: RectificationCreate, principal: Principal) -> dict[str, Any]:
    """The rectification stored with its audit entry: its JSON body."""
    subject = RESOLVERS[body.subject.kind](session, body.subject.id, principal)
    problems: list[ErrorItem] = []
    if subject is None:
        sid = body.subject.id
        problems.append(
            _err(
                ["body", "subject", "id"],
                (
                    _("no evaluation {evaluation_id} that this key may read", evaluation_id=sid)
                    if body.subject.kind == "evaluation"
                    else _("no monitoring record {record_id} that this key may read", record_id=sid)
                ),
                "not_found",
            )
        )
    elif body.leaf is not None and body.leaf not in subject.leaves:
        problems.append(
            _err(
                ["body", "leaf"],
                (
                    _(
                        "evaluation {evaluation_id} has no leaf {leaf!r}",
                        evaluation_id=subject.id,
                        leaf=body.leaf,
                    )
                    if subject.kind == "evaluation"
                    else _(
                        "monitoring record {record_id} has no flag {flag!r}",
                        record_id=subject.id,
                        flag=body.leaf,
                    )
                ),
                "unknown_leaf",
            )
        )
    feedback_due = body.feedback_due
    if subject is not None:
        if feedback_due is None:
            feedback_due = deadlines.default_feedback_due(subject.dated)
        elif feedback_due < subject.dated:
            problems.append(
                _err(
                    ["body", "feedback_due"],
                    _(
                        "the feedback deadline cannot be before the evaluation's date {date}",
                        date=subject.dated,
                    ),
                    "deadline_before_evaluation",
                )
            )
    if body.report_due is not None and feedback_due is not None and body.report_due < feedback_due:
        problems.append(
            _err(
                ["body", "report_due"],
                _(
                    "the report deadline cannot be before the feedback deadline {feedback_due}",
                    feedback_due=feedback_due,
                ),
                "deadline_order",
            )
        )
    if problems or subject is None or feedback_due is None:
        raise Unprocessable(_("the rectification cannot be stored as given"), errors=problems)
    row = Rectification(
        subject_kind=subject.kind,
        subject_id=subject.id,
        leaf_id=body.leaf,
        region=subject.region,
        project=subject.project,
        fiscal_year=subject.fiscal_year,
        subject_owner_key_id=subject.owner_key_id,
        requirement=body.requirement,
        owner=body.owner,
        status="open",
        feedback_due=feedback_due,
        report_due=body.report_due,
        owner_key_id=principal.owner_id,
    )
    session.add(row)
    session.flush()
    created = out(row)
    record(
        session,
        principal,
        "rectification.create",
        object_type="rectification",
        object_id=str(row.id),
        after=created.model_dump(mode="json"),
    )
    return created.model_dump(mode="json")


def get(
    session: Session, rectification_id: int, reader: Principal, *, lock: bool = False
) -> Rectification:
    """The rectification ``reader`` may read; 404 for any other id, whether it exists or not."""
    detail = _("no rectification {rectification_id}", rectification_id=rectification_id)
    return get_owned(
        session,
        Rectification,
        rectification_id,
        readable(reader),
        detail,
        param="rectification_id",
        lock=lock,
    )


def _check_if_match(row: Rectification, if_match: str | None) -> None:
    if if_match is None:
        raise PreconditionRequired(
            _(
                "If-Match is required to update a rectification (its ETag is {etag})",
                etag=etag(row),
            )
        )
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if etag(row) not in tags and "*" not in tags:
        raise PreconditionFailed(
            _("the rectification changed since you read it (ETag {etag})", etag=etag(row))
        )


def update(
    session: Session,
    rectification_id: int,
    body: RectificationUpdate,
    principal: Principal,
    if_match: str | None,
) -> Rectification:
    """Move a rectification to a later state (forward only), recording the step's date."""
    row = get(session, rectification_id, principal, lock=True)
    _check_if_match(row, if_match)
    if deadlines.ORDER[body.status] <= deadlines.ORDER[row.status]:
        raise not_forward(row.status, body.status)
    if body.status != "reported" and not demanding_side(principal, row):
        detail = _(
            "only the side that made the demand (its key, a region scope covering it, an admin) "
            "records the feedback or closes it"
        )
        raise Forbidden(detail, errors=[_err(["body", "status"], detail, "not_demanding_side")])
    on = body.on or deadlines.today()
    problems: list[ErrorItem] = []
    earlier = [d for d in (row.feedback_given_on, row.reported_on) if d is not None]
    if earlier and on < max(earlier):
        problems.append(
            _err(
                ["body", "on"],
                _("the date cannot be before the previous step's ({date})", date=max(earlier)),
                "date_order",
            )
        )
    report_due = row.report_due
    if body.report_due is not None:
        if body.status != "feedback_given":
            problems.append(
                _err(
                    ["body", "report_due"],
                    _("the report deadline is given with feedback_given only"),
                    "report_due_not_allowed",
                )
            )
        elif body.report_due < on:
            problems.append(
                _err(
                    ["body", "report_due"],
                    _("the report deadline cannot be before the feedback date {date}", date=on),
                    "deadline_order",
                )
            )
        report_due = body.report_due
    if problems:
        raise Unprocessable(_("the rectification cannot be updated as given"), errors=problems)
    before = out(row).model_dump(mode="json")
    setattr(row, deadlines.STEP_DATE[body.status], on)
    if body.status == "feedback_given" and report_due is None:
        report_due = deadlines.default_report_due(on)
    row.report_due = report_due
    row.status = body.status
    if body.note is not None:
        row.note = body.note
    row.revision += 1
    row.updated_at = datetime.now(UTC)
    session.add(row)
    session.flush()
    record(
        session,
        principal,
        f"rectification.{body.status}",
        object_type="rectification",
        object_id=str(row.id),
        before=before,
        after=out(row).model_dump(mode="json"),
    )
    return row


def list_rectifications(
    session: Session,
    *,
    reader: Principal,
    subject_kind: str | None,
    subject_id: int | None,
    status: str | None,
    region: str | None,
    limit: int,
    offset: int,
) -> RectificationList:
    conditions: list[Any] = equal_to(
        (col(Rectification.subject_kind), subject_kind),
        (col(Rectification.subject_id), subject_id),
        (col(Rectification.status), status),
    )
    if region is not None:
        conditions.append(covered(region, col(Rectification.region)))
    conditions += readable(reader)
    total, rows = owned_page(session, Rectification, conditions, limit=limit, offset=offset)
    return RectificationList(total=total, limit=limit, offset=offset, items=[out(r) for r in rows])


def overdue(
    session: Session, *, reader: Principal, region: str | None, as_of: date | None, limit: int
) -> OverdueList:
    """The rectifications past their running deadline on ``as_of`` (default today, CST), in the
    regions ``region`` covers (itself and the regions under it; all when absent)."""
    when = as_of or deadlines.today()
    conditions: list[Any] = [
        or_(
            and_(col(Rectification.status) == "open", col(Rectification.feedback_due) < when),
            and_(
                col(Rectification.status) == "feedback_given",
                col(Rectification.report_due).is_not(None),
                col(Rectification.report_due) < when,
            ),
        ),
        *readable(reader),
    ]
    if region is not None:
        conditions.append(covered(region, col(Rectification.region)))
    per_region = session.exec(
        select(col(Rectification.region), func.count())
        .where(*conditions)
        .group_by(col(Rectification.region))
        .order_by(col(Rectification.region))
    ).all()
    rows = session.exec(
        select(Rectification)
        .where(*conditions)
        .order_by(col(Rectification.region), col(Rectification.id))  # sorted by deadline below
        .limit(limit)
    ).all()
    items = [out(r, when) for r in rows]
    items.sort(key=lambda i: (i.region, i.deadline or when, i.id))
    by_region = {str(code): int(n) for code, n in per_region}
    return OverdueList(
        as_of=when, region=region, total=sum(by_region.values()), by_region=by_region, items=items
    )
