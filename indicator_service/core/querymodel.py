"""Query models read in one call, for hot read routes.

FastAPI reads a query model (``Annotated[Model, Query()]``) field by field and looks at each
field's annotation again on every request (is it a sequence?): for the indicator search's 11
fields that was about a tenth of the request's time in the app (docs/performance.md). A handler
that wants one call takes the :class:`~starlette.requests.Request`, declares the parameters in
OpenAPI with :func:`indicator_service.core.openapi.typed_query` and calls :func:`query_model`.

The answers are those of FastAPI's query model: the last value of a repeated parameter (every
value for a list field), parameters the model does not name ignored, the same
``RequestValidationError`` (hence the same problem documents, each error located at
``["query", field]``). Tested side by side with FastAPI's query model in
``tests/core/test_querymodel.py``.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
_SEQUENCES = (list, set, frozenset, tuple)


def _is_sequence(annotation: Any) -> bool:
    """A list, set or tuple, optional or not (what FastAPI reads with ``getlist``)."""
    if get_origin(annotation) in _SEQUENCES or annotation in _SEQUENCES:
        return True
    return any(_is_sequence(arg) for arg in get_args(annotation) if arg is not type(None))


@cache
def _fields(model: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """Each field's query name and whether it takes every value of a repeated parameter."""
    return tuple(
        (field.alias or name, _is_sequence(field.annotation))
        for name, field in model.model_fields.items()
    )


def query_model(request: Request, model: type[M]) -> M:
    """The request's query string as ``model``."""
    params = request.query_params
    data: dict[str, Any] = {}
    for name, many in _fields(model):
        if many:
            values = params.getlist(name)
            if values:
                data[name] = values
        elif (value := params.get(name)) is not None:
            data[name] = value
    if model.model_config.get("extra") in ("allow", "forbid"):  # the others, for the model
        known = {name for name, _ in _fields(model)}
        for key in dict.fromkeys(params.keys()):
            if key not in known:
                values = params.getlist(key)
                data[key] = values[0] if len(values) == 1 else values
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
