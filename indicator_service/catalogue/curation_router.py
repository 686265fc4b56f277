"""Curation API (``/v1``): fine-grained draft edits, review, bulk import and export.

Edits need a curator key scoped to the namespace (frameworks: to ``common``) and ``If-Match``
with the draft's ETag (its content hash): 428 without it, 412 when stale. The draft is the unit
of concurrency: every edit response carries the draft's new ETag.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from indicator_service.audit.service import record
from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    CuratorDep,
    CuratorOrReviewerDep,
    ReaderDep,
    ReviewerDep,
    ensure_scope,
    get_reader,
)
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import bulk, curation, edits, service
from indicator_service.catalogue.router import (
    FRAMEWORK_OWNER,
    FwPath,
    IndPath,
    NsPath,
    VersionPath,
    _diff_out,
    _ensure_draft_reader,
    _problem,
)
from indicator_service.catalogue.schemas import (
    ApproveIn,
    DraftEditOut,
    FrameworkPublishOut,
    FrameworkVersionOut,
    ImportReportOut,
    NamespaceVersionOut,
    PublishOut,
    ReturnIn,
    ReviewList,
    ReviewOut,
    StandardItemOut,
    StandardItemsOut,
    SubmitIn,
)
from indicator_service.catalogue.source import NODE_CODE_RE
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import (
    ErrorItem,
    NotAcceptable,
    ServiceError,
    Unprocessable,
    UnsupportedMediaType,
)
from indicator_service.core.jsonbody import best_media

router = APIRouter(
    prefix="/v1",
    tags=["curation"],
    dependencies=[Depends(get_reader)],
    responses=AUTH_RESPONSES,
)

_EDIT: dict[int | str, dict[str, Any]] = {
    404: _problem("Unknown namespace, framework, version or item"),
    409: _problem("Not an editable draft (submitted or published), or the item already exists"),
    412: _problem("Stale If-Match: the draft changed since it was read"),
    422: _problem("Invalid content: every problem, with its location"),
    428: _problem("If-Match missing"),
}
_REVIEW: dict[int | str, dict[str, Any]] = {
    404: _problem("Unknown namespace, framework or version"),
    409: _problem("Illegal move in the review state machine (the detail says why)"),
    422: _problem("Invalid request body"),
}

IfMatch = Annotated[
    str | None, Header(max_length=100, description="the draft's ETag (428 if missing)")
]
Comment = Annotated[
    str | None,
    Query(max_length=2000, pattern=r"^[^\x00]*$", description="recorded in the audit trail"),
]
StandardId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="standard id")]
NodePath = Annotated[str, Path(pattern=NODE_CODE_RE.pattern, max_length=64)]
ItemBody = Annotated[dict[str, Any], Body(description="the item (source format)")]
PatchBody = Annotated[
    dict[str, Any],
    Body(
        description="JSON merge patch (RFC 7396): fields to change; null removes a field",
        media_type="application/merge-patch+json",
    ),
]


def _edited(
    response: Response,
    edited: curation.Edited,
    item: dict[str, Any] | None,
    item_id: str | None,
    status_code: int = 200,
    location: str | None = None,
) -> Any:
    body = DraftEditOut(
        kind=edited.kind,
        code=edited.code,
        version=edited.version,
        status=edited.status,
        content_hash=edited.content_hash,
        id=item_id,
        item=item,
    )
    headers = {"ETag": f'"{edited.content_hash}"', "Cache-Control": "no-store"}
    if location is not None:
        headers["Location"] = location
    if status_code != 200:
        return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)
    response.headers.update(headers)
    return body


def _audit(
    session: SessionDep,
    who: Principal,
    action: str,
    kind: curation.Kind,
    code: str,
    version: str,
    object_id: str,
    before: Any,
    after: Any,
    comment: str | None,
) -> None:
    record(
        session,
        who,
        action,
        object_type=action.split(".")[0],
        object_id=object_id,
        namespace=code if kind == "namespace" else FRAMEWORK_OWNER,
        version=version,
        before=before,
        after=after,
        comment=comment,
    )


# --- namespace items ----------------------------------------------------------------------------


@router.post(
    "/namespaces/{ns}/drafts/{version}/indicators",
    response_model=DraftEditOut,
    status_code=status.HTTP_201_CREATED,
    responses=_EDIT,
    summary="Add an indicator to a draft",
)
def add_indicator(
    ns: NsPath,
    version: VersionPath,
    body: ItemBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed = curation.edit_draft(
        session, "namespace", ns, version, if_match, lambda d: edits.add_indicator(d, body)
    )
    item = edits.find_indicator(ed.after, str(body.get("code")))
    _audit(
        session,
        curator,
        "indicator.create",
        "namespace",
        ns,
        version,
        item["code"],
        None,
        item,
        comment,
    )
    return _edited(
        response, ed, item, item["code"], 201, f"/v1/indicators/{item['code']}?version={version}"
    )


@router.patch(
    "/namespaces/{ns}/drafts/{version}/indicators/{code}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Change an indicator of a draft (JSON merge patch)",
)
def patch_indicator(
    ns: NsPath,
    version: VersionPath,
    code: IndPath,
    body: PatchBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed = curation.edit_draft(
        session, "namespace", ns, version, if_match, lambda d: edits.patch_indicator(d, code, body)
    )
    before, after = edits.find_indicator(ed.before, code), edits.find_indicator(ed.after, code)
    _audit(
        session, curator, "indicator.update", "namespace", ns, version, code, before, after, comment
    )
    return _edited(response, ed, after, code)


@router.delete(
    "/namespaces/{ns}/drafts/{version}/indicators/{code}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Retire an indicator (and its standards) from a draft: a major change",
)
def retire_indicator(
    ns: NsPath,
    version: VersionPath,
    code: IndPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed = curation.edit_draft(
        session, "namespace", ns, version, if_match, lambda d: edits.retire_indicator(d, code)
    )
    before = edits.find_indicator(ed.before, code)
    _audit(
        session, curator, "indicator.retire", "namespace", ns, version, code, before, None, comment
    )
    return _edited(response, ed, None, code)


@router.get(
    "/namespaces/{ns}/versions/{version}/standards",
    response_model=StandardItemsOut,
    responses={404: _problem("Unknown namespace or version")},
    summary="A version's standard rows with their ids (the ids the draft edits use)",
)
def list_standards(
    ns: NsPath, version: VersionPath, session: SessionDep, response: Response, reader: ReaderDep
) -> StandardItemsOut:
    row = service.namespace_draft_row(session, ns, version)
    if row.status in service.UNPUBLISHED:
        _ensure_draft_reader(reader, ns)
    response.headers["ETag"] = f'"{row.content_hash}"'
    response.headers["Cache-Control"] = "no-store"
    items = [
        StandardItemOut(id=edits.standard_id(edits.standard_key(st)), standard=st)
        for st in row.document.get("standards", [])
    ]
    return StandardItemsOut(
        code=ns, version=row.version, status=row.status, content_hash=row.content_hash, items=items
    )


@router.post(
    "/namespaces/{ns}/drafts/{version}/standards",
    response_model=DraftEditOut,
    status_code=status.HTTP_201_CREATED,
    responses=_EDIT,
    summary="Add a standard row to a draft",
)
def add_standard(
    ns: NsPath,
    version: VersionPath,
    body: ItemBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    new_id: list[str] = []

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        out, sid = edits.add_standard(doc, body)
        new_id.append(sid)
        return out

    ed = curation.edit_draft(session, "namespace", ns, version, if_match, mutate)
    item = edits.find_standard(ed.after, new_id[0])
    _audit(
        session,
        curator,
        "standard.create",
        "namespace",
        ns,
        version,
        new_id[0],
        None,
        item,
        comment,
    )
    return _edited(
        response, ed, item, new_id[0], 201, f"/v1/namespaces/{ns}/versions/{version}/standards"
    )


@router.patch(
    "/namespaces/{ns}/drafts/{version}/standards/{sid}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Change a standard row of a draft (JSON merge patch; its id follows its identity)",
)
def patch_standard(
    ns: NsPath,
    version: VersionPath,
    sid: StandardId,
    body: PatchBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    new_id: list[str] = []

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        out, new = edits.patch_standard(doc, sid, body)
        new_id.append(new)
        return out

    ed = curation.edit_draft(session, "namespace", ns, version, if_match, mutate)
    before, after = edits.find_standard(ed.before, sid), edits.find_standard(ed.after, new_id[0])
    _audit(
        session, curator, "standard.update", "namespace", ns, version, sid, before, after, comment
    )
    return _edited(response, ed, after, new_id[0])


@router.delete(
    "/namespaces/{ns}/drafts/{version}/standards/{sid}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Retire a standard row from a draft",
)
def retire_standard(
    ns: NsPath,
    version: VersionPath,
    sid: StandardId,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed = curation.edit_draft(
        session, "namespace", ns, version, if_match, lambda d: edits.retire_standard(d, sid)
    )
    before = edits.find_standard(ed.before, sid)
    _audit(
        session, curator, "standard.retire", "namespace", ns, version, sid, before, None, comment
    )
    return _edited(response, ed, None, sid)


# --- framework nodes ----------------------------------------------------------------------------


@router.post(
    "/frameworks/{code}/drafts/{version}/nodes",
    response_model=DraftEditOut,
    status_code=status.HTTP_201_CREATED,
    responses=_EDIT,
    summary="Add a node to a framework draft",
)
def add_node(
    code: FwPath,
    version: VersionPath,
    body: ItemBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    ed = curation.edit_draft(
        session, "framework", code, version, if_match, lambda d: edits.add_node(d, body)
    )
    item = edits.find_node(ed.after, str(body.get("code")))
    _audit(
        session,
        curator,
        "node.create",
        "framework",
        code,
        version,
        f"{code}/{item['code']}",
        None,
        item,
        comment,
    )
    return _edited(
        response,
        ed,
        item,
        item["code"],
        201,
        f"/v1/frameworks/{code}/versions/{version}/document",
    )


@router.patch(
    "/frameworks/{code}/drafts/{version}/nodes/{node}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Change a node of a framework draft (JSON merge patch)",
)
def patch_node(
    code: FwPath,
    version: VersionPath,
    node: NodePath,
    body: PatchBody,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    ed = curation.edit_draft(
        session, "framework", code, version, if_match, lambda d: edits.patch_node(d, node, body)
    )
    before, after = edits.find_node(ed.before, node), edits.find_node(ed.after, node)
    _audit(
        session,
        curator,
        "node.update",
        "framework",
        code,
        version,
        f"{code}/{node}",
        before,
        after,
        comment,
    )
    return _edited(response, ed, after, node)


@router.delete(
    "/frameworks/{code}/drafts/{version}/nodes/{node}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Retire a leaf node from a framework draft",
)
def retire_node(
    code: FwPath,
    version: VersionPath,
    node: NodePath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    ed = curation.edit_draft(
        session, "framework", code, version, if_match, lambda d: edits.retire_node(d, node)
    )
    before = edits.find_node(ed.before, node)
    _audit(
        session,
        curator,
        "node.retire",
        "framework",
        code,
        version,
        f"{code}/{node}",
        before,
        None,
        comment,
    )
    return _edited(response, ed, None, node)


# --- review -------------------------------------------------------------------------------------


def _review_out(state: curation.ReviewState) -> ReviewOut:
    return ReviewOut.model_validate(asdict(state))


ReviewStatus = Literal["draft", "submitted"]


@router.get(
    "/reviews",
    response_model=ReviewList,
    summary="The review queue: versions submitted for review (or drafts), longest waiting first",
    description="Namespace and framework versions in the given statuses (default: submitted) "
    "that the key may act on: a reviewer's work list, and a curator's view of returned drafts "
    "(status draft with a review comment). Curator or reviewer keys.",
)
def review_queue(
    session: SessionDep,
    response: Response,
    who: CuratorOrReviewerDep,
    status_: Annotated[list[ReviewStatus], Query(alias="status")] = ["submitted"],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> ReviewList:
    def may_see(kind: curation.Kind, code: str) -> bool:
        return who.may_act_on(code if kind == "namespace" else FRAMEWORK_OWNER)

    states = curation.review_queue(session, sorted(set(status_)), may_see)
    response.headers["Cache-Control"] = "no-store"
    return ReviewList(
        total=len(states),
        limit=limit,
        offset=offset,
        items=[_review_out(s) for s in states[offset : offset + limit]],
    )


@router.get(
    "/namespaces/{ns}/versions/{version}/review",
    response_model=ReviewOut,
    responses={404: _problem("Unknown namespace or version")},
    summary="A namespace version's review state: status, submitter, the reviewer's comment",
)
def namespace_review(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    who: CuratorOrReviewerDep,
) -> ReviewOut:
    ensure_scope(who, ns)
    response.headers["Cache-Control"] = "no-store"
    return _review_out(curation.read_review(session, "namespace", ns, version))


@router.get(
    "/frameworks/{code}/versions/{version}/review",
    response_model=ReviewOut,
    responses={404: _problem("Unknown framework or version")},
    summary="A framework version's review state: status, submitter, the reviewer's comment",
)
def framework_review(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    who: CuratorOrReviewerDep,
) -> ReviewOut:
    ensure_scope(who, FRAMEWORK_OWNER, loc=("path", "code"))
    response.headers["Cache-Control"] = "no-store"
    return _review_out(curation.read_review(session, "framework", code, version))


def _submit(
    session: SessionDep,
    kind: curation.Kind,
    code: str,
    version: str,
    who: Principal,
    comment: str | None,
) -> ReviewOut:
    state = curation.submit(session, kind, code, version, who)
    _audit(
        session,
        who,
        "version.submit",
        kind,
        code,
        version,
        f"{code}@{version}",
        {"status": "draft"},
        {"status": state.status, "content_hash": state.content_hash},
        comment,
    )
    return _review_out(state)


def _return(
    session: SessionDep,
    kind: curation.Kind,
    code: str,
    version: str,
    who: Principal,
    comment: str | None,
) -> ReviewOut:
    text = curation.require_comment(comment)
    state = curation.return_draft(session, kind, code, version, who, text)
    _audit(
        session,
        who,
        "version.return",
        kind,
        code,
        version,
        f"{code}@{version}",
        {"status": "submitted"},
        {"status": state.status},
        text,
    )
    return _review_out(state)


def _approve(
    session: SessionDep,
    kind: curation.Kind,
    code: str,
    version: str,
    who: Principal,
    body: ApproveIn | None,
) -> tuple[Any, Any]:
    rel, diff = curation.approve(session, kind, code, version, who, body.version if body else None)
    _audit(
        session,
        who,
        "version.approve",
        kind,
        code,
        rel.version,
        f"{code}@{rel.version}",
        {"version": version, "status": "submitted"},
        {
            "version": rel.version,
            "status": rel.status,
            "content_hash": rel.content_hash,
            "diff": _diff_out(diff),
        },
        body.comment if body else None,
    )
    return rel, diff


@router.post(
    "/namespaces/{ns}/versions/{version}/submit",
    response_model=ReviewOut,
    responses=_REVIEW,
    summary="Submit a draft for review (curator); it is no longer editable",
)
def submit_namespace(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: SubmitIn | None = None,
) -> ReviewOut:
    ensure_scope(curator, ns)
    response.headers["Cache-Control"] = "no-store"
    return _submit(session, "namespace", ns, version, curator, body.comment if body else None)


@router.post(
    "/namespaces/{ns}/versions/{version}/return",
    response_model=ReviewOut,
    responses=_REVIEW,
    summary="Return a submitted draft to its curators with a comment (reviewer)",
)
def return_namespace(
    ns: NsPath,
    version: VersionPath,
    body: ReturnIn,
    session: SessionDep,
    response: Response,
    reviewer: ReviewerDep,
) -> ReviewOut:
    ensure_scope(reviewer, ns)
    response.headers["Cache-Control"] = "no-store"
    return _return(session, "namespace", ns, version, reviewer, body.comment)


@router.post(
    "/namespaces/{ns}/versions/{version}/approve",
    response_model=PublishOut,
    responses=_REVIEW,
    summary="Approve a submitted draft and publish it (reviewer; not the submitter's key)",
)
def approve_namespace(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    reviewer: ReviewerDep,
    body: ApproveIn | None = None,
) -> PublishOut:
    ensure_scope(reviewer, ns)
    rel, diff = _approve(session, "namespace", ns, version, reviewer, body)
    response.headers["Cache-Control"] = "no-store"
    return PublishOut(release=NamespaceVersionOut.model_validate(asdict(rel)), diff=_diff_out(diff))


@router.post(
    "/frameworks/{code}/versions/{version}/submit",
    response_model=ReviewOut,
    responses=_REVIEW,
    summary="Submit a framework draft for review (curator)",
)
def submit_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: SubmitIn | None = None,
) -> ReviewOut:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    response.headers["Cache-Control"] = "no-store"
    return _submit(session, "framework", code, version, curator, body.comment if body else None)


@router.post(
    "/frameworks/{code}/versions/{version}/return",
    response_model=ReviewOut,
    responses=_REVIEW,
    summary="Return a submitted framework draft with a comment (reviewer)",
)
def return_framework(
    code: FwPath,
    version: VersionPath,
    body: ReturnIn,
    session: SessionDep,
    response: Response,
    reviewer: ReviewerDep,
) -> ReviewOut:
    ensure_scope(reviewer, FRAMEWORK_OWNER, loc=("path", "code"))
    response.headers["Cache-Control"] = "no-store"
    return _return(session, "framework", code, version, reviewer, body.comment)


@router.post(
    "/frameworks/{code}/versions/{version}/approve",
    response_model=FrameworkPublishOut,
    responses=_REVIEW,
    summary="Approve a submitted framework draft and publish it (reviewer)",
)
def approve_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    reviewer: ReviewerDep,
    body: ApproveIn | None = None,
) -> FrameworkPublishOut:
    ensure_scope(reviewer, FRAMEWORK_OWNER, loc=("path", "code"))
    doc, diff = _approve(session, "framework", code, version, reviewer, body)
    response.headers["Cache-Control"] = "no-store"
    return FrameworkPublishOut(
        release=FrameworkVersionOut.model_validate(asdict(doc)), diff=_diff_out(diff)
    )


# --- bulk import and export ---------------------------------------------------------------------


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _file_error(exc: bulk.FileError) -> ServiceError:
    loc: list[str | int] = ["body"]
    if exc.row is not None:
        loc += ["row", exc.row]
    if exc.column is not None:
        loc += ["column", exc.column]
    item = ErrorItem(loc=loc, msg=exc.message, type="file")
    if exc.status == 415:
        return UnsupportedMediaType(exc.message, errors=[item])
    return Unprocessable(exc.message, errors=[item])


_UPLOAD_TYPES = {
    "text/csv": {"schema": {"type": "string"}},
    bulk.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}},
}
_DOC_TYPES = {
    k: v for k, v in _UPLOAD_TYPES.items() if k in ("application/yaml", "application/json")
}
RawBody = Annotated[bytes, Depends(_raw_body)]
ContentType = Annotated[str | None, Header(max_length=200)]
ValidateOnly = Annotated[bool, Query(description="check and report without changing the draft")]


def _import(
    session: SessionDep,
    response: Response,
    who: Principal,
    kind: curation.Kind,
    code: str,
    version: str,
    data: bytes,
    content_type: str | None,
    if_match: str | None,
    validate_only: bool,
    comment: str | None,
) -> ImportReportOut:
    """Parse, merge, validate (all problems at once) and — unless validate-only or invalid —
    store with one compare-and-set; a failed import changes nothing."""
    row = curation.version_row(session, kind, code, version, lock=not validate_only)
    service.require_editable(row)
    expected = row.content_hash if validate_only else service.check_if_match(row, if_match)
    before = curation.document_of(row)
    try:
        fmt = bulk.format_of(content_type)
        if kind == "framework":
            if fmt not in ("yaml", "json"):
                raise bulk.FileError(
                    415, "a framework is imported as YAML or JSON (the sheet form is export-only)"
                )
            after, results = bulk.merge_framework_document(before, bulk.read_document(data, fmt))
        elif fmt in ("csv", "xlsx"):
            after, results = bulk.merge_sheet(before, bulk.read_sheet(data, fmt))
        else:
            after, results = bulk.merge_document(before, bulk.read_document(data, fmt))
    except bulk.FileError as exc:
        raise _file_error(exc) from exc
    problems: list[ErrorItem] = []
    row_errors = [
        ErrorItem(
            loc=["body", r.section, r.row, e.column or r.section],
            msg=f"row {r.row}{f', column {e.column}' if e.column else ''}: {e.msg}",
            type=e.type,
        )
        for r in results
        for e in r.errors
    ]
    if not row_errors:
        try:
            if kind == "namespace":
                service.validate_namespace_draft(session, code, row.version, after)
            else:
                service.validate_framework_draft(session, code, row.version, after)
        except Unprocessable as exc:
            problems = exc.errors
    report = ImportReportOut.build(
        fmt, validate_only, results, problems, applied=False, content_hash=row.content_hash
    )
    response.headers["Cache-Control"] = "no-store"
    if row_errors or problems:
        if validate_only:
            return report
        raise Unprocessable(
            f"the import has {len(row_errors) + len(problems)} problem(s); nothing was changed",
            errors=row_errors + problems,
        )
    if validate_only:
        response.headers["ETag"] = f'"{row.content_hash}"'
        return report
    ed = curation.store_document(session, kind, code, row, before, after, expected)
    report = report.model_copy(update={"applied": True, "content_hash": ed.content_hash})
    record(
        session,
        who,
        "draft.import",
        object_type=f"{kind}_version",
        object_id=f"{code}@{version}",
        namespace=code if kind == "namespace" else FRAMEWORK_OWNER,
        version=version,
        before={"content_hash": expected},
        after={"content_hash": ed.content_hash, "format": fmt, "counts": report.counts},
        comment=comment,
    )
    response.headers["ETag"] = f'"{ed.content_hash}"'
    return report


_IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_EDIT,
    413: _problem("Body too large"),
    415: _problem("Unsupported content type"),
}


@router.post(
    "/namespaces/{ns}/drafts/{version}/import",
    response_model=ImportReportOut,
    responses=_IMPORT_RESPONSES,
    openapi_extra={"requestBody": {"required": True, "content": _UPLOAD_TYPES}},
    summary="Import a file (YAML, JSON, CSV, XLSX) into a draft, with a per-row report",
)
def import_namespace(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    data: RawBody,
    content_type: ContentType = None,
    if_match: IfMatch = None,
    validate_only: ValidateOnly = False,
    comment: Comment = None,
) -> ImportReportOut:
    ensure_scope(curator, ns)
    return _import(
        session,
        response,
        curator,
        "namespace",
        ns,
        version,
        data,
        content_type,
        if_match,
        validate_only,
        comment,
    )


@router.post(
    "/frameworks/{code}/drafts/{version}/import",
    response_model=ImportReportOut,
    responses=_IMPORT_RESPONSES,
    openapi_extra={"requestBody": {"required": True, "content": _DOC_TYPES}},
    summary="Import a framework document (YAML, JSON) into a draft, with a per-node report",
)
def import_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    data: RawBody,
    content_type: ContentType = None,
    if_match: IfMatch = None,
    validate_only: ValidateOnly = False,
    comment: Comment = None,
) -> ImportReportOut:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    return _import(
        session,
        response,
        curator,
        "framework",
        code,
        version,
        data,
        content_type,
        if_match,
        validate_only,
        comment,
    )


_EXPORT_TYPES = {media: {"schema": {"type": "string"}} for media in bulk.MEDIA_TYPES.values()}
FormatQuery = Annotated[
    Literal["yaml", "json", "csv", "xlsx"] | None, Query(description="default: from Accept")
]
AcceptHeader = Annotated[str | None, Header(max_length=500)]
_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the version as a file", "content": _EXPORT_TYPES},
    404: _problem("Unknown code or version"),
    406: _problem("Accept names no format the export has (and no format parameter is given)"),
}
#: What an export can be, in order of preference (YAML first), with the YAML aliases.
_EXPORT_OFFERS = [*bulk.MEDIA_TYPES.values(), "application/x-yaml", "text/yaml"]


def _negotiate(fmt: bulk.Format | None, accept: str | None) -> bulk.Format:
    """The ``format`` parameter, else the format ``Accept`` prefers (YAML when it accepts
    anything); 406 when ``Accept`` names none of them."""
    if fmt is not None:
        return fmt
    media = best_media(accept, _EXPORT_OFFERS)
    if media is None:
        offered = ", ".join(bulk.MEDIA_TYPES.values())
        raise NotAcceptable(
            f"an export is one of {offered} (or use the format parameter)",
            errors=[
                ErrorItem(
                    loc=["header", "accept"],
                    msg=f"none of {offered} is acceptable",
                    type="not_acceptable",
                )
            ],
        )
    return bulk.format_of(media)


def _file(data: bytes, fmt: bulk.Format, etag: str, name: str) -> Response:
    return Response(
        data,
        media_type=bulk.MEDIA_TYPES[fmt],
        headers={
            "ETag": f'"{etag}"',
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        },
    )


@router.get(
    "/namespaces/{ns}/versions/{version}/export",
    responses=_EXPORT_RESPONSES,
    response_class=Response,
    summary="Export a namespace version as YAML, JSON, CSV or XLSX (format parameter or Accept)",
)
def export_namespace(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    reader: ReaderDep,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    row = service.namespace_draft_row(session, ns, version)
    if row.status in service.UNPUBLISHED:
        _ensure_draft_reader(reader, ns)
    fmt = _negotiate(format, accept)
    data = bulk.export({"namespace": ns, **curation.document_of(row)}, fmt)
    return _file(data, fmt, row.content_hash, f"{ns}-{row.version}")


@router.get(
    "/frameworks/{code}/versions/{version}/export",
    responses=_EXPORT_RESPONSES,
    response_class=Response,
    summary="Export a framework version as YAML, JSON, or a CSV/XLSX sheet of its nodes",
)
def export_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    reader: ReaderDep,
    format: FormatQuery = None,
    accept: AcceptHeader = None,
) -> Response:
    row = service.framework_draft_row(session, code, version)
    if row.status in service.UNPUBLISHED:
        _ensure_draft_reader(reader, FRAMEWORK_OWNER)
    fmt = _negotiate(format, accept)
    data = bulk.export_framework({"framework": code, **curation.document_of(row)}, fmt)
    return _file(data, fmt, row.content_hash, f"{code}-{row.version}")
