"""The audit trail: written in the caller's transaction, filterable, scoped, append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from indicator_service.audit.models import AuditEntry
from indicator_service.audit.service import AuditQuery, record
from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.principal import Principal
from indicator_service.core.database import session_scope
from indicator_service.core.idempotency import IdempotencyRecord
from tests.auth.fixtures import KeyFactory, bearer
from tests.helpers import ApiClient, assert_problem

CURATOR = Principal(key_id=None, name="audit-test curator", role=Role.curator, namespaces=("x",))


def _count(engine: Engine, **where: str) -> int:
    with Session(engine) as s:
        query = select(AuditEntry)
        for field, value in where.items():
            query = query.where(getattr(AuditEntry, field) == value)
        return len(s.exec(query).all())


def test_entry_commits_with_the_change(engine: Engine) -> None:
    marker = f"ok-{datetime.now(UTC).timestamp()}"
    with session_scope(engine) as s:
        s.add(
            IdempotencyRecord(
                scope="audit-test", key=marker, request_hash="0" * 64, status_code=201,
                response_body={},
            )
        )  # fmt: skip
        entry = record(
            s,
            CURATOR,
            "thing.create",
            object_type="thing",
            object_id=marker,
            namespace="x",
            version="1.0.0-draft",
            after={
                "name": "新",
                "when": datetime(2026, 1, 2, tzinfo=UTC),
                "nested": Principal(key_id=7, name="n", role=Role.client, namespaces=("*",)),
                "model": AuditQuery(namespace="x"),
            },
            comment="why",
        )
        assert entry.id is not None
    assert _count(engine, object_id=marker) == 1
    with Session(engine) as s:
        stored = s.exec(select(AuditEntry).where(AuditEntry.object_id == marker)).one()
    assert stored.after["name"] == "新"
    assert stored.after["when"] == "2026-01-02T00:00:00Z"
    assert stored.after["nested"] == {
        "key_id": 7,
        "name": "n",
        "role": "client",
        "namespaces": ["*"],
        "regions": [],
    }
    assert stored.after["model"]["namespace"] == "x"
    assert stored.before is None
    assert stored.actor_name == "audit-test curator"
    assert stored.actor_role == "curator"


def test_failed_change_leaves_no_entry(engine: Engine) -> None:
    marker = f"fail-{datetime.now(UTC).timestamp()}"

    def change_that_fails() -> None:
        with session_scope(engine) as s:
            s.add(
                IdempotencyRecord(
                    scope="audit-test", key=marker, request_hash="0" * 64, status_code=201,
                    response_body={},
                )
            )  # fmt: skip
            record(s, CURATOR, "thing.create", object_type="thing", object_id=marker)
            raise RuntimeError("validation failed after the audit entry was added")

    with pytest.raises(RuntimeError, match="validation failed"):
        change_that_fails()
    assert _count(engine, object_id=marker) == 0
    with Session(engine) as s:
        assert (
            s.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == marker)).first() is None
        )


def test_failed_api_change_leaves_no_entry(
    api: ApiClient, admin_key: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose handler fails after ``record`` rolls back the key and its entry."""
    from indicator_service.auth import router as auth_router
    from indicator_service.auth import service as auth_service

    real_create = auth_service.create_key

    def create_then_fail(*args: object, **kwargs: object) -> object:
        real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise auth_service.NotFound("simulated failure after the change")

    monkeypatch.setattr(auth_router.service, "create_key", create_then_fail)
    with Session(engine) as s:
        keys_before = len(s.exec(select(ApiKey)).all())
    entries_before = _count(engine, action="api_key.create")
    r = api.post(
        "/v1/api-keys", json={"name": "rolled back", "role": "client"}, headers=bearer(admin_key)
    )
    assert_problem(r, 404)
    with Session(engine) as s:
        assert len(s.exec(select(ApiKey)).all()) == keys_before
    assert _count(engine, action="api_key.create") == entries_before


def test_entries_are_append_only_in_the_database(engine: Engine) -> None:
    with session_scope(engine) as s:
        entry_id = record(s, CURATOR, "thing.touch", object_type="thing", object_id="ro").id
    for statement in (
        "UPDATE audit_entry SET comment = 'edited' WHERE id = :id",
        "DELETE FROM audit_entry WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement), {"id": entry_id})
    with Session(engine) as s:
        stored = s.get(AuditEntry, entry_id)
        assert stored is not None
        assert stored.comment is None


def _seed_entries(engine: Engine, tag: str) -> dict[str, int]:
    """Five entries in two namespaces by two actors, at known times."""
    base = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
    alice = Principal(key_id=900001, name=f"alice-{tag}", role=Role.curator, namespaces=("*",))
    bob = Principal(key_id=900002, name=f"bob-{tag}", role=Role.reviewer, namespaces=("*",))
    ids: dict[str, int] = {}
    specs = [
        ("a", alice, "draft.create", f"health{tag}", 0),
        ("b", alice, "indicator.update", f"health{tag}", 1),
        ("c", bob, "version.approve", f"health{tag}", 2),
        ("d", alice, "draft.create", f"education{tag}", 3),
        ("e", bob, "version.approve", f"education{tag}", 4),
    ]
    with session_scope(engine) as s:
        for label, who, action, ns, hours in specs:
            # written directly (not through ``record``) to place entries at known times
            entry = AuditEntry(
                at=base + timedelta(hours=hours),
                actor_key_id=who.key_id,
                actor_name=who.name,
                actor_role=who.role.value,
                action=action,
                object_type="namespace_version",
                object_id=f"{ns}@2.0.0",
                namespace=ns,
                version="2.0.0-draft",
                before={"step": hours - 1} if hours else None,
                after={"step": hours},
            )
            s.add(entry)
            s.flush()
            assert entry.id is not None
            ids[label] = entry.id
    return ids


@pytest.fixture(scope="module")
def seeded(database_url: str) -> tuple[str, dict[str, int]]:
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    tag = datetime.now(UTC).strftime("%H%M%S%f")
    ids = _seed_entries(engine, tag)
    engine.dispose()
    return tag, ids


def _ids(api: ApiClient, key: str, **params: object) -> list[int]:
    r = api.get("/v1/audit", params=params, headers=bearer(key))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"]) or params.get("limit")
    return [item["id"] for item in body["items"]]


def test_filters(api: ApiClient, admin_key: str, seeded: tuple[str, dict[str, int]]) -> None:
    tag, e = seeded
    assert _ids(api, admin_key, namespace=f"health{tag}") == [e["c"], e["b"], e["a"]]
    assert _ids(api, admin_key, actor=f"alice-{tag}") == [e["d"], e["b"], e["a"]]
    assert _ids(api, admin_key, actor=f"bob-{tag}", namespace=f"education{tag}") == [e["e"]]
    assert _ids(api, admin_key, action="version.approve", actor=f"bob-{tag}") == [e["e"], e["c"]]
    assert _ids(api, admin_key, object_id=f"education{tag}@2.0.0") == [e["e"], e["d"]]
    assert _ids(
        api, admin_key, object_type="namespace_version", version="2.0.0-draft",
        actor=f"alice-{tag}",
    ) == [e["d"], e["b"], e["a"]]  # fmt: skip
    # time range: [since, until), naive times are UTC, offsets are honoured
    assert _ids(
        api, admin_key, actor=f"alice-{tag}", since="2031-05-01T09:00:00",
        until="2031-05-01T11:00:00Z",
    ) == [e["b"]]  # fmt: skip
    assert _ids(api, admin_key, actor=f"bob-{tag}", since="2031-05-01T18:00:00+08:00") == [
        e["e"],
        e["c"],
    ]  # 18:00+08:00 is 10:00 UTC
    assert _ids(api, admin_key, actor=f"bob-{tag}", until="2031-05-01T10:00:00Z") == []


def test_actor_key_id_filter_and_entry_body(
    api: ApiClient, admin_key: str, seeded: tuple[str, dict[str, int]]
) -> None:
    tag, e = seeded
    r = api.get(
        "/v1/audit",
        params={"actor_key_id": 900002, "namespace": f"health{tag}"},
        headers=bearer(admin_key),
    )
    items = r.json()["items"]
    assert [i["id"] for i in items] == [e["c"]]
    entry = items[0]
    assert entry["at"] in ("2031-05-01T10:00:00Z", "2031-05-01T10:00:00+00:00")
    assert entry["before"] == {"step": 1}
    assert entry["after"] == {"step": 2}
    assert entry["actor_role"] == "reviewer"
    single = api.get(f"/v1/audit/{e['c']}", headers=bearer(admin_key))
    assert single.status_code == 200
    assert single.json() == entry


def test_pagination(api: ApiClient, admin_key: str, seeded: tuple[str, dict[str, int]]) -> None:
    tag, e = seeded
    params = {"actor": f"alice-{tag}", "limit": 2}
    first = api.get("/v1/audit", params=params, headers=bearer(admin_key)).json()
    assert first["total"] == 3
    assert [i["id"] for i in first["items"]] == [e["d"], e["b"]]
    assert first["next"] is not None
    second = api.get(first["next"], headers=bearer(admin_key)).json()
    assert [i["id"] for i in second["items"]] == [e["a"]]
    assert second["offset"] == 2
    assert second["next"] is None


def test_scoped_readers_see_only_their_namespaces(
    api: ApiClient, make_key: KeyFactory, seeded: tuple[str, dict[str, int]]
) -> None:
    tag, e = seeded
    for role in (Role.reviewer, Role.curator):
        key = make_key(role, [f"health{tag}"])
        assert _ids(api, key, actor=f"bob-{tag}") == [e["c"]]
        assert _ids(api, key, namespace=f"health{tag}") == [e["c"], e["b"], e["a"]]
        r = api.get("/v1/audit", params={"namespace": f"education{tag}"}, headers=bearer(key))
        body = assert_problem(r, 403)
        assert body["errors"][0]["loc"] == ["query", "namespace"]
        assert_problem(api.get(f"/v1/audit/{e['e']}", headers=bearer(key)), 404)
        assert api.get(f"/v1/audit/{e['a']}", headers=bearer(key)).status_code == 200
    star = make_key(Role.reviewer, ["*"])
    assert _ids(api, star, actor=f"bob-{tag}") == [e["e"], e["c"]]


@pytest.mark.parametrize("role", [Role.evaluator, Role.client])
def test_evaluators_and_clients_cannot_read_the_trail(
    api: ApiClient, make_key: KeyFactory, role: Role
) -> None:
    key = make_key(role)
    body = assert_problem(api.get("/v1/audit", headers=bearer(key)), 403)
    assert body["errors"][0]["type"] == "insufficient_role"
    assert_problem(api.get("/v1/audit/1", headers=bearer(key)), 403)
    assert_problem(api.get("/v1/audit"), 401)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_endpoint_edits_or_deletes_entries(
    api: ApiClient, admin_key: str, seeded: tuple[str, dict[str, int]], method: str
) -> None:
    _tag, e = seeded
    for path in ("/v1/audit", f"/v1/audit/{e['a']}"):
        r = api.request(method, path, json={"comment": "x"}, headers=bearer(admin_key))
        assert_problem(r, 405)
        assert "GET" in r.headers["allow"]
    assert api.get(f"/v1/audit/{e['a']}", headers=bearer(admin_key)).json()["comment"] is None


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"since": "yesterday"}, ["query", "since"]),
        ({"until": "0.5"}, ["query", "until"]),
        ({"until": "1700000000"}, ["query", "until"]),
        ({"since": "2031-13-45T00:00:00"}, ["query", "since"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 501}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"namespace": "a\x00b"}, ["query", "namespace"]),
        ({"actor_key_id": "x"}, ["query", "actor_key_id"]),
        ({"actor_key_id": 2**31}, ["query", "actor_key_id"]),
    ],
)
def test_bad_filters_are_422(
    api: ApiClient, admin_key: str, params: dict[str, object], loc: list[str]
) -> None:
    body = assert_problem(api.get("/v1/audit", params=params, headers=bearer(admin_key)), 422)
    assert body["errors"][0]["loc"] == loc
