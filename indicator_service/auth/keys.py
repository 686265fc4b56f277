"""API key format and hashing (pure: stdlib only).

A key reads ``isk_<prefix>_<secret>``: ``prefix`` is 12 lower-case hex characters, stored in
clear and used to find the key's row; ``secret`` is 43 URL-safe base64 characters (256 random
bits). Only ``HMAC-SHA256(server secret, whole key)`` is stored, so a copy of the database does
not reveal usable keys, and a stolen hash cannot be checked offline without the server secret.
Hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "isk"
PREFIX_LENGTH = 12
SECRET_BYTES = 32
_KEY_RE = re.compile(r"^isk_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class ParsedKey:
    prefix: str
    raw: str


def generate_key() -> ParsedKey:
    """A new random key (its prefix and the full text, shown once to its owner)."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return ParsedKey(prefix=prefix, raw=f"{KEY_PREFIX}_{prefix}_{secret}")


def parse_key(raw: str) -> ParsedKey | None:
    """The key's parts, or None when ``raw`` is not shaped like a key."""
    if len(raw) > MAX_KEY_LENGTH:
        return None
    match = _KEY_RE.match(raw)
    if match is None:
        return None
    return ParsedKey(prefix=match["prefix"], raw=raw)


def hash_key(raw: str, server_secret: str) -> str:
    """HMAC-SHA256 of the whole key with the server secret, as 64 hex characters."""
    return hmac.new(server_secret.encode("utf-8"), raw.encode("utf-8"), hashlib.sha256).hexdigest()


def hashes_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))
