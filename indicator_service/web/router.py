"""HTML pages under ``/ui`` and their assets under ``/ui/static`` (not API operations).

Every page is the same small shell — header with navigation, language toggle and sign-in state,
an empty ``<main>`` — plus the page's ES module, which builds the page from the public API.
The shell is Chinese (``lang="zh-CN"``, Chinese title and heading) before any script runs; the
page script switches to English when the reader chose it (kept in ``localStorage``). The words
of the shell come from ``static/js/labels.js``, the one place of every label in both languages.
Nothing is loaded from another origin and nothing is inline (the CSP of ``/ui`` is
``'self'`` only; see ``core/middleware.py``).
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from indicator_service.core.errors import NotFound, excerpt
from indicator_service.core.i18n import _

STATIC = Path(__file__).parent / "static"
MEDIA = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

# page → English title, used only when labels.js has no ``title.<page>`` (a test checks that
# every page has one); the zh and en titles live in labels.js with every other label.
PAGES: dict[str, str] = {
    "catalogue": "Catalogue",
    "indicator": "Indicator",
    "standards": "Standards lookup",
    "score": "Scoring",
    "history": "Evaluation history",
    "diff": "Version diff",
    "monitoring": "In-year monitoring",
    "compare": "Self-evaluation and re-evaluation",
    "signin": "Sign in",
    "targets": "Target review",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


LABEL_LINE = re.compile(r'^\s*"?([\w.]+)"?: \{ zh: "([^"]*)", en: "([^"]*)" \},?$', re.MULTILINE)


@cache
def labels() -> dict[str, tuple[str, str]]:
    """The one-line labels of ``labels.js``: key → (zh, en)."""
    text = (STATIC / "js" / "labels.js").read_text(encoding="utf-8")
    return {m[1]: (m[2], m[3]) for m in LABEL_LINE.finditer(text)}


def title(page: str) -> tuple[str, str]:
    """The page's title in Chinese and English."""
    return labels().get(f"title.{page}", (PAGES[page], PAGES[page]))


def _zh(key: str) -> str:
    return escape(labels()[key][0])


def _shell(page: str) -> str:
    zh = escape(title(page)[0])
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{zh} · indicator-service</title>
<link rel="stylesheet" href="/ui/static/css/app.css">
<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">
<script type="module" src="/ui/static/js/{page}.js"></script>
</head>
<body data-page="{page}">
<a class="skip" href="#main" data-i18n="skip">{_zh("skip")}</a>
<header class="top">
  <a class="brand" href="/ui/" data-i18n="brand">{_zh("brand")}</a>
  <nav aria-label="{_zh("nav.label")}" id="nav"></nav>
  <div class="tools">
    <button type="button" id="lang" lang="en" title="{_zh("lang.switch")}">English</button>
    <a id="signin-link" href="/ui/signin" data-i18n="signin">{_zh("signin")}</a>
  </div>
</header>
<main id="main" tabindex="-1"><h1 data-i18n="title.{page}">{zh}</h1></main>
<noscript>{_zh("noscript")}</noscript>
</body>
</html>
"""


@router.get("", response_class=RedirectResponse)
def ui_root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=308)


@router.get("/", response_class=HTMLResponse)
def home() -> HTMLResponse:
    return HTMLResponse(_shell("catalogue"))


# Every asset, listed once at import: a request names one of these or is a 404, and the client's
# path never reaches the file system (a NUL byte or a 5,000-character name made ``resolve()``
# and ``stat()`` raise: 500s).
ASSETS: dict[str, tuple[Path, str]] = {
    path.relative_to(STATIC).as_posix(): (path, MEDIA[path.suffix])
    for path in sorted(STATIC.rglob("*"))
    if path.is_file() and path.suffix in MEDIA
}


@router.get("/static/{asset:path}")
def static_asset(asset: str) -> FileResponse:
    found = ASSETS.get(asset)
    if found is None:
        raise NotFound(_("no asset {asset}", asset=excerpt(asset)))
    path, media = found
    return FileResponse(
        path, media_type=f"{media}; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@router.get("/{page}", response_class=HTMLResponse)
def page(page: Annotated[str, PathParam(max_length=40)]) -> HTMLResponse:
    if page not in PAGES:
        raise NotFound(_("no page {page}", page=excerpt(page)))
    return HTMLResponse(_shell(page))
