"""``indicator-service catalog validate PATH`` and ``catalog import PATH``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _validate(args: argparse.Namespace) -> int:
    from indicator_service.catalogue.validation import load_catalogue

    cat = load_catalogue(args.path)
    for issue in cat.issues:
        print(str(issue))
    if cat.issues:
        print(f"{len(cat.issues)} problem(s)", file=sys.stderr)
        return 1
    n_ind = sum(len(ns.indicators) for _s, ns in cat.namespaces)
    n_std = sum(len(ns.standards) for _s, ns in cat.namespaces)
    print(
        f"ok: {len(cat.namespaces)} namespace(s), {n_ind} indicator(s), {n_std} standard(s), "
        f"{len(cat.frameworks)} framework(s)"
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    from indicator_service.catalogue.service import import_catalogue
    from indicator_service.catalogue.validation import load_catalogue
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings

    cat = load_catalogue(args.path)
    if cat.issues:
        for issue in cat.issues:
            print(str(issue), file=sys.stderr)
        print(f"not imported: {len(cat.issues)} problem(s)", file=sys.stderr)
        return 1
    engine = make_engine(get_settings())
    try:
        with session_scope(engine) as session:  # one transaction: all or nothing
            report = import_catalogue(session, cat)
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    print(f"imported: {len(report.created)} new version(s), {len(report.unchanged)} unchanged")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("catalog", help="the indicator catalogue (YAML source)")
    csub = p.add_subparsers(dest="catalog_command", required=True)
    v = csub.add_parser("validate", help="validate YAML files; prints file:line: message")
    v.add_argument("path", type=Path)
    v.set_defaults(func=_validate)
    i = csub.add_parser("import", help="validate and store every document as published")
    i.add_argument("path", type=Path)
    i.set_defaults(func=_import)
