"""Reading self-evaluation forms in the national layout (项目支出 / 部门整体支出绩效自评表).

Files: XLSX and old XLS (python-calamine; cached formula values are read, never evaluated),
CSV in UTF-8 (with or without BOM) or GB18030/GBK (detected). Each visible sheet that holds an
indicator table is one form. Blocks are found by their labels, not by row numbers: the title and
year, the project block (项目名称, 主管部门, 实施单位), the funds block (年初预算数, 全年预算数,
全年执行数, 分值, 执行率, 得分, the 其中 lines; 基本支出 / 项目支出 in the department layout), the
overall goals, the indicator table (一级/二级 cells merged down their rows: empty cells inherit
from above), the 总分 line and the signatures. Extra title rows, blank rows, a 备注 column and
extra (hidden) columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indicator_service.forms.cells import label, normalise, parse_quantity
from indicator_service.forms.model import (
    Form,
    FormProblem,
    FundsLine,
    IndicatorLine,
    cell_ref,
)

# --- limits (bad input is refused quickly, before anything is parsed in full) -------------------

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # all parts of an XLSX together
MAX_PART_BYTES = 30 * 1024 * 1024  # one part (a sheet's XML)
MAX_RATIO = 200  # uncompressed / compressed size of a large part
MAX_ZIP_ENTRIES = 5000
MAX_SHEETS = 1000
MAX_ROWS = 5000  # rows of one sheet (a form has a few dozen)
MAX_COLUMNS = 200
MAX_CELLS = 2_000_000  # rows × columns of the whole workbook


class FormFileError(Exception):
    """The file as a whole cannot be read; ``status`` 413 (too large) or 422."""

    def __init__(self, zh: str, en: str, type_: str, status: int = 422) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en, self.type, self.status = zh, en, type_, status

    @property
    def message(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass
class Sheet:
    """A sheet's cells as a grid of absolute rows (0-based); values are str, float, int, bool
    or other scalars; '' for an empty cell."""

    name: str
    rows: list[list[Any]]
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # XLSX: (r, c) → text
    _labels: list[list[str]] | None = field(default=None, repr=False, compare=False)

    def cell(self, r: int, c: int) -> Any:
        if 0 <= r < len(self.rows):
            row = self.rows[r]
            if 0 <= c < len(row):
                return row[c]
        return ""

    def text(self, r: int, c: int) -> str:
        """The cell as a label (normalised once per sheet)."""
        grid = self._labels
        if grid is None:
            grid = self._labels = [[label(v) if v != "" else "" for v in row] for row in self.rows]
        if 0 <= r < len(grid):
            row = grid[r]
            if 0 <= c < len(row):
                return row[c]
        return ""

    def labels(self, r: int) -> list[str]:
        self.text(0, 0)
        assert self._labels is not None
        return self._labels[r] if 0 <= r < len(self._labels) else []


# --- files → sheets ------------------------------------------------------------------------------

XLSX = "xlsx"
XLS = "xls"
CSV = "csv"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARKS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))


def sniff(raw: bytes) -> str:
    """The file's kind from its first bytes: xlsx (a zip), xls (OLE2) or csv."""
    if raw[:4] == b"PK\x03\x04":
        return XLSX
    if raw[:8] == _OLE_MAGIC:
        return XLS
    return CSV


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    for enc in encodings:
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise FormFileError(
                "文件含有空字符（NUL），不是文本表格",
                "the file contains NUL characters: not a CSV text",
                "nul",
            )
        return text
    raise FormFileError(
        "CSV 文件既不是 UTF-8 也不是 GB18030/GBK 编码，请另存为“CSV UTF-8”或 GBK",
        "the CSV file is neither UTF-8 nor GB18030/GBK: save it as CSV UTF-8 or GBK",
        "encoding",
    )


def _csv_rows(text: str) -> list[list[Any]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows: list[list[Any]] = []
    try:
        for line in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            rows.append(line)
            if len(rows) > MAX_ROWS:
                raise _too_many_rows("CSV")
            if len(line) > MAX_COLUMNS:
                raise _too_many_columns("CSV")
    except csv.Error as exc:
        raise FormFileError(
            f"CSV 第 {len(rows) + 1} 行无法读取：{exc}",
            f"CSV line {len(rows) + 1} is not readable: {exc}",
            "csv",
        ) from exc
    return rows


def _too_many_rows(sheet: str) -> FormFileError:
    return FormFileError(
        f"工作表“{sheet}”超过 {MAX_ROWS} 行：自评表只有几十行，请删除多余的行",
        f"sheet {sheet!r} has more than {MAX_ROWS} rows: a form has a few dozen; delete the rest",
        "too_many_rows",
        413,
    )


def _too_many_sheets(n: int) -> FormFileError:
    return FormFileError(
        f"工作簿有 {n} 个工作表，超过 {MAX_SHEETS} 个",
        f"the workbook has {n} sheets, more than {MAX_SHEETS}",
        "too_many_sheets",
        413,
    )


def _too_many_columns(sheet: str) -> FormFileError:
    return FormFileError(
        f"工作表“{sheet}”超过 {MAX_COLUMNS} 列",
        f"sheet {sheet!r} has more than {MAX_COLUMNS} columns",
        "too_many_columns",
        413,
    )


def _check_zip(raw: bytes) -> None:
    """Refuse a zip bomb, a truncated archive or one of too many parts before parsing it."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FormFileError(
            "工作簿已损坏或不完整（不是完整的 XLSX 文件），请重新保存后上传",
            f"the workbook is damaged or truncated (not a complete XLSX file): {exc}",
            "xlsx",
        ) from exc
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FormFileError(
            f"工作簿的组成部分过多（{len(infos)} 个）",
            f"the workbook has too many parts ({len(infos)})",
            "too_many_parts",
            413,
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if (
            info.file_size > MAX_PART_BYTES
            or total > MAX_UNCOMPRESSED_BYTES
            or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO)
        ):
            raise FormFileError(
                "工作簿解压后过大（疑似压缩炸弹或含大量空行），请只保留自评表内容",
                f"the workbook expands too much ({info.filename}: {info.file_size} bytes from "
                f"{info.compress_size}): a zip bomb or a sheet of empty rows",
                "too_large",
                413,
            )
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            _check_rows(zf, info)


_ROW_NUMBER = re.compile(rb'<row[^>]*?\sr="(\d{1,9})"')


def _check_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Count a large sheet's row elements while it is decompressed (a sheet of a million
    empty rows is small on disk and in calamine's range, but not here)."""
    rows, tail, last = 0, b"", b""
    with zf.open(info) as fh:
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            rows += data.count(b"<row")
            tail = data[-3:]  # a "<row" split between chunks is counted with the next one
            last = data[-4096:]
            numbers = _ROW_NUMBER.findall(last)
            if numbers and int(numbers[-1]) > MAX_SHEET_ROWS:
                rows = MAX_SHEET_ROWS + 1  # a cell far down: the range reaches that row
            if rows > MAX_SHEET_ROWS:
                name = info.filename.rsplit("/", 1)[-1]
                raise FormFileError(
                    f"工作表（{name}）超过 {MAX_SHEET_ROWS} 行（含空行），请删除多余的行",
                    f"a sheet ({name}) has more than {MAX_SHEET_ROWS} rows (empty ones "
                    "included): delete the rest",
                    "too_many_rows",
                    413,
                )


def read_sheets(raw: bytes) -> list[Sheet]:
    """The visible sheets of an XLSX/XLS/CSV file (a CSV is one sheet named ``CSV``)."""
    if not raw:
        raise FormFileError("文件为空", "the file is empty", "missing")
    if len(raw) > MAX_FILE_BYTES:
        raise FormFileError(
            f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB",
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            "too_large",
            413,
        )
    kind = sniff(raw)
    if kind == CSV:
        return [Sheet("CSV", _csv_rows(decode_csv(raw)))]
    if kind == XLS and any(mark in raw for mark in _ENCRYPTED_MARKS):
        raise FormFileError(
            "工作簿已加密（设有打开密码），请取消密码后上传",
            "the workbook is encrypted (it has an open password): remove the password",
            "encrypted",
        )
    if kind == XLSX:
        _check_zip(raw)
    sheets = _calamine_sheets(raw)
    if kind == XLSX:
        formulas = xlsx_formulas(raw)
        for sh in sheets:
            sh.formulas = formulas.get(sh.name, {})
    return sheets


_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _ref_index(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref)
    if m is None:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def xlsx_formulas(raw: bytes) -> dict[str, dict[tuple[int, int], str]]:
    """The formula text of every formula cell, per sheet name (calamine gives the cached value
    only: ``=100%`` typed as a target is a formula, whose text is what the person wrote)."""
    import posixpath
    import xml.etree.ElementTree as ET

    out: dict[str, dict[tuple[int, int], str]] = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        names = set(zf.namelist())
        try:
            wb = ET.fromstring(zf.read("xl/workbook.xml"))
            rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        except (KeyError, ET.ParseError):
            return out
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        for sh in wb.iter(f"{_MAIN}sheet"):
            target = targets.get(sh.get(f"{_REL}id"), "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            path = posixpath.normpath(path)
            if path not in names:
                continue
            data = zf.read(path)
            if b"<f" not in data:
                continue
            cells: dict[tuple[int, int], str] = {}
            try:
                for _, el in ET.iterparse(io.BytesIO(data)):
                    if el.tag == f"{_MAIN}c":
                        f = el.find(f"{_MAIN}f")
                        if f is not None and f.text:
                            at = _ref_index(el.get("r", ""))
                            if at is not None:
                                cells[at] = f.text
                        el.clear()
            except ET.ParseError:
                continue
            out[sh.get("name", "")] = cells
    return out


_CONSTANT = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)%?$")


def cell_value(sheet: Sheet, r: int, c: int, *, target: bool = False) -> Any:
    """A cell as written: a constant formula (``=100%``) is read as the person typed it (a
    target keeps its ``=`` operator); any other formula gives its cached value."""
    f = sheet.formulas.get((r, c)) if sheet.formulas else None
    if f is not None and _CONSTANT.match(f.strip()):
        return ("=" if target else "") + f.strip()
    return sheet.cell(r, c)


def uncached_formula(sheet: Sheet, r: int, c: int) -> str | None:
    """The formula of a cell that has one but no cached value (``None`` otherwise)."""
    f = sheet.formulas.get((r, c)) if sheet.formulas else None
    if f is None or _CONSTANT.match(f.strip()) or sheet.cell(r, c) != "":
        return None
    return f


def _calamine_sheets(raw: bytes) -> list[Sheet]:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        meta = wb.sheets_metadata
    except Exception as exc:  # an untrusted file: any parser failure means unreadable
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise FormFileError(
                "工作簿已加密（设有打开密码），请取消密码后上传",
                "the workbook is encrypted (it has an open password): remove the password",
                "encrypted",
            ) from exc
        raise FormFileError(
            "无法读取工作簿（文件已损坏、不完整或不是 Excel 文件）",
            f"the workbook cannot be read (damaged, truncated or not an Excel file): "
            f"{str(exc)[:200]}",
            "xlsx",
        ) from exc
    if len(meta) > MAX_SHEETS:
        raise _too_many_sheets(len(meta))
    sheets: list[Sheet] = []
    cells = 0
    for m in meta:
        if _enum_name(m.visible) != "visible" or _enum_name(m.typ) != "worksheet":
            continue  # hidden sheets (lookup lists) and chart sheets
        try:
            sh = wb.get_sheet_by_name(m.name)
            height, width = sh.height, sh.width
            r0, c0 = sh.start or (0, 0)
            if r0 + height > MAX_ROWS:
                raise _too_many_rows(m.name)
            if c0 + width > MAX_COLUMNS:
                raise _too_many_columns(m.name)
            cells += height * width
            if cells > MAX_CELLS:
                raise FormFileError(
                    "工作簿的单元格过多",
                    f"the workbook has more than {MAX_CELLS} cells",
                    "too_large",
                    413,
                )
            data = sh.to_python(skip_empty_area=False)
            merged = list(sh.merged_cell_ranges or [])
        except FormFileError:
            raise
        except Exception as exc:
            raise FormFileError(
                f"无法读取工作表“{m.name}”",
                f"sheet {m.name!r} cannot be read: {str(exc)[:200]}",
                "xlsx",
            ) from exc
        # skip_empty_area=False: the grid starts at A1 whatever the used range
        sheets.append(Sheet(m.name, [list(row) for row in data], merged))
    return sheets


def _enum_name(value: Any) -> str:
    """``SheetVisibleEnum.Visible`` → ``visible``."""
    return str(value).rsplit(".", 1)[-1].lower()


# --- finding the blocks --------------------------------------------------------------------------

PROJECT_LABELS = ("项目名称", "部门名称", "单位名称", "部门(单位)名称", "预算单位名称")
DEPARTMENT_LABELS = ("主管部门", "主管部门及代码")
UNIT_LABELS = ("实施单位", "项目实施单位")
HEADER_L1 = ("一级指标",)
HEADER_L2 = ("二级指标",)
HEADER_L3 = ("三级指标", "指标名称")
HEADER_TARGET = ("年度指标值", "年度目标值", "目标值", "预期指标值", "计划值", "指标值")
HEADER_ACTUAL = ("实际完成值", "全年实际完成值", "实际值", "完成值", "全年完成值")
HEADER_POINTS = ("分值", "权重", "权重(分值)", "指标分值")
HEADER_SCORE = ("得分", "自评得分")
HEADER_REMARK = ("备注",)
TOTAL_LABELS = ("总分", "合计", "总计", "合计得分")
SIGNATURE_MARKS = ("填表人", "填报人", "负责人", "联系电话", "审核人", "填报日期", "填表日期")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
DASHES = frozenset({"—", "-", "--", "——", "/", "\\", "－", "无", "─"})


def _find(sheet: Sheet, labels: Sequence[str], rows: range) -> tuple[int, int] | None:
    wanted = set(labels)
    for r in rows:
        for c, _ in enumerate(sheet.rows[r] if r < len(sheet.rows) else ()):
            if sheet.text(r, c) in wanted:
                return r, c
    return None


def _right_value(sheet: Sheet, r: int, c: int, stop: set[str]) -> tuple[str | None, int]:
    """The first non-empty cell right of (r, c) that is not another label."""
    row = sheet.rows[r] if r < len(sheet.rows) else []
    for k in range(c + 1, len(row)):
        t = normalise(row[k]) if not isinstance(row[k], str) else row[k].strip()
        if t:
            if label(t) in stop:
                return None, k
            return t, k
    return None, -1


def _header_row(sheet: Sheet) -> int | None:
    """The indicator table's header row: it has 一级指标 (or 三级指标) and a target column."""
    for r in range(len(sheet.rows)):
        texts = set(sheet.labels(r))
        if texts & set(HEADER_L3) and texts & set(HEADER_POINTS) and texts & set(HEADER_L1):
            return r
    return None


def looks_national(sheets: Sequence[Sheet]) -> bool:
    """True when some sheet is a form in the national layout: an indicator table below a title
    or project block (the flat layout has its header on its first line)."""
    for sh in sheets:
        h = _header_row(sh)
        if h is None or h == 0:
            continue
        above = {sh.text(r, c) for r in range(h) for c in range(len(sh.rows[r]))}
        if above & {*PROJECT_LABELS, *DEPARTMENT_LABELS, *UNIT_LABELS} or any(
            "自评表" in t for t in above
        ):
            return True
    return False


def _columns(sheet: Sheet, h: int) -> tuple[dict[str, int], int]:
    """Columns of the indicator table by their header labels; the first data row."""
    cols: dict[str, int] = {}
    wanted = {
        "l1": HEADER_L1,
        "l2": HEADER_L2,
        "l3": HEADER_L3,
        "target": HEADER_TARGET,
        "actual": HEADER_ACTUAL,
        "points": HEADER_POINTS,
        "score": HEADER_SCORE,
        "remark": HEADER_REMARK,
    }

    def scan(r: int) -> None:
        for c, t in enumerate(sheet.labels(r)):
            if not t:
                continue
            if "偏差原因" in t:
                cols.setdefault("explanation", c)
                continue
            for key, names in wanted.items():
                if t in names and key not in cols:
                    # 指标值 alone over a pair of columns: the target half
                    cols[key] = c
                    break

    scan(h)
    first = h + 1
    # 指标值 merged over two columns, 年度指标值 / 实际完成值 in the row below
    sub = {t: c for c, t in enumerate(sheet.labels(h + 1))}
    sub_target = next((sub[n] for n in HEADER_TARGET if n in sub), None)
    sub_actual = next((sub[n] for n in HEADER_ACTUAL if n in sub), None)
    if sub_target is not None and sub_actual is not None:
        cols["target"], cols["actual"] = sub_target, sub_actual
        first = h + 2
    elif "target" in cols and "actual" not in cols:
        cols["actual"] = cols["target"] + 1
    return cols, first


def _number_cell(v: Any) -> float | str | None:
    """A funds cell: its number, ``None`` when empty or a dash, or the text when unreadable."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return float(v)
    t = normalise(v)
    if not t or t in DASHES:
        return None
    q = parse_quantity(t)
    if q is None or q.unit not in ("", "万元", "元", "%"):
        return t
    return q.value


def parse_sheet(sheet: Sheet) -> tuple[Form | None, list[FormProblem]]:
    """The form on ``sheet`` (``None`` when the sheet holds no indicator table) and its
    problems (each at its cell)."""
    problems: list[FormProblem] = []
    h = _header_row(sheet)
    if h is None:
        return None, []
    name = sheet.name
    form = Form(sheet=name)

    def problem(r: int, c: int, zh: str, en: str, type_: str) -> None:
        problems.append(FormProblem(name, cell_ref(name, r, c), f"{zh} / {en}", type_))

    top = range(0, h)
    stop = {*PROJECT_LABELS, *DEPARTMENT_LABELS, *UNIT_LABELS}
    # title and year: the rows above the project block
    for r in top:
        for v in sheet.rows[r]:
            t = normalise(v) if v != "" else ""
            if not t:
                continue
            if "自评表" in t and form.title == "项目支出绩效自评表":
                form.title = t
                if "部门整体" in t or "部门" in t[:6]:
                    form.layout = "department"
            m = _YEAR.search(t)
            if m and form.fiscal_year is None and not t.startswith(PROJECT_LABELS):
                form.fiscal_year = int(m.group(1))
                form.year_text = t
    for labels_, attr in (
        (PROJECT_LABELS, "project"),
        (DEPARTMENT_LABELS, "department"),
        (UNIT_LABELS, "unit"),
    ):
        at = _find(sheet, labels_, top)
        if at is not None:
            value, _ = _right_value(sheet, *at, stop)
            setattr(form, attr, value)
    # funds block
    fh = None
    for r in top:
        texts = {t: c for c, t in enumerate(sheet.labels(r)) if t}
        if "全年执行数" in texts and ("全年预算数" in texts or "年初预算数" in texts):
            fh = r
            form.funds_cols = {
                k: texts[n]
                for k, n in (
                    ("initial", "年初预算数"),
                    ("adjusted", "全年预算数"),
                    ("executed", "全年执行数"),
                    ("points", "分值"),
                    ("rate", "执行率"),
                    ("score", "得分"),
                )
                if n in texts
            }
            break
    if fh is not None:
        fc = form.funds_cols
        first_num = min(fc.values())
        for r in range(fh + 1, h):
            lead = [(c, t) for c, t in enumerate(sheet.labels(r)[:first_num]) if t]
            if any(t in ("年度总体目标", "绩效指标", "总体目标") or "目标" in t for _, t in lead):
                break
            values = {k: _number_cell(sheet.cell(r, c)) for k, c in fc.items()}
            if not lead and all(v is None for v in values.values()):
                continue
            lab = lead[-1][1] if lead else ""
            if "项目资金" in lab or "资金(万元)" in lab:
                lab = ""
            sub = lab.startswith("其中") or bool(form.funds and form.funds[-1].sub)
            lab = re.sub(r"^其中[:：]?", "", lab)
            line = FundsLine(label=lab or "年度资金总额", row=r, sub=sub)
            for k in ("initial", "adjusted", "executed", "points"):
                v = values.get(k)
                if isinstance(v, str):
                    problem(
                        r,
                        fc[k],
                        f"“{v}”不是金额；请填写数字（万元），没有时留空或填“—”",
                        f"{v!r} is not an amount: write a number (万元), or leave it empty",
                        "float_parsing",
                    )
                else:
                    setattr(line, k, v)
            form.funds.append(line)
        if not form.funds:
            problem(
                fh,
                fc.get("executed", 0),
                "资金块没有金额行（年度资金总额）",
                "the funds block has no amount line (年度资金总额)",
                "missing",
            )
    # overall goals
    exp = _find(sheet, ("预期目标",), top)
    act = _find(sheet, ("实际完成情况", "全年实际完成情况"), top)
    for at, attr in ((exp, "goal_expected"), (act, "goal_actual")):
        if at is None:
            continue
        below = sheet.cell(at[0] + 1, at[1])
        text = str(below).strip() if below != "" else None
        if not text:
            text, _ = _right_value(sheet, *at, {"实际完成情况", "预期目标"})
        setattr(form, attr, text)
    if form.layout == "project" and any(ln.label in ("基本支出", "项目支出") for ln in form.funds):
        form.layout = "department"
    # indicator table
    cols, first = _columns(sheet, h)
    form.cols = cols
    for key, zh in (
        ("l1", "一级指标"),
        ("l3", "三级指标"),
        ("points", "分值"),
        ("target", "年度指标值"),
    ):
        if key not in cols:
            problems.append(
                FormProblem(
                    name,
                    cell_ref(name, h, 0),
                    f"指标表缺少“{zh}”列 / the indicator table has no {zh} column",
                    "missing_column",
                )
            )
    if problems and any(p.type == "missing_column" for p in problems):
        return form, problems
    l1 = l2 = ""
    label_cols = [cols[k] for k in ("l1", "l2", "l3") if k in cols]
    r = first
    end = len(sheet.rows)
    while r < end:
        heads = sheet.labels(r)[: max(label_cols) + 1]
        if any(t in TOTAL_LABELS or t.startswith(("总分", "合计")) for t in heads if t):
            form.total_points = sheet.cell(r, cols["points"])
            r += 1
            break
        if any(any(m in t for m in SIGNATURE_MARKS) for t in sheet.labels(r) if t):
            break
        cell = sheet.cell
        a, b = normalise(cell(r, cols["l1"])), normalise(cell(r, cols.get("l2", -1)))
        nm = normalise(cell(r, cols["l3"]))
        target, actual, points = (
            cell_value(sheet, r, cols["target"], target=True),
            cell_value(sheet, r, cols["actual"]),
            cell_value(sheet, r, cols["points"]),
        )
        for key in ("target", "actual", "points"):
            f = uncached_formula(sheet, r, cols[key])
            if f is not None:
                problem(
                    r,
                    cols[key],
                    f"公式“={f}”没有计算结果（不计算公式）；请在 Excel 中重新计算并保存，"
                    "或直接填写数值",
                    f"the formula ={f} has no cached value (formulas are not evaluated): "
                    "recalculate and save in Excel, or write the value",
                    "formula",
                )
        if a:
            l1, l2 = a, ""
        if b:
            l2 = b
        if not nm and target == "" and actual == "" and points == "":
            r += 1
            continue
        if not l1:
            problem(
                r,
                cols["l1"],
                "一级指标为空（上方也没有可继承的一级指标）",
                "一级指标 is empty and there is none above to inherit",
                "missing",
            )
        if not nm:
            problem(
                r,
                cols["l3"],
                "三级指标名称为空",
                "the level-3 indicator (三级指标) has no name",
                "missing",
            )
        expl = cell(r, cols["explanation"]) if "explanation" in cols else ""
        remark = cell(r, cols["remark"]) if "remark" in cols else ""
        form.indicators.append(
            IndicatorLine(
                row=r,
                class_l1=l1,
                class_l2=l2,
                name=nm,
                target=target,
                actual=actual,
                points=points,
                explanation=str(expl).strip() or None if expl != "" else None,
                remark=str(remark).strip() or None if remark != "" else None,
            )
        )
        r += 1
    # signatures: the non-empty lines below the table
    for rr in range(r, end):
        words = [str(v).strip() for v in sheet.rows[rr] if v != "" and str(v).strip()]
        if words:
            form.signatures.append("    ".join(words))
    if not form.indicators:
        problems.append(
            FormProblem(
                name,
                cell_ref(name, h, cols["l3"]),
                "指标表没有指标行 / the indicator table has no rows",
                "missing",
            )
        )
    return form, problems


def parse_sheets(sheets: Sequence[Sheet]) -> tuple[list[Form], list[list[FormProblem]]]:
    """Every form of the sheets (one per sheet with an indicator table), with its problems."""
    forms: list[Form] = []
    problems: list[list[FormProblem]] = []
    for sh in sheets:
        form, probs = parse_sheet(sh)
        if form is None:
            continue
        forms.append(form)
        problems.append(probs)
    return forms, problems


MAX_SHEET_ROWS = 100_000  # any sheet, flat tables included (those stop at 20,000 lines)
HEAD_ROWS = 60  # rows looked at to tell the national layout from the flat one


def national_sheets(raw: bytes) -> list[Sheet] | None:
    """The sheets of ``raw`` when it is a form in the national layout, else ``None`` (a flat
    table, or a file the flat reader should judge). Only the first rows are looked at before
    deciding, so a large flat batch costs little; the sheets are then read in full (with the
    limits of :func:`read_sheets`)."""
    kind = sniff(raw)
    if kind == XLS:
        return read_sheets(raw)
    if kind == CSV:
        head = raw[: 64 * 1024]
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = head.decode("gb18030", errors="ignore")
        lines = text.splitlines()[:HEAD_ROWS]
        try:
            rows = [list(x) for x in csv.reader(lines)]
        except csv.Error:
            return None
        if not looks_national([Sheet("CSV", rows)]):
            return None
        return read_sheets(raw)
    _check_zip(raw)
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(raw))
        names = wb.sheet_names
        if len(names) > MAX_SHEETS:
            raise _too_many_sheets(len(names))
        heads = []
        for name in names[:5]:
            sh = wb.get_sheet_by_name(name)
            if sh.height > MAX_SHEET_ROWS:
                raise _too_many_rows(name)
            heads.append(Sheet(name, [list(r) for r in sh.to_python(nrows=HEAD_ROWS)]))
    except FormFileError:
        raise
    except Exception:
        return None  # the flat reader reports an unreadable workbook
    if not looks_national(heads):
        return None
    return read_sheets(raw)


def is_zip(raw: bytes) -> bool:
    return raw[:4] == b"PK\x03\x04"
