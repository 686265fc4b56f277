"""Concurrent writers of one draft: two curators editing (one wins, the other gets 412, nothing
is lost), whole-document PUT against item edits (no deadlock), and review steps racing each other
(exactly one wins, the other gets 409, a published version never changes)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from sqlmodel import Session

from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import artefacts, curation, review, service
from indicator_service.catalogue.namespaces import NAMESPACE
from indicator_service.catalogue.service import import_catalogue
from indicator_service.catalogue.validation import load_catalogue
from indicator_service.core import database
from indicator_service.core.errors import Conflict, PreconditionFailed, ServiceError
from tests.auth.fixtures import bearer, issue_key
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.helpers import ApiClient, make_settings
from tests.paths import CATALOG_DIR


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("concurrency"))
    database.upgrade(url)
    application = create_app(make_settings(url))
    with database.session_scope(application.state.engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
        artefacts.create_draft(session, NAMESPACE, "health")
    yield application
    application.state.engine.dispose()
    if drop is not None:
        drop()


def test_compare_and_set_lets_only_one_of_two_sessions_write(app: FastAPI) -> None:
    """Both sessions read the same hash; the second compare-and-set matches no row."""
    engine = app.state.engine
    with Session(engine) as a, Session(engine) as b:
        row_a = artefacts.version_row(a, NAMESPACE, "health", "1.0.1-draft")
        row_b = artefacts.version_row(b, NAMESPACE, "health", "1.0.1-draft")
        seen = row_a.content_hash
        assert row_b.content_hash == seen
        doc = {**row_a.document, "name_en": "Health (A)"}
        artefacts.store_draft(a, NAMESPACE, "health", row_a, doc, seen)
        a.commit()
        with pytest.raises(PreconditionFailed, match="another edit was saved first"):
            artefacts.store_draft(
                b, NAMESPACE, "health", row_b, {**row_b.document, "name_en": "Health (B)"}, seen
            )
        b.rollback()
    with Session(engine) as c:
        row = artefacts.version_row(c, NAMESPACE, "health", "1.0.1-draft")
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


# --- review steps racing (#14.5) ------------------------------------------------------------------

CURATOR = Principal(key_id=9001, name="race curator", role=Role.curator, namespaces=("*",))
REVIEWERS = [
    Principal(key_id=9002 + i, name=f"race reviewer {i}", role=Role.reviewer, namespaces=("*",))
    for i in (0, 1)
]


def _submitted_draft(app: FastAPI, ns: str) -> str:
    """A new submitted draft of ``ns`` (the previous one published or returned first)."""
    with database.session_scope(app.state.engine) as session:
        info = service.get_namespace(session, ns)
        drafts = [v.version for v in info.versions if v.status in ("draft", "submitted")]
        version = drafts[0] if drafts else artefacts.create_draft(session, NAMESPACE, ns).version
        row = artefacts.version_row(session, NAMESPACE, ns, version)
        doc = {**row.document, "description": f"edited {time.monotonic_ns()}"}
        if row.status == "draft":
            artefacts.store_draft(session, NAMESPACE, ns, row, doc, row.content_hash)
            review.submit(session, "namespace", ns, version, CURATOR)
    return version


def _step(name: str, ns: str, version: str, who: Principal) -> Callable[[Session], None]:
    def run(session: Session) -> None:
        if name == "approve":
            review.approve(session, "namespace", ns, version, who, None)
        else:
            review.return_draft(session, "namespace", ns, version, who, "please fix")

    return run


def _published(app: FastAPI, ns: str) -> dict[str, tuple[str, str]]:
    with Session(app.state.engine) as session:
        rows = session.exec(
            text(
                "SELECT v.version, v.status, v.content_hash FROM catalogue_namespace_version v "
                "JOIN catalogue_namespace n ON n.id = v.namespace_id WHERE n.code = :ns"
            ).bindparams(ns=ns)  # type: ignore[call-overload]
        ).all()
    return {v: (st, h) for v, st, h in rows if st != "draft" and st != "submitted"}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("first", "second"),
    [("return", "approve"), ("approve", "return"), ("approve", "approve")],
)
def test_review_steps_racing_one_wins_the_other_409(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, first: str, second: str
) -> None:
    """``first`` has checked the state when ``second`` runs in another transaction (and, if it
    can, commits). Before the fix the checks ran before the lock: a return wrote a just-published
    version back to draft, and an approve published a just-returned draft."""
    ns = "transport"
    version = _submitted_draft(app, ns)
    published_before = _published(app, ns)
    engine = app.state.engine
    outcomes: dict[str, Any] = {}

    def attempt(label: str, step: Callable[[Session], None]) -> None:
        try:
            with database.session_scope(engine) as session:
                step(session)
            outcomes[label] = "ok"
        except ServiceError as exc:
            outcomes[label] = exc

    racer = threading.Thread(
        target=attempt, args=("second", _step(second, ns, version, REVIEWERS[1]))
    )
    real_check = review._require_submitted
    fired = threading.Event()

    def check_then_race(row: Any, action: str) -> None:
        real_check(row, action)
        if threading.current_thread() is threading.main_thread() and not fired.is_set():
            fired.set()
            racer.start()
            racer.join(timeout=1.0)  # blocks on the lock once the first caller holds it

    monkeypatch.setattr(review, "_require_submitted", check_then_race)
    attempt("first", _step(first, ns, version, REVIEWERS[0]))
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert fired.is_set()

    won = [k for k, v in outcomes.items() if v == "ok"]
    lost = [v for v in outcomes.values() if v != "ok"]
    assert len(won) == 1, outcomes
    assert len(lost) == 1, outcomes
    assert isinstance(lost[0], Conflict), outcomes
    assert lost[0].status == 409
    after = _published(app, ns)
    # what was published before is unchanged; an approve that won added one published version
    assert {v: after[v] for v in published_before} == published_before
    winner = first if won == ["first"] else second
    assert len(after) == len(published_before) + (1 if winner == "approve" else 0), after
    with Session(engine) as session:
        if winner == "return":
            row = artefacts.version_row(session, NAMESPACE, ns, version)
            assert row.status == "draft"
            assert row.review_comment == "please fix"


# --- whole-document PUT against item edits (#22.6) ----------------------------------------------


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.postgres
def test_whole_document_put_and_item_edits_do_not_deadlock(app: FastAPI) -> None:
    """Two curators, one PUTting the whole draft, the other PATCHing an indicator and adding a
    standard, released together for many rounds: each request is 200 or 412 (never 503 or 500),
    exactly one edit per round wins, and the draft holds the winner's change."""
    ns = "education"
    engine, settings = app.state.engine, app.state.settings
    with database.session_scope(engine) as session:
        version = artefacts.create_draft(session, NAMESPACE, ns).version
    keys = [issue_key(engine, settings, Role.curator, [ns], f"doc curator {i}") for i in (1, 2)]
    clients = [httpx.Client(headers=bearer(k), timeout=60) for k in keys]
    seen: list[int] = []
    try:
        with _serve(app) as root:
            base = f"{root}/v1/namespaces/{ns}"
            first = clients[0].get(f"{base}/versions/{version}").json()["document"]
            code = first["indicators"][0]["code"]
            for round_ in range(12):
                current = clients[0].get(f"{base}/versions/{version}")
                etag, doc = current.headers["etag"], current.json()["document"]
                doc.pop("version", None)
                doc.pop("namespace", None)
                doc["description"] = f"round {round_} whole document"
                barrier = threading.Barrier(2)
                results: list[Any] = [None, None]

                def put(
                    doc: dict[str, Any] = doc,
                    etag: str = etag,
                    barrier: threading.Barrier = barrier,
                    results: list[Any] = results,
                ) -> None:
                    barrier.wait()
                    results[0] = clients[0].put(
                        f"{base}/drafts/{version}", json=doc, headers={"If-Match": etag}
                    )

                def patch(
                    etag: str = etag,
                    round_: int = round_,
                    barrier: threading.Barrier = barrier,
                    results: list[Any] = results,
                ) -> None:
                    barrier.wait()
                    results[1] = clients[1].patch(
                        f"{base}/drafts/{version}/indicators/{code}",
                        json={"explanation": f"round {round_} item edit"},
                        headers={"If-Match": etag},
                    )

                threads = [threading.Thread(target=put), threading.Thread(target=patch)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                statuses = [r.status_code for r in results]
                seen += statuses
                assert sorted(statuses) == [200, 412], [r.text for r in results]
                final = clients[0].get(f"{base}/versions/{version}").json()["document"]
                if statuses[0] == 200:
                    assert final["description"] == f"round {round_} whole document"
                else:
                    item = next(i for i in final["indicators"] if i["code"] == code)
                    assert item["explanation"] == f"round {round_} item edit"
    finally:
        for c in clients:
            c.close()
    assert 503 not in seen
    assert 500 not in seen


@pytest.mark.postgres
def test_an_item_edit_and_a_put_interleaved_do_not_deadlock(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving that deadlocked: an item edit has compare-and-set the version row when a
    whole-document PUT of the same draft starts. Before, the PUT held the namespace row and
    waited for the version row while the item edit's next update of the version row re-checked
    its foreign key (FOR KEY SHARE on the namespace row): PostgreSQL aborted one (40P01), which
    the service called "database not reachable". Now the item edit holds the namespace row
    first: the PUT waits, then finds the draft changed (412)."""
    ns = "environment"
    engine = app.state.engine
    with database.session_scope(engine) as session:
        version = artefacts.create_draft(session, NAMESPACE, ns).version
        row = artefacts.version_row(session, NAMESPACE, ns, version)
        etag, document = row.content_hash, dict(row.document)
    outcomes: dict[str, Any] = {}

    def attempt(label: str, step: Callable[[Session], Any]) -> None:
        try:
            with database.session_scope(engine) as session:
                step(session)
            outcomes[label] = "ok"
        except Exception as exc:
            outcomes[label] = exc

    def item_edit(session: Session) -> None:
        def mutate(doc: dict[str, Any]) -> dict[str, Any]:
            doc["indicators"][0]["explanation"] = "item edit"
            return doc

        curation.edit_draft(session, "namespace", ns, version, f'"{etag}"', mutate)

    def put(session: Session) -> None:
        body = {**document, "description": "whole document"}
        artefacts.update_draft(session, NAMESPACE, ns, version, body, f'"{etag}"')

    racer = threading.Thread(target=attempt, args=("put", put))
    real_cas = artefacts.compare_and_set_hash
    fired = threading.Event()

    def cas_then_race(*args: Any) -> None:
        real_cas(*args)
        if threading.current_thread() is threading.main_thread() and not fired.is_set():
            fired.set()
            racer.start()
            racer.join(timeout=1.0)  # the PUT blocks on the namespace lock once fixed

    monkeypatch.setattr(artefacts, "compare_and_set_hash", cas_then_race)
    attempt("item", item_edit)
    racer.join(timeout=30)
    assert fired.is_set()
    assert not racer.is_alive()
    assert outcomes["item"] == "ok", outcomes
    assert isinstance(outcomes["put"], PreconditionFailed), outcomes
    with Session(engine) as session:
        row = artefacts.version_row(session, NAMESPACE, ns, version)
        assert row.document["indicators"][0]["explanation"] == "item edit"
        assert row.document.get("description") != "whole document"


@pytest.mark.postgres
def test_a_deadlock_is_a_409_to_retry_not_unreachable(app: FastAPI) -> None:
    """A deadlock or serialization failure reported by PostgreSQL is a 409 problem with
    Retry-After (the database is reachable; the transaction lost a race and changed nothing)."""
    probe = APIRouter()

    @probe.post("/probe/transaction-conflict/{state}")
    def conflict(state: str) -> None:
        with database.session_scope(app.state.engine) as session:
            session.exec(
                text(  # type: ignore[call-overload]
                    f"DO $$ BEGIN RAISE EXCEPTION 'race' USING ERRCODE = '{state}'; END $$"
                )
            )

    application = create_app(app.state.settings)
    application.include_router(probe)
    client = ApiClient(application, raise_app_exceptions=False)
    try:
        for state in ("40P01", "40001"):
            r = client.post(f"/probe/transaction-conflict/{state}")
            assert r.status_code == 409, r.text
            body = r.json()
            assert body["errors"][0]["type"] == "transaction_conflict"
            assert "not reachable" not in body["detail"]
            assert r.headers["retry-after"] == "1"
        # a database that is really unreachable is still a 503
        r = client.post("/probe/transaction-conflict/08006")
        assert r.status_code == 503, r.text
    finally:
        client.close()
