"""``bench/bench_http.py`` runs end to end (a tiny run: its figures are not checked here, its
own assertions are: every request answered 200, columnar totals equal to the JSON batch's) and
its floor endpoint is matched where ``/v1/score`` is."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_http


def test_benchmark_runs_and_prints_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", f"sqlite:///{tmp_path / 'bench.db'}")
    assert bench_http.main(["--seconds", "0.3", "--items", "20", "--concurrency", "2"]) == 0
    out = capsys.readouterr().out
    assert "% of the trivial endpoint (goal ≥ 50 %)" in out
    assert "POST /bench/no-engine (all of /v1/score but the rule evaluation)" in out
    assert "batch 20 × 30 rows over HTTP: columnar" in out


def test_floor_is_matched_just_before_the_scoring_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indicator_service.scoring.router import router as scoring_router

    monkeypatch.setenv("BENCH_DATABASE_URL", f"sqlite:///{tmp_path / 'bench.db'}")
    routes = bench_http.app_factory().router.routes
    owners = [getattr(r, "original_router", None) for r in routes]
    at = owners.index(scoring_router)
    floor_paths = [r.path for r in owners[at - 1].routes]  # type: ignore[union-attr]
    assert floor_paths == ["/bench/floor", "/bench/no-engine"]
