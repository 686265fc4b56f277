"""Idempotency keys for POST requests that create something.

The first response sent for (scope, caller, key) is stored in the same transaction as the
created object; a replay with the same body gets that response again, a replay with a different
body is a 409 problem. ``scope`` names the operation; ``owner_key_id`` is the id of the API key
that sent the request: records are per caller, so another key sending the same
``Idempotency-Key`` makes an unrelated request (it neither replays nor conflicts with the first
caller's). Records stored before migration ``0006_ownership`` have no owner and are never
replayed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from indicator_service.core.errors import Conflict, ErrorItem, Unprocessable
from indicator_service.core.i18n import _

MAX_KEY_LENGTH = 200


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("scope", "owner_key_id", "key", name="uq_idempotency_scope_owner_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=200)
    owner_key_id: int | None = Field(default=None)
    key: str = Field(max_length=MAX_KEY_LENGTH)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: Any = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def request_fingerprint(payload: Any) -> str:
    """SHA-256 of the canonical JSON form of a request body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Unprocessable(
            _("Idempotency-Key must be 1–200 printable characters"),
            errors=[
                ErrorItem(
                    loc=["header", "Idempotency-Key"], msg=_("invalid key"), type="value_error"
                )
            ],
        )
    return key


def find_replay(
    session: Session, scope: str, key: str, request_hash: str, *, owner_key_id: int
) -> IdempotencyRecord | None:
    """The stored first response of this caller for this key, or None. A different body is a
    409. Only the records of ``owner_key_id`` (the calling API key) are looked at."""
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.owner_key_id == owner_key_id,
            IdempotencyRecord.key == key,
        )
    ).first()
    if record is not None and record.request_hash != request_hash:
        raise Conflict(
            _("This Idempotency-Key was already used with a different request body"),
            errors=[
                ErrorItem(
                    loc=["header", "Idempotency-Key"],
                    msg=_("key reused with another body"),
                    type="idempotency_key_reused",
                )
            ],
            slug="idempotency-key-reused",
        )
    return record


def remember(
    session: Session,
    scope: str,
    key: str,
    request_hash: str,
    status_code: int,
    body: Any,
    *,
    owner_key_id: int,
) -> None:
    """Store the first response of the caller ``owner_key_id`` (in the caller's transaction).

    Two requests with the same key running at once (on two replicas, say) both miss the
    replay; the second one to insert its record violates the unique key and gets a 409 problem,
    and its transaction (the object it created too) is rolled back. A retry gets the replay."""
    session.add(
        IdempotencyRecord(
            scope=scope,
            owner_key_id=owner_key_id,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response_body=body,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            _("A request with this Idempotency-Key is being processed concurrently; retry it"),
            headers={"Retry-After": "1"},
            errors=[
                ErrorItem(
                    loc=["header", "Idempotency-Key"],
                    msg=_("concurrent request with the same key"),
                    type="idempotency_key_in_flight",
                )
            ],
            slug="idempotency-key-in-flight",
        ) from exc
