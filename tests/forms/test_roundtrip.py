"""Round trip: random forms written in the national layout read back as the same rows."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicator_service.forms.model import Form, FundsLine, IndicatorLine
from indicator_service.forms.reader import parse_sheets
from indicator_service.tables.workbook import read_sheets
from tests.forms.build import csv_bytes, form_xlsx, grid

# cell text as people write it: no leading/trailing blanks, no label words of the layout
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF)
_WORD = st.text(_CJK, min_size=1, max_size=8).filter(
    lambda s: not any(k in s for k in ("总分", "合计", "指标", "目标", "填表", "负责", "审核"))
)
_TARGET = st.one_of(
    st.builds(
        lambda op, n, u: f"{op}{n}{u}",
        st.sampled_from(["≥", "≤", "=", ">", "<", "不低于", "不超过"]),
        st.integers(0, 100_000),
        st.sampled_from(["%", "万元", "人", "亩", "元/亩", ""]),
    ),
    _WORD,
)
_ACTUAL = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", st.integers(0, 100_000), st.sampled_from(["%", "万人", ""])),
    st.sampled_from(["达成", "部分达成", "未达成"]),
)


@st.composite
def forms(draw: st.DrawFn) -> Form:
    n = draw(st.integers(1, 12))
    rows = []
    l1 = l2 = ""
    for i in range(n):
        if i == 0 or draw(st.booleans()):
            l1 = draw(_WORD)
            l2 = draw(_WORD)
        elif draw(st.booleans()):
            l2 = draw(_WORD)
        rows.append(
            IndicatorLine(
                row=i,
                class_l1=l1,
                class_l2=l2,
                name=draw(_WORD),
                target=draw(_TARGET),
                actual=draw(_ACTUAL),
                points=draw(st.integers(1, 30)),
                explanation=draw(st.none() | _WORD),
            )
        )
    form = Form(
        sheet="自评表",
        fiscal_year=draw(st.integers(2000, 2099)),
        project=draw(_WORD),
        department=draw(_WORD),
        unit=draw(_WORD),
    )
    form.funds = [
        FundsLine(
            "年度资金总额",
            initial=draw(st.integers(0, 10**6)),
            adjusted=1000,
            executed=draw(st.integers(0, 2000)),
            points=10,
        ),
        FundsLine("当年财政拨款", initial=1, adjusted=2, executed=3, sub=True),
    ]
    form.indicators = rows
    return form


def _rows(form: Form) -> list[tuple]:
    return [
        (
            x.class_l1,
            x.class_l2,
            x.name,
            str(x.target),
            str(x.actual),
            float(x.points),
            x.explanation,
        )
        for x in form.indicators
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms(), st.booleans())
def test_written_forms_read_back_the_same(form: Form, as_csv: bool) -> None:
    raw = csv_bytes(grid(form)[0], "gb18030") if as_csv else form_xlsx(form)
    (back,), (problems,) = parse_sheets(read_sheets(raw))
    assert problems == []
    assert _rows(back) == _rows(form)
    assert (back.project, back.department, back.unit, back.fiscal_year) == (
        form.project,
        form.department,
        form.unit,
        form.fiscal_year,
    )
    assert [(x.label, x.initial, x.adjusted, x.executed, x.sub) for x in back.funds] == [
        (x.label, x.initial, x.adjusted, x.executed, x.sub) for x in form.funds
    ]
