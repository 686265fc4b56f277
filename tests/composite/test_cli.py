"""The ``composite`` command end to end on the full ASEM files (51 units, 49 indicators)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from indicator_service.cli import main
from tests.paths import FIXTURES_DIR

ASEM = FIXTURES_DIR / "coinr-asem"
DATA, META = ASEM / "ASEM_iData.csv", ASEM / "ASEM_iMeta.csv"


def run_cli(capsys, *args):
    code = main(["composite", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def independent_scores():
    """The default method, written out with plain Python loops over the CSV rows."""
    with META.open(encoding="utf-8") as f:
        meta = [r for r in csv.DictReader(f) if r["Type"] in ("Indicator", "Aggregate")]
    with DATA.open(encoding="utf-8") as f:
        data = list(csv.DictReader(f))
    values = {}
    for m in meta:
        if m["Type"] != "Indicator":
            continue
        code, d = m["iCode"], float(m["Direction"])
        col = {r["uCode"]: (None if r[code] == "NA" else float(r[code])) for r in data}
        present = [v for v in col.values() if v is not None]
        lo, hi = min(present), max(present)
        for unit, v in col.items():
            if v is not None:
                n = (v - lo) / (hi - lo) if d == 1 else (hi - v) / (hi - lo)
                values[(unit, code)] = 100 * n
    for level in (2, 3, 4):
        for m in meta:
            if int(m["Level"]) != level:
                continue
            children = [c for c in meta if c["Parent"] == m["iCode"]]
            for r in data:
                unit = r["uCode"]
                num = den = 0.0
                for c in children:
                    if (unit, c["iCode"]) in values:
                        num += float(c["Weight"]) * values[(unit, c["iCode"])]
                        den += float(c["Weight"])
                if den:
                    values[(unit, m["iCode"])] = num / den
    return values


def test_asem_defaults_match_independent_computation(capsys):
    code, out, err = run_cli(capsys, DATA, META)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    header = rows[0]
    assert header == [
        "uCode",
        "Physical",
        "ConEcFin",
        "Political",
        "Instit",
        "P2P",
        "Environ",
        "Social",
        "SusEcFin",
        "Conn",
        "Sust",
        "Index",
    ]
    assert len(rows) == 52
    assert rows[1][0] == "AUT"
    expected = independent_scores()
    checked = 0
    for row in rows[1:]:
        for name, text in zip(header[1:], row[1:], strict=True):
            # full precision: the printed text is the repr of a float64
            assert repr(float(text)) == text
            assert float(text) == pytest.approx(expected[(row[0], name)], rel=1e-12, abs=1e-12)
            checked += 1
    assert checked == 51 * 11


def test_asem_known_values_spot_check(capsys):
    """AUT's Political pillar by hand: Embs, IGOs, UNVote min-max over the 51 units."""
    _, out, _ = run_cli(capsys, DATA, META)
    rows = {r["uCode"]: r for r in csv.DictReader(io.StringIO(out))}
    with DATA.open(encoding="utf-8") as f:
        data = list(csv.DictReader(f))
    parts = []
    for code in ("Embs", "IGOs", "UNVote"):
        col = [float(r[code]) for r in data]
        aut = float(next(r for r in data if r["uCode"] == "AUT")[code])
        parts.append(100 * (aut - min(col)) / (max(col) - min(col)))
    assert float(rows["AUT"]["Political"]) == pytest.approx(sum(parts) / 3, rel=1e-13)
    # Every score is on the 0–100 scale.
    for r in rows.values():
        assert all(0.0 <= float(v) <= 100.0 for k, v in r.items() if k != "uCode")


def test_options_geometric_needs_positive_values(capsys):
    code, out, err = run_cli(capsys, DATA, META, "--aggregation", "geometric")
    assert code == 2
    assert out == ""
    assert "positive" in err
    assert "data." in err
    code, out, _ = run_cli(capsys, DATA, META, "--aggregation", "geometric", "--low", "1")
    assert code == 0
    assert len(out.splitlines()) == 52


def test_ranks_option_and_threshold(capsys):
    code, out, _ = run_cli(capsys, DATA, META, "--ranks", "--threshold", "0.9")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # LAO lacks 3 of the 8 P2P indicators (Pat, CultServ, CultGood): 5/8 < 0.9 → NA.
    lao = next(r for r in rows if r["uCode"] == "LAO")
    assert lao["P2P"] == "NA"
    assert lao["P2P.rank"] == "NA"
    ranks = sorted(int(r["Index.rank"]) for r in rows if r["Index.rank"] != "NA")
    assert ranks[0] == 1


def test_bad_meta_is_a_clear_error(tmp_path: Path, capsys):
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "Level,iCode,Direction,Weight,Parent,Type\n1,LPI,1,1,Nowhere,Indicator\n"
        "2,Top,1,1,NA,Aggregate\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(capsys, DATA, meta)
    assert code == 2
    assert out == ""
    assert "unknown parent 'Nowhere'" in err
    code, _, err = run_cli(capsys, tmp_path / "missing.csv", META)
    assert code == 2
    assert "cannot read" in err


def test_missing_values_in_output_are_na(tmp_path: Path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("uCode,uName,A,B\nX,x,1,NA\nY,y,2,NA\nZ,z,3,5\n", encoding="utf-8")
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "Level,iCode,Direction,Weight,Parent,Type\n1,A,1,1,P,Indicator\n1,B,1,1,Q,Indicator\n"
        "2,P,1,1,R,Aggregate\n2,Q,1,1,R,Aggregate\n3,R,1,1,NA,Aggregate\n",
        encoding="utf-8",
    )
    code, out, err = run_cli(capsys, data, meta)
    assert code == 0, err
    assert out.splitlines() == [
        "uCode,P,Q,R",
        "X,0.0,NA,0.0",
        "Y,50.0,NA,50.0",
        "Z,100.0,50.0,75.0",
    ]


BANDS_ARG = "差:0:60,中:60:80,良:80:90,优:90:100"


def test_grade_columns(capsys):
    code, out, _ = run_cli(capsys, DATA, META, "--bands", BANDS_ARG)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    for r in rows:
        v = float(r["Index"])
        expected = "差" if v < 60 else "中" if v < 80 else "良" if v < 90 else "优"
        assert r["Index.grade"] == expected


def test_robustness_rows_are_reproducible(capsys):
    args = [
        DATA,
        META,
        "--low",
        "1",
        "--robustness",
        "300",
        "--seed",
        "9",
        "--alt-aggregation",
        "geometric",
        "--exclusion-level",
        "1",
        "--bands",
        BANDS_ARG,
    ]
    code, first, err = run_cli(capsys, *args)
    assert code == 0, err
    _, second, _ = run_cli(capsys, *args)
    assert first == second
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 51
    assert list(rows[0]) == [
        "uCode",
        "score",
        "rank",
        "score.p5",
        "score.median",
        "score.p95",
        "rank.p5",
        "rank.median",
        "rank.p95",
        "P(差)",
        "P(中)",
        "P(良)",
        "P(优)",
    ]
    _, nominal, _ = run_cli(capsys, DATA, META, "--low", "1", "--ranks")
    by_unit = {r["uCode"]: r for r in csv.DictReader(io.StringIO(nominal))}
    for r in rows:
        assert float(r["score"]) == pytest.approx(float(by_unit[r["uCode"]]["Index"]), 1e-13)
        assert r["rank"] == by_unit[r["uCode"]]["Index.rank"]
        assert float(r["score.p5"]) <= float(r["score.median"]) <= float(r["score.p95"])
        assert sum(float(r[f"P({g})"]) for g in "差中良优") == pytest.approx(1.0)
    _, other, _ = run_cli(capsys, *args[:7], "10", *args[8:])  # another seed
    assert other != first


def test_bad_bands_argument(capsys):
    with pytest.raises(SystemExit) as info:
        main(["composite", str(DATA), str(META), "--bands", "a:0:50,b:40:100"])
    assert info.value.code == 2
    assert "gap or overlap" in capsys.readouterr().err
