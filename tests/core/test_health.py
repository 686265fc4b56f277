from __future__ import annotations

from indicator_service.app import create_app
from indicator_service.core import database
from tests.helpers import ApiClient, make_settings


def test_healthz(api: ApiClient) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_reports_database_and_migrations(api: ApiClient) -> None:
    r = api.get("/readyz")
    body = r.json()
    checks = {c["name"]: c for c in body["checks"]}
    assert checks["database"]["ok"] is True
    assert checks["migrations"]["ok"] is True
    assert r.status_code == (200 if all(c["ok"] for c in body["checks"]) else 503)


def test_readyz_is_red_before_migrations(fresh_database_url: str) -> None:
    # the first connection to a new database can take seconds on a loaded machine: this test is
    # about the migrations check, not the readiness timeout (tested on its own)
    settings = make_settings(fresh_database_url, readiness_timeout=30.0)
    client = ApiClient(create_app(settings))
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/json"
        assert r.headers["retry-after"] == "2"
        checks = {c["name"]: c for c in r.json()["checks"]}
        assert checks["migrations"]["ok"] is False
        # the answer is the one the OpenAPI document declares for a 503
        declared = client.get("/openapi.json").json()["paths"]["/readyz"]["get"]["responses"]
        assert declared["503"]["content"] == {
            "application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}
        }
        assert "Retry-After" in declared["503"]["headers"]
        database.upgrade(fresh_database_url)
        checks = {c["name"]: c for c in client.get("/readyz").json()["checks"]}
        assert checks["migrations"]["ok"] is True
    finally:
        client.close()


def test_readyz_is_red_when_database_unreachable() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    client = ApiClient(create_app(make_settings(url)))
    try:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"][0] == {
            "name": "database",
            "ok": False,
            "detail": r.json()["checks"][0]["detail"],
        }
        assert r.json()["checks"][0]["detail"].startswith("unreachable")
    finally:
        client.close()


def test_metrics_count_requests_by_route(api: ApiClient) -> None:
    api.get("/healthz")
    text = api.get("/metrics").text
    assert 'indicator_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "indicator_http_request_duration_seconds_bucket" in text


def test_security_headers_on_every_response(api: ApiClient) -> None:
    for path in ("/healthz", "/no/such/path"):
        r = api.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "content-security-policy" not in api.get("/docs").headers
