"""Request field types shared by every package's schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BeforeValidator


def _integral_number(value: Any) -> Any:
    """JSON has one number type: ``2024.0`` is the integer 2024 (JSON Schema says so too).

    Booleans and strings stay as they are, so that strict validation still rejects them.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral_number)
"""Put last in a strict integer field: ``Annotated[int, Field(strict=True, ge=1), INTEGRAL]``.

The field stays strict (no ``true``, no ``"3"``) but accepts ``3.0`` as 3. It must come after
the ``Field`` so that the bounds still appear as ``minimum``/``maximum`` in the JSON Schema.
"""

# White space as both regex dialects that read our patterns count it: ECMAScript's ``\s`` (the
# OpenAPI document's clients and fuzzers) includes U+FEFF but not U+0085; the Rust ``regex``
# crate behind pydantic includes U+0085 but not U+FEFF. Patterns spell the union out instead of
# ``\s`` so that the document and the server accept exactly the same strings.
WHITESPACE_CLASS = r"\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK_PATTERN = rf"[^{WHITESPACE_CLASS}]"
"""Unanchored: the text has at least one character that is not white space."""
