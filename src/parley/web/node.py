"""The node a request is for.

The routes are built once per process and shared by every app that ``create_app`` makes (see
"The web layer: routes built once" in ``docs/architecture.md``): building them is most of the
cost of an app (FastAPI makes a pydantic adapter for every parameter, body and response of
every route). So a handler is not a closure over its node; each app holds its own ``Parley``
in ``app.state.parley``, put there by ``create_app``, and a handler reaches it through the
request (or the WebSocket) it serves: ``parley: Node`` as a parameter, or ``node_of(conn)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from parley.bootstrap import Parley


def node_of(conn: HTTPConnection) -> Parley:
    """The ``Parley`` of the app serving ``conn`` (an HTTP request or a WebSocket)."""
    parley = conn.app.state.parley
    if not isinstance(parley, Parley):
        raise RuntimeError("the app has no Parley node: make it with parley.web.app.create_app")
    return parley


async def _node(conn: HTTPConnection) -> Parley:
    # Async, so that FastAPI calls it in the event loop rather than in its thread pool.
    return node_of(conn)


#: The handler's node, as a FastAPI dependency (it adds nothing to the OpenAPI document).
Node = Annotated[Parley, Depends(_node)]
