"""The language of an answer: Chinese (``zh-CN``) or English (``en``), and the message catalog.

Messages are written in English in the code and marked with :func:`_` (translated when called,
in the language of the current request) or :func:`N_` (a marker for module-level constants,
translated later with :func:`gettext`). The Chinese catalog is the gettext file
``indicator_service/locale/zh_CN/LC_MESSAGES/messages.po``, read once with Babel on first use (no
compiled ``.mo``, no build step). ``pybabel extract`` finds the marked messages (docs/i18n.md);
``tests/core/test_i18n_catalog.py`` fails when one has no Chinese.

The language is held in a context variable, set per request by
:class:`~indicator_service.core.middleware.RequestContextMiddleware` from ``Accept-Language``
(``zh``/``zh-CN`` → Chinese; ``en``, no header or anything else → English, for machine clients).
Code outside a request (CLI, background work) speaks English unless it sets a language with
:func:`language`.

Pure: stdlib and Babel only, so the pure cores (``rules/``, the numeric cores) may mark their
messages too (the import contracts allow exactly this module).
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path
from typing import Any

ENGLISH = "en"
CHINESE = "zh-CN"
#: The languages the service answers in, the default first.
LANGUAGES = (ENGLISH, CHINESE)
#: The catalog file of each language other than English (the msgids are English).
CATALOG_FILES = {CHINESE: Path(__file__).parent.parent / "locale/zh_CN/LC_MESSAGES/messages.po"}

_language: ContextVar[str] = ContextVar("indicator_language", default=ENGLISH)


def negotiate(header: str | None) -> str:
    """The language of an ``Accept-Language`` header (RFC 9110 §12.5.4, quality values honoured):
    ``zh``, ``zh-CN`` (any ``zh-…``) → ``zh-CN``; ``en`` (any ``en-…``) → ``en``; no header,
    ``*`` or only other languages → ``en``."""
    if not header:
        return ENGLISH
    best, best_q = ENGLISH, 0.0
    for part in header.split(",")[:32]:
        fields = part.strip().split(";")
        tag = fields[0].strip().lower()
        q = 1.0
        for param in fields[1:]:
            name, _eq, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.split("-", 1)[0]
        lang = CHINESE if primary == "zh" else ENGLISH if primary == "en" else None
        if lang is not None and q > best_q and q <= 1.0:
            best, best_q = lang, q
    return best


def environment_language(environ: Mapping[str, str]) -> str:
    """The language of a command line: ``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` (POSIX order)
    naming ``zh…`` → Chinese; anything else → English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return CHINESE if value.lower().startswith("zh") else ENGLISH
    return ENGLISH


def current_language() -> str:
    """The language of the current request (``en`` outside one)."""
    return _language.get()


def set_language(lang: str) -> Token[str]:
    return _language.set(lang if lang in LANGUAGES else ENGLISH)


def reset_language(token: Token[str]) -> None:
    _language.reset(token)


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block (tests, CLI commands, work done outside a request)."""
    token = set_language(lang)
    try:
        yield
    finally:
        _language.reset(token)


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid → translation of ``lang`` (empty for English: the msgids are English). Entries
    without a translation are left out (the English is used); so are fuzzy ones (Babel's reader
    drops them unless asked)."""
    path = CATALOG_FILES.get(lang)
    if path is None:
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        po = read_po(fh)
    out: dict[str, str] = {}
    for message in po:
        text = message.string
        if isinstance(message.id, str) and message.id and isinstance(text, str) and text:
            out[message.id] = text
    return out


def gettext(msgid: str, lang: str | None = None) -> str:
    """``msgid`` in ``lang`` (default: the current request's language); the English msgid when
    the catalog has no translation."""
    lang = lang or _language.get()
    if lang == ENGLISH:
        return msgid
    return catalog(lang).get(msgid, msgid)


def _(msgid: str, /, **params: Any) -> str:
    """Translate ``msgid`` into the current language, then fill its ``{name}`` fields from
    ``params`` (``str.format``; ``{name!r}`` quotes; a literal brace is written ``{{``). Write
    the msgid as a literal so that ``pybabel extract`` and the catalog test find it."""
    return gettext(msgid).format(**params)


def N_(msgid: str) -> str:  # noqa: N802 — the gettext convention
    """Marks ``msgid`` for the catalog without translating it (module-level constants, class
    attributes); translate where it is used with :func:`gettext`."""
    return msgid


def localized(en: str, zh: str, lang: str | None = None) -> str:
    """One of two texts by language — for data that carries both (names in the catalogue)."""
    return zh if (lang or _language.get()) == CHINESE else en


def alternatives(words: Sequence[str], lang: str | None = None) -> str:
    """Words as alternatives in a sentence: ``a or b or c`` in English, ``甲、乙或丙`` in
    Chinese."""
    if (lang or _language.get()) != CHINESE:
        return " or ".join(words)
    if len(words) < 2:
        return "".join(words)
    return "、".join(words[:-1]) + "或" + words[-1]


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a message (a translation must keep exactly these)."""
    return {
        field + (f"!{conv}" if conv else "")
        for _lit, field, _spec, conv in string.Formatter().parse(text)
        if field is not None
    }


@cache
def _validation_templates() -> dict[str, str]:
    """pydantic's English message template of each error type (the msgids of their Chinese)."""
    from pydantic_core._pydantic_core import list_all_errors

    return {e["type"]: e["message_template_python"] for e in list_all_errors()}


def validation_templates() -> dict[str, str]:
    return dict(_validation_templates())


#: Error types whose message is the error raised by a validator (already in the language asked,
#: when that validator marked it): pydantic's English prefix is dropped.
_WRAPPED = frozenset({"value_error", "assertion_error"})


def validation_message(error: Mapping[str, Any], lang: str | None = None) -> str:
    """The message of one pydantic error (an item of ``ValidationError.errors()``) in ``lang``:
    pydantic's template of its type from the catalog, filled from its ``ctx``. English keeps
    pydantic's own message; a validator's ``ValueError`` keeps its own text without the
    ``Value error,`` prefix in Chinese."""
    msg = str(error.get("msg", ""))
    lang = lang or _language.get()
    if lang == ENGLISH:
        return msg
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _WRAPPED and "error" in ctx:
        return str(ctx["error"])
    template = _validation_templates().get(kind)
    if template is None:
        return msg
    translated = catalog(lang).get(template)
    if translated is None:
        return msg
    try:
        return translated.format(**ctx)
    except (KeyError, IndexError, ValueError):
        return msg


#: The first part of a request location, in words.
_LOCATION_ROOTS = {
    "body": N_("body"),
    "query": N_("query"),
    "path": N_("path"),
    "header": N_("header"),
    "cookie": N_("cookie"),
}


def location_text(loc: Sequence[str | int]) -> str:
    """A location (``["body", "rows", 3, "value"]``) in words: ``body.rows.3.value``, in Chinese
    ``请求体 rows.3.value`` (field names stay as the client wrote them)."""
    if not loc:
        return ""
    first, rest = loc[0], ".".join(str(p) for p in loc[1:])
    root = _LOCATION_ROOTS.get(first) if isinstance(first, str) else None
    if root is None or _language.get() == ENGLISH:
        return ".".join(str(p) for p in loc)
    return _("{where} {field}", where=gettext(root), field=rest) if rest else gettext(root)
