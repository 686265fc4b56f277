"""Numeric policies a framework document may state (its ``monitoring`` and ``reevaluation``
blocks), with their defaults written once. Numbers only: the document model
(``catalogue.source.FrameworkDoc``) holds them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class PolicyModel(BaseModel):
    """As the catalogue's source models: unknown fields refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MonitoringRules(PolicyModel):
    """Thresholds of in-year monitoring (运行监控, indicator_service/monitoring): a framework's
    ``monitoring`` block; a framework without one gets these defaults (the one place they are
    written). No seed document gives numbers: 10 points and 5 % are this catalogue's choice
    (docs/monitoring.md)."""

    execution_gap: Annotated[float, Field(strict=True, ge=0, lt=1, allow_inf_nan=False)] = Field(
        default=0.10,
        description="flag budget execution that is behind the time progress by more than this "
        "share (0.10 = 10 percentage points)",
    )
    miss_tolerance: Annotated[float, Field(strict=True, ge=0, lt=1, allow_inf_nan=False)] = Field(
        default=0.05,
        description="flag an indicator whose year-end forecast misses its target by more "
        "than this share of the target",
    )


class ReevaluationRules(PolicyModel):
    """When a re-evaluation (再评价, 抽评) finds a self-evaluation distorted (自评失真):
    the totals differ by more than ``distortion_points``; a leaf is flagged when its scores
    differ by more than ``leaf_distortion_share`` of its points (docs/reevaluation.md)."""

    distortion_points: Annotated[float, Field(strict=True, gt=0, le=100, allow_inf_nan=False)]
    leaf_distortion_share: Annotated[float, Field(strict=True, gt=0, le=1, allow_inf_nan=False)] = (
        0.2
    )


#: The one default of the distortion rule, for frameworks that state none: more than 10 points
#: between a self-evaluation's total and its re-evaluation's, or more than 20 % of a leaf's
#: points on that leaf. [UNCONFIRMED: local rules cite differences "of 10 points or more";
#: no national number was found.]
DEFAULT_REEVALUATION = ReevaluationRules(distortion_points=10.0, leaf_distortion_share=0.2)
