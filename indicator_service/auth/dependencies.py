"""FastAPI dependencies for authentication and authorisation.

- ``PrincipalDep``: any valid key (401 otherwise).
- ``ReaderDep``: reads of published catalogue data; ``None`` for an anonymous caller when
  ``INDICATOR_PUBLIC_READS`` is true, a key otherwise (a key that is sent must be valid).
- ``require_role(*roles)``: a dependency that also checks the role (403); admin passes every
  role check. Ready-made aliases: ``AdminDep``, ``CuratorDep``, ``ReviewerDep``,
  ``EvaluatorDep``, ``ScorerDep`` and ``AuditReaderDep``.
- ``ensure_scope(principal, namespace)``: 403 unless the key may act on the namespace; call it in
  the handler once the namespace is known.
- ``ensure_draft_reader(principal, namespace)``: 401/403 unless the caller may read (and score
  against) the namespace's drafts.
- ``ensure_region(principal, region)``: 403 unless a region-scoped key's scope covers the region
  (keys without a region scope pass).

Keys are read from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Authenticated
routes document the ``BearerApiKey`` security scheme in OpenAPI.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from indicator_service.auth.cache import KeyCache, RevocationCheck, key_cache
from indicator_service.auth.keys import hash_key
from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.auth.service import (
    AUTH_CHALLENGE,
    authenticate,
    invalid_key,
    revoked_since,
)
from indicator_service.auth.settings import auth_settings
from indicator_service.core.database import (
    SmallReads,
    read_rows,
    renew_in_background,
    session_scope,
)
from indicator_service.core.errors import ErrorItem, Forbidden, Problem, Unauthorized
from indicator_service.core.i18n import _, alternatives
from indicator_service.core.ratelimit import (
    CHARGED,
    Limiter,
    address_identity,
    key_identity,
    too_many_requests,
)
from indicator_service.rules.labels import named

AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": Problem,
        "description": "Missing, malformed, unknown or revoked API key",
        "content": {"application/problem+json": {}},
    },
    403: {
        "model": Problem,
        "description": "The key's role or namespace scope does not allow this",
        "content": {"application/problem+json": {}},
    },
}
"""OpenAPI responses to declare on every route that takes an authentication dependency."""


KEY_HASH = "api_key_hash"  # scope["state"] key: (key, its HMAC), computed once per request


def missing_key() -> Unauthorized:
    """The 401 for a request that sent no key where one is needed."""
    return _missing()


def _missing() -> Unauthorized:
    detail = _(
        "Authentication required: send an API key as "
        "'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
    )
    return Unauthorized(
        detail,
        errors=[ErrorItem(loc=["header", "Authorization"], msg=detail, type="missing_api_key")],
        headers={"WWW-Authenticate": AUTH_CHALLENGE},
        slug="missing-api-key",
    )


def _malformed(detail: str, header: str) -> Unauthorized:
    return Unauthorized(
        detail,
        errors=[ErrorItem(loc=["header", header], msg=detail, type="malformed_api_key")],
        headers={"WWW-Authenticate": f'{AUTH_CHALLENGE}, error="invalid_request"'},
        slug="invalid-api-key",
    )


def presented_key(request: Request) -> str | None:
    """The key sent with the request, None when none was sent; 401 when the headers are bad."""
    return key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key carried by the ``Authorization`` and ``X-API-Key`` header values (either, or both
    when they agree), None when neither was sent; 401 when they are malformed. ``Bearer`` is
    matched without regard to case and surrounding spaces are ignored, so ``bearer  K`` and
    ``X-API-Key: K`` are the same key ``K``."""
    bearer: str | None = None
    if authorization is not None:
        scheme, _space, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _malformed(
                _("The Authorization header must read 'Bearer <key>'"), "Authorization"
            )
        bearer = token.strip()
    if x_api_key is not None:
        x_api_key = x_api_key.strip()
        if not x_api_key:
            raise _malformed(_("The X-API-Key header is empty"), "X-API-Key")
    if bearer is not None and x_api_key is not None and bearer != x_api_key:
        raise _malformed(
            _("Authorization and X-API-Key carry different keys; send one"), "X-API-Key"
        )
    return bearer if bearer is not None else x_api_key


def _verify_sync(request: Request, raw: str, key_hash: str) -> Principal:
    with session_scope(request.app.state.engine) as session:
        return authenticate(session, raw, key_hash)


async def _check_revocations(request: Request, cache: KeyCache, interval: float) -> None:
    """Evict keys revoked (on any process) since this process last looked, when a look is due:
    the bound on how long a revoked key keeps working on another replica.

    From ``RENEW_AHEAD`` of the interval the first request starts the check in the background
    and goes on (``core.database.renew_in_background``). Past the whole interval no cached key
    is trusted before a check has completed: the request waits for the check under way in its
    event loop and, when that one failed or runs elsewhere, checks for itself (a failure is
    then its own: a 503)."""
    check = cache.claim_revocation_check(interval)
    if check is None:  # not due: every other request
        return
    state = request.app.state
    loop = asyncio.get_running_loop()
    waited = False
    while check is not None:
        if check.claimed:
            task = renew_in_background(
                _revocation_check(state.engine, state.small_reads, cache, check),
                "the check of revoked API keys",
            )
            cache.running = (loop, task)
            task.add_done_callback(partial(_check_ended, cache, check))
            if check.overdue:
                await asyncio.shield(task)
            return
        if not check.overdue:  # another request's check, ahead of the bound
            return
        running = cache.running
        if waited or running is None or running[0] is not loop or running[1].done():
            await _revocation_check(state.engine, state.small_reads, cache, check)
            return
        with contextlib.suppress(Exception):  # failed: this request checks for itself
            await asyncio.shield(running[1])
        waited = True
        check = cache.claim_revocation_check(interval)


async def _revocation_check(
    engine: Engine, small_reads: SmallReads | None, cache: KeyCache, check: RevocationCheck
) -> None:
    # one small query, read from the event loop on PostgreSQL (core.database.read_rows)
    rows = await read_rows(engine, small_reads, revoked_since(check.since))
    cache.revocation_check_done(check, [int(row[0]) for row in rows])


def _check_ended(cache: KeyCache, check: RevocationCheck, task: asyncio.Future[None]) -> None:
    """A claimed check's task has ended: release its claim if it did not complete (failed,
    or cancelled, even before its first step), and forget the task."""
    cache.revocation_check_done(check, None)
    if cache.running is not None and cache.running[1] is task:
        cache.running = None


async def _charge_key(request: Request, principal: Principal) -> None:
    """Count a request whose key was verified in the database against the key's bucket (the
    middleware counted it against the client address: see ``core.ratelimit``)."""
    limiter: Limiter | None = getattr(request.app.state, "rate_limiter", None)
    charged = request.scope.get("state", {}).get(CHARGED)
    if limiter is None or charged is None or principal.key_id is None:
        return
    caller = key_identity(principal.key_id)
    if charged == caller:
        return
    wait = await limiter.acquire(caller)
    if wait > 0.0:
        raise too_many_requests(wait)


async def verify_key(request: Request, raw: str) -> Principal:
    """The principal of ``raw``: from the key cache, or the database (401 if invalid)."""
    settings = auth_settings(request)
    cache = key_cache(request.app)
    hashed = request.scope.get("state", {}).get(KEY_HASH)  # by rate_limit_caller
    if hashed is not None and hashed[0] == raw:
        key_hash = hashed[1]
    else:
        key_hash = hash_key(raw, request.app.state.settings.secret_key)
    principal = cache.get(key_hash)
    if principal is not None:
        await _check_revocations(request, cache, settings.api_key_revocation_check_seconds)
        principal = cache.get(key_hash)
    if principal is None:
        refused = cache.refused(key_hash)
        if refused is not None:
            raise invalid_key(*refused)
        try:
            principal = await run_in_threadpool(_verify_sync, request, raw, key_hash)
        except Unauthorized as exc:
            type_ = exc.errors[0].type if exc.errors else ""
            if type_ in ("unknown_key", "revoked_key"):
                cache.refuse(key_hash, exc.detail, type_)
            raise
        cache.put(key_hash, principal, settings.api_key_cache_seconds)
        await _charge_key(request, principal)
    request.state.principal = principal
    return principal


def rate_limit_caller(scope: Scope) -> str:
    """The rate-limit bucket of a request (``RequestContextMiddleware(identify=...)``): its key's
    id when the key is in this process's key cache, else its client address. No database."""
    authorization = x_api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            x_api_key = value.decode("latin-1")
    if authorization is not None or x_api_key is not None:
        try:
            raw = key_from_headers(authorization, x_api_key)
        except Unauthorized:
            raw = None
        if raw is not None:
            app = scope["app"]
            key_hash = hash_key(raw, app.state.settings.secret_key)
            scope.setdefault("state", {})[KEY_HASH] = (raw, key_hash)
            principal = key_cache(app).get(key_hash)
            if principal is not None and principal.key_id is not None:
                return key_identity(principal.key_id)
    return address_identity(scope)


class ApiKeyAuth(SecurityBase):
    """The authentication dependency: a valid key, optionally with one of ``roles``.

    It is a FastAPI security scheme, so every route using it documents the ``BearerApiKey``
    scheme in OpenAPI, and it is one dependency (no sub-dependencies): it sits on every
    authenticated request's path.
    """

    def __init__(self, roles: Sequence[Role] = ()) -> None:
        self.model = HTTPBearerModel(
            bearerFormat="isk_<prefix>_<secret>",
            description="An API key (isk_…) as a bearer token: `Authorization: Bearer isk_…`. "
            "The same key is also accepted in the `X-API-Key` header.",
        )
        self.scheme_name = "BearerApiKey"
        self.roles = tuple(roles)
        self.__name__ = "require_" + "_or_".join(r.value for r in roles) if roles else "api_key"

    async def __call__(self, request: Request) -> Principal:
        raw = presented_key(request)
        if raw is None:
            raise _missing()
        principal = await verify_key(request, raw)
        if self.roles:
            ensure_role(principal, *self.roles)
        return principal


get_principal = ApiKeyAuth()
"""Any valid key."""


async def get_reader(request: Request) -> Principal | None:
    """Reads of published data: anonymous allowed when public reads are on."""
    raw = presented_key(request)
    if raw is None:
        if auth_settings(request).public_reads:
            return None
        raise _missing()
    return await verify_key(request, raw)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ReaderDep = Annotated[Principal | None, Depends(get_reader)]


def ensure_role(principal: Principal, *roles: Role) -> None:
    """403 unless the key has one of ``roles`` (admin always passes)."""
    if not principal.has_role(*roles):
        wanted = alternatives([named("role", r.value) for r in (*roles, Role.admin)])
        detail = _(
            "This operation needs the role {wanted}; the key {name!r} has the role {value}",
            wanted=wanted,
            name=principal.name,
            value=named("role", principal.role.value),
        )
        raise Forbidden(
            detail,
            errors=[
                ErrorItem(loc=["header", "Authorization"], msg=detail, type="insufficient_role")
            ],
            slug="insufficient-role",
        )


def ensure_scope(
    principal: Principal, namespace: str, *, loc: Sequence[str | int] = ("path", "namespace")
) -> None:
    """403 unless the key may act on ``namespace``."""
    if not principal.may_act_on(namespace):
        detail = _(
            "The key {name!r} may act on the namespaces {namespaces}; not on {namespace!r}",
            name=principal.name,
            namespaces=", ".join(principal.namespaces),
            namespace=namespace,
        )
        raise Forbidden(
            detail,
            errors=[ErrorItem(loc=list(loc), msg=detail, type="namespace_out_of_scope")],
            slug="namespace-out-of-scope",
        )


#: The namespace that owns every framework (``catalogue.router.FRAMEWORK_OWNER``).
FRAMEWORK_OWNER = "common"


def path_scope_check(value: Any, route: APIRoute, request: Request) -> None:
    """The refusal pre-flight's scope check (``core.problems``): 403 when ``value`` is the
    caller's principal and it may not act on the namespace of the path, as the handlers check it
    (a framework path: the frameworks' owner namespace; a ``{ns}`` path: that namespace)."""
    if not isinstance(value, Principal):
        return
    if route.path.startswith("/v1/frameworks/{code}"):
        ensure_scope(value, FRAMEWORK_OWNER, loc=("path", "code"))
    elif "{ns}" in route.path and isinstance(request.path_params.get("ns"), str):
        ensure_scope(value, request.path_params["ns"])


def ensure_draft_reader(reader: Principal | None, namespace: str) -> None:
    """Drafts are never public: a curator or reviewer of the namespace (or admin) reads them,
    and scores against them (a draft framework: ``namespace`` is :data:`FRAMEWORK_OWNER`)."""
    if reader is None:
        raise _missing()
    ensure_role(reader, Role.curator, Role.reviewer)
    ensure_scope(reader, namespace)


def ensure_region(
    principal: Principal, region: str, *, loc: Sequence[str | int] = ("body", "region")
) -> None:
    """403 unless the key may store data of ``region``: a key with region scopes only in the
    regions they cover; keys without a region scope (and admins) anywhere."""
    if not principal.regions or principal.role is Role.admin or principal.covers_region(region):
        return
    detail = _(
        "the key {name!r} is scoped to the regions {regions}; {region} is outside them",
        name=principal.name,
        regions=", ".join(principal.regions),
        region=region,
    )
    raise Forbidden(
        detail,
        errors=[ErrorItem(loc=list(loc), msg=detail, type="region_out_of_scope")],
        slug="region-out-of-scope",
    )


def require_role(*roles: Role) -> ApiKeyAuth:
    """A dependency: a valid key with one of ``roles`` (or admin)."""
    return ApiKeyAuth(roles)


AdminDep = Annotated[Principal, Depends(require_role(Role.admin))]
CuratorDep = Annotated[Principal, Depends(require_role(Role.curator))]
ReviewerDep = Annotated[Principal, Depends(require_role(Role.reviewer))]
CuratorOrReviewerDep = Annotated[Principal, Depends(require_role(Role.curator, Role.reviewer))]
EvaluatorDep = Annotated[Principal, Depends(require_role(Role.evaluator))]
ScorerDep = Annotated[Principal, Depends(require_role(Role.evaluator, Role.client))]
AuditReaderDep = Annotated[Principal, Depends(require_role(Role.reviewer, Role.curator))]
