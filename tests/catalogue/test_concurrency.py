"""Two curators editing one draft: one wins, the other gets 412, nothing is lost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.catalogue import service
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.core.errors import PreconditionFailed
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import make_settings
from tests.paths import CATALOG_DIR


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("concurrency"))
    database.upgrade(url)
    application = create_app(make_settings(url))
    with database.session_scope(application.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
        service.create_namespace_draft(session, "health")
    yield application
    application.state.engine.dispose()
    if drop is not None:
        drop()


def test_compare_and_set_lets_only_one_of_two_sessions_write(app: FastAPI) -> None:
    """Both sessions read the same hash; the second compare-and-set matches no row."""
    engine = app.state.engine
    with Session(engine) as a, Session(engine) as b:
        row_a = service.namespace_draft_row(a, "health", "1.0.1-draft")
        row_b = service.namespace_draft_row(b, "health", "1.0.1-draft")
        seen = row_a.content_hash
        assert row_b.content_hash == seen
        doc = {**row_a.document, "name_en": "Health (A)"}
        service.store_namespace_draft(a, "health", row_a, doc, seen)
        a.commit()
        with pytest.raises(PreconditionFailed, match="another edit was saved first"):
            service.store_namespace_draft(
                b, "health", row_b, {**row_b.document, "name_en": "Health (B)"}, seen
            )
        b.rollback()
    with Session(engine) as c:
        row = service.namespace_draft_row(c, "health", "1.0.1-draft")
        assert row.document["name_en"] == "Health (A)"
        assert row.content_hash != seen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.postgres
def test_two_curators_patching_one_draft_over_http(app: FastAPI) -> None:
    """Real HTTP against uvicorn, two threads released together, ten rounds."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    engine, settings = app.state.engine, app.state.settings
    keys = [issue_key(engine, settings, Role.curator, ["health"], f"curator {i}") for i in (1, 2)]
    base = f"http://127.0.0.1:{port}/v1/namespaces/health"
    clients = [httpx.Client(headers=bearer(k), timeout=30) for k in keys]
    try:
        doc = clients[0].get(f"{base}/versions/1.0.1-draft")
        codes = [i["code"] for i in doc.json()["document"]["indicators"]][:2]
        outcomes: list[tuple[int, bool]] = []  # (winner, the loser was stopped by the SQL CAS)
        for round_ in range(10):
            etag = clients[0].get(f"{base}/versions/1.0.1-draft").headers["etag"]
            barrier = threading.Barrier(2)
            results: list[Any] = [None, None]

            def edit(
                i: int,
                etag: str = etag,
                round_: int = round_,
                barrier: threading.Barrier = barrier,
                results: list[Any] = results,
            ) -> None:
                barrier.wait()
                results[i] = clients[i].patch(
                    f"{base}/drafts/1.0.1-draft/indicators/{codes[i]}",
                    json={"explanation": f"round {round_} by curator {i}"},
                    headers={"If-Match": etag},
                )

            threads = [threading.Thread(target=edit, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(r.status_code for r in results)
            assert statuses == [200, 412], [r.text for r in results]
            winner = next(i for i in (0, 1) if results[i].status_code == 200)
            loser = 1 - winner
            outcomes.append((winner, "another edit was saved first" in results[loser].text))
            # the winner's change is stored; the loser re-reads and reapplies: nothing is lost
            now = clients[loser].get(f"{base}/versions/1.0.1-draft")
            assert now.headers["etag"] == results[winner].headers["etag"]
            again = clients[loser].patch(
                f"{base}/drafts/1.0.1-draft/indicators/{codes[loser]}",
                json={"explanation": f"round {round_} by curator {loser}"},
                headers={"If-Match": now.headers["etag"]},
            )
            assert again.status_code == 200, again.text
            final = clients[0].get(f"{base}/versions/1.0.1-draft").json()["document"]
            texts = {i["code"]: i.get("explanation") for i in final["indicators"]}
            assert texts[codes[0]] == f"round {round_} by curator 0"
            assert texts[codes[1]] == f"round {round_} by curator 1"
        print(f"winners {[w for w, _ in outcomes]}; CAS refusals {sum(c for _, c in outcomes)}/10")
        # the audit trail has exactly the successful edits: two per round
        admin = issue_key(engine, settings, Role.admin)
        trail = httpx.get(
            f"http://127.0.0.1:{port}/v1/audit",
            params={"namespace": "health", "action": "indicator.update", "limit": 100},
            headers=bearer(admin),
        ).json()
        assert trail["total"] == 20
    finally:
        for c in clients:
            c.close()
        server.should_exit = True
        thread.join(timeout=10)
