"""Request and response models of the composite API (``/v1/composite…``).

Requests forbid unknown fields; scalars are strict per field (``true`` is not ``1``); numbers
are finite — a missing value is ``null`` in a JSON column or ``NA``/empty in CSV text, never
NaN or infinity.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from indicator_service.core.i18n import _
from indicator_service.core.types import INTEGRAL

Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Code = Annotated[str, Field(strict=True, min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
Fraction = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]

MAX_UNITS = 100_000
MAX_NODES = 5_000
MAX_CSV_CHARS = 20_000_000

NormalisationMethod = Literal["minmax", "zscore", "target", "goalposts", "rank", "prank"]
AggregationMethod = Literal["arithmetic", "geometric", "harmonic", "generalised"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompositeTable(_Request):
    """A data table as JSON columns: unit codes, and one list of values per indicator."""

    units: list[Code] = Field(
        min_length=1,
        max_length=MAX_UNITS,
        description="unit codes (each once: a repeated unit is refused)",
        json_schema_extra={"uniqueItems": True},
    )
    columns: dict[Code, list[Number | None]] = Field(
        description="indicator code → one value per unit, null where missing"
    )


class MetaRowIn(_Request):
    """One node of the tree (COINr's meta table: Level, iCode, Direction, Weight, Parent)."""

    level: Annotated[int, Field(strict=True, ge=1, le=20), INTEGRAL] = Field(
        description="1 = indicator, 2 = first aggregate level, …"
    )
    code: Code
    direction: Literal[1, -1] = Field(default=1, description="1 higher is better, -1 lower")
    weight: Annotated[float, Field(strict=True, gt=0.0, allow_inf_nan=False)] = Field(
        default=1.0, description="relative within the parent"
    )
    parent: Code | None = Field(default=None, description="code of the parent; null at the top")
    target: Number | None = Field(default=None, description="for distance-to-target")
    name: Annotated[str, Field(strict=True, max_length=500, pattern=r"^[^\x00]*$")] | None = None


class NormalisationIn(_Request):
    method: NormalisationMethod = "minmax"
    low: Number = Field(default=0.0, description="lower end of the scale")
    high: Number = Field(default=100.0, description="upper end of the scale")
    mean: Number = Field(default=0.0, description="z-score: mean of the result")
    sd: Annotated[float, Field(strict=True, gt=0.0, allow_inf_nan=False)] = Field(
        default=1.0, description="z-score: standard deviation of the result"
    )
    cap: Annotated[bool, Field(strict=True)] = Field(
        default=True, description="distance to target: cap at the target"
    )
    targets: dict[Code, Number] | None = Field(
        default=None, description="distance to target: per-indicator targets (override meta)"
    )
    goalposts: dict[Code, tuple[Number, Number]] | None = Field(
        default=None, description="goalposts: indicator → [lower, upper]"
    )

    @model_validator(mode="after")
    def _range(self) -> NormalisationIn:
        if not self.low < self.high:
            raise ValueError(_("low must be below high"))
        return self


class AggregationIn(_Request):
    method: AggregationMethod = "arithmetic"
    p: Annotated[float, Field(strict=True, ge=-50.0, le=50.0, allow_inf_nan=False)] = Field(
        default=1.0, description="generalised mean parameter (0 = geometric, -1 = harmonic)"
    )


class BandIn(_Request):
    grade: Code
    min: Number
    max: Number


class CompositeOptions(_Request):
    """The method options shared by every composite request."""

    normalisation: NormalisationIn = Field(default_factory=NormalisationIn)
    aggregation: AggregationIn | list[AggregationIn] = Field(
        default_factory=AggregationIn, description="one for every level, or one per level"
    )
    threshold: Fraction | dict[Code, Fraction] | None = Field(
        default=None, description="minimum fraction of a group's children with data"
    )
    bands: list[BandIn] | None = Field(default=None, max_length=50)


class CompositeRequest(CompositeOptions):
    """A units × indicators table plus its tree, and the method options."""

    data: CompositeTable | None = Field(default=None, description="the table as JSON columns")
    data_csv: Annotated[str, Field(strict=True, max_length=MAX_CSV_CHARS)] | None = Field(
        default=None, description="the table as CSV text: uCode + one column per indicator"
    )
    meta: list[MetaRowIn] | None = Field(default=None, max_length=MAX_NODES)
    meta_csv: Annotated[str, Field(strict=True, max_length=MAX_CSV_CHARS)] | None = Field(
        default=None, description="the meta table as CSV (Level, iCode, Direction, Weight, …)"
    )

    @model_validator(mode="after")
    def _one_source_each(self) -> CompositeRequest:
        if (self.data is None) == (self.data_csv is None):
            raise ValueError(_("give exactly one of data and data_csv"))
        if (self.meta is None) == (self.meta_csv is None):
            raise ValueError(_("give exactly one of meta and meta_csv"))
        return self


class EvaluationsCompositeRequest(CompositeOptions):
    """Compare the units of stored evaluations of one framework (version), region and year."""

    framework: Code
    version: Code | None = Field(
        default=None, description="required when the evaluations use several versions"
    )
    region: Annotated[str, Field(strict=True, pattern=r"^[0-9]{6}$")] | None = None
    fiscal_year: Annotated[int, Field(strict=True, ge=1900, le=2200), INTEGRAL] | None = None


class CompositeUnitResult(BaseModel):
    unit: str
    scores: dict[str, float | None] = Field(description="aggregate code → score (null: no data)")
    ranks: dict[str, int | None] = Field(description="aggregate code → rank, 1 = best")
    grades: dict[str, str | None] | None = None


class CompositeOut(BaseModel):
    aggregates: list[str] = Field(description="every node above level 1, level by level")
    indicators: list[str]
    units: list[CompositeUnitResult]
    effective_weights: dict[str, dict[str, float]] = Field(
        description="aggregate → indicator → its share in the aggregate"
    )
    normalisation: NormalisationIn
    aggregation: list[AggregationIn] = Field(description="one per level above the indicators")
    evaluations: dict[str, int] | None = Field(
        default=None, description="stored evaluations only: unit → the evaluation id used"
    )


class UncertaintyIn(_Request):
    weight_noise: Annotated[float, Field(strict=True, ge=0.0, lt=1.0, allow_inf_nan=False)] = Field(
        default=0.25, description="weights × U(1 − noise, 1 + noise)"
    )
    normalisations: list[NormalisationIn] | None = Field(
        default=None,
        max_length=10,
        description="alternatives drawn uniformly (default: the request's normalisation)",
    )
    aggregations: list[AggregationIn] | None = Field(
        default=None,
        max_length=10,
        description="alternatives drawn uniformly, each for every level (default: the "
        "request's aggregation)",
    )
    exclusion_level: Annotated[int, Field(strict=True, ge=1, le=19), INTEGRAL] | None = Field(
        default=None, description="leave one node of this level out (1 indicators, 2 groups)"
    )


class RobustnessRequest(CompositeRequest):
    uncertainty: UncertaintyIn = Field(default_factory=UncertaintyIn)
    replications: Annotated[int, Field(strict=True, ge=1, le=100_000), INTEGRAL] = 1000
    seed: Annotated[int, Field(strict=True, ge=0, le=2**63 - 1), INTEGRAL] = 0
    target: Code | None = Field(default=None, description="aggregate analysed (default: index)")
    sensitivity_samples: Annotated[int, Field(strict=True, ge=2, le=100_000), INTEGRAL] | None = (
        Field(
            default=None, description="base samples N of the Sobol analysis (N (k + 2) runs); off"
        )
    )


class CompositeSpread(BaseModel):
    p5: float | None
    median: float | None
    p95: float | None


class UnitRobustness(BaseModel):
    unit: str
    nominal_score: float | None
    nominal_rank: int | None
    score: CompositeSpread
    rank: CompositeSpread
    grade_probability: dict[str, float] | None = Field(
        default=None, description="grade → share of replications; '' = no grade"
    )
    first_order: dict[str, float | None] | None = None
    total_effect: dict[str, float | None] | None = None


class SensitivityOut(BaseModel):
    samples: int
    factors: list[str]
    rank_shift_first_order: dict[str, float | None]
    rank_shift_total_effect: dict[str, float | None]


class RobustnessOut(BaseModel):
    target: str
    seed: int
    replications: int
    factors: list[str]
    mean_abs_rank_shift: float | None
    units: list[UnitRobustness]
    sensitivity: SensitivityOut | None = None
