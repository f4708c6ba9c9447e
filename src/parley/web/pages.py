"""The web front ends: the widget's launcher script and iframe app, the console, the demo site.

Vite builds them into ``static/`` (see ``frontend/`` and ``hatch_build.py``). User-written text
is rendered by Preact as text, never as HTML; the Content-Security-Policy (``parley.web.headers``)
is a second line of defence: no inline scripts, no scripts from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
DEMO = Path(__file__).parent / "demo"

# The Content-Security-Policy and framing headers of every page are set in one place,
# ``parley.web.headers``: the console may be framed by nobody, the widget by the allowed sites.
PAGE_HEADERS = {"Cache-Control": "no-cache"}


def _page(path: Path, headers: dict[str, str], media_type: str | None = None) -> Response:
    if not path.exists():
        return PlainTextResponse(
            "The web front ends are not built: run `make assets` (or reinstall the package).",
            status_code=503,
        )
    return FileResponse(path, headers=headers, media_type=media_type)


def router(*, demo: bool) -> APIRouter:
    pages = APIRouter()
    pages.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    @pages.get("/widget.js", include_in_schema=False)
    async def widget_loader() -> Response:
        return _page(
            STATIC / "widget.js",
            {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
            "text/javascript",
        )

    @pages.get("/widget/", include_in_schema=False)
    async def widget() -> Response:
        return _page(STATIC / "widget" / "index.html", PAGE_HEADERS)

    @pages.get("/console/", include_in_schema=False)
    @pages.get("/console/{rest:path}", include_in_schema=False)
    async def console(rest: str = "") -> Response:
        return _page(STATIC / "console" / "index.html", PAGE_HEADERS)

    @pages.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/demo/" if demo else "/console/")

    if demo:
        pages.mount("/demo", StaticFiles(directory=DEMO, html=True), name="demo")
    return pages
