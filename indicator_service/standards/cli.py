"""``indicator-service standards …``: derive standards from a CSV or JSON file, print JSON.

Files (``-`` reads standard input):

* series (``derive-historical``, ``progress``): CSV with a header ``year,value[,unit]``, or JSON —
  a list of ``{"year", "value", "unit"?}`` objects or an object with such a list under
  ``"series"``.
* peers (``derive-industry``): CSV with a header ``value[,unit][,label]``, or JSON — a list of
  numbers, a list of ``{"value", "unit"?, "label"?}`` objects, or an object with such a list
  under ``"values"``.

Refusals exit with status 2 and name the offending row/field on standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indicator_service.core.errors import BadRequest, ErrorItem, Unprocessable
from indicator_service.core.i18n import _
from indicator_service.core.readers import ReadError
from indicator_service.standards import derive, progress
from indicator_service.standards.resolve import DEFAULT_PRECEDENCE
from indicator_service.tables.rows import csv_rows, records


@dataclass(frozen=True, slots=True)
class Peer:
    value: float
    unit: str | None = None
    label: str | None = None


def _read_text(name: str) -> tuple[str, str]:
    if name == "-":
        return sys.stdin.read(), "-"
    path = Path(name)
    if not path.is_file():
        raise BadRequest(_("{name}: no such file", name=name))
    return path.read_text(encoding="utf-8-sig"), path.suffix.lower()


def _is_json(text: str, suffix: str) -> bool:
    return suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{"))


def _number(raw: Any, where: list[str | int]) -> float:
    if isinstance(raw, bool):
        raise BadRequest(
            _("not a number"),
            errors=[ErrorItem(loc=where, msg=_("not a number"), type="not_a_number")],
        )
    try:
        return float(raw)
    except (TypeError, ValueError):
        msg = _("not a number: {raw!r}", raw=raw)
        raise BadRequest(msg, errors=[ErrorItem(loc=where, msg=msg, type="not_a_number")]) from None


def _year(raw: Any, where: list[str | int]) -> int:
    if isinstance(raw, bool):
        raw = None
    try:
        value = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except (TypeError, ValueError):
        value = None
    if value is None:
        msg = _("not an integer year: {raw!r}", raw=raw)
        raise BadRequest(msg, errors=[ErrorItem(loc=where, msg=msg, type="not_a_year")])
    return value


def _unit(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def _rows(text: str, suffix: str, key: str) -> tuple[list[Any], str]:
    """Rows of a file as dicts (or bare numbers for JSON peers) and the location prefix."""
    if _is_json(text, suffix):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(_("invalid JSON: {exc}", exc=exc)) from None
        if isinstance(data, dict):
            if key not in data:
                raise BadRequest(_("JSON object without a {key!r} list", key=key))
            data = data[key]
        if not isinstance(data, list):
            raise BadRequest(_("expected a JSON list (or an object with a {key!r} list)", key=key))
        return data, key
    try:
        table = list(csv_rows(text))  # strict CSV within the limits of tables.limits
    except ReadError as exc:
        loc: list[str | int] = ["row", exc.line or 1]
        raise BadRequest(
            _("not readable as CSV: {message}", message=exc.message),
            errors=[ErrorItem(loc=loc, msg=exc.message, type="csv")],
        ) from None
    if not table:
        raise BadRequest(_("empty CSV file"))
    header = [f.strip().lower() for f in table[0]]
    # blank lines are skipped (as csv.DictReader skips them)
    return records(header, (r for r in table[1:] if r)), "row"


def read_series(name: str) -> list[derive.Point]:
    text, suffix = _read_text(name)
    rows, prefix = _rows(text, suffix, "series")
    points: list[derive.Point] = []
    for i, row in enumerate(rows):
        pos: str | int = i if prefix != "row" else i + 2  # CSV: line number (header = line 1)
        if not isinstance(row, dict) or "year" not in row or "value" not in row:
            msg = _("needs fields year and value")
            raise BadRequest(msg, errors=[ErrorItem(loc=[prefix, pos], msg=msg, type="missing")])
        points.append(
            derive.Point(
                _year(row["year"], [prefix, pos, "year"]),
                _number(row["value"], [prefix, pos, "value"]),
                _unit(row.get("unit")),
            )
        )
    return points


def read_peers(name: str) -> list[Peer]:
    text, suffix = _read_text(name)
    rows, prefix = _rows(text, suffix, "values")
    peers: list[Peer] = []
    for i, row in enumerate(rows):
        pos: str | int = i if prefix != "row" else i + 2
        if isinstance(row, dict):
            if "value" not in row:
                msg = _("needs a value field")
                raise BadRequest(
                    msg, errors=[ErrorItem(loc=[prefix, pos], msg=msg, type="missing")]
                )
            peers.append(
                Peer(
                    _number(row["value"], [prefix, pos, "value"]),
                    _unit(row.get("unit")),
                    _unit(row.get("label")),
                )
            )
        else:
            peers.append(Peer(_number(row, [prefix, pos])))
    return peers


def _refuse(exc: derive.DerivationError, source: str) -> Unprocessable:
    return Unprocessable(
        _("{source}: {msg}", source=source, msg=exc.msg),
        errors=[ErrorItem(loc=list(exc.loc), msg=exc.msg, type=exc.type)],
    )


def _floats(text: str, count: int, option: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        raise BadRequest(
            _("{option}: expected {count} comma-separated numbers", option=option, count=count)
        ) from None
    if len(values) != count:
        raise BadRequest(
            _("{option}: expected {count} comma-separated numbers", option=option, count=count)
        )
    return values


def _print(data: dict[str, Any]) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _historical(args: argparse.Namespace) -> int:
    points = read_series(args.file)
    try:
        result = derive.derive_historical(
            points,
            args.method,
            direction=args.direction,
            n=args.n,
            target_year=args.target_year,
            confidence=args.confidence,
            improve_pct=args.improve_pct,
            as_of=args.as_of,
            allow_gaps=args.allow_gaps,
        )
    except derive.DerivationError as exc:
        raise _refuse(exc, args.file) from None
    _print(result.to_dict())
    return 0


def _industry(args: argparse.Namespace) -> int:
    peers = read_peers(args.file)
    try:
        result = derive.derive_industry(
            [p.value for p in peers],
            units=[p.unit for p in peers],
            direction=args.direction,
            percentiles=_floats(args.percentiles, 5, "--percentiles"),
            min_sample=args.min_sample,
            k=args.k,
            winsorize=(
                tuple(_floats(args.winsorize, 2, "--winsorize"))  # type: ignore[arg-type]
                if args.winsorize
                else None
            ),
        )
    except derive.DerivationError as exc:
        raise _refuse(exc, args.file) from None
    out = result.to_dict()
    out["efficacy_rule"] = result.efficacy_rule() if result.levels_strictly_monotone else None
    _print(out)
    return 0


def _progress(args: argparse.Namespace) -> int:
    points = read_series(args.file)
    try:
        result = progress.progress(
            points,
            direction=args.direction,
            base_year=args.base_year,
            target_value=args.target_value,
            target_year=args.target_year,
            thresholds=progress.ProgressThresholds(
                on_track=args.on_track,
                acceleration=args.acceleration,
                growth_on_track=args.growth_on_track,
                growth_acceleration=args.growth_acceleration,
            ),
        )
    except derive.DerivationError as exc:
        raise _refuse(exc, args.file) from None
    _print(result.to_dict())
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from indicator_service.catalogue import service as catalogue
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings
    from indicator_service.standards.resolve import ResolutionError
    from indicator_service.standards.service import (
        catalogue_lookup,
        resolution_to_dict,
        resolve_standard_with_precedence,
    )

    precedence = [p.strip() for p in args.precedence.split(",") if p.strip()]
    engine = make_engine(get_settings())
    try:
        with session_scope(engine) as session:
            catalogue.get_indicator(session, args.indicator)  # NotFound → exit 2
            try:
                res = resolve_standard_with_precedence(
                    catalogue_lookup(session, sector=args.sector, project_type=args.project_type),
                    args.indicator,
                    region=args.region,
                    fiscal_year=args.fiscal_year,
                    precedence=precedence,
                    order=args.order,
                    fallback=not args.no_fallback,
                )
            except ResolutionError as exc:
                raise BadRequest(_("--{loc}: {msg}", loc=exc.loc[0], msg=exc.msg)) from None
            out = resolution_to_dict(res, args.indicator, args.fiscal_year)
    finally:
        engine.dispose()
    print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``standards derive-historical | derive-industry | progress``."""
    p = sub.add_parser("standards", help="derive historical/industry standards, measure progress")
    ssub = p.add_subparsers(dest="standards_command", required=True)
    directions = [d.value for d in derive.Direction]

    h = ssub.add_parser("derive-historical", help="historical standard from a year,value series")
    h.add_argument("file", help="CSV (year,value[,unit]) or JSON; - for stdin")
    h.add_argument("--method", required=True, choices=[m.value for m in derive.HistoricalMethod])
    h.add_argument("--direction", choices=directions, default="higher_better")
    h.add_argument("--n", type=int, default=3, help="window in years [3]")
    h.add_argument("--allow-gaps", action="store_true")
    h.add_argument("--as-of", type=int, help="use only years up to this one")
    h.add_argument("--target-year", type=int, help="trend: projection year")
    h.add_argument("--confidence", type=float, default=0.95, help="trend: slope interval [0.95]")
    h.add_argument("--improve-pct", type=float, help="improve_on_last: percent")
    h.set_defaults(func=_historical)

    i = ssub.add_parser("derive-industry", help="five-level industry standard from peer values")
    i.add_argument("file", help="CSV (value[,unit][,label]) or JSON; - for stdin")
    i.add_argument("--direction", choices=directions, default="higher_better")
    i.add_argument(
        "--percentiles",
        default=",".join(f"{p:g}" for p in derive.DEFAULT_PERCENTILES),
        help="goodness percentiles of 优秀,良好,平均,较低,较差 [95,75,50,25,5]",
    )
    i.add_argument("--min-sample", type=int, default=derive.DEFAULT_MIN_SAMPLE)
    i.add_argument("--k", type=float, default=1.0, help="mean ± k·sd [1]")
    i.add_argument("--winsorize", help="LOW,HIGH quantiles (fractions), e.g. 0.05,0.95")
    i.set_defaults(func=_industry)

    g = ssub.add_parser("progress", help="progress toward a target (Open SDG method)")
    g.add_argument("file", help="CSV (year,value[,unit]) or JSON; - for stdin")
    g.add_argument("--direction", choices=directions, default="higher_better")
    g.add_argument("--base-year", type=int)
    g.add_argument("--target-value", type=float)
    g.add_argument("--target-year", type=int)
    th = progress.ProgressThresholds()
    g.add_argument("--on-track", type=float, default=th.on_track)
    g.add_argument("--acceleration", type=float, default=th.acceleration)
    g.add_argument("--growth-on-track", type=float, default=th.growth_on_track)
    g.add_argument("--growth-acceleration", type=float, default=th.growth_acceleration)
    g.set_defaults(func=_progress)

    r = ssub.add_parser(
        "resolve", help="the standard the scoring uses (database catalogue), with candidates"
    )
    r.add_argument("indicator", help="indicator code, e.g. EDU-02-001")
    r.add_argument("--region", default="000000", help="GB/T 2260 code [000000]")
    r.add_argument("--fiscal-year", type=int)
    r.add_argument("--sector")
    r.add_argument("--project-type")
    r.add_argument("--precedence", default=",".join(DEFAULT_PRECEDENCE))
    r.add_argument("--order", choices=["type_first", "region_first"], default="type_first")
    r.add_argument("--no-fallback", action="store_true", help="search the given region only")
    r.set_defaults(func=_resolve)
