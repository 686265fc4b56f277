"""The Chinese catalog is complete: every message marked in the code has a translation that keeps
its ``{fields}``, and no error message is raised unmarked (core/i18n.py, docs/i18n.md)."""

from __future__ import annotations

import ast
from http import HTTPStatus
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from pydantic_core._pydantic_core import list_all_errors

from indicator_service.core import errors, i18n
from indicator_service.core.validation_messages import TEMPLATES

PACKAGE = Path(i18n.__file__).parent.parent


def _po() -> dict[str, str]:
    with i18n.CATALOG_FILES[i18n.CHINESE].open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if m.id and not m.fuzzy}  # type: ignore[misc]


def _marked() -> dict[str, str]:
    """msgid → where it is marked (``pybabel extract``'s own walk over the package)."""
    out: dict[str, str] = {}
    for filename, lineno, msgid, _comments, _ctx in extract_from_dir(str(PACKAGE)):
        text = msgid if isinstance(msgid, str) else msgid[0]
        out.setdefault(text, f"{filename}:{lineno}")
    return out


def test_every_marked_message_has_chinese() -> None:
    po = _po()
    missing = [f"{where}: {msgid!r}" for msgid, where in _marked().items() if not po.get(msgid)]
    assert not missing, "messages without Chinese in messages.po:\n" + "\n".join(missing)


def test_translations_keep_the_fields_of_their_message() -> None:
    pydantic = {e["message_template_python"] for e in list_all_errors()}
    wrong = []
    for msgid, text in _po().items():
        fields, translated = i18n.placeholders(msgid), i18n.placeholders(text)
        # pydantic's plural suffixes ({expected_plural}) have no place in Chinese
        ok = translated <= fields if msgid in pydantic else translated == fields
        if not ok:
            wrong.append(f"{msgid!r}: {sorted(fields)} → {sorted(translated)}")
    assert not wrong, "\n".join(wrong)


def test_the_catalog_holds_no_message_the_code_no_longer_marks() -> None:
    stale = sorted(set(_po()) - set(_marked()))
    assert not stale, f"obsolete entries in messages.po (pybabel update drops them): {stale}"


def test_every_status_phrase_has_chinese() -> None:
    """The default titles (HTTP phrases) of every status the service answers with."""
    po = _po()
    phrases = {HTTPStatus(status).phrase for status in errors._SLUGS}
    assert not {p for p in phrases if not po.get(p)}


def test_every_pydantic_error_type_is_marked() -> None:
    """pydantic's templates are the msgids of request-validation messages; an upgrade that adds
    or rewords one fails here (regenerate core/validation_messages.py)."""
    assert set(TEMPLATES) == {e["message_template_python"] for e in list_all_errors()}


# Exceptions and records whose message reaches a client (problem detail or error item): the
# positions of their message arguments (None: every positional argument).
_MESSAGE_CALLS: dict[str, tuple[int, ...] | None] = {
    **dict.fromkeys(
        [
            "ServiceError",
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "Conflict",
            "NotAcceptable",
            "PreconditionFailed",
            "PayloadTooLarge",
            "UnsupportedMediaType",
            "Unprocessable",
            "PreconditionRequired",
            "TooManyRequests",
            "ServiceUnavailable",
            "CompositeError",
            "DerivationError",
            "ResolutionError",
            "ReadError",
            "WorkbookError",
            "NoCJKFont",
            "ValueError",
        ],
        (0,),
    ),
    "ErrorItem": (),
    "RuleError": (1,),
    "EditError": (1,),
    "FileError": (1,),
    "CellError": (1,),
    "FieldError": (1,),
    "error_item": (1,),
    "_err": (1,),
    "get_owned": (4,),
    "FormProblem": (2,),
    "_malformed": (0,),
    "_unauthorized": (0,),
    "_fail": (0,),
}
#: Variables that hold a message before it is raised (``detail = "…"``).
_MESSAGE_VARIABLES = {"detail", "msg", "message", "reason"}
#: Lists that collect messages (or ``(loc, …, message)`` tuples) before they are raised.
_MESSAGE_LISTS = {"problems", "errors", "issues"}
_MESSAGE_KEYWORDS = {"detail", "msg", "message"}


def _unmarked_text(node: ast.expr) -> bool:
    """A literal text (or an f-string, or ``"…" + x``) rather than a call of ``_()``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _unmarked_text(node.left) or _unmarked_text(node.right)
    if isinstance(node, ast.IfExp):
        return _unmarked_text(node.body) or _unmarked_text(node.orelse)
    return False


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _message_arguments(node: ast.AST) -> list[ast.expr]:
    """The message expressions of a call of a message carrier, or of ``detail = …``."""
    if isinstance(node, ast.Assign):
        names = [t for t in node.targets if isinstance(t, ast.Name)]
        if (
            isinstance(node.value, ast.Tuple)
            and node.targets
            and isinstance(node.targets[0], ast.Tuple)
        ):
            pairs = zip(node.targets[0].elts, node.value.elts, strict=False)
            return [v for t, v in pairs if isinstance(t, ast.Name) and t.id in _MESSAGE_VARIABLES]
        return [node.value] if any(t.id in _MESSAGE_VARIABLES for t in names) else []
    if not isinstance(node, ast.Call):
        return []
    name = _call_name(node)
    f = node.func
    if (
        name == "append"
        and isinstance(f, ast.Attribute)
        and isinstance(f.value, ast.Name)
        and f.value.id in _MESSAGE_LISTS
        and len(node.args) == 1
    ):
        # problems.append("…"), errors.append((loc, "…")): the message is the last element
        arg = node.args[0]
        return [arg.elts[-1]] if isinstance(arg, ast.Tuple) and arg.elts else [arg]
    if name not in _MESSAGE_CALLS:
        return []
    positions = _MESSAGE_CALLS[name]
    args = [a for i, a in enumerate(node.args) if i in positions] if positions is not None else []
    args += [k.value for k in node.keywords if k.arg in _MESSAGE_KEYWORDS]
    out: list[ast.expr] = []
    while args:
        a = args.pop()
        if isinstance(a, ast.IfExp):
            args += [a.body, a.orelse]
        else:
            out.append(a)
    return out


def test_no_error_message_is_raised_without_a_translation() -> None:
    """Every message given to an error type, an error item or a ``ValueError`` of a validator is
    marked with ``_()`` (so it is extracted, and so translated): a literal or f-string fails."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            args = _message_arguments(node)
            name = _call_name(node) if isinstance(node, ast.Call) else "="
            for arg in args:
                assert isinstance(node, ast.Assign | ast.Call)  # the nodes messages are read from
                rel = path.relative_to(PACKAGE.parent)
                if _unmarked_text(arg):
                    found.append(f"{rel}:{node.lineno}: {name}({ast.unparse(arg)[:70]})")
    assert not found, f"{len(found)} unmarked messages:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR", "en"),
        ("*", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "zh-CN"),
        ("zh-CN;q=0.3, en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("de, zh;q=0.1", "zh-CN"),
        ("zh;q=0", "en"),
        ("zh;q=bogus", "en"),
    ],
)
def test_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_messages_follow_the_language_of_the_context() -> None:
    assert i18n._("No resource at {path}", path="/x") == "No resource at /x"
    with i18n.language(i18n.CHINESE):
        assert i18n._("No resource at {path}", path="/x") == "/x 处没有资源"
        assert i18n.gettext("Not found") == "未找到"
    assert i18n.current_language() == "en"


def test_pydantic_messages_in_chinese() -> None:
    error = {
        "type": "string_too_short",
        "msg": "String should have at least 1 character",
        "ctx": {"min_length": 1},
    }
    assert i18n.validation_message(error, "en") == "String should have at least 1 character"
    assert i18n.validation_message(error, "zh-CN") == "字符串至少应有 1 个字符"
    wrapped = {
        "type": "value_error",
        "msg": "Value error, 目标值缺失",
        "ctx": {"error": "目标值缺失"},
    }
    assert i18n.validation_message(wrapped, "zh-CN") == "目标值缺失"
    unknown = {"type": "my_custom", "msg": "custom text"}
    assert i18n.validation_message(unknown, "zh-CN") == "custom text"


def test_locations_in_words() -> None:
    assert i18n.location_text(["body", "rows", 3, "value"]) == "body.rows.3.value"
    with i18n.language(i18n.CHINESE):
        assert i18n.location_text(["body", "rows", 3, "value"]) == "请求体 rows.3.value"
        assert i18n.location_text(["query", "limit"]) == "查询参数 limit"
        assert i18n.location_text(["body"]) == "请求体"
