"""Key management for administrators: ``/v1/api-keys``.

Creating a key does not honour ``Idempotency-Key``: replaying the first response would mean
storing the key in clear. The key is shown once, in the 201 response.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from indicator_service.auth import service
from indicator_service.auth.cache import key_cache
from indicator_service.auth.dependencies import AUTH_RESPONSES, AdminDep
from indicator_service.auth.models import Role
from indicator_service.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    regions_of,
)
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import Problem

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns (PostgreSQL INTEGER)
router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], responses=AUTH_RESPONSES)

KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The key's id")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": Problem,
        "description": "No such key",
        "content": {"application/problem+json": {}},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key (admin); the key is shown only in this response",
)
def create_api_key(
    body: ApiKeyCreate, session: SessionDep, admin: AdminDep, request: Request, response: Response
) -> ApiKeyCreated:
    row, raw = service.create_key(
        session,
        name=body.name,
        role=body.role,
        namespaces=body.namespaces,
        regions=regions_of(body),
        server_secret=request.app.state.settings.secret_key,
        actor=admin,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = f"/v1/api-keys/{row.id}"
    out = ApiKeyOut.model_validate(row, from_attributes=True)
    return ApiKeyCreated(**out.model_dump(), key=raw)


@router.get("", response_model=ApiKeyList, summary="List API keys (admin); never their secrets")
def list_api_keys(
    session: SessionDep,
    _admin: AdminDep,
    response: Response,
    role: Annotated[Role | None, Query(description="Only keys with this role")] = None,
    include_revoked: Annotated[bool, Query(description="Include revoked keys")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> ApiKeyList:
    rows, total = service.list_keys(
        session, role=role, include_revoked=include_revoked, limit=limit, offset=offset
    )
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyList(
        items=[ApiKeyOut.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{key_id}", response_model=ApiKeyOut, responses=NOT_FOUND, summary="One API key (admin)"
)
def get_api_key(
    key_id: KeyId, session: SessionDep, _admin: AdminDep, response: Response
) -> ApiKeyOut:
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyOut.model_validate(service.get_key(session, key_id), from_attributes=True)


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    responses=NOT_FOUND,
    summary="Revoke an API key (admin; idempotent); returns the revoked key",
)
def revoke_api_key(
    key_id: KeyId, session: SessionDep, admin: AdminDep, request: Request, response: Response
) -> ApiKeyOut:
    row = service.revoke_key(session, key_id, actor=admin, cache=key_cache(request.app))
    response.headers["Cache-Control"] = "no-store"
    return ApiKeyOut.model_validate(row, from_attributes=True)
