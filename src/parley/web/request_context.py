"""Gives every HTTP request a request id and every WebSocket a connection id, for the logs.

Pure ASGI middleware, outermost (outside ``SecurityHeaders``), so that every line logged while
a request is handled carries its id: the application's, and uvicorn's access log line too
(uvicorn writes it from within the application's ``send``). An HTTP response carries the id in
``X-Request-ID``, to quote when reporting a problem; an id a client sends is not believed (it
would let anyone write ids into the logs). A WebSocket's id is also its connection's id in the
hub and in presence (``web.ws``).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley import logs

REQUEST_ID_HEADER = "X-Request-ID"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            token = logs.connection_id.set(logs.new_id())
            try:
                await self.app(scope, receive, send)
            finally:
                logs.connection_id.reset(token)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = logs.new_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        token = logs.request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.request_id.reset(token)
