"""The words of every machine code an answer shows, in the language asked: one vocabulary of
labels, written once in English (marked with ``N_``) and translated in the catalog
(``locale/zh_CN/LC_MESSAGES/messages.po``, docs/i18n.md).

Codes never change with the language (``warnings: ["over_achievement"]``, ``kind:
"higher_better"``, ``type: "plan"``, ``grade: "优"``); answers carry a label beside the code,
computed when the answer is serialised (:func:`label`, :func:`definition`, :func:`grade_label`,
:func:`level_label`).

The vocabularies live here, in the lowest layer every package may read (the pure rules import
``core.i18n`` and nothing else of ``core``): the rule vocabularies of :mod:`.vocabulary` and
the catalogue's (standard types, value types, collection methods: ``catalogue/terms.py``),
the kinds of an evaluation and of a versioned artefact. ``tests/core/test_i18n_labels.py``
checks that every code of those tuples has a label and every label its Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indicator_service.core.i18n import CHINESE, N_, current_language, gettext, localized
from indicator_service.rules.vocabulary import DEFAULT_BANDS

#: vocabulary → code → English label (the msgid of its Chinese).
LABELS: dict[str, dict[str, str]] = {
    # rule kinds (vocabulary.KINDS): what the rule rewards, in a few words
    "rule_kind": {
        "higher_better": N_("Higher is better"),
        "equal": N_("Equal to the target"),
        "lower_better": N_("Lower is better"),
        "qualitative": N_("Qualitative (scored by level)"),
        "budget_execution": N_("Budget execution rate"),
        "deduction": N_("Deduction"),
        "efficacy": N_("Efficacy coefficient"),
        "rank_table": N_("Points by rank"),
        "two_sided": N_("Two-sided deviation"),
        "band": N_("Within a band of the target"),
        "step_deduction": N_("Step deduction"),
    },
    # leaf and receipt warnings (vocabulary.WARNING_FLAGS and the receipt's explanation_missing)
    "warning": {
        "over_achievement": N_("Far over the target"),
        "execution_below_threshold": N_("Budget execution below the threshold"),
        "negative_actual_clamped": N_("Negative actual scored as 0"),
        "missing_scored_zero": N_("No actual: scored 0"),
        "missing_rebased": N_("No actual: left out, total rebased"),
        "below_bottom_level": N_("Below the bottom level"),
        "manual_deduction": N_("Manual deduction"),
        "over_achievement_penalty": N_("Over-achievement penalty"),
        "explanation_missing": N_("Explanation of the deviation missing"),
    },
    # what a framework does with a missing value (vocabulary.MISSING_POLICIES)
    "missing_policy": {
        "zero": N_("Missing values score 0"),
        "rebase": N_("Missing values are left out and the total rebased"),
        "reject": N_("Missing values are rejected"),
    },
    # the national grade names (vocabulary.DEFAULT_BANDS); a framework's own band names win
    "grade": {
        "优": N_("Excellent"),
        "良": N_("Good"),
        "中": N_("Fair"),
        "差": N_("Poor"),
    },
    # the five levels of an efficacy standard (vocabulary.EFFICACY_LEVEL_NAMES, 优秀 … 较差)
    "efficacy_level": {
        "优秀": N_("Excellent level"),
        "良好": N_("Good level"),
        "平均": N_("Average level"),
        "较低": N_("Low level"),
        "较差": N_("Poor level"),
    },
    # catalogue/terms.py STANDARD_TYPES (lower case in English: they are read inside sentences,
    # e.g. the standards resolution's explanation)
    "standard_type": {
        "plan": N_("plan standard"),
        "industry": N_("industry standard"),
        "professional": N_("professional standard"),
        "historical": N_("historical standard"),
        "international": N_("international standard"),
        "budget_expenditure": N_("budget-expenditure standard"),
        "other": N_("other standard"),
    },
    # catalogue/terms.py VALUE_TYPES
    "value_type": {
        "quantitative": N_("Quantitative"),
        "qualitative": N_("Qualitative"),
        "quantitative_other": N_("Quantitative (other)"),
    },
    # catalogue/terms.py COLLECTION_METHODS
    "collection_method": {
        "direct_proof": N_("Direct proof"),
        "statistics": N_("Statistics"),
        "written_statement": N_("Written statement"),
        "survey": N_("Survey"),
        "inspection": N_("On-site inspection"),
    },
    # catalogue/terms.py SECTORS (the budget's functional classification), read inside sentences
    "sector": {
        "health": N_("health"),
        "education": N_("education"),
        "agriculture_rural": N_("agriculture and rural affairs"),
        "transport": N_("transport"),
        "environment": N_("environment"),
        "finance": N_("finance"),
        "general_public_services": N_("general public services"),
        "science_technology": N_("science and technology"),
        "culture_tourism_sports": N_("culture, tourism and sport"),
        "social_security": N_("social security and employment"),
        "urban_rural_community": N_("urban and rural communities"),
        "natural_resources": N_("natural resources"),
        "housing_security": N_("housing security"),
    },
    # catalogue/terms.py PROJECT_TYPES, read inside sentences
    "project_type": {
        "purchase": N_("purchase"),
        "training": N_("training"),
        "meeting": N_("meeting"),
        "construction": N_("construction"),
        "subsidy": N_("subsidy"),
        "wage_guarantee": N_("wage guarantee"),
        "service_purchase": N_("government service purchase"),
        "grant": N_("grant"),
        "operation": N_("operation and maintenance"),
        "other": N_("other"),
    },
    # who carried out an evaluation (评价方式, scoring/schemas.py EvaluationKind)
    "evaluation_kind": {
        "self": N_("unit self-evaluation"),
        "department": N_("department evaluation"),
        "finance": N_("finance evaluation"),
        "third_party": N_("third-party evaluation"),
    },
    # what a change of a version diff is about (catalogue/versioning.py Change.entity)
    "catalogue_entity": {
        "namespace": N_("namespace"),
        "framework": N_("framework"),
        "indicator": N_("indicator"),
        "standard": N_("standard"),
        "node": N_("node"),
    },
    # the fields of a catalogue entity a version diff names (the web pages' words); a field
    # not listed keeps its name
    "field": {
        "name_zh": N_("Chinese name"),
        "name_en": N_("English name"),
        "unit": N_("unit"),
        "operator": N_("operator"),
        "points": N_("points"),
        "target": N_("target"),
        "value": N_("value"),
        "rule": N_("scoring rule"),
        "kind": N_("kind"),
        "type": N_("standard type"),
        "status": N_("status"),
        "class_l1": N_("level-1 class"),
        "class_l2": N_("level-2 class"),
        "value_type": N_("value type"),
        "explanation": N_("explanation"),
        "formula": N_("formula"),
        "source": N_("source"),
        "region": N_("region code"),
        "fiscal_year": N_("fiscal year"),
        "parent": N_("parent"),
        "description": N_("description"),
        "owner": N_("owner"),
        "data_source": N_("data source"),
        "collection_method": N_("collection method"),
        "tags": N_("classification tags"),
        "note": N_("note"),
        "derivation": N_("derivation"),
        "min": N_("lower bound"),
        "max": N_("upper bound"),
        "levels": N_("levels"),
        "sector": N_("sector"),
        "project_type": N_("project type"),
        "valid_from": N_("valid from"),
        "valid_to": N_("valid to"),
        "bands": N_("grading bands"),
        "missing_policy": N_("missing-value policy"),
        "requires": N_("namespace requirements"),
        "constraints": N_("points constraints"),
    },
    # the version part a change needs (catalogue/versioning.py Bump), read inside sentences
    "bump": {
        "none": N_("none"),
        "patch": N_("patch"),
        "minor": N_("minor"),
        "major": N_("major"),
    },
    # the status of a namespace or framework version (catalogue/artefacts.py)
    "version_status": {
        "draft": N_("draft"),
        "submitted": N_("submitted for review"),
        "published": N_("published"),
        "deprecated": N_("deprecated"),
    },
    # the levels of a region code (standards/resolve.py region_level)
    "region_level": {
        "county": N_("county level"),
        "prefecture": N_("prefecture level"),
        "province": N_("province level"),
        "national": N_("national level"),
    },
    # the roles of an API key (auth/models.py Role); the English words are the codes that
    # `--role` and the API take
    "role": {
        "admin": N_("admin"),
        "curator": N_("curator"),
        "reviewer": N_("reviewer"),
        "evaluator": N_("evaluator"),
        "client": N_("client"),
    },
    # the kinds of a versioned artefact (catalogue/versioning.py), read inside sentences; the
    # Chinese is the web pages' wording (web/static/js/labels.js diff.kind.*)
    "artefact_kind": {
        "namespace": N_("namespace"),
        "framework": N_("framework"),
    },
}

#: What each standard type means (标准值的类型), from /work/shared/domain.md §3, which summarises
#: the public documents: plan, industry, historical and other are the four types named by the
#: seed documents' rules (the county and city budget performance management rules of 2020–2022
#: that implement 财预〔2020〕10号, 项目支出绩效评价管理办法); professional is added by the same
#: seed documents (technical norms such as a national GB standard); international and
#: budget_expenditure are stored by a production budget system for cost indicators (domain.md
#: marks them [IMPL]: seen in a production system's rules, not in a national text).
DEFINITIONS: dict[str, dict[str, str]] = {
    "standard_type": {
        "plan": N_("A standard set by plans: targets, plans, budgets and quotas fixed in advance."),
        "industry": N_(
            "A standard from sector data published by the state or a sector authority, "
            "such as national thresholds or benchmark tables."
        ),
        "professional": N_(
            "A standard from technical norms of the profession, such as a national GB standard."
        ),
        "historical": N_(
            "A standard from the same indicator's past values, such as last year's value, "
            "the average of the last three years or the historical best."
        ),
        "international": N_("A standard from international practice or comparison."),
        "budget_expenditure": N_(
            "A budget-expenditure standard: the cost standard of a cost indicator "
            "(the expenditure allowed per unit of output)."
        ),
        "other": N_("A standard of another kind than the named ones."),
    },
}


def label(vocabulary: str, code: str | None, lang: str | None = None) -> str | None:
    """The label of ``code`` in ``vocabulary`` (a key of :data:`LABELS`) in ``lang`` (default:
    the current request's language); the code itself when the vocabulary has no label for it
    (data from an older or newer vocabulary), ``None`` for no code."""
    if code is None:
        return None
    text = LABELS[vocabulary].get(code)
    return code if text is None else gettext(text, lang)


def named(vocabulary: str, code: str, lang: str | None = None) -> str:
    """``code`` of ``vocabulary`` inside a sentence: its label, followed by the code in
    parentheses where the label is other words than the code (``管理员（admin）``: the code
    is what a command or a request must carry)."""
    text = label(vocabulary, code, lang) or code
    return text if text == code else f"{text}（{code}）"


def definition(vocabulary: str, code: str | None, lang: str | None = None) -> str | None:
    """What ``code`` means (only the standard types have definitions), in ``lang``."""
    if code is None:
        return None
    text = DEFINITIONS.get(vocabulary, {}).get(code)
    return None if text is None else gettext(text, lang)


_DEFAULT_NAME_EN = {b.grade: b.name_en for b in DEFAULT_BANDS}


def grade_label(
    grade: str | None, name_en: str | None = None, lang: str | None = None
) -> str | None:
    """A grade's name: a framework's own band name wins (its ``grade`` is its Chinese name, its
    ``name_en`` the English one); the national grades 优/良/中/差 whose English name is the
    default read Excellent/Good/Fair/Poor (优/良/中/差 in Chinese)."""
    if grade is None:
        return None
    if (lang or current_language()) == CHINESE:
        return grade
    if name_en is not None and name_en != _DEFAULT_NAME_EN.get(grade):
        return name_en
    return label("grade", grade, lang)


def level_label(level: str | None, levels: Any = None, lang: str | None = None) -> str | None:
    """A qualitative or efficacy level's name in ``lang``: the rule's own levels (``code``,
    ``name_zh``, ``name_en``) name it; a level the rule does not list keeps its code."""
    if level is None:
        return None
    if isinstance(levels, list):
        for lv in levels:
            if isinstance(lv, Mapping) and lv.get("code") == level:
                zh, en = lv.get("name_zh"), lv.get("name_en")
                if isinstance(zh, str) and isinstance(en, str):
                    return localized(en, zh, lang)
    return level
