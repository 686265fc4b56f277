"""HTML pages under ``/ui`` and their assets under ``/ui/static`` (not API operations).

Every page is the same small shell — header with navigation, language toggle and sign-in state,
an empty ``<main>`` — plus the page's ES module, which builds the page from the public API.
Nothing is loaded from another origin and nothing is inline (the CSP of ``/ui`` is
``'self'`` only; see ``core/middleware.py``).
"""

from __future__ import annotations

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

# page → (title key, English title); the title is translated by the page script.
PAGES: dict[str, str] = {
    "catalogue": "Catalogue",
    "indicator": "Indicator",
    "standards": "Standards lookup",
    "score": "Scoring",
    "history": "Evaluation history",
    "diff": "Version diff",
    "signin": "Sign in",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


def _shell(page: str) -> str:
    title = escape(PAGES[page])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · indicator-service</title>
<link rel="stylesheet" href="/ui/static/css/app.css">
<link rel="icon" href="/ui/static/favicon.svg" type="image/svg+xml">
<script type="module" src="/ui/static/js/{page}.js"></script>
</head>
<body data-page="{page}">
<a class="skip" href="#main" data-i18n="skip">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui/" data-i18n="brand">Budget performance indicators</a>
  <nav aria-label="Main" id="nav"></nav>
  <div class="tools">
    <button type="button" id="lang" aria-label="中文 / English">中文</button>
    <a id="signin-link" href="/ui/signin" data-i18n="signin">Sign in</a>
  </div>
</header>
<main id="main" tabindex="-1"><h1 data-i18n="title.{page}">{title}</h1></main>
<noscript>This interface needs JavaScript; the API is documented at /docs.</noscript>
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
