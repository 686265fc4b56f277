"""``indicator-service score FILE [-o OUT] [--framework CODE] [--catalog PATH]`` and
``indicator-service template FRAMEWORK [-o OUT]``.

A file in the national layout (项目支出 / 部门整体支出绩效自评表, XLSX, XLS or CSV in UTF-8 or
GB18030; see docs/forms.md) is read by ``indicator_service.forms`` and written back in the same
layout (XLSX or PDF) with its scores. Any other file is read as follows.

Reads submissions as JSON (one submission, a list, or ``{"items": [...]}``), CSV or XLSX in the
layout of a self-evaluation form (level 1/2/3, operator, target, unit, actual, points; see
``csvform``), scores them against the database catalogue (or the YAML catalogue at
``--catalog``) and writes the result in the same family of formats: JSON receipts, or one line
per indicator with its score plus one line per submission with its total and grade.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from indicator_service.core.console import CommandError, progress
from indicator_service.core.errors import ErrorItem
from indicator_service.core.readers import ReadError
from indicator_service.scoring.csvform import OUT_COLUMNS, table_lines, table_records
from indicator_service.tables import rows as table_rows
from indicator_service.tables import writers


def read_table(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and records of a CSV (UTF-8) or XLSX file (first sheet), read by
    :mod:`indicator_service.tables.rows` within its limits, as the web upload reads them."""
    try:
        if path.suffix.lower() == ".xlsx":
            table = table_records(table_rows.xlsx_rows(path.read_bytes()))
        else:
            try:
                text = path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise CommandError(f"{path}: the CSV file is not UTF-8 ({exc})") from exc
            table = table_records(table_rows.csv_rows(text))
    except ReadError as exc:
        raise CommandError(f"{path}: {exc.message}") from exc
    if table is None:
        raise CommandError(f"{path}: the file is empty: expected a header line")
    return table


def read_submissions(path: Path, framework: str | None) -> tuple[list[str], list[Any]]:
    """Submission keys and ScoreRequest objects (or the problems of each invalid one)."""
    from pydantic import ValidationError

    from indicator_service.scoring.csvform import (
        TableError,
        records_to_submissions,
        validate_submissions,
    )
    from indicator_service.scoring.schemas import ScoreRequest

    suffix = path.suffix.lower()
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = data["items"] if isinstance(data, dict) and "items" in data else data
        raw = raw if isinstance(raw, list) else [raw]
        keys: list[str] = []
        items: list[Any] = []
        for i, item in enumerate(raw):
            if framework and isinstance(item, dict):
                item.setdefault("framework", framework)
            keys.append(str(i + 1))
            try:
                items.append(ScoreRequest.model_validate(item))
            except ValidationError as exc:
                items.append(
                    [
                        ErrorItem(loc=[i, *e["loc"]], msg=e["msg"], type=e["type"])
                        for e in exc.errors()
                    ]
                )
        return keys, items
    if suffix not in (".csv", ".xlsx"):
        raise CommandError(f"{path}: expected a .json, .csv, .xlsx or .xls file")
    header, records = read_table(path)
    try:
        keys, subs = records_to_submissions(header, records, default_framework=framework)
    except TableError as exc:
        raise CommandError(
            f"{path}: " + "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in exc.errors)
        ) from exc
    valid, errs = validate_submissions(keys, subs)
    return keys, [it if it is not None else er for it, er in zip(valid, errs, strict=True)]


@contextmanager
def _catalogue(catalog: Path | None) -> Iterator[Any]:
    from indicator_service.scoring.lookup import DatabaseCatalogue, DocumentCatalogue, allow_drafts

    if catalog is not None:
        from indicator_service.catalogue.validation import load_catalogue

        cat = load_catalogue(catalog)
        if cat.issues:
            raise CommandError(f"{catalog}: {len(cat.issues)} problem(s), e.g. {cat.issues[0]}")
        yield DocumentCatalogue([f for _, f in cat.frameworks], [n for _, n in cat.namespaces])
        return
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings

    engine = make_engine(get_settings())
    with session_scope(engine) as session:
        yield DatabaseCatalogue(session, drafts=allow_drafts)  # the operator


def score_national_file(
    path: Path, out: Path | None, framework: str | None, catalog: Path | None
) -> tuple[int, int] | None:
    """Score ``path`` when it holds forms in the national layout (``None`` otherwise): the
    scored forms are written in the same layout (``.xlsx``, ``.pdf``) or as receipts
    (``.json``); each problem is printed with its sheet and cell."""
    from indicator_service.forms import pipeline, writer
    from indicator_service.forms.reader import FormFileError, national_sheets

    if path.suffix.lower() not in (".xlsx", ".xls", ".csv"):
        return None
    try:
        sheets = national_sheets(path.read_bytes())
        if sheets is None:
            return None
        with _catalogue(catalog) as lookup:
            outcomes = pipeline.score_sheets(sheets, framework, lookup)
    except FormFileError as exc:
        raise CommandError(f"{path}: {exc.message}") from exc
    target = out or path.with_name(f"{path.stem}.scored.xlsx")
    suffix = target.suffix.lower()
    if suffix == ".json":
        payload = [
            {
                "sheet": o.form.sheet,
                "ok": o.ok,
                "result": o.receipt.model_dump(mode="json") if o.receipt else None,
                "problems": [{"cell": p.where, "msg": p.msg, "type": p.type} for p in o.problems],
            }
            for o in outcomes
        ]
        target.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", "utf-8")
    elif suffix == ".pdf":
        from indicator_service.forms.pdf import NoCJKFont, render_pdf

        try:
            target.write_bytes(render_pdf(writer.layouts_of(outcomes)))
        except NoCJKFont as exc:
            raise CommandError(str(exc)) from exc
    elif suffix == ".xlsx":
        target.write_bytes(writer.render_xlsx(writer.layouts_of(outcomes)))
    else:
        raise CommandError(f"{target}: a form is written as .xlsx, .pdf or .json")
    failed = 0
    for o in outcomes:
        if o.ok and o.receipt is not None:
            grade = o.receipt.grade.grade if o.receipt.grade else "-"
            print(f"{o.form.sheet}: {o.form.project or ''} {o.receipt.total} {grade}")
        else:
            failed += 1
            for p in o.problems:
                print(f"{p.where}: {p.msg}", file=sys.stderr)
    print(f"{len(outcomes) - failed} scored, {failed} failed → {target}")
    return len(outcomes) - failed, failed


def score_file(
    path: Path, out: Path | None, framework: str | None, catalog: Path | None, chunk: int = 500
) -> tuple[int, int]:
    """Score every submission of ``path``; returns (scored, failed)."""
    from indicator_service.scoring.batch import score_batch

    national = score_national_file(path, out, framework, catalog)
    if national is not None:
        return national
    keys, items = read_submissions(path, framework)
    results: list[Any] = []
    show = len(items) >= 20 or sum(len(getattr(i, "rows", [])) for i in items) >= 1000
    with _catalogue(catalog) as lookup:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            batch = score_batch(part, lookup, detail=True)
            results.extend(batch.items)
            if show:
                progress(min(start + chunk, len(items)), len(items))
    failed = sum(1 for r in results if not r.ok)
    target = out or path.with_name(f"{path.stem}.scored{path.suffix}")
    suffix = target.suffix.lower()
    if suffix == ".json":
        payload = [
            {
                "submission": k,
                "ok": r.ok,
                "result": r.result.model_dump(mode="json") if r.result else None,
                "errors": [e.model_dump() for e in r.errors],
            }
            for k, r in zip(keys, results, strict=True)
        ]
        target.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", "utf-8")
    else:
        lines = list(table_lines(keys, items, results))
        if suffix == ".xlsx":
            cells = ([line.get(c) for c in OUT_COLUMNS] for line in lines)
            target.write_bytes(writers.xlsx_bytes("scores", OUT_COLUMNS, cells))
        else:
            with target.open("w", encoding="utf-8", newline="") as fh:
                w = csv.DictWriter(fh, OUT_COLUMNS)
                w.writeheader()
                # text a spreadsheet would read as a formula is neutralised ('=…)
                w.writerows({k: writers.csv_cell(v) for k, v in ln.items()} for ln in lines)
    print(f"{len(results) - failed} scored, {failed} failed → {target}")
    return len(results) - failed, failed


def _run(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise CommandError(f"{args.file}: no such file")
    _, failed = score_file(args.file, args.output, args.framework, args.catalog)
    return 1 if failed else 0


def _template(args: argparse.Namespace) -> int:
    from indicator_service.core.errors import NotFound
    from indicator_service.forms.template import template_form
    from indicator_service.forms.writer import layout, render_xlsx

    try:
        with _catalogue(args.catalog) as lookup:
            fw = lookup.framework(args.framework, args.version)
    except NotFound as exc:
        raise CommandError(exc.detail) from exc
    form = template_form(fw.doc)
    target: Path = args.output or Path(f"template-{fw.code}-{fw.version}.xlsx")
    grid = [(form.sheet, layout(form))]
    if target.suffix.lower() == ".pdf":
        from indicator_service.forms.pdf import NoCJKFont, render_pdf

        try:
            target.write_bytes(render_pdf(grid))
        except NoCJKFont as exc:
            raise CommandError(str(exc)) from exc
    else:
        target.write_bytes(render_xlsx(grid))
    print(f"{fw.code} {fw.version} → {target}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    t = sub.add_parser(
        "template",
        help="write a blank self-evaluation form (national layout) for a framework",
    )
    t.add_argument("framework", help="framework code, e.g. SELF-EVAL")
    t.add_argument("-o", "--output", type=Path, default=None, help=".xlsx (default) or .pdf")
    t.add_argument("--version", default=None, help="framework version (default: latest)")
    t.add_argument(
        "--catalog", type=Path, default=None, help="read this YAML catalogue, not the database"
    )
    t.set_defaults(func=_template)
    p = sub.add_parser(
        "score",
        help="score submissions from a JSON, CSV or XLSX self-evaluation form",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        help="output file (.json, .csv or .xlsx; default FILE.scored.EXT); a form in the "
        "national layout: .xlsx (default FILE.scored.xlsx), .pdf or .json",
    )
    p.add_argument("--framework", default=None, help="framework code when the file gives none")
    p.add_argument(
        "--catalog",
        type=Path,
        default=None,
        help="score against this YAML catalogue instead of the database",
    )
    p.set_defaults(func=_run)
