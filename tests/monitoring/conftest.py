"""An app on a database of its own with the seed catalogue (SELF-EVAL 1.2.0 states the
monitoring thresholds), and keys of each kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from indicator_service.auth.models import Role
from tests.auth.fixtures import authenticate, issue_key
from tests.catalogue.conftest import seeded_app
from tests.helpers import ApiClient


@pytest.fixture(scope="module")
def mon_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    with seeded_app(tmp_path_factory.mktemp("monitoring")) as app:
        yield app


def client_for(app: FastAPI, role: Role, *, regions: list[str] | None = None) -> ApiClient:
    namespaces = ["*"] if role in (Role.curator, Role.reviewer) else None
    key = issue_key(
        app.state.engine, app.state.settings, role, namespaces, name=f"{role}", regions=regions
    )
    return authenticate(ApiClient(app), key)


@pytest.fixture(scope="module")
def mapi(mon_app: FastAPI) -> Iterator[ApiClient]:
    """An evaluator key (no region scope)."""
    client = client_for(mon_app, Role.evaluator)
    yield client
    client.close()


def farmland_request(**changes: Any) -> dict[str, Any]:
    """The farmland project of the shared fixture form, monitored at 30 June 2026."""
    body: dict[str, Any] = {
        "framework": "SELF-EVAL",
        "project": "FARMLAND-2026",
        "project_name": "2026年高标准农田建设项目",
        "unit": "县农田建设服务中心",
        "region": "330102",
        "fiscal_year": 2026,
        "as_of": "2026-06-30",
        "goal": "新建高标准农田1.2万亩，改善灌溉条件。",
        "budget": {"budget": 500, "executed": 150},
        "indicators": [
            {
                "id": "R1",
                "class_l1": "产出指标",
                "class_l2": "数量指标",
                "name": "新建高标准农田面积",
                "operator": "≥",
                "target": 1.2,
                "unit": "万亩",
                "actual": 0.48,
            },
            {
                "id": "R2",
                "class_l1": "产出指标",
                "class_l2": "质量指标",
                "name": "工程验收合格率",
                "operator": "=",
                "target": 100,
                "unit": "%",
                "kind": "level",
                "actual": 100,
            },
            {
                "id": "R3",
                "class_l1": "产出指标",
                "class_l2": "成本指标",
                "name": "亩均建设成本",
                "operator": "≤",
                "target": 200,
                "unit": "元",
                "kind": "level",
                "actual": 230,
                "reason": "钢材、水泥价格上涨",
                "measure": "优化设计，集中采购主要材料",
            },
        ],
    }
    body.update(changes)
    return body
