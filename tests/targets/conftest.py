"""A database of its own with the seed catalogue, and keys of several callers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, make_settings
from tests.paths import CATALOG_DIR


@dataclass
class Callers:
    client: ApiClient
    app: FastAPI
    a: dict[str, str]  # evaluator A (no region scope)
    b: dict[str, str]  # evaluator B (no region scope)
    scoped: dict[str, str]  # evaluator scoped to 330102
    admin: dict[str, str]
    curator: dict[str, str]


@pytest.fixture(scope="package")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callers]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("targets"))
    database.upgrade(url)
    app: FastAPI = create_app(make_settings(url))
    with database.session_scope(app.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    engine, settings = app.state.engine, app.state.settings

    def key(role: Role, **kw: object) -> dict[str, str]:
        return bearer(issue_key(engine, settings, role, **kw))  # type: ignore[arg-type]

    client = ApiClient(app)
    yield Callers(
        client=client,
        app=app,
        a=key(Role.evaluator, name="县财政局 A"),
        b=key(Role.evaluator, name="县财政局 B"),
        scoped=key(Role.evaluator, name="西湖区财政局", regions=["330106"]),
        admin=key(Role.admin),
        curator=key(Role.curator, namespaces=["education"]),
    )
    client.close()
    engine.dispose()
    if drop is not None:
        drop()
