"""Bulk import and export of namespace documents (pure: no web or database imports).

Formats: YAML and JSON (the source document), and the spreadsheet form bureaus use, as XLSX or
CSV, one indicator per row with the columns :data:`SHEET_COLUMNS` (Chinese headers accepted,
see :data:`HEADER_ALIASES`).

Import *merges* into a draft: an indicator is matched by code, a standard by its identity;
nothing is removed (retiring is an explicit edit). Every row gets a status — ``created``,
``updated``, ``unchanged`` or ``error`` with its row and column.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from indicator_service.catalogue.source import IndicatorDef, StandardDef
from indicator_service.core import readers
from indicator_service.core.errors import EXCERPT_CHARS, bounded, excerpt
from indicator_service.core.i18n import _, validation_message
from indicator_service.tables import rows as table_rows
from indicator_service.tables import writers

Format = Literal["yaml", "json", "csv", "xlsx"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEDIA_TYPES: dict[Format, str] = {
    "yaml": "application/yaml",
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": XLSX_TYPE,
}
_ACCEPTED_TYPES: dict[str, Format] = {
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "application/json": "json",
    "text/csv": "csv",
    XLSX_TYPE: "xlsx",
}

#: Spreadsheet columns, in export order.
SHEET_COLUMNS = (
    "level1",
    "level2",
    "level3",
    "code",
    "name",
    "name_en",
    "explanation",
    "operator",
    "target",
    "unit",
    "standard_type",
    "source",
    "points",
    "rule",
    "value_type",
)
HEADER_ALIASES: dict[str, str] = {
    "一级指标": "level1",
    "level1class": "level1",
    "二级指标": "level2",
    "level2class": "level2",
    "三级指标": "level3",
    "level3class": "level3",
    "指标编码": "code",
    "编码": "code",
    "指标名称": "name",
    "英文名称": "name_en",
    "指标解释": "explanation",
    "运算符": "operator",
    "比较符": "operator",
    "指标值": "target",
    "目标值": "target",
    "计量单位": "unit",
    "单位": "unit",
    "标准类型": "standard_type",
    "standardtype": "standard_type",
    "来源": "source",
    "标准来源": "source",
    "分值": "points",
    "评分规则": "rule",
    "scoringrule": "rule",
    "指标类型": "value_type",
    "valuetype": "value_type",
    "nameen": "name_en",
}
#: Which column an indicator field came from (to name the column of a validation error).
_FIELD_COLUMN = {
    "class_l1": "level1",
    "class_l2": "level2",
    "name_zh": "name",
    "name_en": "name_en",
    "explanation": "explanation",
    "operator": "operator",
    "unit": "unit",
    "rule": "rule",
    "value_type": "value_type",
    "code": "code",
}
_STANDARD_COLUMN = {
    "value": "target",
    "type": "standard_type",
    "source": "source",
    "unit": "unit",
    "operator": "operator",
}
_QUALITATIVE = {"定性", "qualitative"}


class FileError(ValueError):
    """The upload cannot be read at all: ``status`` 415 (type) or 422 (content). ``others``:
    further problems found in the same pass (every header problem at once), as
    ``(message, row, column)``."""

    def __init__(
        self,
        status: int,
        message: str,
        row: int | None = None,
        column: str | None = None,
        *,
        others: Sequence[tuple[str, int | None, str | None]] = (),
        sheet: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.row = row
        self.column = column
        self.others = list(others)
        self.sheet = sheet

    @property
    def problems(self) -> list[tuple[str, int | None, str | None]]:
        """Every problem: ``(message, row, column)``."""
        return [(self.message, self.row, self.column), *self.others]


@dataclass(frozen=True)
class CellError:
    column: str | None
    msg: str
    type: str = "value_error"


@dataclass
class RowResult:
    row: int
    section: Literal["indicators", "standards", "nodes", "header"]
    key: str | None
    status: Literal["created", "updated", "unchanged", "error"]
    errors: list[CellError] = field(default_factory=list)
    sheet: str | None = None  # the XLSX sheet the row is on (None: CSV, YAML, JSON)


@dataclass
class Sheet:
    """The data rows of an uploaded table: ``(row number, {column: text})``; ``name``: the
    XLSX sheet they were read from (None for CSV)."""

    name: str | None
    rows: list[tuple[int, dict[str, str]]]

    def __iter__(self) -> Any:  # the rows, as the plain list it was before
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def format_of(content_type: str | None) -> Format:
    media = (content_type or "").split(";")[0].strip().lower()
    fmt = _ACCEPTED_TYPES.get(media)
    if fmt is None:
        raise FileError(
            415,
            _(
                "unsupported content type {value}; send one of {set}",
                value=excerpt(media or "(none)"),
                set=", ".join(sorted(set(MEDIA_TYPES.values()))),
            ),
        )
    return fmt


def _header_key(text: Any) -> str | None:
    raw = str(text or "").strip()
    if not raw:
        return None
    norm = re.sub(r"[\s_\-]+", "", raw.lower())
    if raw in HEADER_ALIASES:
        return HEADER_ALIASES[raw]
    if norm in HEADER_ALIASES:
        return HEADER_ALIASES[norm]
    for col in SHEET_COLUMNS:
        if norm == col.replace("_", ""):
            return col
    return None


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = writers.csv_uncell(str(value)).strip()
    return text or None


def read_sheet(data: bytes, fmt: Format) -> Sheet:
    """The data rows of a CSV or XLSX upload (its first sheet) as ``(row number, {column:
    text})``; the first row is the header. Row numbers are the spreadsheet's (the header is row
    1). Every problem of the header is reported at once (one :class:`FileError`)."""
    name: str | None = None
    try:
        if fmt == "csv":
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise FileError(
                    422, _("the CSV file is not UTF-8 (byte {start})", start=exc.start)
                ) from exc
            table: list[Sequence[Any]] = list(table_rows.csv_rows(text))
        else:
            name = table_rows.xlsx_first_sheet_name(data)
            table = list(table_rows.xlsx_rows(data))
    except readers.ReadError as exc:
        raise FileError(422, exc.message, row=exc.line, sheet=name) from exc
    if not table:
        raise FileError(422, _("the file is empty: expected a header row"), row=1, sheet=name)
    columns: list[str | None] = []
    header_problems: list[tuple[str, int | None, str | None]] = []
    for i, head in enumerate(table[0]):
        key = _header_key(head)
        if key is None and _cell_text(head) is not None:
            header_problems.append(
                (
                    _(
                        "unknown column {head} (column {column}); known columns: {known}",
                        head=excerpt(str(head).strip()),
                        column=i + 1,
                        known=", ".join(SHEET_COLUMNS),
                    ),
                    1,
                    bounded(str(head).strip(), EXCERPT_CHARS),
                )
            )
        if key is not None and key in columns:
            header_problems.append((_("column {key!r} appears twice", key=key), 1, key))
        columns.append(key)
    if "code" not in columns:
        header_problems.append((_("the header has no 'code' (指标编码) column"), 1, "code"))
    if header_problems:
        (message, row, column), *others = header_problems
        raise FileError(422, message, row, column, others=others, sheet=name)
    rows: list[tuple[int, dict[str, str]]] = []
    for n, values in enumerate(table[1:], start=2):
        cells = {
            c: t
            for c, v in zip(columns, values, strict=False)
            if c is not None and (t := _cell_text(v)) is not None
        }
        if cells:
            rows.append((n, cells))
    return Sheet(name, rows)


def read_document(data: bytes, fmt: Format) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(422, _("the file is not UTF-8 (byte {start})", start=exc.start)) from exc
    try:
        loaded = readers.load_json(text) if fmt == "json" else readers.load_yaml(text)
    except readers.ReadError as exc:
        raise FileError(422, exc.message, row=exc.line) from exc
    if not isinstance(loaded, dict):
        raise FileError(422, _("expected a namespace document (a mapping)"))
    return loaded


def _parse_rule(text: str) -> dict[str, Any]:
    if text.startswith("{"):
        try:
            value = readers.load_yaml(text)
        except readers.ReadError as exc:
            raise ValueError(_("not a rule mapping: {message}", message=exc.message)) from exc
        if not isinstance(value, dict):
            raise ValueError(_("a rule is a mapping such as {{kind: higher_better}}"))
        return value
    return {"kind": text}


def _parse_source(text: str) -> dict[str, Any]:
    """A ``source`` cell: a citation mapping ``{title: …, issuer: …, year: …}`` (YAML/JSON)."""
    value: Any = None
    if text.startswith("{"):
        try:
            value = readers.load_yaml(text)  # no aliases, bounded nesting
        except readers.ReadError as exc:
            raise ValueError(_("not a citation mapping: {message}", message=exc.message)) from exc
    if not isinstance(value, dict):
        raise ValueError(
            _(
                "a source is a citation mapping such as {{title: …, issuer: "
                "…, doc_number: …, year: 2021, section: …}}"
            )
        )
    return value


def _errors(exc: ValidationError, columns: Mapping[str, str]) -> list[CellError]:
    out = []
    for e in exc.errors(include_url=False):
        first = str(e["loc"][0]) if e["loc"] else None
        out.append(
            CellError(columns.get(first) if first else None, validation_message(e), e["type"])
        )
    return out


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_defaults=True)
    return data


class _Draft:
    """The document being merged into, with indexes by indicator code and standard key."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = copy.deepcopy(dict(doc))
        self.doc.setdefault("indicators", [])
        self.doc.setdefault("standards", [])

    def indicator(self, code: str) -> int | None:
        for i, ind in enumerate(self.doc["indicators"]):
            if ind.get("code") == code:
                return i
        return None

    def standard(self, key: str) -> int | None:
        for i, st in enumerate(self.doc["standards"]):
            if StandardDef.model_validate(st).key() == key:
                return i
        return None

    def put_indicator(self, data: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
        i = self.indicator(data["code"])
        if i is None:
            self.doc["indicators"].append(data)
            return "created"
        if _same(self.doc["indicators"][i], data, IndicatorDef):
            return "unchanged"
        self.doc["indicators"][i] = data
        return "updated"

    def put_standard(self, data: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
        key = StandardDef.model_validate(data).key()
        i = self.standard(key)
        if i is None:
            self.doc["standards"].append(data)
            return "created"
        if _same(self.doc["standards"][i], data, StandardDef):
            return "unchanged"
        self.doc["standards"][i] = data
        return "updated"


def _same(a: Mapping[str, Any], b: Mapping[str, Any], model: Any) -> bool:
    return bool(_dump(model.model_validate(a)) == _dump(model.model_validate(b)))


def merge_sheet(
    doc: Mapping[str, Any], rows: Sequence[tuple[int, Mapping[str, str]]] | Sheet
) -> tuple[dict[str, Any], list[RowResult]]:
    """Merge spreadsheet rows into ``doc``: a row creates or updates the indicator with its code
    (empty cells leave fields unchanged) and, when ``target`` is given, the national yearless
    standard of type ``standard_type`` with that value.

    Every check of a row runs in the same pass — the cells that must parse (rule, points,
    target, source), the indicator's fields and the standard's — so a row reports all of its
    problems at once, each with its column (a cell that does not parse is not reported again by
    the field checks)."""
    sheet = rows.name if isinstance(rows, Sheet) else None
    draft = _Draft(doc)
    results: list[RowResult] = []
    for n, cells in rows:
        code = cells.get("code")
        errors: list[CellError] = []
        if code is None:
            errors.append(CellError("code", _("required"), "missing"))
        i = draft.indicator(code) if code is not None else None
        data: dict[str, Any] = copy.deepcopy(draft.doc["indicators"][i]) if i is not None else {}
        if code is not None:
            data["code"] = code
        name = cells.get("name") or cells.get("level3")
        simple = {
            "class_l1": cells.get("level1"),
            "class_l2": cells.get("level2"),
            "name_zh": name,
            "name_en": cells.get("name_en"),
            "explanation": cells.get("explanation"),
            "operator": cells.get("operator"),
            "unit": cells.get("unit"),
            "value_type": cells.get("value_type"),
        }
        data.update({k: v for k, v in simple.items() if v is not None})
        if i is None and "value_type" not in data:
            op = data.get("operator")
            data["value_type"] = "qualitative" if op in _QUALITATIVE else "quantitative"
        if i is None and "name_en" not in data:
            errors.append(CellError("name_en", _("required for a new indicator"), "missing"))
        if "rule" in cells:
            try:
                data["rule"] = _parse_rule(cells["rule"])
            except ValueError as exc:
                errors.append(CellError("rule", str(exc)))
        if "points" in cells:
            try:
                float(cells["points"])
            except ValueError:
                errors.append(
                    CellError("points", _("not a number: {cells}", cells=excerpt(cells["points"])))
                )
        ind: IndicatorDef | None = None
        try:
            ind = IndicatorDef.model_validate(data)
        except ValidationError as exc:
            errors.extend(_new_errors(errors, _errors(exc, _FIELD_COLUMN)))
        standard: dict[str, Any] | None = None
        if "target" in cells or "standard_type" in cells:
            fields = _dump(ind) if ind is not None else data  # operator and unit as validated
            standard, st_errors = _sheet_standard(draft, code, fields, cells)
            errors.extend(_new_errors(errors, st_errors))
        if errors or ind is None:
            results.append(RowResult(n, "indicators", code, "error", errors, sheet=sheet))
            continue
        status = draft.put_indicator(_dump(ind))
        if standard is not None and draft.put_standard(standard) != "unchanged":
            status = "created" if status == "created" else "updated"
        results.append(RowResult(n, "indicators", code, status, sheet=sheet))
    return draft.doc, results


def _new_errors(found: Sequence[CellError], more: Sequence[CellError]) -> list[CellError]:
    """``more`` without the problems of columns already reported (a cell that did not parse
    is not reported again by the checks that follow)."""
    columns = {e.column for e in found}
    return [e for e in more if e.column not in columns]


def _sheet_standard(
    draft: _Draft, code: str | None, indicator: Mapping[str, Any], cells: Mapping[str, str]
) -> tuple[dict[str, Any] | None, list[CellError]]:
    """The standard a row's ``target``/``standard_type``/``source`` cells give (merged into the
    draft's standard of the same identity), or every problem of those cells."""
    errors: list[CellError] = []
    for col in ("target", "standard_type"):
        if col not in cells:
            other = "target" if col != "target" else "standard_type"
            errors.append(
                CellError(col, _("required when {other} is given", other=other), "missing")
            )
    value: float | None = None
    if "target" in cells:
        try:
            value = float(cells["target"].rstrip("%").strip())
        except ValueError:
            errors.append(
                CellError("target", _("not a number: {text}", text=excerpt(cells["target"])))
            )
    data: dict[str, Any] = {"indicator": code, "type": cells.get("standard_type")}
    j: int | None = None
    if "standard_type" in cells and code is not None:
        try:
            key = StandardDef.model_validate(
                {**data, "value": 0.0, "illustrative": True, "derivation": "-"}
            ).key()
            j = draft.standard(key)
        except ValidationError as exc:
            errors.extend(_new_errors(errors, _errors(exc, _STANDARD_COLUMN)))
    if j is not None:
        data = {**draft.doc["standards"][j], **data}
    source: dict[str, Any] | None = None
    if "source" in cells:
        try:
            source = _parse_source(cells["source"])
        except ValueError as exc:
            errors.append(CellError("source", str(exc)))
    elif "source" not in data:
        errors.append(CellError("source", _("required for a new standard"), "missing"))
    if errors or value is None:
        return None, errors
    data["value"] = int(value) if value.is_integer() else value
    data.pop("min", None), data.pop("max", None), data.pop("levels", None)
    operator, unit = indicator.get("operator"), indicator.get("unit")
    if operator is not None and operator != "定性":
        data["operator"] = operator
    if unit is not None:
        data["unit"] = unit
    if source is not None:
        data["source"] = source
    try:
        return _dump(StandardDef.model_validate(data)), []
    except ValidationError as exc:
        return None, _errors(exc, _STANDARD_COLUMN)


_HEADER_FIELDS = ("name_zh", "name_en", "owner", "description")


def merge_document(
    doc: Mapping[str, Any], incoming: Mapping[str, Any]
) -> tuple[dict[str, Any], list[RowResult]]:
    """Merge a YAML/JSON namespace document: header texts, indicators by code (the file's
    definition replaces the draft's), standards by identity. ``row`` is the 1-based position in
    the file's ``indicators`` or ``standards`` list."""
    draft = _Draft(doc)
    results: list[RowResult] = []
    header = {k: incoming[k] for k in _HEADER_FIELDS if k in incoming}
    if header:
        changed = any(draft.doc.get(k) != v for k, v in header.items())
        draft.doc.update(header)
        results.append(RowResult(0, "header", None, "updated" if changed else "unchanged"))
    for section, model, put in (
        ("indicators", IndicatorDef, draft.put_indicator),
        ("standards", StandardDef, draft.put_standard),
    ):
        items = incoming.get(section, [])
        if not isinstance(items, list):
            results.append(
                RowResult(0, section, None, "error", [CellError(section, _("expected a list"))])  # type: ignore[arg-type]
            )
            continue
        for n, item in enumerate(items, start=1):
            key = item.get("code") if isinstance(item, dict) and section == "indicators" else None
            try:
                obj = model.model_validate(item)
            except ValidationError as exc:
                errs = [
                    CellError(
                        ".".join(str(x) for x in e["loc"]) or None, validation_message(e), e["type"]
                    )
                    for e in exc.errors(include_url=False)
                ]
                results.append(RowResult(n, section, key, "error", errs))  # type: ignore[arg-type]
                continue
            if isinstance(obj, StandardDef):
                key = obj.key()
            results.append(RowResult(n, section, key, put(_dump(obj))))  # type: ignore[arg-type]
    return draft.doc, results


# --- export ---------------------------------------------------------------------------------------


def _sheet_rows(doc: Mapping[str, Any]) -> list[list[Any]]:
    """One row per indicator; ``target``/``standard_type``/``source`` are filled when the
    indicator has exactly one national, yearless, single-value standard (the sheet form cannot
    hold ranges, levels, regions or years: use YAML/JSON for a complete copy)."""
    by_indicator: dict[str, list[dict[str, Any]]] = {}
    for st in doc.get("standards", []):
        by_indicator.setdefault(st["indicator"], []).append(st)
    out: list[list[Any]] = []
    for ind in doc.get("indicators", []):
        sts = by_indicator.get(ind["code"], [])
        st = sts[0] if len(sts) == 1 else None
        simple = (
            st is not None
            and st.get("value") is not None
            and not st.get("illustrative")
            and not any(
                st.get(k)
                for k in ("fiscal_year", "sector", "project_type", "valid_from", "valid_to")
            )
            and st.get("region", "000000") == "000000"
        )
        cells = {
            "level1": ind.get("class_l1"),
            "level2": ind.get("class_l2"),
            "code": ind["code"],
            "name": ind.get("name_zh"),
            "name_en": ind.get("name_en"),
            "explanation": ind.get("explanation"),
            "operator": ind.get("operator"),
            "unit": ind.get("unit"),
            "rule": json.dumps(ind["rule"], ensure_ascii=False) if ind.get("rule") else None,
            "value_type": ind.get("value_type"),
        }
        if simple and st is not None:
            cells.update(
                {
                    "target": st["value"],
                    "standard_type": st["type"],
                    "source": json.dumps(st["source"], ensure_ascii=False)
                    if st.get("source")
                    else None,
                }
            )
        out.append([cells.get(c) for c in SHEET_COLUMNS])
    return out


def export(doc: Mapping[str, Any], fmt: Format) -> bytes:
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "yaml":
        return yaml.safe_dump(dict(doc), allow_unicode=True, sort_keys=False).encode("utf-8")
    return _table(SHEET_COLUMNS, _sheet_rows(doc), fmt, str(doc.get("namespace", "indicators")))


def _table(columns: Sequence[str], rows: list[list[Any]], fmt: Format, title: str) -> bytes:
    if fmt == "csv":
        # text that a spreadsheet would read as a formula is neutralised ('=…)
        return writers.csv_bytes(columns, rows)
    # text is always written as text: a value such as "=HYPERLINK(…)" must not become a
    # formula in the reviewer's spreadsheet program
    return writers.xlsx_bytes(title, columns, rows)


# --- frameworks -----------------------------------------------------------------------------------

_FW_HEADER_FIELDS = (
    "name_zh",
    "name_en",
    "description",
    "kind",
    "requires",
    "bands",
    "missing_policy",
    "not_applicable_policy",
    "rule_variants",
    "constraints",
)
#: Framework sheet columns (export only): the bureau columns plus the tree's own.
FRAMEWORK_SHEET_COLUMNS = (
    "level1",
    "level2",
    "level3",
    "code",
    "name",
    "name_en",
    "explanation",
    "target",
    "standard_type",
    "points",
    "rule",
    "indicator",
    "parent",
    "level",
    "open",
)


def merge_framework_document(
    doc: Mapping[str, Any], incoming: Mapping[str, Any]
) -> tuple[dict[str, Any], list[RowResult]]:
    """Merge a YAML/JSON framework document: top-level settings given in the file replace the
    draft's; nodes are matched by code (the file's node replaces the draft's, or is added).
    ``row`` is the 1-based position in the file's ``nodes`` list (0 for the header)."""
    from indicator_service.catalogue.source import NodeDef

    out = copy.deepcopy(dict(doc))
    out.setdefault("nodes", [])
    results: list[RowResult] = []
    header = {k: incoming[k] for k in _FW_HEADER_FIELDS if k in incoming}
    if header:
        changed = any(out.get(k) != v for k, v in header.items())
        out.update(copy.deepcopy(header))
        results.append(RowResult(0, "header", None, "updated" if changed else "unchanged"))
    items = incoming.get("nodes", [])
    if not isinstance(items, list):
        return out, [
            *results,
            RowResult(0, "nodes", None, "error", [CellError("nodes", _("expected a list"))]),
        ]
    for n, item in enumerate(items, start=1):
        key = item.get("code") if isinstance(item, dict) else None
        try:
            node = NodeDef.model_validate(item)
        except ValidationError as exc:
            errs = [
                CellError(
                    ".".join(str(x) for x in e["loc"]) or None, validation_message(e), e["type"]
                )
                for e in exc.errors(include_url=False)
            ]
            results.append(RowResult(n, "nodes", key, "error", errs))
            continue
        data = _dump(node)
        at = next((i for i, x in enumerate(out["nodes"]) if x.get("code") == node.code), None)
        if at is None:
            out["nodes"].append(data)
            results.append(RowResult(n, "nodes", node.code, "created"))
        elif _same(out["nodes"][at], data, NodeDef):
            results.append(RowResult(n, "nodes", node.code, "unchanged"))
        else:
            out["nodes"][at] = data
            results.append(RowResult(n, "nodes", node.code, "updated"))
    return out, results


def _framework_sheet_rows(doc: Mapping[str, Any]) -> list[list[Any]]:
    """One row per node, depth-first in document order; ``level1``–``level3`` are the names of
    the node's ancestors and itself."""
    nodes = list(doc.get("nodes", []))
    by_code = {n["code"]: n for n in nodes}
    out: list[list[Any]] = []
    for node in nodes:
        path: list[dict[str, Any]] = []
        cur: dict[str, Any] | None = node
        while cur is not None and len(path) < 8:
            path.insert(0, cur)
            cur = by_code.get(cur.get("parent") or "")
        names = [p.get("name_zh") for p in path] + [None, None, None]
        cells = {
            "level1": names[0],
            "level2": names[1],
            "level3": names[2],
            "code": node["code"],
            "name": node.get("name_zh"),
            "name_en": node.get("name_en"),
            "explanation": node.get("note"),
            "target": node.get("target"),
            "standard_type": node.get("standard_type"),
            "points": node.get("points"),
            "rule": json.dumps(node["rule"], ensure_ascii=False) if node.get("rule") else None,
            "indicator": node.get("indicator"),
            "parent": node.get("parent"),
            "level": node.get("level"),
            "open": node.get("open"),
        }
        out.append([cells.get(c) for c in FRAMEWORK_SHEET_COLUMNS])
    return out


def export_framework(doc: Mapping[str, Any], fmt: Format) -> bytes:
    if fmt in ("json", "yaml"):
        return export(doc, fmt)
    rows = _framework_sheet_rows(doc)
    return _table(FRAMEWORK_SHEET_COLUMNS, rows, fmt, str(doc.get("framework", "framework")))
