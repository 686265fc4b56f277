"""Key format, hashing and the verified-key cache (pure)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from indicator_service.auth.cache import KeyCache
from indicator_service.auth.keys import generate_key, hash_key, hashes_equal, parse_key
from indicator_service.auth.models import Role
from indicator_service.auth.principal import Principal
from indicator_service.auth.schemas import normalise_namespaces


def test_generated_key_has_the_documented_shape() -> None:
    key = generate_key()
    parts = key.raw.split("_", 2)
    assert parts[0] == "isk"
    assert parts[1] == key.prefix
    assert len(key.prefix) == 12
    assert int(key.prefix, 16) >= 0
    assert len(parts[2]) == 43
    assert parse_key(key.raw) == key


def test_generated_keys_differ() -> None:
    assert len({generate_key().raw for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "isk_",
        "isk_0123456789ab",
        "isk_0123456789ab_short",
        "isk_0123456789AB_" + "a" * 43,  # upper-case prefix
        "isk_0123456789a_" + "a" * 44,  # prefix too short
        "xsk_0123456789ab_" + "a" * 43,
        "isk_0123456789ab_" + "a" * 42 + "=",  # padding is not part of the alphabet
        "isk_0123456789ab_" + "a" * 44,
        "isk_0123456789ab_" + "a" * 42 + "\x00",
        " isk_0123456789ab_" + "a" * 43,
    ],
)
def test_malformed_keys_are_rejected(raw: str) -> None:
    assert parse_key(raw) is None


def test_key_with_underscores_in_secret_parses() -> None:
    raw = "isk_0123456789ab_" + "_-" * 21 + "a"
    parsed = parse_key(raw)
    assert parsed is not None
    assert parsed.prefix == "0123456789ab"


def test_hash_is_hmac_sha256_with_the_server_secret() -> None:
    raw = "isk_0123456789ab_" + "a" * 43
    expected = hmac.new(b"server-secret", raw.encode(), hashlib.sha256).hexdigest()
    assert hash_key(raw, "server-secret") == expected
    assert hash_key(raw, "another-secret") != expected
    assert len(expected) == 64
    assert raw not in expected
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    assert hash_key("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_hashes_equal() -> None:
    assert hashes_equal("ab" * 32, "ab" * 32)
    assert not hashes_equal("ab" * 32, "ac" * 32)


def _principal(key_id: int) -> Principal:
    return Principal(key_id=key_id, name="k", role=Role.client, namespaces=("*",))


def test_cache_expires_after_ttl() -> None:
    now = [1000.0]
    cache = KeyCache(clock=lambda: now[0])
    cache.put("h1", _principal(1), 30)
    now[0] = 1029.9
    assert cache.get("h1") == _principal(1)
    now[0] = 1030.0
    assert cache.get("h1") is None
    assert len(cache) == 0


def test_cache_ttl_zero_disables_and_eviction_by_key_id() -> None:
    cache = KeyCache()
    cache.put("h0", _principal(1), 0)
    assert cache.get("h0") is None
    cache.put("h1", _principal(1), 30)
    cache.put("h2", _principal(2), 30)
    cache.evict_key(1)
    assert cache.get("h1") is None
    assert cache.get("h2") == _principal(2)


def test_cache_is_bounded() -> None:
    cache = KeyCache(max_entries=3)
    for i in range(4):
        cache.put(f"h{i}", _principal(i), 30)
    assert len(cache) <= 3
    assert cache.get("h3") == _principal(3)


@pytest.mark.parametrize(
    ("role", "given", "expected"),
    [
        (Role.admin, ["health"], ["*"]),
        (Role.curator, ["health", "education", "health"], ["education", "health"]),
        (Role.reviewer, ["health", "*"], ["*"]),
        (Role.evaluator, None, ["*"]),
        (Role.client, [], ["*"]),
    ],
)
def test_namespace_scopes_are_normalised(
    role: Role, given: list[str] | None, expected: list[str]
) -> None:
    assert normalise_namespaces(role, given) == expected


@pytest.mark.parametrize("role", [Role.curator, Role.reviewer])
def test_scoped_roles_need_namespaces(role: Role) -> None:
    with pytest.raises(ValueError, match="at least one namespace"):
        normalise_namespaces(role, None)


def test_principal_scope_and_roles() -> None:
    curator = Principal(key_id=1, name="c", role=Role.curator, namespaces=("health",))
    assert curator.may_act_on("health")
    assert not curator.may_act_on("education")
    assert curator.has_role(Role.curator, Role.reviewer)
    assert not curator.has_role(Role.reviewer)
    admin = Principal(key_id=2, name="a", role=Role.admin, namespaces=())
    assert admin.may_act_on("anything")
    assert admin.has_role(Role.reviewer)
