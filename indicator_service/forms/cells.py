"""Cells as people write them in a self-evaluation form.

- 年度指标值 with an operator and a unit: ``≥95%``, ``≤90万元``, ``=100%``, ``≧``, ``>=``,
  ``不低于``, ``不少于``, ``不高于``, ``不超过``, ``100人以上``, ``5天以内``; a target in words
  (``按期完成``, ``逐步缩小``) makes the row qualitative.
- numbers with units and 万/亿 scaling (``1.38万人`` against ``≥1.42万人``; ``13800人``
  converts), full-width digits and symbols (``９５％``), Chinese numerals (``十五``,
  ``一万二千``, ``百分之九十五``), thousands separators (``1,200``).
- level words (达成, 部分达成, 好, 较差 …) mapped to a framework's level codes through its
  synonym table.

Pure functions: no I/O, no FastAPI or database.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from indicator_service.core.i18n import localized

# --- normalising ---------------------------------------------------------------------------------

_EXTRA = str.maketrans(
    {
        "≧": "≥",
        "≦": "≤",
        "\u3000": " ",
        "﹪": "%",
    }
)
_SPACES = re.compile(r"\s+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalise(text: Any) -> str:
    """The cell as text, NFKC-normalised (full-width digits, letters and symbols to ASCII),
    ``≧``/``≦`` to ``≥``/``≤``, spaces removed, thousands separators dropped."""
    if text is None:
        return ""
    if isinstance(text, float):
        if text.is_integer() and abs(text) < 1e15:
            return str(int(text))
        return repr(text)
    s = str(text)
    s = s.strip() if s.isascii() else unicodedata.normalize("NFKC", s).translate(_EXTRA)
    s = _SPACES.sub("", s)
    return _THOUSANDS.sub("", s)


def label(text: Any) -> str:
    """A label cell as compared: normalised, without a trailing colon, ``（万元）`` notes kept."""
    return normalise(text).rstrip(":：")


# --- Chinese numerals ----------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "两": 2,
    "贰": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
CN_NUMERAL_CHARS = "".join([*_CN_DIGITS, *_CN_SMALL, *_CN_BIG, "点"])
_CN_RUN = re.compile(f"^[{CN_NUMERAL_CHARS}]+")


def chinese_number(text: str) -> float | None:
    """``十五`` → 15, ``一万二千`` → 12000, ``三点五`` → 3.5, ``二〇二二`` → 2022; ``None``
    when ``text`` is not a Chinese numeral."""
    if not text or any(c not in CN_NUMERAL_CHARS for c in text):
        return None
    whole, _, frac = text.partition("点")
    if "点" in frac:
        return None
    if frac and any(c not in _CN_DIGITS for c in frac):
        return None
    if whole and all(c in _CN_DIGITS for c in whole) and len(whole) > 1:
        value = float("".join(str(_CN_DIGITS[c]) for c in whole))  # 二〇二二
    else:
        integer = _cn_integer(whole) if whole else 0.0
        if integer is None:
            return None
        value = integer
    if frac:
        value += float("0." + "".join(str(_CN_DIGITS[c]) for c in frac))
    return value


def _cn_integer(text: str) -> float | None:
    total, section, digit = 0.0, 0.0, None
    for c in text:
        if c in _CN_DIGITS:
            if digit is not None and digit != 0 and _CN_DIGITS[c] != 0:
                return None  # 三五: two digits without a unit between them
            digit = _CN_DIGITS[c]
        elif c in _CN_SMALL:
            section += (1 if digit is None else digit) * _CN_SMALL[c]
            digit = None
        else:  # 万 / 亿
            big = _CN_BIG[c]
            section += digit or 0
            if section == 0 and total == 0:
                return None
            total = (total + section) * big
            section, digit = 0.0, None
    return total + section + (digit or 0)


# --- quantities ----------------------------------------------------------------------------------

SCALES = {"万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6, "千万": 1e7}
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
PERCENT_UNITS = frozenset({"%", "‰"})


@dataclass(frozen=True)
class Quantity:
    """A number as written, with its unit as written (``1.2``, ``万亩``)."""

    value: float
    unit: str

    @property
    def base(self) -> tuple[float, str]:
        """Value and unit without a 万/亿 prefix: ``1.2万亩`` → (12000, 亩)."""
        scale, unit = split_scale(self.unit)
        return self.value * scale, unit


def split_scale(unit: str) -> tuple[float, str]:
    """``万亩`` → (1e4, 亩); ``万元`` → (1e4, 元); ``亩`` → (1, 亩); ``万`` → (1e4, "")."""
    for prefix in ("百万", "千万", "万", "亿"):
        if unit.startswith(prefix) and not unit.startswith(prefix + "分之"):
            return SCALES[prefix], unit[len(prefix) :]
    return 1.0, unit


def parse_quantity(text: str) -> Quantity | None:
    """A normalised cell → number and unit, or ``None`` when it does not start with a number
    (Arabic or Chinese). ``96%`` → (96, %); ``百分之九十五`` → (95, %); ``1.1万亩`` → (1.1,
    万亩); ``十五人`` → (15, 人)."""
    if not text:
        return None
    if text.startswith("百分之"):
        q = parse_quantity(text[3:])
        return Quantity(q.value, "%") if q is not None and not q.unit else None
    m = _NUMBER.match(text)
    if m is not None:
        try:
            value = float(m.group(0))
        except ValueError:  # pragma: no cover - the pattern only matches floats
            return None
        if not math.isfinite(value):
            return None
        return Quantity(value, text[m.end() :])
    run = _CN_RUN.match(text)
    if run is None:
        return None
    # the longest prefix that is a numeral (``三万亩``: 三万 then 亩; ``一万人``: 一万 人)
    for end in range(run.end(), 0, -1):
        value_or_none = chinese_number(text[:end])
        if value_or_none is not None:
            return Quantity(value_or_none, text[end:])
    return None


# --- targets (年度指标值) ------------------------------------------------------------------------

PREFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    (">=", "≥"),
    ("<=", "≤"),
    ("=>", "≥"),
    ("=<", "≤"),
    ("≥", "≥"),
    ("≤", "≤"),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
    ("不低于", "≥"),
    ("不少于", "≥"),
    ("不小于", "≥"),
    ("大于等于", "≥"),
    ("大于或等于", "≥"),
    ("至少", "≥"),
    ("达到", "≥"),
    ("不高于", "≤"),
    ("不超过", "≤"),
    ("不多于", "≤"),
    ("不大于", "≤"),
    ("小于等于", "≤"),
    ("小于或等于", "≤"),
    ("控制在", "≤"),
    ("至多", "≤"),
    ("大于", ">"),
    ("高于", ">"),
    ("超过", ">"),
    ("多于", ">"),
    ("小于", "<"),
    ("低于", "<"),
    ("少于", "<"),
    ("等于", "="),
)
SUFFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    ("及以上", "≥"),
    ("以上", "≥"),
    ("及以内", "≤"),
    ("以内", "≤"),
    ("及以下", "≤"),
    ("以下", "≤"),
)
ACCEPTED_TARGETS = "≥95%、≤90万元、=100%、不低于95%、100人以上，或文字（如“按期完成”）"
ACCEPTED_TARGETS_EN = "≥95%, ≤90万元, =100%, 不低于95%, 100人以上, or words such as 按期完成"


@dataclass(frozen=True)
class Target:
    """A parsed 年度指标值: quantitative (operator, quantity) or qualitative (its words)."""

    text: str
    operator: str | None = None  # ≥ > = ≤ < ; None for a qualitative target
    quantity: Quantity | None = None

    @property
    def qualitative(self) -> bool:
        return self.quantity is None


def parse_target(cell: Any) -> Target | None:
    """The target of a 年度指标值 cell; ``None`` for an empty cell. A cell without a number is a
    qualitative target (its words are kept); a number without an operator means ``≥`` (the
    national forms' default reading of a bare target), ``=`` when it is 100%."""
    text = normalise(cell)
    if not text:
        return None
    op: str | None = None
    rest = text
    for spelling, canon in PREFIX_OPERATORS:
        if rest.startswith(spelling):
            op, rest = canon, rest[len(spelling) :]
            break
    if op is None:
        for spelling, canon in SUFFIX_OPERATORS:
            if rest.endswith(spelling):
                op, rest = canon, rest[: -len(spelling)]
                break
    q = parse_quantity(rest)
    if q is None or (q.unit and _looks_like_words(q.unit)):
        return Target(text=text)
    if op is None:
        op = "≥"
    return Target(text=text, operator=op, quantity=q)


def _looks_like_words(unit: str) -> bool:
    """A 'unit' that is a sentence (``3月底前完成``): longer than any unit people write."""
    return len(unit) > 8 or any(c in _WORD_CHARS for c in unit)


# characters of sentences (完成, 月底前, 提高 …) that no unit of measure contains
_WORD_CHARS = frozenset("，,；;。完成前底达实现提降增减按逐步稳确保")


# --- actuals (实际完成值) ------------------------------------------------------------------------


class CellProblem(ValueError):
    """A cell that cannot be read: ``zh`` and ``en`` say what is wrong and what is accepted;
    ``message`` is the one of the request's language (core/i18n.py)."""

    def __init__(self, zh: str, en: str, type_: str) -> None:
        super().__init__(en)
        self.zh, self.en, self.type = zh, en, type_

    @property
    def message(self) -> str:
        return localized(self.en, self.zh)


def units_agree(a: str, b: str) -> bool:
    return a == b or {a, b} <= {"", "%"} or {a, b} <= {"", "‰"}


def in_unit(q: Quantity, unit: str) -> float:
    """``q`` expressed in ``unit`` (its 万/亿 scale converted): 13800人 in 万人 → 1.38. An
    actual without a unit is taken in the target's unit, and ``%`` and no unit agree (96 and
    96% are the same percentage). Raises :class:`CellProblem` when the units differ."""
    if units_agree(q.unit, unit):
        return q.value
    value, base = q.base
    scale, target_base = split_scale(unit)
    if base == target_base and base:
        return value / scale
    raise CellProblem(
        f"单位“{q.unit}”与年度指标值的单位“{unit or '无'}”不一致，请填写以“{unit}”计的数值",
        f"unit {q.unit!r} differs from the target's unit {unit!r}: write the value in {unit!r}",
        "unit_mismatch",
    )


def parse_actual_number(cell: Any, unit: str) -> float:
    """A quantitative 实际完成值 in the target's unit (raises :class:`CellProblem`)."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        value = float(cell)
        if not math.isfinite(value):
            raise CellProblem("不是有限的数值", "not a finite number", "finite_number")
        return value
    text = normalise(cell)
    q = parse_quantity(text)
    if q is None:
        raise CellProblem(
            f"“{text}”不是数值；定量指标的实际完成值应填写数值，如 96%、1.1万亩、210元",
            f"{text!r} is not a number; write a number such as 96%, 1.1万亩, 210元",
            "float_parsing",
        )
    return in_unit(q, unit)


# --- level words ---------------------------------------------------------------------------------


def level_table(
    levels: Sequence[Mapping[str, Any]], synonyms: Mapping[str, Sequence[str]] | None
) -> dict[str, str]:
    """Normalised word → level code: the codes themselves, the levels' Chinese names and the
    framework's synonyms."""
    table: dict[str, str] = {}
    for lv in levels:
        code = str(lv["code"])
        table[normalise(code).lower()] = code
        if lv.get("name_zh"):
            table[normalise(lv["name_zh"])] = code
    for code, words in (synonyms or {}).items():
        for w in words:
            table[normalise(w)] = code
    return table


def parse_level(cell: Any, table: Mapping[str, str]) -> str:
    text = normalise(cell)
    code = table.get(text) or table.get(text.lower())
    if code is None:
        by_code: dict[str, list[str]] = {}
        for w, c in table.items():
            if not w.isascii() and len(w) <= 8:
                by_code.setdefault(c, []).append(w)
        words = "；".join("、".join(ws[:6]) for ws in by_code.values())
        raise CellProblem(
            f"“{text}”不是可识别的完成程度；定性指标的实际完成值应为：{words}",
            f"{text!r} is not a known level; a qualitative actual is one of: {words}",
            "level",
        )
    return code
