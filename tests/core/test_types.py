"""Shared request field types."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from indicator_service.core.types import INTEGRAL

Year = TypeAdapter(Annotated[int, Field(strict=True, ge=1990, le=2100), INTEGRAL])


def test_integral_float_is_an_integer() -> None:
    value = Year.validate_python(2024.0)
    assert value == 2024
    assert type(value) is int
    assert Year.validate_json(b"2024.0") == 2024


@pytest.mark.parametrize("bad", [True, "2024", 2024.5, float("nan"), 1989, 2101.0])
def test_non_integers_bools_strings_and_out_of_range_are_rejected(bad: object) -> None:
    with pytest.raises(ValidationError):
        Year.validate_python(bad)


def test_schema_stays_integer_with_bounds() -> None:
    assert Year.json_schema() == {"type": "integer", "minimum": 1990, "maximum": 2100}


# Every character that ECMAScript's \s or Unicode's White_Space (Rust regex, Python re) counts.
SPACES = "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@pytest.mark.parametrize("space", list(SPACES))
def test_blank_text_is_refused_whatever_the_regex_dialect(space: str) -> None:
    """The server (pydantic, Rust regex) and the OpenAPI pattern (read by clients as ECMAScript,
    by fuzzers as Python re) agree: text made of any white space is blank (a fuzzer sent
    U+0085, valid for ECMAScript's \\S, which the server refused as \\s)."""
    import re

    from pydantic import ValidationError

    from indicator_service.catalogue.schemas import ReturnIn
    from indicator_service.core.types import NOT_BLANK_PATTERN

    with pytest.raises(ValidationError):
        ReturnIn(comment=space * 3)
    assert re.search(NOT_BLANK_PATTERN, space * 3) is None
    assert ReturnIn(comment=f"{space}fix the unit{space}").comment.strip(SPACES) == "fix the unit"


def test_key_names_need_a_visible_character() -> None:
    import re

    from pydantic import ValidationError

    from indicator_service.auth.schemas import NAME_PATTERN, UnscopedKeyCreate

    for blank in ("\ufeff", "\u3000 ", "\u0085"):
        assert re.match(NAME_PATTERN, blank) is None
        with pytest.raises(ValidationError):
            UnscopedKeyCreate.model_validate({"name": blank, "role": "client"})
    assert re.match(NAME_PATTERN, "财政局 key") is not None
    assert UnscopedKeyCreate.model_validate({"name": "财政局 key", "role": "client"}).name
