"""The imports' If-Match as the OpenAPI document declares it (tests/core/test_openapi_contract.py):
optional for a validate-only import, required to store."""

from __future__ import annotations

from tests.helpers import ApiClient, assert_problem


def test_validate_only_import_needs_no_if_match(cat_api: ApiClient) -> None:
    """What the document says of the imports is what the server does."""
    draft = cat_api.post("/v1/namespaces/common/drafts", json={}).json()
    answer = cat_api.post(
        f"/v1/namespaces/common/drafts/{draft['version']}/import",
        params={"validate_only": "true"},
        content=b"indicators: []\n",
        headers={"Content-Type": "application/yaml"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] is False

    stored = cat_api.post(
        f"/v1/namespaces/common/drafts/{draft['version']}/import",
        content=b"indicators: []\n",
        headers={"Content-Type": "application/yaml"},
    )
    assert_problem(stored, 428)
