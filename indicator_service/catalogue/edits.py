"""Fine-grained edits of a draft document (pure: no web or database imports).

Each function takes a draft's document (a plain dict in source format) and returns a new one
with one indicator, standard or node added, changed (JSON merge patch, RFC 7396: ``null``
removes a field) or retired; the caller validates the result as a whole and stores it. Errors
are :class:`EditError` with the location of the offending field.

Standards have no code of their own; their identity is :meth:`StandardDef.key`
(``indicator|type|region|fiscal_year|sector|project_type|valid_from``) and their id in the API
is :func:`standard_id`, the first 16 hex digits of that key's SHA-256.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from indicator_service.catalogue.source import IndicatorDef, NodeDef, StandardDef
from indicator_service.core.i18n import _, validation_message


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str
    type: str


class EditError(ValueError):
    """An edit that cannot apply: ``status`` 404 (unknown item), 409 (exists) or 422."""

    def __init__(self, status: int, message: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge patch."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check(model: type[Any], data: Mapping[str, Any], loc: tuple[str | int, ...]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise EditError(
            422,
            _("invalid {lower}", lower=model.__name__.removesuffix("Def").lower()),
            [
                FieldError((*loc, *e["loc"]), validation_message(e), e["type"])
                for e in exc.errors(include_url=False)
            ],
        ) from exc


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_defaults=True)
    return data


def standard_key(data: Mapping[str, Any]) -> str:
    """:meth:`StandardDef.key` of a stored (already valid) standard."""
    return StandardDef.model_validate(data).key()


def standard_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


# --- indicators ----------------------------------------------------------------------------------


def _indicator_index(doc: Mapping[str, Any], code: str) -> int:
    for i, ind in enumerate(doc.get("indicators", [])):
        if ind.get("code") == code:
            return i
    raise EditError(404, _("indicator {code} is not in this draft", code=code))


def find_indicator(doc: Mapping[str, Any], code: str) -> dict[str, Any]:
    return dict(doc["indicators"][_indicator_index(doc, code)])


def add_indicator(doc: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    ind = _check(IndicatorDef, body, ("body",))
    if any(i.get("code") == ind.code for i in doc.get("indicators", [])):
        raise EditError(
            409,
            _("indicator {code} already exists in this draft; change it with PATCH", code=ind.code),
            [FieldError(("body", "code"), _("already exists"), "duplicate")],
        )
    out = copy.deepcopy(dict(doc))
    out.setdefault("indicators", []).append(_dump(ind))
    return out


def patch_indicator(doc: Mapping[str, Any], code: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    i = _indicator_index(doc, code)
    if patch.get("code", code) != code:
        raise EditError(
            422,
            _("an indicator's code cannot change (retire it and add a new one)"),
            [FieldError(("body", "code"), _("must be {code!r}", code=code), "value_error")],
        )
    ind = _check(IndicatorDef, merge_patch(doc["indicators"][i], patch), ("body",))
    out = copy.deepcopy(dict(doc))
    out["indicators"][i] = _dump(ind)
    return out


def retire_indicator(doc: Mapping[str, Any], code: str) -> dict[str, Any]:
    """Remove the indicator and its standards from the draft (a removal: a major bump; the code
    is never reused)."""
    i = _indicator_index(doc, code)
    out = copy.deepcopy(dict(doc))
    del out["indicators"][i]
    out["standards"] = [s for s in out.get("standards", []) if s.get("indicator") != code]
    return out


# --- standards -----------------------------------------------------------------------------------


def _standard_index(doc: Mapping[str, Any], sid: str) -> int:
    for i, st in enumerate(doc.get("standards", [])):
        if standard_id(standard_key(st)) == sid:
            return i
    raise EditError(404, _("standard {sid} is not in this draft", sid=sid))


def find_standard(doc: Mapping[str, Any], sid: str) -> dict[str, Any]:
    return dict(doc["standards"][_standard_index(doc, sid)])


def _no_clash(doc: Mapping[str, Any], st: StandardDef, skip: int | None) -> None:
    key = st.key()
    for j, other in enumerate(doc.get("standards", [])):
        if j != skip and standard_key(other) == key:
            raise EditError(
                409,
                _(
                    "a standard with the identity {key} already exists (id {standard_id})",
                    key=key,
                    standard_id=standard_id(key),
                ),
                [FieldError(("body",), _("duplicate standard identity"), "duplicate")],
            )


def add_standard(doc: Mapping[str, Any], body: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    st = _check(StandardDef, body, ("body",))
    _no_clash(doc, st, None)
    out = copy.deepcopy(dict(doc))
    out.setdefault("standards", []).append(_dump(st))
    return out, standard_id(st.key())


def patch_standard(
    doc: Mapping[str, Any], sid: str, patch: Mapping[str, Any]
) -> tuple[dict[str, Any], str]:
    i = _standard_index(doc, sid)
    st = _check(StandardDef, merge_patch(doc["standards"][i], patch), ("body",))
    _no_clash(doc, st, i)
    out = copy.deepcopy(dict(doc))
    out["standards"][i] = _dump(st)
    return out, standard_id(st.key())


def retire_standard(doc: Mapping[str, Any], sid: str) -> dict[str, Any]:
    i = _standard_index(doc, sid)
    out = copy.deepcopy(dict(doc))
    del out["standards"][i]
    return out


# --- framework nodes -----------------------------------------------------------------------------


def _node_index(doc: Mapping[str, Any], code: str) -> int:
    for i, node in enumerate(doc.get("nodes", [])):
        if node.get("code") == code:
            return i
    raise EditError(404, _("node {code} is not in this draft", code=code))


def find_node(doc: Mapping[str, Any], code: str) -> dict[str, Any]:
    return dict(doc["nodes"][_node_index(doc, code)])


def add_node(doc: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    node = _check(NodeDef, body, ("body",))
    if any(n.get("code") == node.code for n in doc.get("nodes", [])):
        raise EditError(
            409,
            _("node {code} already exists in this draft; change it with PATCH", code=node.code),
            [FieldError(("body", "code"), _("already exists"), "duplicate")],
        )
    out = copy.deepcopy(dict(doc))
    out.setdefault("nodes", []).append(_dump(node))
    return out


def patch_node(doc: Mapping[str, Any], code: str, patch: Mapping[str, Any]) -> dict[str, Any]:
    i = _node_index(doc, code)
    if patch.get("code", code) != code:
        raise EditError(
            422,
            _("a node's code cannot change (retire it and add a new one)"),
            [FieldError(("body", "code"), _("must be {code!r}", code=code), "value_error")],
        )
    node = _check(NodeDef, merge_patch(doc["nodes"][i], patch), ("body",))
    out = copy.deepcopy(dict(doc))
    out["nodes"][i] = _dump(node)
    return out


def retire_node(doc: Mapping[str, Any], code: str) -> dict[str, Any]:
    """Remove a node; refused while other nodes hang below it (retire or move them first)."""
    i = _node_index(doc, code)
    children = [n["code"] for n in doc.get("nodes", []) if n.get("parent") == code]
    if children:
        raise EditError(
            409,
            _(
                "node {code} has children ({children}); retire or move them first",
                code=code,
                children=", ".join(children),
            ),
        )
    out = copy.deepcopy(dict(doc))
    del out["nodes"][i]
    return out
