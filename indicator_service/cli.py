"""The ``indicator-service`` console script.

Sub-commands are registered from one list (``REGISTRARS``); each registrar adds its parser and
sets ``func(args) -> int``. Failures (``core.console.CommandError`` and the errors
``core.console.report`` knows) print a clear message on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from indicator_service import __version__
from indicator_service.core.console import CommandError, report
from indicator_service.core.i18n import environment_language, language

__all__ = [
    "CommandError",
    "build_parser",
    "listening_socket",
    "main",
    "render_openapi",
    "uvicorn_options",
]

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


# --- serve -----------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from indicator_service.app import startup_settings
    from indicator_service.core.database import upgrade
    from indicator_service.core.settings import get_settings

    settings = startup_settings(get_settings)
    if args.migrate or settings.migrate_on_start:
        upgrade(settings.database_url)
    seed = args.seed or settings.seed_path
    if seed is not None:
        from indicator_service.catalogue.cli import import_path

        if (code := import_path(seed, settings.database_url)) != 0:
            raise CommandError(f"seed catalogue {seed} was not imported", code)
    options = uvicorn_options(args.host, args.port, args.workers)
    if args.workers <= 1:
        uvicorn.run("indicator_service.app:app_from_env", **options)
        return 0
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("indicator_service.app:app_from_env", **options)
    Multiprocess(config, sockets=[listening_socket(config)]).run()
    return 0


def uvicorn_options(host: str, port: int, workers: int = 1) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (an app factory, no access log: the request log is the
    service's own, ``X-Forwarded-*`` from the proxy in front), for benchmarks that start another
    app factory the same way."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
    }


def listening_socket(config: Any) -> socket.socket:
    """The socket the workers share, with ``TCP_NODELAY`` (accepted connections inherit it).

    uvicorn binds it with protocol number 0, and asyncio only sets ``TCP_NODELAY`` on accepted
    sockets whose protocol is ``IPPROTO_TCP``: without this, a response written in two parts
    waits for the client's delayed ACK (Nagle) and every keep-alive request with ``--workers 2``
    took ~44 ms instead of < 1 ms (docs/performance.md).
    """
    sock: socket.socket = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _register_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the HTTP service (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--migrate", action="store_true", help="apply migrations before serving")
    p.add_argument(
        "--seed",
        type=Path,
        metavar="PATH",
        help="import the catalogue at PATH before serving (default INDICATOR_SEED_PATH)",
    )
    p.set_defaults(func=_serve)


# --- db --------------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    from indicator_service.core.database import upgrade
    from indicator_service.core.settings import get_settings

    settings = get_settings()
    upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}: {_safe_url(settings.database_url)}")
    return 0


def _db_current(_args: argparse.Namespace) -> int:
    from indicator_service.core.database import current_revisions, head_revisions, make_engine
    from indicator_service.core.settings import get_settings

    engine = make_engine(get_settings())
    current, heads = current_revisions(engine), head_revisions()
    print(f"current: {', '.join(sorted(current)) or 'none'}; head: {', '.join(sorted(heads))}")
    return 0 if current == heads else 3


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_db(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database schema (Alembic migrations)")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=_db_upgrade)
    cur = dbsub.add_parser("current", help="show the applied revision (exit 3 if not at head)")
    cur.set_defaults(func=_db_current)


# --- openapi ---------------------------------------------------------------------------------

OPENAPI_PATH = Path("openapi/openapi.json")


def render_openapi() -> str:
    from indicator_service.app import create_app
    from indicator_service.core.settings import Settings

    app = create_app(Settings(database_url="sqlite://", log_json=False))
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def _openapi(args: argparse.Namespace) -> int:
    text = render_openapi()
    target: Path = args.output
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            raise CommandError(f"{target} is out of date: run `indicator-service openapi`")
        print(f"{target} is up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def _register_openapi(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("openapi", help="write the OpenAPI document generated from the app")
    p.add_argument("--output", type=Path, default=OPENAPI_PATH)
    p.add_argument("--check", action="store_true", help="fail if the file differs")
    p.set_defaults(func=_openapi)


def _register_composite(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from indicator_service.composite.cli import add_parser

    add_parser(sub)


def _register_standards(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from indicator_service.standards.cli import register

    register(sub)


def _register_catalog(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from indicator_service.catalogue.cli import register

    register(sub)


def _register_score(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from indicator_service.scoring.cli import register

    register(sub)


def _register_keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from indicator_service.auth.cli import register

    register(sub)


REGISTRARS: list[Registrar] = [
    _register_serve,
    _register_db,
    _register_openapi,
    _register_composite,
    _register_standards,
    _register_catalog,
    _register_score,
    _register_keys,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="indicator-service",
        description="Budget performance indicator catalogue, standards and scoring.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with language(environment_language(os.environ)):  # messages in the terminal's language
        try:
            code: int = args.func(args)
        except KeyboardInterrupt:
            return 130
        except Exception as exc:  # a clear one-line message instead of a traceback
            reported = report(exc)
            if reported is None:
                raise
            return reported
    return code


if __name__ == "__main__":
    sys.exit(main())
