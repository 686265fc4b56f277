"""Request and response models of the derived-standards API (``/v1/standards/…``).

Requests forbid unknown fields; numbers are strict per field (``true`` is not ``1``) and finite.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from indicator_service.catalogue.schemas import TypeLabelled
from indicator_service.catalogue.source import Citation
from indicator_service.core.types import INTEGRAL
from indicator_service.rules.labels import label
from indicator_service.standards.derive import (
    DEFAULT_MIN_SAMPLE,
    DEFAULT_PERCENTILES,
    Direction,
    HistoricalMethod,
)
from indicator_service.standards.progress import ProgressStatus

Year = Annotated[int, Field(strict=True, ge=1900, le=2200), INTEGRAL]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Text = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[^\x00]*$")]

MAX_SERIES = 200
MAX_PEERS = 100_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeriesPoint(_Request):
    year: Year
    value: Number
    unit: Text | None = None


class HistoricalParams(_Request):
    """The method and its parameters (the data comes with the request or from evaluations)."""

    method: HistoricalMethod = Field(
        description="last_year | mean_last_n | best_last_n | trend | improve_on_last"
    )
    direction: Direction = Direction.higher_better
    n: Annotated[int, Field(strict=True, ge=1, le=MAX_SERIES), INTEGRAL] = Field(
        default=3, description="years in the window (mean_last_n, best_last_n)"
    )
    allow_gaps: Annotated[bool, Field(strict=True)] = Field(
        default=False,
        description="use the last n observations even when years are missing in the window",
    )
    as_of: Year | None = Field(default=None, description="use only years ≤ as_of")
    target_year: Year | None = Field(default=None, description="trend: year to project to")
    confidence: Annotated[float, Field(strict=True, ge=0.5, le=0.999, allow_inf_nan=False)] = Field(
        default=0.95,
        description="trend: confidence of the slope interval, 0.5 … 0.999 (scipy's Theil–Sen "
        "overflows on confidences near 0)",
    )
    improve_pct: (
        Annotated[float, Field(strict=True, ge=0.0, le=1000.0, allow_inf_nan=False)] | None
    ) = Field(default=None, description="improve_on_last: improvement in percent of last year")


class HistoricalRequest(HistoricalParams):
    series: list[SeriesPoint] = Field(min_length=1, max_length=MAX_SERIES)


class TrendOut(BaseModel):
    slope: float
    low_slope: float
    high_slope: float
    anchor_year: float
    anchor_value: float
    confidence: float
    target_year: int
    projection: float
    band_low: float
    band_high: float


class HistoricalOut(BaseModel):
    method: HistoricalMethod
    direction: Direction
    value: float
    unit: str | None
    years: list[int]
    values: list[float]
    n: int
    parameters: dict[str, Any]
    derivation: str
    trend: TrendOut | None = None


class PeerValue(_Request):
    value: Number
    unit: Text | None = None
    label: Annotated[str, Field(strict=True, max_length=200, pattern=r"^[^\x00]*$")] | None = Field(
        default=None, description="who the value belongs to (unit name, region …)"
    )


class IndustryParams(_Request):
    """Percentiles and options (the peer values come with the request or from evaluations)."""

    direction: Direction = Direction.higher_better
    percentiles: list[
        Annotated[float, Field(strict=True, ge=0.0, le=100.0, allow_inf_nan=False)]
    ] = Field(
        default=list(DEFAULT_PERCENTILES),
        min_length=5,
        max_length=5,
        description=(
            "goodness percentiles of 优秀, 良好, 平均, 较低, 较差 (strictly decreasing); "
            "mirrored (100 − p) when lower is better"
        ),
    )
    min_sample: Annotated[int, Field(strict=True, ge=2, le=MAX_PEERS), INTEGRAL] = (
        DEFAULT_MIN_SAMPLE
    )
    k: Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)] = 1.0
    winsorize: (
        tuple[
            Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)],
            Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)],
        ]
        | None
    ) = Field(
        default=None, description="clip at these quantiles (fractions) first, e.g. [0.05, 0.95]"
    )
    coefficients: list[
        Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
    ] = Field(default=[1.0, 0.8, 0.6, 0.4, 0.2], min_length=5, max_length=5)


class IndustryRequest(IndustryParams):
    values: list[PeerValue] = Field(min_length=1, max_length=MAX_PEERS)


class IndustryLevelOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    percentile: float
    value: float


class IndustryOut(BaseModel):
    direction: Direction
    unit: str | None
    n: int
    levels: list[IndustryLevelOut]
    levels_strictly_monotone: bool
    median: float
    mean: float
    sd: float
    k: float
    mean_minus_k_sd: float
    mean_plus_k_sd: float
    q1: float
    q3: float
    iqr: float
    cv: float | None
    minimum: float
    maximum: float
    winsorize: tuple[float, float] | None
    winsor_bounds: tuple[float, float] | None
    n_winsorized: int
    parameters: dict[str, Any]
    derivation: str
    efficacy_rule: dict[str, Any] | None = Field(
        description="the `efficacy` scoring rule these levels define; null when levels tie"
    )


class ThresholdsIn(_Request):
    on_track: Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)] = 0.95
    acceleration: Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)] = 0.60
    growth_on_track: Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)] = (
        0.015
    )
    growth_acceleration: Annotated[
        float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)
    ] = 0.005


class ProgressRequest(_Request):
    series: list[SeriesPoint] = Field(min_length=1, max_length=MAX_SERIES)
    direction: Direction = Direction.higher_better
    base_year: Year | None = Field(default=None, description="default: the earliest year")
    target_value: Number | None = None
    target_year: Year | None = None
    thresholds: ThresholdsIn = Field(default_factory=ThresholdsIn)


class ThresholdsOut(BaseModel):
    on_track: float
    acceleration: float
    growth_on_track: float
    growth_acceleration: float


class ProgressOut(BaseModel):
    status: ProgressStatus
    label_zh: str
    label_en: str
    direction: Direction
    base_year: int
    base_value: float
    latest_year: int
    latest_value: float
    cagr_observed: float
    target_value: float | None
    target_year: int | None
    cagr_required: float | None
    ratio: float | None
    thresholds: ThresholdsOut
    unit: str | None
    derivation: str


class StandardRowOut(TypeLabelled):
    """A stored standard row as the catalogue holds it (fields it does not carry are absent)."""

    id: int | None = None
    namespace: str | None = None
    namespace_version: str | None = Field(default=None, description="the exact version read")
    indicator: str | None = None
    type: str
    operator: str | None = None
    value: float | None = None
    min: float | None = None
    max: float | None = None
    levels: list[float] | None = None
    unit: str | None = None
    region: str | None = None
    fiscal_year: int | None = None
    sector: str | None = None
    project_type: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    derivation: str | None = None
    source: Citation | None = Field(default=None, description="the document cited")
    illustrative: bool = Field(
        default=False, description="no public document gives this value (chosen only on request)"
    )


class CandidateOut(TypeLabelled):
    rank: int = Field(description="position in the search order, 0 first")
    type: str
    region: str
    region_level: str = Field(description="county | prefecture | province | national")
    outcome: str = Field(description="won | lost | none (no row for this type and region)")
    reason: str = Field(description="why, in the language asked")
    standard: StandardRowOut | None

    @computed_field(  # type: ignore[prop-decorator]
        description="the region level in words, in the language asked (县级, county level …)"
    )
    @property
    def region_level_label(self) -> str | None:
        return label("region_level", self.region_level)


class ResolutionOut(BaseModel):
    indicator: str
    fiscal_year: int | None
    standard: StandardRowOut | None = Field(description="the winning row; null when none")
    winner_type: str | None
    winner_region: str | None
    precedence: list[str]
    order: str
    regions: list[str] = Field(description="the regional fallback chain searched")
    explanation: str = Field(description="the resolution in one sentence, in the language asked")
    candidates: list[CandidateOut]

    @computed_field(  # type: ignore[prop-decorator]
        description="the winning standard type in words, in the language asked (null when none)"
    )
    @property
    def winner_type_label(self) -> str | None:
        return label("standard_type", self.winner_type)


# --- saving a derived standard into a draft ------------------------------------------------------


class StandardContext(_Request):
    """Where the derived standard applies, and where its data came from."""

    indicator: Annotated[
        str, Field(strict=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    ]
    region: Annotated[str, Field(strict=True, pattern=r"^[0-9]{6}$")] = "000000"
    fiscal_year: Annotated[int, Field(strict=True, ge=1990, le=2100), INTEGRAL] | None = None
    sector: Text | None = None
    project_type: Text | None = None
    operator: Annotated[str, Field(strict=True, min_length=1, max_length=10)] | None = None
    unit: Text | None = Field(default=None, description="default: the unit of the input data")
    valid_from: date | None = None
    valid_to: date | None = None
    source: Citation = Field(
        description="the document the input data comes from (e.g. the 2022–2024 final "
        "accounts): {title, issuer, doc_number, year, section, url}"
    )


class SaveHistorical(_Request):
    kind: Literal["historical"]
    derive: HistoricalRequest
    standard: StandardContext


class SaveIndustry(_Request):
    kind: Literal["industry"]
    derive: IndustryRequest
    standard: StandardContext


SaveRequest = Annotated[SaveHistorical | SaveIndustry, Field(discriminator="kind")]


class SaveOut(BaseModel):
    namespace: str
    version: str
    etag: str = Field(description="the draft's new content hash (send it as If-Match next)")
    replaced: bool = Field(description="an existing row with the same identity was replaced")
    standard: StandardRowOut
    historical: HistoricalOut | None = None
    industry: IndustryOut | None = None


# --- from stored evaluations ---------------------------------------------------------------------

IndicatorCode = Annotated[
    str, Field(strict=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
]
Region = Annotated[str, Field(strict=True, pattern=r"^[0-9]{6}$")]


class HistoricalFromEvaluations(HistoricalParams):
    """One indicator's actual values, one per fiscal year, from the stored evaluations of one
    evaluated unit or project (the latest evaluation of a year wins)."""

    indicator: IndicatorCode
    evaluated_unit: Text | None = Field(default=None, description="the evaluated unit (单位)")
    project: Text | None = None
    region: Region | None = None
    framework: Text | None = None


class IndustryFromEvaluations(IndustryParams):
    """One indicator's values across all evaluated units of a region in one fiscal year (one
    value per unit, the latest evaluation wins)."""

    indicator: IndicatorCode
    fiscal_year: Year
    region: Region | None = None
    framework: Text | None = None


class HistoricalFromEvaluationsOut(HistoricalOut):
    evaluation_ids: list[int] = Field(description="the evaluations used, in the order of years")


class IndustryFromEvaluationsOut(IndustryOut):
    evaluation_ids: list[int]
    peers: list[str] = Field(description="the evaluated unit of each value used")
