"""The ASGI application for one node."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from parley import __version__
from parley.bootstrap import Parley
from parley.protocol import Reconnect
from parley.settings import Settings
from parley.web import (
    accounts_api,
    api,
    archive_api,
    attachments_api,
    branding_api,
    cobrowse_api,
    collab_api,
    customers_api,
    directory_api,
    errors,
    help_pages,
    house_rules_api,
    identity_api,
    im_api,
    limits,
    metrics_api,
    pages,
    qa_api,
    reports_api,
    routing_api,
    supervision_api,
    workspace_api,
    wrapup_api,
)
from parley.web.headers import SecurityHeaders
from parley.web.node import Node, node_of
from parley.web.request_context import RequestContext
from parley.web.strict_json import StrictJsonBodies
from parley.web.ws import Session

DRAIN_TIMEOUT_SECS = 5.0


class _App(FastAPI):
    """FastAPI with ``SecurityHeaders`` outside everything else, Starlette's own error handling
    included, so that no response (a 500 neither) leaves without the security headers; and
    ``RequestContext`` outside that, so that every log line of a request carries its id."""

    settings: Settings | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.settings is not None:
            stack = SecurityHeaders(stack, self.settings)
        return RequestContext(stack)


class WebSocketEndpoint:
    """Pure ASGI middleware, the innermost of ours: ``/ws`` to its ``Session``, everything else
    on to FastAPI.

    A WebSocket lives as long as its client stays, and every layer it passes through keeps its
    frame for that long: FastAPI's exception middleware, router and dependency machinery cost
    about 10 KB per idle socket (tracemalloc; ``bench/idle_connections.py``) and do nothing for
    this endpoint, which takes no parameters and handles its own errors. The middlewares outside
    it still apply (the trusted proxies' client address, the security headers of a refused
    upgrade, the connection id of the logs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            ws = WebSocket(scope, receive, send)
            await Session(node_of(ws), ws).run()
            return
        await self.app(scope, receive, send)


def create_app(
    parley: Parley,
    *,
    manage_lifecycle: bool = True,
    demo: bool = False,
    on_started: Callable[[Parley], Awaitable[None]] | None = None,
) -> FastAPI:
    """``manage_lifecycle``: start and stop ``parley`` with the app (tests may do it themselves);
    ``demo``: also serve the demo company website at ``/demo/``; ``on_started``: run once the
    node has started (the demo seeds its data there)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await parley.start()
        if on_started is not None:
            await on_started(parley)
        try:
            yield
        finally:
            if manage_lifecycle:
                await drain(parley)
                await parley.stop()

    app = _App(
        title="Parley",
        version=__version__,
        summary="Live chat between a business and its customers.",
        lifespan=lifespan,
        # Their pages load scripts from a CDN: off unless asked for (docs/operations.md).
        docs_url="/docs" if parley.settings.api_docs else None,
        redoc_url="/redoc" if parley.settings.api_docs else None,
    )
    app.settings = parley.settings
    # This app's node: the shared routes reach it through the request (``parley.web.node``).
    app.state.parley = parley
    app.add_middleware(WebSocketEndpoint)  # the first added: the innermost
    app.add_middleware(StrictJsonBodies)
    errors.install(app)
    # Body size, and whom X-Forwarded-For is believed from.
    limits.install(app, parley.settings, parley.metrics)
    app.router.routes.extend(routes(demo=demo))
    return app


@functools.cache
def routes(*, demo: bool) -> tuple[BaseRoute, ...]:
    """Every route of a node, built once per process (per ``demo``) and shared by every app:
    building them is most of the cost of ``create_app`` (FastAPI makes a pydantic adapter for
    each parameter, body and response). They hold no node: a handler reaches its app's
    ``Parley`` through the request (``parley.web.node``). ``create_app`` appends these very
    objects to its app's routes (``include_router`` would build each route again per app)."""
    routers = [
        api.router(),
        routing_api.router(),
        house_rules_api.router(),
        archive_api.router(),
        collab_api.router(),
        supervision_api.router(),
        wrapup_api.router(),
        qa_api.router(),
        reports_api.router(),
        im_api.router(),
        directory_api.router(),
        branding_api.router(),
        cobrowse_api.router(),
        attachments_api.router(),
        directory_api.templates_router(),
        workspace_api.router(),
        customers_api.router(),
        accounts_api.router(),
        identity_api.router(demo=demo),
        metrics_api.router(),  # /metrics, with the metrics token only
        pages.router(demo=demo),
        help_pages.router(),
        _operations(),
    ]
    return tuple(route for router in routers for route in router.routes)


def _operations() -> APIRouter:
    ops = APIRouter()

    @ops.get("/healthz", tags=["operations"])
    async def healthz() -> api.Health:
        return api.Health(status="ok")

    @ops.get("/readyz", tags=["operations"], responses={503: {"model": api.Health}})
    async def readyz(parley: Node) -> JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in (("database", parley.db.ping), ("redis", parley.bus.ping)):
            if name == "redis" and parley.settings.redis_url is None:
                continue
            try:
                await asyncio.wait_for(probe(), 5)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"failed: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        body = api.Health(status="ok" if ok else "unavailable", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    return ops


async def drain(parley: Parley) -> None:
    """Tell every client to reconnect elsewhere, and wait (briefly) for their sockets to close.

    Nothing in flight is lost: a message is acknowledged only after its commit, and a client
    that got no ack sends it again, with the same client id, wherever it reconnects.
    """
    conns = list(parley.hub.connections)
    for conn in conns:
        conn.send(Reconnect(reason="server shutting down"))
        conn.request_close(1012, "server restarting")
    if conns:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(c.closed.wait() for c in conns)), timeout=DRAIN_TIMEOUT_SECS
            )
