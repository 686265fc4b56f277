"""Standard resolution: which stored standard row the scoring uses, and why.

Pure logic over a ``lookup(type, region) -> row | None`` callable (the catalogue's
``resolve_standard`` bound to a session, indicator and context; see ``service.py``), so the
precedence and regional fallback are defined once, independent of storage.

* **Precedence** of standard types, configurable (per request, per framework:
  ``standard_precedence``); default ``plan → industry → professional → historical``.
* **Regional fallback** along GB/T 2260: county ``110105`` → prefecture ``110100`` → province
  ``110000`` → national ``000000`` (levels equal to the code itself are skipped).
* **Order**: ``type_first`` (default: every region of the first type before the next type — a
  national plan target beats a county industry standard) or ``region_first`` (the most specific
  region wins; types break ties within a region).

Every (type, region) pair is looked up, so the answer lists every candidate and why it lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from indicator_service.catalogue.matching import region_chain as catalogue_region_chain
from indicator_service.core.i18n import _, localized
from indicator_service.regions.names import region_name
from indicator_service.rules.labels import label

NATIONAL = "000000"
REGION_RE = re.compile(r"^\d{6}$")
DEFAULT_PRECEDENCE: tuple[str, ...] = ("plan", "industry", "professional", "historical")
STANDARD_TYPES: tuple[str, ...] = (
    "plan",
    "industry",
    "professional",
    "historical",
    "international",
    "budget_expenditure",
    "other",
)


class Order(StrEnum):
    type_first = "type_first"
    region_first = "region_first"


class ResolutionError(ValueError):
    def __init__(self, msg: str, loc: Sequence[str | int]) -> None:
        super().__init__(msg)
        self.msg = msg
        self.loc = tuple(loc)


def region_chain(region: str) -> list[str]:
    """The region and its broader regions: county → prefecture → province → national (the
    catalogue's chain, :func:`indicator_service.catalogue.matching.region_chain`, after checking
    the code)."""
    if not REGION_RE.match(region):
        raise ResolutionError(
            _("invalid region code {region!r}: expected 6 digits (GB/T 2260)", region=region),
            ("region",),
        )
    return catalogue_region_chain(region)


def region_level(code: str) -> str:
    if code == NATIONAL:
        return "national"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def check_precedence(precedence: Sequence[str]) -> tuple[str, ...]:
    if not precedence:
        raise ResolutionError(_("needs at least one standard type"), ("precedence",))
    seen: list[str] = []
    for i, t in enumerate(precedence):
        if t not in STANDARD_TYPES:
            raise ResolutionError(
                _(
                    "unknown standard type {t!r}; known: {standard_types}",
                    t=t,
                    standard_types=", ".join(STANDARD_TYPES),
                ),
                ("precedence", i),
            )
        if t in seen:
            raise ResolutionError(_("standard type {t!r} listed twice", t=t), ("precedence", i))
        seen.append(t)
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One (type, region) lookup: the row found (if any), and its outcome."""

    rank: int  # position in the search order, 0 first
    type: str
    region: str
    region_level: str
    row: Any | None
    outcome: str  # "won" | "lost" | "none"
    reason: str


@dataclass(frozen=True, slots=True)
class Resolution:
    winner: Any | None
    winner_type: str | None
    winner_region: str | None
    precedence: tuple[str, ...]
    order: Order
    regions: tuple[str, ...]
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    explanation: str = ""


def _row_region(row: Any, asked: str) -> str:
    value = row.get("region") if isinstance(row, dict) else getattr(row, "region", None)
    return value if isinstance(value, str) else asked


def _row_id(row: Any) -> Any:
    """Identity of a row: its ``id``, else the row itself when hashable (frozen dataclasses
    compare by value), else the object identity."""
    value = row.get("id") if isinstance(row, dict) else getattr(row, "id", None)
    if value is not None:
        return ("id", value)
    try:
        hash(row)
    except TypeError:
        return ("obj", id(row))
    return ("row", row)


def resolve(
    lookup: Callable[[str, str], Any | None],
    *,
    region: str = NATIONAL,
    precedence: Sequence[str] = DEFAULT_PRECEDENCE,
    order: Order | str = Order.type_first,
    fallback: bool = True,
    fiscal_year: int | None = None,
) -> Resolution:
    """Search (type, region) pairs in order; the first row found wins.

    With ``fiscal_year``, the explanation names the year of the winning row when it differs
    from the year asked (an earlier year's row, or a row without a year).

    ``lookup(type, region)`` returns the row the catalogue holds for exactly that type and region
    (already matched on indicator, fiscal year, sector, project type …) or ``None``. A row whose
    own region differs from the region asked (a lookup that falls back by itself) is ignored
    there and considered when its own region is searched.
    """
    prec = check_precedence(precedence)
    order = Order(order)
    regions = region_chain(region) if fallback else region_chain(region)[:1]
    if order is Order.type_first:
        pairs = [(t, r) for t in prec for r in regions]
    else:
        pairs = [(t, r) for r in regions for t in prec]
    found: list[tuple[str, str, Any | None]] = []
    for t, r in pairs:
        row = lookup(t, r)
        # A lookup that falls back by itself (e.g. to the national row) answers for another
        # region: that row is considered at its own region's position, not here.
        found.append((t, r, row if row is None or _row_region(row, r) == r else None))

    winner: tuple[str, str, Any] | None = None
    seen_rows: set[Any] = set()
    candidates: list[Candidate] = []
    for rank, (t, r, row) in enumerate(found):
        actual = _row_region(row, r) if row is not None else r
        if row is None:
            outcome, reason = "none", _("no {t} for region {r}", t=_type(t), r=r)
        elif _row_id(row) in seen_rows:
            continue  # the same row, already reported at a more specific search position
        elif winner is None:
            winner = (t, actual, row)
            outcome, reason = "won", _why_won(t, actual, prec, regions, order)
        else:
            outcome, reason = "lost", _why_lost(t, actual, winner, prec, regions, order)
        if row is not None:
            seen_rows.add(_row_id(row))
        candidates.append(Candidate(rank, t, actual, region_level(actual), row, outcome, reason))

    types = localized(", ", "、").join(_type(t) for t in prec)
    if winner is None and len(regions) > 1:
        explanation = _(
            "no {types} for region {region} or its broader regions ({regions})",
            types=types,
            region=region,
            regions=", ".join(regions[1:]),
        )
    elif winner is None:
        explanation = _("no {types} for region {region}", types=types, region=region)
    else:
        explanation = _(
            "{t} of region {r} used: {reason}",
            t=_type(winner[0]),
            r=_region_words(winner[1]),
            reason=next(c.reason for c in candidates if c.outcome == "won"),
        )
        explanation += _year_note(winner[2], fiscal_year)
    return Resolution(
        winner=None if winner is None else winner[2],
        winner_type=None if winner is None else winner[0],
        winner_region=None if winner is None else winner[1],
        precedence=prec,
        order=order,
        regions=tuple(regions),
        candidates=tuple(candidates),
        explanation=explanation,
    )


def _region_words(code: str) -> str:
    """A region code with its name in the current language: ``000000（全国）``,
    ``000000 (National)``."""
    name = region_name(code)
    if name["zh"] == code:  # not in the code list
        return localized(f"{code} (not in the code list)", f"{code}（不在区划代码表中）")
    return localized(f"{code} ({name['en']})", f"{code}（{name['zh']}）")


def _year_note(row: Any, fiscal_year: int | None) -> str:
    """``"; value of 2022, not 2024"`` when the row's year is not the year asked."""
    if fiscal_year is None:
        return ""
    year = row.get("fiscal_year") if isinstance(row, dict) else getattr(row, "fiscal_year", None)
    if year == fiscal_year:
        return ""
    if year is None:
        return _("; a row without a year (no row for {fiscal_year})", fiscal_year=fiscal_year)
    if _row_type(row) == "historical":
        return _(
            "; actual value of {year}, not {fiscal_year} (the latest year available)",
            year=year,
            fiscal_year=fiscal_year,
        )
    return _(
        "; value of {year}, not {fiscal_year} (the latest year available)",
        year=year,
        fiscal_year=fiscal_year,
    )


def _row_type(row: Any) -> Any:
    return row.get("type") if isinstance(row, dict) else getattr(row, "type", None)


def _why_won(t: str, r: str, prec: tuple[str, ...], regions: list[str], order: Order) -> str:
    higher_types = prec[: prec.index(t)]
    narrower = regions[: regions.index(r)] if r in regions else []
    parts = []
    if higher_types:
        higher = "/".join(_type(h) for h in higher_types)
        parts.append(_("no {types} ranks above it", types=higher))
    if narrower:
        parts.append(
            _(
                "no {t} for the narrower region(s) {regions}",
                t=_type(t),
                regions=", ".join(narrower),
            )
        )
    chain = _chain(prec)
    basis = (
        _("type precedence {chain}, then regional fallback", chain=chain)
        if order is Order.type_first
        else _("most specific region first, then type precedence {chain}", chain=chain)
    )
    if not parts:
        return _("first match under {basis}", basis=basis)
    return _(
        "first match under {basis} ({parts})", basis=basis, parts=localized("; ", "；").join(parts)
    )


def _why_lost(
    t: str,
    r: str,
    winner: tuple[str, str, Any],
    prec: tuple[str, ...],
    regions: list[str],
    order: Order,
) -> str:
    wt, wr, _rest = winner
    if t != wt and (order is Order.type_first or r == wr):
        return _(
            "{winner} ranks above {t} in the precedence {chain}",
            winner=_type(wt),
            t=_type(t),
            chain=_chain(prec),
        )
    if r != wr:
        return _(
            "region {winner} is more specific than {r} ({level})",
            winner=wr,
            r=r,
            level=label("region_level", region_level(r)),
        )
    return _("the {t} of region {r} was found first", t=_type(wt), r=wr)


def _type(t: str) -> str:
    """A standard type in words, in the language asked (``plan`` → plan standard, 计划标准)."""
    return label("standard_type", t) or t


def _chain(prec: Sequence[str]) -> str:
    return " → ".join(_type(t) for t in prec)
