"""`indicator-service serve --migrate --seed PATH` (what `make run` does) in a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indicator_service.app import create_app
from indicator_service.core import database
from tests.helpers import ApiClient, make_settings
from tests.paths import CATALOG_DIR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"serve exited with {proc.returncode}:\n{out}")
        try:
            last = httpx.get(url, timeout=2)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not ready after {timeout}s: {last.text if last else 'no answer'}")


@pytest.mark.parametrize("how", ["flags", "environment"])
def test_serve_migrates_imports_seed_and_becomes_ready(fresh_database_url: str, how: str) -> None:
    """`make run` uses the flags; the Dockerfile sets the environment variables."""
    port = _free_port()
    env = {**os.environ, "INDICATOR_DATABASE_URL": fresh_database_url, "INDICATOR_LOG_JSON": "1"}
    args = ["--migrate", "--seed", str(CATALOG_DIR)]
    if how == "environment":
        env |= {"INDICATOR_MIGRATE_ON_START": "true", "INDICATOR_SEED_PATH": str(CATALOG_DIR)}
        args = []
    cli = [sys.executable, "-m", "indicator_service.cli", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        cli,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = _wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["catalogue"]["ok"] is True
        assert "published" in checks["catalogue"]["detail"]
        r = httpx.get(f"http://127.0.0.1:{port}/v1/frameworks/PRJ-2020", timeout=5)
        assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_serve_refuses_an_invalid_seed(fresh_database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "catalog"
    bad.mkdir()
    (bad / "broken.yaml").write_text("kind: namespace\ncode: [unclosed\n", encoding="utf-8")
    env = {**os.environ, "INDICATOR_DATABASE_URL": fresh_database_url}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "indicator_service.cli",
            "serve",
            "--port",
            str(_free_port()),
            "--migrate",
            "--seed",
            str(bad),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "not imported" in done.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("INDICATOR_API_KEY_REVOCATION_CHECK_SECONDS", "1000"),  # authentication: > 60
        ("INDICATOR_RATE_LIMIT_PER_MINUTE", "many"),  # core
    ],
)
def test_serve_refuses_an_invalid_setting_at_start(
    fresh_database_url: str, variable: str, value: str
) -> None:
    """Stopped at start with the variable named (the authentication settings were read on the
    first request that needed them: every authenticated request failed with a 500)."""
    env = {
        **os.environ,
        "INDICATOR_DATABASE_URL": fresh_database_url,
        variable: value,
        "LC_ALL": "zh_CN.UTF-8",
    }
    done = subprocess.run(
        [sys.executable, "-m", "indicator_service.cli", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: 配置无效：")
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


def test_app_factory_refuses_an_invalid_authentication_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from indicator_service.app import app_from_env
    from indicator_service.auth.settings import auth_settings_from_env
    from indicator_service.core.console import CommandError
    from indicator_service.core.settings import get_settings

    monkeypatch.setenv("INDICATOR_API_KEY_CACHE_SECONDS", "-1")
    get_settings.cache_clear()
    auth_settings_from_env.cache_clear()
    try:
        with pytest.raises(CommandError, match="INDICATOR_API_KEY_CACHE_SECONDS"):
            app_from_env()
    finally:
        get_settings.cache_clear()
        auth_settings_from_env.cache_clear()


def test_readyz_is_red_until_a_catalogue_is_published(fresh_database_url: str) -> None:
    database.upgrade(fresh_database_url)
    client = ApiClient(create_app(make_settings(fresh_database_url)))
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        checks = {c["name"]: c for c in r.json()["checks"]}
        assert checks["migrations"]["ok"] is True
        assert checks["catalogue"] == {
            "name": "catalogue",
            "ok": False,
            "detail": "0 namespace version(s), 0 framework version(s) published",
        }
    finally:
        client.close()


def test_the_shared_worker_socket_sets_tcp_nodelay() -> None:
    import uvicorn

    from indicator_service.cli import listening_socket

    config = uvicorn.Config("indicator_service.app:app_from_env", port=_free_port(), workers=2)
    sock = listening_socket(config)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_serve_with_two_workers(fresh_database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "INDICATOR_DATABASE_URL": fresh_database_url}
    cli = [sys.executable, "-m", "indicator_service.cli", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        [*cli, "--workers", "2", "--migrate", "--seed", str(CATALOG_DIR)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # keep-alive
            assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
