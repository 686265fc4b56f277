"""``bench/bench_load.py --goals`` runs end to end (a tiny run: its figures are not checked
here): every scenario answered as expected on the service and on the in-memory server, whose
full receipt is the database path's byte for byte."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from bench import bench_load


def test_goals_run_prints_every_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'goals.db'}"
    bench_load.run_goals(url, clients=[1], seconds=0.1, rounds=1, steadiness_seconds=0.5)
    out = capsys.readouterr().out
    assert "host steadiness: a CPU loop alone, 250 ms slices over 0.5 s" in out
    lines = {line[:44].rstrip(): line.split() for line in out.splitlines() if "%" in line}
    assert set(lines) == {name for name, *_ in bench_load.GOALS}
    assert all(cols[-1] == "0" for cols in lines.values())  # no answer other than 2xx/304
    assert all(float(cols[-3]) > 0 for cols in lines.values())  # server CPU µs per request
    full = lines["POST /v1/score (30 rows, full)"]
    assert lines[bench_load.MEMORY_SCORE][-2] == full[-2]  # the same number of bytes


def test_host_steadiness_counts_the_rounds_of_each_slice() -> None:
    line = bench_load.host_steadiness(0.3, window=0.1)
    low, high = (int(x) for x in line.split(": ")[-1].split(" rounds")[0].split("-"))
    assert 0 < low <= high
    assert line.endswith(f"(slowest / fastest {low / high:.2f})")


def test_cpu_seconds_counts_the_process_cpu_time() -> None:
    before = bench_load.cpu_seconds(os.getpid())
    assert before is not None
    end = time.process_time() + 0.05
    while time.process_time() < end:  # busy
        pass
    after = bench_load.cpu_seconds(os.getpid())
    assert after is not None
    assert after - before >= 0.03  # clock ticks: 10 ms resolution
    assert bench_load.cpu_seconds(2**22 + 12345) is None  # no such process


def test_in_memory_server_answers_the_database_paths_receipt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    key = bench_load.prepare_database(url)
    ports = bench_load.free_port(), bench_load.free_port()
    procs = bench_load.start_server(url, ports[0]), bench_load.start_memory_server(url, ports[1])
    try:
        body = bench_load.dumps(bench_load.submission(7))
        answers = []
        for port, proc in zip(ports, procs, strict=True):
            bench_load.wait_ready(port, proc)
            answers.append(asyncio.run(bench_load._one(port, key, "POST", "/v1/score", body)))
    finally:
        for proc in procs:
            bench_load.stop_server(proc)
    assert [a.status for a in answers] == [200, 200]
    assert answers[0].body == answers[1].body


def test_in_memory_app_reads_the_seed_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indicator_service.core.settings import get_settings
    from indicator_service.scoring.lookup import DocumentCatalogue
    from indicator_service.scoring.router import catalogue_documents

    monkeypatch.setenv("INDICATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("INDICATOR_ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        app = bench_load.memory_app_factory()
    finally:
        get_settings.cache_clear()
    documents = catalogue_documents(app)
    assert isinstance(documents, DocumentCatalogue)
    assert documents.framework("SELF-EVAL", None).code == "SELF-EVAL"  # no database read


def test_tail_run_prints_the_slowest_requests_with_their_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'tail.db'}"
    bench_load.run_tail(url, clients=2, seconds=0.3, steadiness_seconds=0.5)
    lines = capsys.readouterr().out.splitlines()
    assert "POST /v1/score (30 rows, full), 2 clients, 0.3 s:" in lines[0]
    assert " over 30 ms, " in lines[0]
    assert lines[1].startswith("host steadiness: a CPU loop alone, 250 ms slices over 0.5 s: ")
    times = [float(line.split()[1]) for line in lines[2:]]
    assert 1 <= len(times) <= 12
    assert times == sorted(times)  # in the order they started
    assert all(0 <= t < 0.4 for t in times)
