"""The fast receipt path (plain dicts, orjson, structures cached across calls) gives exactly
what the model-based path gave before it: receipts recorded then, input hashes included.
Fields added since (the explanation, ``explain``, on the receipt and on each leaf) are left out
of the comparison: every recorded field keeps its value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicator_service.core.i18n import CHINESE, ENGLISH, language
from indicator_service.scoring import receipts
from indicator_service.scoring.labels import receipt_labels
from indicator_service.scoring.schemas import Receipt, ScoreRequest
from tests.helpers import ApiClient
from tests.scoring.frameworks import catalogue
from tests.scoring.golden_cases import cases

GOLDEN: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "golden_receipts.json").read_text(encoding="utf-8")
)
CASES = cases()
#: Fields added to receipts after the golden receipts were recorded (add, never rename).
ADDED = "explain"
#: The labels added when a receipt is answered (scoring/labels.py), in the request's language.
LABELS = frozenset({"grade_label", "consequence", "warning_labels", "missing_policy_label"})
LEAF_LABELS = frozenset({"rule_label", "level_label", "warning_labels"})


def recorded(receipt: dict[str, Any]) -> dict[str, Any]:
    """The receipt without the fields added since the recording."""
    out = {k: v for k, v in receipt.items() if k != ADDED and k not in LABELS}
    out["leaves"] = [
        {k: v for k, v in lf.items() if k != ADDED and k not in LEAF_LABELS}
        for lf in receipt["leaves"]
    ]
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_receipts_equal_the_recorded_ones(name: str) -> None:
    cat = catalogue()  # a fresh structure cache
    req = ScoreRequest.model_validate(CASES[name])
    for _ in range(2):  # the second call reuses the cached structure and receipt parts
        fast = orjson.loads(receipts.score_json(req, cat))
        assert recorded(fast) == GOLDEN[name]
        assert ADDED in fast
        assert all(ADDED in lf for lf in fast["leaves"])
        # answered with labels (a grade's and a level's only where there is one) …
        assert {"warning_labels", "missing_policy_label"} <= fast.keys()
        assert ("grade_label" in fast) == (fast["grade"] is not None)
        assert all({"rule_label", "warning_labels"} <= lf.keys() for lf in fast["leaves"])
        assert (
            not LABELS & receipts.score(req, cat).model_dump(mode="json").keys()
        )  # … kept without
        assert recorded(receipts.score(req, cat).model_dump(mode="json")) == GOLDEN[name]
    # The plain dict is already what the model would dump (field order included).
    p, compiled, result = receipts._score(req, cat)
    d = receipts.receipt_dict(p, compiled, result)
    assert list(d) == [f for f in Receipt.model_fields if f in d]  # `form` only from forms
    assert json.dumps(d) == json.dumps(Receipt.model_validate(d).model_dump(mode="json"))


@pytest.mark.parametrize("lang", [ENGLISH, CHINESE])
@pytest.mark.parametrize("name", sorted(CASES))
def test_answered_receipt_is_the_labelled_receipt_byte_for_byte(name: str, lang: str) -> None:
    """The answer path (pre-serialised static parts, labels written as each leaf is built) gives
    the bytes of the receipt dict with its labels added afterwards: key order included, with a
    fresh and with a cached structure."""
    cat = catalogue()
    req = ScoreRequest.model_validate(CASES[name])
    with language(lang):
        for _ in range(2):
            expected = orjson.dumps(
                receipt_labels(receipts.receipt_dict(*receipts._score(req, cat)))
            )
            assert receipts.score_json(req, cat) == expected
            assert b":-0.0" not in expected  # no negative zero (points lost by rounding up)


def test_answer_templates_are_kept_per_language() -> None:
    """One cached structure answered in English, Chinese and English again: each answer has the
    labels of its own language (the rule's label sits in a per-language leaf template)."""
    cat = catalogue()
    req = ScoreRequest.model_validate(CASES["rows_30_a"])
    answers: dict[str, bytes] = {}
    for lang in (ENGLISH, CHINESE, ENGLISH, CHINESE):
        with language(lang):
            expected = orjson.dumps(
                receipt_labels(receipts.receipt_dict(*receipts._score(req, cat)))
            )
            got = receipts.score_json(req, cat)
            assert got == expected
            answers.setdefault(lang, got)
            assert got == answers[lang]
    rule_labels = {
        lang: {lf["rule_label"] for lf in orjson.loads(body)["leaves"]}
        for lang, body in answers.items()
    }
    assert rule_labels[ENGLISH].isdisjoint(rule_labels[CHINESE])


def test_http_receipts_equal_the_recorded_ones(sapi: ApiClient) -> None:
    for name, body in CASES.items():
        r = sapi.post("/v1/score", json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert recorded(r.json()) == GOLDEN[name], name


def test_cached_structure_keeps_each_calls_values() -> None:
    cat = catalogue()
    a, b = (ScoreRequest.model_validate(CASES[k]) for k in ("rows_30_a", "rows_30_b"))
    first = orjson.loads(receipts.score_json(a, cat))
    second = orjson.loads(receipts.score_json(b, cat))
    assert len(cat.structures) == 1  # same rows, points and targets: one structure
    assert (first["total"], second["total"]) == (GOLDEN["rows_30_a"]["total"], 93.74)
    assert first["leaves"][0]["raw_value"] != second["leaves"][0]["raw_value"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@settings(max_examples=1000, deadline=None)
@given(JSON_VALUES)
def test_canonical_json_is_json_dumps_byte_for_byte(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipts.canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    "number",
    [1e-05, 5e-324, 1e16, 2.5e16, -1e-7, 0.0001, 1e15, -0.0, -1e16, 1e22, 1.5e300, 1.2e17, 1e-10],
)
def test_canonical_json_numbers_where_orjson_differs(number: float) -> None:
    payload = {"x": [number], "s": "a\x01\u2028/"}
    expected = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipts.canonical_json(payload) == expected.encode("utf-8")


@settings(max_examples=3000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_json_numbers_of_every_magnitude(number: float) -> None:
    """Where orjson writes a number otherwise than ``json.dumps`` (below 1e-4 only), the
    canonical text is still ``json.dumps``'s; large numbers are written alike."""
    payload = {"x": number}
    expected = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipts.canonical_json(payload) == expected.encode("utf-8")


def test_cached_structures_are_type_exact() -> None:
    """1 and 1.0 are equal in Python but not in the JSON a receipt echoes: two structures."""
    cat = catalogue()
    leaves = []
    for factor in (2, 2.0):
        body = json.loads(json.dumps(CASES["worked"]))
        qty = next(r for r in body["rows"] if r["id"] == "qty")
        qty["rule"] = {"kind": "higher_better", "over_achievement_factor": factor}
        out = receipts.score_json(ScoreRequest.model_validate(body), cat)
        leaves.append(next(lf for lf in orjson.loads(out)["leaves"] if lf["id"] == "qty"))
    assert len(cat.structures) == 2
    assert json.dumps(leaves[0]["rule"]["over_achievement_factor"]) == "2"
    assert json.dumps(leaves[1]["rule"]["over_achievement_factor"]) == "2.0"


def test_an_async_documents_override_is_refused_clearly() -> None:
    """The documents override is read without FastAPI's resolution: an ``async def`` one would
    hand a coroutine to the scoring code as its catalogue; it is refused by name instead."""
    from types import SimpleNamespace

    from indicator_service.scoring.router import catalogue_documents, get_catalogue_lookup

    cat = catalogue()

    async def documents() -> Any:
        return cat

    assert catalogue_documents(SimpleNamespace(dependency_overrides={})) is None
    app = SimpleNamespace(dependency_overrides={get_catalogue_lookup: lambda: cat})
    assert catalogue_documents(app) is cat
    app.dependency_overrides[get_catalogue_lookup] = documents
    with pytest.raises(TypeError, match="get_catalogue_lookup must be a sync callable"):
        catalogue_documents(app)
