"""Key management API: ``/v1/api-keys`` (admin only), hashing at rest, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from indicator_service.auth.models import Role
from tests.auth.fixtures import KeyFactory, bearer
from tests.helpers import ApiClient, assert_problem


def _create(api: ApiClient, admin_key: str, **body: object) -> dict[str, object]:
    r = api.post("/v1/api-keys", json=body, headers=bearer(admin_key))
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    data: dict[str, object] = r.json()
    assert r.headers["location"] == f"/v1/api-keys/{data['id']}"
    return data


def test_create_list_get_revoke(api: ApiClient, admin_key: str) -> None:
    created = _create(
        api, admin_key, name="教育局 curator", role="curator", namespaces=["education"]
    )
    key = str(created["key"])
    assert key.startswith(f"isk_{created['prefix']}_")
    assert created["role"] == "curator"
    assert created["namespaces"] == ["education"]
    assert created["revoked_at"] is None

    # the new key works
    me = api.get("/v1/api-keys", headers=bearer(key))
    assert_problem(me, 403)  # a curator may not manage keys, but is authenticated

    listed = api.get("/v1/api-keys", params={"role": "curator"}, headers=bearer(admin_key)).json()
    ids = [item["id"] for item in listed["items"]]
    assert created["id"] in ids
    assert all(item["role"] == "curator" for item in listed["items"])
    assert listed["total"] >= 1
    assert all("key" not in item and "key_hash" not in item for item in listed["items"])

    one = api.get(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key))
    assert one.status_code == 200
    assert one.json()["name"] == "教育局 curator"
    assert one.json()["last_used_at"] is not None  # used once above
    assert "key" not in one.json()

    revoked = api.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key))
    assert revoked.status_code == 200, revoked.text
    revoked_at = revoked.json()["revoked_at"]
    assert revoked_at is not None
    # effective at once in this process
    r = api.get("/v1/api-keys", headers=bearer(key))
    assert_problem(r, 401)
    assert r.json()["errors"][0]["type"] == "revoked_key"
    # idempotent: same answer, same revocation time
    again = api.delete(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key))
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked_at

    active = api.get(
        "/v1/api-keys", params={"include_revoked": "false", "limit": 500}, headers=bearer(admin_key)
    ).json()
    assert created["id"] not in [item["id"] for item in active["items"]]


def test_raw_key_is_not_stored(api: ApiClient, admin_key: str, engine: Engine) -> None:
    created = _create(api, admin_key, name="hash check", role="evaluator")
    key = str(created["key"])
    secret = key.split("_", 2)[2]
    with engine.connect() as conn:
        for table in ("api_key", "audit_entry", "idempotency_record"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                dumped = repr(tuple(row))
                assert key not in dumped, table
                assert secret not in dumped, table
        stored = conn.execute(
            text("SELECT key_hash FROM api_key WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    assert len(stored) == 64
    assert all(c in "0123456789abcdef" for c in stored)


def test_key_creation_is_audited_without_secrets(api: ApiClient, admin_key: str) -> None:
    created = _create(api, admin_key, name="audited key", role="client")
    entries = api.get(
        "/v1/audit",
        params={"action": "api_key.create", "object_id": str(created["id"])},
        headers=bearer(admin_key),
    ).json()
    assert entries["total"] == 1
    entry = entries["items"][0]
    assert entry["object_type"] == "api_key"
    assert entry["after"]["name"] == "audited key"
    assert "key_hash" not in entry["after"]
    assert "key" not in entry["after"]
    assert entry["actor_role"] == "admin"
    assert entry["request_id"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x", "role": "curator"}, ["body", "curator", "namespaces"]),
        ({"name": "x", "role": "reviewer", "namespaces": []}, ["body", "reviewer", "namespaces"]),
        ({"name": "x", "role": "superuser"}, ["body"]),
        ({"name": "x"}, ["body"]),
        ({"name": "", "role": "client"}, ["body", "client", "name"]),
        ({"name": "a\x00b", "role": "client"}, ["body", "client", "name"]),
        ({"name": " \u3000\ufeff", "role": "client"}, ["body", "client", "name"]),  # blank
        ({"name": 5, "role": "client"}, ["body", "client", "name"]),
        (
            {"name": "x", "role": "curator", "namespaces": ["Health!"]},
            ["body", "curator", "namespaces", 0],
        ),
        ({"name": "x", "role": "client", "secret": "mine"}, ["body", "client", "secret"]),
    ],
)
def test_invalid_key_requests_are_422(
    api: ApiClient, admin_key: str, body: dict[str, object], loc: list[object]
) -> None:
    problem = assert_problem(api.post("/v1/api-keys", json=body, headers=bearer(admin_key)), 422)
    assert problem["errors"][0]["loc"] == loc


def test_admin_keys_always_have_every_namespace(api: ApiClient, admin_key: str) -> None:
    created = _create(api, admin_key, name="second admin", role="admin", namespaces=["health"])
    assert created["namespaces"] == ["*"]


def test_unknown_key_id_is_404(api: ApiClient, admin_key: str) -> None:
    for method in ("GET", "DELETE"):
        body = assert_problem(
            api.request(method, "/v1/api-keys/987654321", headers=bearer(admin_key)), 404
        )
        assert "987654321" in body["detail"]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.admin])
def test_key_management_needs_admin(
    api: ApiClient, make_key: KeyFactory, admin_key: str, role: Role
) -> None:
    key = make_key(role, ["*"] if role in (Role.curator, Role.reviewer) else None)
    target = _create(api, admin_key, name="target", role="client")["id"]
    for method, path, body in (
        ("POST", "/v1/api-keys", {"name": "x", "role": "admin"}),
        ("GET", "/v1/api-keys", None),
        ("GET", f"/v1/api-keys/{target}", None),
        ("DELETE", f"/v1/api-keys/{target}", None),
    ):
        r = api.request(method, path, json=body, headers=bearer(key))
        problem = assert_problem(r, 403)
        assert problem["errors"][0]["type"] == "insufficient_role"
        # and without a key: 401
        assert_problem(api.request(method, path, json=body), 401)
    assert api.get(f"/v1/api-keys/{target}", headers=bearer(admin_key)).json()["revoked_at"] is None


def test_key_id_beyond_the_integer_column_is_422(api: ApiClient, admin_key: str) -> None:
    body = assert_problem(api.get("/v1/api-keys/2147483648", headers=bearer(admin_key)), 422)
    assert body["errors"][0]["loc"] == ["path", "key_id"]
    r = api.get("/v1/api-keys/2147483647", headers=bearer(admin_key))
    assert_problem(r, 404)


def test_keys_cannot_be_edited(api: ApiClient, admin_key: str) -> None:
    created = _create(api, admin_key, name="immutable", role="client")
    r = api.put(f"/v1/api-keys/{created['id']}", json={}, headers=bearer(admin_key))
    assert_problem(r, 405)
    assert "GET" in r.headers["allow"]


def test_openapi_documents_the_security_scheme(api: ApiClient) -> None:
    doc = api.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["BearerApiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert scheme["bearerFormat"] == "isk_<prefix>_<secret>"
    assert "X-API-Key" in scheme["description"]
    for path, method in (
        ("/v1/api-keys", "post"),
        ("/v1/api-keys", "get"),
        ("/v1/api-keys/{key_id}", "delete"),
        ("/v1/audit", "get"),
    ):
        op = doc["paths"][path][method]
        assert op["security"] == [{"BearerApiKey": []}], (path, method)
        assert {"401", "403"} <= set(op["responses"]), (path, method)


# --- region scopes (evaluator keys) ------------------------------------------------------------


def test_evaluator_key_with_regions(api: ApiClient, admin_key: str) -> None:
    created = _create(
        api,
        admin_key,
        name="某县财政局 evaluator",
        role="evaluator",
        regions=["330102", "330000", "330102"],
    )
    assert created["regions"] == ["330000", "330102"]  # sorted, de-duplicated
    one = api.get(f"/v1/api-keys/{created['id']}", headers=bearer(admin_key)).json()
    assert one["regions"] == ["330000", "330102"]
    listed = api.get(
        "/v1/api-keys", params={"role": "evaluator", "limit": 500}, headers=bearer(admin_key)
    ).json()
    mine = next(item for item in listed["items"] if item["id"] == created["id"])
    assert mine["regions"] == ["330000", "330102"]
    # keys without regions list an empty list
    plain = _create(api, admin_key, name="plain evaluator", role="evaluator")
    assert plain["regions"] == []
    assert _create(api, admin_key, name="national evaluator", role="evaluator",
                   regions=["000000"])["regions"] == ["000000"]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        # not GB/T 2260 division codes
        ({"regions": ["33010"]}, ["body", "evaluator", "regions", 0]),
        ({"regions": ["3301020"]}, ["body", "evaluator", "regions", 0]),
        ({"regions": ["33O102"]}, ["body", "evaluator", "regions", 0]),
        ({"regions": ["٣٣٠١٠٢"]}, ["body", "evaluator", "regions", 0]),  # Arabic-Indic digits
        ({"regions": ["330012"]}, ["body", "evaluator", "regions", 0]),  # county under no city
        ({"regions": ["000100"]}, ["body", "evaluator", "regions", 0]),  # province 00
        ({"regions": ["330102", 330100]}, ["body", "evaluator", "regions", 1]),
        ({"regions": "330102"}, ["body", "evaluator", "regions"]),
        ({"regions": ["330102"] * 51}, ["body", "evaluator", "regions"]),
    ],
)
def test_invalid_region_scopes_are_422(
    api: ApiClient, admin_key: str, engine: Engine, body: dict[str, object], loc: list[object]
) -> None:
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM api_key")).scalar()
    full = {"name": "bad regions", "role": "evaluator", **body}
    problem = assert_problem(api.post("/v1/api-keys", json=full, headers=bearer(admin_key)), 422)
    assert problem["errors"][0]["loc"] == loc
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_key")).scalar() == before


@pytest.mark.parametrize("role", ["admin", "client", "curator", "reviewer"])
def test_only_evaluator_keys_have_regions(api: ApiClient, admin_key: str, role: str) -> None:
    body = {"name": "x", "role": role, "namespaces": ["*"], "regions": ["330102"]}
    problem = assert_problem(api.post("/v1/api-keys", json=body, headers=bearer(admin_key)), 422)
    assert problem["errors"][0]["loc"] == ["body", role, "regions"]
