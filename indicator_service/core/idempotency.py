"""Idempotency keys for POST requests that create something.

The first response sent for (scope, caller, key) is stored in the same transaction as the
created object; a replay with the same body gets that response again, a replay with a different
body is a 409 problem. ``scope`` names the operation; ``owner_key_id`` is the id of the API key
that sent the request: records are per caller, so another key sending the same
``Idempotency-Key`` makes an unrelated request (it neither replays nor conflicts with the first
caller's). Records stored before migration ``0006_ownership`` have no owner and are never
replayed.

Every create that honours the key runs the same sequence through ``idempotent_create``: check
the key, fingerprint the request, answer a replay with the stored response (writing nothing), or
create (the object and its audit entry, in ``create``) and remember the response.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from indicator_service.core.errors import Conflict, ErrorItem, Unprocessable
from indicator_service.core.i18n import _

MAX_KEY_LENGTH = 200

#: The ``Idempotency-Key`` request header of every create that honours it.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_KEY_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="replays the first response for the same key and body",
    ),
]

T = TypeVar("T")


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


@dataclass(frozen=True)
class Answer(Generic[T]):
    """The response of an idempotent create: its JSON ``body`` (the one stored for the key) and
    ``status_code``; ``made``, whatever else ``create`` hands back to its caller (None when
    ``replayed``: the stored first response is answered and nothing was created)."""

    body: Any
    status_code: int = 201
    made: T | None = None
    replayed: bool = False


def idempotent_create(
    session: Session,
    scope: str,
    key: str | None,
    request: BaseModel | dict[str, Any],
    create: Callable[[], Answer[T]],
    *,
    owner_key_id: int,
) -> Answer[T]:
    """Run ``create`` once per ``key`` of the caller ``owner_key_id`` within ``scope``.

    Without a key, ``create`` runs and its answer is returned. With one: an invalid key is a
    422; ``request`` (what was asked: the body model, or a JSON-able dict of body and path) is
    fingerprinted in its JSON form; the same request again gets the stored answer
    (``replayed``; ``create`` does not run and nothing is written), another request with the
    same key is a 409; a first request runs ``create`` (which writes the object and its audit
    entry) and its answer is stored in the same transaction (two at once: the second is a 409,
    see ``remember``)."""
    if key is None:
        return create()
    key = check_key(key)
    if isinstance(request, BaseModel):
        request = request.model_dump(mode="json")
    fingerprint = request_fingerprint(request)
    replay = find_replay(session, scope, key, fingerprint, owner_key_id=owner_key_id)
    if replay is not None:
        return Answer(replay.response_body, replay.status_code, replayed=True)
    answer = create()
    remember(
        session,
        scope,
        key,
        fingerprint,
        answer.status_code,
        answer.body,
        owner_key_id=owner_key_id,
    )
    return answer
