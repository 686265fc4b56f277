"""A Python client generated from the committed openapi/openapi.json with openapi-python-client
(as a finance application would generate it), driven against the app on the seed catalogue.

A change that breaks generated clients (an operation id renamed, a problem answer parsed as
``None``, a typed model that no longer serialises) fails here. docs/clients.md shows the same
calls.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from bench.bench_http import as_columnar, submission
from indicator_service.app import create_app
from indicator_service.auth.models import Role
from indicator_service.core import database
from tests.auth.fixtures import issue_key
from tests.catalogue.conftest import seeded_app
from tests.conftest import TEST_DATABASE_URL, _create_database
from tests.forms.build import FIXTURE_CSV, FIXTURE_GRADE, FIXTURE_TOTAL, FIXTURE_XLSX
from tests.helpers import make_settings

ROOT = Path(__file__).parents[2]
DOCUMENT = ROOT / "openapi" / "openapi.json"
EXAMPLE = ROOT / "docs" / "examples" / "score-prj-2020.json"
PACKAGE = "indicator_client"
CONFIG = Path(__file__).parent / "openapi-python-client.yaml"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client package generated from the committed document, importable."""
    out = tmp_path_factory.mktemp("client")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(DOCUMENT),
            "--meta",
            "none",
            "--config",
            str(CONFIG),
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("clients")) as app:
        yield app


def _client(generated: ModuleType, app: FastAPI, role: Role) -> Any:
    key = issue_key(app.state.engine, app.state.settings, role)
    client = generated.AuthenticatedClient(base_url="http://testserver", token=key)
    client.set_httpx_client(
        TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {key}"})
    )
    return client


@pytest.fixture(scope="module")
def evaluator(generated: ModuleType, seeded: FastAPI) -> Any:
    return _client(generated, seeded, Role.evaluator)


def _example(generated: ModuleType) -> Any:
    models = _module("models")
    return models.ScoreRequest.from_dict(json.loads(EXAMPLE.read_text("utf-8")))


def test_score_returns_a_typed_receipt(generated: ModuleType, evaluator: Any) -> None:
    score = _module("api.scoring.score")
    receipt = score.sync(client=evaluator, body=_example(generated))
    assert type(receipt).__name__ == "Receipt"
    assert receipt.total == 97.92
    assert receipt.grade.grade == "优"


def test_typed_values_serialise(generated: ModuleType, evaluator: Any) -> None:
    """A submission built from typed objects (ValueIn in the values map), not from a dict."""
    models = _module("models")
    request = models.ScoreRequest.from_dict(json.loads(EXAMPLE.read_text("utf-8")))
    values = models.ScoreRequestValues()
    for code, value in request.values.additional_properties.items():
        assert type(value).__name__ == "ValueIn"
        values[code] = value
    values["OUT.QTY.1"] = models.ValueIn(value=90.0)
    typed = models.ScoreRequest(framework="PRJ-2020", region="110000", values=values)
    typed.fiscal_year = 2024
    receipt = _module("api.scoring.score").sync(client=evaluator, body=typed)
    assert type(receipt).__name__ == "Receipt"
    assert receipt.total < 97.92


def test_batch_columnar_and_what_if(generated: ModuleType, evaluator: Any) -> None:
    models = _module("models")
    example = json.loads(EXAMPLE.read_text("utf-8"))
    batch = _module("api.scoring.score_batch").sync(
        client=evaluator,
        body=models.BatchRequest(
            items=[
                models.ScoreRequest.from_dict(example),
                models.ScoreRequest.from_dict({**example, "project": "P2"}),
            ]
        ),
    )
    assert [item.total for item in batch.items] == [97.92, 97.92]
    single = _module("api.scoring.score").sync(client=evaluator, body=_example(generated))
    assert [item.project for item in batch.items] == [example.get("project"), "P2"]
    assert batch.items[0].input_hash == single.input_hash

    items = [_on_seed_classes(submission(seed)) for seed in range(3)]
    columnar = _module("api.scoring.score_columnar").sync(
        client=evaluator, body=models.ColumnarBatchRequest.from_dict(as_columnar(items))
    )
    singles = [
        _module("api.scoring.score").sync(
            client=evaluator, body=models.ScoreRequest.from_dict(item)
        )
        for item in items
    ]
    assert type(columnar).__name__ == "ColumnarBatchResponse", columnar.to_dict()["errors"]
    assert list(columnar.totals) == [single.total for single in singles]

    what_if = _module("api.scoring.score_what_if").sync(
        client=evaluator,
        body=models.WhatIfRequest.from_dict(
            {"submission": example, "overrides": {"bands": None, "points": {}, "targets": {}}}
        ),
    )
    assert what_if.official.total == 97.92


def _on_seed_classes(item: dict[str, Any]) -> dict[str, Any]:
    """The benchmark's submission with the seed SELF-EVAL class names (产出 → 产出指标 …)."""
    for row in item["rows"]:
        row["class_l1"] += "指标"
    return item


def test_stored_evaluations(generated: ModuleType, evaluator: Any) -> None:
    models = _module("models")
    example = {**json.loads(EXAMPLE.read_text("utf-8")), "project": "GEN-CLIENT-1"}
    created = _module("api.scoring.create_evaluation").sync(
        client=evaluator, body=models.ScoreRequest.from_dict(example)
    )
    assert type(created).__name__ == "EvaluationOut", created
    got = _module("api.scoring.get_evaluation").sync(evaluation_id=created.id, client=evaluator)
    assert got.id == created.id
    listed = _module("api.scoring.list_evaluations").sync(client=evaluator, project="GEN-CLIENT-1")
    assert [item.id for item in listed.items] == [created.id]

    # many in one request: per-item idempotency keys, results and problems
    bad = {**example, "project": "GEN-CLIENT-3", "fiscal_year": 1800}
    body = models.EvaluationBatchRequest(
        items=[
            models.EvaluationBatchItemIn(
                submission=models.ScoreRequest.from_dict({**example, "project": "GEN-CLIENT-2"}),
                idempotency_key="gen-client-2",
            ),
            models.EvaluationBatchItemIn.from_dict({"submission": bad}),
        ]
    )
    stored = _module("api.scoring.create_evaluations_batch").sync(client=evaluator, body=body)
    assert type(stored).__name__ == "EvaluationBatchResponse", stored
    assert (stored.stored, stored.failed) == (1, 1)
    assert [item.status for item in stored.items] == [201, 422]
    assert stored.items[0].evaluation.total == 97.92
    assert stored.items[1].errors[0].loc == ["body", "items", 1, "submission", "fiscal_year"]
    again = _module("api.scoring.create_evaluations_batch").sync(client=evaluator, body=body)
    assert again.items[0].replayed is True
    assert again.items[0].evaluation.id == stored.items[0].evaluation.id


def test_a_422_is_a_typed_problem_naming_the_field(generated: ModuleType, evaluator: Any) -> None:
    models = _module("models")
    body = models.ScoreRequest.from_dict(
        {**json.loads(EXAMPLE.read_text("utf-8")), "framework": "NO-SUCH-FRAMEWORK"}
    )
    answer = _module("api.scoring.score").sync_detailed(client=evaluator, body=body)
    assert answer.status_code in (404, 422)
    problem = answer.parsed
    assert type(problem).__name__ == "Problem"
    assert problem.status == answer.status_code

    bad = models.ScoreRequest.from_dict({**json.loads(EXAMPLE.read_text("utf-8"))})
    bad.fiscal_year = 1800
    answer = _module("api.scoring.score").sync_detailed(client=evaluator, body=bad)
    assert answer.status_code == 422
    problem = answer.parsed
    assert type(problem).__name__ == "Problem"
    assert any("fiscal_year" in [str(p) for p in error.loc] for error in problem.errors)


def test_a_429_carries_retry_after(
    generated: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url, drop = _create_database(TEST_DATABASE_URL, tmp_path_factory.mktemp("limited"))
    database.upgrade(url)
    app = create_app(make_settings(url, rate_limit_per_minute=1, rate_limit_burst=1))
    try:
        client = _client(generated, app, Role.evaluator)
        indicators = _module("api.catalogue.list_indicators")
        answers = [indicators.sync_detailed(client=client) for _ in range(3)]
        limited = [a for a in answers if a.status_code == 429]
        assert limited, [a.status_code for a in answers]
        assert type(limited[0].parsed).__name__ == "Problem"
        assert int(limited[0].headers["retry-after"]) >= 1
    finally:
        app.state.engine.dispose()
        if drop is not None:
            drop()


def test_form_upload_and_xlsx_export(generated: ModuleType, evaluator: Any) -> None:
    """The 自评表 of the shared fixtures uploaded as a multipart file (XLSX by its part's type,
    the GB18030 CSV by its file name), and a namespace version exported as XLSX bytes."""
    models, types = _module("models"), _module("types")
    score_form = _module("api.scoring.score_form")
    for path, mime in ((FIXTURE_XLSX, XLSX), (FIXTURE_CSV, "application/octet-stream")):
        upload = types.File(
            payload=io.BytesIO(path.read_bytes()), file_name=path.name, mime_type=mime
        )
        answer = score_form.sync(client=evaluator, body=models.ScoreFormFilesBody(file=upload))
        assert type(answer).__name__ == "FormScoreResponse", answer
        assert (answer.items[0].total, answer.items[0].grade) == (FIXTURE_TOTAL, FIXTURE_GRADE)

    exported = _module("api.curation.export_namespace_version").sync(
        "common", "1.0.0", client=evaluator, format_=models.ExportNamespaceVersionFormatType0.XLSX
    )
    assert type(exported).__name__ == "File", exported
    book = load_workbook(exported.payload, read_only=True)
    header = next(book.worksheets[0].iter_rows(values_only=True))
    assert "code" in [str(cell).strip() for cell in header if cell is not None]


def test_typed_curation_documents(generated: ModuleType, seeded: FastAPI) -> None:
    """Curation with the generated models (issue #17): a namespace draft replaced with a typed
    ``NamespaceDoc``, an indicator added as an ``IndicatorDef`` and changed with an
    ``IndicatorPatch`` (merge patch), and a bad document refused with a typed problem naming
    every field."""
    models = _module("models")
    key = issue_key(seeded.state.engine, seeded.state.settings, Role.curator, ["education"])
    curator = generated.AuthenticatedClient(base_url="http://testserver", token=key)
    curator.set_httpx_client(
        TestClient(seeded, base_url="http://testserver", headers={"Authorization": f"Bearer {key}"})
    )
    created = _module("api.catalogue.create_namespace_draft").sync_detailed(
        "education", client=curator
    )
    assert created.status_code == 201
    draft = created.parsed
    etag = created.headers["etag"]

    # the draft's own document, typed, sent back with a changed description
    document = models.NamespaceDoc.from_dict(draft.document.to_dict())
    assert isinstance(document.indicators[0], models.IndicatorDef)
    document.description = "2025 年修订草稿 (2025 revision draft)"
    put = _module("api.catalogue.put_namespace_draft")
    replaced = put.sync_detailed("education", draft.version, client=curator, body=document,
                                 if_match=etag)  # fmt: skip
    assert replaced.status_code == 200, replaced.content
    assert replaced.parsed.document.to_dict()["description"] == document.description
    assert replaced.parsed.content_hash != draft.content_hash
    etag = replaced.headers["etag"]

    # an indicator built from the generated model
    indicator = models.IndicatorDef(
        code="EDU-01-098",
        name_zh="新增学位数",
        name_en="New school places",
        class_l1="产出",
        class_l2="数量指标",
        value_type=models.IndicatorDefValueType.QUANTITATIVE,
        operator="≥",
        unit="个",
    )
    added = _module("api.curation.add_indicator").sync_detailed(
        "education", draft.version, client=curator, body=indicator, if_match=etag
    )
    assert added.status_code == 201, added.content
    assert added.parsed.item.to_dict()["code"] == "EDU-01-098"
    etag = added.headers["etag"]
    patch = models.IndicatorPatch(unit="%", operator="≤")
    patched = _module("api.curation.patch_indicator").sync_detailed(
        "education", draft.version, "EDU-01-098", client=curator, body=patch, if_match=etag
    )
    assert patched.status_code == 200, patched.content
    assert (patched.parsed.item["unit"], patched.parsed.item["operator"]) == ("%", "≤")
    etag = patched.headers["etag"]

    # a bad document: a typed 422 problem naming every bad field; the draft is unchanged
    bad = models.NamespaceDoc.from_dict(document.to_dict())
    bad.code_prefix = "edu"
    bad.indicators[0].level = 9
    refused = put.sync_detailed("education", draft.version, client=curator, body=bad,
                                if_match=etag)  # fmt: skip
    assert refused.status_code == 422
    problem = refused.parsed
    assert type(problem).__name__ == "Problem"
    locs = {tuple(error.loc) for error in problem.errors}
    assert {("body", "code_prefix"), ("body", "indicators", 0, "level")} <= locs
    current = _module("api.catalogue.get_namespace_version").sync_detailed(
        "education", draft.version, client=curator
    )
    assert current.headers["etag"] == etag
