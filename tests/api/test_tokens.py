"""API tokens (name, expiry, last use; listed and revoked by their owner and admins), logging
out with a bearer token, the expiry of visitor tokens, and the Secure session cookie."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_world
from tests.fakes import T0
from tests.support import PASSWORD, RECV_TIMEOUT_SECS, World, WsClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from parley.domain.access import StaffRole

DAY = 86_400


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


async def create(http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    r = await http.post("/api/v1/auth/tokens", json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def listed(http: httpx.AsyncClient, url: str = "/api/v1/auth/tokens") -> list[dict[str, Any]]:
    r = await http.get(url)
    assert r.status_code == 200, r.text
    return list(r.json())


async def closed_code(ws: WsClient) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.received.append(json.loads(await asyncio.wait_for(ws.ws.recv(), RECV_TIMEOUT_SECS)))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_tokens_have_a_name_an_expiry_and_a_last_use(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as alice:
        assert await listed(alice) == []
        ci = await create(alice, "ci")
        short = await create(alice, "one day", expires_in_days=1)
        assert set(ci) == {"id", "name", "token", "created_at", "expires_at", "last_used_at"}
        assert (ci["name"], at(ci["created_at"]), ci["last_used_at"]) == ("ci", T0, None)
        assert at(ci["expires_at"]) == T0 + timedelta(days=90)  # the default lifetime
        assert at(short["expires_at"]) == T0 + timedelta(days=1)
        for too_long in [366, 10_000]:
            r = await alice.post(
                "/api/v1/auth/tokens", json={"name": "x", "expires_in_days": too_long}
            )
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "invalid_input"
        r = await alice.post("/api/v1/auth/tokens", json={"name": "x", "expires_in_days": 0})
        assert r.status_code == 422, r.text
        # The list shows neither the token nor its hash.
        tokens = await listed(alice)
        assert [t["name"] for t in tokens] == ["ci", "one day"]
        assert all(
            set(t) == {"id", "name", "created_at", "expires_at", "last_used_at"} for t in tokens
        )
        assert ci["token"] not in json.dumps(tokens)

    async with world.node.http(headers=bearer(ci["token"])) as script:
        assert (await script.get("/api/v1/auth/me")).status_code == 200
        async with world.staff_http("alice") as alice:
            (used,) = [t for t in await listed(alice) if t["id"] == ci["id"]]
        assert at(used["last_used_at"]) == T0
        # Not rewritten on every request: at most once a minute.
        world.clock.advance(59)
        assert (await script.get("/api/v1/auth/me")).status_code == 200
        async with world.staff_http("alice") as alice:
            (used,) = [t for t in await listed(alice) if t["id"] == ci["id"]]
        assert at(used["last_used_at"]) == T0
        world.clock.advance(1)
        assert (await script.get("/api/v1/me/offers")).status_code == 200
        async with world.staff_http("alice") as alice:
            (used,) = [t for t in await listed(alice) if t["id"] == ci["id"]]
        assert at(used["last_used_at"]) == T0 + timedelta(seconds=60)
        # A socket's hello is a use too.
        world.clock.advance(60)
        async with WsClient.connect(world.node.ws_url) as ws:
            await ws.hello(token=ci["token"])
        async with world.staff_http("alice") as alice:
            (used,) = [t for t in await listed(alice) if t["id"] == ci["id"]]
        assert at(used["last_used_at"]) == T0 + timedelta(seconds=120)

    async with world.node.http(headers=bearer(short["token"])) as script:
        assert (await script.get("/api/v1/auth/me")).status_code == 200
        world.clock.advance(DAY)
        r = await script.get("/api/v1/auth/me")
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthenticated"


async def test_the_longest_lifetime_is_a_setting(backend: str, tmp_path: Path) -> None:
    async for world in make_world(backend, tmp_path, api_token_max_days=30):
        await world.add_staff("alice")
        async with world.staff_http("alice") as alice:
            token = await create(alice, "default")
            assert at(token["expires_at"]) == T0 + timedelta(days=30)
            r = await alice.post("/api/v1/auth/tokens", json={"name": "x", "expires_in_days": 31})
            assert r.status_code == 422, r.text


async def test_owner_and_admins_list_and_revoke_others_cannot_see_them(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    async with world.staff_http("alice") as alice:
        mine = await create(alice, "mine")
        other = await create(alice, "other")
        third = await create(alice, "third")

    # Another agent (or a supervisor): a token of alice's reads exactly like no token at all.
    for who in ["bob", "sam"]:
        async with world.staff_http(who) as http:
            theirs = await http.delete(f"/api/v1/auth/tokens/{mine['id']}")
            nothing = await http.delete("/api/v1/auth/tokens/0123456789abcdef01234567")
            assert theirs.status_code == nothing.status_code == 404
            assert theirs.json() == nothing.json()
            assert await listed(http) == []
            for url in ["/api/v1/admin/users/alice/tokens", "/api/v1/admin/users/nobody/tokens"]:
                r = await http.get(url)
                assert r.status_code == 403, r.text
            r = await http.delete(f"/api/v1/admin/users/alice/tokens/{mine['id']}")
            assert r.status_code == 403, r.text
    async with world.node.http(headers=bearer(mine["token"])) as script:
        assert (await script.get("/api/v1/auth/me")).status_code == 200

    async with world.staff_http("root") as root:
        names = [t["name"] for t in await listed(root, "/api/v1/admin/users/alice/tokens")]
        assert names == ["mine", "other", "third"]
        r = await root.get("/api/v1/admin/users/nobody/tokens")
        assert r.status_code == 404, r.text
        # Through the wrong user: no such token.
        r = await root.delete(f"/api/v1/admin/users/bob/tokens/{other['id']}")
        assert r.status_code == 404, r.text
        r = await root.delete(f"/api/v1/admin/users/alice/tokens/{other['id']}")
        assert r.status_code == 204, r.text
        r = await root.delete(f"/api/v1/auth/tokens/{third['id']}")
        assert r.status_code == 204, r.text
        r = await root.delete(f"/api/v1/auth/tokens/{third['id']}")
        assert r.status_code == 404, r.text

    async with world.staff_http("alice") as alice:
        assert [t["name"] for t in await listed(alice)] == ["mine"]
        r = await alice.delete(f"/api/v1/auth/tokens/{mine['id']}")
        assert r.status_code == 204, r.text
        assert await listed(alice) == []
    for token in [mine, other, third]:
        async with world.node.http(headers=bearer(token["token"])) as script:
            assert (await script.get("/api/v1/auth/me")).status_code == 401


async def test_revoking_a_token_closes_its_sockets_only(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as alice:
        token = await create(alice, "bot")
    async with (
        WsClient.connect(world.node.ws_url) as bot,
        WsClient.connect(world.node.ws_url) as console,
    ):
        await bot.hello(token=token["token"])
        await console.hello(token=world.tokens["alice"])
        async with world.staff_http("alice") as alice:
            r = await alice.delete(f"/api/v1/auth/tokens/{token['id']}")
            assert r.status_code == 204, r.text
        assert await closed_code(bot) == 1008
        assert any(m.get("code") == "unauthenticated" for m in bot.received)
        assert (await console.request({"type": "ping"}))["type"] == "pong"


async def test_logging_out_with_a_bearer_revokes_that_token(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as alice:
        api = await create(alice, "script")
        kept = await create(alice, "kept")
    async with WsClient.connect(world.node.ws_url) as ws:
        await ws.hello(token=api["token"])
        async with world.node.http(headers=bearer(api["token"])) as script:
            r = await script.post("/api/v1/auth/logout")  # no CSRF token: not a cookie
            assert r.status_code == 204, r.text
            r = await script.get("/api/v1/auth/me")
            assert r.status_code == 401, r.text
            # Logging out again is no error.
            assert (await script.post("/api/v1/auth/logout")).status_code == 204
        assert await closed_code(ws) == 1008
    # A session token used as a bearer ends the same way; other tokens stay.
    async with world.staff_http("alice") as alice:
        assert [t["name"] for t in await listed(alice)] == ["kept"]
        assert (await alice.post("/api/v1/auth/logout")).status_code == 204
        assert (await alice.get("/api/v1/auth/me")).status_code == 401
    async with world.node.http(headers=bearer(kept["token"])) as script:
        assert (await script.get("/api/v1/auth/me")).status_code == 200


# Visitor tokens -------------------------------------------------------------------------------


async def visitor_get(world: World, token: str, path: str) -> httpx.Response:
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        return await http.get(path)


async def hello_code(world: World, token: str) -> tuple[list[dict[str, Any]], int | None]:
    async with connect(world.node.ws_url, open_timeout=RECV_TIMEOUT_SECS) as ws:
        await ws.send(json.dumps({"type": "hello", "visitor_token": token}))
        got: list[dict[str, Any]] = []
        try:
            while not got or got[-1]["type"] != "synced":
                got.append(json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_SECS)))
        except ConnectionClosed as closed:
            return got, 1006 if closed.rcvd is None else closed.rcvd.code
    return got, None


async def test_visitor_tokens_expire_a_day_after_the_chat_ended(world: World) -> None:
    chat = await world.open_chat(name="Zoe")
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    paths = [f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"]
    # While the chat goes on, however long, the token works.
    world.clock.advance(3 * DAY)
    for path in paths:
        assert (await visitor_get(world, token, path)).status_code == 200
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        r = await http.post(f"/api/v1/conversations/{cid}/end")
        assert r.status_code == 204, r.text
    world.clock.advance(DAY - 1)
    for path in paths:
        assert (await visitor_get(world, token, path)).status_code == 200
    assert (await hello_code(world, token))[1] is None

    world.clock.advance(1)
    for path in paths:
        r = await visitor_get(world, token, path)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "unauthenticated"
    got, code = await hello_code(world, token)
    assert code == 1008
    assert [m["code"] for m in got if m["type"] == "error"] == ["unauthenticated"]
    # Staff still read it, of course.
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    async with world.staff_http("sam") as sam:
        assert (await sam.get(f"/api/v1/conversations/{cid}")).status_code == 200


async def test_visitor_token_lifetime_is_a_setting(backend: str, tmp_path: Path) -> None:
    async for world in make_world(backend, tmp_path, visitor_token_hours=1):
        await world.add_workgroup("sales")
        chat = await world.open_chat()
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        async with world.node.http(headers={"X-Visitor-Token": token}) as http:
            assert (await http.post(f"/api/v1/conversations/{cid}/end")).status_code == 204
        world.clock.advance(3599)
        assert (await visitor_get(world, token, f"/api/v1/conversations/{cid}")).status_code == 200
        world.clock.advance(1)
        assert (await visitor_get(world, token, f"/api/v1/conversations/{cid}")).status_code == 401
        # A message left with the expired token is kept (not linked); a forged token is refused.
        form = {"name": "Zoe", "email": "zoe@example.com", "message": "still there?"}
        async with world.node.http(headers={"X-Visitor-Token": token}) as http:
            r = await http.post("/api/v1/workgroups/sales/messages", json=form)
            assert r.status_code == 201, r.text
        async with world.node.http(headers={"X-Visitor-Token": token + "x"}) as http:
            r = await http.post("/api/v1/workgroups/sales/messages", json=form)
            assert r.status_code == 401
        await world.add_staff("sam", StaffRole.SUPERVISOR)
        async with world.staff_http("sam") as http:
            listed = (await http.get("/api/v1/workgroups/sales/messages")).json()
        assert [(m["message"], m["conversation_id"]) for m in listed] == [("still there?", None)]


# The session cookie ---------------------------------------------------------------------------


def cookie_attributes(r: httpx.Response) -> set[str]:
    return {a.strip().split("=")[0].lower() for a in r.headers["set-cookie"].split(";")}


async def test_session_cookie_is_secure_with_an_https_public_url(tmp_path: Path) -> None:
    async for world in make_world("sqlite", tmp_path, public_url="https://chat.example.com"):
        await world.parley.admin.create_user(None, "alice", PASSWORD, StaffRole.AGENT, "", [])
        async with world.node.http() as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
            )
            assert r.status_code == 200, r.text
            assert "secure" in cookie_attributes(r)
            r = await http.post("/api/v1/auth/logout")
            assert "secure" in cookie_attributes(r)


async def test_session_cookie_is_secure_over_https_behind_a_proxy(
    backend: str, tmp_path: Path
) -> None:
    """X-Forwarded-Proto counts only from a trusted proxy (the test client is 127.0.0.1)."""
    async for world in make_world(backend, tmp_path, trusted_proxies="127.0.0.1"):
        await world.parley.admin.create_user(None, "alice", PASSWORD, StaffRole.AGENT, "", [])
        async with world.node.http() as http:
            login = {"username": "alice", "password": PASSWORD}
            r = await http.post("/api/v1/auth/login", json=login)
            assert "secure" not in cookie_attributes(r)  # plain http, no public URL
            r = await http.post(
                "/api/v1/auth/login", json=login, headers={"X-Forwarded-Proto": "https"}
            )
            assert "secure" in cookie_attributes(r)


async def test_forwarded_proto_from_an_untrusted_peer_is_ignored(world: World) -> None:
    await world.parley.admin.create_user(None, "alice", PASSWORD, StaffRole.AGENT, "", [])
    async with world.node.http() as http:
        login = {"username": "alice", "password": PASSWORD}
        r = await http.post(
            "/api/v1/auth/login", json=login, headers={"X-Forwarded-Proto": "https"}
        )
        assert "secure" not in cookie_attributes(r)
