"""The rules of scoring, defined once: the vocabulary (:mod:`.vocabulary`), the rule models
per kind (:mod:`.kinds`), indicator trees and their compiled form (:mod:`.tree`) and the
vectorised engine (:mod:`.engine`): rules, aggregation, rounding and grading.

Pure code: imports the standard library, numpy and pydantic only (no web, no database, no
catalogue), so it can be tested and benchmarked alone. The names below are its public API.
"""

from indicator_service.rules.engine import (
    BatchResult,
    Columns,
    evaluate,
    observations_to_columns,
    round_half_up,
    score_columns,
    score_tree,
    warning_names,
)
from indicator_service.rules.kinds import (
    RULE_MODELS,
    Rule,
    default_rule,
    qualitative_level_problems,
)
from indicator_service.rules.tree import (
    CompiledTree,
    Leaf,
    Observation,
    ObservationLike,
    Tree,
    compile_tree,
    qualitative_band_problems,
    resolve_rule,
    stack,
    validate_bands,
)
from indicator_service.rules.vocabulary import (
    DEFAULT_BANDS,
    DEFAULT_EFFICACY_COEFFICIENTS,
    DEFAULT_OVER_ACHIEVEMENT_FACTOR,
    DEFAULT_QUALITATIVE_LEVELS,
    EFFICACY_LEVEL_NAMES,
    ERROR_CODES,
    KINDS,
    MISSING_POLICIES,
    OPERATOR_ALIASES,
    OPERATOR_KIND,
    OPERATORS,
    ROUNDING_RULE,
    STATUS_NAMES,
    WARNING_FLAGS,
    Band,
    RuleError,
    operator_kind,
)

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_EFFICACY_COEFFICIENTS",
    "DEFAULT_OVER_ACHIEVEMENT_FACTOR",
    "DEFAULT_QUALITATIVE_LEVELS",
    "EFFICACY_LEVEL_NAMES",
    "ERROR_CODES",
    "KINDS",
    "MISSING_POLICIES",
    "OPERATORS",
    "OPERATOR_ALIASES",
    "OPERATOR_KIND",
    "ROUNDING_RULE",
    "RULE_MODELS",
    "STATUS_NAMES",
    "WARNING_FLAGS",
    "Band",
    "BatchResult",
    "Columns",
    "CompiledTree",
    "Leaf",
    "Observation",
    "ObservationLike",
    "Rule",
    "RuleError",
    "Tree",
    "compile_tree",
    "default_rule",
    "evaluate",
    "observations_to_columns",
    "operator_kind",
    "qualitative_band_problems",
    "qualitative_level_problems",
    "resolve_rule",
    "round_half_up",
    "score_columns",
    "score_tree",
    "stack",
    "validate_bands",
    "warning_names",
]
