"""Two replicas on one PostgreSQL database under a bounded mixed load.

Two uvicorn processes share the database; 8 clients drive both for a few seconds with reads,
single scores, batches, stored evaluations with idempotency keys (some replayed on the other
replica) and concurrent curation (draft → PUT with If-Match → publish through the other replica).
Afterwards: no 5xx, every acknowledged evaluation stored exactly once, no version number published
twice, replays answered with the first result, and each replica sees what the other published.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from bench.bench_load import (
    CURATED_NAMESPACE,
    Connection,
    dumps,
    free_port,
    mixed_load,
    prepare_database,
    start_server,
    stop_server,
    submission,
    wait_ready,
)
from indicator_service.core.settings import Settings
from tests.conftest import TEST_DATABASE_URL, _create_database

# the replicas run with the default bound of their map of published versions
REFRESH_SECONDS = float(Settings.model_fields["catalogue_refresh_seconds"].default)

pytestmark = pytest.mark.postgres

LOAD_SECONDS = 8.0
CLIENTS = 8


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, list[int]]]:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("replicas"))
    key = prepare_database(url)
    ports = [free_port(), free_port()]
    procs = [start_server(url, port) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(port, proc)
        yield url, key, ports
    finally:
        for proc in procs:
            stop_server(proc)
        if drop is not None:
            drop()


async def _get(port: int, key: str, path: str) -> tuple[int, dict[str, object]]:
    conn = Connection("127.0.0.1", port, {"Authorization": f"Bearer {key}"})
    try:
        reply = await conn.request("GET", path)
        return reply.status, reply.json()
    finally:
        await conn.close()


def test_two_replicas_under_mixed_load(replicas: tuple[str, str, list[int]]) -> None:
    url, key, ports = replicas
    log = asyncio.run(mixed_load(ports, key, clients=CLIENTS, seconds=LOAD_SECONDS, run="r1"))
    print(f"\nreplica load: {log.total()} requests in {LOAD_SECONDS:g} s: {log.statuses}")
    print(
        f"acknowledged evaluations {len(log.evaluations)}, replays {len(log.replays)}, "
        f"publishes {log.published}"
    )

    assert log.server_errors() == {}, log.errors[:5]
    assert log.errors == []
    # every kind of work was done, on both replicas
    for op in ("read", "score", "batch", "evaluation", "replay", "put", "publish"):
        assert log.statuses.get(op), f"no {op} requests: {log.statuses}"
    assert log.published, log.statuses
    assert log.stale_reads == []

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT id, project FROM scoring_evaluation WHERE project LIKE 'load-r1-%'")
            ).all()
            versions = conn.execute(
                text(
                    "SELECT v.version FROM catalogue_namespace_version v "
                    "JOIN catalogue_namespace n ON n.id = v.namespace_id "
                    "WHERE n.code = :ns AND v.status <> 'draft'"
                ),
                {"ns": CURATED_NAMESPACE},
            ).scalars()
            version_counts = Counter(versions)
    finally:
        engine.dispose()

    # every acknowledged write is present exactly once (the project carries the key)
    by_project = Counter(project for _id, project in stored)
    assert set(by_project) == set(log.evaluations)
    assert all(n == 1 for n in by_project.values())
    ids = {project: id_ for id_, project in stored}
    assert all(ids[k] == first for k, (first, _p, _port) in log.evaluations.items())
    # a replay on the other replica returns the first result
    assert log.replays
    assert all(status == 201 and again == first for _k, first, again, status in log.replays)
    # no version number published twice, and every acknowledged publish is there
    assert all(n == 1 for n in version_counts.values()), version_counts
    assert set(log.published) <= set(version_counts)
    assert len(log.published) == len(set(log.published))


def test_each_replica_sees_what_the_other_published(replicas: tuple[str, str, list[int]]) -> None:
    """Framework and namespace caches stay correct across replicas: publish on A, read on B."""
    _url, key, (a, b) = replicas

    async def scenario() -> None:
        auth = {"Authorization": f"Bearer {key}"}
        on_a, on_b = Connection("127.0.0.1", a, auth), Connection("127.0.0.1", b, auth)
        try:
            # warm B's caches with the current release
            before = await on_b.request("POST", "/v1/score", dumps(submission(1)))
            assert before.status == 200, before.body
            old = before.json()["framework"]["version"]
            draft = await on_a.request("POST", "/v1/frameworks/SELF-EVAL/drafts")
            assert draft.status == 201, draft.body
            body = draft.json()
            document = body["document"]
            document["name_en"] = "Unit self-evaluation (edited on replica A)"
            put = await on_a.request(
                "PUT",
                f"/v1/frameworks/SELF-EVAL/drafts/{body['version']}",
                dumps(document),
                headers={"If-Match": draft.headers["etag"]},
            )
            assert put.status == 200, put.body
            pub = await on_a.request(
                "POST", f"/v1/frameworks/SELF-EVAL/versions/{body['version']}/publish"
            )
            assert pub.status == 200, pub.body
            new = pub.json()["release"]["version"]
            assert new != old
            # B learns of the new version within the refresh bound of its in-memory map of
            # published versions (INDICATOR_CATALOGUE_REFRESH_SECONDS, default 2 s; the replica
            # that publishes sees it at once): poll for up to twice the bound plus a margin
            deadline = time.monotonic() + 2 * REFRESH_SECONDS + 3.0
            while True:
                after = await on_b.request("POST", "/v1/score", dumps(submission(1)))
                assert after.status == 200, after.body
                seen = after.json()["framework"]["version"]
                if seen == new or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert seen == new
            assert after.json()["framework"]["name_en"] == document["name_en"]
            listed = await on_b.request("GET", "/v1/frameworks/SELF-EVAL")
            assert json.loads(listed.body)["version"] == new
        finally:
            await on_a.close()
            await on_b.close()

    asyncio.run(scenario())
