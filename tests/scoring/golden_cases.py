"""Submissions whose receipts were recorded by the scoring code before the fast receipt path
(``data/golden_receipts.json``): the fast path must reproduce them exactly, hash included."""

from __future__ import annotations

import copy
from typing import Any

from tests.scoring.frameworks import WORKED_EXAMPLE


def _example(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(WORKED_EXAMPLE)
    body.update(changes)
    return body


def _row(body: dict[str, Any], row_id: str) -> dict[str, Any]:
    return next(r for r in body["rows"] if r["id"] == row_id)


def _rows_30(seed: int) -> dict[str, Any]:
    from bench.bench_http import submission

    return submission(seed)


def cases() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"worked": _example()}
    na = _example()
    _row(na, "econ").pop("value")
    _row(na, "econ")["not_applicable"] = True
    out["not_applicable"] = na
    ded = _example()
    _row(ded, "qty").update(deduction=2, deduction_reason="资料不全")
    out["deduction"] = ded
    qual = _example()
    _row(qual, "social")["level_score"] = 12.0
    out["level_score"] = qual
    out["national_standard"] = _example(region="110000")
    out["draft_version"] = _example(version="1.1.0-draft")
    out["fixed_values"] = {
        "framework": "DEPT-FIXED",
        "values": {
            "STAFF": {"value": 104},
            "SANGONG": {"value": 3},
            "EFF": {"value": 90},
            "COM-02-001": {"value": 95},
        },
    }
    out["rows_30_a"] = _rows_30(1)
    out["rows_30_b"] = _rows_30(7)
    over = _rows_30(3)
    over["rows"][0]["value"] = 1e-05  # numbers where orjson and json write differently
    over["rows"][1]["value"] = 2.5e16
    over["rows"][2]["name"] = "控制\x01字符 1e5"
    out["odd_numbers"] = over
    return out
