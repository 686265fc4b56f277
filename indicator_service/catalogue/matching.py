"""Standard matching: which catalogue standard row fits a context, and why.

Pure ranking over candidate rows (no session, no database): the database catalogue
(:func:`.service.resolve_standard`, over :class:`.service.StandardRow`) and the document
catalogue (``scoring.service.DocumentCatalogue``, over :class:`.source.StandardDef`) both call
:func:`match_standard`, so a submission gets the same standard offline and over the API.

The region chain (GB/T 2260: county → city → province → national) is defined here once;
``standards.resolve.region_chain`` validates the code and delegates to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Generic, Protocol, TypeVar

from indicator_service.catalogue.source import NATIONAL
from indicator_service.core.i18n import _
from indicator_service.rules.labels import label

#: Type order when no type is asked (most preferred first).
TYPE_PREFERENCE = (
    "plan",
    "industry",
    "professional",
    "historical",
    "budget_expenditure",
    "international",
    "other",
)


class StandardLike(Protocol):
    """What matching reads of a standard row (``StandardRow`` and ``StandardDef`` have it)."""

    @property
    def type(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def fiscal_year(self) -> int | None: ...
    @property
    def valid_from(self) -> date | None: ...
    @property
    def valid_to(self) -> date | None: ...
    @property
    def sector(self) -> str | None: ...
    @property
    def project_type(self) -> str | None: ...
    @property
    def illustrative(self) -> bool: ...


R = TypeVar("R", bound=StandardLike)


@dataclass(frozen=True)
class StandardMatch(Generic[R]):
    row: R
    why: list[str]
    candidates: list[R]


def region_chain(region: str) -> list[str]:
    """GB/T 2260: county 110105 → city 110100 → province 110000 → national 000000 (levels
    equal to the code itself appear once). The code is not validated here."""
    chain = [region]
    for parent in (region[:4] + "00", region[:2] + "0000", NATIONAL):
        if parent not in chain:
            chain.append(parent)
    return chain


def in_validity(row: StandardLike, year: int | None) -> bool:
    """Whether the row's validity period (``valid_from``/``valid_to``, compared by year)
    covers ``year``; any row is valid when no year is asked."""
    if year is None:
        return True
    if row.valid_from is not None and row.valid_from.year > year:
        return False
    return not (row.valid_to is not None and row.valid_to.year < year)


def year_usable(row: StandardLike, fiscal_year: int | None) -> bool:
    """Whether the row's year may serve ``fiscal_year``: a plan/industry/… row of that year or
    an earlier one (or without a year); a **historical** row (an actual past value) only when
    it is of an earlier year — a year's own actual value is not its standard."""
    if fiscal_year is None:
        return True
    if row.type == "historical":
        return row.fiscal_year is not None and row.fiscal_year < fiscal_year
    return row.fiscal_year is None or row.fiscal_year <= fiscal_year


def match_standard(
    rows: Iterable[R],
    *,
    type: str | None,
    region: str | None,
    fiscal_year: int | None,
    sector: str | None = None,
    project_type: str | None = None,
    include_illustrative: bool = False,
) -> StandardMatch[R] | None:
    """The best-matching row and why, or ``None`` when no row is a candidate.

    Candidates match the type (if asked), lie on the region's chain (if a region is asked), are
    not from a later year (historical rows: from an earlier year only, :func:`year_usable`),
    are valid in the year, match or leave open the sector and project type, and are not
    ``illustrative`` unless ``include_illustrative``. Ranking: exact region beats parent region
    beats national; exact year beats the nearest earlier year beats a year-less row; exact
    sector/project type beat rows that leave them open; then the type preference. Ties keep
    the order of ``rows``.
    """
    chain = region_chain(region) if region else [NATIONAL]
    matching = [
        r
        for r in rows
        if (type is None or r.type == type)
        and (region is None or r.region in chain)
        and year_usable(r, fiscal_year)
        and in_validity(r, fiscal_year)
        and (sector is None or r.sector in (None, sector))
        and (project_type is None or r.project_type in (None, project_type))
    ]
    candidates = [r for r in matching if include_illustrative or not _illustrative(r)]
    skipped = len(matching) - len(candidates)
    if not candidates:
        return None

    def rank(r: R) -> tuple[int, int, int, int, int, int]:
        region_rank = len(chain) - chain.index(r.region) if r.region in chain else 0
        if fiscal_year is None:
            year_rank, closeness = (1, r.fiscal_year or 0) if r.fiscal_year else (2, 0)
        elif r.fiscal_year == fiscal_year:
            year_rank, closeness = 3, 0
        elif r.fiscal_year is not None:
            year_rank, closeness = 2, -(fiscal_year - r.fiscal_year)
        else:
            year_rank, closeness = 1, 0
        type_rank = len(TYPE_PREFERENCE) - TYPE_PREFERENCE.index(r.type)
        return (
            region_rank,
            year_rank,
            closeness,
            int(r.sector == sector and sector is not None),
            int(r.project_type == project_type and project_type is not None),
            type_rank,
        )

    ordered = sorted(candidates, key=rank, reverse=True)
    best = ordered[0]
    why: list[str] = []
    if region is None:
        why.append(_("no region asked: region {region}", region=best.region))
    elif best.region == region:
        why.append(_("exact region {region}", region=region))
    elif best.region == NATIONAL:
        why.append(
            _(
                "no row for region {region} or its parents: national row ({national})",
                region=region,
                national=NATIONAL,
            )
        )
    else:
        why.append(
            _(
                "no row for region {region}: parent region {parent}",
                region=region,
                parent=best.region,
            )
        )
    if fiscal_year is None and best.fiscal_year:
        why.append(_("no fiscal year asked: latest year {year}", year=best.fiscal_year))
    elif fiscal_year is None:
        why.append(_("no fiscal year asked: row without a year"))
    elif best.fiscal_year == fiscal_year:
        why.append(_("exact fiscal year {fiscal_year}", fiscal_year=fiscal_year))
    elif best.type == "historical" and best.fiscal_year is not None:
        why.append(
            _(
                "historical: actual value of {year}, the latest year before {fiscal_year} "
                "(a year's own value is not its standard)",
                year=best.fiscal_year,
                fiscal_year=fiscal_year,
            )
        )
    elif best.fiscal_year is not None:
        why.append(
            _(
                "no row for {fiscal_year}: nearest earlier year {year}",
                fiscal_year=fiscal_year,
                year=best.fiscal_year,
            )
        )
    else:
        why.append(
            _(
                "no row for {fiscal_year} or an earlier year: row without a year",
                fiscal_year=fiscal_year,
            )
        )
    if best.valid_from or best.valid_to:
        why.append(
            _("valid {start} to {end}", start=best.valid_from or "…", end=best.valid_to or "…")
        )
    kind = label("standard_type", best.type)
    if type:
        why.append(_("type: {type}", type=kind))
    else:
        preference = " > ".join(label("standard_type", t) or t for t in TYPE_PREFERENCE)
        why.append(
            _(
                "type: {type} (no type asked; preference {preference})",
                type=kind,
                preference=preference,
            )
        )
    sector_words = label("sector", sector)
    if sector is not None and best.sector == sector:
        why.append(_("sector {sector}: exact", sector=sector_words))
    elif sector is not None:
        why.append(_("sector {sector}: row open to all sectors", sector=sector_words))
    project_words = label("project_type", project_type)
    if project_type is not None and best.project_type == project_type:
        why.append(_("project type {project_type}: exact", project_type=project_words))
    elif project_type is not None:
        why.append(
            _(
                "project type {project_type}: row open to all project types",
                project_type=project_words,
            )
        )
    if _illustrative(best):
        why.append(_("illustrative: no public document gives this value (included on request)"))
    elif skipped:
        why.append(
            _(
                "{skipped} illustrative row(s) not used (no public document gives them; "
                "include_illustrative=true to use them)",
                skipped=skipped,
            )
        )
    why.append(_("{count} candidate(s)", count=len(candidates)))
    return StandardMatch(best, why, ordered)


def _illustrative(row: StandardLike) -> bool:
    return bool(getattr(row, "illustrative", False))
