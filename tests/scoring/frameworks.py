"""Catalogue documents for the scoring API tests (built in code, validated by the source models)."""

from __future__ import annotations

from typing import Any

from indicator_service.catalogue.source import FrameworkDoc, NamespaceDoc
from indicator_service.scoring.lookup import DocumentCatalogue

COMMON = NamespaceDoc.model_validate(
    {
        "namespace": "common",
        "kind": "common",
        "code_prefix": "COM",
        "name_zh": "共性指标",
        "name_en": "Common indicators",
        "owner": "test",
        "version": "1.0.0",
        "indicators": [
            {
                "code": "COM-01-001",
                "name_zh": "验收合格率",
                "name_en": "Acceptance pass rate",
                "class_l1": "产出",
                "class_l2": "质量指标",
                "value_type": "quantitative",
                "operator": "≥",
                "unit": "%",
            },
            {
                "code": "COM-01-002",
                "name_zh": "单位成本",
                "name_en": "Unit cost",
                "value_type": "quantitative",
                "operator": "≤",
                "unit": "元/台",
            },
            {
                "code": "COM-02-001",
                "name_zh": "服务对象满意度",
                "name_en": "Beneficiary satisfaction",
                "value_type": "quantitative",
                "operator": "≥",
                "unit": "%",
            },
            {
                "code": "COM-03-001",
                "name_zh": "社会效益",
                "name_en": "Social benefit",
                "value_type": "qualitative",
            },
        ],
        "standards": [
            {
                "indicator": "COM-02-001",
                "type": "industry",
                "value": 95,
                "unit": "%",
                "source": {"title": "行业标准 (test)", "issuer": "test", "year": 2024},
            },
            {
                "indicator": "COM-02-001",
                "type": "industry",
                "value": 90,
                "unit": "%",
                "region": "330000",
                "fiscal_year": 2024,
                "source": {"title": "浙江 2024 (test)", "issuer": "test", "year": 2024},
            },
        ],
    }
)


def self_evaluation(version: str = "1.0.0", **changes: Any) -> FrameworkDoc:
    """Unit self-evaluation: execution 10 (fixed), 产出 50, 效益 30 and 满意度 10 open classes."""
    doc: dict[str, Any] = {
        "framework": "SELF-EVAL",
        "name_zh": "项目支出绩效自评",
        "name_en": "Project self-evaluation",
        "kind": "self_evaluation",
        "version": version,
        "requires": {"common": "1.0.0"},
        "nodes": [
            {
                "code": "EXEC",
                "level": 1,
                "name_zh": "预算执行率",
                "name_en": "Budget execution",
                "points": 10,
                "rule": {"kind": "budget_execution"},
            },
            {
                "code": "OUT",
                "level": 1,
                "name_zh": "产出",
                "name_en": "Output",
                "points": 50,
                "open": True,
            },
            {
                "code": "BEN",
                "level": 1,
                "name_zh": "效益",
                "name_en": "Benefit",
                "points": 30,
                "open": True,
            },
            {
                "code": "SAT",
                "level": 1,
                "name_zh": "满意度",
                "name_en": "Satisfaction",
                "points": 10,
                "open": True,
            },
        ],
    }
    doc.update(changes)
    return FrameworkDoc.model_validate(doc)


def fixed_department() -> FrameworkDoc:
    """A fixed tree (values keyed by node code) with deduction rules and the reject policy."""
    return FrameworkDoc.model_validate(
        {
            "framework": "DEPT-FIXED",
            "name_zh": "部门整体支出",
            "name_en": "Department overall",
            "kind": "department_overall",
            "version": "2.0.0",
            "missing_policy": "reject",
            "nodes": [
                {"code": "IN", "level": 1, "name_zh": "投入", "name_en": "Input", "points": 13},
                {
                    "code": "STAFF",
                    "parent": "IN",
                    "level": 2,
                    "name_zh": "在职人员控制率",
                    "name_en": "Staff control rate",
                    "points": 5,
                    "rule": {"kind": "deduction", "threshold": 100, "per_unit": 0.5},
                },
                {
                    "code": "SANGONG",
                    "parent": "IN",
                    "level": 2,
                    "name_zh": "三公经费变动率",
                    "name_en": "Official spending change",
                    "points": 8,
                    "rule": {"kind": "deduction", "threshold": 0, "per_unit": 0.8},
                },
                {
                    "code": "EFF",
                    "level": 1,
                    "name_zh": "履职效益",
                    "name_en": "Efficacy",
                    "points": 20,
                    "rule": {"kind": "efficacy", "levels": [100, 80, 60, 40, 20]},
                },
                {
                    "code": "SAT",
                    "level": 1,
                    "name_zh": "满意度",
                    "name_en": "Satisfaction",
                    "points": 67,
                    "indicator": "COM-02-001",
                    "standard_type": "industry",
                },
            ],
        }
    )


def catalogue() -> DocumentCatalogue:
    return DocumentCatalogue(
        [self_evaluation(), self_evaluation("1.1.0-draft"), fixed_department()], [COMMON]
    )


#: The worked example: execution 98 % → 9.8, 产出 48.4/50, 效益 27/30, 满意度 9/10 → 94.2 优.
WORKED_EXAMPLE: dict[str, Any] = {
    "framework": "SELF-EVAL",
    "project": "P-001",
    "unit": "U-01",
    "region": "330000",
    "fiscal_year": 2024,
    "budget": {"adjusted": 100.0, "executed": 98.0},
    "rows": [
        {
            "id": "qty",
            "class_l1": "产出",
            "class_l2": "数量指标",
            "name": "完成数量",
            "points": 20,
            "operator": "≥",
            "target": 100,
            "unit": "台",
            "value": 96,
        },
        {
            "id": "quality",
            "class_l1": "产出",
            "class_l2": "质量指标",
            "indicator": "COM-01-001",
            "points": 10,
            "target": 100,
            "unit": "%",
            "value": 100,
        },
        {
            "id": "time",
            "class_l1": "产出",
            "class_l2": "时效指标",
            "name": "及时率",
            "points": 10,
            "operator": "≥",
            "target": 100,
            "unit": "%",
            "value": 100,
        },
        {
            "id": "cost",
            "class_l1": "产出",
            "class_l2": "成本指标",
            "indicator": "COM-01-002",
            "points": 10,
            "target": 100,
            "unit": "元/台",
            "value": 108,
        },
        {
            "id": "econ",
            "class_l1": "效益",
            "class_l2": "经济效益",
            "name": "增收",
            "points": 15,
            "operator": "≥",
            "target": 100,
            "unit": "万元",
            "value": 80,
        },
        {
            "id": "social",
            "class_l1": "效益",
            "class_l2": "社会效益",
            "indicator": "COM-03-001",
            "points": 15,
            "level": "achieved",
        },
        {
            "id": "sat",
            "class_l1": "满意度",
            "indicator": "COM-02-001",
            "points": 10,
            "standard_type": "industry",
            "value": 81,
        },
    ],
}
