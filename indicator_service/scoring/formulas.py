"""Formulas with their numbers (``86 ÷ 90 × 10 = 9.56``): each rule kind's score computed
again in plain Python from the leaf's inputs, in the engine's order (rule, clamp to [0, w],
over-achievement penalty, manual deduction) and rounded by the engine's one rounding function,
written in both languages. The receipt's explanation (:mod:`.explain`) shows it; the tests
check that its result equals the engine's score for every rule kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from indicator_service import rules

Words = dict[str, str]
#: A formula before rounding: its words in Chinese and English, and its unrounded value.
Pending = tuple[str, str, float]


def words(zh: str, en: str) -> Words:
    return {"zh": zh, "en": en}


# --- numbers ------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def num(x: float | None) -> str:
    """A number as a person writes it: no exponent, no trailing zeros (``90``, ``9.5``,
    ``91.666667``); six decimals at most."""
    if x is None or x != x:
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    r = round(float(x), 6) + 0.0
    if r.is_integer() and abs(r) < 1e15:
        return str(int(r))
    return f"{r:.6f}".rstrip("0").rstrip(".")


def pts(x: float) -> str:
    """A score or points to two decimals, as the forms show them (``9.56``, ``10.00``)."""
    return f"{x:.2f}"


def paren(x: float) -> str:
    """A number inside a formula: negative numbers in parentheses."""
    s = num(x)
    return f"({s})" if x < 0 else s


# --- the formula --------------------------------------------------------------------------------


def level_of(rule: Mapping[str, Any], code: str | None) -> Mapping[str, Any] | None:
    for lv in rule.get("levels") or ():
        if lv.get("code") == code:
            return lv
    return None


def formula(
    rule: Mapping[str, Any],
    w: float,
    target: float | None,
    actual: float | None,
    *,
    level: str | None = None,
    level_score: float | None = None,
    deduction: float | None = None,
    budget: tuple[float, float] | None = None,
) -> Pending | None:
    """The formula that gives the leaf's score, with its numbers, and its result (rounded as
    the engine rounds). ``budget`` = (executed, adjusted) for the budget-execution leaf.
    ``None`` when the leaf has no value to score."""
    kind = rule.get("kind")
    wt = num(w)
    zh: str
    en: str
    s: float
    over = False
    if kind == "qualitative":
        lv = level_of(rule, level)
        if lv is None:
            return None
        if level_score is not None:
            s = min(max(level_score, 0.0), w)
            zh = f"{lv['name_zh']}，评定得分 {num(level_score)}"
            en = f"{lv['name_en']}, score given {num(level_score)}"
        else:
            s = float(lv["default"]) * w
            zh = f"{lv['name_zh']}：{wt} × {num(lv['default'] * 100)}%"
            en = f"{lv['name_en']}: {wt} × {num(lv['default'] * 100)} %"
        return _finish(zh, en, s, w, rule, deduction, over)
    if actual is None:
        return None
    a = actual
    if kind in ("higher_better", "equal", "lower_better", "budget_execution") and a < 0:
        a = 0.0
    if kind == "budget_execution":
        cap = float(rule.get("cap", 1.0))
        if budget is not None:
            executed, adjusted = budget
            executed = max(executed, 0.0)
            rate_text, rate = f"{num(executed)} ÷ {num(adjusted)}", executed / adjusted
        else:
            t = 100.0 if target is None else target
            rate_text, rate = f"{num(a)} ÷ {num(t)}", a / t
        if rate > cap:
            s = w * cap
            zh = f"{wt} × min({rate_text}, {num(cap * 100)}%) = {wt} × {num(cap * 100)}%"
            en = f"{wt} × min({rate_text}, {num(cap * 100)} %) = {wt} × {num(cap * 100)} %"
        else:
            s = w * rate
            zh = en = f"{wt} × {rate_text}"
        return _finish(zh, en, s, w, rule, deduction, over)
    if kind in ("higher_better", "equal", "lower_better") and target is None:
        return None
    if kind in ("higher_better", "equal"):
        assert target is not None
        t = target
        if kind == "equal" and t == 0:
            s = w if a <= 0 else 0.0
            zh = f"目标 0，实际 {num(a)} {'≤' if a <= 0 else '>'} 0 → {wt if a <= 0 else '0'}"
            en = f"target 0, actual {num(a)} {'≤' if a <= 0 else '>'} 0 → {wt if a <= 0 else '0'}"
        elif a >= t:
            s = w
            zh = f"{num(a)} ≥ {num(t)}，得满分"
            en = f"{num(a)} ≥ {num(t)}: full points"
        elif t > 0:
            s = w * a / t
            zh = en = f"{num(a)} ÷ {num(t)} × {wt}"
        else:
            s = 0.0
            zh = f"{num(a)} < {num(t)} → 0"
            en = zh
        factor = rule.get("over_achievement_factor", rules.DEFAULT_OVER_ACHIEVEMENT_FACTOR)
        over = factor is not None and t > 0 and a >= factor * t
        return _finish(zh, en, s, w, rule, deduction, over)
    if kind == "lower_better":
        assert target is not None
        t = target
        if a <= t:
            s = w
            zh = f"{num(a)} ≤ {num(t)}，得满分"
            en = f"{num(a)} ≤ {num(t)}: full points"
        elif t <= 0:
            s = 0.0
            zh = en = f"{num(a)} > {num(t)} → 0"
        elif rule.get("variant") == "inverse":
            s = w * min(t / a, 1.0)
            zh = en = f"{num(t)} ÷ {num(a)} × {wt}"
        elif a >= 2 * t:
            s = 0.0
            zh = f"{num(a)} ≥ 2 × {num(t)} → 0"
            en = zh
        else:
            s = w * (1.0 - (a - t) / t)
            zh = en = f"{wt} × (1 − ({num(a)} − {num(t)}) ÷ {num(t)})"
        return _finish(zh, en, s, w, rule, deduction, over)
    if kind == "deduction":
        th, per = float(rule["threshold"]), float(rule["per_unit"])
        below = rule.get("direction", "above") == "below"
        excess = th - a if below else a - th
        if excess <= 0:
            s = w
            zh = f"{num(a)} {'≥' if below else '≤'} {num(th)}，不扣分"
            en = f"{num(a)} {'≥' if below else '≤'} {num(th)}: no deduction"
        else:
            s = w - per * excess
            diff = f"({num(th)} − {paren(a)})" if below else f"({num(a)} − {paren(th)})"
            zh = en = f"{wt} − {num(per)} × {diff}"
        return _finish(zh, en, s, w, rule, deduction, over)
    if kind in ("two_sided", "band", "step_deduction"):
        return _deviation(str(kind), rule, w, target, a, deduction)
    if kind == "efficacy":
        return _efficacy(rule, w, a, deduction)
    if kind == "rank_table":
        table = [float(p) for p in rule.get("points") or ()]
        r = int(a)
        if 1 <= r <= len(table):
            s = table[r - 1]
            zh, en = f"第 {r} 名 → {num(s)}", f"rank {r} → {num(s)}"
        else:
            s = float(rule.get("beyond", 0.0))
            zh, en = f"第 {r} 名（表外）→ {num(s)}", f"rank {r} (beyond the table) → {num(s)}"
        return _finish(zh, en, s, w, rule, deduction, over)
    return None


def _deviation(
    kind: str,
    rule: Mapping[str, Any],
    w: float,
    target: float | None,
    a: float,
    deduction: float | None,
) -> Pending | None:
    if target is None:
        return None
    t = target
    wt = num(w)
    rel = kind == "two_sided" or rule.get("measure", "relative") != "absolute"
    if rel:
        dev = (a - t) / t * 100.0
        d_text = f"d = ({num(a)} − {paren(t)}) ÷ {num(t)} × 100% = {num(dev)}%"
    else:
        dev = a - t
        d_text = f"d = {num(a)} − {paren(t)} = {num(dev)}"
    if kind == "two_sided":
        tol, zero_at = float(rule.get("tolerance", 0.0)), float(rule.get("zero_at", 100.0))
        outside = max(abs(dev) - tol, 0.0)
        s = w * min(max(1.0 - outside / (zero_at - tol), 0.0), 1.0)
        body = f"{wt} × (1 − ({num(abs(dev))} − {num(tol)}) ÷ ({num(zero_at)} − {num(tol)}))"
        if outside == 0:
            body = f"|d| ≤ {num(tol)} → {wt}"
    elif kind == "band":
        band, per = float(rule["band"]), float(rule["per_point"])
        excess = max(abs(dev) - band, 0.0)
        s = w - per * excess
        body = (
            f"|d| ≤ {num(band)} → {wt}"
            if excess == 0
            else f"{wt} − {num(per)} × ({num(abs(dev))} − {num(band)})"
        )
    else:
        step, per = float(rule["step"]), float(rule["per_step"])
        below = rule.get("direction", "below") == "below"
        gap = max(-dev if below else dev, 0.0)
        steps = math.floor(round(gap / step, 9))
        s = w - per * steps
        body = f"{wt} − {num(per)} × ⌊{num(gap)} ÷ {num(step)}⌋"
    return _finish(f"{d_text}；{body}", f"{d_text}; {body}", s, w, rule, deduction, False)


def _efficacy(
    rule: Mapping[str, Any], w: float, a: float, deduction: float | None
) -> Pending | None:
    lv = [float(v) for v in rule.get("levels") or ()]
    co = [float(c) for c in rule.get("coefficients") or rules.DEFAULT_EFFICACY_COEFFICIENTS]
    if len(lv) != 5:
        return None
    wt = num(w)
    sgn = 1.0 if lv[0] > lv[4] else -1.0
    better = sum(1 for v in lv if v * sgn > a * sgn)  # levels better than the actual
    names = rules.EFFICACY_LEVEL_NAMES
    if better == 0:
        s = w
        zh = f"{num(a)} 优于或等于优秀档 {num(lv[0])} → {wt}"
        en = f"{num(a)} at or beyond the top level {num(lv[0])} → {wt}"
    elif better == 5:
        zero = rule.get("below_bottom", "bottom") == "zero"
        s = 0.0 if zero else w * co[4]
        zh = f"{num(a)} 差于较差档 {num(lv[4])} → " + ("0" if zero else f"{wt} × {num(co[4])}")
        en = f"{num(a)} below the bottom level {num(lv[4])} → " + (
            "0" if zero else f"{wt} × {num(co[4])}"
        )
    else:
        j = better
        c = (a - lv[j]) / (lv[j - 1] - lv[j])
        s = w * (co[j] + c * (co[j - 1] - co[j]))
        zh = (
            f"{names[j]} {num(lv[j])} 与 {names[j - 1]} {num(lv[j - 1])} 之间："
            f"{wt} × ({num(co[j])} + ({num(a)} − {paren(lv[j])}) ÷ ({num(lv[j - 1])} − "
            f"{paren(lv[j])}) × ({num(co[j - 1])} − {num(co[j])}))"
        )
        en = (
            f"between {names[j]} {num(lv[j])} and {names[j - 1]} {num(lv[j - 1])}: "
            f"{wt} × ({num(co[j])} + ({num(a)} − {paren(lv[j])}) ÷ ({num(lv[j - 1])} − "
            f"{paren(lv[j])}) × ({num(co[j - 1])} − {num(co[j])}))"
        )
    return _finish(zh, en, s, w, rule, deduction, False)


def _finish(
    zh: str,
    en: str,
    s: float,
    w: float,
    rule: Mapping[str, Any],
    deduction: float | None,
    over: bool,
) -> Pending:
    """The modifiers in the engine's order (clamp to [0, w], over-achievement penalty, manual
    deduction floored at 0); rounded by :func:`close`."""
    if not over and not deduction and 0.0 <= s <= w:
        return zh, en, s  # no modifier applies (the common case; NaN takes the long way)
    raw = s
    s = min(max(s, 0.0), w)
    steps_zh: list[str] = []
    steps_en: list[str] = []
    if raw > w:
        steps_zh.append(f"不超过分值 {num(w)}")
        steps_en.append(f"capped at the points {num(w)}")
    elif raw < 0:
        steps_zh.append("不低于 0")
        steps_en.append("floored at 0")
    penalty = rule.get("over_achievement_penalty")
    if over and penalty is not None:
        s *= float(penalty)
        steps_zh.append(f"超额完成 × {num(penalty)}")
        steps_en.append(f"over-achieved × {num(penalty)}")
    if deduction:
        s = max(s - deduction, 0.0)
        steps_zh.append(f"人工扣分 − {num(deduction)}")
        steps_en.append(f"manual deduction − {num(deduction)}")
    if steps_zh:
        zh += "（" + "，".join(steps_zh) + "）"
        en += " (" + ", ".join(steps_en) + ")"
    return zh, en, s


def close(pending: Sequence[Pending]) -> list[dict[str, Any]]:
    """Formulas finished: their values rounded by the engine's one rounding function (one
    vectorised call for a receipt's leaves) and ``= result`` written; each as the receipt's
    ``formula`` (``zh``, ``en``, ``result``)."""
    if not pending:
        return []
    rounded: list[float] = rules.round_half_up(np.array([p[2] for p in pending])).tolist()
    out = []
    for (zh, en, _), r in zip(pending, rounded, strict=True):
        shown = pts(r)
        out.append({"zh": f"{zh} = {shown}", "en": f"{en} = {shown}", "result": r})
    return out


def rounded_formula(*args: Any, **kwargs: Any) -> tuple[Words, float] | None:
    """:func:`formula` closed on its own (one leaf)."""
    made = formula(*args, **kwargs)
    if made is None:
        return None
    (closed,) = close([made])
    return words(closed["zh"], closed["en"]), closed["result"]
