"""``indicator-service standards …`` end to end through ``cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indicator_service.cli import main

CSV = "year,value,unit\n2020,80,%\n2021,84,%\n2022,90,%\n2023,87,%\n2024,93,%\n"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["standards", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_historical_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.csv"
    f.write_text(CSV, encoding="utf-8")
    # max(90, 87, 93) = 93
    code, out, _ = _run(capsys, "derive-historical", str(f), "--method", "best_last_n")
    assert code == 0
    body = json.loads(out)
    assert body["value"] == 93.0
    assert body["unit"] == "%"
    assert body["years"] == [2022, 2023, 2024]


def test_historical_improve_from_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"series": [{"year": 2024, "value": 93}]}), encoding="utf-8")
    # lower is better: 93 − 93 × 5 % = 88.35
    code, out, _ = _run(
        capsys, "derive-historical", str(f), "--method", "improve_on_last",
        "--improve-pct", "5", "--direction", "lower_better",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["value"] == pytest.approx(88.35, abs=1e-12)


def test_industry_from_json_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.json"
    f.write_text(json.dumps(list(range(1, 21))), encoding="utf-8")
    # P90 (h 17.1) 18.1, P70 (13.3) 14.3, P50 10.5, P30 (5.7) 6.7, P10 (1.9) 2.9
    code, out, _ = _run(capsys, "derive-industry", str(f), "--percentiles", "90,70,50,30,10")
    assert code == 0
    body = json.loads(out)
    assert [lv["value"] for lv in body["levels"]] == pytest.approx([18.1, 14.3, 10.5, 6.7, 2.9])
    assert body["efficacy_rule"]["levels"] == pytest.approx([18.1, 14.3, 10.5, 6.7, 2.9])


def test_industry_small_sample_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "p.csv"
    f.write_text("value\n1\n2\n3\n", encoding="utf-8")
    code, out, err = _run(capsys, "derive-industry", str(f))
    assert code == 2
    assert out == ""
    assert "minimum sample size 10" in err


def test_progress_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.csv"
    f.write_text("year,value\n2018,100\n2020,121\n", encoding="utf-8")
    # CAGR 0.1; required (144/100)^(1/2) − 1 = 0.2 → R = 0.5 → limited progress
    code, out, _ = _run(
        capsys, "progress", str(f), "--target-value", "144", "--target-year", "2020"
    )
    assert code == 0
    body = json.loads(out)
    assert body["status"] == "limited_progress"
    assert body["ratio"] == pytest.approx(0.5, abs=1e-12)


def test_bad_csv_cell_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.csv"
    f.write_text("year,value\n2023,1\n2024,abc\n", encoding="utf-8")
    code, _, err = _run(capsys, "derive-historical", str(f), "--method", "last_year")
    assert code == 2
    assert "row.3.value" in err  # header is line 1, so the second data row is line 3


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "derive-historical", "/nonexistent/x.csv", "--method", "last_year")
    assert code == 2
    assert "no such file" in err


def test_resolve_from_the_database(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from indicator_service.catalogue.service import import_catalogue
    from indicator_service.catalogue.validation import load_catalogue
    from indicator_service.core import database
    from indicator_service.core.settings import get_settings
    from tests.helpers import make_settings
    from tests.paths import CATALOG_DIR

    database.upgrade(fresh_database_url)
    engine = database.make_engine(make_settings(fresh_database_url))
    with database.session_scope(engine) as session:
        import_catalogue(session, load_catalogue(CATALOG_DIR))
    engine.dispose()
    monkeypatch.setenv("INDICATOR_DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    try:
        # EDU-02-001 in 2023: the national 十四五 plan target (> 90 %, valid 2021–2025)
        code, out, _ = _run(
            capsys, "resolve", "EDU-02-001", "--region", "110105", "--fiscal-year", "2023"
        )
        assert code == 0
        body = json.loads(out)
        assert body["winner_type"] == "plan"
        assert body["winner_region"] == "000000"
        assert body["standard"]["value"] == 90.0
        # after the plan period only the historical actual value (2022: 89.7 %) is left
        code, out, _ = _run(capsys, "resolve", "EDU-02-001", "--fiscal-year", "2026")
        body = json.loads(out)
        assert (body["winner_type"], body["standard"]["value"]) == ("historical", 89.7)
        # no plan row of the seed is for a project type: a purchase project asking for a plan
        # target of the grant indicator EDU-01-001 gets none
        code, out, _ = _run(
            capsys, "resolve", "EDU-01-001", "--precedence", "plan", "--project-type", "purchase"
        )
        assert json.loads(out)["standard"] is None
        code, _, err = _run(capsys, "resolve", "NOPE-99-999")
        assert code == 2
        assert "NOPE-99-999" in err
        code, _, err = _run(capsys, "resolve", "EDU-02-001", "--precedence", "plan,bogus")
        assert code == 2
        assert "--precedence" in err
    finally:
        get_settings.cache_clear()


def test_series_csv_is_read_strictly_with_blank_lines_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Series files are read through indicator_service.tables (strict CSV, its limits)."""
    f = tmp_path / "s.csv"
    f.write_text("Year,Value\n\n2022,90\n2023,87\n\n2024,93\n", encoding="utf-8")
    code, out, err = _run(capsys, "derive-historical", str(f), "--method", "best_last_n")
    assert code == 0, err
    assert json.loads(out)["years"] == [2022, 2023, 2024]
    f.write_text('year,value\n2023,87\n2024,"93\n', encoding="utf-8")
    code, _, err = _run(capsys, "derive-historical", str(f), "--method", "last_year")
    assert code == 2
    assert err.startswith("error: not readable as CSV: line 3:")
    assert "row.3: line 3:" in err
