"""Creating, listing, revoking and verifying API keys. Services never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, event, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from indicator_service.audit.service import record
from indicator_service.auth.cache import KEY_CACHE, KeyCache
from indicator_service.auth.keys import generate_key, hash_key, hashes_equal, parse_key
from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.principal import Principal
from indicator_service.auth.schemas import ApiKeyOut, normalise_namespaces, normalise_regions
from indicator_service.core.errors import ErrorItem, NotFound, Unauthorized
from indicator_service.core.i18n import _

AUTH_CHALLENGE = 'Bearer realm="indicator-service"'


def _snapshot(row: ApiKey) -> dict[str, object]:
    """What the audit trail keeps of a key: never its hash."""
    return ApiKeyOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def create_key(
    session: Session,
    *,
    name: str,
    role: Role,
    namespaces: Sequence[str] | None,
    server_secret: str,
    actor: Principal,
    regions: Sequence[str] | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key (hashed) and return its row and the key text, which is not kept.

    ``regions`` (evaluator keys only, codes already validated by the request schema) are the
    region scopes of the stored evaluations the key may read besides its own."""
    scopes = normalise_namespaces(role, list(namespaces) if namespaces else None)
    region_scopes = normalise_regions(role, list(regions) if regions else None)
    generated = generate_key()
    row = ApiKey(
        prefix=generated.prefix,
        key_hash=hash_key(generated.raw, server_secret),
        name=name,
        role=role.value,
        namespaces=scopes,
        regions=region_scopes,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "api_key.create",
        object_type="api_key",
        object_id=str(row.id),
        after=_snapshot(row),
    )
    return row, generated.raw


def list_keys(
    session: Session,
    *,
    role: Role | None = None,
    include_revoked: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[ApiKey], int]:
    conditions = []
    if role is not None:
        conditions.append(col(ApiKey.role) == role.value)
    if not include_revoked:
        conditions.append(col(ApiKey.revoked_at).is_(None))
    total = session.exec(select(func.count()).select_from(ApiKey).where(*conditions)).one()
    rows = session.exec(
        select(ApiKey).where(*conditions).order_by(col(ApiKey.id)).limit(limit).offset(offset)
    ).all()
    return rows, int(total)


def get_key(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(
            _("No API key with id {key_id}", key_id=key_id),
            errors=[ErrorItem(loc=["path", "key_id"], msg=_("unknown key id"), type="not_found")],
        )
    return row


def revoke_key(
    session: Session,
    key_id: int,
    *,
    actor: Principal,
    comment: str | None = None,
    cache: KeyCache = KEY_CACHE,
) -> ApiKey:
    """Revoke a key (idempotent: revoking a revoked key changes nothing and records nothing).

    The key is evicted from ``cache`` (this process's) now and again once the transaction
    commits, so it stops working here at once; other processes notice within
    ``api_key_revocation_check_seconds`` (see ``auth.cache``).
    """
    row = get_key(session, key_id)
    if row.revoked_at is None:
        before = _snapshot(row)
        row.revoked_at = datetime.now(UTC)
        session.add(row)
        session.flush()
        record(
            session,
            actor,
            "api_key.revoke",
            object_type="api_key",
            object_id=str(row.id),
            before=before,
            after=_snapshot(row),
            comment=comment,
        )
    cache.evict_key(key_id)
    event.listen(session, "after_commit", lambda _s: cache.evict_key(key_id), once=True)
    return row


def revoked_since(since: datetime) -> Select[Any]:
    """The ids of the keys revoked at or after ``since``: the query of the revocation check of
    ``auth.cache`` (read by ``core.database.read_rows``)."""
    return sa_select(col(ApiKey.id)).where(col(ApiKey.revoked_at) >= since)


def invalid_key(detail: str, type_: str) -> Unauthorized:
    """The 401 for a key that is unknown or revoked (also when refused from the cache)."""
    return _unauthorized(detail, type_)


def _unauthorized(detail: str, type_: str) -> Unauthorized:
    return Unauthorized(
        detail,
        errors=[ErrorItem(loc=["header", "Authorization"], msg=detail, type=type_)],
        headers={"WWW-Authenticate": f'{AUTH_CHALLENGE}, error="invalid_token"'},
        slug="invalid-api-key",
    )


def principal_of(row: ApiKey) -> Principal:
    assert row.id is not None
    return Principal(
        key_id=row.id,
        name=row.name,
        role=Role(row.role),
        namespaces=tuple(row.namespaces),
        regions=tuple(row.regions or ()),
    )


def authenticate(session: Session, raw: str, key_hash: str) -> Principal:
    """The principal of a well-formed key, or 401 (unknown or revoked). Touches last_used_at."""
    parsed = parse_key(raw)
    if parsed is None:
        raise _unauthorized(
            _("The API key is malformed: expected isk_<12 hex characters>_<43 characters>"),
            "malformed_key",
        )
    row = session.exec(select(ApiKey).where(col(ApiKey.prefix) == parsed.prefix)).first()
    if row is None or not hashes_equal(row.key_hash, key_hash):
        raise _unauthorized(_("The API key is not recognised"), "unknown_key")
    if row.revoked_at is not None:
        raise _unauthorized(_("The API key has been revoked"), "revoked_key")
    row.last_used_at = datetime.now(UTC)
    session.add(row)
    return principal_of(row)
