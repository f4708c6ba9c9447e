"""Two nodes in one process: the routes are built once and shared by both apps
(``parley.web.app.routes``), and each request still reaches its own app's node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.test_bad_input import errors_in, raw_socket, until_closed
from tests.conftest import make_world
from tests.support import WsClient

from parley.bootstrap import build
from parley.settings import Settings
from parley.web.app import create_app


def _paths(routes: Any) -> set[str | None]:
    return {getattr(r, "path", None) for r in routes}


def test_apps_share_the_route_objects_not_the_node(tmp_path: Path) -> None:
    a = build(Settings(data_dir=tmp_path / "a"))
    b = build(Settings(data_dir=tmp_path / "b"))
    app_a, app_b = create_app(a), create_app(b)
    assert app_a.state.parley is a
    assert app_b.state.parley is b
    shared = [r for r in app_a.routes if any(r is s for s in app_b.routes)]
    assert {"/api/v1/auth/login", "/api/v1/waiting", "/readyz"} <= _paths(shared)
    # The demo's own routes are only in demo apps.
    assert "/demo/identity-token" in _paths(create_app(a, demo=True).routes)
    assert "/demo/identity-token" not in _paths(app_a.routes)


async def test_each_request_reaches_its_own_node(tmp_path: Path) -> None:
    worlds_a = make_world("sqlite", tmp_path / "a")
    worlds_b = make_world("sqlite", tmp_path / "b")
    a = await worlds_a.__anext__()
    try:
        b = await worlds_b.__anext__()
        try:
            await a.add_workgroup("north")
            token = await a.add_staff("alice", workgroups=["north"])
            bearer = {"Authorization": f"Bearer {token}"}
            async with a.node.http() as http_a, b.node.http() as http_b:
                path = "/api/v1/workgroups/north/status"
                assert (await http_a.get(path)).status_code == 200
                assert (await http_b.get(path)).status_code == 404
                assert (await http_a.get("/api/v1/auth/me", headers=bearer)).status_code == 200
                assert (await http_b.get("/api/v1/auth/me", headers=bearer)).status_code == 401
                assert (await http_b.get("/readyz")).status_code == 200
            # The WebSocket route too: A knows the token, B does not.
            async with WsClient.connect(a.node.ws_url) as ws:
                await ws.hello(token=token)
            async with raw_socket(b) as raw:
                await raw.send(json.dumps({"type": "hello", "token": token}))
                got, code = await until_closed(raw)
            assert code == 1008
            assert errors_in(got) == ["unauthenticated"]
        finally:
            await worlds_b.aclose()
    finally:
        await worlds_a.aclose()
