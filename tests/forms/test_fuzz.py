"""Any grid of cells — labels of the layout in random places, odd numbers, words — is read
and converted without an exception other than a located problem (never a 500)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicator_service.forms import pipeline
from indicator_service.forms.reader import FormFileError
from tests.forms import build
from tests.forms.build import csv_bytes

LABELS = [
    "项目支出绩效自评表",
    "（2022年度）",
    "项目名称",
    "主管部门",
    "实施单位",
    "项目资金（万元）",
    "年初预算数",
    "全年预算数",
    "全年执行数",
    "分值",
    "执行率",
    "得分",
    "年度资金总额",
    "其中：当年财政拨款",
    "年度总体目标",
    "预期目标",
    "实际完成情况",
    "绩效指标",
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值",
    "实际完成值",
    "偏差原因分析及改进措施",
    "备注",
    "总分",
    "填表人：",
    "指标值",
    "产出指标",
    "数量指标",
]
CELL = st.one_of(
    st.sampled_from(LABELS),
    st.sampled_from(
        [
            "≥95%",
            "≤90万元",
            "=100%",
            "按期完成",
            "达成",
            "1.1万亩",
            "—",
            "十五",
            "1e308",
            "-5",
            "0",
            "nan",
            "inf",
            "９５％",
            "不低于",
            "以上",
            "百分之",
        ]
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.text(max_size=6),
    st.just(""),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(CELL, min_size=1, max_size=10), min_size=1, max_size=30))
def test_random_grids_never_crash(rows: list[list[str]]) -> None:
    raw = csv_bytes(rows, "utf-8")
    try:
        outcomes = pipeline.score_forms(raw, None, build.document_catalogue())
    except FormFileError:
        return
    for o in outcomes:
        assert o.ok or o.problems
        for p in o.problems:
            assert " / " in p.msg
