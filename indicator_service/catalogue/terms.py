"""The catalogue's controlled vocabularies (units, standard types, value types, collection
methods, project types, sectors): data only, read by ``catalogue.source`` and re-exported there."""

from __future__ import annotations

# --- controlled vocabularies -------------------------------------------------------------------

#: Units a quantitative indicator or a standard may use (an unknown unit is an error).
UNITS: tuple[str, ...] = (
    "%",
    "‰",
    "元",
    "万元",
    "亿元",
    "人",
    "万人",
    "人次",
    "户",
    "km",
    "m",
    "m²",
    "个",
    "座",
    "所",
    "处",
    "条",
    "亩",
    "万亩",
    "kg",
    "t",
    "年",
    "月",
    "天",
    "小时",
    "次",
    "场",
    "期",
    "台",
    "件",
    "套",
    "项",
    "份",
    "μg/m³",
    "mg/L",
    "元/生·年",
    "元/亩",
    "元/台",
    "元/人",
    "元/人次",
    "元/km",
    "分",
)

STANDARD_TYPES: tuple[str, ...] = (
    "plan",
    "industry",
    "professional",
    "historical",
    "international",
    "budget_expenditure",
    "other",
)

VALUE_TYPES: tuple[str, ...] = ("quantitative", "qualitative", "quantitative_other")
COLLECTION_METHODS: tuple[str, ...] = (
    "direct_proof",
    "statistics",
    "written_statement",
    "survey",
    "inspection",
)
PROJECT_TYPES: tuple[str, ...] = (
    "purchase",
    "training",
    "meeting",
    "construction",
    "subsidy",
    "wage_guarantee",
    "service_purchase",
    "grant",
    "operation",
    "other",
)
SECTORS: tuple[str, ...] = (
    "health",
    "education",
    "agriculture_rural",
    "transport",
    "environment",
    "finance",
    # the budget's functional classification (政府收支分类科目 支出功能分类) beyond the above
    "general_public_services",
    "science_technology",
    "culture_tourism_sports",
    "social_security",
    "urban_rural_community",
    "natural_resources",
    "housing_security",
)
