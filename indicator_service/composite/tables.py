"""Reading the COINr table layout (``uCode`` + indicator columns; the meta table) from CSV text.

Missing values are ``NA`` or an empty cell. Stdlib + numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from indicator_service.composite.tree import TREE_TYPES, CompositeError, FloatArray, MetaRow
from indicator_service.core.errors import excerpt
from indicator_service.core.i18n import _
from indicator_service.core.readers import ReadError
from indicator_service.tables.rows import csv_rows

MISSING = frozenset({"", "NA", "NaN", "nan", "N/A", "null"})
META_COLUMNS = ("Level", "iCode", "Direction", "Weight", "Parent", "Type")


def _rows(text: str, what: str) -> tuple[list[str], list[list[str]]]:
    # strict CSV within the upload limits (rows, cell size) of tables.limits
    reader = csv_rows(text.lstrip("\ufeff"))
    try:
        header = [h.strip() for h in next(reader)]
        rows = [r for r in reader if any(c.strip() for c in r)]
    except StopIteration:
        raise CompositeError(
            _("the {what} table is empty", what=what), [([what], "no header row")]
        ) from None
    except ReadError as exc:
        raise CompositeError(
            _("the {what} table is not readable CSV", what=what),
            [([what, exc.line or 1], exc.message)],
        ) from exc
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise CompositeError(
                _("the {what} table is ragged", what=what),
                [([what, i + 2], f"{len(r)} cells, header has {len(header)}")],
            )
    return header, rows


def _number(text: str, loc: list[str | int], errors: list[tuple[list[str | int], str]]) -> float:
    t = text.strip()
    if t in MISSING:
        return math.nan
    try:
        v = float(t)
    except ValueError:
        errors.append((loc, _("not a number: {t}", t=excerpt(t))))
        return math.nan
    if not math.isfinite(v):
        errors.append((loc, _("not a finite number: {t}", t=excerpt(t))))
        return math.nan
    return v


def read_data_csv(text: str) -> tuple[list[str], dict[str, FloatArray], list[str]]:
    """Units, numeric columns and the names of the non-numeric columns (ignored).

    A column is numeric when every non-missing cell parses as a number; only the indicator
    columns named in the meta table are used later, so text columns (names, groups) are fine.
    """
    header, rows = _rows(text, "data")
    if "uCode" not in header:
        raise CompositeError(_("the data table needs a uCode column"), [(["data"], "no uCode")])
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise CompositeError(_("duplicate data columns"), [(["data", d], "duplicate") for d in dup])
    ucol = header.index("uCode")
    units = [r[ucol].strip() for r in rows]
    columns: dict[str, FloatArray] = {}
    text_columns: list[str] = []
    for j, name in enumerate(header):
        if j == ucol:
            continue
        errors: list[tuple[list[str | int], str]] = []
        col = np.array(
            [_number(r[j], ["data", i + 2, name], errors) for i, r in enumerate(rows)],
            dtype=np.float64,
        )
        if errors:
            text_columns.append(name)
        else:
            columns[name] = col
    return units, columns, text_columns


def check_indicator_columns(
    indicators: Iterable[str], columns: Mapping[str, FloatArray], text_columns: Sequence[str]
) -> None:
    """An indicator column holding text is an error naming its first bad cell."""
    bad = [c for c in indicators if c in text_columns]
    if bad:
        raise CompositeError(
            _("indicator columns must be numeric (NA for missing)"),
            [(["data", c], "holds non-numeric values") for c in bad],
        )


def read_meta_csv(text: str) -> list[MetaRow]:
    header, rows = _rows(text, "meta")
    missing = [c for c in META_COLUMNS if c not in header]
    if missing:
        raise CompositeError(
            _("the meta table lacks required columns"),
            [(["meta", c], "missing column") for c in missing],
        )
    col = {h: i for i, h in enumerate(header)}
    errors: list[tuple[list[str | int], str]] = []
    out: list[MetaRow] = []
    for i, r in enumerate(rows):
        kind = r[col["Type"]].strip()
        if kind not in TREE_TYPES:
            continue  # Group and Denominator rows are not part of the tree
        loc: list[str | int] = ["meta", i + 2]
        level = _number(r[col["Level"]], [*loc, "Level"], errors)
        if not math.isnan(level) and level != int(level):
            errors.append(([*loc, "Level"], _("not an integer: {level!r}", level=level)))
        direction = _number(r[col["Direction"]], [*loc, "Direction"], errors)
        weight = _number(r[col["Weight"]], [*loc, "Weight"], errors)
        target = _number(r[col["Target"]], [*loc, "Target"], errors) if "Target" in col else None
        for name, v in (("Level", level), ("Direction", direction), ("Weight", weight)):
            if math.isnan(v):
                errors.append(([*loc, name], _("missing")))
        parent = r[col["Parent"]].strip()
        out.append(
            MetaRow(
                level=0 if math.isnan(level) else int(level),
                code=r[col["iCode"]].strip(),
                direction=1.0 if math.isnan(direction) else direction,
                weight=weight,
                parent=None if parent in MISSING else parent,
                type=kind,
                target=None if target is None or math.isnan(target) else target,
                name=r[col["iName"]].strip() if "iName" in col else None,
                row=i + 2,
            )
        )
    if errors:
        raise CompositeError(_("invalid meta table"), errors)
    return out


def format_float(v: float) -> str:
    """Full precision (``repr`` of the float64); ``NA`` when missing."""
    return "NA" if math.isnan(v) else repr(float(v))
