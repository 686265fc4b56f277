"""Curation API (``/v1``), files: import a file into a draft (per-row report) and export a
version as YAML, JSON, CSV or XLSX. Registered after :mod:`.curation_router` (the order of the
API document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    CuratorDep,
    ReaderDep,
    ensure_draft_reader,
    ensure_scope,
    get_reader,
)
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import bulk, curation, service
from indicator_service.catalogue.artefacts import FRAMEWORK_OWNER, UNPUBLISHED, Kind
from indicator_service.catalogue.curation_router import _EDIT, Comment, IfMatch
from indicator_service.catalogue.router import (
    FwPath,
    NsPath,
    VersionPath,
    _problem,
)
from indicator_service.catalogue.schemas import ImportReportOut
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import ErrorItem, NotAcceptable
from indicator_service.core.i18n import _
from indicator_service.core.jsonbody import best_media
from indicator_service.core.upload import upload_content, uploaded_file

router = APIRouter(
    prefix="/v1",
    tags=["curation"],
    dependencies=[Depends(get_reader)],
    responses=AUTH_RESPONSES,
)


# --- bulk import and export ---------------------------------------------------------------------


_RAW_TYPES = {
    "text/csv": {"schema": {"type": "string"}},
    bulk.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    "application/yaml": {"schema": {"type": "string"}},
    "application/json": {"schema": {"type": "object"}},
}
_UPLOAD_TYPES = upload_content(
    _RAW_TYPES, "the file (YAML, JSON, CSV or XLSX; its part's content type or name says which)"
)
_DOC_TYPES = upload_content(
    {k: v for k, v in _RAW_TYPES.items() if k in ("application/yaml", "application/json")},
    "the framework document (YAML or JSON)",
)
# The raw body and its Content-Type, or the ``file`` part of a multipart/form-data body (the
# part's type is checked with the draft's existence first: 404, then 415 as for a raw body).
Upload = Annotated[tuple[bytes, str | None], Depends(uploaded_file)]
ValidateOnly = Annotated[bool, Query(description="check and report without changing the draft")]


def _import(
    session: SessionDep,
    response: Response,
    who: Principal,
    kind: Kind,
    code: str,
    version: str,
    data: bytes,
    content_type: str | None,
    if_match: str | None,
    validate_only: bool,
    comment: str | None,
) -> ImportReportOut:
    report = service.import_file(
        session, who, kind, code, version, data, content_type, if_match, validate_only, comment
    )
    response.headers["Cache-Control"] = "no-store"
    if report.valid:
        response.headers["ETag"] = f'"{report.content_hash}"'
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
    upload: Upload,
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
        *upload,
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
    upload: Upload,
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
        *upload,
        if_match,
        validate_only,
        comment,
    )


# Binary, so that generators hand the file over as bytes (a string schema made them decode it).
# XLSX first: generators parse the answer as the first media type declared (and a JSON one
# as JSON), so a generated client hands over every format's bytes as they are.
_EXPORT_TYPES = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in sorted(bulk.MEDIA_TYPES.values(), key=lambda m: m != bulk.XLSX_TYPE)
}
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
            _("an export is one of {offered} (or use the format parameter)", offered=offered),
            errors=[
                ErrorItem(
                    loc=["header", "accept"],
                    msg=_("none of {offered} is acceptable", offered=offered),
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
    row = service.version_row(session, "namespace", ns, version)
    if row.status in UNPUBLISHED:
        ensure_draft_reader(reader, ns)
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
    row = service.version_row(session, "framework", code, version)
    if row.status in UNPUBLISHED:
        ensure_draft_reader(reader, FRAMEWORK_OWNER)
    fmt = _negotiate(format, accept)
    data = bulk.export_framework({"framework": code, **curation.document_of(row)}, fmt)
    return _file(data, fmt, row.content_hash, f"{code}-{row.version}")
