"""``indicator-service keys create|list|revoke``: key management from the command line.

The first admin key is created here (``keys create --role admin --name …``); actions are
recorded in the audit trail with the actor ``cli``.
"""

from __future__ import annotations

import argparse
import json

from pydantic import ValidationError

from indicator_service.auth.models import Role
from indicator_service.core.console import CommandError
from indicator_service.core.i18n import _
from indicator_service.rules.labels import named


def _fail(message: str) -> Exception:
    return CommandError(message, code=2)


def _create(args: argparse.Namespace) -> int:
    from indicator_service.auth import service
    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.auth.schemas import API_KEY_CREATE, ApiKeyOut, regions_of
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings

    if args.role in (Role.curator.value, Role.reviewer.value) and not args.namespace:
        raise _fail(
            _(
                "a {role} key needs at least one --namespace (or --namespace '*')",
                role=named("role", args.role),
            )
        )
    fields = {"name": args.name, "role": args.role, "namespaces": args.namespace}
    if args.region:
        if args.role != Role.evaluator.value:
            raise _fail(
                _(
                    "--region applies to evaluator keys only, not to a {role} key",
                    role=named("role", args.role),
                )
            )
        fields["regions"] = args.region
    try:
        body = API_KEY_CREATE.validate_python(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'key'}: {e['msg']}" for e in exc.errors()
        )
        raise _fail(_("invalid key: {problems}", problems=problems)) from None
    settings = get_settings()
    engine = make_engine(settings)
    try:
        with session_scope(engine) as session:
            row, raw = service.create_key(
                session,
                name=body.name,
                role=body.role,
                namespaces=body.namespaces,
                regions=regions_of(body),
                server_secret=settings.secret_key,
                actor=CLI_OPERATOR,
            )
            out = ApiKeyOut.model_validate(row, from_attributes=True)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({**out.model_dump(mode="json"), "key": raw}, ensure_ascii=False))
    else:
        regions = f", regions {','.join(out.regions)}" if out.regions else ""
        print(
            f"created key {out.id} ({out.role.value}, namespaces {','.join(out.namespaces)}"
            f"{regions}) for {out.name!r}"
        )
        print(f"key: {raw}")
        print("Store it now: it is shown only once.")
    return 0


def _list(args: argparse.Namespace) -> int:
    from indicator_service.auth import service
    from indicator_service.auth.schemas import ApiKeyOut
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.settings import get_settings

    engine = make_engine(get_settings())
    try:
        with session_scope(engine) as session:
            rows, _total = service.list_keys(session, include_revoked=not args.active, limit=10_000)
            keys = [ApiKeyOut.model_validate(r, from_attributes=True) for r in rows]
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([k.model_dump(mode="json") for k in keys], ensure_ascii=False))
        return 0
    print(
        f"{'id':>5}  {'prefix':12}  {'role':9}  {'status':8}  {'namespaces':20}  "
        f"{'regions':13}  name"
    )
    for k in keys:
        status = "revoked" if k.revoked_at else "active"
        print(
            f"{k.id:>5}  {k.prefix:12}  {k.role.value:9}  {status:8}  "
            f"{','.join(k.namespaces):20}  {','.join(k.regions) or '-':13}  {k.name}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from indicator_service.auth import service
    from indicator_service.auth.principal import CLI_OPERATOR
    from indicator_service.core.database import make_engine, session_scope
    from indicator_service.core.errors import NotFound
    from indicator_service.core.settings import get_settings

    engine = make_engine(get_settings())
    try:
        with session_scope(engine) as session:
            row = service.revoke_key(session, args.id, actor=CLI_OPERATOR, comment=args.comment)
            revoked_at = row.revoked_at
    except NotFound:
        raise _fail(_("no API key with id {id}", id=args.id)) from None
    finally:
        engine.dispose()
    print(f"key {args.id} revoked at {revoked_at}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="API keys: create, list, revoke")
    keys = p.add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--namespace",
        action="append",
        default=None,
        help="a namespace the key may act on (repeat; '*' for all; required for curator and "
        "reviewer)",
    )
    create.add_argument(
        "--region",
        action="append",
        default=None,
        help="evaluator keys: a region (GB/T 2260 code) whose stored evaluations the key may "
        "read besides its own (repeat; 330000 covers 330100 and 330102; 000000 every region)",
    )
    create.add_argument("--name", required=True, help="who holds the key")
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(func=_create)
    lst = keys.add_parser("list", help="list keys (never their secrets)")
    lst.add_argument("--active", action="store_true", help="only keys not revoked")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=_list)
    revoke = keys.add_parser("revoke", help="revoke a key (idempotent)")
    revoke.add_argument("id", type=int)
    revoke.add_argument("--comment", default=None, help="why (kept in the audit trail)")
    revoke.set_defaults(func=_revoke)
