"""``GET /metrics``: the node's Prometheus metrics, for whoever holds the metrics token.

Off by default: with no ``metrics_token`` the path answers 404 like any unknown one. With a
token, a request must carry ``Authorization: Bearer <token>`` (compared in constant time);
anything else gets 401. The metrics show traffic, queue lengths and limit hits, not message
contents or names (workgroup slugs and queue names aside), but that is still operational data
nobody outside should read (``docs/security.md``, "Metrics").
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from starlette.exceptions import HTTPException

from parley.metrics import CONTENT_TYPE
from parley.storage.metrics_queries import waiting_per_queue
from parley.web.errors import error_response
from parley.web.node import node_of

PATH = "/metrics"


def authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def router() -> APIRouter:
    routes = APIRouter()

    @routes.get(PATH, include_in_schema=False)
    async def metrics(request: Request) -> Response:
        parley = node_of(request)
        token = parley.settings.metrics_token
        if not token:
            raise HTTPException(404)
        if not authorized(request, token):
            return error_response(
                401,
                "unauthenticated",
                "send the metrics token: Authorization: Bearer <token>",
                None,
                {"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        # Queue lengths come from the database, read now (see storage.metrics_queries).
        async with parley.db.read() as tx:
            parley.metrics.queue_lengths(await waiting_per_queue(tx.conn))
        return Response(parley.metrics.render(), media_type=CONTENT_TYPE)

    return routes
