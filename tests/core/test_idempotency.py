"""core.idempotency.idempotent_create, the one Idempotency-Key sequence of every create: first use,
replay (nothing written, ``create`` not run), another request with the same key (409), an
invalid key (422), another caller, and two requests with the same key at once (409 in flight)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from indicator_service.core.errors import Conflict, Unprocessable
from indicator_service.core.idempotency import (
    Answer,
    IdempotencyRecord,
    idempotent_create,
    request_fingerprint,
)
from tests.dbcount import database_use

OWNER = 7


class Body(BaseModel):
    name: str
    amount: float


@pytest.fixture
def scope() -> str:
    return f"test.idempotency:{uuid4().hex}"


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose writes are rolled back at the end (the scope is unique per test too)."""
    with Session(engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


class Creator:
    """A ``create`` that counts its calls and answers a new body each time."""

    def __init__(self, status_code: int = 201) -> None:
        self.calls = 0
        self.status_code = status_code
        self._ids = count(1)

    def __call__(self) -> Answer[str]:
        self.calls += 1
        n = next(self._ids)
        return Answer({"id": n, "名称": "预算"}, self.status_code, made=f"made {n}")


def _records(session: Session, scope: str) -> list[IdempotencyRecord]:
    return list(session.exec(select(IdempotencyRecord).where(IdempotencyRecord.scope == scope)))


def _run(
    session: Session,
    scope: str,
    key: str | None,
    request: BaseModel | dict[str, Any],
    create: Callable[[], Answer[str]],
    owner: int = OWNER,
) -> Answer[str]:
    return idempotent_create(session, scope, key, request, create, owner_key_id=owner)


def test_without_a_key_create_runs_every_time_and_nothing_is_stored(
    db: Session, scope: str
) -> None:
    create = Creator()
    first = _run(db, scope, None, {"a": 1}, create)
    second = _run(db, scope, None, {"a": 1}, create)
    assert create.calls == 2
    assert (first.body["id"], second.body["id"]) == (1, 2)
    assert not first.replayed
    assert first.made == "made 1"
    assert _records(db, scope) == []


def test_first_use_creates_and_stores_the_answer(db: Session, scope: str) -> None:
    create = Creator(status_code=200)
    request = Body(name="项目", amount=1.5)
    answer = _run(db, scope, "k-1", request, create)
    assert create.calls == 1
    assert answer == Answer({"id": 1, "名称": "预算"}, 200, made="made 1", replayed=False)
    [stored] = _records(db, scope)
    assert (stored.owner_key_id, stored.key, stored.status_code) == (OWNER, "k-1", 200)
    assert stored.response_body == {"id": 1, "名称": "预算"}
    # a body model is fingerprinted in its JSON form
    assert stored.request_hash == request_fingerprint({"name": "项目", "amount": 1.5})


def test_the_same_request_replays_the_stored_answer_and_writes_nothing(
    db: Session, scope: str, engine: Engine
) -> None:
    create = Creator(status_code=200)
    _run(db, scope, "k-1", Body(name="项目", amount=1.5), create)
    db.flush()
    with database_use(engine) as use:
        # the same request as a dict of its JSON form is the same request
        again = _run(db, scope, "k-1", {"amount": 1.5, "name": "项目"}, create)
    assert create.calls == 1
    assert again == Answer({"id": 1, "名称": "预算"}, 200, made=None, replayed=True)
    assert len(use.statements) == 1
    assert use.statements[0].lstrip().upper().startswith("SELECT")
    assert not db.new
    assert not db.dirty
    assert not db.deleted
    assert len(_records(db, scope)) == 1


def test_another_request_with_the_same_key_is_a_409_and_creates_nothing(
    db: Session, scope: str
) -> None:
    create = Creator()
    _run(db, scope, "k-1", {"a": 1}, create)
    with pytest.raises(Conflict) as raised:
        _run(db, scope, "k-1", {"a": 2}, create)
    assert create.calls == 1
    assert raised.value.slug == "idempotency-key-reused"
    assert [e.type for e in raised.value.errors] == ["idempotency_key_reused"]
    assert len(_records(db, scope)) == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\tkey"])
def test_an_invalid_key_is_a_422_before_anything_runs(
    db: Session, scope: str, engine: Engine, key: str
) -> None:
    create = Creator()
    with database_use(engine) as use, pytest.raises(Unprocessable) as raised:
        _run(db, scope, key, {"a": 1}, create)
    assert create.calls == 0
    assert use.statements == []
    assert [e.loc for e in raised.value.errors] == [["header", "Idempotency-Key"]]


def test_another_caller_with_the_same_key_makes_an_unrelated_request(
    db: Session, scope: str
) -> None:
    create = Creator()
    mine = _run(db, scope, "k-1", {"a": 1}, create)
    theirs = _run(db, scope, "k-1", {"a": 2}, create, owner=OWNER + 1)
    assert create.calls == 2
    assert not theirs.replayed
    assert (mine.body["id"], theirs.body["id"]) == (1, 2)
    assert sorted(r.owner_key_id or 0 for r in _records(db, scope)) == [OWNER, OWNER + 1]


def test_a_failing_create_stores_nothing(db: Session, scope: str) -> None:
    def create() -> Answer[str]:
        raise Unprocessable("bad input")

    with pytest.raises(Unprocessable):
        _run(db, scope, "k-1", {"a": 1}, create)
    assert _records(db, scope) == []


def test_two_requests_with_the_same_key_at_once_the_second_is_a_409_in_flight(
    engine: Engine, scope: str
) -> None:
    """Both miss the replay; the one that stores its record second gets the in-flight 409."""

    def create_while_another_finishes() -> Answer[str]:
        with Session(engine) as other:
            _run(other, scope, "k-1", {"a": 1}, Creator())
            other.commit()
        return Answer({"id": 99})

    try:
        with Session(engine) as s:
            with pytest.raises(Conflict) as raised:
                _run(s, scope, "k-1", {"a": 1}, create_while_another_finishes)
            s.rollback()
        assert raised.value.slug == "idempotency-key-in-flight"
        assert raised.value.headers == {"Retry-After": "1"}
    finally:
        with Session(engine) as s:
            for r in _records(s, scope):
                s.delete(r)
            s.commit()
