"""``indicator-service keys create|list|revoke``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from indicator_service.cli import main
from indicator_service.core.settings import Settings, get_settings
from tests.auth.fixtures import bearer
from tests.helpers import ApiClient, assert_problem


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    """The CLI talks to the session's database with the session's server secret."""
    monkeypatch.setenv("INDICATOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INDICATOR_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("INDICATOR_ENV_FILE", "/nonexistent")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_create_list_revoke(
    cli_env: None, api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--role", "admin", "--name", "bootstrap admin"]) == 0
    out = capsys.readouterr().out
    assert "shown only once" in out
    key_line = next(line for line in out.splitlines() if line.startswith("key: "))
    admin_key = key_line.removeprefix("key: ")
    # the bootstrap key works against the API
    assert api.get("/v1/api-keys", headers=bearer(admin_key)).status_code == 200

    assert (
        main(
            [
                "keys", "create", "--role", "curator", "--namespace", "health",
                "--namespace", "education", "--name", "两局 curator", "--json",
            ]
        )
        == 0
    )  # fmt: skip
    created = json.loads(capsys.readouterr().out)
    assert created["namespaces"] == ["education", "health"]
    assert created["key"].startswith("isk_")

    assert main(["keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    mine = [k for k in listed if k["id"] == created["id"]]
    assert len(mine) == 1
    assert mine[0]["role"] == "curator"
    assert mine[0]["revoked_at"] is None
    assert all("key" not in k and "key_hash" not in k for k in listed)

    assert main(["keys", "list"]) == 0
    table = capsys.readouterr().out
    assert "两局 curator" in table
    assert created["key"] not in table

    assert main(["keys", "revoke", str(created["id"]), "--comment", "left the bureau"]) == 0
    assert f"key {created['id']} revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", str(created["id"])]) == 0  # idempotent
    capsys.readouterr()
    assert_problem(api.get("/v1/api-keys", headers=bearer(created["key"])), 401)

    assert main(["keys", "list", "--active", "--json"]) == 0
    active = json.loads(capsys.readouterr().out)
    assert created["id"] not in [k["id"] for k in active]

    audit = api.get(
        "/v1/audit",
        params={"action": "api_key.revoke", "object_id": str(created["id"])},
        headers=bearer(admin_key),
    ).json()
    assert audit["total"] == 1
    assert audit["items"][0]["actor_name"] == "cli"
    assert audit["items"][0]["actor_key_id"] is None
    assert audit["items"][0]["comment"] == "left the bureau"


def test_cli_refuses_bad_input(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "curator", "--name", "no scope"]) == 2
    assert "needs at least one --namespace" in capsys.readouterr().err
    assert main(["keys", "create", "--role", "curator", "--namespace", "Bad!", "--name", "x"]) == 2
    assert "curator.namespaces.0" in capsys.readouterr().err
    assert main(["keys", "revoke", "99999999"]) == 2
    assert "no API key with id 99999999" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "root", "--name", "x"])


def test_cli_refusals_name_roles_in_chinese(
    cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert main(["keys", "create", "--role", "curator", "--name", "no scope"]) == 2
    assert "维护人（curator）密钥至少需要一个 --namespace" in capsys.readouterr().err
    args = ["keys", "create", "--role", "client", "--name", "x", "--region", "330000"]
    assert main(args) == 2
    assert "不适用于调用方（client）密钥" in capsys.readouterr().err


def test_cli_region_scoped_evaluator_key(
    cli_env: None, api: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["keys", "create", "--role", "evaluator", "--region", "330102", "--region", "330100"]
    assert main([*args, "--name", "县局 evaluator", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["regions"] == ["330100", "330102"]
    assert main([*args, "--name", "县局 evaluator (text)"]) == 0
    assert "regions 330100,330102" in capsys.readouterr().out
    assert main(["keys", "list", "--json"]) == 0
    listed = {k["id"]: k for k in json.loads(capsys.readouterr().out)}
    assert listed[created["id"]]["regions"] == ["330100", "330102"]
    assert main(["keys", "list"]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines() if "县局 evaluator" in row)
    assert "330100,330102" in line
    # the key stores evaluations of its regions only (403 elsewhere, through the API)
    row = {"id": "r", "class_l1": "产出", "points": 50, "operator": "≥", "target": 1, "value": 1}
    body = {"framework": "NO-SUCH", "region": "320100", "rows": [row]}
    problem = assert_problem(
        api.post("/v1/evaluations", json=body, headers=bearer(created["key"])), 403
    )
    assert problem["errors"][0]["type"] == "region_out_of_scope"


def test_cli_refuses_bad_regions(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["keys", "create", "--name", "x"]
    assert main([*base, "--role", "client", "--region", "330102"]) == 2
    assert "--region applies to evaluator keys only" in capsys.readouterr().err
    assert main([*base, "--role", "evaluator", "--region", "330012"]) == 2
    assert "evaluator.regions.0" in capsys.readouterr().err
