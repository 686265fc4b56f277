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
