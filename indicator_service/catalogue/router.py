"""Catalogue read API (``/v1``) and the minimal draft/publish write path.

Every read takes an optional ``version``; unpinned reads use the latest published version.
Responses about a pinned published (or deprecated) version carry
``Cache-Control: public, max-age=…, immutable`` and an ``ETag`` (the content hash); all
others carry ``Cache-Control: no-store`` (unpinned reads can change when a version is
published).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from sqlmodel import Session

from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    AdminDep,
    CuratorDep,
    ReaderDep,
    ReviewerDep,
    ensure_draft_reader,
    ensure_scope,
    get_reader,
)
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import etags, service
from indicator_service.catalogue.artefacts import FRAMEWORK_OWNER
from indicator_service.catalogue.heads import heads
from indicator_service.catalogue.reads import (
    answer,
    no_store,
    not_modified,
    read_published,
    request_text,
    set_cache,
    tag_response,
)
from indicator_service.catalogue.schemas import (
    DiffOut,
    FrameworkList,
    FrameworkOut,
    FrameworkPublishOut,
    FrameworkSummary,
    FrameworkVersionOut,
    IndicatorDetail,
    IndicatorOut,
    IndicatorPage,
    NamespaceList,
    NamespaceOut,
    NamespaceVersionOut,
    PublishIn,
    PublishOut,
    StandardMatchOut,
    StandardOut,
)
from indicator_service.catalogue.source import (
    FRAMEWORK_CODE_RE,
    INDICATOR_CODE_RE,
    NAMESPACE_RE,
    REGION_RE,
    FrameworkDoc,
    NamespaceDoc,
)
from indicator_service.catalogue.versioning import Diff
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import Problem
from indicator_service.core.idempotency import Answer, IdempotencyKeyHeader, idempotent_create
from indicator_service.core.openapi import typed_body, typed_query
from indicator_service.core.querymodel import query_model
from indicator_service.rules.review import StandardType

# Reads of published data are public while INDICATOR_PUBLIC_READS is true (a key that is sent
# is verified); writes need a curator or reviewer key scoped to the namespace. Frameworks
# belong to the finance bureau: writing them needs a key scoped to FRAMEWORK_OWNER.
router = APIRouter(
    prefix="/v1",
    tags=["catalogue"],
    dependencies=[Depends(get_reader)],
    responses=AUTH_RESPONSES,
)


# A draft document: taken as a JSON object and validated by the service (every problem at once,
# 422); the document declares it typed with typed_body (the parameter declares no schema).
DocumentBody = Annotated[dict[str, Any], WithJsonSchema({}), Body()]

_VERSION_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-draft(\.[1-9]\d*)?)?$"


def _problem(text: str) -> dict[str, Any]:
    return {"model": Problem, "description": text, "content": {"application/problem+json": {}}}


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("Unknown code or version")}
_READ: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match tag is the current ETag"},
    **_NOT_FOUND,
}
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=2000,
        description="the ETag of a copy you hold: 304 (no body) while it is current",
    ),
]
_WRITE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: _problem("Published versions are immutable, a draft exists, or the bump is too small"),
}

NsPath = Annotated[str, Path(pattern=NAMESPACE_RE.pattern, description="namespace code")]
FwPath = Annotated[
    str, Path(pattern=FRAMEWORK_CODE_RE.pattern, max_length=40, description="framework code")
]
IndPath = Annotated[
    str, Path(pattern=INDICATOR_CODE_RE.pattern, max_length=40, description="indicator code")
]
VersionPath = Annotated[str, Path(pattern=_VERSION_PATTERN, max_length=40)]
_PIN: dict[str, Any] = {
    "pattern": _VERSION_PATTERN,
    "max_length": 40,
    "description": "pin a version (default: latest)",
}
_SHORT: dict[str, Any] = {"min_length": 1, "max_length": 100, "pattern": r"^[^\x00]*$"}
VersionQuery = Annotated[str | None, Query(**_PIN)]
ShortQuery = Annotated[str | None, Query(**_SHORT)]
# the same constraints as fields of a query model (a route with many query parameters takes
# them as one model: FastAPI resolves each separate parameter per request, a model at once)
VersionField = Annotated[str | None, Field(**_PIN)]
ShortField = Annotated[str | None, Field(**_SHORT)]


def _diff_out(diff: Diff) -> DiffOut:
    return DiffOut.model_validate(diff.as_dict())


# --- namespaces -----------------------------------------------------------------------------------


@router.get("/namespaces", response_model=NamespaceList, summary="Namespaces and their versions")
def list_namespaces(session: SessionDep, response: Response) -> NamespaceList:
    no_store(response)
    items = [NamespaceOut.model_validate(asdict(n)) for n in service.list_namespaces(session)]
    return NamespaceList(items=items, total=len(items))


@router.get(
    "/namespaces/{ns}", response_model=NamespaceOut, responses=_NOT_FOUND, summary="A namespace"
)
def get_namespace(ns: NsPath, session: SessionDep, response: Response) -> NamespaceOut:
    no_store(response)
    return NamespaceOut.model_validate(asdict(service.get_namespace(session, ns)))


@router.get(
    "/namespaces/{ns}/versions/{version}",
    response_model=NamespaceVersionOut,
    responses=_READ,
    summary="One namespace version: its full document",
)
async def get_namespace_version(
    ns: NsPath,
    version: VersionPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> NamespaceVersionOut | Response:
    return await read_published(
        request, _namespace_version, ns, version, request, response, reader, if_none_match
    )


def _namespace_version(
    session: Session,
    ns: str,
    version: str,
    request: Request,
    response: Response,
    reader: Principal | None,
    if_none_match: str | None,
) -> NamespaceVersionOut | Response:
    tag = etags.namespace_tag(session, ns, version)
    if (unchanged := not_modified(request, if_none_match, tag, pinned=True)) is not None:
        return unchanged
    rel = service.get_namespace_version(session, ns, version)
    if rel.status in service.UNPUBLISHED:
        ensure_draft_reader(reader, ns)
    set_cache(request, response, pinned=True, status_=rel.status, content_hash=rel.content_hash)
    return answer(request, tag, NamespaceVersionOut.model_validate(asdict(rel)), pinned=True)


@router.get(
    "/namespaces/{ns}/diff",
    response_model=DiffOut,
    responses=_NOT_FOUND,
    summary="Differences between two versions of a namespace and the bump they require",
)
def diff_namespace(
    ns: NsPath,
    session: SessionDep,
    response: Response,
    reader: ReaderDep,
    from_: Annotated[str, Query(alias="from", pattern=_VERSION_PATTERN, max_length=40)],
    to: Annotated[str, Query(pattern=_VERSION_PATTERN, max_length=40)],
) -> DiffOut:
    no_store(response)
    diff = service.diff_versions(session, "namespace", ns, from_, to)  # 404 first
    if any(heads(session).namespace(ns, v) is None for v in (from_, to)):
        ensure_draft_reader(reader, ns)  # a draft's content is not public
    return _diff_out(diff)


def _created(
    session: SessionDep,
    scope: str,
    key: str | None,
    create: Callable[[], tuple[dict[str, Any], str]],
    owner: Principal,
) -> JSONResponse:
    """Run ``create`` (→ body, location) once per Idempotency-Key of the caller ``owner``
    (another key's identical Idempotency-Key is an unrelated request); the ETag is the body's
    content hash."""

    def first() -> Answer[None]:
        payload, location = create()
        return Answer({**payload, "_location": location})

    answer: Answer[None] = idempotent_create(
        session, scope, key, {"scope": scope}, first, owner_key_id=owner.owner_id
    )
    body = dict(answer.body)
    location = str(body.pop("_location", ""))
    return JSONResponse(
        body,
        status_code=answer.status_code,
        headers={
            "Location": location,
            "ETag": f'"{body["content_hash"]}"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/namespaces/{ns}/drafts",
    response_model=NamespaceVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE,
    summary="Create a draft from the latest published version (Idempotency-Key replays)",
)
def create_draft(
    ns: NsPath,
    session: SessionDep,
    curator: CuratorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    ensure_scope(curator, ns)

    def create() -> tuple[dict[str, Any], str]:
        rel = service.create_draft(session, curator, "namespace", ns)
        out = NamespaceVersionOut.model_validate(asdict(rel)).model_dump(mode="json")
        return out, f"/v1/namespaces/{ns}/versions/{rel.version}"

    return _created(session, f"catalogue.namespace-draft:{ns}", idempotency_key, create, curator)


@router.put(
    "/namespaces/{ns}/drafts/{version}",
    response_model=NamespaceVersionOut,
    responses={
        **_WRITE,
        412: _problem("Stale If-Match"),
        428: _problem("If-Match missing"),
    },
    summary="Replace a draft's document (drafts only; published versions give 409)",
    openapi_extra=typed_body(NamespaceDoc, description="the namespace document"),
)
def put_draft(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    document: DocumentBody,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> NamespaceVersionOut:
    ensure_scope(curator, ns)
    rel = service.replace_draft(session, curator, "namespace", ns, version, document, if_match)
    response.headers["ETag"] = f'"{rel.content_hash}"'
    response.headers["Cache-Control"] = "no-store"
    return NamespaceVersionOut.model_validate(asdict(rel))


@router.post(
    "/namespaces/{ns}/versions/{version}/publish",
    response_model=PublishOut,
    responses=_WRITE,
    summary="Publish a draft directly, bypassing review (admin only; reviewers use …/approve)",
)
def publish(
    ns: NsPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    reviewer: AdminDep,
    body: PublishIn | None = None,
) -> PublishOut:
    ensure_scope(reviewer, ns)
    target = body.version if body else None
    rel, diff = service.publish(session, reviewer, "namespace", ns, version, target)
    response.headers["Cache-Control"] = "no-store"
    return PublishOut(release=NamespaceVersionOut.model_validate(asdict(rel)), diff=_diff_out(diff))


@router.post(
    "/namespaces/{ns}/versions/{version}/deprecate",
    response_model=NamespaceVersionOut,
    responses=_WRITE,
    summary="Deprecate a published version (it stays readable)",
)
def deprecate(
    ns: NsPath, version: VersionPath, session: SessionDep, response: Response, reviewer: ReviewerDep
) -> NamespaceVersionOut:
    ensure_scope(reviewer, ns)
    rel = service.deprecate(session, reviewer, "namespace", ns, version)
    response.headers["Cache-Control"] = "no-store"
    return NamespaceVersionOut.model_validate(asdict(rel))


# --- indicators -----------------------------------------------------------------------------------


class IndicatorQuery(BaseModel):
    """The query of an indicator search (``GET /v1/indicators``), one model."""

    namespace: str | None = Field(None, pattern=NAMESPACE_RE.pattern)
    version: VersionField = None
    sector: ShortField = None
    level: int | None = Field(None, ge=1, le=4)
    class_l1: ShortField = None
    class_l2: ShortField = None
    project_type: ShortField = None
    value_type: Literal["quantitative", "qualitative", "quantitative_other"] | None = None
    q: ShortField = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/indicators",
    response_model=IndicatorPage,
    responses=_READ,
    summary="Search indicators (latest published versions unless a namespace version is pinned)",
    openapi_extra=typed_query(IndicatorQuery),
)
async def list_indicators(
    request: Request,
    response: Response,
    reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> IndicatorPage | Response:
    query = query_model(request, IndicatorQuery)  # one call (core/querymodel.py)
    no_store(response)
    filters = service.IndicatorFilters(
        namespace=query.namespace,
        version=query.version,
        sector=query.sector,
        level=query.level,
        class_l1=query.class_l1,
        class_l2=query.class_l2,
        project_type=query.project_type,
        value_type=query.value_type,
        q=query.q,
    )
    return await read_published(
        request,
        _indicator_page,
        filters,
        query.limit,
        query.offset,
        request,
        response,
        reader,
        if_none_match,
    )


def _indicator_page(
    session: Session,
    filters: service.IndicatorFilters,
    limit: int,
    offset: int,
    request: Request,
    response: Response,
    reader: Principal | None,
    if_none_match: str | None,
) -> IndicatorPage | Response:
    tag = etags.search_tag(session, filters, request_text(request))
    if (unchanged := not_modified(request, if_none_match, tag, pinned=False)) is not None:
        return unchanged
    tag_response(response, tag)
    items, total = service.list_indicators(session, filters, limit, offset)
    # a search in a draft (?version=…-draft): its indicators, and even its total, are draft
    # content (the version's namespaces are checked too, so that a page past the end says nothing)
    drafts = {i.namespace for i in items if i.namespace_status in service.UNPUBLISHED}
    if filters.version is not None:
        snapshot = heads(session)
        for code, versions in snapshot.namespaces.items():
            head = versions.get(filters.version)
            in_search = filters.namespace in (None, code)
            if in_search and head is not None and not head.readable:
                drafts.add(code)
    for ns in sorted(drafts):
        ensure_draft_reader(reader, ns)
    nxt = None
    if offset + len(items) < total:
        params = dict(request.query_params)
        params.update({"limit": str(limit), "offset": str(offset + limit)})
        nxt = f"{request.url.path}?{urlencode(params)}"
    page = IndicatorPage(
        items=[IndicatorOut.model_validate(asdict(i)) for i in items],
        total=total,
        limit=limit,
        offset=offset,
        next=nxt,
    )
    return answer(request, tag, page, pinned=False)


@router.get(
    "/indicators/{code}",
    response_model=IndicatorDetail,
    responses=_READ,
    summary="One indicator with its standards",
)
async def get_indicator(
    code: IndPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    version: VersionQuery = None,
    if_none_match: IfNoneMatch = None,
) -> IndicatorDetail | Response:
    return await read_published(
        request, _indicator, code, request, response, version, reader, if_none_match
    )


def _indicator(
    session: Session,
    code: str,
    request: Request,
    response: Response,
    version: str | None,
    reader: Principal | None,
    if_none_match: str | None,
) -> IndicatorDetail | Response:
    tag = etags.indicator_tag(session, code, version, request_text(request))
    if (unchanged := not_modified(request, if_none_match, tag, pinned=False)) is not None:
        return unchanged
    ind = service.get_indicator(session, code, version)
    if ind.namespace_status in service.UNPUBLISHED:  # read in a draft (?version=…-draft)
        ensure_draft_reader(reader, ind.namespace)
    standards = service.standards_for(session, code, version)
    # standards may come from other namespaces' latest versions: never immutable
    no_store(response)
    tag_response(response, tag)
    detail = IndicatorDetail(
        indicator=IndicatorOut.model_validate(asdict(ind)),
        standards=[StandardOut.model_validate(asdict(s)) for s in standards],
    )
    return answer(request, tag, detail, pinned=False)


class StandardContext(BaseModel):
    """The query of a standard lookup (``GET /v1/indicators/{code}/standard``), one model."""

    model_config = ConfigDict(frozen=True)

    type: StandardType | None = Field(None, description="standard type")
    region: str | None = Field(None, pattern=REGION_RE.pattern, description="GB/T 2260 code")
    fiscal_year: int | None = Field(None, ge=1990, le=2100)
    sector: ShortField = None
    project_type: ShortField = None
    version: VersionField = None
    include_illustrative: bool = Field(
        False, description="also consider illustrative rows (values no public document gives)"
    )


@router.get(
    "/indicators/{code}/standard",
    response_model=StandardMatchOut,
    responses=_READ,
    summary="The best-matching standard for an indicator in a context, and why it matched",
    openapi_extra=typed_query(StandardContext),
)
async def lookup_standard(
    code: IndPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> StandardMatchOut | Response:
    context = query_model(request, StandardContext)  # one call (core/querymodel.py)
    return await read_published(
        request, _standard_match, code, context, request, response, reader, if_none_match
    )


def _standard_match(
    session: Session,
    code: str,
    context: StandardContext,
    request: Request,
    response: Response,
    reader: Principal | None,
    if_none_match: str | None,
) -> StandardMatchOut | Response:
    version = context.version
    tag = etags.indicator_tag(session, code, version, request_text(request))
    if (unchanged := not_modified(request, if_none_match, tag, pinned=False)) is not None:
        return unchanged
    no_store(response)
    tag_response(response, tag)
    ind = service.get_indicator(session, code, version)  # 404 for an unknown indicator
    if ind.namespace_status in service.UNPUBLISHED:  # read in a draft (?version=…-draft)
        ensure_draft_reader(reader, ind.namespace)
    m = service.resolve_standard(
        session,
        code,
        type=context.type,
        region=context.region,
        fiscal_year=context.fiscal_year,
        sector=context.sector,
        project_type=context.project_type,
        namespace_version=version,
        include_illustrative=context.include_illustrative,
    )
    found = StandardMatchOut(
        match=StandardOut.model_validate(asdict(m.row)),
        why=m.why,
        candidates=[StandardOut.model_validate(asdict(c)) for c in m.candidates],
    )
    return answer(request, tag, found, pinned=False)


# --- frameworks -----------------------------------------------------------------------------------


@router.get("/frameworks", response_model=FrameworkList, summary="Frameworks and their versions")
def list_frameworks(session: SessionDep, response: Response) -> FrameworkList:
    no_store(response)
    items = [FrameworkSummary.model_validate(asdict(f)) for f in service.list_frameworks(session)]
    return FrameworkList(items=items, total=len(items))


@router.get(
    "/frameworks/{code}",
    response_model=FrameworkOut,
    responses=_READ,
    summary="A framework's full tree (latest published unless pinned)",
)
async def get_framework(
    code: FwPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    version: VersionQuery = None,
    if_none_match: IfNoneMatch = None,
) -> FrameworkOut | Response:
    return await read_published(
        request, _framework, code, version, request, response, reader, if_none_match
    )


@router.get(
    "/frameworks/{code}/versions/{version}",
    response_model=FrameworkOut,
    responses=_READ,
    summary="One framework version's full tree",
)
async def get_framework_version(
    code: FwPath,
    version: VersionPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> FrameworkOut | Response:
    return await read_published(
        request, _framework, code, version, request, response, reader, if_none_match
    )


def _framework(
    session: Session,
    code: str,
    version: str | None,
    request: Request,
    response: Response,
    reader: Principal | None,
    if_none_match: str | None,
) -> FrameworkOut | Response:
    pinned = version is not None
    tag = etags.framework_tag(session, code, version)
    if (unchanged := not_modified(request, if_none_match, tag, pinned=pinned)) is not None:
        return unchanged
    rel = service.get_framework(session, code, version)
    if rel.status in service.UNPUBLISHED:  # a draft's tree: as its document (…/document)
        ensure_draft_reader(reader, FRAMEWORK_OWNER)
    set_cache(request, response, pinned=pinned, status_=rel.status, content_hash=rel.content_hash)
    return answer(request, tag, FrameworkOut.model_validate(asdict(rel)), pinned=pinned)


@router.get(
    "/frameworks/{code}/diff",
    response_model=DiffOut,
    responses=_NOT_FOUND,
    summary="Differences between two versions of a framework and the bump they require",
)
def diff_framework(
    code: FwPath,
    session: SessionDep,
    response: Response,
    reader: ReaderDep,
    from_: Annotated[str, Query(alias="from", pattern=_VERSION_PATTERN, max_length=40)],
    to: Annotated[str, Query(pattern=_VERSION_PATTERN, max_length=40)],
) -> DiffOut:
    no_store(response)
    diff = service.diff_versions(session, "framework", code, from_, to)  # 404 first
    if any(heads(session).framework(code, v) is None for v in (from_, to)):
        ensure_draft_reader(reader, FRAMEWORK_OWNER)  # a draft's content is not public
    return _diff_out(diff)


@router.get(
    "/frameworks/{code}/versions/{version}/document",
    response_model=FrameworkVersionOut,
    responses=_READ,
    summary="One framework version's source document (what a draft edit replaces)",
)
async def get_framework_document(
    code: FwPath,
    version: VersionPath,
    request: Request,
    response: Response,
    reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> FrameworkVersionOut | Response:
    return await read_published(
        request, _framework_document, code, version, request, response, reader, if_none_match
    )


def _framework_document(
    session: Session,
    code: str,
    version: str,
    request: Request,
    response: Response,
    reader: Principal | None,
    if_none_match: str | None,
) -> FrameworkVersionOut | Response:
    tag = etags.framework_tag(session, code, version)
    if (unchanged := not_modified(request, if_none_match, tag, pinned=True)) is not None:
        return unchanged
    doc = service.get_framework_document(session, code, version)
    if doc.status in service.UNPUBLISHED:
        ensure_draft_reader(reader, FRAMEWORK_OWNER)
    set_cache(request, response, pinned=True, status_=doc.status, content_hash=doc.content_hash)
    return answer(request, tag, FrameworkVersionOut.model_validate(asdict(doc)), pinned=True)


@router.post(
    "/frameworks/{code}/drafts",
    response_model=FrameworkVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE,
    summary="Create a framework draft from the latest published version (Idempotency-Key)",
)
def create_framework_draft(
    code: FwPath,
    session: SessionDep,
    curator: CuratorDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))

    def create() -> tuple[dict[str, Any], str]:
        doc = service.create_draft(session, curator, "framework", code)
        out = FrameworkVersionOut.model_validate(asdict(doc)).model_dump(mode="json")
        return out, f"/v1/frameworks/{code}/versions/{doc.version}/document"

    return _created(session, f"catalogue.framework-draft:{code}", idempotency_key, create, curator)


@router.put(
    "/frameworks/{code}/drafts/{version}",
    response_model=FrameworkVersionOut,
    responses={**_WRITE, 412: _problem("Stale If-Match"), 428: _problem("If-Match missing")},
    summary="Replace a framework draft's document (drafts only; published versions give 409)",
    openapi_extra=typed_body(FrameworkDoc, description="the framework document"),
)
def put_framework_draft(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    document: DocumentBody,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> FrameworkVersionOut:
    ensure_scope(curator, FRAMEWORK_OWNER, loc=("path", "code"))
    doc = service.replace_draft(session, curator, "framework", code, version, document, if_match)
    response.headers["ETag"] = f'"{doc.content_hash}"'
    response.headers["Cache-Control"] = "no-store"
    return FrameworkVersionOut.model_validate(asdict(doc))


@router.post(
    "/frameworks/{code}/versions/{version}/publish",
    response_model=FrameworkPublishOut,
    responses=_WRITE,
    summary="Publish a framework draft directly, bypassing review (admin only)",
)
def publish_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    reviewer: AdminDep,
    body: PublishIn | None = None,
) -> FrameworkPublishOut:
    ensure_scope(reviewer, FRAMEWORK_OWNER, loc=("path", "code"))
    target = body.version if body else None
    doc, diff = service.publish(session, reviewer, "framework", code, version, target)
    response.headers["Cache-Control"] = "no-store"
    return FrameworkPublishOut(
        release=FrameworkVersionOut.model_validate(asdict(doc)), diff=_diff_out(diff)
    )


@router.post(
    "/frameworks/{code}/versions/{version}/deprecate",
    response_model=FrameworkVersionOut,
    responses=_WRITE,
    summary="Deprecate a published framework version (it stays readable)",
)
def deprecate_framework(
    code: FwPath,
    version: VersionPath,
    session: SessionDep,
    response: Response,
    reviewer: ReviewerDep,
) -> FrameworkVersionOut:
    ensure_scope(reviewer, FRAMEWORK_OWNER, loc=("path", "code"))
    doc = service.deprecate(session, reviewer, "framework", code, version)
    response.headers["Cache-Control"] = "no-store"
    return FrameworkVersionOut.model_validate(asdict(doc))
