"""Reading untrusted documents (uploads and request bodies): every parser failure turned into a
:class:`ReadError` that names the line.

Readers of documents (JSON, YAML) refuse nesting deeper than :data:`MAX_DEPTH`, integers longer
than Python converts (4,300 digits) and YAML aliases (an alias bomb of a few hundred bytes
expands to gigabytes). Tables (CSV, XLSX) are read by :mod:`indicator_service.tables`, which
raises the same :class:`ReadError`. Nothing here knows about HTTP: callers turn
:class:`ReadError` into their own 4xx answer.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import yaml

from indicator_service.core.errors import bounded
from indicator_service.core.i18n import _

#: Nesting of a JSON or YAML document (objects and arrays, mappings and sequences).
MAX_DEPTH = 64
#: Digits of an integer in a JSON or YAML document (Python's conversion limit).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class ReadError(ValueError):
    """A file that cannot be read: ``message`` starts with the line when it is known."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None) -> None:
        text = f"line {line}: {message}" if line is not None else message
        super().__init__(text)
        self.message = text
        self.line = line
        self.column = column


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _long_integer_line(text: str) -> int | None:
    match = re.search(rf"\d{{{MAX_INT_DIGITS + 1},}}", text)
    return _line_of(text, match.start()) if match else None


# --- documents ------------------------------------------------------------------------------------


def _depth_line(text: str) -> int | None:
    """The line where a JSON text first nests deeper than :data:`MAX_DEPTH` (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for pos, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return _line_of(text, pos)
        elif ch in "]}":
            depth -= 1
    return None


def _too_deep(value: Any) -> bool:
    """True when ``value`` nests deeper than :data:`MAX_DEPTH` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def load_json(text: str) -> Any:
    """A JSON document, or :class:`ReadError` naming the line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError(_("invalid JSON: {msg}", msg=exc.msg), line=exc.lineno) from None
    except RecursionError:
        line = _depth_line(text)
        raise ReadError(
            _("nested deeper than {max_depth} levels", max_depth=MAX_DEPTH), line=line
        ) from None
    except ValueError:  # an integer beyond Python's conversion limit
        line = _long_integer_line(text)
        raise ReadError(
            _("an integer longer than {max_int_digits} digits", max_int_digits=MAX_INT_DIGITS),
            line=line,
        ) from None
    if _too_deep(value):
        raise ReadError(
            _("nested deeper than {max_depth} levels", max_depth=MAX_DEPTH), line=_depth_line(text)
        )
    return value


class _UntrustedYamlLoader(yaml.SafeLoader):
    """``SafeLoader`` without aliases and with bounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ReadError(
                _("YAML aliases (*name) are not accepted: write the value out"),
                line=event.start_mark.line + 1,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise ReadError(
                    _("nested deeper than {max_depth} levels", max_depth=MAX_DEPTH),
                    line=event.start_mark.line + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """One YAML document (safe tags only, no aliases), or :class:`ReadError` naming the line."""
    loader = _UntrustedYamlLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ReadError(
            _("invalid YAML: {problem}", problem=problem),
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except RecursionError:
        raise ReadError(_("nested deeper than {max_depth} levels", max_depth=MAX_DEPTH)) from None
    except ValueError as exc:
        if isinstance(exc, ReadError):
            raise
        line = _long_integer_line(text)
        if line is not None:
            raise ReadError(
                _("an integer longer than {max_int_digits} digits", max_int_digits=MAX_INT_DIGITS),
                line=line,
            ) from None
        raise ReadError(_("invalid YAML value: {exc}", exc=bounded(str(exc), 200))) from None
    finally:
        loader.dispose()
