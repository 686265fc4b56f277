"""Curation API (``/v1``): fine-grained draft edits and review (file import and export:
:mod:`.bulk_router`). Handlers parse, call :mod:`.service` (which audits) and answer.

Edits need a curator key scoped to the namespace (frameworks: to ``common``) and ``If-Match``
with the draft's ETag (its content hash): 428 without it, 412 when stale. The draft is the unit
of concurrency: every edit response carries the draft's new ETag.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import WithJsonSchema

from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    CuratorDep,
    CuratorOrReviewerDep,
    ReaderDep,
    ReviewerDep,
    ensure_draft_reader,
    ensure_scope,
    get_reader,
)
from indicator_service.catalogue import curation, edits, review, service
from indicator_service.catalogue.artefacts import FRAMEWORK_OWNER, UNPUBLISHED, Kind
from indicator_service.catalogue.router import (
    FwPath,
    IndPath,
    NsPath,
    VersionPath,
    _diff_out,
    _problem,
)
from indicator_service.catalogue.schemas import (
    ApproveIn,
    DraftEditOut,
    FrameworkPublishOut,
    FrameworkVersionOut,
    IndicatorPatch,
    NamespaceVersionOut,
    NodePatch,
    PublishOut,
    ReturnIn,
    ReviewList,
    ReviewOut,
    StandardItemOut,
    StandardItemsOut,
    StandardPatch,
    SubmitIn,
)
from indicator_service.catalogue.source import NODE_CODE_RE, IndicatorDef, NodeDef, StandardDef
from indicator_service.core.database import SessionDep
from indicator_service.core.openapi import typed_body

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
# Bodies are taken as JSON objects and validated by the edit (catalogue/edits.py), which answers
# every problem at once; the document declares them typed with typed_body (the parameters
# declare no schema of their own, so the two do not mix).
_ITEM = "the item (source format)"
_PATCH = "JSON merge patch (RFC 7396): fields to change; null removes a field"
_MERGE_PATCH = "application/merge-patch+json"
ItemBody = Annotated[dict[str, Any], WithJsonSchema({}), Body()]
PatchBody = Annotated[dict[str, Any], WithJsonSchema({}), Body(media_type=_MERGE_PATCH)]


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


# --- namespace items ----------------------------------------------------------------------------


@router.post(
    "/namespaces/{ns}/drafts/{version}/indicators",
    response_model=DraftEditOut,
    status_code=status.HTTP_201_CREATED,
    responses=_EDIT,
    summary="Add an indicator to a draft",
    openapi_extra=typed_body(IndicatorDef, description=_ITEM),
)
def add_indicator(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: ItemBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed, item = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        lambda d: edits.add_indicator(d, body),
        action="indicator.create",
        object_id=lambda ed: str(edits.find_indicator(ed.after, str(body.get("code")))["code"]),
        before=lambda _d: None,
        after=lambda d: edits.find_indicator(d, str(body.get("code"))),
        comment=comment,
    )
    return _edited(
        response, ed, item, item["code"], 201, f"/v1/indicators/{item['code']}?version={version}"
    )


@router.patch(
    "/namespaces/{ns}/drafts/{version}/indicators/{code}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Change an indicator of a draft (JSON merge patch)",
    openapi_extra=typed_body(IndicatorPatch, media_type=_MERGE_PATCH, description=_PATCH),
)
def patch_indicator(
    ns: NsPath,
    version: VersionPath,
    code: IndPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: PatchBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    ed, after = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        lambda d: edits.patch_indicator(d, code, body),
        action="indicator.update",
        object_id=lambda _ed: code,
        before=lambda d: edits.find_indicator(d, code),
        after=lambda d: edits.find_indicator(d, code),
        comment=comment,
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
    ed, _ = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        lambda d: edits.retire_indicator(d, code),
        action="indicator.retire",
        object_id=lambda _ed: code,
        before=lambda d: edits.find_indicator(d, code),
        after=lambda _d: None,
        comment=comment,
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
    row = service.version_row(session, "namespace", ns, version)
    if row.status in UNPUBLISHED:
        ensure_draft_reader(reader, ns)
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
    openapi_extra=typed_body(StandardDef, description=_ITEM),
)
def add_standard(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: ItemBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    new_id: list[str] = []

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        out, sid = edits.add_standard(doc, body)
        new_id.append(sid)
        return out

    ed, item = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        mutate,
        action="standard.create",
        object_id=lambda _ed: new_id[0],
        before=lambda _d: None,
        after=lambda d: edits.find_standard(d, new_id[0]),
        comment=comment,
    )
    return _edited(
        response, ed, item, new_id[0], 201, f"/v1/namespaces/{ns}/versions/{version}/standards"
    )


@router.patch(
    "/namespaces/{ns}/drafts/{version}/standards/{sid}",
    response_model=DraftEditOut,
    responses=_EDIT,
    summary="Change a standard row of a draft (JSON merge patch; its id follows its identity)",
    openapi_extra=typed_body(StandardPatch, media_type=_MERGE_PATCH, description=_PATCH),
)
def patch_standard(
    ns: NsPath,
    version: VersionPath,
    sid: StandardId,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: PatchBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, ns)
    new_id: list[str] = []

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        out, new = edits.patch_standard(doc, sid, body)
        new_id.append(new)
        return out

    ed, after = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        mutate,
        action="standard.update",
        object_id=lambda _ed: sid,
        before=lambda d: edits.find_standard(d, sid),
        after=lambda d: edits.find_standard(d, new_id[0]),
        comment=comment,
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
    ed, _ = service.edit_item(
        session,
        curator,
        "namespace",
        ns,
        version,
        if_match,
        lambda d: edits.retire_standard(d, sid),
        action="standard.retire",
        object_id=lambda _ed: sid,
        before=lambda d: edits.find_standard(d, sid),
        after=lambda _d: None,
        comment=comment,
    )
    return _edited(response, ed, None, sid)


# --- framework nodes ----------------------------------------------------------------------------


@router.post(
    "/frameworks/{code}/drafts/{version}/nodes",
    response_model=DraftEditOut,
    status_code=status.HTTP_201_CREATED,
    responses=_EDIT,
    summary="Add a node to a framework draft",
    openapi_extra=typed_body(NodeDef, description=_ITEM),
)
def add_node(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: ItemBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    ed, item = service.edit_item(
        session,
        curator,
        "framework",
        code,
        version,
        if_match,
        lambda d: edits.add_node(d, body),
        action="node.create",
        object_id=lambda ed: f"{code}/{edits.find_node(ed.after, str(body.get('code')))['code']}",
        before=lambda _d: None,
        after=lambda d: edits.find_node(d, str(body.get("code"))),
        comment=comment,
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
    openapi_extra=typed_body(NodePatch, media_type=_MERGE_PATCH, description=_PATCH),
)
def patch_node(
    code: FwPath,
    version: VersionPath,
    node: NodePath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    body: PatchBody,
    if_match: IfMatch = None,
    comment: Comment = None,
) -> Any:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    ed, after = service.edit_item(
        session,
        curator,
        "framework",
        code,
        version,
        if_match,
        lambda d: edits.patch_node(d, node, body),
        action="node.update",
        object_id=lambda _ed: f"{code}/{node}",
        before=lambda d: edits.find_node(d, node),
        after=lambda d: edits.find_node(d, node),
        comment=comment,
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
    ed, _ = service.edit_item(
        session,
        curator,
        "framework",
        code,
        version,
        if_match,
        lambda d: edits.retire_node(d, node),
        action="node.retire",
        object_id=lambda _ed: f"{code}/{node}",
        before=lambda d: edits.find_node(d, node),
        after=lambda _d: None,
        comment=comment,
    )
    return _edited(response, ed, None, node)


# --- review -------------------------------------------------------------------------------------


def _review_out(state: review.ReviewState) -> ReviewOut:
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
    def may_see(kind: Kind, code: str) -> bool:
        return who.may_act_on(code if kind == "namespace" else FRAMEWORK_OWNER)

    states = review.review_queue(session, sorted(set(status_)), may_see)
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
    return _review_out(review.read_review(session, "namespace", ns, version))


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
    return _review_out(review.read_review(session, "framework", code, version))


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
    comment = body.comment if body else None
    return _review_out(service.submit(session, curator, "namespace", ns, version, comment))


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
    return _review_out(
        service.return_draft(session, reviewer, "namespace", ns, version, body.comment)
    )


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
    target, comment = (body.version, body.comment) if body else (None, None)
    rel, diff = service.approve(session, reviewer, "namespace", ns, version, target, comment)
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
    comment = body.comment if body else None
    return _review_out(service.submit(session, curator, "framework", code, version, comment))


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
    state = service.return_draft(session, reviewer, "framework", code, version, body.comment)
    return _review_out(state)


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
    target, comment = (body.version, body.comment) if body else (None, None)
    doc, diff = service.approve(session, reviewer, "framework", code, version, target, comment)
    response.headers["Cache-Control"] = "no-store"
    return FrameworkPublishOut(
        release=FrameworkVersionOut.model_validate(asdict(doc)), diff=_diff_out(diff)
    )
