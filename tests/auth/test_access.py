"""401 and 403 for every role and every failure, on probe routes using the real dependencies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from indicator_service.app import create_app
from indicator_service.auth import cache as cache_module
from indicator_service.auth.dependencies import (
    AdminDep,
    CuratorDep,
    EvaluatorDep,
    PrincipalDep,
    ReaderDep,
    ReviewerDep,
    ScorerDep,
    ensure_scope,
)
from indicator_service.auth.keys import parse_key
from indicator_service.auth.models import ApiKey, Role
from indicator_service.auth.settings import AuthSettings, get_auth_settings
from tests.auth.fixtures import KeyFactory, bearer, revoke_in_database
from tests.helpers import ApiClient, assert_problem, make_settings


def _probe_app(database_url: str) -> FastAPI:
    app = create_app(make_settings(database_url))

    @app.get("/probe/me")
    async def me(principal: PrincipalDep) -> dict[str, object]:
        return {"name": principal.name, "role": principal.role.value}

    @app.get("/probe/read")
    async def read(principal: ReaderDep) -> dict[str, object]:
        return {"anonymous": principal is None}

    @app.post("/probe/admin")
    async def admin(principal: AdminDep) -> dict[str, str]:
        return {"ok": principal.role.value}

    @app.post("/probe/curate/{namespace}")
    async def curate(namespace: str, principal: CuratorDep) -> dict[str, str]:
        ensure_scope(principal, namespace)
        return {"ok": namespace}

    @app.post("/probe/review/{namespace}")
    async def review(namespace: str, principal: ReviewerDep) -> dict[str, str]:
        ensure_scope(principal, namespace)
        return {"ok": namespace}

    @app.post("/probe/score")
    async def score(principal: ScorerDep) -> dict[str, str]:
        return {"ok": principal.role.value}

    @app.post("/probe/evaluations")
    async def store(principal: EvaluatorDep) -> dict[str, str]:
        return {"ok": principal.role.value}

    return app


@pytest.fixture(scope="module")
def probe_app(database_url: str) -> FastAPI:
    return _probe_app(database_url)


@pytest.fixture(scope="module")
def probe(probe_app: FastAPI) -> Iterator[ApiClient]:
    client = ApiClient(probe_app)
    yield client
    client.close()


def _unauthorized(response: object, error_type: str) -> dict[str, object]:
    body = assert_problem(response, 401)  # type: ignore[arg-type]
    assert response.headers["www-authenticate"].startswith('Bearer realm="indicator-service"')  # type: ignore[attr-defined]
    assert body["errors"][0]["type"] == error_type
    assert body["errors"][0]["loc"][0] == "header"
    return body


# --- 401 --------------------------------------------------------------------------------------

WRITE_ROUTES = [
    "/probe/admin",
    "/probe/curate/health",
    "/probe/review/health",
    "/probe/score",
    "/probe/evaluations",
]


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_missing_key_is_401(probe: ApiClient, path: str) -> None:
    body = _unauthorized(probe.post(path), "missing_api_key")
    assert "Authorization: Bearer" in str(body["detail"])


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "isk_0123456789ab_" + "a" * 43},  # no scheme
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"X-API-Key": ""},
    ],
)
def test_malformed_header_is_401(probe: ApiClient, path: str, headers: dict[str, str]) -> None:
    _unauthorized(probe.post(path, headers=headers), "malformed_api_key")


@pytest.mark.parametrize("path", WRITE_ROUTES)
@pytest.mark.parametrize("key", ["secret", "isk_0123456789ab_tooshort", "isk_" + "z" * 60])
def test_malformed_key_is_401(probe: ApiClient, path: str, key: str) -> None:
    body = _unauthorized(probe.post(path, headers=bearer(key)), "malformed_key")
    assert "malformed" in str(body["detail"])


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_unknown_key_is_401(probe: ApiClient, path: str, admin_key: str) -> None:
    parsed = parse_key(admin_key)
    assert parsed is not None
    forged_secret = "b" * 43 if not admin_key.endswith("b" * 43) else "c" * 43
    same_prefix = f"isk_{parsed.prefix}_{forged_secret}"
    unknown_prefix = "isk_ffffffffffff_" + "a" * 43
    for key in (same_prefix, unknown_prefix):
        body = _unauthorized(probe.post(path, headers=bearer(key)), "unknown_key")
        assert body["detail"] == "The API key is not recognised"


@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_revoked_key_is_401(
    probe: ApiClient, path: str, make_key: KeyFactory, engine: Engine
) -> None:
    key = make_key(Role.admin)
    revoke_in_database(engine, key)
    cache_module.KEY_CACHE.clear()
    body = _unauthorized(probe.post(path, headers=bearer(key)), "revoked_key")
    assert "revoked" in str(body["detail"])


def test_conflicting_headers_are_401(probe: ApiClient, admin_key: str, evaluator_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}", "X-API-Key": evaluator_key}
    _unauthorized(probe.post("/probe/admin", headers=headers), "malformed_api_key")


def test_both_headers_with_the_same_key_are_accepted(probe: ApiClient, admin_key: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}", "X-API-Key": admin_key}
    assert probe.post("/probe/admin", headers=headers).status_code == 200


def test_x_api_key_header_and_bearer_scheme_case(probe: ApiClient, evaluator_key: str) -> None:
    r = probe.post("/probe/score", headers={"X-API-Key": evaluator_key})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": "evaluator"}
    r = probe.post("/probe/score", headers={"Authorization": f"bearer {evaluator_key}"})
    assert r.status_code == 200, r.text


# --- 403: role ---------------------------------------------------------------------------------

ALLOWED: dict[str, set[Role]] = {
    "/probe/admin": {Role.admin},
    "/probe/curate/health": {Role.admin, Role.curator},
    "/probe/review/health": {Role.admin, Role.reviewer},
    "/probe/score": {Role.admin, Role.evaluator, Role.client},
    "/probe/evaluations": {Role.admin, Role.evaluator},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", WRITE_ROUTES)
def test_role_matrix(probe: ApiClient, make_key: KeyFactory, role: Role, path: str) -> None:
    key = make_key(role, ["health"] if role in (Role.curator, Role.reviewer) else None)
    r = probe.post(path, headers=bearer(key))
    if role in ALLOWED[path]:
        assert r.status_code == 200, r.text
    else:
        body = assert_problem(r, 403)
        assert body["errors"][0]["type"] == "insufficient_role"
        assert f"has the role {role.value}" in body["detail"]
        assert "www-authenticate" not in r.headers


def test_role_refusal_names_the_roles_in_chinese(probe: ApiClient, make_key: KeyFactory) -> None:
    """A Chinese refusal names the roles in Chinese, with the codes that a key is created
    with beside them, joined as Chinese alternatives (not ``curator or admin``)."""
    key = make_key(Role.evaluator, None, "evaluation office")
    r = probe.post("/probe/curate/health", headers={**bearer(key), "Accept-Language": "zh-CN"})
    body = assert_problem(r, 403)
    assert body["detail"] == (
        "此操作需要维护人（curator）或管理员（admin）角色，"
        "密钥 'evaluation office' 的角色为评价人（evaluator）"
    ), body["detail"]
    assert body["errors"][0]["msg"] == body["detail"]
    r = probe.post(
        "/probe/score",
        headers={**bearer(make_key(Role.curator, ["health"])), "Accept-Language": "zh-CN"},
    )
    assert (
        "评价人（evaluator）、调用方（client）或管理员（admin）" in assert_problem(r, 403)["detail"]
    )


# --- 403: namespace ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.curator, Role.reviewer])
def test_namespace_scope(probe: ApiClient, make_key: KeyFactory, role: Role) -> None:
    verb = "curate" if role is Role.curator else "review"
    key = make_key(role, ["health", "education"])
    assert probe.post(f"/probe/{verb}/health", headers=bearer(key)).status_code == 200
    assert probe.post(f"/probe/{verb}/education", headers=bearer(key)).status_code == 200
    r = probe.post(f"/probe/{verb}/transport", headers=bearer(key))
    body = assert_problem(r, 403)
    assert body["errors"][0] == {
        "loc": ["path", "namespace"],
        "msg": body["detail"],
        "type": "namespace_out_of_scope",
    }
    assert "'transport'" in body["detail"]
    assert "education, health" in body["detail"]


def test_star_scope_and_admin_reach_every_namespace(
    probe: ApiClient, make_key: KeyFactory, admin_key: str
) -> None:
    star = make_key(Role.curator, ["*"])
    for ns in ("health", "transport", "common"):
        assert probe.post(f"/probe/curate/{ns}", headers=bearer(star)).status_code == 200
        assert probe.post(f"/probe/review/{ns}", headers=bearer(admin_key)).status_code == 200


# --- public reads --------------------------------------------------------------------------------


def test_public_reads_on(probe: ApiClient, evaluator_key: str) -> None:
    assert probe.get("/probe/read").json() == {"anonymous": True}
    assert probe.get("/probe/read", headers=bearer(evaluator_key)).json() == {"anonymous": False}
    # a key that is sent must be valid, even where none is needed
    _unauthorized(
        probe.get("/probe/read", headers=bearer("isk_ffffffffffff_" + "a" * 43)), "unknown_key"
    )


def test_public_reads_off(database_url: str, client_key: str) -> None:
    app = _probe_app(database_url)
    app.dependency_overrides[get_auth_settings] = lambda: AuthSettings(public_reads=False)
    client = ApiClient(app)
    try:
        _unauthorized(client.get("/probe/read"), "missing_api_key")
        r = client.get("/probe/read", headers=bearer(client_key))
        assert r.json() == {"anonymous": False}
    finally:
        client.close()


def test_public_reads_setting_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDICATOR_PUBLIC_READS", "false")
    monkeypatch.setenv("INDICATOR_API_KEY_CACHE_SECONDS", "5")
    monkeypatch.setenv("INDICATOR_ENV_FILE", "/nonexistent")
    settings = AuthSettings()
    assert settings.public_reads is False
    assert settings.api_key_cache_seconds == 5.0


# --- cache, revocation timing, last use --------------------------------------------------------


def test_revocation_elsewhere_takes_effect_within_the_revocation_check_interval(
    probe: ApiClient, make_key: KeyFactory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [5000.0]
    monkeypatch.setattr(cache_module, "KEY_CACHE", cache_module.KeyCache(clock=lambda: now[0]))
    key = make_key(Role.evaluator)
    assert probe.post("/probe/evaluations", headers=bearer(key)).status_code == 200
    # another worker revokes it: this process's cache trusts the key until its next check
    revoke_in_database(engine, key)
    now[0] += 1.9
    assert probe.post("/probe/evaluations", headers=bearer(key)).status_code == 200
    now[0] += 0.1  # 2 s: the default INDICATOR_API_KEY_REVOCATION_CHECK_SECONDS
    _unauthorized(probe.post("/probe/evaluations", headers=bearer(key)), "revoked_key")


def test_last_used_at_is_recorded(probe: ApiClient, make_key: KeyFactory, engine: Engine) -> None:
    key = make_key(Role.client)
    parsed = parse_key(key)
    assert parsed is not None
    before = datetime.now(UTC)
    assert probe.post("/probe/score", headers=bearer(key)).status_code == 200
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.prefix == parsed.prefix)).one()
    assert row.last_used_at is not None
    assert row.last_used_at.replace(tzinfo=UTC) >= before.replace(microsecond=0)


def test_principal_reports_who_is_calling(probe: ApiClient, make_key: KeyFactory) -> None:
    key = make_key(Role.reviewer, ["health"], name="卫健委 reviewer")
    assert probe.get("/probe/me", headers=bearer(key)).json() == {
        "name": "卫健委 reviewer",
        "role": "reviewer",
    }
