"""The owner-scoped store (scoring/owned.py) on stored evaluations: a record by id for its
owner and for a key whose region scope covers it, a 404 (the same whether the id exists or not)
for anyone else; a page filtered and kept to what the caller may read; one query for a record,
two for a page. Rolled back: nothing stays in the session's database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, col

from indicator_service.auth import service as keys
from indicator_service.auth.models import Role
from indicator_service.auth.principal import CLI_OPERATOR, Principal
from indicator_service.core.errors import NotFound
from indicator_service.core.i18n import CHINESE, language
from indicator_service.scoring.models import Evaluation
from indicator_service.scoring.owned import equal_to, find_owned, get_owned, owned_page
from indicator_service.scoring.ownership import readable_by


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
        session.rollback()


def _principal(session: Session, regions: list[str] | None = None) -> Principal:
    row, _raw = keys.create_key(
        session,
        name=f"owned {uuid.uuid4().hex[:6]}",
        role=Role.evaluator,
        namespaces=None,
        server_secret="s" * 32,
        actor=CLI_OPERATOR,
        regions=regions,
    )
    return Principal(
        key_id=row.id,
        name=row.name,
        role=Role.evaluator,
        namespaces=("*",),
        regions=tuple(regions or ()),
    )


def _store(session: Session, owner: Principal, project: str, region: str) -> int:
    ev = Evaluation(
        framework_code="T",
        framework_version="1.0.0",
        project=project,
        region=region,
        input_hash="0" * 64,
        request={},
        result={},
        owner_key_id=owner.owner_id,
    )
    session.add(ev)
    session.flush()
    assert ev.id is not None
    return ev.id


class Statements:
    """Counts the SQL statements an engine runs while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _count(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_a_record_for_its_owner_and_its_region_scope_else_404(db: Session, engine: Engine) -> None:
    owner, stranger = _principal(db), _principal(db)
    province, other = _principal(db, ["330000"]), _principal(db, ["320000"])
    eid = _store(db, owner, f"P-{uuid.uuid4().hex[:8]}", "330102")
    for reader in (owner, province):
        assert find_owned(db, Evaluation, eid, readable_by(reader)) is not None
    for reader in (stranger, other):
        assert find_owned(db, Evaluation, eid, readable_by(reader)) is None
    with Statements(engine) as run:
        row = get_owned(db, Evaluation, eid, readable_by(province), "no", param="evaluation_id")
    assert (row.id, run.count) == (eid, 1)
    with language(CHINESE), pytest.raises(NotFound) as refused:
        get_owned(db, Evaluation, eid, readable_by(stranger), "没有评价", param="evaluation_id")
    with pytest.raises(NotFound) as absent:
        get_owned(db, Evaluation, 2**31 - 2, readable_by(owner), "no", param="evaluation_id")
    assert refused.value.detail == "没有评价"
    assert [(e.loc, e.msg, e.type) for e in refused.value.errors] == [
        (["path", "evaluation_id"], "未找到", "not_found")
    ]
    assert [(e.loc, e.msg, e.type) for e in absent.value.errors] == [
        (["path", "evaluation_id"], "not found", "not_found")
    ]
    locked = find_owned(db, Evaluation, eid, readable_by(owner), lock=True)
    assert locked is not None
    assert locked.id == eid


def test_a_page_of_what_the_caller_may_read(db: Session, engine: Engine) -> None:
    owner, province = _principal(db), _principal(db, ["330000"])
    tag = f"P-{uuid.uuid4().hex[:8]}"
    ids = [_store(db, owner, tag, region) for region in ("330102", "320102", "330100", "330000")]
    theirs = _store(db, province, tag, "110000")
    same_project = equal_to((col(Evaluation.project), tag), (col(Evaluation.unit), None))
    assert len(same_project) == 1  # None: no filter

    def page(reader: Principal, limit: int, offset: int) -> tuple[int, list[int | None]]:
        total, rows = owned_page(
            db, Evaluation, [*same_project, *readable_by(reader)], limit=limit, offset=offset
        )
        return total, [r.id for r in rows]

    assert page(owner, 10, 0) == (4, ids)
    with Statements(engine) as run:
        assert page(province, 2, 1) == (4, [ids[2], ids[3]])  # id order, 320102 not in scope
    assert run.count == 2
    assert page(province, 10, 0) == (4, [ids[0], ids[2], ids[3], theirs])
    assert page(owner, 10, 4) == (4, [])
