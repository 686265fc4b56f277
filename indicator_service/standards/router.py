"""Derived-standards API: ``/v1/standards/…`` (thin handlers over :mod:`.derive`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from indicator_service.audit.service import record
from indicator_service.auth.dependencies import (
    AUTH_RESPONSES,
    CuratorDep,
    EvaluatorDep,
    ReaderDep,
    ensure_scope,
)
from indicator_service.auth.principal import Principal
from indicator_service.catalogue import etags
from indicator_service.catalogue.reads import (
    not_modified,
    read_published,
    request_text,
    tag_response,
)
from indicator_service.catalogue.router import IfNoneMatch, NsPath, VersionPath
from indicator_service.core.database import SessionDep
from indicator_service.core.errors import (
    ErrorItem,
    NotFound,
    Problem,
    ServiceError,
    Unprocessable,
)
from indicator_service.core.i18n import _
from indicator_service.core.idempotency import Answer, IdempotencyKeyHeader, idempotent_create
from indicator_service.core.openapi import typed_query
from indicator_service.core.querymodel import query_model
from indicator_service.rules.review import StandardType
from indicator_service.scoring.lookup import CatalogueLookup, DatabaseCatalogue
from indicator_service.scoring.router import catalogue_documents, draft_readers
from indicator_service.standards import derive
from indicator_service.standards import progress as target_progress
from indicator_service.standards.evaluations import (
    peers_from_evaluations,
    series_from_evaluations,
)
from indicator_service.standards.resolve import (
    DEFAULT_PRECEDENCE,
    NATIONAL,
    Order,
    ResolutionError,
)
from indicator_service.standards.schemas import (
    HistoricalFromEvaluations,
    HistoricalFromEvaluationsOut,
    HistoricalOut,
    HistoricalParams,
    HistoricalRequest,
    IndustryFromEvaluations,
    IndustryFromEvaluationsOut,
    IndustryOut,
    IndustryParams,
    IndustryRequest,
    ProgressOut,
    ProgressRequest,
    ResolutionOut,
    SaveHistorical,
    SaveOut,
    SaveRequest,
    SeriesPoint,
    StandardRowOut,
)
from indicator_service.standards.service import (
    StandardLookup,
    catalogue_lookup,
    derivation_text,
    resolution_to_dict,
    resolve_standard_with_precedence,
    save_standard_row,
)

router = APIRouter(prefix="/v1/standards", tags=["standards"], responses=AUTH_RESPONSES)

_T = TypeVar("_T")


def refusal(
    exc: derive.DerivationError, prefix: tuple[str | int, ...] = ("body",)
) -> Unprocessable:
    """A derivation refusal as a 422 problem naming the field."""
    return Unprocessable(
        exc.msg,
        errors=[ErrorItem(loc=[*prefix, *exc.loc], msg=exc.msg, type=exc.type)],
        slug="derivation-refused",
    )


def run(fn: Callable[[], _T]) -> _T:
    """Run a derivation; a :class:`~.derive.DerivationError` becomes a 422 problem."""
    try:
        return fn()
    except derive.DerivationError as exc:
        raise refusal(exc) from None


def _points(series: list[SeriesPoint]) -> list[derive.Point]:
    return [derive.Point(p.year, p.value, p.unit) for p in series]


Refuse = Callable[[derive.DerivationError], ServiceError]


def compute_historical(
    body: HistoricalParams, points: list[derive.Point], refuse: Refuse = refusal
) -> derive.HistoricalStandard:
    try:
        return derive.derive_historical(
            points,
            body.method,
            direction=body.direction,
            n=body.n,
            target_year=body.target_year,
            confidence=body.confidence,
            improve_pct=body.improve_pct,
            as_of=body.as_of,
            allow_gaps=body.allow_gaps,
        )
    except derive.DerivationError as exc:
        raise refuse(exc) from None


def compute_industry(
    body: IndustryParams,
    values: list[float],
    units: list[str | None],
    refuse: Refuse = refusal,
) -> derive.IndustryStandard:
    try:
        return derive.derive_industry(
            values,
            units=units,
            direction=body.direction,
            percentiles=body.percentiles,
            min_sample=body.min_sample,
            k=body.k,
            winsorize=body.winsorize,
        )
    except derive.DerivationError as exc:
        raise refuse(exc) from None


@router.post(
    "/historical",
    response_model=HistoricalOut,
    summary="Derive a historical standard (历史标准) from a submitted series",
)
async def derive_historical(body: HistoricalRequest, _reader: ReaderDep) -> HistoricalOut:
    result = compute_historical(body, _points(list(body.series)))
    return HistoricalOut.model_validate(result.to_dict())


def industry_out(result: derive.IndustryStandard, coefficients: list[float]) -> IndustryOut:
    data = result.to_dict()
    data.pop("values")
    data["efficacy_rule"] = (
        result.efficacy_rule(coefficients) if result.levels_strictly_monotone else None
    )
    return IndustryOut.model_validate(data)


@router.post(
    "/industry",
    response_model=IndustryOut,
    summary="Derive an industry standard (行业标准) with five levels from peer values",
)
async def derive_industry(body: IndustryRequest, _reader: ReaderDep) -> IndustryOut:
    values, units = [v.value for v in body.values], [v.unit for v in body.values]
    return industry_out(compute_industry(body, values, units), body.coefficients)


@router.post(
    "/progress",
    response_model=ProgressOut,
    summary="Progress toward a multi-year target (Statistics Canada / Open SDG method)",
)
async def progress(body: ProgressRequest, _reader: ReaderDep) -> ProgressOut:
    th = body.thresholds
    result = run(
        lambda: target_progress.progress(
            _points(list(body.series)),
            direction=body.direction,
            base_year=body.base_year,
            target_value=body.target_value,
            target_year=body.target_year,
            thresholds=target_progress.ProgressThresholds(
                on_track=th.on_track,
                acceleration=th.acceleration,
                growth_on_track=th.growth_on_track,
                growth_acceleration=th.growth_acceleration,
            ),
        )
    )
    return ProgressOut.model_validate(result.to_dict())


class ResolveQuery(BaseModel):
    """The query of ``GET /v1/standards/resolve``, one model (as the catalogue's
    ``StandardContext``)."""

    model_config = ConfigDict(frozen=True)

    indicator: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    region: str = Field(NATIONAL, pattern=r"^[0-9]{6}$", description="GB/T 2260 region code")
    fiscal_year: int | None = Field(None, ge=1990, le=2100)
    sector: str | None = Field(None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")
    project_type: str | None = Field(None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")
    precedence: list[StandardType] | None = Field(
        None,
        description="standard types in order of precedence "
        "[plan, industry, professional, historical], each once",
        json_schema_extra={"uniqueItems": True},
    )
    order: Order = Order.type_first
    fallback: bool = Field(True, description="fall back to broader regions")
    include_illustrative: bool = Field(
        False,
        description="also consider illustrative rows (values no public document gives; "
        "database catalogue)",
    )


@router.get(
    "/resolve",
    response_model=ResolutionOut,
    summary="The standard the scoring uses for an indicator in a context, with the candidates",
    responses={
        304: {"description": "Not modified: the If-None-Match tag is the current ETag"},
        404: {
            "model": Problem,
            "description": "Unknown indicator",
            "content": {"application/problem+json": {}},
        },
    },
    openapi_extra=typed_query(ResolveQuery),
)
async def resolve_standard(
    request: Request,
    response: Response,
    _reader: ReaderDep,
    if_none_match: IfNoneMatch = None,
) -> ResolutionOut | Response:
    """Database catalogue: sector and project type narrow the rows (exact beats open rows).
    Injected catalogue documents (tests, benchmarks) match on type, region and year only.
    The database catalogue's answers carry an ETag (If-None-Match → 304 from memory)."""
    query = query_model(request, ResolveQuery)  # one call (core/querymodel.py)
    documents = catalogue_documents(request.app)
    if documents is not None:  # documents in memory (tests, benchmarks): no ETag
        return _resolve(query, documents)
    # the database catalogue: from memory once the versions read are cached, as the other
    # reads of published data (catalogue.reads.read_published)
    return await read_published(
        request, _resolve_in_database, query, request, response, if_none_match
    )


def _resolve_in_database(
    session: Session,
    query: ResolveQuery,
    request: Request,
    response: Response,
    if_none_match: str | None,
) -> ResolutionOut | Response:
    tag = etags.indicator_tag(session, query.indicator, None, request_text(request))
    if (unchanged := not_modified(request, if_none_match, tag, pinned=False)) is not None:
        return unchanged
    tag_response(response, tag)
    if tag is not None:
        response.headers["Cache-Control"] = "no-store"
    lookup = catalogue_lookup(
        session,
        sector=query.sector,
        project_type=query.project_type,
        include_illustrative=query.include_illustrative,
    )
    return _resolve(query, DatabaseCatalogue(session, drafts=draft_readers(request)), lookup)


def _resolve(
    query: ResolveQuery, catalogue: CatalogueLookup, lookup: StandardLookup | None = None
) -> ResolutionOut:
    if catalogue.indicator(query.indicator) is None:
        raise NotFound(
            _("unknown indicator {indicator!r}", indicator=query.indicator),
            errors=[ErrorItem(loc=["query", "indicator"], msg=_("not found"), type="not_found")],
        )
    try:
        res = resolve_standard_with_precedence(
            catalogue.standard if lookup is None else lookup,
            query.indicator,
            region=query.region,
            fiscal_year=query.fiscal_year,
            precedence=query.precedence or DEFAULT_PRECEDENCE,
            order=query.order,
            fallback=query.fallback,
        )
    except ResolutionError as exc:
        raise Unprocessable(
            exc.msg,
            errors=[ErrorItem(loc=["query", *exc.loc], msg=exc.msg, type="invalid_precedence")],
        ) from None
    out = resolution_to_dict(res, query.indicator, query.fiscal_year)
    if lookup is None and (query.sector or query.project_type):
        out["explanation"] += _(" (sector/project type not applied: document catalogue)")
    return ResolutionOut.model_validate(out)


_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": text, "content": {"application/problem+json": {}}}
    for status, text in {
        404: "Unknown namespace or version",
        409: "The version is published (immutable)",
        412: "Stale If-Match",
        428: "If-Match missing",
    }.items()
}


@router.post(
    "/drafts/{ns}/{version}/standards",
    response_model=SaveOut,
    status_code=201,
    responses={
        200: {"description": "An existing row with the same identity was replaced"},
        **_WRITE_RESPONSES,
    },
    summary="Derive a standard on the server and store it as a row of a draft namespace version",
)
def save_derived_standard(
    ns: NsPath,
    version: VersionPath,
    body: Annotated[SaveRequest, Body()],
    session: SessionDep,
    response: Response,
    curator: CuratorDep,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> SaveOut:
    """The server recomputes the derivation from the submitted data (it never stores a number
    it did not compute) and writes the row with its derivation text: method, parameters,
    SHA-256 of the inputs and the arithmetic. Send the draft's ETag as If-Match."""
    ensure_scope(curator, ns)
    answer = idempotent_create(
        session,
        "standards.save",
        idempotency_key,
        {"ns": ns, "version": version, "body": body.model_dump(mode="json")},
        lambda: _save(session, ns, version, body, curator, if_match),
        owner_key_id=curator.owner_id,
    )
    # the first answer is stored without its labels and a replay is read back into the model:
    # both are labelled when serialised, in the language of the request being answered
    out = answer.made if answer.made is not None else SaveOut.model_validate(answer.body)
    response.status_code = answer.status_code
    response.headers["ETag"] = f'"{out.etag}"'
    response.headers["Cache-Control"] = "no-store"
    return out


#: the labels of a saved row (``type_label``, ``type_definition``): left out of the answer kept
#: for an Idempotency-Key replay, which is labelled again in the replaying request's language
_LABELS: dict[str, Any] = {"standard": set(StandardRowOut.model_computed_fields)}


def _save(
    session: Session,
    ns: str,
    version: str,
    body: SaveRequest,
    curator: Principal,
    if_match: str | None,
) -> Answer[SaveOut]:
    """The derived row saved in the draft with its audit entry: the response (201, or 200 when
    it replaced a row with the same identity)."""
    ctx = body.standard
    prefix: tuple[str | int, ...] = ("body", "derive")
    row: dict[str, Any] = {
        "indicator": ctx.indicator,
        "type": body.kind,
        "region": ctx.region,
        "source": ctx.source.model_dump(mode="json", exclude_none=True),
    }
    for key in ("fiscal_year", "sector", "project_type", "operator", "valid_from", "valid_to"):
        value = getattr(ctx, key)
        if value is not None:
            row[key] = value.isoformat() if hasattr(value, "isoformat") else value
    hist_out: HistoricalOut | None = None
    ind_out: IndustryOut | None = None
    request_data = body.derive.model_dump(mode="json")
    if isinstance(body, SaveHistorical):
        hist = compute_historical(
            body.derive, _points(list(body.derive.series)), lambda e: refusal(e, prefix)
        )
        row["value"] = hist.value
        unit, arithmetic = hist.unit, hist.derivation
        hist_out = HistoricalOut.model_validate(hist.to_dict())
    else:
        peers = body.derive.values
        ind = compute_industry(
            body.derive,
            [v.value for v in peers],
            [v.unit for v in peers],
            lambda e: refusal(e, prefix),
        )
        if not ind.levels_strictly_monotone:
            msg = _(
                "the five levels {level_values} are not strictly monotone (ties)",
                level_values=ind.level_values,
            )
            raise Unprocessable(
                msg,
                errors=[ErrorItem(loc=[*prefix, "values"], msg=msg, type="levels_not_monotone")],
            )
        row["levels"] = ind.level_values
        unit, arithmetic = ind.unit, ind.derivation
        ind_out = industry_out(ind, body.derive.coefficients)
    if ctx.unit or unit:
        row["unit"] = ctx.unit or unit
    row["derivation"] = derivation_text(body.kind, request_data, arithmetic)
    release, stored, replaced = save_standard_row(session, ns, version, row, if_match)
    out = SaveOut(
        namespace=release.code,
        version=release.version,
        etag=release.content_hash,
        replaced=replaced,
        standard=StandardRowOut.model_validate(stored),
        historical=hist_out,
        industry=ind_out,
    )
    status_code = 200 if replaced else 201
    record(
        session,
        curator,
        "standard.derive",
        object_type="standard",
        object_id=f"{ns}@{release.version}:{stored['indicator']}:{stored['type']}",
        namespace=ns,
        version=release.version,
        after=out.standard,
        comment="replaced a row with the same identity" if replaced else None,
    )
    return Answer(out.model_dump(mode="json", exclude=_LABELS), status_code, made=out)


# --- from stored evaluations ----------------------------------------------------------------


def _from_evaluations(exc: derive.DerivationError, ids: list[int]) -> Unprocessable:
    """A refusal on data read from evaluations: point at the query (``body.indicator``) and name
    the evaluation when one value is at fault."""
    msg = exc.msg
    if len(exc.loc) >= 2 and isinstance(exc.loc[1], int) and exc.loc[1] < len(ids):
        msg = _("evaluation {ids}: {msg}", ids=ids[exc.loc[1]], msg=msg)
    return Unprocessable(
        msg,
        errors=[ErrorItem(loc=["body", "indicator"], msg=msg, type=exc.type)],
        slug="derivation-refused",
    )


@router.post(
    "/historical/from-evaluations",
    response_model=HistoricalFromEvaluationsOut,
    summary="Derive a historical standard from the stored evaluations of a unit or project",
    responses={
        404: {
            "model": Problem,
            "description": "No stored evaluation has a value for the indicator",
            "content": {"application/problem+json": {}},
        }
    },
)
def historical_from_evaluations(
    body: HistoricalFromEvaluations, session: SessionDep, evaluator: EvaluatorDep
) -> HistoricalFromEvaluationsOut:
    points, ids = series_from_evaluations(
        session,
        body.indicator,
        reader=evaluator,
        unit=body.evaluated_unit,
        project=body.project,
        region=body.region,
        framework=body.framework,
    )
    if not points:
        raise NotFound(
            _(
                "no stored evaluation with a value for {indicator} matches",
                indicator=body.indicator,
            ),
            errors=[ErrorItem(loc=["body", "indicator"], msg=_("no values"), type="not_found")],
        )
    result = compute_historical(body, points, lambda e: _from_evaluations(e, ids))
    used = set(result.years)
    return HistoricalFromEvaluationsOut.model_validate(
        {
            **result.to_dict(),
            "evaluation_ids": [i for p, i in zip(points, ids, strict=True) if p.year in used],
        }
    )


@router.post(
    "/industry/from-evaluations",
    response_model=IndustryFromEvaluationsOut,
    summary="Derive a five-level industry standard from all units' stored evaluations of a year",
)
def industry_from_evaluations(
    body: IndustryFromEvaluations, session: SessionDep, evaluator: EvaluatorDep
) -> IndustryFromEvaluationsOut:
    peers = peers_from_evaluations(
        session,
        body.indicator,
        reader=evaluator,
        fiscal_year=body.fiscal_year,
        region=body.region,
        framework=body.framework,
    )
    ids = [p.evaluation_id for p in peers]
    result = compute_industry(
        body,
        [p.value for p in peers],
        [p.unit for p in peers],
        lambda e: _from_evaluations(e, ids),
    )
    out = industry_out(result, body.coefficients).model_dump()
    return IndustryFromEvaluationsOut.model_validate(
        {**out, "evaluation_ids": ids, "peers": [p.unit_key for p in peers]}
    )
