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


def import_path(path: Path, database_url: str | None = None) -> int:
    """Validate the catalogue at PATH and store it as published, in one transaction.

    Prints what was published; returns the exit code (1 when the source has problems). Used by
    ``catalog import`` and by ``serve --seed``. Every new version gets a ``version.publish``
    audit entry by the CLI operator (the service's import workflow). Identical content is a
    no-op, so a replica that loses the race with another one importing the same seed retries
    once and finds it stored.
    """
    from sqlalchemy.exc import IntegrityError

    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.catalogue.service import import_catalogue
    from indicator_service.catalogue.validation import load_catalogue
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings

    cat = load_catalogue(path)
    if cat.issues:
        for issue in cat.issues:
            print(str(issue), file=sys.stderr)
        print(f"not imported: {len(cat.issues)} problem(s)", file=sys.stderr)
        return 1
    settings = get_settings()
    if database_url is not None:
        settings = settings.model_copy(update={"database_url": database_url})
    engine = make_engine(settings)
    try:
        for attempt in (1, 2):
            try:
                with session_scope(engine) as session:  # one transaction: all or nothing
                    report = import_catalogue(session, cat, CLI_OPERATOR)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    print(f"imported: {len(report.created)} new version(s), {len(report.unchanged)} unchanged")
    return 0


def _import(args: argparse.Namespace) -> int:
    return import_path(args.path)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("catalog", help="the indicator catalogue (YAML source)")
    csub = p.add_subparsers(dest="catalog_command", required=True)
    v = csub.add_parser("validate", help="validate YAML files; prints file:line: message")
    v.add_argument("path", type=Path)
    v.set_defaults(func=_validate)
    i = csub.add_parser("import", help="validate and store every document as published")
    i.add_argument("path", type=Path)
    i.set_defaults(func=_import)
