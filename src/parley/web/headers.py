"""The one place that decides the security headers of every HTTP response.

``SecurityHeaders`` is pure ASGI middleware wrapped around the whole application, outside
Starlette's error handling, so that pages, ``/static`` files, API answers, 404s, validation
errors, 500s and refused WebSocket upgrades all get the headers of ``headers_for``. Routes do not
set any of these headers themselves; whatever they set is replaced.

- every response: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``; and
  ``Strict-Transport-Security`` when Parley is reached over https (see ``is_https``);
- every response but the widget's iframe page: ``X-Frame-Options: DENY`` and a CSP with
  ``frame-ancestors 'none'`` (an HTML page gets the page policy below, anything else
  ``default-src 'none'``);
- the widget's iframe page (``/widget/``): the page policy with ``frame-ancestors`` set to the
  allowed site origins (``allowed_origins``), or ``'self'`` when none are configured;
- everything under ``/api/``, and ``/metrics``: ``Cache-Control: no-store`` (conversation data,
  operational data), except a staff photo (``GET /api/v1/staff/{id}/photo``) answered 200 or
  304: ``private, max-age=300``. A photo is shown to every staff member, its URL in the
  directory is versioned by its hash, and it has an ``ETag``: the browser keeps it five minutes,
  then revalidates it (a 304 costs no image). Its errors (401, 404) stay ``no-store``.

- a chat's file (``GET /api/v1/conversations/{id}/attachments/{id}`` and its ``/thumbnail``):
  ``ATTACHMENT_CSP``, ``default-src 'none'; sandbox``, whatever its type: opened by itself, the
  file can run nothing, load nothing and is treated as from an opaque origin (its route sends
  ``Content-Disposition: attachment`` too, and ``nosniff`` keeps browsers to its type).

A ``304 Not Modified`` (a revalidated ``/static`` or ``/demo`` file) gets no CSP and no
``X-Frame-Options``: browsers keep those of the stored 200, which had them.
"""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.settings import Settings

WIDGET_PAGE = "/widget/"
METRICS = "/metrics"
DOCS_PAGES = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000"
#: A staff member's photo (``web.directory_api``): the one ``/api/`` answer a browser may keep.
STAFF_PHOTO = re.compile(r"/api/v1/staff/[0-9]+/photo")
PHOTO_CACHE = "private, max-age=300"
#: A file sent in a chat, or its thumbnail (``web.attachments_api``).
ATTACHMENT = re.compile(r"/api/v1/conversations/[^/]+/attachments/(?!policy$)[^/]+(/thumbnail)?")
ATTACHMENT_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"

# Parley's own pages: no inline scripts, no scripts from elsewhere.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; style-src 'self' 'unsafe-inline'; media-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
)
# Not a page (JSON, scripts, styles, plain text): nothing may run or load in it.
OTHER_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# /docs and /redoc (only with the api_docs setting): FastAPI's pages load Swagger UI and ReDoc
# from jsDelivr, with an inline script, fonts from Google and a web worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def is_https(settings: Settings, scheme: str) -> bool:
    """Whether browsers reach Parley over TLS: the public URL says so when it is set, else the
    request's own scheme (``https`` behind a proxy that sends ``X-Forwarded-Proto``)."""
    if settings.public_url is not None:
        return settings.public_url.lower().startswith("https://")
    return scheme in ("https", "wss")


def widget_ancestors(settings: Settings) -> str:
    """Who may frame the widget's iframe page: the allowed site origins, else Parley itself."""
    return " ".join(settings.allowed_origins) if settings.allowed_origins else "'self'"


def headers_for(
    settings: Settings, path: str, content_type: str, *, https: bool, status: int = 200
) -> dict[str, str]:
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": REFERRER_POLICY}
    if https:
        headers["Strict-Transport-Security"] = HSTS
    if status in (200, 304) and STAFF_PHOTO.fullmatch(path):
        headers["Cache-Control"] = PHOTO_CACHE
    elif path == "/api" or path.startswith("/api/") or path == METRICS:
        headers["Cache-Control"] = "no-store"
    if status == 304:
        # A revalidated file keeps the headers of the 200 the browser stored, and the headers of
        # a 304 replace them: a 304 has no content type to choose a policy by, so it sets none
        # (the "not a page" policy would block the scripts of a cached page).
        return headers
    html = content_type.split(";", 1)[0].strip().lower() == "text/html"
    if path == WIDGET_PAGE:
        ancestors = widget_ancestors(settings)
        headers["Content-Security-Policy"] = PAGE_CSP.format(ancestors=ancestors)
    else:
        headers["X-Frame-Options"] = "DENY"
        if ATTACHMENT.fullmatch(path):
            csp = ATTACHMENT_CSP
        elif not html:
            csp = OTHER_CSP
        elif path in DOCS_PAGES and settings.api_docs:
            csp = DOCS_CSP
        else:
            csp = PAGE_CSP.format(ancestors="'none'")
        headers["Content-Security-Policy"] = csp
    return headers


class SecurityHeaders:
    """Pure ASGI middleware: sets ``headers_for`` on every HTTP response start (WebSocket
    traffic passes through untouched, except the HTTP answer of a refused upgrade)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                # Read the scheme now, not on the way in: a trusted proxy's X-Forwarded-Proto
                # is applied to this same scope by a middleware inside this one.
                https = is_https(self.settings, scope.get("scheme", "http"))
                wanted = headers_for(
                    self.settings,
                    path,
                    headers.get("content-type", ""),
                    https=https,
                    status=message.get("status", 200),
                )
                for name, value in wanted.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
